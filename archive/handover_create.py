"""Handover (H39): seal a center and write its bundle.

`create_bundle` runs in stages: check the request → read the scope (and what is not ready) → seal → read
everything the bundle carries from the catalogue → fill the bag (record copies and machine-readable data,
then the fingerprint of both, then the papers that print it) → sign the fingerprint if a key is given →
check the bag against the catalogue and the fingerprint → record the bundle on the seal. `bag.build` owns
the temporary folder: nothing appears at `out` unless every stage before the last succeeded.

The fingerprint printed on the 交接书 and 移交清单 covers what an import takes, not the papers themselves
(which cannot contain their own digest): see `archive.handover_origin`.
"""

from __future__ import annotations

import contextvars
import csv
import json
import os
import shutil
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import bagit

from zhikong.archive import audit, bag, handover_origin, handoverdocs
from zhikong.archive.catalogue import Catalogue, now_iso
from zhikong.archive.checks import InspectionLoop, LoopState, inspection_loops, load_facts
from zhikong.archive.handover_model import (
    BAG_PATH,
    FORMAT,
    MACHINE,
    META,
    CreateResult,
    PiiFinding,
    Readiness,
    Seal,
    bag_path,
    bag_paths,
    center_prefix,
    is_file_record,
    paper_prefix,
)
from zhikong.archive.handover_seal import seal
from zhikong.archive.preserve import ObjectStore, sha256_file
from zhikong.archive.rules import load_rules
from zhikong.archive.settings import Center, Settings
from zhikong.errors import ConflictError, Problem, SettingsError, VerificationError
from zhikong.indexer.pii import PiiKind, find_pii, mask_pii


@dataclass(frozen=True)
class _Request:
    """A checked request: a known center, a new host that differs from the current one, a date."""

    center: Center
    to_host: str
    when: date


@dataclass(frozen=True)
class _Content:
    """Everything the bundle carries from the catalogue.

    Read on the calling thread before the bag is filled: the bag is filled by a thread pool, and SQLite
    connections are not shared across threads.
    """

    rows: list[dict[str, Any]]  # every record in the center's folder, deleted and paper-only included
    readiness: Readiness
    record_files: list[dict[str, Any]]  # the rows whose file goes into the bag
    versions: list[dict[str, Any]]
    texts: list[dict[str, Any]]
    boxes: list[dict[str, Any]]
    drafts: list[dict[str, Any]]
    doc_numbers: list[dict[str, Any]]
    audit: list[dict[str, Any]]  # the whole chain, other centers' entries redacted
    audit_head: str | None
    pii: list[PiiFinding]
    rectification: tuple[InspectionLoop, ...]  # inspections whose closed loop is not closed yet

    @property
    def expected(self) -> dict[str, str]:
        """Payload path → the sha256 the catalogue recorded for it."""
        return {f"data/{bag_path(r)}": r["sha256"] for r in self.record_files}

    @property
    def objects(self) -> set[str]:
        """Earlier versions and deleted records: carried as objects/<sha256>, not in the folder tree."""
        return {v["sha256"] for v in self.versions} - {r["sha256"] for r in self.record_files}


# -- the public entry points -----------------------------------------------------------------------


def readiness(cat: Catalogue, center: str) -> Readiness:
    """What is not ready for a handover of `center` (listed by `handover create` before it seals)."""
    return _scope(cat, center)[1]


