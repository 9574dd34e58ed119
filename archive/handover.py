"""Handover when a center's 挂靠单位 changes (H39): seal, bundle, verify (四性, DA/T 70-2018), import.

The bundle is a BagIt bag (see `archive.bag`) whose payload is what the receiver needs, nothing else:

    data/<center>/…                      the center's electronic records in their folder structure
    data/移交资料/移交清单.docx 交接书.docx 封存记录.docx <center>PDF汇编.pdf 目录.csv 个人信息检查.txt
    data/移交资料/zhikong/               machine-readable: handover.json, settings.json, records.json,
                                         versions.json, texts.jsonl, boxes.json, drafts.json,
                                         doc_numbers.json, rectification.json, pii.json, audit.jsonl,
                                         objects/<sha256> (earlier versions and deleted records)

Everything is in the payload, so the manifests (sha256 and sha512) cover the catalogue and the audit log as
well as the files, and `Bag.validate()` alone already proves none of it was altered.

The audit trail across a handover. The old archive's log is one chain for every center; the bundle
carries that chain with the entries of *other* centers redacted to (seq, prev, hash) — their links still
verify, their contents (other centers' file names) do not leave the old host (H27/H28). The new archive
keeps the imported chain verbatim in `imported_audit` and records its head hash in its own chain's
`handover.import` entry. Re-appending the old entries instead would give them new sequence numbers,
timestamps and hashes: the new chain would verify, but nothing would any longer prove the entries are
the ones the old host wrote. Kept verbatim and anchored, both hold: each chain verifies by itself, and
an edit to the imported copy breaks either its links or the anchor in the live chain.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from archive import audit, bag, handoverdocs
from archive.catalogue import Catalogue, now_iso
from archive.errors import ArchiveNotFound, ConflictError, Problem, SettingsError, VerificationError
from archive.preserve import ObjectStore
from archive.settings import (
    SETTINGS_FILE,
    Center,
    Roster,
    Settings,
    add_center,
    init_archive,
    load_settings,
    set_center_host,
)
from indexer.pii import PiiKind, find_pii

FORMAT = "zhikong-handover/1"
META = "移交资料"
MACHINE = f"{META}/zhikong"
CHANGE_ACTIONS = {"add": "新增", "change": "修改", "move": "移动", "delete": "删除", "reappear": "恢复"}

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


# -- seal and the after-seal rule ------------------------------------------------------------------


def _prefix(center: str) -> str:
    return center.rstrip("/") + "/"


def seals(cat: Catalogue, center: str | None = None) -> list[Seal]:
    sql = "SELECT * FROM seals" + (" WHERE center = ?" if center else "") + " ORDER BY id"
    return [Seal(**dict(r)) for r in cat.conn.execute(sql, (center,) if center else ()).fetchall()]


def seal(cat: Catalogue, center: Center, to_host: str) -> Seal:
    """Seal `center` now, or return its seal still in force (a re-run after an interrupted create)."""
    with cat.transaction():
        for s in reversed(seals(cat, center.name)):
            if s.released_at is None:
                return s
        sealed_at = now_iso()
        cur = cat.conn.execute(
            "INSERT INTO seals (center, sealed_at, to_host) VALUES (?, ?, ?)",
            (center.name, sealed_at, to_host),
        )
        seal_id = int(cur.lastrowid or 0)
        audit.append(
            cat, "handover.seal", center=center.name, seal_id=seal_id, from_host=center.host, to_host=to_host
        )
    return Seal(seal_id, center.name, sealed_at, to_host, None, None)


def after_seal_findings(cat: Catalogue, center: str | None = None) -> list[AfterSealFinding]:
    """Every change recorded in a sealed center's folder after its seal: what the checks report."""
    active = [s for s in seals(cat, center) if s.released_at is None]
    if not active:
        return []
    entries = audit.entries(cat)
    sealed_seq: dict[int, int] = {
        int(e.detail.get("seal_id", 0)): e.seq for e in entries if e.action == "handover.seal"
    }
    findings: list[AfterSealFinding] = []
    for s in active:
        start = sealed_seq.get(s.id, 0)
        prefix = _prefix(s.center)
        for e in entries:
            if e.seq <= start or e.action not in CHANGE_ACTIONS:
                continue
            paths = [e.path or "", str(e.detail.get("previous") or "")]
            if e.center == s.center or any(p.startswith(prefix) for p in paths):
                findings.append(AfterSealFinding(s.center, e.path, e.action, e.ts, s.id))
    return findings


# -- create ----------------------------------------------------------------------------------------


