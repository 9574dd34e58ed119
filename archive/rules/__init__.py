"""Rule sets as data: the scoring form, the tiers and the check parameters of one set of regulations.

The county rules (`jinxiang-2026.toml`) are the default; `hebei-province.toml` shows a second set that
only changes the grading. `zhikong.toml` selects one with `rules = "…"`: a shipped name, or a path to a
.toml file (relative to the archive root) for a county whose rules are not shipped — no code needed.
A set may `extends` another: its tables are merged into the parent's, its lists replace the parent's.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from zhikong.errors import SettingsError

DEFAULT_RULES = "jinxiang-2026"


@dataclass(frozen=True)
class Tier:
    name: str
    min: float


@dataclass(frozen=True)
class Item:
    """One line of the scoring form (考核评分表)."""

    no: int
    group: str
    name: str
    max: float
    standard: str
    method: str  # "archive" (scored from the checks), "bureau" (the bureau judges) or "ranking"
    params: dict[str, Any] = field(default_factory=dict)
    rules: tuple[str, ...] = ()  # the check rules whose findings cost points on this item
    evidence: str = ""  # what counts as evidence, in words
    deduct: str = ""  # how points are lost, in words
    opens: str = ""  # what the assessor will want to open

    @property
    def by_bureau(self) -> bool:
        return self.method in ("bureau", "ranking")


@dataclass(frozen=True)
class CheckRule:
    rule: str
    article: str
    item: int
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleSet:
    name: str
    title: str
    source: str
    total: float
    tiers: tuple[Tier, ...]
    distribution: tuple[float, ...]
    ranking_item: int | None
    ranking_bands: tuple[tuple[float, float], ...]
    checks: dict[str, CheckRule]
    items: tuple[Item, ...]

    def check(self, rule: str) -> CheckRule:
        return self.checks[rule]

    def tier_of(self, score: float) -> str:
        for tier in self.tiers:
            if score >= tier.min:
                return tier.name
        return self.tiers[-1].name

    def item(self, no: int) -> Item:
        return next(i for i in self.items if i.no == no)


def load_rules(name: str, root: Path | None = None) -> RuleSet:
    """The rule set called `name` (shipped) or stored at `name` (a .toml path, relative to `root`)."""
    data = _resolved(name, root, seen=())
    try:
        return _build(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise SettingsError(
            f"考核规则集 {name} 不完整或有误：{exc}",
            hint="对照随程序提供的 jinxiang-2026.toml 检查各项设置。",
        ) from exc


def shipped_rules() -> list[str]:
    return sorted(
        p.name.removesuffix(".toml")
        for p in resources.files(__package__).iterdir()
        if p.name.endswith(".toml")
    )


def _resolved(name: str, root: Path | None, seen: tuple[str, ...]) -> dict[str, Any]:
    if name in seen:
        raise SettingsError(f"考核规则集循环引用：{' → '.join((*seen, name))}")
    data = _read(name, root)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    return _merge(_resolved(str(parent), root, (*seen, name)), data)


def _read(name: str, root: Path | None) -> dict[str, Any]:
    try:
        if name.endswith(".toml"):
            path = Path(name) if root is None or Path(name).is_absolute() else root / name
            text = path.read_text(encoding="utf-8")
        else:
            text = resources.files(__package__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise SettingsError(
            f"找不到考核规则集：{name}",
            hint="zhikong.toml 中 rules 可写 " + "、".join(shipped_rules()) + "，或写一个 .toml 文件的路径。",
        ) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"考核规则集 {name} 格式有误：{exc}") from exc


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


_ITEM_KEYS = ("no", "group", "name", "max", "standard", "method", "rules", "evidence", "deduct", "opens")
METHODS = ("archive", "bureau", "ranking")
_CHECK_KEYS = ("article", "item")


def _build(data: dict[str, Any]) -> RuleSet:
    tiers = tuple(Tier(str(t["name"]), float(t["min"])) for t in data["tiers"])
    if not tiers or sorted(tiers, key=lambda t: -t.min) != list(tiers):
        raise ValueError("tiers 应按分数线从高到低排列")
    distribution = tuple(float(x) for x in data.get("distribution", ()))
    if distribution and len(distribution) != len(tiers):
        raise ValueError("distribution 的个数应与 tiers 相同")
    ranking = data.get("ranking_item") or {}
    items = tuple(
        Item(
            no=int(raw["no"]),
            group=str(raw["group"]),
            name=str(raw["name"]),
            max=float(raw["max"]),
            standard=str(raw["standard"]),
            method=str(raw["method"]),
            params={k: v for k, v in raw.items() if k not in _ITEM_KEYS},
            rules=tuple(str(r) for r in raw.get("rules", ())),
            evidence=str(raw.get("evidence", "")),
            deduct=str(raw.get("deduct", "")),
            opens=str(raw.get("opens", "")),
        )
        for raw in data["items"]
    )
    checks = {
        rule: CheckRule(
            rule=rule,
            article=str(raw["article"]),
            item=int(raw["item"]),
            params={k: v for k, v in raw.items() if k not in _CHECK_KEYS},
        )
        for rule, raw in data["checks"].items()
    }
    _consistent(items, checks)
    return RuleSet(
        name=str(data["name"]),
        title=str(data["title"]),
        source=str(data.get("source", "")),
        total=float(data.get("total", sum(i.max for i in items))),
        tiers=tiers,
        distribution=distribution,
        ranking_item=int(ranking["item"]) if ranking else None,
        ranking_bands=tuple((float(a), float(b)) for a, b in ranking.get("bands", ())),
        checks=checks,
        items=items,
    )


def _consistent(items: tuple[Item, ...], checks: dict[str, CheckRule]) -> None:
    """Every check costs points on an item that lists it, so `check` and `score` cannot disagree."""
    by_no = {i.no: i for i in items}
    for item in items:
        if item.method not in METHODS:
            raise ValueError(f"第 {item.no} 项的 method 只能是 {'、'.join(METHODS)}：{item.method}")
        for rule in item.rules:
            if rule not in checks:
                raise ValueError(f"第 {item.no} 项引用的检查规则 {rule} 不存在")
    for rule, check in checks.items():
        owner = by_no.get(check.item)
        if owner is None or rule not in owner.rules or owner.method != "archive":
            raise ValueError(
                f"检查规则 {rule} 的 item = {check.item}，但该项目没有在 rules 中列出它（或不由档案自查）"
            )
        if "cost" not in check.params:
            raise ValueError(f"检查规则 {rule} 缺少 cost（每次扣分）")