def create_bundle(
    settings: Settings,
    cat: Catalogue,
    *,
    center: str,
    to_host: str,
    out: Path,
    as_of: date | None = None,
    processes: int = 2,
    sign_key: Path | None = None,
) -> CreateResult:
    """Seal `center` and write its handover bundle at `out` (a folder, or a .zip); with `sign_key` (an
    Ed25519 private key from `handover keygen`) its fingerprint is signed too."""
    request = _request(settings, center, to_host, as_of)
    key = handover_origin.load_private(sign_key) if sign_key is not None else None
    rows, ready = _scope(cat, center)
    the_seal = seal(cat, request.center, request.to_host)
    content = _read_content(settings, cat, request, rows, ready)
    store = ObjectStore(settings.system_dir)
    filled: list[_Filled] = []

    def fill(folder: Path) -> None:
        filled.append(_fill(folder, settings, store, request, the_seal, content))

    def tags() -> dict[str, str]:
        if key is None:
            return {}
        return {handover_origin.SIGNATURE_FILE: handover_origin.signature_file(key, filled[0].fingerprint)}

    built = bag.build(
        out,
        fill,
        _bag_info(settings, request, the_seal),
        processes=processes,
        tags=tags,
        after_bag=lambda made: _check_bag(made, content.expected, center, filled[0].fingerprint),
    )
    fingerprint = filled[0].fingerprint
    _record_bundle(cat, request, the_seal, built, fingerprint)
    pdf = filled[0].compiled
    return CreateResult(
        bundle=built.path,
        center=center,
        from_host=request.center.host,
        to_host=request.to_host,
        seal=Seal(the_seal.id, center, the_seal.sealed_at, request.to_host, str(built.path), None),
        records=len(rows),
        files=built.files,
        bytes=built.bytes,
        record_files=len(content.expected),
        fingerprint=fingerprint,
        pdf_pages=pdf.pages,
        pdf_skipped=pdf.skipped,
        pii=content.pii,
        readiness=ready,
        rectification=content.rectification,
        audit_head=content.audit_head,
        tagmanifest_sha256=built.fingerprint,
        key_id=handover_origin.key_id(key.public_key()) if key is not None else None,
    )


# -- stage: check the request ----------------------------------------------------------------------


def _request(settings: Settings, center: str, to_host: str, as_of: date | None) -> _Request:
    c = settings.center(center)
    to_host = to_host.strip()
    if not to_host:
        raise SettingsError("请用 --to 写明新的挂靠单位。")
    if to_host == c.host:
        raise ConflictError(f"{center} 现在就挂靠在 {to_host}，无需移交。")
    return _Request(c, to_host, as_of or date.today())


# -- stage: scope and readiness --------------------------------------------------------------------


def _scope(cat: Catalogue, center: str) -> tuple[list[dict[str, Any]], Readiness]:
    prefix, paper = center_prefix(center), paper_prefix(center)
    rows: list[dict[str, Any]] = []
    readiness = Readiness()
    for r in cat.record_rows():
        # the center's folder, and its paper-only items (registered under 纸质件/<center>/, no file)
        inside = r["path"].startswith(prefix) or (r["kind"] == "paper" and r["path"].startswith(paper))
        if not inside:
            if r["center"] == center and r["state"] == "active":
                readiness.outside.append(r["path"])
            continue
        if r["raw_path"] is not None or bag.unsafe_reason(r["path"]):
            # Not valid UTF-8, or a name the receiver's verify refuses (CON, a:b.txt, a trailing dot):
            # listed to be renamed, never carried into a bundle that could not be imported.
            readiness.untransferable.append(r["path"])
            continue
        rows.append(r)
        if r["state"] != "active":
            continue
        if r["extract_status"] in ("unreadable", "unsupported", "garbled"):
            readiness.unreadable.append(f"{r['path']}（{r['extract_reason'] or r['extract_status']}）")
        if r["paper_box"] is None:
            readiness.unboxed.append(r["path"])
    for path, message in cat.problems():
        if path.startswith(prefix):
            readiness.unreadable.append(f"{path}（{message}）")
    for d in cat.undecided_drafts(center):
        readiness.open_drafts.append(f"{d['title']}（{d['state']}）")
    return rows, readiness


# -- stage: read what the bundle carries -----------------------------------------------------------


def _read_content(
    settings: Settings, cat: Catalogue, request: _Request, rows: list[dict[str, Any]], ready: Readiness
) -> _Content:
    center = request.center.name
    ids = [r["id"] for r in rows]
    rows = _named_in_bag(rows, ready)
    return _Content(
        rows=rows,
        readiness=ready,
        record_files=[r for r in rows if is_file_record(r)],
        versions=cat.version_rows(ids),
        texts=cat.text_rows(ids),
        boxes=cat.box_rows(center),
        drafts=cat.drafts(center=center),
        doc_numbers=cat.doc_number_rows(),
        audit=_redacted_chain(cat, center),
        audit_head=cat.get_meta("audit_head"),
        pii=_pii(cat, rows),
        rectification=_open_rectifications(settings, cat, center, request.when),
    )