def _rows(cat: Catalogue, sql: str, args: Iterable[Any] = ()) -> list[dict[str, Any]]:
    return [dict(r) for r in cat.conn.execute(sql, tuple(args)).fetchall()]


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.hex() if isinstance(v, bytes) else v) for k, v in row.items()}


def _scope(cat: Catalogue, center: str) -> tuple[list[dict[str, Any]], Readiness]:
    prefix = _prefix(center)
    rows: list[dict[str, Any]] = []
    readiness = Readiness()
    for r in _rows(cat, "SELECT * FROM records ORDER BY id"):
        inside = r["path"].startswith(prefix)
        if not inside:
            if r["center"] == center and r["state"] == "active":
                readiness.outside.append(r["path"])
            continue
        if r["raw_path"] is not None:
            readiness.untransferable.append(r["path"])
            continue
        rows.append(r)
        if r["state"] != "active":
            continue
        if r["extract_status"] in ("unreadable", "unsupported"):
            readiness.unreadable.append(f"{r['path']}（{r['extract_reason'] or r['extract_status']}）")
        if r["paper_box"] is None:
            readiness.unboxed.append(r["path"])
    for p in _rows(cat, "SELECT path, message FROM problems ORDER BY path"):
        if p["path"].startswith(prefix):
            readiness.unreadable.append(f"{p['path']}（{p['message']}）")
    for d in _rows(cat, "SELECT title, state FROM drafts WHERE center = ? AND decided_at IS NULL", (center,)):
        readiness.open_drafts.append(f"{d['title']}（{d['state']}）")
    return rows, readiness


def readiness(cat: Catalogue, center: str) -> Readiness:
    """What is not ready for a handover of `center` (listed by `handover create` before it seals)."""
    return _scope(cat, center)[1]


def _is_file_record(r: dict[str, Any]) -> bool:
    return r["state"] == "active" and r.get("kind", "electronic") == "electronic" and bool(r["sha256"])


