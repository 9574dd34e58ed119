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
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any

from zhikong.archive.catalogue import Catalogue, Record, RecordState
from zhikong.archive.convention import ActivityType
from zhikong.archive.numbering import numberable
from zhikong.archive.rules import CheckRule, RuleSet
from zhikong.archive.settings import SETTINGS_FILE, Center, Settings

QUARTERS = ("第一季度", "第二季度", "第三季度", "第四季度")
LOOP_STEPS = ("督查记录", "反馈意见", "整改报告")  # then a 回头看 (follow-up), found by `_follow_up_of`
FOLLOW_UP = "回头看"
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

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "center": self.center,
            "year": self.year,
            "article": self.article,
            "item": self.item,
            "message": self.message,
            "paths": list(self.paths),
            "details": self.details,
        }


@dataclass(frozen=True)
class Upcoming:
    """Something a rule requires that is not there yet and whose deadline has not passed: a reminder
    (半年工作总结还剩 12 天), not a finding."""

    center: str
    year: int
    what: str
    due: date
    days_left: int

    @property
    def message(self) -> str:
        return f"{self.what}：还剩 {self.days_left} 天（{self.due.month}月{self.due.day}日 前）"

    def to_json(self) -> dict[str, Any]:
        return {"center": self.center, "year": self.year, "what": self.what, "due": self.due.isoformat(),
                "days_left": self.days_left, "message": self.message}  # fmt: skip


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
                return str(PurePosixPath(r.path).parent)
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


@dataclass(frozen=True)
class CheckReport:
    as_of: date
    rules: str
    findings: tuple[Finding, ...]
    years: tuple[YearResult, ...]
    upcoming: tuple[Upcoming, ...] = ()  # deadlines ahead with what is still missing (reminders)

    def to_json(self) -> list[dict[str, Any]]:
        return [f.to_json() for f in self.findings]

    def by_center(self) -> dict[str, list[Finding]]:
        groups: dict[str, list[Finding]] = defaultdict(list)
        for f in self.findings:
            groups[f.center or "未归类"].append(f)
        return dict(groups)


Text = Callable[[int], str | None]


# -- facts -----------------------------------------------------------------------------------------


def label_of(rec: Record) -> str:
    return f"{PurePosixPath(rec.path).stem} {rec.title or ''}"


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
        fy = groups.setdefault((rec.center, rec.year), YearFacts(centers[rec.center], rec.year))
        fy.records.append(rec)
        c = rec.classification
        if c.activity and c.activity_date and c.activity_type:
            key = (c.activity_date, c.activity)
            act = fy.activities.setdefault(key, Activity(c.activity, c.activity_date, c.activity_type))
            act.records.append(rec)
    return groups, records


# -- the rules of one center-year ------------------------------------------------------------------


@dataclass
class _Ctx:
    rules: RuleSet
    fy: YearFacts
    as_of: date
    text: Text
    all_years: dict[tuple[str, int], YearFacts]
    findings: list[Finding] = field(default_factory=list)
    looked_at: dict[str, tuple[str, ...]] = field(default_factory=dict)
    loops: list[InspectionLoop] = field(default_factory=list)
    upcoming: list[Upcoming] = field(default_factory=list)

    def add(self, rule: str, message: str, paths: Iterable[str] = (), **details: Any) -> None:
        r: CheckRule = self.rules.check(rule)
        self.findings.append(
            Finding(
                rule, self.fy.center.name, self.fy.year, r.article, r.item, message, tuple(paths), details
            )
        )

    def saw(self, rule: str, paths: Iterable[str]) -> None:
        self.looked_at[rule] = tuple(dict.fromkeys(paths))

    def params(self, rule: str) -> dict[str, Any]:
        return self.rules.check(rule).params

    def year_over(self) -> bool:
        return self.as_of > date(self.fy.year, 12, 31)

    def activities(self, *types: ActivityType) -> list[Activity]:
        return sorted(
            (a for a in self.fy.activities.values() if a.type in types and a.when <= self.as_of),
            key=lambda a: a.when,
        )


