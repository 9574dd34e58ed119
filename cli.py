"""zhikong 命令行 — the only place that ties the archive, the indexer and the generator together for a user.

Each command parses its options, calls one library function and prints the result. Errors from the
library (`zhikong.errors.ZhikongError`) are printed in Chinese and mapped to the documented exit codes.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import re
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from zhikong.archive import audit
from zhikong.archive.catalogue import Catalogue, Record, RecordState
from zhikong.archive.checks import CheckReport
from zhikong.archive.ingest import Reconciler, ScanReport, TextResult
from zhikong.archive.manage import resolve_record, restore, set_classification, status
from zhikong.archive.score import ScoreSheet
from zhikong.archive.settings import (
    Center,
    Roster,
    Settings,
    add_center,
    find_root,
    init_archive,
    load_settings,
)
from zhikong.archive.watcher import Watcher, WatchOptions
from zhikong.errors import ExitCode, VerificationError, ZhikongError
from zhikong.indexer.index import IndexDoc, SearchFilters, SearchIndex
from zhikong.indexer.pii import has_pii
from zhikong.indexer.query import relative_year

if TYPE_CHECKING:
    from zhikong.archive.evidence import EvidenceFinder
    from zhikong.indexer.extract import Extraction


class ZhikongGroup(click.Group):
    """Maps library errors to a Chinese message on stderr and the documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ZhikongError as exc:
            click.secho(f"错误：{exc}", fg="red", err=True)
            ctx.exit(int(exc.exit_code))
        except KeyboardInterrupt:
            click.echo("已中断。", err=True)
            ctx.exit(int(ExitCode.INTERRUPTED))


@dataclass
class Env:
    root_option: Path | None

    def root(self) -> Path:
        return find_root(self.root_option, os.environ, Path.cwd())

    def settings(self) -> Settings:
        return load_settings(self.root())


def extract_text(path: Path) -> Extraction:
    """The indexer's extraction, imported on first use: its format libraries (openpyxl, python-pptx,
    pypdf …) cost half a second to import, which commands that never read a file should not pay."""
    from zhikong.indexer.extract import extract_text as extract

    return extract(path)


def extract_for_catalogue(path: Path) -> TextResult:
    """The extract stage: the indexer's extraction, reduced to what the catalogue keeps."""
    result = extract_text(path)
    return TextResult(
        status=result.status.value,
        text=result.text,
        reason=result.reason,
        title=result.title,
        pii=has_pii(result.text),
    )


def index_doc(record: Record, text: str) -> IndexDoc:
    c = record.classification
    return IndexDoc(
        record_id=record.id,
        path=record.path,
        center=c.center or "",
        year=c.year,
        category=c.category,
        activity=c.activity or "",
        activity_type=c.activity_type.value if c.activity_type else "",
        date=c.activity_date or (date.fromisoformat(record.doc_date) if record.doc_date else None),
        title=record.title or Path(record.path).stem,
        text=text,
        state=record.state.value,
        pii=record.pii,
    )


