"""Handover (H39): the bundle's format and the value objects passed between its stages.

Every other `archive.handover_*` module imports from here and this module imports none of them, so the
stages (seal, create, verify, import) never import each other in a cycle.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
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
    # Names that collide on Windows or macOS (Test.pdf, test.pdf): carried under another name in the bag,
    # their original names restored by import. Told, not a defect: not counted in `empty`.
    renamed: list[str] = field(default_factory=list)

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
    record_nos: int = 0  # 住院号/病案号 …


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
    fingerprint: str  # printed on the 交接书 and 移交清单: see archive.handover_origin
    pdf_pages: int
    pdf_skipped: list[tuple[str, str]]
    pii: list[PiiFinding]
    readiness: Readiness
    rectification: tuple[InspectionLoop, ...] = ()  # open and in-progress loops, as in rectification.json
    audit_head: str | None = None  # "SEQ:HASH" of the chain the bundle carries, printed on the papers too
    tagmanifest_sha256: str = ""  # the whole bag's digest (covers the papers, so it cannot be on them)
    key_id: str | None = None  # the key that signed the fingerprint, if one did


class Origin(StrEnum):
    """How the receiver established that a bundle is the one the old host made (not only self-consistent)."""

    UNCHECKED = "unchecked"  # no fingerprint or key given: the bundle is consistent, its origin unproven
    FINGERPRINT = "fingerprint"  # matches the fingerprint printed on the signed 交接书/移交清单
    SIGNATURE = "signature"  # signed with the key the old host registered with the bureau
    BOTH = "fingerprint+signature"

    @property
    def label(self) -> str:
        return {
            Origin.UNCHECKED: "未核对来源",
            Origin.FINGERPRINT: "指纹与交接书一致",
            Origin.SIGNATURE: "签名有效",
            Origin.BOTH: "指纹与交接书一致，签名有效",
        }[self]


@dataclass(frozen=True)
class NumberClaim:
    """A 发文字号 sequence the bundle speaks of: what its approved drafts prove, what its counter says.

    An import raises the receiver's counter for (prefix, year) to `proven` at most, never to `claimed`."""

    prefix: str
    year: int
    proven: int  # the highest number among the bundle's approved drafts (each with its approval entry)
    claimed: int  # `last` in doc_numbers.json


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
    fingerprint: str | None = None  # see archive.handover_origin: what the signed papers print
    audit_head: str | None = None  # "SEQ:HASH" of the old host's chain, also printed on the papers
    origin: Origin = Origin.UNCHECKED
    numbers: list[NumberClaim] = field(default_factory=list)

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
    origin: Origin = Origin.UNCHECKED
    numbers: list[NumberClaim] = field(default_factory=list)  # counters raised (to `proven`)
    # "原名 → 包内名" for files whose original name this file system could not hold beside another's
    kept_bag_names: list[str] = field(default_factory=list)


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


_LISTS = ("records", "versions", "boxes", "drafts", "doc_numbers")
_LINES = ("texts", "audit")


def load_meta(bag_dir: Path, problems: list[Problem], *, max_bytes: int) -> BundleMeta | None:
    """The bundle's catalogue and audit chain, each file at most `max_bytes` and of the expected JSON
    shape (an object, or a list of objects); what cannot be read is added to `problems`.

    Only the shape is checked here; the values are checked by `archive.handover_schema`."""
    machine = bag_dir / "data" / MACHINE
    if not (machine / "handover.json").is_file():
        problems.append(
            Problem(
                "integrity.metadata",
                "不是 zhikong 移交包：缺少移交数据 handover.json（请确认收到的是 zhikong handover create 生成的移交包）",
                path=f"data/{MACHINE}/handover.json",
            )
        )
        return None
    loaded: dict[str, Any] = {}
    for name in ("handover", "settings", *_LISTS, *_LINES):
        file = machine / (f"{name}.jsonl" if name in _LINES else f"{name}.json")
        where = f"data/{MACHINE}/{file.name}"
        try:
            size = file.stat().st_size
            if size > max_bytes:
                problems.append(
                    Problem(
                        "security.size",
                        f"移交数据过大（{size:,} 字节，上限 {max_bytes:,}），未读取",
                        path=where,
                    )
                )
                continue
            with open(file, encoding="utf-8") as fh:
                value: Any = (
                    [json.loads(line) for line in fh if line.strip()] if name in _LINES else json.load(fh)
                )
        except FileNotFoundError:
            problems.append(Problem("integrity.metadata", "移交数据缺失", path=where))
            continue
        except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            problems.append(
                Problem("integrity.metadata", f"移交数据无法读取（不是有效的 UTF-8 JSON）：{exc}", path=where)
            )
            continue
        expected = dict if name in ("handover", "settings") else list
        if not isinstance(value, expected) or (
            expected is list and not all(isinstance(item, dict) for item in value)
        ):
            shape = "一个对象" if expected is dict else "由对象组成的列表"
            problems.append(Problem("integrity.metadata", f"移交数据格式不对：应为{shape}", path=where))
            continue
        loaded[name] = value
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


def paper_prefix(center: str) -> str:
    """Where the center's paper-only items are registered (they have no file; see archive.paper)."""
    from zhikong.archive.paper import PAPER_ROOT

    return f"{PAPER_ROOT}/{center}/"


def is_file_record(r: dict[str, Any]) -> bool:
    return r["state"] == "active" and r.get("kind", "electronic") == "electronic" and bool(r["sha256"])


# -- names in the bag ------------------------------------------------------------------------------
#
# Two files whose names differ only in case or Unicode form (Test.pdf and test.pdf; é as one code point
# or as e + ◌́) are two files on Linux, one on Windows and macOS: a bag holding both could not be unpacked
# by a receiver on Windows, and verify refuses it (security.duplicate). The bag therefore stores such a
# file under a distinct name ("bag_path" in records.json) while the record keeps its original "path";
# import restores the original where the receiver's file system can hold it.

BAG_PATH = "bag_path"


def bag_path(r: dict[str, Any]) -> str:
    """Where a record's file is in the bag's data/ folder."""
    return str(r.get(BAG_PATH) or r["path"])


def bag_paths(paths: list[str]) -> dict[str, str]:
    """Each path → a name in the bag that no other collides with under `fold` (case, Unicode form).

    Folders that fold alike are merged under the first spelling met (as Windows would merge them); a file
    whose folded name is taken is stored as "名称（同名2）.pdf". Deterministic: paths are taken in sorted
    order, so the same catalogue always gives the same bag.
    """
    from zhikong.archive.bag import fold

    folders: dict[str, str] = {}  # folded folder path → its spelling in the bag
    taken: set[str] = {fold(p) for p in paths}  # every original name stays reserved for itself
    used: set[str] = set()
    out: dict[str, str] = {}
    for path in sorted(paths):
        *dirs, name = path.split("/")
        spelled: list[str] = []
        for d in dirs:
            key = fold("/".join([*spelled, d]))
            spelled.append(folders.setdefault(key, "/".join([*spelled, d])).rsplit("/", 1)[-1])
        parent = "/".join(spelled)
        candidate = f"{parent}/{name}" if parent else name
        n = 1
        while fold(candidate) in used or (candidate != path and fold(candidate) in taken - {fold(path)}):
            n += 1
            stem, dot, ext = name.rpartition(".")
            renamed = f"{stem}（同名{n}）.{ext}" if dot and stem else f"{name}（同名{n}）"
            candidate = f"{parent}/{renamed}" if parent else renamed
        used.add(fold(candidate))
        out[path] = candidate
    return out