def _meetings(ctx: _Ctx) -> None:
    p = ctx.params("meetings.count")
    meetings = ctx.activities(ActivityType.MEETING)
    ctx.saw("meetings.count", [a.folder for a in meetings])
    first_half = [a for a in meetings if a.when <= date(ctx.fy.year, 6, 30)]
    problems, short = [], 0
    if ctx.as_of > date(ctx.fy.year, 6, 30) and len(first_half) < int(p["first_half"]):
        problems.append("上半年没有召开工作会议（年初部署）")
        short = int(p["first_half"]) - len(first_half)
    if ctx.year_over() and len(meetings) < int(p["min"]):
        problems.append(f"全年召开工作会议 {len(meetings)} 次，应不少于 {p['min']} 次")
        short = max(short, int(p["min"]) - len(meetings))
    if problems:
        ctx.add("meetings.count", "；".join(problems), [a.folder for a in meetings], short=short)


def _competition(ctx: _Ctx) -> None:
    p = ctx.params("competition.count")
    held = ctx.activities(*(ActivityType(t) for t in p["types"]))
    ctx.saw("competition.count", [a.folder for a in held])
    if ctx.year_over() and len(held) < int(p["min"]):
        ctx.add("competition.count", "全年没有开展技能竞赛、学术交流或培训", short=int(p["min"]) - len(held))


def _case_reviews(ctx: _Ctx) -> None:
    reviews = ctx.activities(ActivityType.CASE_REVIEW)
    ctx.saw("case_review.quarterly", [a.folder for a in reviews])
    y = ctx.fy.year
    missing = []
    for q in range(4):
        end = date(y, 3 * q + 3, 31 if q in (0, 3) else 30)
        if ctx.as_of > end and not any((a.when.month - 1) // 3 == q for a in reviews):
            missing.append(q + 1)
    if missing:
        ctx.add(
            "case_review.quarterly",
            "、".join(QUARTERS[q - 1] for q in missing) + "没有重点病例抽查与质量评价",
            [a.folder for a in reviews],
            missing=missing,
        )


def _matches(rec: Record, p: dict[str, Any], category: str | None, standing: bool) -> bool:
    if category and rec.category != category:
        return False
    if standing and rec.classification.activity:
        return False
    text = label_of(rec)
    words = p.get("keywords") or ()
    if words and not any(w in text for w in words):
        return False
    return not any(w in text for w in p.get("exclude") or ())


def _filed(ctx: _Ctx, rule: str, what: str, category: str | None, standing: bool, on_time: bool) -> None:
    p = ctx.params(rule)
    due = _month_day(ctx.fy.year, str(p["due"]))
    found = [r for r in ctx.fy.records if _matches(r, p, category, standing)]
    ctx.saw(rule, [r.path for r in found])
    if not found:
        if ctx.as_of > due:
            ctx.add(rule, f"没有{what}（应于 {due.month}月{due.day}日 前完成）", missing=True)
        elif ctx.as_of.year == due.year:
            ctx.upcoming.append(Upcoming(ctx.fy.center.name, ctx.fy.year, what, due, (due - ctx.as_of).days))
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


def _standards(ctx: _Ctx) -> None:
    rule = "standards.exists"
    due = _month_day(ctx.fy.year, str(ctx.params(rule)["due"]))
    name = ctx.fy.center.name
    found = [
        r
        for (center, year), fy in ctx.all_years.items()
        if center == name and year <= ctx.fy.year
        for r in fy.records
        if r.category == "标准文件"
    ]
    ctx.saw(rule, [r.path for r in found])
    if not found and ctx.as_of > due:
        ctx.add(rule, "没有质控标准文件（质控标准/ 文件夹为空）", missing=True)


def _materials(ctx: _Ctx) -> None:
    p = ctx.params("activity.materials")
    required: dict[str, list[str]] = p["required"]
    grace = timedelta(days=int(p.get("grace_days", 0)))
    looked: list[str] = []
    for act in ctx.activities(*(ActivityType(t) for t in required)):
        looked.append(act.folder)
        if act.when + grace >= ctx.as_of:
            continue
        have = act.categories()
        missing = [c for c in required[act.type.value] if c not in have]
        if missing:
            ctx.add(
                "activity.materials",
                f"{act.label}：缺少{'、'.join(missing)}",
                [act.folder, *(r.path for r in act.records)],
                activity=act.label,
                missing=missing,
            )
    ctx.saw("activity.materials", looked)


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
        if loop.state == LoopState.OPEN:
            ctx.add(
                rule,
                loop.message,
                [loop.folder, *loop.paths],
                activity=loop.activity,
                missing=list(loop.missing),
                no_loop=loop.no_loop,
            )


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
    if len(roster.members) > int(p["max_members"]):
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
    )


