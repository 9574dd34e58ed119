"""Archival numbering (DA/T 22-2015): 件号 and 档号 within a center, year and retention period.

When numbers are given: on `paper catalog`, `paper mark` and `paper add` — the moments the paper register
is touched — and never at scan time. A file dropped in the inbox or classified by a guess can still move
or change category; a number given at scan would freeze a wrong retention period into a 档号 that is then
printed on paper. Once given, a number never changes: allocation only ever takes max(件号)+1 in its
(center, year, retention) inside the caller's transaction (BEGIN IMMEDIATE), so two writers cannot take
the same number, and a new file never renumbers what is already boxed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from zhikong.archive.catalogue import Catalogue, Record, RecordState
from zhikong.archive.settings import Settings
from zhikong.errors import ConflictError

CODE_RE = re.compile(
    r"^(?P<fonds>[^-]+)-WS·(?P<year>\d{4})-(?P<ret>Y|D30|D10)-(?P<code>[A-Z]+)-(?P<no>\d{4,})$"
)
RETENTION_ORDER = ("Y", "D30", "D10")
RETENTION_NAMES = {"Y": "永久", "D30": "定期30年", "D10": "定期10年"}


@dataclass(frozen=True)
class Numbered:
    record_id: int
    retention: str
    item_no: int
    archival_code: str


def archival_code(fonds: str, year: int, retention: str, code: str, item_no: int) -> str:
    """`全宗号-WS·年度-保管期限-机构代码-件号`, e.g. Z109-WS·2026-D30-HL-0001."""
    return f"{fonds}-WS·{year}-{retention}-{code}-{item_no:04d}"


def retention_of(settings: Settings, category: str) -> str:
    return settings.retention.get(category, settings.retention.get("其他", "D10"))


def numberable(record: Record) -> bool:
    """A 件 of its own: active, placed, and not the scan of a paper item (that shares the item's number)."""
    return (
        record.state == RecordState.ACTIVE
        and record.scan_of is None
        and not record.classification.unclassified
    )


def _order(record: Record) -> tuple[str, str]:
    c = record.classification
    when = record.doc_date or (c.activity_date.isoformat() if c.activity_date else "")
    return (when, record.path)


def assign_numbers(settings: Settings, cat: Catalogue, records: Iterable[Record]) -> list[Numbered]:
    """Number every record that has no 件号 yet, in date order; existing numbers are left alone."""
    todo = sorted((r for r in records if r.item_no is None), key=_order)
    given: list[Numbered] = []
    with cat.transaction():
        for rec in todo:
            if not numberable(rec):
                raise ConflictError(
                    f"{rec.path} 尚未归类（中心、年度或类别不明），不能编档号。",
                    hint="先移到正确的文件夹，或用 zhikong classify 指定。",
                )
            assert rec.center is not None and rec.year is not None
            retention = rec.retention or retention_of(settings, rec.category)
            item_no = cat.last_item_no(rec.center, rec.year, retention) + 1
            code = archival_code(
                settings.fonds, rec.year, retention, settings.center(rec.center).code, item_no
            )
            cat.set_archival_number(rec.id, retention=retention, item_no=item_no, archival_code=code)
            given.append(Numbered(rec.id, retention, item_no, code))
    return given
