"""The self-assessment (自查得分) on the rule set's scoring form, each score resting on cited files.

An item the archive can evidence (method `archive`) is scored from `check`'s own report, never a search of
its own: its maximum, less the cost of every finding `check` reports on it, less the points of whatever it
still lacks before its deadline (`pending`: not yet due is not done — those points are shown as what can
still be earned, and by when). So `score` and `check` cannot disagree. Items only the bureau can judge
(method `bureau`) are left blank and counted at full marks in the *projected* total, so the tier says what
the archive alone would cost. `rank_all` ranks every center, fills in the ranking item (item 19 in the
county form) and applies the forced distribution.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from zhikong.archive.catalogue import Catalogue
from zhikong.archive.checks import CheckReport, Finding, Upcoming, YearResult, run_checks
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
    lost: float = 0.0  # points lost to `check`'s findings
    to_earn: float = 0.0  # points still to earn before a deadline (not yet due, not yet done)
    by: date | None = None  # the last of those deadlines
    evidence: str = ""  # what counts as evidence (the rule set's words)
    opens: str = ""  # what the assessor will want to open
    findings: tuple[Finding, ...] = ()
    pending: tuple[Upcoming, ...] = ()


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
    def to_earn(self) -> float:
        return sum(i.to_earn for i in self.items)

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
            "to_earn": self.to_earn,
            "projected": self.projected,
            "tier": self.tier,
            "items": [
                {
                    "no": i.no,
                    "name": i.name,
                    "max": i.max,
                    "score": i.score,
                    "by_bureau": i.score is None,
                    "lost": i.lost,
                    "to_earn": i.to_earn,
                    "by": i.by.isoformat() if i.by else None,
                    "basis": i.basis,
                    "evidence": i.evidence,
                    "opens": i.opens,
                    "paths": list(i.paths),
                    "findings": [{"rule": f.rule, "cost": f.cost, "message": f.message} for f in i.findings],
                    "pending": [u.to_json() for u in i.pending],
                }
                for i in self.items
            ],
        }


def _round(x: float) -> float:
    return round(x, 1)


def _scored(item: Item, year: YearResult, findings: list[Finding]) -> ItemScore:
    """One item scored from the checks: max − findings' costs − what is still to earn, within [0, max]."""
    mine = tuple(f for f in findings if f.item == item.no)
    pending = tuple(u for u in year.pending if u.item == item.no)
    lost = sum(f.cost for f in mine)
    ceiling = max(0.0, item.max - lost)
    score = max(0.0, ceiling - sum(u.points for u in pending))
    to_earn = ceiling - score
    seen = [p for rule in item.rules for p in year.looked_at.get(rule, ())]
    cited = [p for f in mine for p in f.paths[:3]]
    paths = tuple(dict.fromkeys([*cited, *seen]))[:MAX_CITED]
    if item.rules == ("roster.composition",):
        paths = (SETTINGS_FILE,)
    parts: list[str] = []
    if mine:
        parts.append(
            "；".join(f"{f.message}（扣 {f.cost:g} 分）" for f in mine[:6]) + ("……" if len(mine) > 6 else "")
        )
    if pending:
        by = max(u.due for u in pending)
        still = (
            f"{by.month}月{by.day}日前还可得 {ceiling - score:g} 分" if ceiling > score else "本项已无分可得"
        )
        parts.append(f"尚未完成，{still}：" + "；".join(u.what.rstrip("，") for u in pending[:4]))
    if not parts:
        parts.append("符合，依据见所列文件" if seen else "符合")
    return ItemScore(
        item.no, item.group, item.name, item.max, item.standard, _round(score), "；".join(parts), paths,
        _round(min(item.max, lost)), _round(to_earn), max((u.due for u in pending), default=None),
        item.evidence, item.opens, mine, pending,
    )  # fmt: skip


def _sheet(rules: RuleSet, report: CheckReport, year: YearResult) -> ScoreSheet:
    findings = [
        f for f in report.findings if f.center == year.center and f.year in (year.year, None)
    ]  # a finding of no known year is every year's gap, as `check --year` lists it
    items: list[ItemScore] = []
    for item in rules.items:
        if item.method == "ranking":
            items.append(
                ItemScore(item.no, item.group, item.name, item.max, item.standard, None,
                          "按全县述职评价排名评定（zhikong score --all 可预估）", evidence=item.evidence,
                          opens=item.opens)
            )  # fmt: skip
        elif item.method == "bureau":
            items.append(
                ItemScore(item.no, item.group, item.name, item.max, item.standard, None,
                          "由县卫健局评定（档案无法自查）", evidence=item.evidence, opens=item.opens)
            )  # fmt: skip
        else:
            items.append(_scored(item, year, findings))
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
    settings: Settings, cat: Catalogue, rules: RuleSet, *, center: str, year: int, as_of: date
) -> ScoreSheet:
    report = run_checks(settings, cat, rules, as_of=as_of, center=center, year=year)
    return _sheet(rules, report, report.years[0])


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
) -> Ranking:
    """Every center's sheet, ranked; the ranking item scored by rank; tiers by the forced distribution.

    Centers are ranked by their projected total without the ranking item (it depends on the rank).
    Ties share the better band and tier, so a distribution is "about" its shares, as J23 says.
    """
    report = run_checks(settings, cat, rules, as_of=as_of, year=year)
    sheets = [_sheet(rules, report, y) for y in report.years]
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
