"""A user's hand on the catalogue: manual classification, restoring preserved copies, the status overview."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

from zhikong.archive import audit
from zhikong.archive.catalogue import Catalogue, Record, RecordState
from zhikong.archive.convention import UNCLASSIFIED, Source, activity_type_of, check_category, parse_activity
from zhikong.archive.ingest import Reconciler
from zhikong.archive.preserve import ObjectStore, sha256_file
from zhikong.archive.settings import Settings
from zhikong.errors import ConflictError, InputFileError, NotFound
from zhikong.generator.docnumber import check_doc_number
from zhikong.textcheck import strip_unsafe


def resolve_record(settings: Settings, cat: Catalogue, given: str, cwd: Path) -> Record:
    """A record named by a path as the user typed it (relative to cwd or the root, or absolute)."""
    candidates = []
    p = Path(given)
    for base in ((cwd,) if not p.is_absolute() else ()) + (settings.root,):
        full = (base / p) if not p.is_absolute() else p
        try:
            candidates.append(full.resolve().relative_to(settings.root).as_posix())
        except ValueError:
            continue
    candidates.append(PurePosixPath(given.replace("\\", "/")).as_posix())
    for rel in candidates:
        rec = cat.find_by_path(rel)
        if rec:
            return rec
    raise NotFound(f"目录中没有这个文件：{given}", hint="用 zhikong ls 查看已登记的文件及其路径。")


@dataclass(frozen=True)
class Reclassification:
    """What a user sets by hand on a record; None leaves that part as it is."""

    category: str | None = None
    activity: str | None = None  # "YYYY-MM-DD 名称"
    center: str | None = None
    year: int | None = None

    @property
    def empty(self) -> bool:
        return not any((self.category, self.activity, self.center, self.year))


def set_classification(
    cat: Catalogue, record: Record, change: Reclassification, *, centers: tuple[str, ...] = ()
) -> Record:
    """Override a record's classification by hand; recorded as `manual` and in the audit log."""
    c = record.classification
    category, activity, center, year = change.category, change.activity, change.center, change.year
    if category is not None:
        check_category(category)
        c = replace(c, category=category, category_by=Source.MANUAL)
    if activity is not None:
        name, when = parse_activity(activity)
        c = replace(
            c,
            activity=name,
            activity_date=when,
            activity_type=activity_type_of(name),
            activity_by=Source.MANUAL,
        )
        if c.year is None:
            c = replace(c, year=when.year, year_by=Source.MANUAL)
    if center is not None:
        if center not in centers:
            raise InputFileError(f"未知的质控中心：{center}", hint="已登记：" + "、".join(centers))
        c = replace(c, center=center, center_by=Source.MANUAL)
    if year is not None:
        c = replace(c, year=year, year_by=Source.MANUAL)
    if not c.unclassified:
        c = replace(c, suggestion=None)
    with cat.transaction():
        cat.set_classification(record.id, c)
        audit.append(
            cat,
            "classify",
            center=c.center,
            path=record.path,
            category=c.category,
            activity=c.activity,
            year=c.year,
        )
    return cat.get(record.id)


@dataclass(frozen=True)
class DetailsEdit:
    """题名, 日期, 责任者, 页数, 文号 of a record as a user corrects them; None leaves that field as it is,
    "" (0 pages) clears the user's value, so the one read from the document comes back (archive.meta)."""

    title: str | None = None
    doc_date: str | None = None  # YYYY-MM-DD
    responsible: str | None = None
    pages: int | None = None
    doc_number: str | None = None


def edit_details(cat: Catalogue, record: Record, edit: DetailsEdit) -> Record:
    """Correct a record's descriptive fields; each change audited with its old and new value."""
    changes: dict[str, Any] = {}
    if edit.title is not None:
        title = strip_unsafe(edit.title).strip()
        if len(title) > 300:
            raise InputFileError("题名太长（最多 300 字）。")
        changes["title"] = title or None
    if edit.doc_date is not None:
        text = edit.doc_date.strip()
        if text:
            try:
                date.fromisoformat(text)
            except ValueError:
                raise InputFileError(f"日期应写成 YYYY-MM-DD：{text}") from None
        changes["doc_date"] = text or None
    if edit.responsible is not None:
        changes["responsible"] = strip_unsafe(edit.responsible).strip()[:100] or None
    if edit.pages is not None:
        if not 0 <= edit.pages <= 100_000:
            raise InputFileError(
                f"页数不对：{edit.pages}（应为 1 到 100000 的整数）", hint="写 0 则恢复为从文件读出的页数。"
            )
        changes["pages"] = edit.pages or None
    if edit.doc_number is not None:
        number = strip_unsafe(edit.doc_number).strip()
        problems = check_doc_number(number) if number else []
        if problems:
            raise InputFileError(
                "文号不对：" + "；".join(p.message for p in problems),
                hint="文号写成“代字〔年份〕序号号”，例如“金卫健字〔2026〕3号”。",
            )
        changes["doc_number"] = number or None
    changed = {k: v for k, v in changes.items() if getattr(record, k) != v}
    if not changed:
        return record
    with cat.transaction():
        cat.set_details(record.id, changed)
        audit.append(
            cat,
            "record.edit",
            center=record.center,
            path=record.path,
            **{k: {"old": getattr(record, k), "new": v} for k, v in changed.items()},
        )
    return cat.get(record.id)


