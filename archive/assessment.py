"""The bureau's grading beside the self-assessment (J22–J23): the 医政科's score and note for each item of the
考核评分表, kept in the catalogue (migration 11) and audited, and the totals both ways.

The self-assessment (`archive.score`) is computed from the archive; the bureau's score is what the bureau
decides after reading the evidence. The bureau total takes the bureau's score where one is given, else the
self-assessed score, else (an item only the bureau judges, not judged yet) full marks — the same projection
the self-assessment's total makes, so the two totals differ only by what the bureau has decided.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from zhikong.archive import audit
from zhikong.archive.catalogue import Catalogue, now_iso
from zhikong.archive.rules import RuleSet
from zhikong.archive.score import ItemScore, ScoreSheet
from zhikong.errors import InputFileError

MAX_NOTE = 500


@dataclass(frozen=True)
class AssessorScore:
    """The bureau's score for one item of one center-year."""

    center: str
    year: int
    item: int
    score: float
    note: str
    by: str
    at: str


@dataclass(frozen=True)
class AssessedItem:
    """One line of the form: the self-assessment and the bureau's score beside it."""

    item: ItemScore
    bureau: AssessorScore | None

    @property
    def counted(self) -> float:
        """What the item adds to the bureau total."""
        if self.bureau is not None:
            return self.bureau.score
        return self.item.max if self.item.score is None else self.item.score


@dataclass(frozen=True)
class Assessment:
    sheet: ScoreSheet
    items: tuple[AssessedItem, ...]
    bureau_total: float
    bureau_tier: str

    @property
    def graded(self) -> int:
        """How many items the bureau has scored."""
        return sum(1 for i in self.items if i.bureau is not None)


def assessment(rules: RuleSet, sheet: ScoreSheet, scores: dict[int, AssessorScore]) -> Assessment:
    items = tuple(AssessedItem(i, scores.get(i.no)) for i in sheet.items)
    total = sum(i.counted for i in items)
    return Assessment(sheet, items, total, rules.tier_of(total))


def parse_score(raw: str) -> float:
    """A score as typed in a form: a number, at most one decimal place is usual but not required."""
    text = raw.strip().replace("，", ".").replace("。", ".")
    if not text:
        raise InputFileError("请填写分数。")
    try:
        value = float(text)
    except ValueError:
        raise InputFileError(f"分数应是数字（如 4 或 3.5）：{raw.strip()[:20]}") from None
    if not math.isfinite(value):
        raise InputFileError(f"分数应是数字（如 4 或 3.5）：{raw.strip()[:20]}")
    return value


def scores_of(cat: Catalogue, center: str, year: int) -> dict[int, AssessorScore]:
    return {
        int(r["item"]): AssessorScore(
            r["center"], int(r["year"]), int(r["item"]), float(r["score"]), r["note"] or "", r["scored_by"],
            r["scored_at"],
        )
        for r in cat.assessor_score_rows(center, year)
    }  # fmt: skip


def set_score(
    cat: Catalogue, rules: RuleSet, *, center: str, year: int, item: int, score: float, note: str
) -> AssessorScore:
    """Record the bureau's score for one item (validated against the form), audited in the same transaction."""
    found = next((i for i in rules.items if i.no == item), None)
    if found is None:
        raise InputFileError(f"考核评分表没有第 {item} 项。")
    if not math.isfinite(score) or score < 0 or score > found.max:
        raise InputFileError(
            f"第 {item} 项“{found.name}”的得分应在 0 到 {found.max:g} 分之间：{score:g}"
            if math.isfinite(score)
            else f"第 {item} 项的得分应是数字。"
        )
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise InputFileError(f"评分说明最多 {MAX_NOTE} 个字（现有 {len(note)} 个）。")
    at = now_iso()
    with cat.transaction():
        cat.put_assessor_score(
            center=center, year=year, item=item, score=score, note=note, by=cat.actor, at=at
        )
        audit.append(cat, "assess.score", center=center, year=year, item=item, score=score, note=note)
    return AssessorScore(center, year, item, score, note, cat.actor, at)
