"""Compliance checks (DOMAIN.md §4): what a center will lose points on, per center and year, as of a date.

The catalogue is read once into `Facts` (records grouped by center and year, activities by folder);
each rule is a small function over one center-year that returns its findings and the files it looked
at. The rule set (`archive/rules/*.toml`) supplies every number, deadline and keyword, the article each
rule enforces and the scoring item it costs points on. A deadline is missed only when the `as_of` date
is after it, and an activity is judged only after its grace period, so checking early is not alarming.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum
from functools import cached_property
from pathlib import PurePosixPath
from typing import Any

from zhikong.archive.catalogue import Catalogue, Record, RecordState
from zhikong.archive.convention import STANDING_CATEGORY, ActivityType
from zhikong.archive.duplicates import duplicate_groups, removed_copies
from zhikong.archive.evidence import STANDING, Kind, Pool, Subjects, evidence, kinds_of, stem
from zhikong.archive.numbering import numberable
from zhikong.archive.rules import CheckRule, RuleSet
from zhikong.archive.settings import SETTINGS_FILE, Center, Settings

QUARTERS = ("第一季度", "第二季度", "第三季度", "第四季度")
LOOP_STEPS = ("督查记录", "反馈意见", "整改报告")  # then a 回头看 (follow-up), found by `_follow_up_of`
FOLLOW_UP = "回头看"
# The year folder's standing sub-folders: 工作计划/ 工作总结/ 质控标准/, and 发文/ where approved documents
# are archived (archive.drafts.FINAL_FOLDER, named here so a check does not load the document generator).
KNOWN_FOLDERS = (*STANDING_CATEGORY, "发文")
UNREADABLE = ("unreadable", "unsupported", "garbled")  # "garbled": text came out, but as gibberish
_DATE_IN_TEXT = re.compile(r"((?:19|20)\d{2})\s*[-年./]\s*(\d{1,2})\s*[-月./]\s*(\d{1,2})")
_DATE_COMPACT = re.compile(r"(?<!\d)((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)")


@dataclass(frozen=True)
class Finding:
    rule: str
    center: str | None
    year: int | None
    article: str
    item: int
    message: str
    paths: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    cost: float = 0.0  # the points this finding costs on `item` (the rule set's `cost`)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "center": self.center,
            "year": self.year,
            "article": self.article,
            "item": self.item,
            "cost": self.cost,
            "message": self.message,
            "paths": list(self.paths),
            "details": self.details,
        }


@dataclass(frozen=True)
class Upcoming:
    """Something a rule requires that is not there yet and whose deadline has not passed: not a finding,
    but not done either. Its `points` are what the item can still earn by `due` (the score leaves them
    out until then); within the reminder window it is a reminder (全年技能竞赛尚未开展，还剩 1 天)."""

    center: str
    year: int
    what: str  # ends with "，" so that "还剩 n 天" reads on after it
    due: date
    days_left: int  # counting the deadline itself: 1 on the last day
    rule: str = ""
    item: int = 0
    points: float = 0.0

    @property
    def message(self) -> str:
        return (
            f"{self.what}还剩 {self.days_left} 天（{self.due.month}月{self.due.day}日前；"
            f"到期未完成，第{self.item}项扣 {self.points:g} 分）"
        )

    def to_json(self) -> dict[str, Any]:
        return {"center": self.center, "year": self.year, "rule": self.rule, "item": self.item,
                "what": self.what.rstrip("，"), "due": self.due.isoformat(), "days_left": self.days_left,
                "points": self.points, "message": self.message}  # fmt: skip


@dataclass
class Activity:
    name: str
    when: date
    type: ActivityType
    records: list[Record] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.when.isoformat()} {self.name}"

    @property
    def folder(self) -> str:
        for r in self.records:
            if r.kind == "electronic":
                return r.path.rpartition("/")[0]
        return self.label

    def categories(self) -> set[str]:
        return {r.category for r in self.records}


@dataclass
class YearFacts:
    center: Center
    year: int
    records: list[Record] = field(default_factory=list)  # active, placed in this center and year
    activities: dict[tuple[date, str], Activity] = field(default_factory=dict)


class LoopState(StrEnum):
    CLOSED = "closed"  # every step filed, the follow-up included
    IN_PROGRESS = "in_progress"  # steps missing, but the rectification period has not ended yet
    OPEN = "open"  # steps missing after the rectification period: the finding `inspection.closed_loop`

    @property
    def label(self) -> str:
        return {"closed": "已闭环", "in_progress": "整改期内", "open": "未闭环"}[self.value]


@dataclass(frozen=True)
class InspectionLoop:
    """One inspection's closed loop (J6(3), J19): 督查记录 → 反馈意见 → 整改报告 → a later 回头看.

    What the check reports, what the score deducts for and what a handover bundle lists as open
    rectification items are all read from this one evaluation, so they cannot disagree.
    """

    center: str
    year: int
    activity: str  # the activity's label, "YYYY-MM-DD 名称"
    name: str
    when: date
    due: date  # the end of the rectification period (督查 + grace_days); a gap counts only after it
    folder: str
    paths: tuple[str, ...]  # the inspection's own records
    follow_up: tuple[str, ...]  # the 回头看 records that close it
    missing: tuple[str, ...]  # the steps not filed, in the loop's order
    state: LoopState

    @property
    def no_loop(self) -> bool:
        """No rectification at all (feedback or report missing), not just no follow-up: scored harder."""
        return any(m in self.missing for m in ("反馈意见", "整改报告"))

    @property
    def message(self) -> str:
        if self.state == LoopState.CLOSED:
            return f"{self.activity}：闭环完整"
        gap = f"缺少{'、'.join(self.missing)}"
        if self.state == LoopState.IN_PROGRESS:
            return f"{self.activity}：整改期内（{self.due.isoformat()} 前闭环），尚{gap}"
        return f"{self.activity}：闭环不完整，{gap}"

    def to_json(self) -> dict[str, Any]:
        return {
            "center": self.center,
            "year": self.year,
            "activity": self.activity,
            "date": self.when.isoformat(),
            "due": self.due.isoformat(),
            "state": self.state.value,
            "state_label": self.state.label,
            "missing": list(self.missing),
            "message": self.message,
            "folder": self.folder,
            "files": list(self.paths),
            "follow_up": list(self.follow_up),
        }


@dataclass(frozen=True)
class YearResult:
    """One center-year: its findings, and per rule the files the rule looked at (the score cites them)."""

    center: str
    year: int
    findings: tuple[Finding, ...]
    looked_at: dict[str, tuple[str, ...]]
    facts: YearFacts
    loops: tuple[InspectionLoop, ...] = ()  # the year's inspections, closed or not
    pending: tuple[Upcoming, ...] = ()  # what is missing before its deadline (the score's "still to earn")


@dataclass(frozen=True)
class CheckReport:
    as_of: date
    rules: str
    findings: tuple[Finding, ...]
    years: tuple[YearResult, ...]
    upcoming: tuple[Upcoming, ...] = ()  # reminders: what is still missing, due within `within` days
    pending: tuple[Upcoming, ...] = ()  # everything still missing whose deadline has not passed
    within: int = 30

    def to_json(self) -> list[dict[str, Any]]:
        return [f.to_json() for f in self.findings]

    def to_json_with_reminders(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "within_days": self.within,
            "findings": self.to_json(),
            "reminders": [u.to_json() for u in self.upcoming],
        }

    def by_center(self) -> dict[str, list[Finding]]:
        groups: dict[str, list[Finding]] = defaultdict(list)
        for f in self.findings:
            groups[f.center or "未归类"].append(f)
        return dict(groups)


Text = Callable[[int], str | None]


# -- facts -----------------------------------------------------------------------------------------


def label_of(rec: Record) -> str:
    return f"{stem(rec.path)} {rec.title or ''}"


def dated(rec: Record, text: Text) -> date | None:
    """When a standing document was written: its registered date, a date in its name, else the last
    date in its text (the 成文日期 closes a document). Unknown means it cannot be shown to be late."""
    if rec.doc_date:
        return date.fromisoformat(rec.doc_date)
    for source in (PurePosixPath(rec.path).name, None):
        body = source if source is not None else (text(rec.id) or "")
        found = [*_DATE_IN_TEXT.findall(body), *(_DATE_COMPACT.findall(body) if source else [])]
        for y, m, d in reversed(found):
            try:
                return date(int(y), int(m), int(d))
            except ValueError:
                continue
    return None


def _month_day(year: int, mmdd: str) -> date:
    m, d = mmdd.split("-")
    return date(year, int(m), int(d))


def load_facts(settings: Settings, cat: Catalogue) -> tuple[dict[tuple[str, int], YearFacts], list[Record]]:
    """Active placed records grouped by center-year (with their activities), and every record."""
    records = cat.records()
    centers = {c.name: c for c in settings.centers}
    groups: dict[tuple[str, int], YearFacts] = {}
    for rec in records:
        if rec.state != RecordState.ACTIVE or rec.center not in centers or rec.year is None:
            continue
        # Looked up before being made: `setdefault(key, YearFacts(…))` built one for every record.
        fy = groups.get((rec.center, rec.year))
        if fy is None:
            fy = groups[(rec.center, rec.year)] = YearFacts(centers[rec.center], rec.year)
        fy.records.append(rec)
        c = rec.classification
        if c.activity and c.activity_date and c.activity_type:
            key = (c.activity_date, c.activity)
            act = fy.activities.get(key)
            if act is None:
                act = fy.activities[key] = Activity(c.activity, c.activity_date, c.activity_type)
            act.records.append(rec)
    return groups, records


# -- the rules of one center-year ------------------------------------------------------------------


@dataclass
class _Ctx:
    rules: RuleSet
    fy: YearFacts
    as_of: date
    text: Text
    all_years: dict[tuple[str, int], YearFacts]  # `load_facts`' grouping, of this center's years only
    subjects: Subjects
    findings: list[Finding] = field(default_factory=list)
    looked_at: dict[str, tuple[str, ...]] = field(default_factory=dict)
    loops: list[InspectionLoop] = field(default_factory=list)
    pending: list[Upcoming] = field(default_factory=list)
    odd_folders: list[str] = field(
        default_factory=list
    )  # folders of this year not read as activities (paths)

    @cached_property
    def pool(self) -> Pool:
        return Pool(self.fy.records)

    def cost(self, rule: str, key: str = "cost") -> float:
        return float(self.rules.check(rule).params[key])

    def add(
        self, rule: str, message: str, paths: Iterable[str] = (), *, cost: float | None = None, **details: Any
    ) -> None:
        """A finding of `rule`: it costs `cost` points (default: the rule's `cost`) on the rule's item, never
        more than the item is worth (扣完为止: three quarters missing cost item 7's 5 points, not 6)."""
        r: CheckRule = self.rules.check(rule)
        cost = min(self.cost(rule) if cost is None else cost, self.rules.item(r.item).max)
        self.findings.append(
            Finding(
                rule, self.fy.center.name, self.fy.year, r.article, r.item, message, tuple(paths), details, cost,
            )
        )  # fmt: skip

    def pend(self, rule: str, what: str, due: date, points: float) -> None:
        """Something `rule` requires that is missing but not due yet: `points` still to earn by `due`."""
        days = (due - self.as_of).days + 1
        r = self.rules.check(rule)
        self.pending.append(
            Upcoming(self.fy.center.name, self.fy.year, what, due, days, rule, r.item, points)
        )

    def saw(self, rule: str, paths: Iterable[str]) -> None:
        self.looked_at[rule] = tuple(dict.fromkeys(paths))

    def params(self, rule: str) -> dict[str, Any]:
        return self.rules.check(rule).params

    def year_end(self) -> date:
        return date(self.fy.year, 12, 31)

    def year_over(self) -> bool:
        return self.as_of > self.year_end()

    def activities(self, *types: ActivityType) -> list[Activity]:
        return sorted(
            (a for a in self.fy.activities.values() if a.type in types and a.when <= self.as_of),
            key=lambda a: a.when,
        )

    def folder_hint(self, wanted: str) -> str:
        """When a count falls short, the folders whose names were not understood may be the reason."""
        others = [
            a.label
            for a in self.fy.activities.values()
            if a.type == ActivityType.OTHER and a.when <= self.as_of
        ]
        names = [*others, *(PurePosixPath(p).name for p in self.odd_folders)]
        if not names:
            return ""
        return (
            f"（若已开展：文件夹名的问题——“{'”“'.join(names[:3])}”未能识别为{wanted}，"
            "请在文件夹名中写明活动类型，如“2026-03-15 第一次工作会议”“2026-09-18 三季度病例抽查”）"
        )


def _meetings(ctx: _Ctx) -> None:
    rule = "meetings.count"
    p = ctx.params(rule)
    meetings = ctx.activities(*(ActivityType(t) for t in p["types"]))
    ctx.saw(rule, [a.folder for a in meetings])
    half_end = date(ctx.fy.year, 6, 30)
    first_half = [a for a in meetings if a.when <= half_end]
    need_first, need = int(p["first_half"]), int(p["min"])
    short_first = max(0, need_first - len(first_half))
    short_rest = max(0, need - len(meetings) - short_first)
    problems, short = [], 0
    if short_first and ctx.as_of > half_end:
        problems.append("上半年没有召开工作会议（年初部署）")
        short += short_first
    elif short_first:
        ctx.pend(rule, "上半年工作会议（年初部署）尚未召开，", half_end, ctx.cost(rule) * short_first)
    if short_rest and ctx.year_over():
        problems.append(f"全年召开工作会议 {len(meetings)} 次，应不少于 {need} 次")
        short += short_rest
    elif short_rest:
        which = "第二次工作会议（年中推进）" if len(meetings) + short_first == 1 else "工作会议"
        ctx.pend(rule, f"{which}尚未召开，", ctx.year_end(), ctx.cost(rule) * short_rest)
    if problems:
        ctx.add(
            rule,
            "；".join(problems) + ctx.folder_hint("工作会议"),
            [a.folder for a in meetings],
            cost=ctx.cost(rule) * short,
            short=short,
        )


def _competition(ctx: _Ctx) -> None:
    rule = "competition.count"
    p = ctx.params(rule)
    held = ctx.activities(*(ActivityType(t) for t in p["types"]))
    ctx.saw(rule, [a.folder for a in held])
    if len(held) >= int(p["min"]):
        return
    if ctx.year_over():
        ctx.add(
            rule,
            "全年没有开展技能竞赛、学术交流或培训" + ctx.folder_hint("竞赛、学术交流或培训"),
            short=int(p["min"]) - len(held),
        )
    else:
        ctx.pend(rule, "全年技能竞赛尚未开展（或学术交流、培训），", ctx.year_end(), ctx.cost(rule))


def _case_reviews(ctx: _Ctx) -> None:
    rule = "case_review.quarterly"
    reviews = ctx.activities(*(ActivityType(t) for t in ctx.params(rule)["types"]))
    ctx.saw(rule, [a.folder for a in reviews])
    y = ctx.fy.year
    missing = []
    for q in range(4):
        end = date(y, 3 * q + 3, 31 if q in (0, 3) else 30)
        if any((a.when.month - 1) // 3 == q for a in reviews):
            continue
        if ctx.as_of > end:
            missing.append(q + 1)
        else:
            ctx.pend(rule, f"{QUARTERS[q]}重点病例抽查尚未开展，", end, ctx.cost(rule))
    if missing:
        ctx.add(
            rule,
            "、".join(QUARTERS[q - 1] for q in missing)
            + "没有重点病例抽查与质量评价"
            + ctx.folder_hint("病例抽查"),
            [a.folder for a in reviews],
            cost=ctx.cost(rule) * len(missing),
            missing=missing,
        )


def _matches(rec: Record, p: dict[str, Any], categories: tuple[str, ...], standing: bool) -> bool:
    if categories and rec.category not in categories:
        return False
    if standing and rec.classification.activity:
        return False
    text = label_of(rec)
    words = p.get("keywords") or ()
    if words and not any(w in text for w in words):
        return False
    return not any(w in text for w in p.get("exclude") or ())


def _filed(
    ctx: _Ctx, rule: str, what: str, categories: tuple[str, ...], standing: bool, on_time: bool
) -> None:
    p = ctx.params(rule)
    due = _month_day(ctx.fy.year, str(p["due"]))
    wanted = tuple(p.get("categories", categories))
    # Only the records of those categories (and outside every activity, if `standing`) are tested.
    maybe = ctx.pool.candidates(Kind(rule, categories=wanted, activity_types=(STANDING,) if standing else ()))
    found = [r for r in maybe if _matches(r, p, wanted, standing)]
    ctx.saw(rule, [r.path for r in found])
    missing_cost = ctx.cost(rule, "cost_missing" if "cost_missing" in p else "cost")
    if not found:
        if ctx.as_of > due:
            ctx.add(
                rule, f"没有{what}（应于 {due.month}月{due.day}日 前完成）", cost=missing_cost, missing=True
            )
        else:
            ctx.pend(rule, f"{what}尚未报送，", due, missing_cost)
        return
    if not on_time:
        return
    dates = [(d, r) for r in found if (d := dated(r, ctx.text)) is not None]
    if dates and min(d for d, _ in dates) > due:
        first, rec = min(dates, key=lambda x: x[0])
        ctx.add(
            rule,
            f"{what}迟报：成文日期 {first.year}年{first.month}月{first.day}日，应于 {due.month}月{due.day}日 前报送",
            [rec.path],
            late=True,
        )


def _indicator_plan(ctx: _Ctx) -> None:
    """J14(4): one core indicator and several key indicators. A plan that names no key indicators is a
    missing part (缺项), which costs `cost_partial`."""
    rule = "indicator_plan.exists"
    _filed(ctx, rule, "核心指标提升计划", ("工作计划",), False, False)
    found = ctx.looked_at.get(rule, ())
    words = tuple(ctx.params(rule).get("key_words", ()))
    if not found or not words:
        return
    plans = [r for r in ctx.fy.records if r.path in found]
    if any(any(w in (ctx.text(r.id) or "") or w in label_of(r) for w in words) for r in plans):
        return
    due = _month_day(ctx.fy.year, str(ctx.params(rule)["due"]))
    what = f"核心指标提升计划未列出重点指标（{'、'.join(words)}）"
    if ctx.as_of > due:
        ctx.add(rule, what, found, cost=ctx.cost(rule, "cost_partial"), partial=True)
    else:
        ctx.pend(rule, f"{what}，", due, ctx.cost(rule, "cost_partial"))


def _standards(ctx: _Ctx) -> None:
    rule = "standards.exists"
    due = _month_day(ctx.fy.year, str(ctx.params(rule)["due"]))
    ctx.saw(rule, [r.path for r in _standards_of(ctx)])
    if ctx.looked_at[rule]:
        return
    if ctx.as_of > due:
        ctx.add(rule, "没有质控标准文件（质控标准/ 文件夹为空）", missing=True)
    else:
        ctx.pend(rule, "质控标准尚未制定（质控标准/ 文件夹为空），", due, ctx.cost(rule))


def _standards_of(ctx: _Ctx) -> list[Record]:
    """This year's and earlier years' standards: a standard filed once stays in force."""
    name = ctx.fy.center.name
    return [
        r
        for (center, year), fy in ctx.all_years.items()
        if center == name and year <= ctx.fy.year
        for r in fy.records
        if r.category == "标准文件" and not r.classification.activity
    ]


def _kinds(ctx: _Ctx, rule: str) -> list[tuple[Kind, list[Record]]]:
    return [(kind, evidence(ctx.pool, kind, ctx.text, ctx.subjects)) for kind in kinds_of(ctx.params(rule))]


def _parts(ctx: _Ctx, rule: str, *, what: str) -> None:
    """Rules whose evidence is a list of kinds, each costing the rule's `cost` when missing by `due`."""
    found = _kinds(ctx, rule)
    if rule == "system.parts":  # a standard filed in an earlier year is still this year's 质控标准
        found = [(k, rs or (_standards_of(ctx) if k.name == "质控标准" else [])) for k, rs in found]
    ctx.saw(rule, [r.path for _k, rs in found for r in rs[:4]])
    missing = [k for k, rs in found if not rs]
    if not missing:
        return
    due = _month_day(ctx.fy.year, str(ctx.params(rule)["due"]))
    cost = ctx.cost(rule) * len(missing)
    names = "、".join(k.name for k in missing)
    if ctx.as_of > due:
        ctx.add(
            rule,
            f"{what}：缺{names}（证据应为：{'；'.join(k.describe() for k in missing)}）",
            [r.path for _k, rs in found for r in rs[:4]],
            cost=cost,
            missing=[k.name for k in missing],
        )
    else:
        ctx.pend(rule, f"{what}尚缺{names}，", due, cost)


def _materials(ctx: _Ctx) -> None:
    rule = "activity.materials"
    p = ctx.params(rule)
    required: dict[str, list[str]] = p["required"]
    grace = timedelta(days=int(p.get("grace_days", 0)))
    looked: list[str] = []
    for act in ctx.activities(*(ActivityType(t) for t in required)):
        looked.append(act.folder)
        have = act.categories()
        missing = [c for c in required[act.type.value] if c not in have]
        if not missing:
            continue
        if act.when + grace >= ctx.as_of:
            ctx.pend(rule, f"{act.label} 尚缺{'、'.join(missing)}，", act.when + grace, ctx.cost(rule))
            continue
        ctx.add(
            rule,
            f"{act.label}：缺少{'、'.join(missing)}",
            [act.folder, *(r.path for r in act.records)],
            activity=act.label,
            missing=missing,
        )
    ctx.saw(rule, looked)


def _follow_up_of(
    all_years: dict[tuple[str, int], YearFacts], center: str, insp: Activity, words: list[str], as_of: date
) -> list[Record]:
    """The 回头看 of an inspection: a record in its own folder named so, else a later follow-up
    activity of the same center whose name (without the follow-up word) names the inspection."""
    inside = [r for r in insp.records if any(w in label_of(r) for w in words)]
    if inside:
        return inside
    later: list[Record] = []
    for (name, _year), fy in all_years.items():
        if name != center:
            continue
        for act in fy.activities.values():
            if act.type != ActivityType.FOLLOW_UP or act.when < insp.when or act.when > as_of:
                continue
            core = act.name
            for w in words:
                core = core.replace(w, "")
            if core and (core in insp.name or insp.name in core):
                later.extend(act.records)
    return later


def inspection_loops(
    all_years: dict[tuple[str, int], YearFacts],
    rules: RuleSet,
    *,
    center: str,
    year: int | None = None,
    as_of: date,
) -> list[InspectionLoop]:
    """Rule `inspection.closed_loop` for one center: every inspection held by `as_of` (in `year`, else in
    any year), oldest first, with the steps it is missing and whether its rectification period is over.

    `all_years` is `load_facts`'s grouping; a follow-up may be filed in a later year than its inspection.
    """
    p = rules.check("inspection.closed_loop").params
    grace = timedelta(days=int(p.get("grace_days", 0)))
    words = list(p["follow_up_words"])
    loops: list[InspectionLoop] = []
    for (name, y), fy in sorted(all_years.items()):
        if name != center or (year is not None and y != year):
            continue
        for insp in sorted(fy.activities.values(), key=lambda a: a.when):
            if insp.type != ActivityType.INSPECTION or insp.when > as_of:
                continue
            have = insp.categories()
            missing = [c for c in LOOP_STEPS if c not in have]
            follow = _follow_up_of(all_years, center, insp, words, as_of)
            if not follow:
                missing.append(FOLLOW_UP)
            due = insp.when + grace
            state = (
                LoopState.CLOSED if not missing else LoopState.IN_PROGRESS if due >= as_of else LoopState.OPEN
            )
            loops.append(
                InspectionLoop(
                    center=center,
                    year=y,
                    activity=insp.label,
                    name=insp.name,
                    when=insp.when,
                    due=due,
                    folder=insp.folder,
                    paths=tuple(r.path for r in insp.records),
                    follow_up=tuple(r.path for r in follow),
                    missing=tuple(missing),
                    state=state,
                )
            )
    return loops


def _closed_loop(ctx: _Ctx) -> None:
    rule = "inspection.closed_loop"
    ctx.loops = inspection_loops(
        ctx.all_years, ctx.rules, center=ctx.fy.center.name, year=ctx.fy.year, as_of=ctx.as_of
    )
    ctx.saw(rule, [loop.folder for loop in ctx.loops])
    for loop in ctx.loops:
        cost = ctx.cost(rule, "cost_no_loop") if loop.no_loop else ctx.cost(rule)
        if loop.state == LoopState.OPEN:
            ctx.add(
                rule,
                loop.message,
                [loop.folder, *loop.paths],
                cost=cost,
                activity=loop.activity,
                missing=list(loop.missing),
                no_loop=loop.no_loop,
            )
        elif loop.state == LoopState.IN_PROGRESS:
            ctx.pend(rule, f"{loop.activity} 尚缺{'、'.join(loop.missing)}（整改期），", loop.due, cost)
    if ctx.loops:
        return
    if ctx.year_over():
        ctx.add(
            rule,
            "全年没有督查活动，无闭环" + ctx.folder_hint("督查"),
            cost=ctx.cost(rule, "cost_no_loop"),
            no_loop=True,
        )
    else:
        ctx.pend(
            rule, "全年尚无督查（检查—反馈—整改—回头看），", ctx.year_end(), ctx.cost(rule, "cost_no_loop")
        )


def _key_areas(ctx: _Ctx) -> None:
    """Item 14: quality control of the key areas (J18) — records of it, and each one's rectification."""
    rule = "key_areas.quality"
    p = ctx.params(rule)
    rectified_by: dict[str, list[str]] = p["rectified_by"]
    grace = timedelta(days=int(p.get("grace_days", 0)))
    records = [r for _k, rs in _kinds(ctx, rule) for r in rs]
    acts = {
        (r.classification.activity_date, r.classification.activity): ctx.fy.activities[
            (r.classification.activity_date, r.classification.activity)
        ]
        for r in records
        if r.classification.activity_date and r.classification.activity
    }
    ctx.saw(rule, [r.path for r in records])
    for act in sorted(acts.values(), key=lambda a: a.when):
        if act.when > ctx.as_of:
            continue
        wanted = rectified_by.get(act.type.value, ["整改报告"])
        follow = [r for r in act.records if any(w in label_of(r) for w in ("回头看", "复查"))]
        if any(c in act.categories() for c in wanted) or (act.type == ActivityType.INSPECTION and follow):
            continue
        if act.when + grace >= ctx.as_of:
            ctx.pend(
                rule, f"{act.label} 尚无{'或'.join(wanted)}（整改期），", act.when + grace, ctx.cost(rule)
            )
            continue
        ctx.add(
            rule,
            f"{act.label}：重点领域问题整改不力，没有{'或'.join(wanted)}",
            [act.folder, *(r.path for r in act.records)],
            activity=act.label,
        )
    if acts:
        return
    due = _month_day(ctx.fy.year, str(p["due"]))
    kinds = "；".join(k.describe() for k in kinds_of(p))
    if ctx.as_of > due:
        ctx.add(
            rule,
            f"全年没有院感、用药、病历等重点领域的质控记录（证据应为：{kinds}）",
            cost=ctx.cost(rule, "cost_none"),
        )
    else:
        ctx.pend(rule, "重点领域（院感、用药、病历等）质控尚未开展，", due, ctx.cost(rule, "cost_none"))


def _roster(rules: RuleSet, center: Center, year: int, as_of: date) -> Finding | None:
    r = rules.check("roster.composition")
    p, roster = r.params, center.roster
    low, high = p["deputies"]
    problems = []
    if not roster.director:
        problems.append("未配备主任")
    if not low <= len(roster.deputies) <= high:
        problems.append(f"副主任 {len(roster.deputies)} 名，应为 {low}—{high} 名")
    if not roster.secretary:
        problems.append("未配备秘书")
    if not roster.members:
        problems.append("未配备委员")
    elif len(roster.members) > int(p["max_members"]):
        problems.append(f"委员 {len(roster.members)} 名，超过 {p['max_members']} 名")
    if roster.consecutive_terms > int(p["max_terms"]):
        problems.append(f"已连任 {roster.consecutive_terms} 届，超过 {p['max_terms']} 届")
    if roster.term_start:
        try:
            start = date.fromisoformat(roster.term_start)
            end = start.replace(year=start.year + int(p["term_years"]))
        except ValueError:
            problems.append(f"任期开始日期无效：{roster.term_start}")
        else:
            if as_of >= end:
                problems.append(
                    f"本届任期（{start.isoformat()} 起 {p['term_years']} 年）已于 {end.isoformat()} 届满"
                )
    if not problems:
        return None
    return Finding(
        "roster.composition",
        center.name,
        year,
        r.article,
        r.item,
        "；".join(problems),
        (SETTINGS_FILE,),
        {"problems": problems},
        min(float(p["cost"]) * len(problems), rules.item(r.item).max),
    )


def _folders(ctx: _Ctx) -> None:
    """Folder names: an activity dated in another year than its year folder, and folders of the year
    whose names were not read as activities (their files count for no activity)."""
    year_rule, name_rule = "folder.year", "folder.name"
    for act in sorted(ctx.fy.activities.values(), key=lambda a: a.when):
        if act.when.year != ctx.fy.year:
            parts = PurePosixPath(act.folder).parts
            right = f"{parts[0]}/{act.when.year}/{parts[-1]}"
            ctx.add(
                year_rule,
                f"文件夹名的问题：活动“{act.label}”的日期是 {act.when.year} 年，却放在 {parts[1]}/ 文件夹中，"
                f"按 {ctx.fy.year} 年度计算。建议：移到 {right}，或改正文件夹名中的日期",
                [act.folder],
                activity=act.label,
            )
    for path in ctx.odd_folders:
        folder = PurePosixPath(path).name
        ctx.add(
            name_rule,
            f"文件夹名的问题：“{folder}”不是“日期 名称”格式，其中的文件没有计入任何活动。"
            f"建议：改名为“{ctx.fy.year}-月-日 {folder}”（如 {ctx.fy.year}-09-18 {folder}）",
            [path],
            folder=folder,
        )


def _odd_folders(fy: YearFacts) -> list[str]:
    """Sub-folders of the year folder (as paths) that are neither a standing folder nor an activity."""
    odd: dict[str, None] = {}
    for rec in fy.records:
        if rec.kind != "electronic" or rec.classification.activity:
            continue
        parts = rec.path.split("/")
        if len(parts) < 4 or parts[2] in KNOWN_FOLDERS:
            continue
        odd["/".join(parts[:3])] = None
    return list(odd)


YEAR_RULES: tuple[Callable[[_Ctx], None], ...] = (
    _meetings,
    _competition,
    _case_reviews,
    _indicator_plan,
    lambda c: _filed(c, "plan.annual", "年度工作计划", ("工作计划",), True, True),
    lambda c: _filed(c, "summary.half_year", "半年工作总结", ("总结",), True, True),
    lambda c: _filed(c, "summary.annual", "年度工作总结", ("总结",), True, True),
    _standards,
    lambda c: _parts(c, "system.parts", what="制度流程"),
    _materials,
    _closed_loop,
    lambda c: _parts(c, "core_systems.evidence", what="核心制度质控"),
    _key_areas,
    lambda c: _parts(c, "grassroots.guidance", what="基层指导"),
    lambda c: _parts(c, "data.analysis", what="数据监测与分析"),
    _folders,
)


# -- record rules ----------------------------------------------------------------------------------


def _record_findings(
    rules: RuleSet, records: list[Record], wanted: Callable[[Record], bool], removed: set[tuple[str, str]]
) -> list[Finding]:
    """Findings on single records; `removed` are the (path, sha256) of copies removed as duplicates (not
    lost: another copy is kept, so their disappearance is no gap)."""

    def f(rule: str, rec: Record, message: str, **details: Any) -> Finding:
        r = rules.check(rule)
        return Finding(
            rule,
            rec.center,
            rec.year,
            r.article,
            r.item,
            message,
            (rec.path,),
            details,
            float(r.params["cost"]),
        )

    scanned = {r.scan_of for r in records if r.scan_of is not None and r.state == RecordState.ACTIVE}
    out: list[Finding] = []
    unboxed: dict[tuple[str, int], list[Record]] = defaultdict(list)
    mine = [rec for rec in records if wanted(rec)]  # asked once: the duplicates below are of these too
    for rec in mine:
        if rec.state == RecordState.DELETED:
            if (rec.path, rec.sha256 or "") in removed:
                continue
            out.append(
                f(
                    "record.deleted",
                    rec,
                    f"文件已从文件夹中消失（{(rec.deleted_at or '')[:10]}），可用 zhikong restore 恢复",
                )
            )
            continue
        # An unreadable file is reported as such wherever it lies: in 收件箱 it is unclassified too, and
        # reading it is what would let it be classified.
        if rec.kind == "electronic" and rec.extract_status in UNREADABLE:
            what = "文件内容读成了乱码" if rec.extract_status == "garbled" else "无法读取文件内容"
            out.append(f("record.unreadable", rec, f"{what}：{rec.extract_reason or rec.extract_status}"))
        if rec.classification.unclassified:
            out.append(
                f(
                    "record.unclassified",
                    rec,
                    f"未归类：{rec.classification.suggestion or '中心、年度或类别不明'}",
                )
            )
            continue
        if rec.kind == "paper" and rec.id not in scanned:
            out.append(
                f("record.electronic", rec, f"纸质件“{rec.title}”（{rec.archival_code}）尚无电子扫描件")
            )
        if numberable(rec) and not rec.paper_marked_at:
            assert rec.center is not None and rec.year is not None
            unboxed[(rec.center, rec.year)].append(rec)
    r = rules.check("record.paper")
    for (center, year), recs in sorted(unboxed.items()):
        out.append(
            Finding(
                "record.paper",
                center,
                year,
                r.article,
                r.item,
                f"{len(recs)} 件文件的纸质原件未登记入盒（用 zhikong paper catalog / paper mark 登记）",
                tuple(x.path for x in recs),
                {"count": len(recs)},
                float(r.params["cost"]),
            )
        )
    for group in duplicate_groups(mine):
        keep, extra = group[0], group[1:]
        out.append(
            f(
                "record.duplicate",
                extra[0],
                f"同一文件有 {len(group)} 份（内容相同，位置不同）：保留 {keep.path}；"
                + "；".join(f'删去多余的一份用 zhikong dedupe "{x.path}"' for x in extra),
                keep=keep.path,
                extra=[x.path for x in extra],
            )
        )
        out[-1] = replace(out[-1], paths=tuple(r.path for r in group))
    return out


def _after_seal(rules: RuleSet, cat: Catalogue, center: str | None) -> list[Finding]:
    """H39: once a center is sealed for handover, any later change in its folder is a finding."""
    from zhikong.archive.handover_seal import after_seal_findings  # not the handover package: docx, pypdf

    r = rules.check("record.after_seal")
    return [
        Finding(
            "record.after_seal",
            f.center,
            None,
            r.article,
            r.item,
            f"封存后文件夹有变动（{ACTION_NAMES.get(f.action, f.action)}，{f.at[:19]}），请核实并报告",
            (f.path,) if f.path else (),
            {"seal_id": f.seal_id},
            float(r.params["cost"]),
        )
        for f in after_seal_findings(cat, center)
    ]


ACTION_NAMES = {
    "add": "新增",
    "change": "修改",
    "delete": "删除",
    "move": "移动",
    "reappear": "恢复",
    "restore": "恢复",
}


# -- the whole check -------------------------------------------------------------------------------


def _year_texts(cat: Catalogue, fy: YearFacts) -> Text:
    """The texts of a center-year's records, read in one query when a rule first asks for one and kept
    while the center-year is checked (its rules read the same texts for each kind of evidence; a query for
    each record was a fifth of a check at 33,600 records). Another record's text is read by itself."""
    loaded: dict[int, str | None] = {}

    def text(record_id: int) -> str | None:
        if not loaded:
            loaded.update(dict.fromkeys((r.id for r in fy.records), None))
            loaded.update(cat.texts_of(loaded))
        return loaded[record_id] if record_id in loaded else cat.text(record_id)

    return text


def run_checks(
    settings: Settings,
    cat: Catalogue,
    rules: RuleSet,
    *,
    as_of: date,
    center: str | None = None,
    year: int | None = None,
    within: int = 30,
) -> CheckReport:
    """Every rule for every center-year in scope, evaluated as of `as_of`; what is missing but not yet due
    is `pending`, and a reminder when its deadline is at most `within` days away."""
    if center is not None:
        settings.center(center)
    groups, records = load_facts(settings, cat)
    subjects = Subjects(settings.synonyms_path)
    order = {rule: i for i, rule in enumerate(rules.checks)}
    findings: list[Finding] = []
    pending: list[Upcoming] = []
    results: list[YearResult] = []
    # A center's rules look at its own other years (standards in force, a later 回头看), never at another
    # center's: each gets its own years, not the whole archive's to filter again for every center-year.
    by_center: dict[str, dict[tuple[str, int], YearFacts]] = defaultdict(dict)
    for key, facts in groups.items():
        by_center[key[0]][key] = facts
    for c in settings.centers:
        if center is not None and c.name != center:
            continue
        own = by_center[c.name]
        years = {year} if year is not None else {y for (_n, y) in own} | {as_of.year}
        for y in sorted(v for v in years if v <= as_of.year):
            fy = own.get((c.name, y)) or YearFacts(c, y)
            text = _year_texts(cat, fy)
            ctx = _Ctx(rules, fy, as_of, text, own, subjects, odd_folders=_odd_folders(fy))
            for rule_fn in YEAR_RULES:
                rule_fn(ctx)
            results.append(
                YearResult(
                    c.name, y, tuple(ctx.findings), ctx.looked_at, fy, tuple(ctx.loops), tuple(ctx.pending)
                )
            )
            findings.extend(ctx.findings)
            pending.extend(ctx.pending)
        roster = _roster(rules, c, year or as_of.year, as_of)
        if roster:
            findings.append(roster)

    def wanted(rec: Record) -> bool:
        if center is not None and rec.center != center:
            return False
        if year is not None and rec.year not in (year, None):  # a file of no known year is everyone's gap
            return False
        return rec.year is None or rec.year <= as_of.year

    findings.extend(_record_findings(rules, records, wanted, removed_copies(cat)))
    findings.extend(_after_seal(rules, cat, center))
    findings.sort(key=lambda f: (f.center or "\uffff", f.year or 0, order.get(f.rule, 99), f.message))
    pending.sort(key=lambda u: (u.due, u.center, u.item))
    reminders = tuple(u for u in pending if u.days_left <= within)
    return CheckReport(as_of, rules.name, tuple(findings), tuple(results), reminders, tuple(pending), within)