class IndexSink:
    """The index stage: catalogued records and their text go into the search index.

    The index is opened on first use, so commands that never write (ls, log) never pay for it.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._index: SearchIndex | None = None

    @property
    def index(self) -> SearchIndex:
        if self._index is None:
            self._index = open_index(self.settings)
        return self._index

    def upsert(self, records: list[tuple[Record, str]]) -> None:
        with self.index.writer() as batch:
            for record, text in records:
                batch.upsert(index_doc(record, text))

    def delete(self, record_ids: list[int]) -> None:
        with self.index.writer() as batch:
            for record_id in record_ids:
                batch.delete(record_id)

    def close(self) -> None:
        if self._index is not None:
            self._index.close()


def open_index(settings: Settings) -> SearchIndex:
    return SearchIndex.open(settings.system_dir / "index", synonyms=settings.synonyms_path)


@contextmanager
def opened(env: Env) -> Iterator[tuple[Settings, Catalogue, Reconciler]]:
    """Settings, catalogue and a reconciler wired to text extraction and the search index."""
    settings = env.settings()
    cat = Catalogue.open(settings.system_dir)
    sink = IndexSink(settings)
    try:
        yield settings, cat, Reconciler(settings, cat, extract=extract_for_catalogue, sink=sink)
    finally:
        sink.close()
        cat.close()


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group(cls=ZhikongGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--root",
    type=click.Path(path_type=Path, file_okay=False),
    help="档案库目录（默认：环境变量 ZHIKONG_ROOT，或向上查找 zhikong.toml）",
)
@click.version_option(package_name="zhikong", message="zhikong %(version)s")
@click.pass_context
def cli(ctx: click.Context, root: Path | None) -> None:
    """质控中心档案与公文系统：归档、检索、检查、红头文件送审稿、挂靠单位变更移交。"""
    ctx.obj = Env(root)


# -- archive set-up --------------------------------------------------------------------------------


@cli.command()
@click.argument("root", type=click.Path(path_type=Path, file_okay=False))
@click.option("--county", required=True, help="县（市、区）名，例如 金乡县")
@click.option("--bureau", required=True, help="卫生健康局名称，例如 金乡县卫生健康局")
@click.option("--doc-prefix", required=True, help="发文代字，例如 金卫健字")
@click.option("--fonds", required=True, help="全宗号，例如 Z109")
def init(root: Path, county: str, bureau: str, doc_prefix: str, fonds: str) -> None:
    """新建档案库：写入带说明的 zhikong.toml 和系统目录 .zhikong/。"""
    settings = init_archive(root, county=county, bureau=bureau, doc_prefix=doc_prefix, fonds=fonds)
    with Catalogue.open(settings.system_dir) as cat:
        audit.append(cat, "init", county=county, bureau=bureau, fonds=fonds)
    click.echo(f"已新建档案库：{settings.root}")
    click.echo("下一步：zhikong center add 中心名称 --code 代码 --host 挂靠单位")


@cli.group()
def center() -> None:
    """质控中心：登记与查看。"""


@center.command("add")
@click.argument("name")
@click.option("--code", required=True, help="中心代码（大写字母，用于档号），例如 HL")
@click.option("--host", required=True, help="挂靠单位，例如 金乡县人民医院")
@click.option("--director", default="", help="主任")
@click.option("--deputy", multiple=True, help="副主任（可多次）")
@click.option("--secretary", default="", help="秘书")
@click.option("--member", multiple=True, help="成员（可多次）")
@click.option("--term-start", default="", help="本届任期开始日期 YYYY-MM-DD")
@click.pass_obj
def center_add(
    env: Env,
    name: str,
    code: str,
    host: str,
    director: str,
    deputy: tuple[str, ...],
    secretary: str,
    member: tuple[str, ...],
    term_start: str,
) -> None:
    """登记质控中心及其成员，并建立它的文件夹。"""
    roster = Roster(
        director=director, deputies=deputy, secretary=secretary, members=member, term_start=term_start
    )
    settings = add_center(env.settings(), Center(name, code, host, roster), year=date.today().year)
    with Catalogue.open(settings.system_dir) as cat:
        audit.append(cat, "center.add", center=name, code=code, host=host)
    click.echo(f"已登记：{name}（{code}），挂靠单位 {host}")
    click.echo(f"文件夹：{settings.root / name}")


@center.command("list")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@click.pass_obj
def center_list(env: Env, as_json: bool) -> None:
    """列出已登记的质控中心。"""
    settings = env.settings()
    if as_json:
        emit_json(
            [
                {"name": c.name, "code": c.code, "host": c.host, "roster": vars(c.roster)}
                for c in settings.centers
            ]
        )
        return
    if not settings.centers:
        click.echo("尚未登记质控中心。用 zhikong center add 登记。")
    for c in settings.centers:
        r = c.roster
        click.echo(f"{c.name}（{c.code}） 挂靠：{c.host}")
        click.echo(
            f"  主任：{r.director or '—'}  副主任：{'、'.join(r.deputies) or '—'}  秘书：{r.secretary or '—'}  成员 {len(r.members)} 人"
        )


# -- reconciling -----------------------------------------------------------------------------------


def _print_report(report: ScanReport, verbose: bool = True) -> None:
    c = report.counts()
    click.echo(
        f"新增 {c['added']}，修改 {c['changed']}，移动 {c['moved']}，删除 {c['deleted']}，"
        f"未变 {c['unchanged']}，未归类 {c['unclassified']}，错误 {c['errors']}"
    )
    if not verbose:
        return
    for path in report.deleted:
        click.secho(f"  删除：{path}（已保留副本，可用 zhikong restore 恢复）", fg="yellow")
    for old, new in report.moved:
        click.echo(f"  移动：{old} → {new}")
    for err in report.errors:
        click.secho(f"  错误：{err.path}：{err.message}", fg="red")
    for skip in report.skipped:
        click.echo(f"  跳过：{skip.path}：{skip.message}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（各项计数）")
@click.pass_obj
def scan(env: Env, as_json: bool) -> None:
    """核对一次：把文件夹里的变化登记进目录（新增、修改、移动、删除）。"""
    with opened(env) as (_settings, _cat, reconciler):
        report = reconciler.reconcile()
    if as_json:
        data: dict[str, Any] = dict(report.counts())
        data["error_details"] = [{"path": e.path, "message": e.message} for e in report.errors]
        data["deleted_paths"] = report.deleted
        emit_json(data)
    else:
        _print_report(report)


def _setup_watch_log(settings: Settings) -> None:
    logs = settings.system_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        logs / "watch.log", maxBytes=5_000_000, backupCount=5, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("zhikong")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


@cli.command()
@click.option("--poll", is_flag=True, help="轮询模式（网络共享盘收不到文件事件时使用）")
@click.option("--rescan", default=300.0, show_default=True, help="全量核对间隔（秒）")
@click.option("--stable", default=1.0, show_default=True, help="文件多久不变才登记（秒）")
@click.pass_obj
def watch(env: Env, poll: bool, rescan: float, stable: float) -> None:
    """持续监视档案库：新文件稳定后自动登记。Ctrl-C 停止。"""
    stop = threading.Event()

    def _stop(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    with opened(env) as (settings, _cat, reconciler):
        _setup_watch_log(settings)
        click.echo(
            f"正在监视 {settings.root}（{'轮询' if poll else '文件事件'}），日志：.zhikong/logs/watch.log。按 Ctrl-C 停止。"
        )

        def on_report(report: ScanReport) -> None:
            if report.touched or report.errors:
                _print_report(report)

        watcher = Watcher(
            settings.root,
            reconciler.reconcile,
            options=WatchOptions(poll=poll, stable_seconds=stable, rescan_seconds=rescan),
            stop=stop,
            on_report=on_report,
        )
        try:
            watcher.run()
        except KeyboardInterrupt:
            stop.set()
    click.echo("已停止监视。")


# -- records ---------------------------------------------------------------------------------------


@cli.command()
@click.argument("path")
@click.option(
    "--category",
    help="类别：通知 签到表 课件 标准文件 督查记录 反馈意见 整改报告 总结 会议纪要 工作计划 其他",
)
@click.option("--activity", help="活动，写成“YYYY-MM-DD 名称”")
@click.option("--center", "center_name", help="质控中心")
@click.option("--year", type=int, help="年度")
@click.pass_obj
def classify(
    env: Env, path: str, category: str | None, activity: str | None, center_name: str | None, year: int | None
) -> None:
    """手工指定一个文件的类别、活动、中心或年度（记为 manual）。"""
    if not any((category, activity, center_name, year)):
        raise click.UsageError("至少指定 --category、--activity、--center、--year 之一。")
    with opened(env) as (settings, cat, _r):
        rec = resolve_record(settings, cat, path, Path.cwd())
        rec = set_classification(
            cat,
            rec,
            category=category,
            activity=activity,
            center=center_name,
            year=year,
            centers=settings.center_names(),
        )
    c = rec.classification
    click.echo(f"{rec.path}：{c.center or '—'} {c.year or '—'} {c.activity or '—'} {c.category}（manual）")


@cli.command("ls")
@click.option("--center", "center_name", help="质控中心")
@click.option("--year", type=int, help="年度")
@click.option("--category", help="类别")
@click.option("--state", type=click.Choice(["active", "deleted"]), help="状态")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON 数组")
@click.pass_obj
def ls_(
    env: Env,
    center_name: str | None,
    year: int | None,
    category: str | None,
    state: str | None,
    as_json: bool,
) -> None:
    """列出档案记录。"""
    with opened(env) as (_s, cat, _r):
        records = cat.records(center=center_name, year=year, category=category, state=state)
    if as_json:
        emit_json([r.to_json() for r in records])
        return
    for r in records:
        c = r.classification
        flags = ("【已删除】" if r.state == RecordState.DELETED else "") + ("【含个人信息】" if r.pii else "")
        click.echo(f"{c.center or '未归类'}  {c.year or '—'}  {c.category:<4}  {r.path}{flags}")
    click.echo(f"共 {len(records)} 条")


@cli.command("status")
@click.pass_obj
def status_(env: Env) -> None:
    """按中心和年度汇总各类文件数，并列出需要处理的记录。"""
    with opened(env) as (_s, cat, _r):
        groups, problems = status(cat)
    if not groups and not problems:
        click.echo("目录为空。把文件放进中心文件夹后运行 zhikong scan。")
    for g in groups:
        counts = "，".join(f"{k} {v}" for k, v in sorted(g.by_category.items()))
        click.secho(f"{g.center} {g.year or '年度不明'}：{counts or '无'}", bold=True)
        for path, why in g.attention:
            click.secho(f"  ！{path}：{why}", fg="yellow")
    for path, message in problems:
        click.secho(f"  ！{path}：{message}", fg="red")


@cli.command("restore")
@click.argument("path")
@click.option(
    "--version", "version", type=int, help="恢复到第几版（默认：删除前的最后一版，或被覆盖前的一版）"
)
@click.pass_obj
def restore_(env: Env, path: str, version: int | None) -> None:
    """从保存的副本恢复被删除或被覆盖的文件。"""
    with opened(env) as (settings, cat, reconciler):
        rec = resolve_record(settings, cat, path, Path.cwd())
        restored = restore(settings, cat, rec, version, reconciler)
    click.echo(f"已恢复：{restored.path}（当前第 {restored.version} 版）")


@cli.group(invoke_without_command=True)
@click.option("--center", "center_name", help="只看某个中心")
@click.option("--limit", default=50, show_default=True, help="最多显示条数（最新的）")
@click.option("--imported", is_flag=True, help="显示移交时从原挂靠单位带来的审计日志")
@click.pass_context
def log(ctx: click.Context, center_name: str | None, limit: int, imported: bool) -> None:
    """审计日志：每次登记、修改、删除、审批都有记录，且前后哈希相连。"""
    if ctx.invoked_subcommand:
        return
    with opened(ctx.obj) as (_s, cat, _r):
        if imported:
            rows = cat.conn.execute(
                "SELECT chain, seq, ts, action, center, path, redacted FROM imported_audit ORDER BY chain, seq"
            ).fetchall()
            for r in rows:
                if center_name and r["center"] != center_name:
                    continue
                shown = (
                    "（其他中心的条目，仅保留哈希）"
                    if r["redacted"]
                    else f"{r['action']:<10} {r['center'] or ''}  {r['path'] or ''}"
                )
                click.echo(f"{r['chain'][:8]} {r['seq']:>6}  {r['ts'] or ''}  {shown}")
            return
        for e in audit.entries(cat, center=center_name, limit=limit):
            extra = "，".join(
                f"{k}={v}" for k, v in e.detail.items() if k not in ("sha256", "previous_sha256")
            )
            click.echo(f"{e.seq:>6}  {e.ts}  {e.action:<10} {e.center or ''}  {e.path or ''}  {extra}")


@log.command("verify")
@click.pass_obj
def log_verify(env: Env) -> None:
    """校验审计日志的哈希链：被改动或删除的条目会被指出。"""
    from zhikong.archive.handover import verify_imported

    with opened(env) as (_s, cat, _r):
        # Chains carried over by a handover import are verified too, and against their anchor in this one.
        problems = audit.verify(cat) + verify_imported(cat)
        count = len(audit.entries(cat))
        chains, carried = cat.conn.execute(
            "SELECT COUNT(DISTINCT chain), COUNT(*) FROM imported_audit"
        ).fetchone()
    if problems:
        raise VerificationError(
            "审计日志校验未通过：", problems, hint="日志被改动过；请保留现场并报告医政科。"
        )
    click.echo(f"审计日志完整：共 {count} 条，哈希链校验通过。")
    if chains:
        click.echo(
            f"移交带来的审计日志：{chains} 条链共 {carried} 条，各自校验通过并接续在本库日志上"
            "（zhikong log --imported 查看）。"
        )


# -- search ----------------------------------------------------------------------------------------


def _date_option(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"日期应写成 YYYY-MM-DD：{value}", param_hint=name) from exc


@cli.command()
@click.argument("query", nargs=-1, required=True)
@click.option("--center", "center_name", help="质控中心")
@click.option("--year", type=int, help="年度")
@click.option("--category", help="类别，如 反馈意见")
@click.option(
    "--type",
    "activity_type",
    help="活动类型：meeting competition exchange training case_review inspection follow_up campaign",
)
@click.option("--from", "date_from", help="起始日期 YYYY-MM-DD")
@click.option("--to", "date_to", help="截止日期 YYYY-MM-DD")
@click.option("--limit", default=10, show_default=True, help="最多显示条数")
@click.option("--deleted", is_flag=True, help="同时显示已删除的记录（标注“已删除”）")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON 数组")
@click.pass_obj
def search(
    env: Env,
    query: tuple[str, ...],
    center_name: str | None,
    year: int | None,
    category: str | None,
    activity_type: str | None,
    date_from: str | None,
    date_to: str | None,
    limit: int,
    deleted: bool,
    as_json: bool,
) -> None:
    """全文检索，例如：zhikong search 院感 督查 反馈。个人信息在摘要中打码。"""
    text = " ".join(query)
    if year is None:
        # "去年院感督查的反馈意见": a relative year is a filter, not a word the files contain.
        text, year = relative_year(text, date.today())
    filters = SearchFilters(
        center=center_name,
        year=year,
        category=category,
        activity_type=activity_type,
        date_from=_date_option(date_from, "--from"),
        date_to=_date_option(date_to, "--to"),
        include_deleted=deleted,
    )
    settings = env.settings()
    index = open_index(settings)
    try:
        hits = index.search(text, filters, limit=limit)
    finally:
        index.close()
    if as_json:
        emit_json(
            [
                {
                    "path": h.path,
                    "center": h.center,
                    "year": h.year,
                    "category": h.category,
                    "title": h.title,
                    "date": h.date.isoformat() if h.date else None,
                    "activity_type": h.activity_type,
                    "score": round(h.score, 4),
                    "snippet": h.snippet,
                    "state": h.state,
                    "pii": h.pii,
                    "record_id": h.record_id,
                }
                for h in hits
            ]
        )
        return
    if not hits:
        click.echo("没有找到。可以换个说法、减少限定条件，或用 zhikong status 看看文件是否已登记。")
    for i, h in enumerate(hits, 1):
        flags = ("【已删除】" if h.state == "deleted" else "") + ("【含个人信息】" if h.pii else "")
        click.secho(f"{i}. {h.title}{flags}", bold=True)
        click.echo(f"   {h.center or '未归类'} · {h.year or '—'} · {h.category} · {h.date or '—'}")
        click.echo(f"   {settings.root / h.path}")
        if h.snippet:
            click.echo("   " + _highlight(h.snippet))


def _highlight(snippet: str) -> str:
    return re.sub(r"【([^【】]*)】", lambda m: click.style(m[1], fg="red", bold=True), snippet)


@cli.command()
@click.option(
    "--reread", is_flag=True, help="先重新读取此前无法读取文字的文件（装好 LibreOffice 或 OCR 之后用）"
)
@click.pass_obj
def reindex(env: Env, reread: bool) -> None:
    """从目录中保存的文字重建检索索引（不重新读取文件）。"""
    with opened(env) as (settings, cat, reconciler):
        if reread:
            again = reconciler.reread()
            click.echo(f"重新读取了 {len(again)} 个文件的文字。")
        texts = dict(cat.conn.execute("SELECT record_id, text FROM texts").fetchall())
        docs = [index_doc(r, texts.get(r.id, "")) for r in cat.records() if r.kind == "electronic"]
        index = open_index(settings)
        try:
            count = index.rebuild(docs)
        finally:
            index.close()
    click.echo(f"索引已重建：{count} 条记录。")


# -- paper register, checks and self-assessment ----------------------------------------------------


def _as_of(value: str | None) -> date:
    try:
        return date.fromisoformat(value) if value else date.today()
    except ValueError as exc:
        raise click.BadParameter(f"日期应写成 YYYY-MM-DD：{value}") from exc


@cli.group()
def paper() -> None:
    """纸质档案登记：档号、盒内目录（归档文件目录、备考表、盒脊）、入盒登记、仅纸质件及其扫描件。"""


@paper.command("catalog")
@click.option("--center", "center_name", required=True, help="质控中心")
@click.option("--year", type=int, required=True, help="年度")
@click.option("--box", type=int, required=True, help="盒号")
@click.option(
    "--retention", type=click.Choice(["Y", "D30", "D10"]), help="新盒的保管期限（默认：期限最长的待装盒文件）"
)
@click.option("--limit", type=int, help="新盒最多装几件")
@click.option("--by", "compiled_by", default="", help="整理人")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True, help="输出 .docx")
@click.pass_obj
def paper_catalog(
    env: Env,
    center_name: str,
    year: int,
    box: int,
    retention: str | None,
    limit: int | None,
    compiled_by: str,
    out: Path,
) -> None:
    """打印一盒的归档文件目录、备考表和盒脊；新盒自动装入尚未装盒的文件并编档号。"""
    from zhikong.archive.paper import plan_box, scanned_ids
    from zhikong.generator.register import box_documents

    with opened(env) as (settings, cat, _r):
        planned = plan_box(
            settings, cat, center=center_name, year=year, box=box, retention=retention, limit=limit
        )
        box_documents(planned, out, scanned=scanned_ids(cat), compiled_by=compiled_by, today=date.today())
    first, last = planned.first_last
    click.echo(
        f"第 {box} 盒（{center_name} {year} 年，保管期限 {planned.retention}）：{len(planned.records)} 件，"
        f"件号 {first}—{last}，已入盒登记 {planned.filed} 件"
    )
    for r in planned.records:
        click.echo(
            f"  {r.archival_code}  {r.title or Path(r.path).stem}{'' if r.paper_marked_at else '  【待入盒】'}"
        )
    click.echo(f"已写出：{out}")
    if planned.filed < len(planned.records):
        click.echo(
            f"纸质件放入盒后运行：zhikong paper mark --catalog --center {center_name} --year {year} --box {box}"
        )


@paper.command("mark")
@click.argument("records", nargs=-1)
@click.option("--box", type=int, required=True, help="盒号")
@click.option(
    "--catalog", "whole_box", is_flag=True, help="登记该盒目录中的全部文件（需 --center 和 --year）"
)
@click.option("--center", "center_name", help="质控中心（与 --catalog 一起用）")
@click.option("--year", type=int, help="年度（与 --catalog 一起用）")
@click.pass_obj
def paper_mark(
    env: Env, records: tuple[str, ...], box: int, whole_box: bool, center_name: str | None, year: int | None
) -> None:
    """登记纸质原件已装入某盒：按路径或档号指定文件，或用 --catalog 登记整盒。"""
    from zhikong.archive.paper import box_records, mark, resolve

    if whole_box == bool(records):
        raise click.UsageError("请给出文件（路径或档号），或使用 --catalog（二者选一）。")
    if whole_box and (center_name is None or year is None):
        raise click.UsageError("--catalog 需要同时给出 --center 和 --year。")
    with opened(env) as (settings, cat, _r):
        if whole_box:
            assert center_name is not None and year is not None
            chosen = box_records(cat, center_name, year, box)
            if not chosen:
                raise click.UsageError(f"第 {box} 盒还没有目录：先运行 zhikong paper catalog。")
        else:
            chosen = [resolve(settings, cat, r, Path.cwd()) for r in records]
        marked = mark(settings, cat, chosen, box=box)
    for r in marked:
        click.echo(f"已入盒：{r.archival_code}  {r.path}")
    click.echo(f"共 {len(marked)} 件登记在第 {box} 盒。")


@paper.command("add")
@click.option("--center", "center_name", required=True, help="质控中心")
@click.option("--title", required=True, help="题名")
@click.option("--category", required=True, help="类别，如 签到表")
@click.option("--activity", help="所属活动，写成“YYYY-MM-DD 名称”")
@click.option("--year", type=int, help="年度（默认取活动日期的年份）")
@click.option("--date", "doc_date", help="文件日期 YYYY-MM-DD")
@click.option("--doc-number", help="文号")
@click.option("--responsible", help="责任者")
@click.option("--pages", type=int, help="页数")
@click.option("--box", type=int, help="已放入的盒号")
@click.pass_obj
def paper_add(
    env: Env,
    center_name: str,
    title: str,
    category: str,
    activity: str | None,
    year: int | None,
    doc_date: str | None,
    doc_number: str | None,
    responsible: str | None,
    pages: int | None,
    box: int | None,
) -> None:
    """登记只有纸质原件的文件（等待扫描）；扫描件放入文件夹后用 paper link 关联。"""
    from zhikong.archive.paper import add_paper

    with opened(env) as (settings, cat, _r):
        rec = add_paper(
            settings,
            cat,
            center=center_name,
            title=title,
            category=category,
            activity=activity,
            year=year,
            doc_date=_as_of(doc_date) if doc_date else None,
            doc_number=doc_number,
            responsible=responsible,
            pages=pages,
            box=box,
        )
    click.echo(
        f"已登记纸质件：{rec.archival_code}  {rec.path}" + (f"（第 {rec.paper_box} 盒）" if box else "")
    )
    click.echo(f'扫描后放入文件夹，再运行：zhikong paper link "{rec.path}" 扫描件路径')


@paper.command("link")
@click.argument("paper_record")
@click.argument("scan_path")
@click.pass_obj
def paper_link(env: Env, paper_record: str, scan_path: str) -> None:
    """把扫描件关联到纸质件登记（纸质件的路径或档号），补齐“纸电双留存”。"""
    from zhikong.archive.paper import link, resolve

    with opened(env) as (settings, cat, _r):
        item = resolve(settings, cat, paper_record, Path.cwd())
        scan_rec = link(cat, item, resolve(settings, cat, scan_path, Path.cwd()))
    click.echo(f"已关联：{item.archival_code} {item.path} ← {scan_rec.path}")


# -- red-header drafts and their approval; rendering templates -------------------------------------


def _day_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError as exc:
        raise click.BadParameter(f"日期应写成 YYYY-MM-DD，例如 2026-03-05：{value}") from exc


def _document_options(command: Any) -> Any:
    """The options a 通知 and a 请示 share."""
    options = [
        click.option("--center", "center_name", required=True, help="起草的质控中心"),
        click.option("--title", required=True, help="标题，写成“关于……的通知”"),
        click.option(
            "--to", required=True, help="主送机关，例如“各镇街卫生院、县直各医疗机构”（末尾“：”可省略）"
        ),
        click.option(
            "--body",
            type=click.Path(path_type=Path, dir_okay=False),
            required=True,
            help="正文：纯文本文件（UTF-8 或 GBK）；以 一、（一）1.（1）开头的行自动成为各级标题",
        ),
        click.option("--attach", multiple=True, help="附件名称（可多次，按顺序编号）"),
        click.option("--cc", multiple=True, help="抄送机关（可多次）"),
        click.option("--date", "day", callback=_day_option, help="成文日期 YYYY-MM-DD（默认：批准当天）"),
        click.option("--issuer", default="", help="印发机关（默认：发文机关）"),
        click.option(
            "--activity", help="所属活动“YYYY-MM-DD 名称”：批准后归入该活动文件夹（默认：年度/发文/）"
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _make_draft(env: Env, kind: str, body: Path, signer: str = "", **fields: Any) -> None:
    from zhikong.archive.drafts import create_notice_draft, read_body

    text = read_body(body)
    with opened(env) as (settings, cat, _r):
        d = create_notice_draft(
            settings,
            cat,
            center=fields["center_name"],
            title=fields["title"],
            to=fields["to"],
            body=text,
            today=date.today(),
            day=fields["day"],
            attachments=fields["attach"],
            cc=fields["cc"],
            issuer=fields["issuer"],
            kind=kind,
            signed_by=signer,
            activity=fields["activity"],
        )
        where = settings.root / (d.draft_path or "")
    click.echo(f"已生成送审稿：草稿 {d.id}（{d.state.label}），{d.center}《{d.title}》")
    click.echo(f"文件：{where}")
    click.echo(f"报医政科审核；批准后运行：zhikong draft approve {d.id} --by 县卫生健康局医政科 --ref 批件号")


@cli.group()
def draft() -> None:
    """红头公文：起草送审稿，医政科批准后分配发文字号并归档（或退回）。"""


@draft.command("notice")
@_document_options
@click.pass_obj
def draft_notice(env: Env, body: Path, **fields: Any) -> None:
    """起草通知：检查格式（报告全部问题），生成标“送审稿”、不编号的红头文件。"""
    _make_draft(env, "notice", body, **fields)


@draft.command("request")
@_document_options
@click.option("--signer", required=True, help="签发人姓名（请示必填）")
@click.pass_obj
def draft_request(env: Env, body: Path, signer: str, **fields: Any) -> None:
    """起草请示（上行文：发文字号居左、签发人居右），生成送审稿。"""
    _make_draft(env, "request", body, signer, **fields)


@draft.command("list")
@click.option("--center", "center_name", help="只看某个中心")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON 数组")
@click.pass_obj
def draft_list(env: Env, center_name: str | None, as_json: bool) -> None:
    """列出草稿及状态：草稿、送审、已批准、已退回、已印发。"""
    from zhikong.archive.drafts import list_drafts

    with opened(env) as (settings, cat, _r):
        if center_name:
            settings.center(center_name)
        drafts = list_drafts(cat, center=center_name)
    if as_json:
        emit_json([d.to_json() for d in drafts])
        return
    for d in drafts:
        number = d.doc_number or "（未编号）"
        click.echo(f"{d.id:>4}  {d.state.label:<3}  {d.center}  {number}  {d.title}")
        if d.final_path:
            click.echo(f"      归档：{d.final_path}（{d.decided_by}，{d.decided_at}）")
        elif d.reason:
            click.echo(f"      退回原因：{d.reason}（{d.decided_by or '—'}，{d.decided_at}）")
        elif d.draft_path:
            click.echo(f"      送审稿：{d.draft_path}")
    click.echo(f"共 {len(drafts)} 份")


@draft.command("approve")
@click.argument("draft_id", type=int)
@click.option("--by", required=True, help="批准机关或批准人，例如“县卫生健康局医政科”")
@click.option("--ref", default="", help="批准依据（批件号、会议纪要等）")
@click.pass_obj
def draft_approve(env: Env, draft_id: int, by: str, ref: str) -> None:
    """登记医政科的批准：分配下一个发文字号，生成正式文件（无送审稿标记）并归档为“通知”。"""
    from zhikong.archive.drafts import approve

    with opened(env) as (settings, cat, reconciler):
        d = approve(settings, cat, reconciler, draft_id, by=by, ref=ref, today=date.today())
    click.echo(f"已批准：草稿 {d.id}《{d.title}》，发文字号 {d.doc_number}")
    click.echo(f"已归档：{d.final_path}（目录记录 {d.record_id}，类别 通知）")


@draft.command("reject")
@click.argument("draft_id", type=int)
@click.option("--reason", required=True, help="退回原因")
@click.option("--by", default="", help="退回机关或经办人")
@click.pass_obj
def draft_reject(env: Env, draft_id: int, reason: str, by: str) -> None:
    """登记退回：草稿不编号，记录原因。"""
    from zhikong.archive.drafts import reject

    with opened(env) as (_s, cat, _r):
        d = reject(cat, draft_id, by=by, reason=reason)
    click.echo(f"已退回：草稿 {d.id}《{d.title}》，原因：{d.reason}")


@draft.command("issue")
@click.argument("draft_id", type=int)
@click.option("--date", "day", callback=_day_option, help="印发日期 YYYY-MM-DD（默认：今天）")
@click.pass_obj
def draft_issue(env: Env, draft_id: int, day: date | None) -> None:
    """登记已印发：批准的公文已印制分发。"""
    from zhikong.archive.drafts import mark_issued

    with opened(env) as (_s, cat, _r):
        d = mark_issued(cat, draft_id, on=day or date.today())
    click.echo(f"已印发：{d.doc_number}《{d.title}》")


@cli.command("render")
@click.argument("template")
@click.argument("data", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True, help="输出的 .docx")
def render_(template: str, data: Path, out: Path) -> None:
    """按模板生成文档。TEMPLATE：自带模板名（notice request letter minutes annual_plan summary
    inspection_feedback rectification_notice sign_in）或自己的 .docx；DATA：.json 或 .toml。"""
    from zhikong.generator.documents import render_document

    kind = render_document(template, data, out)
    click.echo(f"已生成：{out}（{kind}）")


# -- handover (H39): seal, bundle, verify, import ----------------------------------------------------


@cli.group()
def handover() -> None:
    """挂靠单位变更移交（H39）：封存、生成移交包、核验（四性）、导入新挂靠单位的档案库。"""


def _listed(title: str, items: list[str], color: str = "yellow", limit: int = 10) -> None:
    if not items:
        return
    click.secho(f"{title}（{len(items)} 项）：", fg=color)
    for item in items[:limit]:
        click.echo(f"  - {item}")
    if len(items) > limit:
        click.echo(f"  …… 另有 {len(items) - limit} 项")


@handover.command("create")
@click.option("--center", "center_name", required=True, help="移交的质控中心")
@click.option("--to", "to_host", required=True, help="新的挂靠单位，例如 金乡县中医院")
@click.option("--as-of", "as_of", help="交接日期 YYYY-MM-DD（默认：今天），写入交接书和 bag-info.txt")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="移交包位置：一个尚不存在的文件夹，或以 .zip 结尾的文件",
)
@click.option("--processes", default=2, show_default=True, help="计算校验和的进程数")
@click.pass_obj
def handover_create(
    env: Env, center_name: str, to_host: str, as_of: str | None, out: Path, processes: int
) -> None:
    """先核对文件夹，再封存该中心，生成 BagIt 移交包（含移交清单、交接书、封存记录、PDF 汇编）。"""
    from zhikong.archive.handover import create_bundle

    with opened(env) as (settings, cat, reconciler):
        _print_report(reconciler.reconcile(), verbose=False)
        result = create_bundle(
            settings,
            cat,
            center=center_name,
            to_host=to_host,
            out=out,
            as_of=_as_of(as_of),
            processes=processes,
        )
    ready = result.readiness
    if not ready.empty:
        click.secho("以下事项尚未就绪（已如实写入移交包，请在交接书中注明）：", fg="yellow", bold=True)
        _listed("无法读取的文件", ready.unreadable)
        _listed("纸质原件尚未入盒", ready.unboxed)
        _listed("未决的公文送审稿", ready.open_drafts)
        _listed("归到本中心但不在中心文件夹内（未移交）", ready.outside)
        _listed("文件名不是有效编码（未移交，请改名后重做）", ready.untransferable, color="red")
    click.echo(f"已封存：{result.center}，自 {result.seal.sealed_at} 起其文件夹的变动都会被报告。")
    click.secho(f"移交包：{result.bundle}", bold=True)
    click.echo(
        f"  {result.from_host} → {result.to_host}；目录记录 {result.records} 条，电子文件 {result.record_files} 个；"
        f"包内文件 {result.files} 个，共 {result.bytes:,} 字节"
    )
    click.echo(f"  指纹（tagmanifest-sha256.txt 的 sha256）：{result.fingerprint}")
    click.echo(f"  PDF 汇编 {result.pdf_pages} 页（按年度、类别加书签）")
    _listed("未能并入 PDF 汇编", [f"{t}：{why}" for t, why in result.pdf_skipped])
    if result.pii:
        _listed(
            "含个人信息的文件（只列位置和数量；移交后须按 H27、H28 保管）",
            [f"{p.path}：身份证号 {p.id_cards} 处，手机号 {p.mobiles} 处" for p in result.pii],
        )
    else:
        click.echo("  未发现身份证号或手机号。")
    click.echo(f"下一步：接收单位运行 zhikong handover verify {result.bundle}")


@handover.command("verify")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--processes", default=2, show_default=True, help="计算校验和的进程数")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
def handover_verify(bundle: Path, processes: int, as_json: bool) -> None:
    """核验移交包：逐个重算校验和，并按 DA/T 70-2018 检查真实性、完整性、可用性、安全性。"""
    from zhikong.archive.handover import verify_bundle

    report = verify_bundle(bundle, processes=processes)
    if as_json:
        emit_json(
            {
                "center": report.center,
                "from_host": report.from_host,
                "to_host": report.to_host,
                "records": report.records,
                "record_files": report.record_files,
                "files": report.files,
                "bytes": report.bytes,
                "problems": [vars(p) for p in report.problems],
                "warnings": [vars(p) for p in report.warnings],
            }
        )
    else:
        click.echo(
            f"{report.center or '（未知中心）'}：{report.from_host or '?'} → {report.to_host or '?'}；"
            f"目录记录 {report.records} 条，电子文件 {report.record_files} 个，包内文件 {report.files} 个，"
            f"{report.bytes:,} 字节"
        )
        fatal = {id(p) for p in report.problems}
        for name, found in report.by_property().items():
            bad = [p for p in found if id(p) in fatal]
            if bad:
                click.secho(f"  {name}：{len(bad)} 项问题", fg="red")
            elif found:
                click.secho(f"  {name}：通过，{len(found)} 项提示", fg="yellow")
            else:
                click.secho(f"  {name}：通过", fg="green")
        for p in report.warnings:
            click.secho(f"  提示：{p.message}（{p.path}）", fg="yellow")
    if report.problems:
        raise VerificationError(
            "移交包核验未通过：", report.problems, hint="不要导入；请向移交单位核实并重新移交。"
        )
    if not as_json:
        click.echo("核验通过：每个文件的 sha256 和 sha512 都已重算并与清单一致。")


@handover.command("import")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--processes", default=2, show_default=True, help="计算校验和的进程数")
@click.pass_context
def handover_import(ctx: click.Context, bundle: Path, processes: int) -> None:
    """先核验，再把移交包里的中心并入新挂靠单位的档案库（--root；不是档案库的空目录会新建）。"""
    from zhikong.archive.handover import import_bundle

    env: Env = ctx.obj
    root = env.root_option.expanduser().resolve() if env.root_option else env.root()
    result = import_bundle(root, bundle, processes=processes)
    if result.created_archive:
        click.echo(f"已按移交包的设置新建档案库：{result.root}")
    ctx.obj = Env(result.root)
    ctx.invoke(reindex)
    with opened(ctx.obj) as (_s, cat, reconciler):
        report = reconciler.reconcile([result.root / result.center])
        present = len(cat.records(center=None, state="active"))
    click.secho(
        f"已导入：{result.center}，{result.from_host} → {result.to_host}；目录记录 {result.records} 条，"
        f"电子文件 {result.record_files} 个（{result.bytes:,} 字节），审计日志 {result.audit_entries} 条",
        bold=True,
    )
    if report.touched or report.errors:
        click.secho("导入后核对发现文件夹与目录不一致：", fg="red")
        _print_report(report)
    else:
        click.echo(
            f"导入后核对：文件夹与目录一致（{report.unchanged} 个文件未变）；本库现有记录 {present} 条。"
        )
    click.echo("挂靠单位变更已登记（zhikong.toml 和 host_changes），检索索引已重建。")


@handover.command("status")
@click.option("--center", "center_name", help="只看某个中心")
@click.pass_obj
def handover_status(env: Env, center_name: str | None) -> None:
    """封存与挂靠单位变更记录，以及封存后中心文件夹里的变动（record.after_seal）。"""
    from zhikong.archive.handover import after_seal_findings, host_changes, seals

    with opened(env) as (_s, cat, reconciler):
        reconciler.reconcile()
        sealed = seals(cat, center_name)
        changes = [h for h in host_changes(cat) if center_name in (None, h.center)]
        findings = after_seal_findings(cat, center_name)
    if not sealed and not changes:
        click.echo("没有封存或移交记录。")
    for s in sealed:
        state = f"已解除于 {s.released_at}" if s.released_at else "封存中"
        click.echo(
            f"封存：{s.center} 自 {s.sealed_at}（移交给 {s.to_host}，{state}）移交包 {s.bundle or '未生成'}"
        )
    for h in changes:
        click.echo(f"挂靠单位变更：{h.center} {h.from_host or '—'} → {h.to_host}（{h.at}）{h.note or ''}")
    for f in findings:
        click.secho(f"  ！{f.rule} {f.center}：{f.message}", fg="yellow")
    if findings:
        raise click.exceptions.Exit(int(ExitCode.FINDINGS))


@handover.command("release")
@click.option("--center", "center_name", required=True, help="质控中心")
@click.option("--reason", required=True, help="解除原因，例如“移交取消，经医政科同意”")
@click.pass_obj
def handover_release(env: Env, center_name: str, reason: str) -> None:
    """解除封存（移交取消时使用）；原因写入审计日志。"""
    from zhikong.archive.handover import release

    with opened(env) as (settings, cat, _r):
        settings.center(center_name)
        released = release(cat, center_name, reason)
    click.echo(f"已解除封存：{released.center}（封存于 {released.sealed_at}，解除于 {released.released_at}）")


def _print_findings(report: CheckReport) -> None:
    click.echo(f"检查日期 {report.as_of.isoformat()}，规则集 {report.rules}")
    for group, findings in report.by_center().items():
        click.secho(f"{group}：{len(findings)} 项", bold=True)
        for f in findings:
            click.secho(f"  [{f.year or '—'}] {f.rule}（{f.article}，第{f.item}项）{f.message}", fg="yellow")
            for p in f.paths[:5]:
                click.echo(f"      {p}")
            if len(f.paths) > 5:
                click.echo(f"      ……共 {len(f.paths)} 个文件")
    if not report.findings:
        click.secho("未发现问题。", fg="green")


def _print_sheet(sheet: ScoreSheet) -> None:
    click.secho(
        f"{sheet.center} {sheet.year} 年度 自查（{sheet.as_of.isoformat()}，规则集 {sheet.rules}）", bold=True
    )
    for it in sheet.items:
        got = "局评" if it.score is None else f"{it.score:g}"
        click.echo(f"  {it.no:>2}. {it.name}（{it.max:g}分）：{got}  {it.basis}")
        for p in it.paths[:3]:
            click.echo(f"        {p}")
    click.secho(
        f"自查得分 {sheet.self_total:g} / {sheet.self_max:g}；预计总分 {sheet.projected:g}（局评项目按满分预计），"
        f"预计等次：{sheet.tier}",
        bold=True,
    )


@cli.command()
@click.option("--center", "center_name", help="只检查某个中心")
@click.option("--year", type=int, help="只检查某个年度")
@click.option("--as-of", "as_of", help="按哪一天检查 YYYY-MM-DD（默认今天；未到期的不算问题）")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON 数组")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="另存检查报告 .docx 或 .xlsx")
@click.pass_obj
def check(
    env: Env, center_name: str | None, year: int | None, as_of: str | None, as_json: bool, out: Path | None
) -> None:
    """合规检查：按管理办法逐条检查各中心各年度的档案，列出会扣分的问题。有问题时退出码为 1。"""
    from zhikong.archive.checks import run_checks
    from zhikong.archive.rules import load_rules
    from zhikong.generator.reports import check_report

    with opened(env) as (settings, cat, _r):
        rules = load_rules(settings.rules, settings.root)
        report = run_checks(settings, cat, rules, as_of=_as_of(as_of), center=center_name, year=year)
    if out is not None:
        check_report(report, out, county=settings.county)
    if as_json:
        emit_json([f.to_json() for f in report.findings])
    else:
        _print_findings(report)
        if out is not None:
            click.echo(f"已写出：{out}")
    if report.findings:
        raise click.exceptions.Exit(int(ExitCode.FINDINGS))


@cli.command()
@click.option("--center", "center_name", help="质控中心（与 --all 二选一）")
@click.option("--year", type=int, help="考核年度（默认：检查日期所在年度）")
@click.option("--as-of", "as_of", help="按哪一天自查 YYYY-MM-DD（默认今天）")
@click.option("--all", "all_centers", is_flag=True, help="全县排名：计算第19项并按比例确定等次")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), help="考核评分表 .docx（--all 时为 .xlsx）"
)
@click.pass_obj
def score(
    env: Env,
    center_name: str | None,
    year: int | None,
    as_of: str | None,
    all_centers: bool,
    as_json: bool,
    out: Path | None,
) -> None:
    """自查得分：按考核评分表逐项打分，每项注明依据的文件；局评项目留给卫健局。"""
    from zhikong.archive.rules import load_rules
    from zhikong.archive.score import rank_all, score_center
    from zhikong.generator.reports import ranking_book, score_form

    if all_centers == bool(center_name):
        raise click.UsageError("请用 --center 指定中心，或用 --all 计算全县排名（二者选一）。")
    when = _as_of(as_of)
    the_year = year or when.year
    with opened(env) as (settings, cat, _r):
        rules = load_rules(settings.rules, settings.root)
        if all_centers:
            ranking = rank_all(settings, cat, rules, year=the_year, as_of=when, find=index_evidence(settings))
        else:
            assert center_name is not None
            sheet = score_center(
                settings,
                cat,
                rules,
                center=center_name,
                year=the_year,
                as_of=when,
                find=index_evidence(settings),
            )
    if all_centers:
        if out is not None:
            ranking_book(ranking, out)
        if as_json:
            emit_json([vars(r) for r in ranking.rows])
            return
        click.echo(f"{the_year} 年度全县排名（规则集 {ranking.rules}，局评项目按满分预计）")
        for r in ranking.rows:
            points = "—" if r.ranking_points is None else f"{r.ranking_points:g}"
            click.echo(
                f"  {r.rank:>2}. {r.center}  预计 {r.total:g} 分（第19项 {points}）"
                f"  按分数线：{r.tier_by_score}  按比例：{r.tier}"
            )
        if out is not None:
            click.echo(f"已写出：{out}")
        return
    if out is not None:
        score_form(sheet, out, county=settings.county)
    if as_json:
        emit_json(sheet.to_json())
        return
    _print_sheet(sheet)
    if out is not None:
        click.echo(f"已写出：{out}")


def index_evidence(settings: Settings) -> EvidenceFinder:
    """Scoring evidence found through the search index, so the synonym list applies (院感 finds 医院感染).

    A hit counts only when the word (or a synonym) is in the file's own name, title or text: the
    index also matches center and folder names, and "护理" in "护理质控中心" is no evidence. The
    catalogue's stored text is the fallback when the index cannot answer (missing or outdated).
    """
    from zhikong.archive.evidence import text_evidence
    from zhikong.indexer.analysis import Synonyms

    synonyms = Synonyms.load(settings.synonyms_path)

    def find(cat: Catalogue, center: str, year: int, words: list[str]) -> list[Record]:
        index = open_index(settings)
        try:
            hits = index.search(" ".join(words), SearchFilters(center=center, year=year), limit=500)
        except ZhikongError:
            return text_evidence(cat, center, year, words)
        finally:
            index.close()
        variants = {v for w in words for v in synonyms.variants(w)} | set(words)
        found = []
        for h in hits:
            rec = cat.get(h.record_id)
            own = "\n".join((Path(rec.path).stem, rec.title or "", cat.text(rec.id) or ""))
            if any(v in own for v in variants):
                found.append(rec)
        return sorted(found, key=lambda r: r.path)

    return find


def demo_check_and_score(env: Env, year: int, outputs: Path) -> None:
    """The demo's step: box 护理 paper, then what `check` finds and what `score` gives, as of today."""
    from zhikong.archive.checks import run_checks
    from zhikong.archive.paper import mark, plan_box, scanned_ids
    from zhikong.archive.rules import load_rules
    from zhikong.archive.score import score_center
    from zhikong.generator.register import box_documents
    from zhikong.generator.reports import check_report, score_form

    with opened(env) as (settings, cat, _r):
        box = plan_box(settings, cat, center="护理质控中心", year=year, box=1)
        box_documents(
            box, outputs / "护理第1盒归档文件目录.docx", scanned=scanned_ids(cat), today=date.today()
        )
        mark(settings, cat, list(box.records), box=1)
        click.echo(
            f"护理质控中心第 1 盒（{box.retention}）：{len(box.records)} 件已登记入盒，目录见 {outputs}"
        )
        rules = load_rules(settings.rules, settings.root)
        report = run_checks(settings, cat, rules, as_of=date.today(), year=year)
        sheet = score_center(
            settings,
            cat,
            rules,
            center="护理质控中心",
            year=year,
            as_of=date.today(),
            find=index_evidence(settings),
        )
    check_report(report, outputs / "检查报告.docx", county=settings.county)
    score_form(sheet, outputs / "护理质控中心考核评分表.docx", county=settings.county)
    _print_findings(report)
    _print_sheet(sheet)


