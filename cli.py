"""zhikong 命令行 — a front end of the application layer (`zhikong.app`).

Each command parses its options, calls one method of `Archive` and prints the result; no rule and no
SQL lives here. Errors from the library (`zhikong.errors.ZhikongError`) are printed in Chinese and mapped
to the documented exit codes; any other exception is a bug: its traceback goes to a log file, and the
user gets a Chinese message naming that file and the exit code INTERNAL.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import signal
import sqlite3
import sys
import tempfile
import threading
import time
import traceback
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from zhikong import clitext
from zhikong.app import Archive, default_actor
from zhikong.archive import audit
from zhikong.archive import progress as progress_of
from zhikong.archive.catalogue import RecordState, storage_error
from zhikong.archive.convention import ACTIVITY_KEYWORDS, ActivityType
from zhikong.archive.ingest import ScanProgress, ScanReport
from zhikong.archive.settings import Center, Roster, find_root
from zhikong.errors import (
    ArchiveNotFound,
    ExitCode,
    InputFileError,
    InternalError,
    VerificationError,
    ZhikongError,
)
from zhikong.indexer.pii import mask_pii

if TYPE_CHECKING:  # names for the type checker only: their modules are imported on first use
    from zhikong.archive.checks import CheckReport
    from zhikong.archive.score import ScoreSheet

# click's own messages in Chinese (see zhikong.clitext), from here on: before the decorators below run
# (@click.version_option takes its help text when applied) and before any command line is parsed — tests
# call `cli` directly, without main().
clitext.activate()


class ZhikongGroup(click.Group):
    """Maps library errors to a Chinese message on stderr and the documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ZhikongError as exc:
            _fail(ctx, exc)
        except sqlite3.IntegrityError as exc:  # a broken invariant is a bug, not a storage problem
            _fail(ctx, _internal(ctx, exc))
        except sqlite3.Error as exc:  # the catalogue failed under us: busy, disk full, read-only, damaged
            _fail(ctx, storage_error(exc, None))
        except KeyboardInterrupt:
            show("已中断。", err=True)
            ctx.exit(int(ExitCode.INTERRUPTED))
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):  # a full disk is the user's to fix, not a bug
                _fail(ctx, _internal(ctx, exc))
            _fail(ctx, storage_error(exc, None))
        except Exception as exc:
            _fail(ctx, _internal(ctx, exc))


def _fail(ctx: click.Context, exc: ZhikongError) -> None:
    show(f"错误：{exc}", fg="red", err=True)
    ctx.exit(int(exc.exit_code))


def _internal(ctx: click.Context, exc: BaseException) -> InternalError:
    """Write the traceback where an administrator will find it; tell the user where, in Chinese."""
    env = ctx.obj if isinstance(ctx.obj, Env) else Env(None, None)
    try:
        logs = find_root(env.root_option, os.environ, Path.cwd()) / ".zhikong" / "logs"
        logs.mkdir(parents=True, exist_ok=True)
    except (ZhikongError, OSError):
        logs = Path(tempfile.gettempdir())
    log = logs / "errors.log"
    try:
        with log.open("a", encoding="utf-8") as f:
            # The log is sent to whoever maintains the program: personal data in paths stays masked.
            f.write(
                f"\n== {datetime.now().isoformat(timespec='seconds')} zhikong {mask_pii(' '.join(ctx.args))}\n"
            )
            f.write(mask_pii("".join(traceback.format_exception(exc))))
    except OSError:
        log = Path("（无法写入日志）")
    return InternalError(
        f"程序内部错误（{type(exc).__name__}），操作没有完成；已做的修改不受影响。",
        hint=f"详细信息已记入 {log}；请把该文件发给管理员或开发者。",
    )


