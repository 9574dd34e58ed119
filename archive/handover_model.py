"""Handover (H39): the bundle's format and the value objects passed between its stages.

Every other `archive.handover_*` module imports from here and this module imports none of them, so the
stages (seal, create, verify, import) never import each other in a cycle.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zhikong.archive.checks import InspectionLoop
from zhikong.errors import Problem

FORMAT = "zhikong-handover/1"
META = "移交资料"
MACHINE = f"{META}/zhikong"
CHANGE_ACTIONS = {"add": "新增", "change": "修改", "move": "移动", "delete": "删除", "reappear": "恢复"}
PROPERTIES = {
    "authenticity": "真实性",
    "integrity": "完整性",
    "usability": "可用性",
    "security": "安全性",
}


# -- value objects ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Readiness:
    """What is not ready for handover; listed, not blocking (the receiver signs for what there is)."""

    unreadable: list[str] = field(default_factory=list)
    unboxed: list[str] = field(default_factory=list)
    open_drafts: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)  # classified to the center, kept outside its folder
    untransferable: list[str] = field(default_factory=list)  # names that are not valid UTF-8

    @property
    def empty(self) -> bool:
        return not (
            self.unreadable or self.unboxed or self.open_drafts or self.outside or self.untransferable
        )


@dataclass(frozen=True)
class PiiFinding:
    """A file holding personal data: which kinds and how many, never the data itself."""

    path: str
    id_cards: int
    mobiles: int


@dataclass(frozen=True)
class Seal:
    id: int
    center: str
    sealed_at: str
    to_host: str
    bundle: str | None
    released_at: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AfterSealFinding:
    """Rule `record.after_seal`: a change in a sealed center's folder after the seal (H39)."""

    center: str
    path: str | None
    action: str
    at: str
    seal_id: int
    rule: str = "record.after_seal"

    @property
    def message(self) -> str:
        return f"封存后{CHANGE_ACTIONS.get(self.action, self.action)}：{self.path or ''}（{self.at}）"


@dataclass(frozen=True)
class CreateResult:
    bundle: Path
    center: str
    from_host: str
    to_host: str
    seal: Seal
    records: int  # catalogue rows carried (incl. deleted and paper-only)
    files: int  # payload files (records and handover papers)
    bytes: int
    record_files: int
    fingerprint: str
    pdf_pages: int
    pdf_skipped: list[tuple[str, str]]
    pii: list[PiiFinding]
    readiness: Readiness
    rectification: tuple[InspectionLoop, ...] = ()  # open and in-progress loops, as in rectification.json


@dataclass(frozen=True)
class VerifyReport:
    center: str | None
    from_host: str | None
    to_host: str | None
    records: int
    record_files: int
    files: int
    bytes: int
    problems: list[Problem]
    warnings: list[Problem]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["problems"] = [vars(p) for p in self.problems]
        data["warnings"] = [vars(p) for p in self.warnings]
        return data

    def by_property(self) -> dict[str, list[Problem]]:
        out: dict[str, list[Problem]] = {name: [] for name in PROPERTIES.values()}
        for p in self.problems + self.warnings:
            out[PROPERTIES.get(p.code.split(".")[0], "完整性")].append(p)
        return out


@dataclass(frozen=True)
class ImportResult:
    root: Path
    center: str
    from_host: str
    to_host: str
    records: int
    record_files: int
    bytes: int
    audit_entries: int
    created_archive: bool
    record_ids: list[int]


@dataclass(frozen=True)
class HostChange:
    center: str
    from_host: str | None
    to_host: str
    at: str
    note: str | None


# -- the machine-readable part of a bundle (data/移交资料/zhikong/) ------------------------------------


@dataclass
class BundleMeta:
    handover: dict[str, Any]
    settings: dict[str, Any]
    records: list[dict[str, Any]]
    versions: list[dict[str, Any]]
    texts: list[dict[str, Any]]
    boxes: list[dict[str, Any]]
    drafts: list[dict[str, Any]]
    doc_numbers: list[dict[str, Any]]
    audit: list[dict[str, Any]]


def load_meta(bag_dir: Path, problems: list[Problem]) -> BundleMeta | None:
    """The bundle's catalogue and audit chain; what cannot be read is added to `problems`."""
    machine = bag_dir / "data" / MACHINE
    loaded: dict[str, Any] = {}
    for name in ("handover", "settings", "records", "versions", "boxes", "drafts", "doc_numbers"):
        try:
            loaded[name] = json.loads((machine / f"{name}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            problems.append(
                Problem(
                    "integrity.metadata", f"移交数据缺失或无法读取：{exc}", path=f"data/{MACHINE}/{name}.json"
                )
            )
    for name in ("texts", "audit"):
        try:
            with open(machine / f"{name}.jsonl", encoding="utf-8") as fh:
                loaded[name] = [json.loads(line) for line in fh if line.strip()]
        except (OSError, ValueError) as exc:
            problems.append(
                Problem(
                    "integrity.metadata",
                    f"移交数据缺失或无法读取：{exc}",
                    path=f"data/{MACHINE}/{name}.jsonl",
                )
            )
    if len(loaded) < 9:
        return None
    if loaded["handover"].get("format") != FORMAT:
        problems.append(
            Problem("integrity.metadata", f"不认识的移交包格式：{loaded['handover'].get('format')}")
        )
        return None
    return BundleMeta(**loaded)


# -- catalogue rows, as every stage reads them -----------------------------------------------------


def center_prefix(center: str) -> str:
    return center.rstrip("/") + "/"


def is_file_record(r: dict[str, Any]) -> bool:
    return r["state"] == "active" and r.get("kind", "electronic") == "electronic" and bool(r["sha256"])