def _open_rectifications(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Inspections whose closed loop (督查记录 → 反馈意见 → 整改报告 → 回头看) is not closed yet."""
    activities: dict[tuple[Any, Any], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["state"] == "active" and r["activity_type"] == "inspection":
            activities[(r["activity_date"], r["activity"])].append(r)
    follow_ups = {
        r["activity"]
        for r in rows
        if r["state"] == "active" and r["activity_type"] == "follow_up" and r["activity"]
    }
    items = []
    for (when, name), recs in sorted(activities.items(), key=lambda kv: str(kv[0])):
        categories = {r["category"] for r in recs}
        names = " ".join(Path(r["path"]).name for r in recs)
        missing = [c for c in ("反馈意见", "整改报告") if c not in categories]
        revisited = "回头看" in names or "复查" in names or any(name and name in f for f in follow_ups)
        if not revisited:
            missing.append("回头看")
        if missing:
            items.append(
                {"activity": name, "date": when, "missing": missing, "files": [r["path"] for r in recs]}
            )
    return items


def _redacted_chain(cat: Catalogue, center: str) -> list[dict[str, Any]]:
    prefix = _prefix(center)
    out: list[dict[str, Any]] = []
    for r in _rows(cat, "SELECT * FROM audit ORDER BY seq"):
        mine = r["center"] == center or (r["path"] or "").startswith(prefix)
        if mine or (r["center"] is None and not r["path"]):
            out.append(r)
        else:
            out.append({"seq": r["seq"], "prev": r["prev"], "hash": r["hash"], "redacted": True})
    return out


def _pii(cat: Catalogue, rows: list[dict[str, Any]]) -> list[PiiFinding]:
    found = []
    for r in rows:
        if r["state"] != "active":
            continue
        text = cat.text(r["id"])
        if not text:
            continue
        kinds = Counter(m.kind for m in find_pii(text))
        if kinds:
            found.append(PiiFinding(r["path"], kinds[PiiKind.ID_CARD], kinds[PiiKind.MOBILE]))
    return found


def _cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8")


def create_bundle(
    settings: Settings,
    cat: Catalogue,
    *,
    center: str,
    to_host: str,
    out: Path,
    as_of: date | None = None,
    processes: int = 2,
) -> CreateResult:
    """Seal `center` and write its handover bundle at `out` (a folder, or a .zip)."""
    c = settings.center(center)
    to_host = to_host.strip()
    if not to_host:
        raise SettingsError("请用 --to 写明新的挂靠单位。")
    if to_host == c.host:
        raise ConflictError(f"{center} 现在就挂靠在 {to_host}，无需移交。")
    when = as_of or date.today()
    rows, ready = _scope(cat, center)
    the_seal = seal(cat, c, to_host)
    store = ObjectStore(settings.system_dir)
    current = {r["sha256"] for r in rows if _is_file_record(r)}
    ids = [r["id"] for r in rows]
    marks = ",".join("?" * len(ids))
    versions = _rows(
        cat, f"SELECT * FROM versions WHERE record_id IN ({marks}) ORDER BY record_id, version", ids
    )
    texts = _rows(cat, f"SELECT * FROM texts WHERE record_id IN ({marks}) ORDER BY record_id", ids)
    pii = _pii(cat, rows)
    parties = handoverdocs.Parties(center, c.host, to_host, settings.bureau, _cn_date(when))
    compiled: list[handoverdocs.Compiled] = []

    record_files = [r for r in rows if _is_file_record(r)]

    def fill(folder: Path) -> None:
        boxes = _rows(cat, "SELECT * FROM boxes WHERE center = ? ORDER BY year, retention, box", (center,))
        # Copies are I/O (sendfile releases the GIL) and the papers are Python work: run side by side.
        # The catalogue stays on this thread (SQLite connections are not shared across threads).
        with ThreadPoolExecutor(max_workers=4) as pool:
            papers = pool.submit(
                _papers,
                folder / META,
                parties,
                rows,
                boxes,
                the_seal,
                record_files,
                pii,
                _source(store, settings.root),
            )
            copies = [
                pool.submit(_copy_preserved, store, settings.root, r, folder / r["path"])
                for r in record_files
            ]
            _write_machine(folder / MACHINE, boxes)
            for done in copies:
                done.result()
            compiled.append(papers.result())

    def _write_machine(machine: Path, boxes: list[dict[str, Any]]) -> None:
        for sha in sorted({v["sha256"] for v in versions} - current):
            target = machine / "objects" / sha
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(store.path_of(sha), target)
        head = cat.get_meta("audit_head")
        _write_json(
            machine / "handover.json",
            {
                "format": FORMAT,
                "center": center,
                "code": c.code,
                "from_host": c.host,
                "to_host": to_host,
                "bureau": settings.bureau,
                "seal_id": the_seal.id,
                "sealed_at": the_seal.sealed_at,
                "as_of": when.isoformat(),
                "created_at": now_iso(),
                "records": len(rows),
                "record_files": len(record_files),
                "record_bytes": sum(int(r["size"] or 0) for r in record_files),
                "audit_head": head,
                "readiness": vars(ready),
            },
        )
        _write_json(
            machine / "settings.json",
            {
                "county": settings.county,
                "bureau": settings.bureau,
                "doc_prefix": settings.doc_prefix,
                "fonds": settings.fonds,
                "rules": settings.rules,
                "retention": dict(settings.retention),
                "center": {"name": c.name, "code": c.code, "host": c.host, "roster": vars(c.roster)},
            },
        )
        _write_json(machine / "records.json", [_jsonable(r) for r in rows])
        _write_json(machine / "versions.json", versions)
        with open(machine / "texts.jsonl", "w", encoding="utf-8") as fh:
            for t in texts:
                fh.write(json.dumps(t, ensure_ascii=False) + "\n")
        _write_json(machine / "boxes.json", boxes)
        _write_json(
            machine / "drafts.json",
            _rows(cat, "SELECT * FROM drafts WHERE center = ? ORDER BY id", (center,)),
        )
        _write_json(
            machine / "doc_numbers.json", _rows(cat, "SELECT * FROM doc_numbers ORDER BY prefix, year")
        )
        _write_json(machine / "rectification.json", _open_rectifications(rows))
        _write_json(machine / "pii.json", [vars(p) for p in pii])
        with open(machine / "audit.jsonl", "w", encoding="utf-8") as fh:
            for e in _redacted_chain(cat, center):
                fh.write(json.dumps(e, ensure_ascii=False) + "\n")

    info = {
        "Source-Organization": c.host,
        "Contact-Name": c.roster.secretary or c.roster.director,
        "External-Description": f"{center}档案移交：挂靠单位由{c.host}变更为{to_host}（H39）",
        "External-Identifier": f"{settings.fonds}-{c.code}-{when.isoformat()}",
        "Bagging-Date": when.isoformat(),
        "Receiving-Organization": to_host,
        "QC-Center": center,
        "QC-Center-Code": c.code,
        "Sealed-At": the_seal.sealed_at,
        "Bureau": settings.bureau,
        "Zhikong-Format": FORMAT,
    }
    expected = {f"data/{r['path']}": r["sha256"] for r in rows if _is_file_record(r)}

    def check_against_catalogue(bag_dir: Path) -> None:
        # The bytes in the bag are the preserved copies; prove they are what the catalogue recorded.
        listed = _read_manifest(bag_dir / "manifest-sha256.txt")
        wrong = [
            Problem("authenticity.catalogue", "保存的副本与目录中的校验和不符", path=p)
            for p, sha in expected.items()
            if listed.get(p) != sha
        ]
        if wrong:
            raise VerificationError(
                "保存的副本与目录不符，移交包未生成：", wrong, hint="运行 zhikong scan 后重试。"
            )

    built = bag.build(out, fill, info, processes=processes, after_bag=check_against_catalogue)
    with cat.transaction():
        cat.conn.execute("UPDATE seals SET bundle = ? WHERE id = ?", (str(built.path), the_seal.id))
        audit.append(
            cat,
            "handover.create",
            center=center,
            seal_id=the_seal.id,
            bundle=str(built.path),
            fingerprint=built.fingerprint,
            files=built.files,
            bytes=built.bytes,
            to_host=to_host,
        )
    pdf = compiled[0] if compiled else handoverdocs.Compiled(0, 0, [])
    return CreateResult(
        bundle=built.path,
        center=center,
        from_host=c.host,
        to_host=to_host,
        seal=Seal(the_seal.id, center, the_seal.sealed_at, to_host, str(built.path), None),
        records=len(rows),
        files=built.files,
        bytes=built.bytes,
        record_files=len(expected),
        fingerprint=built.fingerprint,
        pdf_pages=pdf.pages,
        pdf_skipped=pdf.skipped,
        pii=pii,
        readiness=ready,
    )


def _copy_preserved(store: ObjectStore, root: Path, r: dict[str, Any], dest: Path) -> None:
    """The record's preserved copy (content-addressed, so exactly the catalogued bytes) into the bag."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    source = store.path_of(r["sha256"])
    shutil.copyfile(source if source.is_file() else root / r["path"], dest)
    if r["mtime_ns"]:
        os.utime(dest, ns=(int(r["mtime_ns"]), int(r["mtime_ns"])))


def _papers(
    folder: Path,
    parties: handoverdocs.Parties,
    rows: list[dict[str, Any]],
    boxes: list[dict[str, Any]],
    the_seal: Seal,
    record_files: list[dict[str, Any]],
    pii: list[PiiFinding],
    source: Callable[[dict[str, Any]], Path],
) -> handoverdocs.Compiled:
    folder.mkdir(parents=True, exist_ok=True)
    active = [r for r in rows if r["state"] == "active"]
    items = [
        handoverdocs.ItemRow(
            archival_code=r.get("archival_code") or "",
            title=r["title"] or Path(r["path"]).stem,
            date=r.get("doc_date") or r["activity_date"] or "",
            category=r["category"],
            carrier="电子" + ("+纸质" if r.get("paper_box") is not None else "")
            if r.get("kind", "electronic") == "electronic"
            else "纸质",
            box="" if r.get("paper_box") is None else str(r["paper_box"]),
            path=r["path"] if r.get("kind", "electronic") == "electronic" else "",
        )
        for r in active
    ]
    handoverdocs.inventory(folder / "移交清单.docx", parties, items)
    box_rows = []
    for b in boxes:
        inside = sorted(
            (
                r
                for r in active
                if r.get("paper_box") == b["box"]
                and r["year"] == b["year"]
                and r.get("retention") == b["retention"]
            ),
            key=lambda r: r.get("item_no") or 0,
        )
        codes = [r.get("archival_code") or "" for r in inside]
        box_rows.append(
            handoverdocs.BoxRow(
                b["year"],
                b["retention"],
                b["box"],
                len(inside),
                codes[0] if codes else "",
                codes[-1] if codes else "",
            )
        )
    handoverdocs.seal_record(folder / "封存记录.docx", parties, the_seal.sealed_at, box_rows)
    handoverdocs.certificate(
        folder / "交接书.docx",
        parties,
        files=len(record_files),
        size=sum(int(r["size"] or 0) for r in record_files),
        records=len(rows),
        boxes=len(boxes),
    )
    pdfs = sorted(
        (r for r in record_files if r["path"].lower().endswith(".pdf")),
        key=lambda r: (r["year"] or 0, r["category"], r["path"]),
    )
    compiled = handoverdocs.compile_pdfs(
        folder / f"{parties.center}PDF汇编.pdf",
        [
            handoverdocs.PdfEntry(r["year"], r["category"], r["title"] or Path(r["path"]).stem, source(r))
            for r in pdfs
        ],
        title=f"{parties.center}PDF文件汇编",
    )
    with open(folder / "目录.csv", "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["档号", "题名", "日期", "类别", "载体", "盒号", "路径", "sha256", "状态"])
        for r in rows:
            writer.writerow(
                [
                    r.get("archival_code") or "",
                    r["title"] or Path(r["path"]).stem,
                    r.get("doc_date") or r["activity_date"] or "",
                    r["category"],
                    r.get("kind", "electronic"),
                    "" if r.get("paper_box") is None else r["paper_box"],
                    r["path"],
                    r["sha256"] or "",
                    r["state"],
                ]
            )
    lines = [f"{parties.center}移交包个人信息检查（只列文件与数量，不含个人信息本身）", ""]
    lines += [f"{p.path}\t身份证号 {p.id_cards} 处\t手机号 {p.mobiles} 处" for p in pii] or [
        "未发现身份证号或手机号。"
    ]
    (folder / "个人信息检查.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return compiled


def _source(store: ObjectStore, root: Path) -> Callable[[dict[str, Any]], Path]:
    """Where to read a record's bytes: its preserved copy, else the file in the folder."""

    def find(r: dict[str, Any]) -> Path:
        preserved = store.path_of(r["sha256"])
        return preserved if preserved.is_file() else root / r["path"]

    return find


def _read_manifest(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) == 2:
            out[parts[1].lstrip("*")] = parts[0].lower()
    return out


# -- verify ----------------------------------------------------------------------------------------


@dataclass
class _Meta:
    handover: dict[str, Any]
    settings: dict[str, Any]
    records: list[dict[str, Any]]
    versions: list[dict[str, Any]]
    texts: list[dict[str, Any]]
    boxes: list[dict[str, Any]]
    drafts: list[dict[str, Any]]
    doc_numbers: list[dict[str, Any]]
    audit: list[dict[str, Any]]


def _load_meta(bag_dir: Path, problems: list[Problem]) -> _Meta | None:
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
    return _Meta(**loaded)


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


def _verify_dir(bag_dir: Path, processes: int) -> VerifyReport:
    checked = bag.check(bag_dir, processes=processes)
    problems = list(checked.problems)
    warnings: list[Problem] = []
    meta = _load_meta(bag_dir, problems)
    info = checked.info
    payload = {p for p in checked.sha256 if p.startswith("data/")}
    total = 0
    for p in payload:
        with contextlib.suppress(OSError):
            total += (bag_dir / p).stat().st_size
    if meta is None:
        return VerifyReport(
            info.get("QC-Center"),
            info.get("Source-Organization"),
            info.get("Receiving-Organization"),
            0,
            0,
            len(payload),
            total,
            problems,
            warnings,
        )
    h = meta.handover
    center = str(h.get("center", ""))
    prefix = _prefix(center)
    for key, tag in (
        ("from_host", "Source-Organization"),
        ("to_host", "Receiving-Organization"),
        ("center", "QC-Center"),
    ):
        if info.get(tag) != h.get(key):
            problems.append(
                Problem(
                    "authenticity.metadata",
                    f"bag-info.txt 的 {tag}（{info.get(tag)}）与移交数据（{h.get(key)}）不符",
                )
            )
    files = [r for r in meta.records if _is_file_record(r)]
    record_paths: set[str] = set()
    for r in meta.records:
        reason = bag.unsafe_reason(str(r.get("path", "")))
        if reason or not str(r.get("path", "")).startswith(prefix):
            problems.append(
                Problem(
                    "security.path",
                    f"目录记录的路径不安全或不在中心文件夹内：{reason or prefix}",
                    path=str(r.get("path")),
                )
            )
    for r in files:
        rel = f"data/{r['path']}"
        record_paths.add(rel)
        listed = checked.sha256.get(rel)
        if listed is None:
            problems.append(Problem("integrity.record_file", "目录中有此文件，包中没有", path=r["path"]))
            continue
        if listed != r["sha256"]:
            problems.append(Problem("authenticity.catalogue", "文件校验和与目录记载不符", path=r["path"]))
        try:
            size = (bag_dir / rel).stat().st_size
        except OSError:
            continue
        if size != r["size"]:
            problems.append(
                Problem(
                    "authenticity.size", f"文件大小与目录记载不符（{size} ≠ {r['size']}）", path=r["path"]
                )
            )
        else:
            issue = _usability(bag_dir, r["path"])
            if issue:
                warnings.append(issue)
    for p in sorted(payload):
        if p.startswith(f"data/{prefix}") and p not in record_paths:
            problems.append(Problem("integrity.unlisted", "包中有此文件，目录中没有记录", path=p[5:]))
    current = {r["sha256"] for r in files}
    for sha in sorted({v["sha256"] for v in meta.versions} - current):
        if checked.sha256.get(f"data/{MACHINE}/objects/{sha}") != sha:
            problems.append(
                Problem("integrity.history", "早期版本的副本缺失或内容不符", path=f"objects/{sha[:12]}…")
            )
    by_group: dict[tuple[Any, Any], list[int]] = defaultdict(list)
    for r in meta.records:
        if r.get("item_no") is not None:
            by_group[(r.get("year"), r.get("retention"))].append(int(r["item_no"]))
    for (year, retention), numbers in sorted(by_group.items(), key=lambda kv: str(kv[0])):
        gaps = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
        if gaps:
            problems.append(
                Problem(
                    "integrity.item_no",
                    f"{year} 年 {retention} 件号不连续，缺 {'、'.join(map(str, gaps[:20]))}",
                )
            )
    counted = (len(meta.records), len(files), sum(int(r["size"] or 0) for r in files))
    claimed = (h.get("records"), h.get("record_files"), h.get("record_bytes"))
    if counted != claimed:
        problems.append(
            Problem("integrity.counts", f"记录数、文件数或字节数与移交说明不符：{counted} ≠ {claimed}")
        )
    problems += verify_chain(meta.audit, h.get("audit_head"))
    return VerifyReport(
        center,
        h.get("from_host"),
        h.get("to_host"),
        len(meta.records),
        len(files),
        len(payload),
        total,
        problems,
        warnings,
    )


def verify_bundle(bundle: Path, *, processes: int = 2) -> VerifyReport:
    """The 四性 checks of DA/T 70-2018 on a bundle; every problem is collected, none raised."""
    with bag.opened(bundle) as (bag_dir, unsafe):
        if bag_dir is None:
            return VerifyReport(None, None, None, 0, 0, 0, 0, unsafe, [])
        return _verify_dir(bag_dir, processes)


# -- import ----------------------------------------------------------------------------------------


def import_bundle(root: Path, bundle: Path, *, processes: int = 2) -> ImportResult:
    """Verify `bundle`, then make its center part of the archive at `root` (created if it is not one).

    Nothing is written before the bundle has passed every check and the new archive has been found able
    to take the center (no clash of names, codes, 档号 or files).
    """
    root = root.expanduser().resolve()
    with bag.opened(bundle) as (bag_dir, unsafe):
        if bag_dir is None:
            raise VerificationError(
                "移交包不安全，已拒绝，没有写入任何内容：", unsafe, hint="请向移交单位索取原始移交包。"
            )
        report = _verify_dir(bag_dir, processes)
        if report.problems:
            raise VerificationError(
                "移交包校验未通过，没有导入：", report.problems, hint="请向移交单位核实后重新移交。"
            )
        meta = _load_meta(bag_dir, [])
        assert meta is not None  # verified above
        return _import(root, bag_dir, meta)


def _import(root: Path, bag_dir: Path, meta: _Meta) -> ImportResult:
    h, s = meta.handover, meta.settings
    center = str(h["center"])
    sc = s["center"]
    to_host = str(h["to_host"])
    created = not (root / SETTINGS_FILE).is_file()
    if created and root.exists() and any(root.iterdir()):
        raise ArchiveNotFound(
            f"{root} 不是档案库，也不是空目录，没有导入。",
            hint="用 --root 指定新挂靠单位的档案库，或一个新的空目录。",
        )
    if not created:
        settings = load_settings(root)
        with Catalogue.open(settings.system_dir) as cat:
            _preconditions(settings, cat, meta)
    if created:
        settings = init_archive(
            root, county=s["county"], bureau=s["bureau"], doc_prefix=s["doc_prefix"], fonds=s["fonds"]
        )
        with Catalogue.open(settings.system_dir) as cat:
            audit.append(
                cat, "init", county=s["county"], bureau=s["bureau"], fonds=s["fonds"], by="handover.import"
            )
    store = ObjectStore(settings.system_dir)
    staging = Path(tempfile.mkdtemp(dir=_tmp_dir(settings), prefix="import-"))
    target = root / center
    try:
        source = bag_dir / "data" / center
        if source.is_dir():
            shutil.copytree(source, staging / center, copy_function=shutil.copyfile)
        else:
            (staging / center).mkdir()
        mtimes = {r["path"]: int(r["mtime_ns"]) for r in meta.records if _is_file_record(r) and r["mtime_ns"]}
        for rel, mtime in mtimes.items():
            os.utime(staging / rel, ns=(mtime, mtime))
            store.add_file(staging / rel)
        objects = bag_dir / "data" / MACHINE / "objects"
        if objects.is_dir():
            for obj in objects.iterdir():
                store.add_file(obj)
        if target.exists():
            shutil.rmtree(target)  # only empty folders: `_preconditions` refused a folder holding files
        os.replace(staging / center, target)
        try:
            with Catalogue.open(settings.system_dir) as cat:
                ids, entries = _insert(cat, meta, to_host)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    roster = sc.get("roster", {})
    if center in settings.center_names():
        set_center_host(settings, center, to_host)
    else:
        add_center(
            settings,
            Center(
                center,
                sc["code"],
                to_host,
                Roster(
                    director=roster.get("director", ""),
                    deputies=tuple(roster.get("deputies", ())),
                    secretary=roster.get("secretary", ""),
                    members=tuple(roster.get("members", ())),
                    term_start=roster.get("term_start", ""),
                    consecutive_terms=int(roster.get("consecutive_terms", 1)),
                ),
            ),
            year=date.today().year,
        )
    files = [r for r in meta.records if _is_file_record(r)]
    return ImportResult(
        root=root,
        center=center,
        from_host=str(h["from_host"]),
        to_host=to_host,
        records=len(meta.records),
        record_files=len(files),
        bytes=sum(int(r["size"] or 0) for r in files),
        audit_entries=entries,
        created_archive=created,
        record_ids=ids,
    )


def _tmp_dir(settings: Settings) -> Path:
    path = settings.system_dir / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _preconditions(settings: Settings, cat: Catalogue, meta: _Meta) -> None:
    center = str(meta.handover["center"])
    code = str(meta.settings["center"]["code"])
    problems: list[Problem] = []
    for c in settings.centers:
        if c.name == center and c.code != code:
            problems.append(
                Problem("conflict.code", f"本库已登记 {center}，但代码是 {c.code}，移交包是 {code}")
            )
        if c.name != center and c.code == code:
            problems.append(Problem("conflict.code", f"中心代码 {code} 已被本库的 {c.name} 使用"))
    prefix = _prefix(center)
    active = cat.conn.execute(
        "SELECT COUNT(*) FROM records WHERE state = 'active' AND substr(path, 1, ?) = ?",
        (len(prefix), prefix),
    ).fetchone()[0]
    if active:
        problems.append(Problem("conflict.records", f"本库的 {center} 已有 {active} 条档案记录"))
    folder = settings.root / center
    if folder.exists() and any(p.is_file() or p.is_symlink() for p in folder.rglob("*")):
        problems.append(Problem("conflict.folder", f"本库的文件夹 {center} 里已有文件", path=str(folder)))
    codes = [r["archival_code"] for r in meta.records if r.get("archival_code")]
    if codes:
        marks = ",".join("?" * len(codes))
        taken = [
            r[0]
            for r in cat.conn.execute(
                f"SELECT archival_code FROM records WHERE archival_code IN ({marks})", codes
            )
        ]
        problems += [Problem("conflict.archival_code", "档号在本库中已被使用", path=c) for c in taken]
    if problems:
        raise ConflictError(
            "新挂靠单位的档案库不能直接接收这个中心，没有导入：\n  - "
            + "\n  - ".join(p.message for p in problems),
            hint="请先与医政科确认中心名称和代码，或导入到一个新的空目录。",
        )


def _columns(cat: Catalogue, table: str) -> set[str]:
    return {r[1] for r in cat.conn.execute(f"PRAGMA table_info({table})")}


def _insert_row(cat: Catalogue, table: str, row: dict[str, Any], columns: set[str]) -> int:
    keys = [k for k in row if k in columns]
    cur = cat.conn.execute(
        f"INSERT INTO {table} ({', '.join(keys)}) VALUES ({', '.join('?' * len(keys))})",
        [row[k] for k in keys],
    )
    return int(cur.lastrowid or 0)


def _insert(cat: Catalogue, meta: _Meta, to_host: str) -> tuple[list[int], int]:
    """Every catalogue row of the bundle, with new ids; the imported chain; the host change. One transaction."""
    h = meta.handover
    center = str(h["center"])
    chain = f"{h['from_host']}:{h['seal_id']}:{h['sealed_at']}"
    with cat.transaction():
        record_cols = _columns(cat, "records")
        new_id: dict[int, int] = {}
        for r in meta.records:
            row = {k: v for k, v in r.items() if k != "id"}
            row["raw_path"] = None
            row["scan_of"] = None
            new_id[int(r["id"])] = _insert_row(cat, "records", row, record_cols)
        for r in meta.records:
            if r.get("scan_of") is not None and int(r["scan_of"]) in new_id:
                cat.conn.execute(
                    "UPDATE records SET scan_of = ? WHERE id = ?",
                    (new_id[int(r["scan_of"])], new_id[int(r["id"])]),
                )
        version_cols = _columns(cat, "versions")
        for v in meta.versions:
            _insert_row(cat, "versions", {**v, "record_id": new_id[int(v["record_id"])]}, version_cols)
        for t in meta.texts:
            cat.conn.execute(
                "INSERT OR REPLACE INTO texts (record_id, sha256, text) VALUES (?, ?, ?)",
                (new_id[int(t["record_id"])], t["sha256"], t["text"]),
            )
        box_cols = _columns(cat, "boxes")
        for b in meta.boxes:
            cat.conn.execute(
                "DELETE FROM boxes WHERE center = ? AND year = ? AND retention = ? AND box = ?",
                (b["center"], b["year"], b["retention"], b["box"]),
            )
            _insert_row(cat, "boxes", b, box_cols)
        draft_cols = _columns(cat, "drafts")
        for d in meta.drafts:
            rid = d.get("record_id")
            row = {k: v for k, v in d.items() if k != "id"}
            row["record_id"] = new_id.get(int(rid)) if rid is not None else None
            if (
                row.get("doc_number")
                and cat.conn.execute(
                    "SELECT 1 FROM drafts WHERE doc_number = ?", (row["doc_number"],)
                ).fetchone()
            ):
                continue  # the same approved document already known here (same county, same numbering)
            _insert_row(cat, "drafts", row, draft_cols)
        for n in meta.doc_numbers:
            cat.conn.execute(
                """INSERT INTO doc_numbers (prefix, year, last) VALUES (?, ?, ?)
                   ON CONFLICT(prefix, year) DO UPDATE SET last = max(last, excluded.last)""",
                (n["prefix"], n["year"], n["last"]),
            )
        for e in meta.audit:
            cat.conn.execute(
                """INSERT INTO imported_audit (chain, seq, ts, action, center, path, detail, prev, hash, redacted)
                   VALUES (?,?,?,?,?,?,?,?,?,?)""",
                (
                    chain,
                    e["seq"],
                    e.get("ts"),
                    e.get("action"),
                    e.get("center"),
                    e.get("path"),
                    e.get("detail"),
                    e["prev"],
                    e["hash"],
                    int(bool(e.get("redacted"))),
                ),
            )
        at = now_iso()
        fingerprint = _records_digest(meta.records)
        cat.conn.execute(
            "INSERT INTO host_changes (center, from_host, to_host, at, bundle_sha256, note) VALUES (?,?,?,?,?,?)",
            (center, h["from_host"], to_host, at, fingerprint, f"移交包导入，封存于 {h['sealed_at']}"),
        )
        audit.append(
            cat,
            "handover.import",
            center=center,
            chain=chain,
            imported_head=h.get("audit_head"),
            imported_entries=len(meta.audit),
            from_host=h["from_host"],
            to_host=to_host,
            records=len(meta.records),
            catalogue_sha256=fingerprint,
        )
    return [new_id[int(r["id"])] for r in meta.records], len(meta.audit)


def _records_digest(records: list[dict[str, Any]]) -> str:
    """One sha256 over the imported catalogue rows (path, sha256, state): what host_changes records."""
    digest = hashlib.sha256()
    for r in sorted(records, key=lambda r: (r["path"], r["id"])):
        digest.update(f"{r['path']}\t{r['sha256']}\t{r['state']}\n".encode())
    return digest.hexdigest()


def verify_imported(cat: Catalogue) -> list[Problem]:
    """Each imported chain verifies by itself and still ends at the head anchored in the live chain."""
    problems: list[Problem] = []
    anchors = {
        e.detail.get("chain"): e.detail.get("imported_head")
        for e in audit.entries(cat)
        if e.action == "handover.import"
    }
    chains = [r[0] for r in cat.conn.execute("SELECT DISTINCT chain FROM imported_audit")]
    for chain in chains:
        rows = _rows(cat, "SELECT * FROM imported_audit WHERE chain = ? ORDER BY seq", (chain,))
        for r in rows:
            r["redacted"] = bool(r["redacted"])
        if chain not in anchors:
            problems.append(Problem("audit.imported", f"导入的审计日志（{chain}）在本库日志中没有登记"))
            continue
        for p in verify_chain(rows, anchors[chain]):
            problems.append(Problem("audit.imported", f"导入的审计日志（{chain}）：{p.message}"))
    return problems


@dataclass(frozen=True)
class HostChange:
    center: str
    from_host: str | None
    to_host: str
    at: str
    note: str | None


def host_changes(cat: Catalogue) -> list[HostChange]:
    return [
        HostChange(r["center"], r["from_host"], r["to_host"], r["at"], r["note"])
        for r in cat.conn.execute("SELECT * FROM host_changes ORDER BY id")
    ]