def _day_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    """Every option that takes a day: 2026-03-05, 2026-3-5, 2026/3/5, 2026.3.5, 2026年3月5日 (or 号), in
    full-width digits too; click names the option in the error ("'--date' 的值不对：没有这一天：…")."""
    if value is None or not value.strip():
        return None
    try:
        return clitext.parse_day(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _day_text_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    """A day kept as text (YYYY-MM-DD), e.g. a term's start in zhikong.toml; empty if not given."""
    day = _day_option(ctx, param, value)
    return day.isoformat() if day else ""


_DAY = "如 2026-03-05、2026/3/5 或 2026年3月5日"
FONT_PROFILES = ("gb2312", "windows")  # generator.gbt9704.FONT_PROFILES, named here so --help loads no docx


def _activity_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """`--activity 2026年3月5日 院感督导` (any day form `_day_option` takes) as "2026-03-05 院感督导"."""
    if value is None or not value.strip():
        return None
    try:
        return clitext.parse_activity(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@dataclass
class Env:
    root_option: Path | None
    actor_option: str | None

    def root(self) -> Path:
        return find_root(self.root_option, os.environ, Path.cwd())

    def archive(self) -> Archive:
        return Archive.find(self.root_option, os.environ, Path.cwd())

    @property
    def actor(self) -> str:
        return default_actor(self.actor_option)


def show(message: object = "", *, err: bool = False, **style: Any) -> None:
    """Print one line for a person. Every human-readable line goes through here, so a 身份证号 or mobile
    number in a file name, title, path or message is shown masked (J15(3), H27–H28). `emit_json` is for
    scripts and keeps exact values."""
    click.secho(mask_pii(str(message)), err=err, **style)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group(cls=ZhikongGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--root",
    type=click.Path(path_type=Path, file_okay=False),
    help="档案库目录（默认：环境变量 ZHIKONG_ROOT，或向上查找 zhikong.toml）",
)
@click.option("--as", "actor", metavar="姓名", help="以谁的名义操作，记入审计日志（默认：当前系统用户）")
@click.version_option(package_name="zhikong", message="zhikong %(version)s")
@click.pass_context
def cli(ctx: click.Context, root: Path | None, actor: str | None) -> None:
    """质控中心档案与公文系统：归档、检索、检查、红头文件送审稿、挂靠单位变更移交。"""
    clitext.activate()  # again, in case something reset click's messages after import (cheap, idempotent)
    ctx.obj = Env(root, actor)


# -- archive set-up --------------------------------------------------------------------------------


@cli.command()
@click.argument("root", type=click.Path(path_type=Path, file_okay=False))
@click.option("--county", required=True, help="县（市、区）名，例如 金乡县")
@click.option("--bureau", required=True, help="卫生健康局名称，例如 金乡县卫生健康局")
@click.option("--doc-prefix", required=True, help="发文代字，例如 金卫健字")
@click.option("--fonds", required=True, help="全宗号，例如 Z109")
@click.pass_obj
def init(env: Env, root: Path, county: str, bureau: str, doc_prefix: str, fonds: str) -> None:
    """新建档案库：写入带说明的 zhikong.toml 和系统目录 .zhikong/。"""
    arc = Archive.init(env.actor, root, county=county, bureau=bureau, doc_prefix=doc_prefix, fonds=fonds)
    show(f"已新建档案库：{arc.root}")
    show("下一步：zhikong center add 中心名称 --code 代码 --host 挂靠单位")


@cli.group()
def center() -> None:
    """质控中心：登记与查看。"""


@center.command("add")
@click.argument("name")
@click.option("--code", required=True, help="中心代码（大写字母，用于档号），例如 HL")
@click.option("--host", required=True, help="挂靠单位，例如 金乡县人民医院")
@click.option("--full-name", default="", help="中心全称，作请示的发文机关（默认：县名 + 中心名称）")
@click.option("--doc-prefix", default="", help="中心自己的发文代字（请示编号用），例如 金护质控")
@click.option("--director", default="", help="主任")
@click.option("--deputy", multiple=True, help="副主任（可多次）")
@click.option("--secretary", default="", help="秘书")
@click.option("--member", multiple=True, help="成员（可多次）")
@click.option(
    "--term-start", default="", metavar="日期", callback=_day_text_option, help=f"本届任期开始日期（{_DAY}）"
)
@click.pass_obj
def center_add(
    env: Env,
    name: str,
    code: str,
    host: str,
    full_name: str,
    doc_prefix: str,
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
    arc = env.archive()
    added = Center(name, code, host, roster, full_name=full_name.strip(), doc_prefix=doc_prefix.strip())
    arc.add_center(env.actor, added, today=date.today())
    show(f"已登记：{name}（{code}），挂靠单位 {host}")
    show(f"文件夹：{arc.root / name}")


@center.command("list")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@click.pass_obj
def center_list(env: Env, as_json: bool) -> None:
    """列出已登记的质控中心。"""
    result = env.archive().centers(env.actor)
    if as_json:
        emit_json(result.to_json())
        return
    if not result.centers:
        show("尚未登记质控中心。用 zhikong center add 登记。")
    for c in result.centers:
        r = c.roster
        show(f"{c.name}（{c.code}） 挂靠：{c.host}")
        show(
            f"  主任：{r.director or '—'}  副主任：{'、'.join(r.deputies) or '—'}  秘书：{r.secretary or '—'}  成员 {len(r.members)} 人"
        )


# -- reconciling -----------------------------------------------------------------------------------


def _print_report(report: ScanReport, verbose: bool = True) -> None:
    c = report.counts()
    show(
        f"新增 {c['added']}，修改 {c['changed']}，移动 {c['moved']}，删除 {c['deleted']}，"
        f"未变 {c['unchanged']}，未归类 {c['unclassified']}，错误 {c['errors']}"
    )
    if not verbose:
        return
    for path in report.deleted:
        show(f"  删除：{path}（已保留副本，可用 zhikong restore 恢复）", fg="yellow")
    for old, new in report.moved:
        show(f"  移动：{old} → {new}")
    for err in report.errors:
        show(f"  错误：{err.path}：{err.message}", fg="red")
    for skip in report.skipped:
        show(f"  跳过：{skip.path}：{skip.message}")


class _TerminalProgress(ScanProgress):
    """One line on the terminal that updates itself: what is being done, units done of all, the time
    left, the file. A new stage (`phase`) starts its own count and clock."""

    def __init__(self) -> None:
        super().__init__()
        self.started = time.monotonic()
        self.last = 0.0
        self.drawn = False

    def phase(self, verb: str) -> None:
        super().phase(verb)
        self.started, self.last = time.monotonic(), 0.0

    def step(self, done: int, total: int, label: str) -> None:
        now = time.monotonic()
        if total < 20 or now - self.last < 0.2:  # short work, or drawn a moment ago
            return
        self.last = now
        left = ""
        if done >= 5:
            seconds = (now - self.started) / done * (total - done)
            left = (
                f"，约剩 {int(seconds // 60)} 分 {int(seconds % 60)} 秒"
                if seconds >= 60
                else f"，约剩 {int(seconds)} 秒"
            )
        name = mask_pii(label)
        name = name if len(name) <= 40 else "…" + name[-39:]
        click.echo(f"\r\x1b[K{self.verb} {done}/{total}{left}：{name}", err=True, nl=False)
        self.drawn = True

    def finish(self) -> None:
        if self.drawn:
            click.echo("\r\x1b[K", err=True, nl=False)
            self.drawn = False


@contextmanager
def _showing_progress(*, silent: bool = False) -> Iterator[ScanProgress]:
    """Progress of long work on the terminal (stderr), while the block runs; none when `silent`
    (--json, --quiet) or when stderr is not a terminal. The line is cleared when the block ends."""
    shown = _TerminalProgress() if sys.stderr.isatty() and not silent else ScanProgress()
    try:
        with progress_of.reporting(shown):
            yield shown
    finally:
        if isinstance(shown, _TerminalProgress):
            shown.finish()


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（各项计数）")
@click.option("--quiet", "-q", is_flag=True, help="不显示进度")
@click.pass_obj
def scan(env: Env, as_json: bool, quiet: bool) -> None:
    """核对一次：把文件夹里的变化登记进目录（新增、修改、移动、删除）。在终端上显示进度。"""
    with _showing_progress(silent=as_json or quiet) as progress:
        try:
            report = env.archive().scan(env.actor, progress=progress)
        except KeyboardInterrupt:
            if isinstance(progress, _TerminalProgress):
                progress.finish()
            show(
                f"已中断：已登记保存 {progress.saved} 个文件（中断时正在处理的一批不算）；"
                "再运行 zhikong scan 会接着登记其余的文件。",
                err=True,
            )
            raise
    if as_json:
        emit_json(report.to_json())
    else:
        _print_report(report)


class _MaskingFormatter(logging.Formatter):
    """watch.log is read by people: the paths it names are masked like every printed line."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_pii(super().format(record))


def _setup_watch_log(system_dir: Path) -> None:
    import logging.handlers  # only `watch` keeps a log file: other commands need not load it

    logs = system_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        logs / "watch.log", maxBytes=5_000_000, backupCount=5, encoding="utf-8"
    )
    handler.setFormatter(_MaskingFormatter("%(asctime)s %(levelname)s %(message)s"))
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
    from zhikong.archive.watcher import WatchOptions

    stop = threading.Event()

    def _stop(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)

    def started(settings: Any) -> None:
        _setup_watch_log(settings.system_dir)
        show(
            f"正在监视 {settings.root}（{'轮询' if poll else '文件事件'}），日志：.zhikong/logs/watch.log。按 Ctrl-C 停止。"
        )

    def on_report(report: ScanReport) -> None:
        if report.touched or report.errors:
            _print_report(report)

    try:
        env.archive().watch(
            env.actor,
            WatchOptions(poll=poll, stable_seconds=stable, rescan_seconds=rescan),
            stop=stop,
            on_report=on_report,
            on_start=started,
        )
    except KeyboardInterrupt:
        stop.set()
    show("已停止监视。")


# -- records ---------------------------------------------------------------------------------------


@cli.command()
@click.argument("path")
@click.option(
    "--category",
    help="类别：通知 签到表 课件 标准文件 督查记录 反馈意见 整改报告 总结 会议纪要 工作计划 其他",
)
@click.option("--activity", callback=_activity_option, help="活动，写成“日期 名称”，如“2026-03-05 院感督导”")
@click.option("--center", "center_name", help="质控中心")
@click.option("--year", type=int, help="年度")
@click.pass_obj
def classify(
    env: Env, path: str, category: str | None, activity: str | None, center_name: str | None, year: int | None
) -> None:
    """手工指定一个文件的类别、活动、中心或年度（记为 manual），检索索引随即更新。"""
    if not any((category, activity, center_name, year)):
        raise click.UsageError("至少指定 --category、--activity、--center、--year 之一。")
    from zhikong.archive.manage import Reclassification

    change = Reclassification(category=category, activity=activity, center=center_name, year=year)
    rec = env.archive().classify(env.actor, path, change, cwd=Path.cwd())
    c = rec.classification
    activity = " ".join(str(part) for part in (c.activity_date, c.activity) if part) or "—"
    show(f"{rec.path}：{c.center or '—'} {c.year or '—'} {activity} {c.category}（manual）")


_STATES = {
    "active": "active", "现存": "active", "在用": "active", "有效": "active", "未删除": "active",
    "deleted": "deleted", "删除": "deleted", "已删除": "deleted", "删掉": "deleted",
}  # fmt: skip


def _state_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """`--state 已删除` as well as `deleted`."""
    if value is None or not value.strip():
        return None
    found = _STATES.get(value.strip().lower())
    if found is None:
        raise click.BadParameter(f"状态只能是 现存（active）或 已删除（deleted）：{value}")
    return found


def _year_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    """`--year 2026`, `2026年`, `今年`, `去年`, `前年` (as `zhikong search 去年…` understands them)."""
    if value is None or not value.strip():
        return None
    text = unicodedata.normalize("NFKC", value).strip().removesuffix("年度").removesuffix("年")
    if text.isdigit() and len(text) == 4:
        return int(text)
    from zhikong.indexer.query import relative_year

    rest, year = relative_year(value.strip(), date.today())
    if year is not None and not rest.strip():
        return year
    raise click.BadParameter(f"年度应写成四位数字（如 2026、2026年）或 今年、去年、前年：{value}")


def _center_option(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """A center the archive has registered; a misspelt one is answered with the registered ones, not with
    an empty list."""
    if value is None or not value.strip():
        return None
    env = ctx.find_object(Env)
    if env is None:
        return value
    try:
        names = env.archive().settings().center_names()
    except ZhikongError:
        return value  # no archive here: the command itself says so
    if value in names:
        return value
    close = [n for n in names if value in n or n in value]
    raise click.BadParameter(
        f"没有登记这个质控中心：{value}"
        + (f"。是不是：{'、'.join(close)}？" if close else "")
        + f"（已登记：{'、'.join(names) or '无'}）"
    )


@cli.command("ls")
@click.option("--center", "center_name", callback=_center_option, help="质控中心")
@click.option("--year", metavar="年度", callback=_year_option, help="年度：2026、2026年、今年、去年")
@click.option("--category", help="类别")
@click.option(
    "--state", metavar="状态", callback=_state_option, help="状态：现存（active）或 已删除（deleted）"
)
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
    result = env.archive().records(env.actor, center=center_name, year=year, category=category, state=state)
    if as_json:
        emit_json(result.to_json())
        return
    for r in result.records:
        c = r.classification
        flags = ("【已删除】" if r.state == RecordState.DELETED else "") + ("【含个人信息】" if r.pii else "")
        show(f"{c.center or '未归类'}  {c.year or '—'}  {c.category:<4}  {r.path}{flags}")
    show(f"共 {len(result.records)} 条")


@cli.command("status")
@click.pass_obj
def status_(env: Env) -> None:
    """按中心和年度汇总各类文件数，并列出需要处理的记录。"""
    result = env.archive().status(env.actor)
    if not result.groups and not result.problems:
        show("目录为空。把文件放进中心文件夹后运行 zhikong scan。")
    for g in result.groups:
        counts = "，".join(f"{k} {v}" for k, v in sorted(g.by_category.items()))
        show(f"{g.center} {g.year or '年度不明'}：{counts or '无'}", bold=True)
        for path, why in g.attention:
            show(f"  ！{path}：{why}", fg="yellow")
    for path, message in result.problems:
        show(f"  ！{path}：{message}", fg="red")


@cli.command("restore")
@click.argument("path")
@click.option(
    "--version",
    "version",
    type=int,
    help="恢复到第几版（默认：文件缺失或与最新登记版本不同时，恢复最新登记的版本）",
)
@click.pass_obj
def restore_(env: Env, path: str, version: int | None) -> None:
    """从保存的副本恢复被删除、被覆盖或损坏的文件；被替换的内容也先另存。"""
    result = env.archive().restore(env.actor, path, cwd=Path.cwd(), version=version)
    show(f"已恢复：{result.record.path}（第 {result.version} 版内容，当前第 {result.record.version} 版）")
    if result.saved_sha256:
        show(f"恢复前的文件内容已另存为副本（sha256 {result.saved_sha256[:12]}…，见 zhikong log）。")


@cli.command("dedupe")
@click.argument("path")
@click.pass_obj
def dedupe(env: Env, path: str) -> None:
    """删去重复的一份：PATH 与文件夹中另一个文件内容完全相同（zhikong check 的 record.duplicate 会列出）。
    仅存的一份不能删；删去的内容仍保留副本，记入审计日志。"""
    done = env.archive().dedupe(env.actor, path, cwd=Path.cwd())
    show(
        f"已删去重复的一份：{done.removed}（保留 {done.kept}；内容副本仍在档案库中，可用 zhikong restore 找回）"
    )


def _day_or_clear_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A day as `_day_option` reads it, as YYYY-MM-DD; "" (clear) stays ""; None when not given."""
    if value is None or not value.strip():
        return value
    return _day_text_option(ctx, param, value)


@cli.command("edit")
@click.argument("path")
@click.option("--title", help='题名（写空字符串 "" 则恢复为从文件读出的）')
@click.option("--date", "doc_date", metavar="日期", callback=_day_or_clear_option, help=f"日期（{_DAY}）")
@click.option("--responsible", help="责任者（发文机关）")
@click.option("--pages", type=int, help="页数（写 0 则恢复为从文件读出的）")
@click.option("--doc-number", help="文号，如 金卫健字〔2026〕3号")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（各项的值及来源）")
@click.pass_obj
def edit(env: Env, path: str, as_json: bool, **fields: Any) -> None:
    """查看或修改一件档案在归档文件目录中的著录项（题名、日期、责任者、页数、文号），按路径或档号指定；
    人工修改的值记入审计日志，重新扫描、重建索引都不会覆盖。不带选项时只显示各项及其来源。"""
    from zhikong.archive.manage import DetailsEdit
    from zhikong.archive.meta import FIELD_LABELS, SOURCE_LABELS

    shown = env.archive().edit_meta(env.actor, path, DetailsEdit(**fields), cwd=Path.cwd())
    if as_json:
        emit_json(shown.to_json())
        return
    r = shown.record
    show(f"{r.path}" + (f"（{r.archival_code}）" if r.archival_code else ""), bold=True)
    for key, label in FIELD_LABELS.items():
        value = getattr(r, key)
        source = shown.sources.get(key)
        show(
            f"  {label}：{value if value is not None else '—'}"
            + (f"（{SOURCE_LABELS[source]}）" if source else "")
        )


@cli.group(invoke_without_command=True)
@click.option("--center", "center_name", help="只看某个中心")
@click.option("--limit", default=50, show_default=True, help="最多显示条数（最新的）")
@click.option("--imported", is_flag=True, help="显示移交时从原挂靠单位带来的审计日志")
@click.option(
    "--json", "as_json", is_flag=True, help="输出 JSON 数组（操作的代号、ISO 8601 时间，供脚本使用）"
)
@click.pass_context
def log(ctx: click.Context, center_name: str | None, limit: int, imported: bool, as_json: bool) -> None:
    """审计日志：每次登记、修改、删除、审批都有记录（谁做的），且前后哈希相连。"""
    if ctx.invoked_subcommand:
        return
    env: Env = ctx.obj
    arc = env.archive()
    if as_json:
        found = (
            arc.imported_log(env.actor, center=center_name)
            if imported
            else arc.log(env.actor, center=center_name, limit=limit)
        )
        emit_json(found.to_json()["entries"])
        return
    if imported:
        for r in arc.imported_log(env.actor, center=center_name).entries:
            shown = (
                "（其他中心的条目，仅保留哈希）"
                if r.redacted
                else f"{audit.label(r.action or '')}  {r.center or ''}  {r.path or ''}"
                + (f"  {r.actor}" if r.actor else "")
            )
            show(f"{r.chain[:8]} {r.seq:>6}  {audit.local_time(r.ts)}  {shown}")
        return
    for e in arc.log(env.actor, center=center_name, limit=limit).entries:
        extra = "，".join(f"{k}={v}" for k, v in e.detail.items() if k not in ("sha256", "previous_sha256"))
        who = f"  操作人：{e.actor}" if e.actor else ""
        when = audit.local_time(e.ts)
        show(f"{e.seq:>6}  {when}  {audit.label(e.action)}  {e.center or ''}  {e.path or ''}  {extra}{who}")


@log.command("verify")
@click.option(
    "--anchor", metavar="序号:哈希", help="此前记下的锚点（zhikong log anchor）：证明日志此后没有被改写"
)
@click.pass_obj
def log_verify(env: Env, anchor: str | None) -> None:
    """校验审计日志：哈希链、与档案目录逐条对照、（可选）与此前记下的锚点对照。"""
    result = env.archive().verify_log(env.actor, anchor=anchor)
    show(f"审计日志完整：共 {result.entries} 条，哈希链校验通过，与档案目录逐条对照一致。")
    if anchor:
        show(f"与锚点 {anchor[:20]}… 对照：日志仍在其后延续，锚点之前没有被改写。")
    if result.head:
        show(f"当前链头（锚点）：{result.head}")
    if result.imported_chains:
        show(
            f"移交带来的审计日志：{result.imported_chains} 条链共 {result.imported_entries} 条，各自校验通过并接续在本库日志上"
            "（zhikong log --imported 查看）。"
        )


@log.command("anchor")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="另存为文本文件，交医政科留存")
@click.pass_obj
def log_anchor(env: Env, out: Path | None) -> None:
    """记下审计日志当前的链头（锚点），交医政科留存；日后用 log verify --anchor 证明日志没有被改写。"""
    a = env.archive().anchor(env.actor)
    lines = [
        f"{a.county} 质控档案库审计日志锚点",
        f"档案库：{a.root}",
        f"记录时间：{a.at}",
        f"日志条数：{a.entries}",
        f"锚点：{a.head}",
        f"核对方法：zhikong log verify --anchor {a.head}",
    ]
    for line in lines:
        show(line)
    if out is not None:
        # UTF-8 with a BOM: Windows Notepad opens it as UTF-8.
        out.write_text(mask_pii("\r\n".join(lines)) + "\r\n", encoding="utf-8-sig")
        show(f"已写出：{out}（请打印或交医政科保存在本机以外）")


@cli.command()
@click.option("--repair", is_flag=True, help="同时修复：清理无引用的副本和临时文件，补正检索索引")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@click.pass_obj
def doctor(env: Env, repair: bool, as_json: bool) -> None:
    """体检：目录、保存的副本、检索索引、文件夹和审计日志相互核对；有问题时退出码为 1。"""
    report = env.archive().doctor(env.actor, repair=repair)
    if as_json:
        emit_json(report.to_json())
    else:
        for line in report.repaired:
            show(f"已修复：{line}", fg="green")
        if report.freed_bytes:
            show(f"释放空间 {report.freed_bytes:,} 字节。")
        for p in report.problems:
            show(f"  ！{p.message}" + (f"（{p.path}）" if p.path else ""), fg="yellow")
        if not report.problems:
            show("体检通过：目录、副本、检索索引、文件夹与审计日志一致。", fg="green")
    if report.problems:
        raise click.exceptions.Exit(int(ExitCode.FINDINGS))


# -- search ----------------------------------------------------------------------------------------


# The activity types as the web's search page names them (zhikong.web.search.TYPE_LABEL).
_TYPE_NAMES = {
    "会议": ActivityType.MEETING,
    "竞赛": ActivityType.COMPETITION,
    "学术交流": ActivityType.EXCHANGE,
    "培训": ActivityType.TRAINING,
    "病例抽查": ActivityType.CASE_REVIEW,
    "督查": ActivityType.INSPECTION,
    "回头看": ActivityType.FOLLOW_UP,
    "专项行动": ActivityType.CAMPAIGN,
    "其他": ActivityType.OTHER,
}


def _activity_type_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """`--type 督查`: an activity type by its Chinese name, a word the classifier knows it by (督导, 例会,
    复查 …) or its code (inspection); anything else is refused, not searched for in vain."""
    if value is None or not value.strip():
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    if text in _TYPE_NAMES:
        return _TYPE_NAMES[text].value
    for kind, words in ACTIVITY_KEYWORDS:
        if text in words:
            return kind.value
    if text.lower() in {t.value for t in ActivityType}:
        return text.lower()
    raise click.BadParameter(f"不认识的活动类型“{value}”。可以写：{'、'.join(_TYPE_NAMES)}")


@cli.command()
@click.argument("query", nargs=-1, required=True)
@click.option("--center", "center_name", callback=_center_option, help="质控中心")
@click.option("--year", metavar="年度", callback=_year_option, help="年度：2026、2026年、今年、去年")
@click.option("--category", help="类别，如 反馈意见")
@click.option(
    "--type",
    "activity_type",
    metavar="类型",
    callback=_activity_type_option,
    help=f"活动类型：{'、'.join(_TYPE_NAMES)}",
)
@click.option("--from", "date_from", metavar="日期", callback=_day_option, help=f"起始日期（{_DAY}）")
@click.option("--to", "date_to", metavar="日期", callback=_day_option, help=f"截止日期（{_DAY}）")
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
    date_from: date | None,
    date_to: date | None,
    limit: int,
    deleted: bool,
    as_json: bool,
) -> None:
    """全文检索，例如：zhikong search 院感 督查 反馈。个人信息在摘要中打码。"""
    from zhikong.indexer.index import SearchFilters

    arc = env.archive()
    filters = SearchFilters(
        center=center_name,
        year=year,
        category=category,
        activity_type=activity_type,
        date_from=date_from,
        date_to=date_to,
        include_deleted=deleted,
    )
    result = arc.search(env.actor, " ".join(query), filters, today=date.today(), limit=limit)
    if as_json:
        emit_json(result.to_json())
        return
    if not result.hits:
        show("没有找到。可以换个说法、减少限定条件，或用 zhikong status 看看文件是否已登记。")
    for i, h in enumerate(result.hits, 1):
        flags = ("【已删除】" if h.state == "deleted" else "") + ("【含个人信息】" if h.pii else "")
        show(f"{i}. {h.title}{flags}", bold=True)
        show(f"   {h.center or '未归类'} · {h.year or '—'} · {h.category} · {h.date or '—'}")
        show(f"   {arc.root / h.path}")
        if h.snippet:
            show("   " + _highlight(h.snippet))


def _highlight(snippet: str) -> str:
    return re.sub(r"【([^【】]*)】", lambda m: click.style(m[1], fg="red", bold=True), snippet)


@cli.command()
@click.option(
    "--reread",
    is_flag=True,
    help="先重新读取此前无法读取或尚未读取文字的文件（装好 LibreOffice 或 OCR 之后用）",
)
@click.option("--quiet", "-q", is_flag=True, help="不显示进度")
@click.pass_obj
def reindex(env: Env, reread: bool, quiet: bool) -> None:
    """从目录中保存的文字重建检索索引（不重新读取文件）。在终端上显示进度。"""
    with _showing_progress(silent=quiet):
        result = env.archive().reindex(env.actor, reread=reread)
    if reread:
        show(f"重新读取了 {len(result.reread)} 个文件的文字。")
    show(f"索引已重建：{result.indexed} 条记录。")


# -- paper register, checks and self-assessment ----------------------------------------------------


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
    planned = env.archive().paper_catalog(
        env.actor,
        center_name,
        year,
        box,
        today=date.today(),
        out=out,
        retention=retention,
        limit=limit,
        compiled_by=compiled_by,
    )
    first, last = planned.first_last
    show(
        f"第 {box} 盒（{center_name} {year} 年，保管期限 {planned.retention}）：{len(planned.records)} 件，"
        f"件号 {first}—{last}，已入盒登记 {planned.filed} 件"
    )
    for r in planned.records:
        show(
            f"  {r.archival_code}  {r.title or Path(r.path).stem}{'' if r.paper_marked_at else '  【待入盒】'}"
        )
    show(f"已写出：{out}")
    if planned.filed < len(planned.records):
        show(
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
    if whole_box == bool(records):
        raise click.UsageError("请给出文件（路径或档号），或使用 --catalog（二者选一）。")
    if whole_box and (center_name is None or year is None):
        raise click.UsageError("--catalog 需要同时给出 --center 和 --year。")
    marked = (
        env.archive()
        .paper_mark(
            env.actor,
            box=box,
            cwd=Path.cwd(),
            refs=records,
            whole_box=(center_name, year) if whole_box and center_name and year else None,
        )
        .records
    )
    for r in marked:
        show(f"已入盒：{r.archival_code}  {r.path}")
    show(f"共 {len(marked)} 件登记在第 {box} 盒。")


@paper.command("add")
@click.option("--center", "center_name", required=True, help="质控中心")
@click.option("--title", required=True, help="题名")
@click.option("--category", required=True, help="类别，如 签到表")
@click.option(
    "--activity", callback=_activity_option, help="所属活动，写成“日期 名称”，如“2026-03-05 院感督导”"
)
@click.option("--year", type=int, help="年度（默认取活动日期的年份）")
@click.option("--date", "doc_date", metavar="日期", callback=_day_option, help=f"文件日期（{_DAY}）")
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
    doc_date: date | None,
    doc_number: str | None,
    responsible: str | None,
    pages: int | None,
    box: int | None,
) -> None:
    """登记只有纸质原件的文件（等待扫描）；扫描件放入文件夹后用 paper link 关联。"""
    from zhikong.archive.paper import PaperItem

    item = PaperItem(
        center_name,
        title,
        category,
        activity=activity,
        year=year,
        doc_date=doc_date,
        doc_number=doc_number,
        responsible=responsible,
        pages=pages,
        box=box,
    )
    rec = env.archive().paper_add(env.actor, item)
    show(f"已登记纸质件：{rec.archival_code}  {rec.path}" + (f"（第 {rec.paper_box} 盒）" if box else ""))
    show(f'扫描后放入文件夹，再运行：zhikong paper link "{rec.path}" 扫描件路径')


@paper.command("link")
@click.argument("paper_record")
@click.argument("scan_path")
@click.pass_obj
def paper_link(env: Env, paper_record: str, scan_path: str) -> None:
    """把扫描件关联到纸质件登记（纸质件的路径或档号），补齐“纸电双留存”。"""
    linked = env.archive().paper_link(env.actor, paper_record, scan_path, cwd=Path.cwd())
    show(f"已关联：{linked.paper.archival_code} {linked.paper.path} ← {linked.scan.path}")


# -- red-header drafts and their approval; rendering templates -------------------------------------


def _document_options(command: Any) -> Any:
    """The options a 通知 and a 请示 share."""
    options = [
        click.option("--center", required=True, help="起草的质控中心"),
        click.option("--title", required=True, help="标题，写成“关于……的通知”（请示：“关于……的请示”）"),
        click.option(
            "--to",
            default="",
            help="主送机关，例如“各镇街卫生院、县直各医疗机构”（末尾“：”可省略）；请示不写即主送县卫生健康局",
        ),
        click.option(
            "--body",
            type=click.Path(path_type=Path, dir_okay=False),
            required=True,
            help="正文：Word 文档（.docx）或纯文本文件（UTF-8 或 GBK）；以 一、（一）1.（1）开头的行自动成为各级标题",
        ),
        click.option("--attach", "attachments", multiple=True, help="附件名称（可多次，按顺序编号）"),
        click.option(
            "--attach-file",
            "attachment_paths",
            multiple=True,
            type=click.Path(path_type=Path, dir_okay=False),
            help="附件文件（可多次，与 --attach 的名称按顺序对应）：批准后与正式文件一起归档",
        ),
        click.option("--cc", multiple=True, help="抄送机关（可多次）"),
        click.option(
            "--date", "day", metavar="日期", callback=_day_option, help=f"成文日期（{_DAY}；默认：批准当天）"
        ),
        click.option("--issuer", default="", help="印发机关（默认：发文机关）"),
        click.option(
            "--activity",
            callback=_activity_option,
            help="所属活动“日期 名称”（如 2026-03-05 院感督导）：批准后归入该活动文件夹（默认：年度/发文/）",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _make_draft(
    env: Env, kind: str, body: Path, signer: str = "", attachment_paths: tuple[Path, ...] = (), **fields: Any
) -> None:
    from zhikong.archive.drafts import DraftRequest, read_body

    arc = env.archive()
    files = []
    for path in attachment_paths:
        try:
            files.append((path.name, path.read_bytes()))
        except OSError as exc:
            raise InputFileError(f"无法读取附件文件：{path}（{exc.strerror or exc}）") from exc
    # the options are named after DraftRequest's fields
    request = DraftRequest(
        body=read_body(body), kind=kind, signed_by=signer, attachment_files=files, **fields
    )
    d = arc.draft(env.actor, request, today=date.today())
    _show_draft(arc, d)


def _show_draft(arc: Archive, d: Any) -> None:
    show(f"已生成送审稿：草稿 {d.id}（{d.state.label}），{d.center}《{d.title}》")
    spec = d.content.spec
    show(
        f"发文机关：{spec.signer}"
        + (f"；主送：{spec.to}" if spec.to else "")
        + (f"；签发人：{spec.signed_by}" if spec.signed_by else "")
    )
    if d.kind == "minutes":
        show(f"批准后编号：{spec.year}年 第N期（{d.center}的纪要期数）")
    else:
        show(f"批准后编号：{spec.doc_prefix}〔{spec.year}〕N号")
    show(f"文件：{arc.root / (d.draft_path or '')}")
    show(f"报医政科审核；批准后运行：zhikong draft approve {d.id} --by 县卫生健康局医政科 --ref 批件号")


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
@click.option("--signer", default="", help="签发人姓名（默认：zhikong.toml 中该中心的主任）")
@click.pass_obj
def draft_request(env: Env, body: Path, signer: str, **fields: Any) -> None:
    """起草中心的请示（上行文）：中心自己的版头和发文代字（zhikong.toml 中该中心的 doc_prefix），主送县卫生健康局，
    签发人为中心主任，一文一事，以“妥否，请批示。”结尾；批准后按中心自己的序号编号，归入中心的“发文”。"""
    _make_draft(env, "request", body, signer, **fields)


def _template_draft_options(kind: str) -> Any:
    """The options a 函 and a 纪要 share: the data file in `render`'s format, the center and the activity."""
    options = [
        click.option("--center", required=True, help="起草的质控中心"),
        click.option(
            "--data",
            "data_file",
            type=click.Path(path_type=Path, dir_okay=False),
            required=True,
            help=f"数据文件（.json 或 .toml，与 zhikong render {kind} 的相同，示例见 templates/examples/{kind}.json）",
        ),
        click.option(
            "--activity",
            callback=_activity_option,
            help="所属活动“日期 名称”（如 2026-03-05 院感督导）：批准后归入该活动文件夹（默认：年度/发文/）",
        ),
    ]

    def decorate(command: Any) -> Any:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def _make_template_draft(
    env: Env, kind: str, center: str, data_file: Path, activity: str | None, bureau: bool = False
) -> None:
    from zhikong.generator.render import load_data

    arc = env.archive()
    d = arc.draft_template(env.actor, kind, load_data(data_file), center=center, activity=activity,
                           bureau=bureau, today=date.today())  # fmt: skip
    _show_draft(arc, d)


@draft.command("letter")
@_template_draft_options("letter")
@click.option("--bureau", is_flag=True, help="以卫健局名义发函，用卫健局的函字号（如 金卫健函〔2026〕N号）")
@click.pass_obj
def draft_letter(env: Env, center: str, data_file: Path, bureau: bool, activity: str | None) -> None:
    """起草函（信函格式）：数据检查同 zhikong render letter，生成标“送审稿”、不编号的函；批准后按中心自己的
    函字号（doc_prefix 加“函”，如 金护质控函〔2026〕1号；--bureau 则为卫健局的）编号，归为“其他”。"""
    _make_template_draft(env, "letter", center, data_file, activity, bureau)


@draft.command("minutes")
@_template_draft_options("minutes")
@click.pass_obj
def draft_minutes(env: Env, center: str, data_file: Path, activity: str | None) -> None:
    """起草会议纪要（纪要格式）：数据检查同 zhikong render minutes，生成标“送审稿”、期数空白的纪要；批准后按
    中心每年的期数编号（第N期），归为“会议纪要”（有 --activity 则归入该活动文件夹）。"""
    _make_template_draft(env, "minutes", center, data_file, activity)


@draft.command("list")
@click.option("--center", "center_name", help="只看某个中心")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON 数组")
@click.pass_obj
def draft_list(env: Env, center_name: str | None, as_json: bool) -> None:
    """列出草稿及状态：草稿、送审、已批准、已退回、已印发。"""
    drafts = env.archive().drafts(env.actor, center=center_name).drafts
    if as_json:
        emit_json([d.to_json() for d in drafts])
        return
    for d in drafts:
        number = d.doc_number or "（未编号）"
        show(f"{d.id:>4}  {d.state.label:<3}  {d.center}  {number}  {d.title}")
        if d.final_path:
            show(f"      归档：{d.final_path}（{d.decided_by}，{audit.local_time(d.decided_at)}）")
        elif d.reason:
            show(f"      退回原因：{d.reason}（{d.decided_by or '—'}，{audit.local_time(d.decided_at)}）")
        elif d.draft_path:
            show(f"      送审稿：{d.draft_path}")
    show(f"共 {len(drafts)} 份")


@draft.command("approve")
@click.argument("draft_id", type=int)
@click.option("--by", required=True, help="批准机关或批准人，例如“县卫生健康局医政科”")
@click.option("--ref", default="", help="批准依据（批件号、会议纪要等）")
@click.option(
    "--number",
    type=click.IntRange(1, 99_999),
    help="卫健局发文系统给的序号（如 12 即 〔年份〕12号）；不填则按本系统的顺序编下一个",
)
@click.pass_obj
def draft_approve(env: Env, draft_id: int, by: str, ref: str, number: int | None) -> None:
    """登记医政科的批准：编发文字号（通知用卫健局的代字和序号，请示用中心自己的），正式文件就是送审的那份文件
    填上字号、去掉送审稿标记，归档（通知归为“通知”，请示作为中心自己的发文归为“其他”）。"""
    d = env.archive().approve(env.actor, draft_id, by=by, ref=ref, today=date.today(), number=number)
    show(f"已批准：草稿 {d.id}《{d.title}》，发文字号 {d.doc_number}")
    show(f"已归档：{d.final_path}（目录记录 {d.record_id}，类别 {d.category}）")
    show(f"  批准的送审稿 sha256 {d.approved_sha256}；正式文件 sha256 {d.final_sha256}")


@draft.command("upload")
@click.argument("draft_id", type=int)
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_obj
def draft_upload(env: Env, draft_id: int, file: Path) -> None:
    """上传在 Word/WPS 中修改过的送审稿（.docx）：只许改文字，红头、发文字号一行、送审稿标记和版面须保持；
    退回的草稿上传修改稿即重新送审。"""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputFileError(f"无法读取文件：{file}（{exc.strerror or exc}）") from exc
    d = env.archive().draft_upload(env.actor, draft_id, data, name=file.name)
    show(f"已保存修改稿：草稿 {d.id}《{d.title}》，状态 {d.state.label}")
    if d.submitted_sha256:
        show(f"  送审稿 sha256 {d.submitted_sha256}（批准时核对）")


@draft.command("submit")
@click.argument("draft_id", type=int)
@click.pass_obj
def draft_submit(env: Env, draft_id: int) -> None:
    """把草稿（或退回后修改好的草稿）送审。"""
    d = env.archive().draft_submit(env.actor, draft_id)
    show(f"已送审：草稿 {d.id}《{d.title}》")


@draft.command("reject")
@click.argument("draft_id", type=int)
@click.option("--reason", required=True, help="退回原因")
@click.option("--by", default="", help="退回机关或经办人")
@click.pass_obj
def draft_reject(env: Env, draft_id: int, reason: str, by: str) -> None:
    """登记退回：草稿不编号，记录原因。"""
    d = env.archive().reject(env.actor, draft_id, reason=reason, by=by)
    show(f"已退回：草稿 {d.id}《{d.title}》，原因：{d.reason}")


@draft.command("issue")
@click.argument("draft_id", type=int)
@click.option("--date", "day", metavar="日期", callback=_day_option, help=f"印发日期（{_DAY}；默认：今天）")
@click.pass_obj
def draft_issue(env: Env, draft_id: int, day: date | None) -> None:
    """登记已印发：批准的公文已印制分发。"""
    d = env.archive().issue(env.actor, draft_id, on=day or date.today())
    show(f"已印发：{d.doc_number}《{d.title}》")


@cli.command("render")
@click.argument("template")
@click.argument("data", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True, help="输出的 .docx")
@click.option(
    "--fonts",
    type=click.Choice(FONT_PROFILES),
    help="字体：gb2312（仿宋_GB2312、楷体_GB2312、方正小标宋简体）或 windows（仿宋、楷体、宋体）；"
    "默认取档案库 zhikong.toml 的 fonts，不在档案库中时为 gb2312",
)
@click.pass_obj
def render_(env: Env, template: str, data: Path, out: Path, fonts: str | None) -> None:
    """按模板生成文档。模板：自带模板名（notice request letter minutes annual_plan summary
    inspection_feedback rectification_notice sign_in）或自己的 .docx；数据文件：.json 或 .toml。"""
    if fonts is None:
        try:
            fonts = env.archive().settings().document_fonts
        except ArchiveNotFound:
            fonts = "gb2312"
    made = Archive.render(env.actor, template, data, out, fonts=fonts)
    if made.draft:
        show(f"已生成：{out}（{made.label}，送审稿，不编号）")
        show(
            "红头公文须经批准才编发文字号：zhikong draft notice / request / letter / minutes 起草送审，批准后自动编号归档。"
        )
    else:
        show(f"已生成：{out}（{made.label}）")


# -- handover (H39): seal, bundle, verify, import ----------------------------------------------------


@cli.group()
def handover() -> None:
    """挂靠单位变更移交（H39）：封存、生成移交包、核验（四性）、导入新挂靠单位的档案库。"""


def _listed(title: str, items: list[str], color: str = "yellow", limit: int = 10) -> None:
    if not items:
        return
    show(f"{title}（{len(items)} 项）：", fg=color)
    for item in items[:limit]:
        show(f"  - {item}")
    if len(items) > limit:
        show(f"  …… 另有 {len(items) - limit} 项")


@handover.command("create")
@click.option("--center", "center_name", required=True, help="移交的质控中心")
@click.option("--to", "to_host", required=True, help="新的挂靠单位，例如 金乡县中医院")
@click.option(
    "--as-of",
    "as_of",
    metavar="日期",
    callback=_day_option,
    help=f"交接日期（{_DAY}；默认：今天），写入交接书和 bag-info.txt",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="移交包位置：一个尚不存在的文件夹，或以 .zip 结尾的文件",
)
@click.option("--processes", default=2, show_default=True, help="计算校验和的进程数")
@click.option(
    "--sign-key",
    type=click.Path(path_type=Path),
    help="用本单位的签名私钥（handover keygen 生成）对移交包指纹签名",
)
@click.pass_obj
def handover_create(
    env: Env,
    center_name: str,
    to_host: str,
    as_of: date | None,
    out: Path,
    processes: int,
    sign_key: Path | None,
) -> None:
    """先核对文件夹，再封存该中心，生成 BagIt 移交包（含移交清单、交接书、封存记录、PDF 汇编）。
    在终端上显示进度。"""
    with _showing_progress():
        done = env.archive().handover_create(
            env.actor,
            center=center_name,
            to_host=to_host,
            out=out,
            as_of=as_of or date.today(),
            processes=processes,
            sign_key=sign_key,
        )
    _print_report(done.scan, verbose=False)
    result = done.bundle
    ready = result.readiness
    if not ready.empty:
        show("以下事项尚未就绪（已如实写入移交包，请在交接书中注明）：", fg="yellow", bold=True)
        _listed("无法读取的文件", ready.unreadable)
        _listed("纸质原件尚未入盒", ready.unboxed)
        _listed("未决的公文送审稿", ready.open_drafts)
        _listed("归到本中心但不在中心文件夹内（未移交）", ready.outside)
        _listed("文件名不是有效编码（未移交，请改名后重做）", ready.untransferable, color="red")
    _listed("文件名仅大小写或 Unicode 形式不同（Windows 上会互相覆盖），包内另存为", ready.renamed)
    if ready.renamed:
        show("    （原名保存在目录中，接收单位导入时自动恢复；文件系统不允许时保留包内名称）")
    show(
        f"已封存：{result.center}，自 {audit.local_time(result.seal.sealed_at)} 起其文件夹的变动都会被报告。"
    )
    show(f"移交包：{result.bundle}", bold=True)
    show(
        f"  {result.from_host} → {result.to_host}；目录记录 {result.records} 条，电子文件 {result.record_files} 个；"
        f"包内文件 {result.files} 个，共 {result.bytes:,} 字节"
    )
    show(f"  移交包指纹：{_grouped(result.fingerprint)}", bold=True)
    show("    （已印在交接书和移交清单上；接收单位核验时用 --fingerprint 输入，与签字盖章的纸质文书对照）")
    if result.audit_head:
        show(f"  审计日志链头：{result.audit_head}")
    if result.key_id:
        show(f"  已用密钥 {result.key_id} 签名（接收单位用医政科登记的公钥 --public-key 核对）")
    show(f"  PDF 汇编 {result.pdf_pages} 页（按年度、类别加书签）")
    _listed("未能并入 PDF 汇编", [f"{t}：{why}" for t, why in result.pdf_skipped])
    if result.pii:
        _listed(
            "含个人信息的文件（只列位置和数量；移交后须按 H27、H28 保管）",
            [
                f"{p.path}：身份证号 {p.id_cards} 处，手机号 {p.mobiles} 处，病案号等 {p.record_nos} 处"
                for p in result.pii
            ],
        )
    else:
        show("  未发现身份证号或手机号。")
    show(f"下一步：接收单位运行 zhikong handover verify {result.bundle} --fingerprint 交接书上的指纹")


_FINGERPRINT_HELP = (
    "交接书、移交清单上印的移交包指纹（64 位十六进制，空格可有可无）：证明移交包未在签字后被改动或调换"
)
_PUBLIC_KEY_HELP = "原挂靠单位在医政科登记的签名公钥（…-公钥.pem），用来核对移交包的签名"


def _grouped(value: str) -> str:
    return " ".join(value[i : i + 8] for i in range(0, len(value), 8))


@handover.command("verify")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--processes", default=2, show_default=True, help="计算校验和的进程数")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@click.option("--fingerprint", help=_FINGERPRINT_HELP)
@click.option("--public-key", type=click.Path(path_type=Path), help=_PUBLIC_KEY_HELP)
@click.pass_obj
def handover_verify(
    env: Env, bundle: Path, processes: int, as_json: bool, fingerprint: str | None, public_key: Path | None
) -> None:
    """核验移交包：逐个重算校验和，按 DA/T 70-2018 检查真实性、完整性、可用性、安全性，并用交接书上的指纹
    （--fingerprint）或原挂靠单位的公钥（--public-key）核对来源。"""
    with _showing_progress(silent=as_json):
        report = Archive.handover_verify(
            env.actor, bundle, processes=processes, fingerprint=fingerprint, public_key=public_key
        )
    if as_json:
        emit_json(report.to_json())
    else:
        show(
            f"{report.center or '（未知中心）'}：{report.from_host or '?'} → {report.to_host or '?'}；"
            f"目录记录 {report.records} 条，电子文件 {report.record_files} 个，包内文件 {report.files} 个，"
            f"{report.bytes:,} 字节"
        )
        if report.fingerprint:
            show(f"  移交包指纹：{_grouped(report.fingerprint)}（来源：{report.origin.label}）")
        if report.audit_head:
            show(f"  审计日志链头：{report.audit_head}")
        fatal = {id(p) for p in report.problems}
        for name, found in report.by_property().items():
            bad = [p for p in found if id(p) in fatal]
            if bad:
                show(f"  {name}：{len(bad)} 项问题", fg="red")
            elif found:
                show(f"  {name}：通过，{len(found)} 项提示", fg="yellow")
            else:
                show(f"  {name}：通过", fg="green")
        for p in report.warnings:
            show(f"  提示：{p.message}" + (f"（{p.path}）" if p.path else ""), fg="yellow")
    if report.problems:
        raise VerificationError(
            "移交包核验未通过：", report.problems, hint="不要导入；请向移交单位核实并重新移交。"
        )
    if not as_json:
        show("核验通过：每个文件的 sha256 和 sha512 都已重算并与清单一致。")


@handover.command("import")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--processes", default=2, show_default=True, help="计算校验和的进程数")
@click.option("--fingerprint", help=_FINGERPRINT_HELP)
@click.option("--public-key", type=click.Path(path_type=Path), help=_PUBLIC_KEY_HELP)
@click.pass_obj
def handover_import(
    env: Env, bundle: Path, processes: int, fingerprint: str | None, public_key: Path | None
) -> None:
    """先核验（含 --fingerprint/--public-key 核对来源），再把移交包里的中心并入新挂靠单位的档案库
    （--root；不是档案库的空目录会新建）。"""
    root = env.root_option.expanduser().resolve() if env.root_option else env.root()
    with _showing_progress():
        done = Archive.handover_import(
            env.actor, root, bundle, processes=processes, fingerprint=fingerprint, public_key=public_key
        )
    result, report = done.imported, done.scan
    if result.created_archive:
        show(f"已按移交包的设置新建档案库：{result.root}")
    if result.origin.value == "unchecked":
        show(
            "注意：没有用 --fingerprint（交接书上的指纹）或 --public-key 核对来源，导入的移交包只证明自身一致。",
            fg="yellow",
        )
    else:
        show(f"来源核对：{result.origin.label}")
    for n in result.numbers:
        if n.proven:
            show(f"发文字号：{n.prefix}〔{n.year}〕计数至少为 {n.proven}（由移交包中已批准的公文证明）")
    _listed(
        "本机文件系统不区分大小写或 Unicode 形式，以下文件保留包内名称（原名记在审计日志）",
        result.kept_bag_names,
    )
    show(f"索引已重建：{done.indexed} 条记录。")
    show(
        f"已导入：{result.center}，{result.from_host} → {result.to_host}；目录记录 {result.records} 条，"
        f"电子文件 {result.record_files} 个（{result.bytes:,} 字节），审计日志 {result.audit_entries} 条",
        bold=True,
    )
    if report.touched or report.errors:
        show("导入后核对发现文件夹与目录不一致：", fg="red")
        _print_report(report)
    else:
        show(
            f"导入后核对：文件夹与目录一致（{report.unchanged} 个文件未变）；本库现有记录 {done.records_present} 条。"
        )
    show("挂靠单位变更已登记（zhikong.toml 和 host_changes），检索索引已重建。")


@handover.command("keygen")
@click.option("--host", required=True, help="本单位（挂靠单位）名称，用作密钥文件名")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("."),
    show_default=True,
    help="写入密钥的目录",
)
@click.pass_obj
def handover_keygen(env: Env, host: str, out: Path) -> None:
    """生成移交包签名密钥（Ed25519）：私钥本单位妥善保管，公钥交医政科登记。"""
    pair = Archive.handover_keygen(env.actor, out, host)
    show(f"私钥：{pair.private}（只有本单位保管，用于 handover create --sign-key）")
    show(f"公钥：{pair.public}（交医政科登记，接收单位核验时用 --public-key）")
    show(f"密钥编号：{pair.key_id}（登记时一并记下）", bold=True)


@handover.command("status")
@click.option("--center", "center_name", help="只看某个中心")
@click.pass_obj
def handover_status(env: Env, center_name: str | None) -> None:
    """封存与挂靠单位变更记录，以及封存后中心文件夹里的变动（record.after_seal）。"""
    result = env.archive().handover_status(env.actor, center=center_name)
    if not result.seals and not result.host_changes:
        show("没有封存或移交记录。")
    for s in result.seals:
        state = f"已解除于 {audit.local_time(s.released_at)}" if s.released_at else "封存中"
        show(
            f"封存：{s.center} 自 {audit.local_time(s.sealed_at)}（移交给 {s.to_host}，{state}）移交包 {s.bundle or '未生成'}"
        )
    for h in result.host_changes:
        show(f"挂靠单位变更：{h.center} {h.from_host or '—'} → {h.to_host}（{h.at}）{h.note or ''}")
    for f in result.findings:
        show(f"  ！{f.rule} {f.center}：{f.message}", fg="yellow")
    if result.findings:
        raise click.exceptions.Exit(int(ExitCode.FINDINGS))


@handover.command("release")
@click.option("--center", "center_name", required=True, help="质控中心")
@click.option("--reason", required=True, help="解除原因，例如“移交取消，经医政科同意”")
@click.pass_obj
def handover_release(env: Env, center_name: str, reason: str) -> None:
    """解除封存（移交取消时使用）；原因写入审计日志。"""
    released = env.archive().handover_release(env.actor, center=center_name, reason=reason)
    show(
        f"已解除封存：{released.center}（封存于 {audit.local_time(released.sealed_at)}，解除于 {audit.local_time(released.released_at)}）"
    )


def _print_findings(report: CheckReport) -> None:
    show(f"检查日期 {report.as_of.isoformat()}，规则集 {report.rules}")
    for group, findings in report.by_center().items():
        show(f"{group}：{len(findings)} 项", bold=True)
        for f in findings:
            show(
                f"  [{f.year or '—'}] {f.rule}（{f.article}，第{f.item}项扣 {f.cost:g} 分）{f.message}",
                fg="yellow",
            )
            for p in f.paths[:5]:
                show(f"      {p}")
            if len(f.paths) > 5:
                show(f"      ……共 {len(f.paths)} 个文件")
    if not report.findings:
        show("未发现问题。", fg="green")
    if report.upcoming:
        show(f"提醒（{report.within} 天内到期，尚未完成；不算问题）：", bold=True)
        for u in report.upcoming:
            show(f"  {u.center} {u.year}：{u.message}")


def _print_sheet(sheet: ScoreSheet) -> None:
    show(
        f"{sheet.center} {sheet.year} 年度 自查（{sheet.as_of.isoformat()}，规则集 {sheet.rules}）", bold=True
    )
    for it in sheet.items:
        got = "局评" if it.score is None else f"{it.score:g}"
        show(f"  {it.no:>2}. {it.name}（{it.max:g}分）：{got}  {it.basis}")
        for p in it.paths[:3]:
            show(f"        {p}")
    show(
        f"自查得分 {sheet.self_total:g} / {sheet.self_max:g}；预计总分 {sheet.projected:g}（局评项目按满分预计），"
        f"预计等次：{sheet.tier}",
        bold=True,
    )
    if sheet.to_earn:
        show(f"尚未到期、尚未完成的事项还可得 {sheet.to_earn:g} 分（期限见各项）。")


@cli.command()
@click.option("--center", "center_name", help="只检查某个中心")
@click.option("--year", metavar="年度", callback=_year_option, help="只检查某个年度（2026、今年、去年）")
@click.option(
    "--as-of",
    "as_of",
    metavar="日期",
    callback=_day_option,
    help=f"按哪一天检查（{_DAY}；默认今天；未到期的不算问题）",
)
@click.option(
    "--within",
    type=click.IntRange(0, 366),
    metavar="天数",
    help="提醒多少天内到期的事项（默认取 zhikong.toml 的 remind_days，未设为 30）",
)
@click.option("--json", "as_json", is_flag=True, help='输出 JSON：{"findings": 问题, "reminders": 提醒}')
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="另存检查报告 .docx 或 .xlsx")
@click.pass_obj
def check(
    env: Env,
    center_name: str | None,
    year: int | None,
    as_of: date | None,
    within: int | None,
    as_json: bool,
    out: Path | None,
) -> None:
    """合规检查：按管理办法逐条检查各中心各年度的档案，列出会扣分的问题（每条注明扣几分），另列即将到期的
    提醒（不算问题）。有问题时退出码为 1。"""
    report = env.archive().check(
        env.actor, as_of=as_of or date.today(), center=center_name, year=year, out=out, within=within
    )
    if as_json:
        emit_json(report.to_json_with_reminders())
    else:
        _print_findings(report)
        if out is not None:
            show(f"已写出：{out}")
    if report.findings:
        raise click.exceptions.Exit(int(ExitCode.FINDINGS))


@cli.command()
@click.option("--center", "center_name", help="质控中心（与 --all 二选一）")
@click.option(
    "--year",
    metavar="年度",
    callback=_year_option,
    help="考核年度（2026、今年、去年；默认：检查日期所在年度）",
)
@click.option(
    "--as-of", "as_of", metavar="日期", callback=_day_option, help=f"按哪一天自查（{_DAY}；默认今天）"
)
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
    as_of: date | None,
    all_centers: bool,
    as_json: bool,
    out: Path | None,
) -> None:
    """自查得分：按考核评分表逐项打分，每项注明依据的文件；局评项目留给卫健局。"""
    if all_centers == bool(center_name):
        raise click.UsageError("请用 --center 指定中心，或用 --all 计算全县排名（二者选一）。")
    when = as_of or date.today()
    the_year = year or when.year
    arc = env.archive()
    if all_centers:
        ranking = arc.rank(env.actor, year=the_year, as_of=when, out=out)
        if as_json:
            emit_json(ranking.to_json())
            return
        show(f"{the_year} 年度全县排名（规则集 {ranking.rules}，局评项目按满分预计）")
        for r in ranking.rows:
            points = "—" if r.ranking_points is None else f"{r.ranking_points:g}"
            show(
                f"  {r.rank:>2}. {r.center}  预计 {r.total:g} 分（第19项 {points}）"
                f"  按分数线：{r.tier_by_score}  按比例：{r.tier}"
            )
        if out is not None:
            show(f"已写出：{out}")
        return
    assert center_name is not None
    sheet = arc.score(env.actor, center=center_name, year=the_year, as_of=when, out=out)
    if as_json:
        emit_json(sheet.to_json())
        return
    _print_sheet(sheet)
    if out is not None:
        show(f"已写出：{out}")