# -- features (search, drafts, paper register and checks, handover) are added above this line -----


# -- the demo --------------------------------------------------------------------------------------


@cli.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.pass_context
def demo(ctx: click.Context, directory: Path | None) -> None:
    """用示例档案演示主要流程：建库、登记、归档、检索、检查、起草通知、移交。"""
    from zhikong.archive.demo import DEMO_CENTERS, build_sample_archive

    base = directory or Path(tempfile.mkdtemp(prefix="zhikong-demo-"))
    root, outputs = base / "档案库", base / "输出"
    bundle, new_root = base / "护理质控中心移交包", base / "新挂靠单位档案库"
    taken = [p for p in (root, outputs, bundle, new_root) if p.exists()]
    if taken:
        raise click.UsageError(f"{taken[0]} 已存在；请指定一个新的空目录。")
    year = date.today().year
    steps = iter(range(1, 100))

    def step(title: str) -> None:
        click.secho(f"\n== {next(steps)}. {title} ==", fg="cyan", bold=True)

    click.echo(f"示例目录：{base}（档案库、输出、移交包、新挂靠单位档案库都在这里）")
    step("新建档案库并登记两个质控中心")
    settings = init_archive(
        root, county="金乡县", bureau="金乡县卫生健康局", doc_prefix="金卫健字", fonds="Z109"
    )
    for c in DEMO_CENTERS:
        settings = add_center(settings, c, year=year)
        click.echo(f"已登记：{c.name}（{c.code}），挂靠 {c.host}")
    step("秘书把一年的文件放进中心文件夹")
    made = build_sample_archive(root, year)
    click.echo(f"放入 {len(made)} 个文件（.docx .pdf .pptx .xlsx）到 {root}")
    step("zhikong scan：登记、保存副本、归类")
    env = Env(root)
    ctx.obj = env
    with opened(env) as (_s, _cat, reconciler):
        _print_report(reconciler.reconcile(), verbose=False)
    step("zhikong status：各中心文件概况与需处理事项")
    ctx.invoke(status_)
    step("zhikong search 院感 督查 反馈：全文检索（个人信息打码）")
    ctx.invoke(search, query=("院感", "督查", "反馈"), limit=3)
    step("zhikong search 质量控制 跌倒：缩写与全称互通")
    ctx.invoke(search, query=("质量控制", "跌倒"), limit=3)
    step("zhikong paper / check / score：纸质件入盒，检查会扣分的问题，自查得分")
    outputs.mkdir(parents=True)
    demo_check_and_score(env, year, outputs)
    step("zhikong draft notice / list / approve：起草通知送审稿，医政科批准后编发文字号并归档")
    from zhikong.archive.drafts import create_notice_draft

    with opened(env) as (settings, cat, _r):
        drafted = create_notice_draft(
            settings,
            cat,
            center="护理质控中心",
            title=f"关于召开{year}年第二次护理质控工作会议的通知",
            to="各镇街卫生院、县直各医疗机构",
            body="经研究，决定召开护理质控工作会议。现将有关事项通知如下：\n"
            "一、会议时间\n（一）时间。7月10日上午9:00。\n二、参会人员\n各医疗机构护理部主任。",
            today=date.today(),
            attachments=("会议议程",),
            cc=("县护理质控中心",),
        )
    click.echo(f"送审稿（无发文字号、标“送审稿”）：{drafted.draft_path}")
    ctx.invoke(draft_list)
    ctx.invoke(draft_approve, draft_id=drafted.id, by="县卫生健康局医政科", ref="医政科审批单 1")
    step("zhikong handover create / verify / import：护理质控中心改挂靠金乡县中医院（H39）")
    from zhikong.archive.handover import create_bundle, import_bundle, verify_bundle

    with opened(env) as (settings, cat, _r):
        created = create_bundle(settings, cat, center="护理质控中心", to_host="金乡县中医院", out=bundle)
        old_records = {(r.path, r.sha256) for r in cat.records(center="护理质控中心")}
    click.echo(f"已封存并生成移交包：{created.bundle}（{created.files} 个文件，{created.bytes:,} 字节）")
    click.echo(f"含个人信息的文件 {len(created.pii)} 个（只列位置和数量）")
    checked = verify_bundle(bundle)
    if checked.problems:
        raise VerificationError("移交包核验未通过：", checked.problems)
    click.echo("核验通过：真实性、完整性、可用性、安全性")
    imported = import_bundle(new_root, bundle)
    with opened(Env(new_root)) as (_s, new_cat, _r):
        new_records = {(r.path, r.sha256) for r in new_cat.records(center="护理质控中心")}
    click.echo(
        f"已导入新挂靠单位的档案库 {new_root}：目录记录 {imported.records} 条；"
        f"原库 {len(old_records)} 条，新库 {len(new_records)} 条，路径与 sha256 "
        + ("完全一致" if new_records == old_records else "不一致！")
    )
    ctx.obj = Env(new_root)
    ctx.invoke(reindex)
    ctx.invoke(search, query=("跌倒", "评估"), limit=1)
    ctx.invoke(log_verify)
    ctx.obj = env
    step("zhikong log verify：审计日志")
    ctx.invoke(log_verify)
    click.secho(f"\n示例档案库在：{root}", bold=True)
    click.echo(f"可以继续试：zhikong --root {root} ls")


def main() -> None:
    cli(prog_name="zhikong")


if __name__ == "__main__":
    main()