def _named_in_bag(rows: list[dict[str, Any]], ready: Readiness) -> list[dict[str, Any]]:
    """Rows whose file name collides with another's on Windows or macOS get a distinct "bag_path"."""
    names = bag_paths([r["path"] for r in rows if is_file_record(r)])
    out = []
    for r in rows:
        inside = names.get(r["path"], r["path"]) if is_file_record(r) else r["path"]
        if inside != r["path"]:
            ready.renamed.append(f"{r['path']} → {inside}")
            r = {**r, BAG_PATH: inside}
        out.append(r)
    return out


# The web server's accounts (zhikong.web.accounts) belong to this county server, not to a center: their
# entries (names, roles, lockouts by address) go as hashes only, like another center's, so a bundle never
# carries accounts.
ACCOUNT_ACTIONS = ("user.", "token.")


def _redacted_chain(cat: Catalogue, center: str) -> list[dict[str, Any]]:
    prefix = center_prefix(center)
    out: list[dict[str, Any]] = []
    for r in cat.audit_chain_rows():
        mine = r["center"] == center or (r["path"] or "").startswith(prefix)
        if str(r["action"]).startswith(ACCOUNT_ACTIONS):
            mine = False
        elif r["center"] is None and not r["path"]:
            mine = True
        if mine:
            out.append(r)
        else:
            out.append({"seq": r["seq"], "prev": r["prev"], "hash": r["hash"], "redacted": True})
    return out


def _pii(cat: Catalogue, rows: list[dict[str, Any]]) -> list[PiiFinding]:
    """The active records holding personal data, and how many numbers of each kind: in the text, the title
    and the file's own name (a file named after a patient is listed even when its text is clean)."""
    found = []
    for r in rows:
        if r["state"] != "active":
            continue
        text = cat.text(r["id"]) or ""
        title = r["title"] if r["title"] and r["title"] not in text else ""  # a title from the text: once
        places = (r["path"], title, text)
        kinds = Counter(m.kind for text in places for m in find_pii(text))
        if kinds:
            found.append(
                PiiFinding(r["path"], kinds[PiiKind.ID_CARD], kinds[PiiKind.MOBILE], kinds[PiiKind.RECORD_NO])
            )
    return found


# -- stage: fill the bag ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Filled:
    compiled: handoverdocs.Compiled
    fingerprint: str


def _fill(
    folder: Path,
    settings: Settings,
    store: ObjectStore,
    request: _Request,
    the_seal: Seal,
    content: _Content,
) -> _Filled:
    """Write the payload into `folder`: the records' files and the machine-readable data, then — once
    their fingerprint is known — the papers that print it, and the derived files (PDF, 目录, PII list)."""
    c = request.center
    # Copies are I/O (sendfile releases the GIL) and the papers are Python work: run side by side.
    with ThreadPoolExecutor(max_workers=4) as pool:
        derived = pool.submit(
            contextvars.copy_context().run,  # the progress reporter, for LibreOffice's conversions
            _derived_files,
            folder / META,
            c.name,
            content.rows,
            content.record_files,
            content.pii,
            store,
            settings.root,
        )
        for parent in sorted({(folder / bag_path(r)).parent for r in content.record_files}):
            parent.mkdir(parents=True, exist_ok=True)  # once a folder, not once a file
        copies = [
            pool.submit(_copy_preserved, store, settings.root, r, folder / bag_path(r))
            for r in content.record_files
        ]
        _write_machine(folder / MACHINE, settings, store, request, the_seal, content)
        fingerprint = handover_origin.fingerprint(_expected_manifest(folder, content), c.name)
        parties = handoverdocs.Parties(
            c.name,
            c.host,
            request.to_host,
            settings.bureau,
            _cn_date(request.when),
            fingerprint=fingerprint,
            audit_head=content.audit_head or "",
        )
        papers = pool.submit(
            _papers, folder / META, parties, content.rows, content.boxes, the_seal, content.record_files
        )
        for done in copies:
            done.result()
        papers.result()
        return _Filled(derived.result(), fingerprint)


def _expected_manifest(folder: Path, content: _Content) -> dict[str, str]:
    """The payload manifest's lines the fingerprint covers, known before bagit writes it: record files and
    objects by the checksums the catalogue (and the objects' names) give, machine files by hashing them."""
    entries = dict(content.expected)
    entries.update({f"data/{MACHINE}/objects/{sha}": sha for sha in content.objects})
    for path in sorted((folder / MACHINE).iterdir()):
        if path.is_file():
            entries[f"data/{MACHINE}/{path.name}"] = sha256_file(path)
    return entries


