"""The paper register: boxes (档案盒), paper originals marked as filed, paper-only items and their scans.

A record's paper is *planned* for a box when `paper catalog` prints the box's 归档文件目录 (paper_box set),
and *filed* when `paper mark` records that the paper is in the box (paper_marked_at set). Only a filed
original satisfies the dual-retention rule (J16). A box holds one center, one year and one retention
period; its number is unique within the center and year.

A paper-only item (`paper add`) is a catalogue row with kind='paper' and a readable synthetic path
`纸质件/<中心>/<年度>/<id> <题名>`; its scan, once linked, points back at it through `scan_of` and shares
its 件号. Every change here is written to the audit log in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from zhikong.archive import audit, meta
from zhikong.archive.catalogue import Catalogue, Record, RecordState, now_iso
from zhikong.archive.convention import activity_type_of, check_category, parse_activity
from zhikong.archive.filenames import fit_file_name
from zhikong.archive.manage import resolve_record
from zhikong.archive.numbering import CODE_RE, RETENTION_ORDER, assign_numbers, numberable, retention_of
from zhikong.archive.settings import Settings
from zhikong.errors import ConflictError, InputFileError, NotFound, Problem
from zhikong.generator.docnumber import check_doc_number
from zhikong.textcheck import MAX_TITLE_CHARS, check_text, strip_unsafe

PAPER_ROOT = "纸质件"


@dataclass(frozen=True)
class Box:
    center: str
    code: str
    year: int
    retention: str
    box: int
    fonds: str
    records: tuple[Record, ...]

    @property
    def first_last(self) -> tuple[int | None, int | None]:
        numbers = [r.item_no for r in self.records if r.item_no is not None]
        return (min(numbers), max(numbers)) if numbers else (None, None)

    @property
    def filed(self) -> int:
        return sum(1 for r in self.records if r.paper_marked_at)

    def to_json(self) -> dict[str, Any]:
        first, last = self.first_last
        return {
            "center": self.center,
            "year": self.year,
            "retention": self.retention,
            "box": self.box,
            "first": first,
            "last": last,
            "filed": self.filed,
            "records": [r.to_json() for r in self.records],
        }


def resolve(settings: Settings, cat: Catalogue, given: str, cwd: Path) -> Record:
    """A record named by its 档号 or by its path (relative, absolute, or a paper item's synthetic path)."""
    if CODE_RE.match(given.strip()):
        record_id = cat.record_id_by_archival_code(given.strip())
        if record_id is None:
            raise NotFound(f"没有档号为 {given} 的档案。", hint="用 zhikong paper catalog 查看盒内目录。")
        return cat.get(record_id)
    return resolve_record(settings, cat, given, cwd)


def _ensure_box(cat: Catalogue, center: str, year: int, retention: str, box: int) -> None:
    existing = cat.box_retention(center, year, box)
    if existing is None:
        cat.add_box(center, year, retention, box)
    elif existing != retention:
        raise ConflictError(
            f"{center} {year} 年第 {box} 盒装的是保管期限 {existing} 的文件，不能放入 {retention} 的文件。",
            hint="一盒只装同一中心、同一年度、同一保管期限的文件：请换一个盒号。",
        )


def box_records(cat: Catalogue, center: str, year: int, box: int) -> list[Record]:
    return [cat.get(record_id) for record_id in cat.box_record_ids(center, year, box)]


def plan_box(
    settings: Settings,
    cat: Catalogue,
    *,
    center: str,
    year: int,
    box: int,
    retention: str | None = None,
    limit: int | None = None,
) -> Box:
    """The box's content: what is already in it, or else (a new box) the records still waiting for one.

    A new box takes the unboxed records of one retention period (the given one, else the longest kept
    first), numbers them and plans them into the box; `paper mark --catalog` then files them.
    """
    code = settings.center(center).code
    # The register prints each record's own 题名, 日期, 责任者 and 页数 (archive.meta), and the dates order
    # the numbering: read them first, outside the transaction, since LibreOffice may take seconds.
    meta.refresh(settings, cat, cat.records(center=center, year=year, state="active"))
    current = box_records(cat, center, year, box)
    if current:
        ret = current[0].retention or ""
        return Box(center, code, year, ret, box, settings.fonds, tuple(current))
    with cat.transaction():
        waiting = [
            r
            for r in cat.records(center=center, year=year, state="active")
            if numberable(r) and r.paper_box is None
        ]
        by_ret: dict[str, list[Record]] = {}
        for r in waiting:
            by_ret.setdefault(r.retention or retention_of(settings, r.category), []).append(r)
        chosen = retention or next((ret for ret in RETENTION_ORDER if by_ret.get(ret)), None)
        if chosen is None or not by_ret.get(chosen):
            raise NotFound(
                f"{center} {year} 年没有待装盒的文件"
                + (f"（保管期限 {retention}）" if retention else "")
                + "。",
                hint="用 zhikong ls 查看该年度的文件，或换一个盒号查看已装盒的目录。",
            )
        assign_numbers(settings, cat, by_ret[chosen])
        picked = sorted((cat.get(r.id) for r in by_ret[chosen]), key=lambda r: (r.item_no or 0, r.id))[
            : limit or None
        ]
        _ensure_box(cat, center, year, chosen, box)
        for r in picked:
            cat.plan_into_box(r.id, box)
        audit.append(
            cat,
            "paper.catalog",
            center=center,
            year=year,
            box=box,
            retention=chosen,
            items=[r.archival_code for r in picked],
        )
    return Box(center, code, year, chosen, box, settings.fonds, tuple(box_records(cat, center, year, box)))


def mark(settings: Settings, cat: Catalogue, records: list[Record], *, box: int) -> list[Record]:
    """Record that these records' paper originals are filed in `box` (numbering them if needed)."""
    targets: list[Record] = []
    for rec in records:
        if rec.scan_of is not None:
            rec = cat.get(rec.scan_of)  # a scan's paper is its paper item's
        if rec.state != RecordState.ACTIVE:
            raise ConflictError(f"{rec.path} 已被删除，不能登记纸质件。", hint="先用 zhikong restore 恢复。")
        if rec.paper_marked_at and rec.paper_box not in (None, box):
            raise ConflictError(
                f"{rec.archival_code or rec.path} 已登记在第 {rec.paper_box} 盒，没有改动。",
                hint="一件只能在一个盒里。",
            )
        targets.append(rec)
    places = {(r.center, r.year) for r in targets}
    if len(places) > 1:
        raise ConflictError("一盒只装同一中心、同一年度的文件：所给文件分属不同中心或年度。")
    with cat.transaction():
        assign_numbers(settings, cat, targets)
        ts = now_iso()
        for rec in targets:
            rec = cat.get(rec.id)
            assert rec.center is not None and rec.year is not None and rec.retention is not None
            _ensure_box(cat, rec.center, rec.year, rec.retention, box)
            cat.mark_paper_filed(rec.id, box=box, at=ts)
            audit.append(
                cat, "paper.mark", center=rec.center, path=rec.path, box=box, archival_code=rec.archival_code
            )
    return [cat.get(r.id) for r in targets]


@dataclass(frozen=True)
class PaperItem:
    """A paper-only item as the secretary registers it (DA/T 22-2015's 题名, 文号, 责任者, 日期, 页数)."""

    center: str
    title: str
    category: str
    activity: str | None = None  # "YYYY-MM-DD 名称"
    year: int | None = None  # default: the activity's year, else the document's
    doc_date: date | None = None
    doc_number: str | None = None
    responsible: str | None = None
    pages: int | None = None
    box: int | None = None  # already put into this box


def add_paper(settings: Settings, cat: Catalogue, item: PaperItem) -> Record:
    """Register a paper-only item; it is numbered at once and waits for its scan (`record.electronic`)."""
    center, title, category, activity, year = item.center, item.title, item.category, item.activity, item.year
    doc_date, box = item.doc_date, item.box
    settings.center(center)
    check_category(category)
    check_paper_item(item)
    when: date | None = None
    name: str | None = None
    if activity:
        name, when = parse_activity(activity)
    the_year = year or (when.year if when else None) or (doc_date.year if doc_date else None)
    if the_year is None:
        raise InputFileError("请用 --year 或 --activity 指明年度。")
    ts = now_iso()
    with cat.transaction():
        record_id = cat.add_paper_item(
            center=center,
            year=the_year,
            activity=name,
            activity_date=when.isoformat() if when else None,
            activity_type=activity_type_of(name).value if name else None,
            category=category,
            title=title.strip(),
            at=ts,
            doc_number=item.doc_number,
            responsible=item.responsible,
            pages=item.pages,
            doc_date=doc_date.isoformat() if doc_date else None,
        )
        folder = Path(PAPER_ROOT, center, str(the_year))
        path = (folder / fit_file_name(title, head=f"{record_id} ", folder=settings.root / folder)).as_posix()
        cat.set_path(record_id, path)
        rec = cat.get(record_id)
        assign_numbers(settings, cat, [rec])
        rec = cat.get(record_id)
        audit.append(
            cat,
            "paper.add",
            center=center,
            path=path,
            title=title,
            category=category,
            activity=activity,
            archival_code=rec.archival_code,
        )
        if box is not None:
            mark(settings, cat, [rec], box=box)
    return cat.get(record_id)


def check_paper_item(item: PaperItem) -> None:
    """Refuse, with every problem named, a 题名 or 责任者 carrying control or bidi characters and a
    文号 not in GB/T 9704 form (a paper item's 文号 is printed in the box's 归档文件目录)."""
    problems: list[Problem] = []
    title = item.title.strip()
    if not title or "/" in title or "\\" in title:
        problems.append(
            Problem("paper.title", f"题名不能为空，也不能含有 / 或 \\：{strip_unsafe(item.title)!r}")
        )
    elif len(title) > MAX_TITLE_CHARS:
        problems.append(
            Problem("paper.title_length", f"题名过长（{len(title)} 字），上限 {MAX_TITLE_CHARS} 字")
        )
    problems += check_text("题名", item.title, "paper.title_characters")
    if item.responsible:
        problems += check_text("责任者", item.responsible, "paper.responsible_characters")
    if item.doc_number is not None:
        problems += check_doc_number(item.doc_number.strip())
    if problems:
        raise InputFileError(
            "纸质件没有登记：\n" + "\n".join(f"  - {p.message}" for p in problems),
            hint="文号写成“代字〔年份〕序号号”，例如“金卫健字〔2026〕3号”；没有文号时不写 --doc-number。",
        )


def link(cat: Catalogue, paper: Record, scan: Record) -> Record:
    """Record that `scan` is the electronic copy of the paper-only item `paper`; returns the scan."""
    if paper.kind != "paper":
        raise ConflictError(f"{paper.path} 不是纸质件登记（paper add 登记的条目），不能关联扫描件。")
    if scan.kind != "electronic" or scan.state != RecordState.ACTIVE:
        raise ConflictError(f"{scan.path} 不是现存的电子文件。")
    if scan.item_no is not None:
        raise ConflictError(
            f"{scan.path} 已有自己的档号 {scan.archival_code}，不能再作为另一件的扫描件。",
            hint="扫描件应在打印盒内目录之前关联。",
        )
    other = cat.scan_path_of(paper.id, other_than=scan.id)
    if other is not None:
        raise ConflictError(f"{paper.path} 已关联扫描件 {other}。")
    with cat.transaction():
        cat.link_scan(scan.id, paper.id)
        audit.append(
            cat,
            "paper.link",
            center=paper.center,
            path=scan.path,
            paper=paper.path,
            archival_code=paper.archival_code,
        )
    return cat.get(scan.id)


def scanned_ids(cat: Catalogue) -> set[int]:
    """Paper-only items that have an active scan linked to them."""
    return cat.scanned_paper_ids()
