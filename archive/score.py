"""The self-assessment (自查得分) on the rule set's scoring form, each score resting on cited files.

Items the archive can evidence are scored from the checks' findings and the files each rule looked at;
items only the bureau can judge (method `bureau`) are left blank and marked, and are counted at full
marks in the *projected* total so the tier says what the archive alone would cost. `rank_all` ranks every
center, fills in the ranking item (item 19 in the county form) and applies the forced distribution.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import PurePosixPath
from typing import Any

from zhikong.archive.catalogue import Catalogue, Record
from zhikong.archive.checks import CheckReport, Finding, LoopState, YearResult, run_checks
from zhikong.archive.evidence import EvidenceFinder, text_evidence
from zhikong.archive.rules import Item, RuleSet
from zhikong.archive.settings import SETTINGS_FILE, Settings

MAX_CITED = 12


@dataclass(frozen=True)
class ItemScore:
    no: int
    group: str
    name: str
    max: float
    standard: str
    score: float | None  # None: for the bureau to judge
    basis: str
    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScoreSheet:
    center: str
    year: int
    as_of: date
    rules: str
    title: str
    items: tuple[ItemScore, ...]
    total_max: float
    tier_lines: tuple[str, ...]
    tier: str

    @property
    def self_total(self) -> float:
        return sum(i.score for i in self.items if i.score is not None)

    @property
    def self_max(self) -> float:
        return sum(i.max for i in self.items if i.score is not None)

    @property
    def projected(self) -> float:
        """Self-assessed points plus full marks for what the bureau still has to judge."""
        return sum(i.max if i.score is None else i.score for i in self.items)

    def to_json(self) -> dict[str, object]:
        return {
            "center": self.center,
            "year": self.year,
            "as_of": self.as_of.isoformat(),
            "rules": self.rules,
            "self_total": self.self_total,
            "self_max": self.self_max,
            "projected": self.projected,
            "tier": self.tier,
            "items": [
                {
                    "no": i.no,
                    "name": i.name,
                    "max": i.max,
                    "score": i.score,
                    "by_bureau": i.score is None,
                    "basis": i.basis,
                    "paths": list(i.paths),
                }
                for i in self.items
            ],
        }


@dataclass
class _Basis:
    rules: RuleSet
    year: YearResult
    findings: list[Finding]
    cat: Catalogue
    as_of: date
    records: list[Record] = field(default_factory=list)
    find: EvidenceFinder = text_evidence

    def evidence(self, words: list[str]) -> list[Record]:
        return self.find(self.cat, self.year.center, self.year.year, words)

    def of(self, rule: str) -> list[Finding]:
        return [f for f in self.findings if f.rule == rule]

    def seen(self, *rules: str) -> tuple[str, ...]:
        paths = [p for r in rules for p in self.year.looked_at.get(r, ())]
        return tuple(dict.fromkeys(paths))[:MAX_CITED]


def _clamp(item: Item, value: float) -> float:
    return max(0.0, min(item.max, value))


def _roster(item: Item, b: _Basis) -> tuple[float, str, tuple[str, ...]]:
    found = b.of("roster.composition")
    problems: list[str] = list(found[0].details.get("problems", [])) if found else []
    roster = b.year.facts.center.roster
    missing = sum(
        (
            not roster.director,
            any("副主任" in p for p in problems) or not roster.deputies,
            not roster.secretary,
            not roster.members,
        )
    )
    per = float(item.params.get("per_missing", 1))
    names = f"主任 {roster.director or '—'}，副主任 {len(roster.deputies)} 名，秘书 {roster.secretary or '—'}，委员 {len(roster.members)} 名"
    why = names + ("；" + "；".join(problems) if problems else "") + (f"；缺 {missing} 项" if missing else "")
    return _clamp(item, item.max - per * missing), why, (SETTINGS_FILE,)


def _system(item: Item, b: _Basis) -> tuple[float, str, tuple[str, ...]]:
    recs = b.year.facts.records
    plans = list(b.year.looked_at.get("plan.annual", ()))
    standards = list(b.year.looked_at.get("standards.exists", ()))
    rule_words = item.params.get("rule_words", ["制度"])
    rules_docs = [
        r.path
        for r in b.evidence(rule_words)
        if r.category in ("标准文件", "工作计划") or any(w in PurePosixPath(r.path).stem for w in rule_words)
    ]
    ledger = [r.path for r in recs if r.paper_marked_at][:1] or [
        r.path for r in b.evidence(item.params.get("ledger_words", ["台账"]))
    ]
    parts = {"年度计划": plans, "工作制度": rules_docs, "质控标准": standards, "台账管理": ledger}
    missing = [k for k, v in parts.items() if not v]
    per = float(item.params.get("per_missing", 1))
    why = (
        "已有："
        + ("、".join(k for k, v in parts.items() if v) or "无")
        + ("；缺：" + "、".join(missing) if missing else "")
    )
    paths = tuple(dict.fromkeys(p for v in parts.values() for p in v[:3]))
    return _clamp(item, item.max - per * len(missing)), why, paths


def _count(item: Item, b: _Basis) -> tuple[float, str, tuple[str, ...]]:
    rule = str(item.params["rule"])
    found = b.of(rule)
    short = sum(int(f.details.get("short", 1)) for f in found)
    per = float(item.params.get("per_missing", item.max))
    held = len(b.year.looked_at.get(rule, ()))
    why = f"已开展 {held} 次" + ("；" + "；".join(f.message for f in found) if found else "")
    return _clamp(item, item.max - per * short), why, b.seen(rule)


def _materials(item: Item, b: _Basis) -> tuple[float, str, tuple[str, ...]]:
    found = [f for f in b.findings if f.item == item.no]
    per = float(item.params.get("per_finding", 1))
    if not found:
        return item.max, "通知、签到、课件、记录、总结齐全，纸电双留存", b.seen("activity.materials")
    why = (
        f"{len(found)} 项问题：" + "；".join(f.message for f in found[:6]) + ("……" if len(found) > 6 else "")
    )
    paths = tuple(dict.fromkeys(p for f in found for p in f.paths[:2]))[:MAX_CITED]
    return _clamp(item, item.max - per * len(found)), why, paths


def _on_time(item: Item, b: _Basis) -> tuple[float, str, tuple[str, ...]]:
    rules = [str(r) for r in item.params["rules"]]
    found = [f for r in rules for f in b.of(r)]
    paths = b.seen(*rules)
    if any(f.details.get("missing") for f in found):
        return 0.0, "缺报：" + "；".join(f.message for f in found), paths
    late = [f for f in found if f.details.get("late")]
    per = float(item.params.get("per_late", 2))
    why = "；".join(f.message for f in late) if late else "计划、总结按时报送（未到期的不计）"
    return _clamp(item, item.max - per * len(late)), why, paths


def _exists(item: Item, b: _Basis) -> tuple[float, str, tuple[str, ...]]:
    rule = str(item.params["rule"])
    found = b.of(rule)
    paths = b.seen(rule)
    if found:
        return 0.0, found[0].message, paths
    return (
        item.max,
        ("已有：" + "、".join(PurePosixPath(p).name for p in paths[:3])) if paths else "尚未到期",
        paths,
    )


def _quarterly(item: Item, b: _Basis) -> tuple[float, str, tuple[str, ...]]:
    rule = str(item.params["rule"])
    found = b.of(rule)
    missing = [q for f in found for q in f.details.get("missing", [])]
    per = float(item.params.get("per_missing", 2))
    held = len(b.year.looked_at.get(rule, ()))
    why = f"已开展 {held} 次" + (f"；{found[0].message}" if found else "")
    return _clamp(item, item.max - per * len(missing)), why, b.seen(rule)


def _any_activity(item: Item, b: _Basis) -> tuple[float, str, tuple[str, ...]]:
    rule = str(item.params["rule"])
    paths = b.seen(rule)
    if b.of(rule):
        return 0.0, b.of(rule)[0].message, paths
    return item.max, f"已开展 {len(paths)} 次" if paths else "年度未结束，尚未开展", paths


def _closed_loop(item: Item, b: _Basis) -> tuple[float, str, tuple[str, ...]]:
    """From the checks' own evaluation of each inspection's loop (`checks.inspection_loops`): only a loop
    still open after its rectification period costs points."""
    loops = b.year.loops
    if not loops:
        return 0.0, "没有督查活动，无闭环", ()
    open_loops = [loop for loop in loops if loop.state == LoopState.OPEN]
    cut = sum(
        float(item.params["no_loop"]) if loop.no_loop else float(item.params["no_follow_up"])
        for loop in open_loops
    )
    why = f"督查 {len(loops)} 次" + (
        "；" + "；".join(loop.message for loop in open_loops) if open_loops else "，闭环完整"
    )
    return _clamp(item, item.max - cut), why, b.seen(str(item.params["rule"]))


def _evidence(item: Item, b: _Basis) -> tuple[float, str, tuple[str, ...]]:
    words = [str(w) for w in item.params["keywords"]]
    hits = b.evidence(words)
    paths = tuple(r.path for r in hits)[:MAX_CITED]
    if not hits:
        return 0.0, "档案中未找到相关记录（检索：" + "、".join(words) + "）", ()
    return item.max, f"找到 {len(hits)} 份相关记录（检索：{'、'.join(words)}）", paths


METHODS: dict[str, Callable[[Item, _Basis], tuple[float, str, tuple[str, ...]]]] = {
    "roster": _roster,
    "system": _system,
    "count": _count,
    "materials": _materials,
    "on_time": _on_time,
    "exists": _exists,
    "quarterly": _quarterly,
    "any_activity": _any_activity,
    "closed_loop": _closed_loop,
    "evidence": _evidence,
}


def _sheet(
    rules: RuleSet, report: CheckReport, year: YearResult, cat: Catalogue, find: EvidenceFinder
) -> ScoreSheet:
    findings = [f for f in report.findings if f.center == year.center and f.year == year.year]
    basis = _Basis(rules, year, findings, cat, report.as_of, find=find)
    items: list[ItemScore] = []
    for item in rules.items:
        paths: tuple[str, ...] = ()
        score: float | None
        if item.method == "ranking":
            score, why = None, "按全县述职评价排名评定（zhikong score --all 可预估）"
        elif item.method == "bureau":
            score, why = None, "由县卫健局评定（档案无法自查）"
        else:
            s, why, paths = METHODS[item.method](item, basis)
            score = round(s, 1)
        items.append(ItemScore(item.no, item.group, item.name, item.max, item.standard, score, why, paths))
    sheet = ScoreSheet(
        year.center,
        year.year,
        report.as_of,
        rules.name,
        rules.title,
        tuple(items),
        rules.total,
        tuple(f"{t.name}：{t.min:g}分及以上" if t.min > 0 else f"{t.name}：其余" for t in rules.tiers),
        "",
    )
    return _with_tier(rules, sheet)


def _with_tier(rules: RuleSet, sheet: ScoreSheet) -> ScoreSheet:
    return ScoreSheet(**{**sheet.__dict__, "tier": rules.tier_of(sheet.projected)})


def score_center(
    settings: Settings,
    cat: Catalogue,
    rules: RuleSet,
    *,
    center: str,
    year: int,
    as_of: date,
    find: EvidenceFinder = text_evidence,
) -> ScoreSheet:
    report = run_checks(settings, cat, rules, as_of=as_of, center=center, year=year)
    return _sheet(rules, report, report.years[0], cat, find)


@dataclass(frozen=True)
class RankRow:
    rank: int
    center: str
    self_total: float
    ranking_points: float | None
    total: float
    tier_by_score: str
    tier: str


@dataclass(frozen=True)
class Ranking:
    year: int
    as_of: date
    rules: str
    rows: tuple[RankRow, ...]
    sheets: tuple[ScoreSheet, ...]

    def to_json(self) -> list[dict[str, Any]]:
        return [vars(r) for r in self.rows]


def _boundaries(shares: tuple[float, ...], n: int) -> list[int]:
    """Cumulative rank boundaries for shares of n (half rounded up): 30/50/20 of 10 → [3, 8, 10]."""
    out, acc = [], 0.0
    for share in shares:
        acc += share
        out.append(min(n, int(acc * n + 0.5)))
    if out:
        out[0] = max(out[0], min(n, 1)) if shares[0] > 0 else out[0]  # a lone center still tops the list
        out[-1] = n
    return out


def _banded(position: int, bounds: list[int]) -> int:
    return next((i for i, b in enumerate(bounds) if position < b), len(bounds) - 1)


def rank_all(
    settings: Settings,
    cat: Catalogue,
    rules: RuleSet,
    *,
    year: int,
    as_of: date,
    find: EvidenceFinder = text_evidence,
) -> Ranking:
    """Every center's sheet, ranked; the ranking item scored by rank; tiers by the forced distribution.

    Centers are ranked by their projected total without the ranking item (it depends on the rank).
    Ties share the better band and tier, so a distribution is "about" its shares, as J23 says.
    """
    report = run_checks(settings, cat, rules, as_of=as_of, year=year)
    sheets = [_sheet(rules, report, y, cat, find) for y in report.years]
    rank_item = rules.ranking_item
    rank_max = rules.item(rank_item).max if rank_item else 0.0
    ordered = sorted(sheets, key=lambda s: (-(s.projected - rank_max), s.center))
    n = len(ordered)
    band_bounds = _boundaries(
        tuple(
            b[0] - a
            for a, b in zip((0.0, *(x[0] for x in rules.ranking_bands)), rules.ranking_bands, strict=False)
        ),
        n,
    )
    tier_bounds = _boundaries(rules.distribution, n) if rules.distribution else []
    rows: list[RankRow] = []
    final: list[ScoreSheet] = []
    prev_key: float | None = None
    band_pos = 0
    for i, sheet in enumerate(ordered):
        key = sheet.projected - rank_max
        if prev_key is None or key != prev_key:
            band_pos = i
        prev_key = key
        points: float | None = None
        if rank_item:
            points = rules.ranking_bands[_banded(band_pos, band_bounds)][1]
            items = tuple(
                ItemScore(
                    **{**it.__dict__, "score": points, "basis": f"全县第 {band_pos + 1} 名（共 {n} 个中心）"}
                )
                if it.no == rank_item
                else it
                for it in sheet.items
            )
            sheet = _with_tier(rules, ScoreSheet(**{**sheet.__dict__, "items": items}))
        by_score = rules.tier_of(sheet.projected)
        tier = rules.tiers[_banded(band_pos, tier_bounds)].name if tier_bounds else by_score
        rows.append(
            RankRow(band_pos + 1, sheet.center, sheet.self_total, points, sheet.projected, by_score, tier)
        )
        final.append(sheet)
    return Ranking(year, as_of, rules.name, tuple(rows), tuple(final))