def _copy_preserved(store: ObjectStore, root: Path, r: dict[str, Any], dest: Path) -> None:
    """The record's preserved copy (content-addressed, so exactly the catalogued bytes) into the bag, whose
    folder is there already."""
    source = store.path_of(r["sha256"])
    shutil.copyfile(source if source.is_file() else root / r["path"], dest)
    if r["mtime_ns"]:
        os.utime(dest, ns=(int(r["mtime_ns"]), int(r["mtime_ns"])))


def _source(store: ObjectStore, root: Path) -> Callable[[dict[str, Any]], Path]:
    """Where to read a record's bytes: its preserved copy, else the file in the folder."""

    def find(r: dict[str, Any]) -> Path:
        preserved = store.path_of(r["sha256"])
        return preserved if preserved.is_file() else root / r["path"]

    return find


def _write_machine(
    machine: Path,
    settings: Settings,
    store: ObjectStore,
    request: _Request,
    the_seal: Seal,
    content: _Content,
) -> None:
    """data/移交资料/zhikong/: the catalogue rows, the audit chain and the objects an import needs."""
    for sha in sorted(content.objects):
        target = machine / "objects" / sha
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(store.path_of(sha), target)
    c = request.center
    _write_json(
        machine / "handover.json",
        {
            "format": FORMAT,
            "center": c.name,
            "code": c.code,
            "from_host": c.host,
            "to_host": request.to_host,
            "bureau": settings.bureau,
            "seal_id": the_seal.id,
            "sealed_at": the_seal.sealed_at,
            "as_of": request.when.isoformat(),
            "created_at": now_iso(),
            "records": len(content.rows),
            "record_files": len(content.record_files),
            "record_bytes": sum(int(r["size"] or 0) for r in content.record_files),
            "audit_head": content.audit_head,
            "readiness": vars(content.readiness),
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
            "center": c.to_json(),  # its roster, and its own 发文机关 (full_name, doc_prefix, request_head)
        },
    )
    _write_json(machine / "records.json", [_jsonable(r) for r in content.rows])
    _write_json(machine / "versions.json", content.versions)
    _write_jsonl(machine / "texts.jsonl", content.texts)
    _write_json(machine / "boxes.json", content.boxes)
    _write_json(machine / "drafts.json", content.drafts)
    _write_json(machine / "doc_numbers.json", content.doc_numbers)
    _write_json(machine / "rectification.json", [loop.to_json() for loop in content.rectification])
    _write_json(machine / "pii.json", [vars(p) for p in content.pii])
    _write_jsonl(machine / "audit.jsonl", content.audit)


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.hex() if isinstance(v, bytes) else v) for k, v in row.items()}


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8")


