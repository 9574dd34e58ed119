"""Handover (H39): the 四性 checks of DA/T 70-2018 on a bundle (真实性, 完整性, 可用性, 安全性).

`verify_dir` runs the checks in stages over an opened bag folder — bagit's own checks, the
machine-readable data (read within size limits, then every value checked: `archive.handover_schema`),
bag-info.txt, the records' paths, their files, unlisted files, earlier versions, 件号, counts, the audit
chain, the 发文字号 (`archive.handover_numbers`), and the bundle's origin: its fingerprint against the
signed papers and its signature (`archive.handover_origin`) — and collects every problem, in that order,
none raised. A bundle whose data fail the schema stops there: the later stages read its rows.
"""

from __future__ import annotations

import contextlib
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zhikong.archive import audit, bag, handover_numbers, handover_origin
from zhikong.archive.handover_model import (
    MACHINE,
    META,
    VerifyReport,
    bag_path,
    center_prefix,
    is_file_record,
    load_meta,
)
from zhikong.archive.handover_schema import check_meta
from zhikong.errors import Problem

# The machine-readable files a bundle carries in data/移交资料/zhikong/ besides objects/.
MACHINE_FILES = (
    "handover.json",
    "settings.json",
    "records.json",
    "versions.json",
    "texts.jsonl",
    "boxes.json",
    "drafts.json",
    "doc_numbers.json",
    "rectification.json",
    "pii.json",
    "audit.jsonl",
)