# -- backups ---------------------------------------------------------------------------------------


class _BackupGroup(click.Group):
    """`zhikong backup DEST` is `zhikong backup create DEST` (a folder named like a subcommand: ./verify)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["create", *args]
        return super().parse_args(ctx, args)


@cli.group(cls=_BackupGroup)
def backup() -> None:
    """备份：zhikong backup 备份位置（即 backup create，档案库运行时也可以备份）；backup verify 核对；
    backup restore 恢复到新的空文件夹。"""


@backup.command("create")
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@click.pass_obj
def backup_create(env: Env, dest: Path, as_json: bool) -> None:
    """备份到备份位置（新的或空的文件夹；已有的备份文件夹则只补新增的）：目录数据库、全部文件副本、文件夹、设置。"""
    result = env.archive().backup(env.actor, dest)
    if as_json:
        emit_json(result.to_json())
    else:
        show(f"已备份到 {result.dest}（{audit.local_time(result.created_at)}）", bold=True)
        show(
            f"  目录记录 {result.records} 条，版本 {result.versions} 个；数据库：{'、'.join(result.databases)}"
        )
        show(
            f"  文件副本 {result.objects} 个，本次新复制 {result.objects_copied} 个（{result.bytes_copied:,} 字节），"
            "其余已在备份中"
        )
        show(f"  文件夹中的文件 {result.folder_files} 个（含 zhikong.toml）")
        if result.audit_head:
            show(f"  审计日志链头：{result.audit_head}")
        for w in result.warnings:
            show(f"  ！{w}", fg="yellow")
        show(
            f"核对：zhikong backup verify {result.dest}；恢复：zhikong backup restore {result.dest} 新的空文件夹"
        )
    if result.warnings:
        raise click.exceptions.Exit(int(ExitCode.FINDINGS))


@backup.command("verify")
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@click.pass_obj
def backup_verify(env: Env, dest: Path, as_json: bool) -> None:
    """核对备份：清单、数据库完整性、审计日志（与目录逐条对照）、每个文件副本的 sha256。"""
    report = Archive.backup_verify(env.actor, dest)
    if as_json:
        emit_json(report.to_json())
    elif report.created_at:
        show(
            f"备份 {report.dest}：{audit.local_time(report.created_at)} 备份自 {report.source}；目录记录 {report.records} 条，"
            f"文件副本 {report.objects} 个（{report.bytes:,} 字节），文件夹中的文件 {report.folder_files} 个"
        )
        if report.audit_head:
            show(f"  审计日志链头：{report.audit_head}")
        for w in report.warnings:
            show(f"  备份时的提示：{w}", fg="yellow")
    if report.problems:
        raise VerificationError(
            "备份核对未通过：", list(report.problems), hint="这份备份不能用于恢复；请重新备份到新的文件夹。"
        )
    if not as_json:
        show(
            "核对通过：数据库副本完整，审计日志校验通过并与目录一致，每个文件副本的 sha256 都与名称相符。",
            fg="green",
        )


@backup.command("restore")
@click.argument("dest", type=click.Path(path_type=Path))
@click.argument("target", type=click.Path(path_type=Path))
@click.pass_obj
def backup_restore(env: Env, dest: Path, target: Path) -> None:
    """先核对备份位置中的备份，再在恢复位置（新的或空的文件夹）恢复出完整的档案库，并重建检索索引。"""
    done = Archive.backup_restore(env.actor, dest, target)
    r = done.restored
    show(f"已恢复到 {r.target}", bold=True)
    show(f"  备份时间 {audit.local_time(r.created_at)}，备份自 {r.source}")
    show(f"  目录记录 {r.records} 条，文件夹中的文件 {r.files} 个，文件副本 {r.objects} 个")
    show(f"  检索索引已重建：{done.indexed} 条记录。")
    if r.audit_head:
        show(f"  审计日志接续备份时的链头 {r.audit_head}，恢复本身已记入日志。")
    for w in r.warnings:
        show(f"  ！{w}", fg="yellow")
    show(f"下一步：zhikong --root {r.target} log verify；再 zhikong --root {r.target} scan 核对文件夹。")


# -- the demo --------------------------------------------------------------------------------------


# -- accounts and the web server ---------------------------------------------------------------------

_ROLES = ("admin", "bureau", "director", "secretary")


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = click.prompt("新密码（至少 8 个字符）", hide_input=True, prompt_suffix="：")
    again = click.prompt("再输入一次", hide_input=True, prompt_suffix="：")
    if first != again:
        raise click.UsageError("两次输入的密码不一致，没有修改。")
    return str(first)


@cli.group()
def user() -> None:
    """网页端账户：新建、查看、改密码、停用（每次变动记入审计日志）。"""


@user.command("add")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    type=click.Choice(_ROLES),
    help="角色：admin 管理员、bureau 医政科、director 主任、secretary 秘书",
)
@click.option("--center", "centers", multiple=True, help="所属质控中心（主任、秘书必填，可多次）")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码（一行），供脚本使用")
@click.pass_obj
def user_add(env: Env, name: str, role: str, centers: tuple[str, ...], password_stdin: bool) -> None:
    """新建网页端账户。"""
    arc = env.archive()
    account = arc.user_add(
        env.actor, name, role=role, centers=centers, password=_new_password(password_stdin)
    )
    scope = "、".join(account.centers) or "全部中心"
    show(f"已新建账户：{account.name}（{account.role.label}，{scope}）")


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON 数组")
@click.pass_obj
def user_list(env: Env, as_json: bool) -> None:
    """列出网页端账户。"""
    result = env.archive().users(env.actor)
    if as_json:
        emit_json(result.to_json())
        return
    if not result.accounts:
        show("还没有账户。先新建管理员：zhikong user add 姓名 --role admin")
    for a in result.accounts:
        state = "" if a.active else "【已停用】"
        show(f"{a.name}  {a.role.label}  {'、'.join(a.centers) or '全部中心'}  建于 {a.created}{state}")


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取新密码（一行）")
@click.pass_obj
def user_passwd(env: Env, name: str, password_stdin: bool) -> None:
    """修改账户的密码；用旧密码的登录随即失效。"""
    account = env.archive().user_passwd(env.actor, name, _new_password(password_stdin))
    show(f"已修改 {account.name} 的密码。")


@user.command("disable")
@click.argument("name")
@click.pass_obj
def user_disable(env: Env, name: str) -> None:
    """停用账户：不能再登录，已登录的会话和 API 令牌一并失效。"""
    account = env.archive().user_disable(env.actor, name)
    show(f"已停用账户：{account.name}")


@cli.group()
def token() -> None:
    """JSON API 的访问令牌。"""


@token.command("create")
@click.argument("name")
@click.pass_obj
def token_create(env: Env, name: str) -> None:
    """为账户生成一个 API 令牌（只显示这一次；系统只保存它的哈希）。"""
    made = env.archive().token_create(env.actor, name)
    show(f"{made.account.name} 的 API 令牌（只显示这一次，请妥善保存）：")
    click.echo(made.token)
    show("使用方法：请求头 Authorization: Bearer 令牌")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址（让局域网访问用 0.0.0.0）")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="端口")
@click.option("--poll", is_flag=True, help="监视用轮询模式（网络共享盘收不到文件事件时使用）")
@click.pass_obj
def serve(env: Env, host: str, port: int, poll: bool) -> None:
    """启动网页端（浏览器访问档案库）并同时监视档案库。Ctrl-C 停止。"""

    def ready(url: str) -> None:
        show(f"网页端已启动：{url}（同时监视档案库），日志：.zhikong/logs/serve.log。按 Ctrl-C 停止。")

    _serve(env.archive(), env.actor, host=host, port=port, poll=poll, on_ready=ready)


def _serve(
    arc: Archive, actor: str, *, host: str, port: int, poll: bool, on_ready: Callable[[str], None]
) -> None:
    """What `zhikong serve` and `zhikong demo --serve` share: check the settings and the administrator, serve
    until Ctrl-C or SIGTERM."""
    from zhikong.archive.watcher import WatchOptions
    from zhikong.errors import SettingsError
    from zhikong.web.config import load_web_settings
    from zhikong.web.server import serve as run_server

    web = load_web_settings(arc.root)  # zhikong.toml's [web]: a wrong value stops here, in Chinese
    if not arc.has_admin():
        raise SettingsError(
            "还没有管理员账户，网页端没有启动。",
            hint="先新建一个管理员：zhikong user add 姓名 --role admin（按提示输入两次密码），再运行 zhikong serve。",
        )

    def _stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)

    def ready(url: str) -> None:
        on_ready(url)
        sys.stdout.flush()  # a service manager or a pipe reads the address and the accounts right away

    run_server(arc, actor, host=host, port=port, watch=WatchOptions(poll=poll), on_ready=ready, web=web)
    show("网页端已停止。")


@cli.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--dir",
    "dir_option",
    type=click.Path(path_type=Path, file_okay=False),
    help="示例目录（默认：新建临时目录）",
)
@click.option(
    "--serve", "then_serve", is_flag=True, help="演示后为每种角色建一个账户，在浏览器里打开示例档案库"
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="--serve 的端口（只监听本机）",
)
@click.pass_context
def demo(
    ctx: click.Context, directory: Path | None, dir_option: Path | None, then_serve: bool, port: int
) -> None:
    """用示例档案演示主要流程：建库、登记、归档、检索、检查、起草通知、移交；加 --serve 再用浏览器看。"""
    from zhikong.archive.demo import DEMO_CENTERS, build_sample_archive

    if directory is not None and dir_option is not None and directory != dir_option:
        raise click.UsageError("示例目录只能指定一个：DIR 或 --dir。")
    directory = directory or dir_option
    base = directory or Path(tempfile.mkdtemp(prefix="zhikong-demo-"))
    root, outputs = base / "档案库", base / "输出"
    bundle, new_root = base / "护理质控中心移交包", base / "新挂靠单位档案库"
    taken = [p for p in (root, outputs, bundle, new_root) if p.exists()]
    if taken:
        raise click.UsageError(f"{taken[0]} 已存在；请指定一个新的空目录。")
    actor = ctx.obj.actor
    year = date.today().year
    today = date.today()
    steps = iter(range(1, 100))

    def step(title: str) -> None:
        show(f"\n== {next(steps)}. {title} ==", fg="cyan", bold=True)

    def on(archive_root: Path) -> None:
        ctx.obj = Env(archive_root, ctx.obj.actor_option)

    show(f"示例目录：{base}（档案库、输出、移交包、新挂靠单位档案库都在这里）")
    step("新建档案库并登记两个质控中心")
    arc = Archive.init(
        actor, root, county="金乡县", bureau="金乡县卫生健康局", doc_prefix="金卫健字", fonds="Z109"
    )
    for c in DEMO_CENTERS:
        arc.add_center(actor, c, today=today)
        show(f"已登记：{c.name}（{c.code}），挂靠 {c.host}")
    step("秘书把一年的文件放进中心文件夹")
    made = build_sample_archive(root, year)
    show(f"放入 {len(made)} 个文件（.docx .pdf .pptx .xlsx）到 {root}")
    step("zhikong scan：登记、保存副本、归类")
    on(root)
    _print_report(arc.scan(actor), verbose=False)
    step("zhikong status：各中心文件概况与需处理事项")
    ctx.invoke(status_)
    step("zhikong search 院感 督查 反馈：全文检索（个人信息打码）")
    ctx.invoke(search, query=("院感", "督查", "反馈"), limit=3)
    step("zhikong search 质量控制 跌倒：缩写与全称互通")
    ctx.invoke(search, query=("质量控制", "跌倒"), limit=3)
    step("zhikong paper / check / score：纸质件入盒，检查会扣分的问题，自查得分")
    outputs.mkdir(parents=True)
    box = arc.paper_catalog(
        actor, "护理质控中心", year, 1, today=today, out=outputs / "护理第1盒归档文件目录.docx"
    )
    arc.paper_mark(actor, box=1, cwd=root, refs=[r.path for r in box.records])
    show(f"护理质控中心第 1 盒（{box.retention}）：{len(box.records)} 件已登记入盒，目录见 {outputs}")
    checked = arc.check(actor, as_of=today, year=year, out=outputs / "检查报告.docx")
    sheet = arc.score(
        actor, center="护理质控中心", year=year, as_of=today, out=outputs / "护理质控中心考核评分表.docx"
    )
    _print_findings(checked)
    _print_sheet(sheet)
    step("zhikong draft notice / list / approve：起草通知送审稿，医政科批准后编发文字号并归档")
    from zhikong.archive.drafts import DraftRequest

    drafted = arc.draft(
        actor,
        DraftRequest(
            "护理质控中心",
            f"关于召开{year}年第二次护理质控工作会议的通知",
            "各镇街卫生院、县直各医疗机构",
            "经研究，决定召开护理质控工作会议。现将有关事项通知如下：\n"
            "一、会议时间\n（一）时间。7月10日上午9:00。\n二、参会人员\n各医疗机构护理部主任。",
            attachments=("会议议程",),
            cc=("县护理质控中心",),
        ),
        today=today,
    )
    show(f"送审稿（无发文字号、标“送审稿”）：{drafted.draft_path}")
    ctx.invoke(draft_list)
    ctx.invoke(draft_approve, draft_id=drafted.id, by="县卫生健康局医政科", ref="医政科审批单 1")
    step("zhikong handover create / verify / import：护理质控中心改挂靠金乡县中医院（H39）")
    created = arc.handover_create(
        actor, center="护理质控中心", to_host="金乡县中医院", out=bundle, as_of=today
    ).bundle
    old_records = {(r.path, r.sha256) for r in arc.records(actor, center="护理质控中心").records}
    show(f"已封存并生成移交包：{created.bundle}（{created.files} 个文件，{created.bytes:,} 字节）")
    show(f"含个人信息的文件 {len(created.pii)} 个（只列位置和数量）")
    show(f"移交包指纹（印在交接书和移交清单上）：{_grouped(created.fingerprint)}")
    verified = Archive.handover_verify(actor, bundle, fingerprint=created.fingerprint)
    if verified.problems:
        raise VerificationError("移交包核验未通过：", verified.problems)
    show(f"核验通过：真实性、完整性、可用性、安全性；{verified.origin.label}")
    imported = Archive.handover_import(actor, new_root, bundle, fingerprint=created.fingerprint)
    new_arc = Archive.open(new_root)
    new_records = {(r.path, r.sha256) for r in new_arc.records(actor, center="护理质控中心").records}
    show(
        f"已导入新挂靠单位的档案库 {new_root}：目录记录 {imported.imported.records} 条；"
        f"原库 {len(old_records)} 条，新库 {len(new_records)} 条，路径与 sha256 "
        + ("完全一致" if new_records == old_records else "不一致！")
    )
    show(f"索引已重建：{imported.indexed} 条记录。")
    on(new_root)
    ctx.invoke(search, query=("跌倒", "评估"), limit=1)
    ctx.invoke(log_verify)
    on(root)
    step("zhikong log verify：审计日志")
    ctx.invoke(log_verify)
    show(f"\n示例档案库在：{root}", bold=True)
    if not then_serve:
        show(f"可以继续试：zhikong --root {root} ls；在浏览器里看：zhikong demo --serve")
        return
    step("zhikong user add / serve：每种角色一个账户，用浏览器打开示例档案库")
    _demo_serve(arc, actor, port)


def _demo_serve(arc: Archive, actor: str, port: int) -> None:
    """One account per role with a fresh strong password, a table of them, then `zhikong serve` on 127.0.0.1."""
    from zhikong.archive.demo import DEMO_ACCOUNTS, strong_password

    made = []
    for a in DEMO_ACCOUNTS:
        password = strong_password()
        account = arc.user_add(actor, a.name, role=a.role, centers=a.centers, password=password)
        made.append((account.name, account.role.label, "、".join(account.centers) or "全部中心", password))

    def ready(url: str) -> None:
        show(f"网页端已启动：{url}（同时监视示例档案库），日志：.zhikong/logs/serve.log。", bold=True)
        show(f"用浏览器打开 {url} ，用下面任一账户登录（密码只显示这一次；只有本机能访问）：")
        # Printed as is: a password must not pass through the personal-data mask of `show`.
        rows = [("地址", "账户", "角色", "中心", "密码"), *((url, *m) for m in made)]
        widths = _widths(rows)
        for row in rows:
            click.echo("  " + "  ".join(_cell(t, w) for t, w in zip(row, widths, strict=True)).rstrip())
        show("秘书和主任只看到自己的中心，医政科和管理员看到全部中心。按 Ctrl-C 停止。")

    _serve(arc, actor, host="127.0.0.1", port=port, poll=False, on_ready=ready)


def _width(text: str) -> int:
    """Columns a text takes in a terminal: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _widths(rows: Sequence[Sequence[str]]) -> list[int]:
    return [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]


def _cell(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


# The names of the arguments in the usage lines and their errors (`zhikong draft approve 送审稿编号`,
# "缺少参数 '名称'"); the values of options are named by their types (zhikong.clitext.localize).
_ARGUMENTS = {
    "bundle": "移交包",
    "data": "数据文件",
    "dest": "备份位置",
    "directory": "目录",
    "draft_id": "送审稿编号",
    "file": "文件",
    "name": "名称",
    "paper_record": "纸质件",
    "path": "路径",
    "query": "检索词",
    "records": "文件或档号",
    "root": "档案库目录",
    "scan_path": "扫描件路径",
    "target": "恢复位置",
    "template": "模板",
}
clitext.localize(cli, _ARGUMENTS)


def main() -> None:
    clitext.activate()
    cli(prog_name="zhikong")


if __name__ == "__main__":
    main()