def restore(
    settings: Settings, cat: Catalogue, record: Record, version: int | None, reconciler: Reconciler
) -> tuple[Record, int, str | None]:
    """Bring back a deleted or damaged file from its preserved copy, as a new event in its history.

    Without `version` it acts only when the file is missing or differs from its latest catalogued
    version, and brings back that version; a file that already is that version is left alone (a
    ConflictError lists the versions to choose from). Content the restore overwrites is saved among the
    preserved copies first, so a restore never loses anything. Returns the record, the version brought
    back, and the sha256 of the content it replaced (None when there was none).
    """
    versions = cat.versions(record.id)
    if not versions:
        raise NotFound(f"{record.path} 没有保存过的版本。")
    target = settings.root / (
        record.raw_path.decode("utf-8", "surrogateescape") if record.raw_path else record.path
    )
    store = ObjectStore(settings.system_dir)
    listed = "；".join(f"第 {v.version} 版（{v.ingested_at}，{v.size:,} 字节）" for v in versions)
    if version is None:
        chosen = versions[-1]
        if record.state == RecordState.ACTIVE and target.is_file() and sha256_file(target) == chosen.sha256:
            raise ConflictError(
                f"{record.path} 已经是最新登记的第 {chosen.version} 版，没有恢复。",
                hint=f"要换成较早的版本，请用 --version 指定：{listed}",
            )
    else:
        matching = [v for v in versions if v.version == version]
        if not matching:
            raise NotFound(f"{record.path} 没有第 {version} 版。", hint=f"已有版本：{listed}")
        chosen = matching[0]
    if not store.has(chosen.sha256):
        raise NotFound(
            f"第 {chosen.version} 版的保存副本不见了（{chosen.sha256[:12]}…）。",
            hint="运行 zhikong log verify 检查档案库。",
        )
    if record.state == RecordState.DELETED:
        occupant = cat.find_by_path(record.path, include_deleted=False)
        if occupant is not None:
            raise ConflictError(
                f"{record.path} 处已有另一个文件（记录 {occupant.id}），恢复会覆盖它。",
                hint="先把现有文件改名或移走，再恢复。",
            )
    saved = store.add_file(target).sha256 if target.is_file() else None
    store.restore_to(chosen.sha256, target)
    with cat.transaction():
        audit.append(
            cat,
            "restore",
            center=record.center,
            path=record.path,
            version=chosen.version,
            sha256=chosen.sha256,
            replaced_sha256=saved,
        )
    reconciler.reconcile([target])
    restored = cat.find_by_path(record.path, include_deleted=False)
    if restored is None:
        raise NotFound(f"恢复后没能重新登记 {record.path}。")
    return restored, chosen.version, saved if saved != chosen.sha256 else None


@dataclass
class CenterYearStatus:
    center: str
    year: int | None
    by_category: Counter[str] = field(default_factory=Counter)
    attention: list[tuple[str, str]] = field(default_factory=list)  # (path, why)


def status(cat: Catalogue) -> tuple[list[CenterYearStatus], list[tuple[str, str]]]:
    """Counts by category per center-year, records needing attention, and files that could not be read."""
    groups: dict[tuple[str, int | None], CenterYearStatus] = defaultdict(lambda: CenterYearStatus("", None))
    for rec in cat.records():
        key = (rec.center or UNCLASSIFIED, rec.year)
        g = groups[key]
        g.center, g.year = key
        if rec.state == RecordState.ACTIVE:
            g.by_category[rec.category] += 1
        why = attention_reason(rec)
        if why:
            g.attention.append((rec.path, why))
    problems = cat.problems()
    ordered = sorted(groups.values(), key=lambda g: (g.center == UNCLASSIFIED, g.center, g.year or 0))
    return ordered, problems


def attention_reason(rec: Record) -> str | None:
    if rec.state == RecordState.DELETED:
        return f"文件已被删除（{rec.deleted_at}），可用 zhikong restore 恢复"
    if rec.classification.unclassified:
        return "未归类：" + (rec.classification.suggestion or "请用 zhikong classify 指定")
    if rec.extract_status in ("unreadable", "unsupported"):
        return "无法读取文字：" + (rec.extract_reason or "格式不支持")
    if rec.extract_status == "garbled":
        return "文字读成了乱码：" + (rec.extract_reason or "编码有误")
    if rec.extract_status == "needs_ocr":
        return "扫描件，需要文字识别（安装 zhikong[ocr]）"
    return None