def _write_jsonl(path: Path, items: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")


def _open_rectifications(
    settings: Settings, cat: Catalogue, center: str, as_of: date
) -> tuple[InspectionLoop, ...]:
    """Inspections whose closed loop is not closed as of the handover date, in the checks' own words.

    ``state`` "open" marks the ones past their rectification period — exactly what ``zhikong check``
    reports as ``inspection.closed_loop`` — and "in_progress" the ones still within it: not yet a gap,
    but work the new host takes over.
    """
    rules = load_rules(settings.rules, settings.root)
    facts, _records = load_facts(settings, cat)
    loops = inspection_loops(facts, rules, center=center, as_of=as_of)
    return tuple(loop for loop in loops if loop.state != LoopState.CLOSED)


def _cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _papers(
    folder: Path,
    parties: handoverdocs.Parties,
    rows: list[dict[str, Any]],
    boxes: list[dict[str, Any]],
    the_seal: Seal,
    record_files: list[dict[str, Any]],
) -> None:
    """The papers the parties sign (移交清单, 封存记录, 交接书), with the bundle's fingerprint."""
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


def _derived_files(
    folder: Path,
    center: str,
    rows: list[dict[str, Any]],
    record_files: list[dict[str, Any]],
    pii: list[PiiFinding],
    store: ObjectStore,
    root: Path,
) -> handoverdocs.Compiled:
    """The files derived for reading (PDF compilation, 目录.csv, the PII list): not imported, not signed.
    Read by people, so titles and paths in them are masked (the machine files keep the real names)."""
    folder.mkdir(parents=True, exist_ok=True)
    source = _source(store, root)
    ordered = sorted(record_files, key=lambda r: (r["year"] or 0, r["category"], r["path"]))
    compiled = handoverdocs.compile_pdfs(
        folder / f"{center}PDF汇编.pdf",
        [
            handoverdocs.PdfEntry(
                r["year"],
                r["category"],
                r["title"] or Path(r["path"]).stem,
                source(r),
                Path(r["path"]).suffix,
                r["sha256"] or "",
            )
            for r in ordered
        ],
        title=f"{center}PDF文件汇编",
        cache=store.dir.parent / "previews",
    )
    with open(folder / "目录.csv", "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["档号", "题名", "日期", "类别", "载体", "盒号", "路径", "sha256", "状态"])
        for r in rows:
            writer.writerow(
                [
                    r.get("archival_code") or "",
                    mask_pii(r["title"] or Path(r["path"]).stem),
                    r.get("doc_date") or r["activity_date"] or "",
                    r["category"],
                    r.get("kind", "electronic"),
                    "" if r.get("paper_box") is None else r["paper_box"],
                    mask_pii(r["path"]),
                    r["sha256"] or "",
                    r["state"],
                ]
            )
    lines = [f"{center}移交包个人信息检查（只列文件与数量，不含个人信息本身）", ""]
    lines += [
        f"{mask_pii(p.path)}\t身份证号 {p.id_cards} 处\t手机号 {p.mobiles} 处\t病案号等 {p.record_nos} 处"
        for p in pii
    ] or ["未发现身份证号或手机号。"]
    (folder / "个人信息检查.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return compiled


# -- stage: bag-info.txt ---------------------------------------------------------------------------


def _bag_info(settings: Settings, request: _Request, the_seal: Seal) -> dict[str, str]:
    c, when = request.center, request.when.isoformat()
    return {
        "Source-Organization": c.host,
        "Contact-Name": c.roster.secretary or c.roster.director,
        "External-Description": f"{c.name}档案移交：挂靠单位由{c.host}变更为{request.to_host}（H39）",
        "External-Identifier": f"{settings.fonds}-{c.code}-{when}",
        "Bagging-Date": when,
        "Receiving-Organization": request.to_host,
        "QC-Center": c.name,
        "QC-Center-Code": c.code,
        "Sealed-At": the_seal.sealed_at,
        "Bureau": settings.bureau,
        "Zhikong-Format": FORMAT,
    }


# -- stage: check the bag against the catalogue ----------------------------------------------------


def _check_bag(made: bagit.Bag, expected: dict[str, str], center: str, fingerprint: str) -> None:
    """`bag.build`'s after_bag hook: refuse a bag whose manifest differs from the catalogue's checksums,
    or whose fingerprint is not the one printed on its papers."""
    # The bytes in the bag are the preserved copies; prove they are what the catalogue recorded. The
    # manifest is read through bagit, which decodes the names it percent-encodes (%, CR, LF).
    listed = {p.replace(os.sep, "/"): h["sha256"] for p, h in made.payload_entries().items()}
    wrong = [
        Problem("authenticity.catalogue", "保存的副本与目录中的校验和不符", path=p)
        for p, sha in expected.items()
        if listed.get(p) != sha
    ]
    if wrong:
        raise VerificationError(
            "保存的副本与目录不符，移交包未生成：", wrong, hint="运行 zhikong scan 后重试。"
        )
    if handover_origin.fingerprint(listed, center) != fingerprint:
        raise VerificationError(
            "移交包的指纹与交接书上印的不一致，移交包未生成：",
            [Problem("authenticity.fingerprint", "生成过程中移交数据或文件被改动")],
            hint="请重试；若再次出现，请报告管理员。",
        )


# -- stage: record the bundle on the seal ----------------------------------------------------------


def _record_bundle(
    cat: Catalogue, request: _Request, the_seal: Seal, built: bag.BuiltBag, fingerprint: str
) -> None:
    with cat.transaction():
        cat.set_seal_bundle(the_seal.id, str(built.path))
        audit.append(
            cat,
            "handover.create",
            center=request.center.name,
            seal_id=the_seal.id,
            bundle=str(built.path),
            fingerprint=fingerprint,
            tagmanifest_sha256=built.fingerprint,
            files=built.files,
            bytes=built.bytes,
            to_host=request.to_host,
        )