YEAR_RULES: tuple[Callable[[_Ctx], None], ...] = (
    _meetings,
    _competition,
    _case_reviews,
    lambda c: _filed(c, "indicator_plan.exists", "核心指标提升计划", None, False, False),
    lambda c: _filed(c, "plan.annual", "年度工作计划", "工作计划", True, True),
    lambda c: _filed(c, "summary.half_year", "半年工作总结", "总结", True, True),
    lambda c: _filed(c, "summary.annual", "年度工作总结", "总结", True, True),
    _standards,
    _materials,
    _closed_loop,
)


# -- record rules ----------------------------------------------------------------------------------


def _record_findings(
    rules: RuleSet, records: list[Record], wanted: Callable[[Record], bool]
) -> list[Finding]:
    def f(rule: str, rec: Record, message: str) -> Finding:
        r = rules.check(rule)
        return Finding(rule, rec.center, rec.year, r.article, r.item, message, (rec.path,))

    scanned = {r.scan_of for r in records if r.scan_of is not None and r.state == RecordState.ACTIVE}
    out: list[Finding] = []
    unboxed: dict[tuple[str, int], list[Record]] = defaultdict(list)
    for rec in records:
        if not wanted(rec):
            continue
        if rec.state == RecordState.DELETED:
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
            )
        )
    return out


def _after_seal(rules: RuleSet, cat: Catalogue, center: str | None) -> list[Finding]:
    """H39: once a center is sealed for handover, any later change in its folder is a finding."""
    from zhikong.archive.handover import after_seal_findings  # bagit and friends: only loaded here

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


def run_checks(
    settings: Settings,
    cat: Catalogue,
    rules: RuleSet,
    *,
    as_of: date,
    center: str | None = None,
    year: int | None = None,
) -> CheckReport:
    """Every rule for every center-year in scope, evaluated as of `as_of`."""
    if center is not None:
        settings.center(center)
    groups, records = load_facts(settings, cat)
    order = {rule: i for i, rule in enumerate(rules.checks)}
    findings: list[Finding] = []
    upcoming: list[Upcoming] = []
    results: list[YearResult] = []
    for c in settings.centers:
        if center is not None and c.name != center:
            continue
        years = {year} if year is not None else {y for (n, y) in groups if n == c.name} | {as_of.year}
        for y in sorted(v for v in years if v <= as_of.year):
            fy = groups.get((c.name, y)) or YearFacts(c, y)
            ctx = _Ctx(rules, fy, as_of, cat.text, groups)
            for rule_fn in YEAR_RULES:
                rule_fn(ctx)
            results.append(YearResult(c.name, y, tuple(ctx.findings), ctx.looked_at, fy, tuple(ctx.loops)))
            findings.extend(ctx.findings)
            upcoming.extend(ctx.upcoming)
        roster = _roster(rules, c, year or as_of.year, as_of)
        if roster:
            findings.append(roster)

    def wanted(rec: Record) -> bool:
        if center is not None and rec.center != center:
            return False
        if year is not None and rec.year not in (year, None):  # a file of no known year is everyone's gap
            return False
        return rec.year is None or rec.year <= as_of.year

    findings.extend(_record_findings(rules, records, wanted))
    findings.extend(_after_seal(rules, cat, center))
    findings.sort(key=lambda f: (f.center or "\uffff", f.year or 0, order.get(f.rule, 99), f.message))
    upcoming.sort(key=lambda u: (u.due, u.center))
    return CheckReport(as_of, rules.name, tuple(findings), tuple(results), tuple(upcoming))