# 可用性 (DA/T 70-2018): the formats a 质控中心 archive accepts, and how each one starts.
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
FORMATS: dict[str, tuple[bytes, ...]] = {
    ".docx": (_ZIP,),
    ".xlsx": (_ZIP,),
    ".pptx": (_ZIP,),
    ".ofd": (_ZIP,),
    ".doc": (_OLE,),
    ".xls": (_OLE,),
    ".ppt": (_OLE,),
    ".wps": (_OLE,),
    ".et": (_OLE,),
    ".dps": (_OLE,),
    ".pdf": (b"%PDF-",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".tif": (b"II*\x00", b"MM\x00*"),
    ".tiff": (b"II*\x00", b"MM\x00*"),
    ".txt": (),
    ".csv": (),
}


@dataclass(frozen=True)
class _Findings:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def verify_bundle(
    bundle: Path,
    *,
    processes: int = 2,
    fingerprint: str | None = None,
    public_key: Path | None = None,
    limits: bag.Limits = bag.LIMITS,
) -> VerifyReport:
    """The 四性 checks of DA/T 70-2018 on a bundle; every problem is collected, none raised.

    `fingerprint` is the one printed on the signed 交接书/移交清单, `public_key` the old host's key as
    registered with the bureau; either proves the bundle's origin (see `archive.handover_origin`)."""
    expected = handover_origin.normalise(fingerprint) if fingerprint is not None else None
    key = handover_origin.load_public(public_key) if public_key is not None else None
    with bag.opened(bundle, limits) as (bag_dir, unsafe):
        if bag_dir is None:
            return VerifyReport(None, None, None, 0, 0, 0, 0, unsafe, [])
        return verify_dir(bag_dir, processes, expected=expected, public_key=key, limits=limits)


def verify_dir(
    bag_dir: Path,
    processes: int,
    *,
    expected: str | None = None,
    public_key: handover_origin.Ed25519PublicKey | None = None,
    limits: bag.Limits = bag.LIMITS,
) -> VerifyReport:
    """Every check on an opened, safe bag folder (see the module docstring for the order)."""
    checked = bag.check(bag_dir, processes=processes)
    problems = list(checked.problems)
    meta = load_meta(bag_dir, problems, max_bytes=limits.machine_file_bytes)
    payload = {p for p in checked.sha256 if p.startswith("data/")}
    total = _payload_bytes(bag_dir, payload)
    invalid = check_meta(meta) if meta is not None else []
    if meta is None or invalid:
        info = checked.info
        h = meta.handover if meta is not None else {}
        return VerifyReport(
            _text(h.get("center")) or info.get("QC-Center"),
            _text(h.get("from_host")) or info.get("Source-Organization"),
            _text(h.get("to_host")) or info.get("Receiving-Organization"),
            0,
            0,
            len(payload),
            total,
            problems + invalid,
            [],
        )
    h = meta.handover
    center = str(h["center"])
    files = [r for r in meta.records if is_file_record(r)]
    problems += _check_bag_info(checked.info, h)
    found = _check_record_files(bag_dir, files, checked.sha256)
    problems += found.problems
    problems += _check_unlisted(payload, center, files)
    problems += _check_scope(payload, center)
    problems += _check_history(meta.versions, files, checked.sha256)
    problems += _check_item_numbers(meta.records)
    problems += _check_counts(meta.records, files, h)
    problems += verify_chain(meta.audit, h.get("audit_head"))
    numbers, wrong, doubtful = handover_numbers.check(meta)
    problems += wrong
    value = handover_origin.fingerprint(checked.sha256, center)
    origin = handover_origin.check(bag_dir, value, expected=expected, public_key=public_key)
    problems += origin.problems
    return VerifyReport(
        center,
        h.get("from_host"),
        h.get("to_host"),
        len(meta.records),
        len(files),
        len(payload),
        total,
        problems,
        found.warnings + doubtful + origin.warnings,
        fingerprint=value,
        audit_head=h.get("audit_head"),
        origin=origin.origin,
        numbers=numbers,
    )


def _text(value: Any) -> str | None:
    return value[:100] if isinstance(value, str) else None


def _payload_bytes(bag_dir: Path, payload: set[str]) -> int:
    total = 0
    for p in payload:
        with contextlib.suppress(OSError):
            total += (bag_dir / p).stat().st_size
    return total


def _check_bag_info(info: dict[str, str], handover: dict[str, Any]) -> list[Problem]:
    """真实性: bag-info.txt and handover.json name the same center and hosts."""
    problems: list[Problem] = []
    for key, tag in (
        ("from_host", "Source-Organization"),
        ("to_host", "Receiving-Organization"),
        ("center", "QC-Center"),
    ):
        if info.get(tag) != handover.get(key):
            problems.append(
                Problem(
                    "authenticity.metadata",
                    f"bag-info.txt 的 {tag}（{info.get(tag)}）与移交数据（{handover.get(key)}）不符",
                )
            )
    return problems


def _check_record_files(bag_dir: Path, files: list[dict[str, Any]], sha256: dict[str, str]) -> _Findings:
    """Each catalogued file is in the bag with the catalogued checksum and size; 可用性 as warnings."""
    found = _Findings()
    for r in files:
        rel = f"data/{bag_path(r)}"
        listed = sha256.get(rel)
        if listed is None:
            found.problems.append(
                Problem("integrity.record_file", "目录中有此文件，包中没有", path=r["path"])
            )
            continue
        if listed != r["sha256"]:
            found.problems.append(
                Problem("authenticity.catalogue", "文件校验和与目录记载不符", path=r["path"])
            )
        try:
            size = (bag_dir / rel).stat().st_size
        except OSError:
            continue
        if size != r["size"]:
            found.problems.append(
                Problem(
                    "authenticity.size", f"文件大小与目录记载不符（{size} ≠ {r['size']}）", path=r["path"]
                )
            )
        else:
            issue = _usability(bag_dir, bag_path(r))
            if issue:
                found.warnings.append(issue)
    return found


def _check_unlisted(payload: set[str], center: str, files: list[dict[str, Any]]) -> list[Problem]:
    """完整性: no file in the center's folder of the bag that the catalogue does not list."""
    inside = f"data/{center_prefix(center)}"
    record_paths = {f"data/{bag_path(r)}" for r in files}
    return [
        Problem("integrity.unlisted", "包中有此文件，目录中没有记录", path=p[5:])
        for p in sorted(payload)
        if p.startswith(inside) and p not in record_paths
    ]


def _check_scope(payload: set[str], center: str) -> list[Problem]:
    """完整性: nothing in the payload but the center's folder, the papers and the machine-readable files."""
    inside = (f"data/{center_prefix(center)}", f"data/{META}/")
    machine = f"data/{MACHINE}/"
    problems = []
    for p in sorted(payload):
        if not p.startswith(inside):
            problems.append(
                Problem("integrity.unexpected", "移交包格式之外的文件（不在中心文件夹或移交资料内）", path=p)
            )
        elif p.startswith(machine) and not (
            p[len(machine) :] in MACHINE_FILES or p.startswith(f"{machine}objects/")
        ):
            problems.append(Problem("integrity.unexpected", "移交数据中多出不认识的文件", path=p))
    return problems


def _check_history(
    versions: list[dict[str, Any]], files: list[dict[str, Any]], sha256: dict[str, str]
) -> list[Problem]:
    """完整性: every earlier version not in the folder tree is carried as objects/<sha256>, intact; and
    every object carried is such a version, named by its checksum."""
    current = {r["sha256"] for r in files}
    needed = {v["sha256"] for v in versions} - current
    problems = [
        Problem("integrity.history", "早期版本的副本缺失或内容不符", path=f"objects/{sha[:12]}…")
        for sha in sorted(needed)
        if sha256.get(f"data/{MACHINE}/objects/{sha}") != sha
    ]
    prefix = f"data/{MACHINE}/objects/"
    for path, sha in sorted(sha256.items()):
        if path.startswith(prefix) and (path[len(prefix) :] != sha or sha not in needed):
            problems.append(Problem("integrity.history", "多出的或名不副实的早期版本副本", path=path))
    return problems


def _check_item_numbers(records: list[dict[str, Any]]) -> list[Problem]:
    """完整性: 件号 run 1..n without gaps within each year and retention period."""
    by_group: dict[tuple[Any, Any], list[int]] = defaultdict(list)
    for r in records:
        if r.get("item_no") is not None:
            by_group[(r.get("year"), r.get("retention"))].append(int(r["item_no"]))
    problems: list[Problem] = []
    for (year, retention), numbers in sorted(by_group.items(), key=lambda kv: str(kv[0])):
        gaps = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
        if gaps:
            problems.append(
                Problem(
                    "integrity.item_no",
                    f"{year} 年 {retention} 件号不连续，缺 {'、'.join(map(str, gaps[:20]))}",
                )
            )
    return problems


def _check_counts(
    records: list[dict[str, Any]], files: list[dict[str, Any]], handover: dict[str, Any]
) -> list[Problem]:
    """完整性: records, files and bytes are what handover.json declares."""
    counted = (len(records), len(files), sum(int(r["size"] or 0) for r in files))
    claimed = (handover.get("records"), handover.get("record_files"), handover.get("record_bytes"))
    if counted != claimed:
        return [Problem("integrity.counts", f"记录数、文件数或字节数与移交说明不符：{counted} ≠ {claimed}")]
    return []


def verify_chain(rows: list[dict[str, Any]], head: str | None) -> list[Problem]:
    """Verify an audit chain whose redacted entries carry only (seq, prev, hash): their links still count."""
    problems: list[Problem] = []
    full = [r for r in rows if not r.get("redacted")]
    expected, prev = 1, audit.GENESIS
    last: tuple[int, str] | None = None
    for r in rows:
        if r["seq"] != expected:
            problems.append(Problem("authenticity.audit", f"审计日志第 {expected}–{r['seq'] - 1} 条缺失"))
        elif r["prev"] != prev:
            problems.append(Problem("authenticity.audit", f"审计日志第 {r['seq']} 条与前一条不衔接"))
        expected, prev, last = r["seq"] + 1, r["hash"], (r["seq"], r["hash"])
    # audit.verify_rows also checks links, but redacted entries are absent from `full`: only its content
    # check ("altered") is taken from it; the links were checked above over the whole chain.
    problems += [
        Problem("authenticity.audit", p.message)
        for p in audit.verify_rows(
            (
                (
                    r["seq"],
                    r["ts"],
                    r["action"],
                    r["center"],
                    r["path"],
                    r["detail"],
                    r["prev"],
                    r["hash"],
                    r.get("actor"),
                )
                for r in full
            ),
            head=None,
        )
        if p.code == "audit.altered"
    ]
    if head:
        seq, _, digest = head.partition(":")
        if last is None or last[0] != int(seq) or last[1] != digest:
            problems.append(Problem("authenticity.audit", "审计日志末尾与登记的链头不符（被截断或改动）"))
    return problems


def _usability(bag_dir: Path, rel: str) -> Problem | None:
    path = bag_dir / "data" / rel
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        return Problem("usability.format", f"格式不在归档格式范围内（{suffix or '无扩展名'}）", path=rel)
    magic = FORMATS[suffix]
    with open(path, "rb") as fh:
        head = fh.read(16)
    if suffix in (".docx", ".xlsx", ".pptx") and head.startswith(_OLE):
        return Problem("usability.encrypted", "文件已加密（设置了打开密码），接收后无法打开", path=rel)
    if magic and not any(head.startswith(m) for m in magic):
        return Problem("usability.corrupt", "文件内容与扩展名不符或已损坏，无法打开", path=rel)
    if head.startswith(_ZIP):
        try:
            with zipfile.ZipFile(path) as zf:
                if any(i.flag_bits & 0x1 for i in zf.infolist()):
                    return Problem("usability.encrypted", "文件内容已加密，接收后无法打开", path=rel)
        except zipfile.BadZipFile:
            return Problem("usability.corrupt", "文件已损坏（不是完整的 Office/OFD 文件）", path=rel)
    if suffix == ".pdf":
        with open(path, "rb") as fh:
            if b"/Encrypt" in fh.read(1 << 16) or _pdf_tail_has_encrypt(path):
                return Problem("usability.encrypted", "PDF 已加密，接收后可能无法打开或打印", path=rel)
    return None


def _pdf_tail_has_encrypt(path: Path) -> bool:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(max(0, size - (1 << 14)))
        return b"/Encrypt" in fh.read()
