"""Handover (H39): make a verified bundle's center part of the receiving archive.

`import_bundle` runs: open the bundle → verify it (every check, see `archive.handover_verify`: every
name, path and value it carries, its 发文字号 and, given the signed paper's fingerprint or the old host's
key, its origin) → find or create the receiving archive and check it can take the center → stage the
files and move them into the center's folder → insert the catalogue rows and the imported audit chain in
one transaction → register the center under its new host.

Nothing is written before the checks pass, and a failure after that undoes what this import did: the
center's folder it moved in is removed, the catalogue transaction rolls back, and an archive it created
for the purpose is removed again. The center's folder is resolved and required to be a direct child of
the archive root, and only empty folders are ever removed to make room for it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import sqlite3
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from zhikong.archive import audit, bag, handover_numbers, handover_origin
from zhikong.archive.catalogue import Catalogue, now_iso
from zhikong.archive.handover_model import (
    BAG_PATH,
    MACHINE,
    BundleMeta,
    HostChange,
    ImportResult,
    NumberClaim,
    Origin,
    bag_path,
    center_prefix,
    is_file_record,
    load_meta,
)
from zhikong.archive.handover_verify import verify_chain, verify_dir
from zhikong.archive.preserve import ObjectStore, sha256_file
from zhikong.archive.settings import (
    SETTINGS_FILE,
    Center,
    Roster,
    Settings,
    add_center,
    init_archive,
    load_settings,
    set_center_host,
)
from zhikong.errors import ArchiveNotFound, ConflictError, Problem, VerificationError


def import_bundle(
    root: Path,
    bundle: Path,
    *,
    processes: int = 2,
    actor: str | None = None,
    fingerprint: str | None = None,
    public_key: Path | None = None,
    limits: bag.Limits = bag.LIMITS,
) -> ImportResult:
    """Verify `bundle`, then make its center part of the archive at `root` (created if it is not one).
    `actor` (who imports; default the operating-system user) goes into the new archive's audit entries;
    `fingerprint` (from the signed 交接书) and `public_key` (the old host's) prove the bundle's origin.

    Nothing is written before the bundle has passed every check and the new archive has been found able
    to take the center (no clash of names, codes, 档号, 发文字号, chains or files).
    """
    root = root.expanduser().resolve()
    expected = handover_origin.normalise(fingerprint) if fingerprint is not None else None
    key = handover_origin.load_public(public_key) if public_key is not None else None
    with bag.opened(bundle, limits) as (bag_dir, unsafe):
        if bag_dir is None:
            raise VerificationError(
                "移交包不安全，已拒绝，没有写入任何内容：", unsafe, hint="请向移交单位索取原始移交包。"
            )
        report = verify_dir(bag_dir, processes, expected=expected, public_key=key, limits=limits)
        if report.problems:
            raise VerificationError(
                "移交包校验未通过，没有导入，没有写入任何内容：",
                report.problems,
                hint="请向移交单位核实后重新移交。",
            )
        meta = load_meta(bag_dir, [], max_bytes=limits.machine_file_bytes)
        assert meta is not None  # verified above
        return _import(root, bag_dir, meta, actor, report.origin, report.numbers)


def _import(
    root: Path,
    bag_dir: Path,
    meta: BundleMeta,
    actor: str | None,
    origin: Origin,
    numbers: list[NumberClaim],
) -> ImportResult:
    h = meta.handover
    center = str(h["center"])
    sc = meta.settings["center"]
    to_host = str(h["to_host"])
    target = _center_folder(root, center)
    existed = root.exists()
    settings, created = _receiving_archive(root, meta, actor)
    try:
        ids, entries, kept = _move_in(settings, target, bag_dir, meta, to_host, actor, origin, numbers)
        _register_center(settings, center, sc, to_host)
    except BaseException:
        if created:
            _remove_created(root, existed)
        raise
    files = [r for r in meta.records if is_file_record(r)]
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
        origin=origin,
        numbers=numbers,
        kept_bag_names=kept,
    )


def _center_folder(root: Path, center: str) -> Path:
    """The center's folder: a direct child of `root`, whatever the name (verify refused bad names; this
    is the second lock on the same door, because the folder is where files are moved and removed)."""
    target = root / center
    if target.resolve().parent != root or target.name != center:
        raise VerificationError(
            "移交包的中心名称不能用作文件夹，没有导入：",
            [Problem("security.name", "中心文件夹会落在档案库之外", path=center)],
        )
    return target


def _remove_created(root: Path, existed: bool) -> None:
    """Undo an archive this import created (in a folder that was empty or absent) when the import failed."""
    if existed:
        for child in root.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
    else:
        shutil.rmtree(root, ignore_errors=True)


# -- stage: the receiving archive ------------------------------------------------------------------


def _receiving_archive(root: Path, meta: BundleMeta, actor: str | None) -> tuple[Settings, bool]:
    """The archive at `root`, checked able to take the center, or a new one in an empty folder; created?"""
    s = meta.settings
    if (root / SETTINGS_FILE).is_file():
        settings = load_settings(root)
        with Catalogue.open(settings.system_dir, actor=actor) as cat:
            _preconditions(settings, cat, meta)
        return settings, False
    if root.exists() and any(root.iterdir()):
        raise ArchiveNotFound(
            f"{root} 不是档案库，也不是空目录，没有导入。",
            hint="用 --root 指定新挂靠单位的档案库，或一个新的空目录。",
        )
    settings = init_archive(
        root, county=s["county"], bureau=s["bureau"], doc_prefix=s["doc_prefix"], fonds=s["fonds"]
    )
    with Catalogue.open(settings.system_dir, actor=actor) as cat:
        audit.append(
            cat, "init", county=s["county"], bureau=s["bureau"], fonds=s["fonds"], by="handover.import"
        )
    return settings, True


class AlreadyImported(ConflictError):
    """This very bundle (the same seal) is in the archive already: an import cut short after its
    catalogue committed is finished by the next reconcile, not by importing again."""


def _preconditions(settings: Settings, cat: Catalogue, meta: BundleMeta) -> None:
    if _chain_name(meta) in cat.imported_chains():
        raise AlreadyImported(
            f"这个移交包（同一次封存）已经导入过本库：{meta.handover['center']}。",
            hint="无需再导入；导入后的检索索引等收尾工作已自动补完，可用 zhikong doctor 核对。",
        )
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
    prefix = center_prefix(center)
    active = cat.active_records_under(prefix)
    if active:
        problems.append(Problem("conflict.records", f"本库的 {center} 已有 {active} 条档案记录"))
    folder = settings.root / center
    if (
        folder.exists()
        and any(p.is_file() or p.is_symlink() for p in folder.rglob("*"))
        and not (active == 0 and _left_by_this_import(folder, meta))
    ):
        problems.append(Problem("conflict.folder", f"本库的文件夹 {center} 里已有文件", path=str(folder)))
    codes = [r["archival_code"] for r in meta.records if r.get("archival_code")]
    if codes:
        taken = cat.archival_codes_in_use(codes)
        problems += [Problem("conflict.archival_code", "档号在本库中已被使用", path=c) for c in taken]
    problems += handover_numbers.receiver_conflicts(cat, meta)
    if problems:
        raise ConflictError(
            "新挂靠单位的档案库不能直接接收这个中心，没有导入：\n  - "
            + "\n  - ".join(p.message for p in problems),
            hint="请先与医政科确认中心名称和代码，或导入到一个新的空目录。",
        )


# -- stage: files and catalogue rows ---------------------------------------------------------------


def _move_in(
    settings: Settings,
    target: Path,
    bag_dir: Path,
    meta: BundleMeta,
    to_host: str,
    actor: str | None,
    origin: Origin,
    numbers: list[NumberClaim],
) -> tuple[list[int], int, list[str]]:
    """The center's folder into `target` and its rows into the catalogue: both, or neither."""
    center = str(meta.handover["center"])
    staging = Path(tempfile.mkdtemp(dir=_tmp_dir(settings), prefix="import-"))
    try:
        meta = _stage_files(bag_dir, staging, meta, ObjectStore(settings.system_dir))
        if target.exists() and _left_by_this_import(target, meta):
            shutil.rmtree(target)  # this bundle's own files, moved in by an import killed before COMMIT
        elif target.exists():
            _remove_empty_folders(target)  # `_preconditions` refused a folder holding other files
        os.replace(staging / center, target)
        try:
            with Catalogue.open(settings.system_dir, actor=actor) as cat:
                kept = [f"{r['original_path']} → {r['path']}" for r in meta.records if "original_path" in r]
                return (*_insert(cat, meta, to_host, origin, numbers, kept), kept)
        except sqlite3.IntegrityError as exc:
            shutil.rmtree(target, ignore_errors=True)
            raise ConflictError(
                f"移交包的记录与本库已有的记录冲突（{exc}），没有导入。",
                hint="请导入到一个新的空目录，或与医政科核实两边的档号和发文字号。",
            ) from exc
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _remove_empty_folders(folder: Path) -> None:
    """Remove `folder` and its sub-folders, all of them empty; a file anywhere stops it (OSError)."""
    for parent, dirs, files in os.walk(folder, topdown=False):
        if files:
            raise ConflictError(f"本库的文件夹 {folder} 里已有文件，没有导入。")
        for d in dirs:
            os.rmdir(Path(parent) / d)
    os.rmdir(folder)


def _tmp_dir(settings: Settings) -> Path:
    path = settings.system_dir / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _stage_files(bag_dir: Path, staging: Path, meta: BundleMeta, store: ObjectStore) -> BundleMeta:
    """The center's folder copied into `staging` with its mtimes; its files and objects preserved.

    Returns `meta` with each record's path where its file now is (see `_restore_names`)."""
    center = str(meta.handover["center"])
    source = bag_dir / "data" / center
    if source.is_dir():
        shutil.copytree(source, staging / center, copy_function=shutil.copyfile)
    else:
        (staging / center).mkdir()
    placed = _restore_names(staging, meta)
    mtimes = {r["path"]: int(r["mtime_ns"]) for r in placed.records if is_file_record(r) and r["mtime_ns"]}
    for rel, mtime in mtimes.items():
        os.utime(staging / rel, ns=(mtime, mtime))
        store.add_file(staging / rel)
    objects = bag_dir / "data" / MACHINE / "objects"
    if objects.is_dir():
        for obj in objects.iterdir():
            store.add_file(obj)
    return placed


def _restore_names(staging: Path, meta: BundleMeta) -> BundleMeta:
    """Files the bag carries under another name (their names collide on Windows or macOS: Test.pdf and
    test.pdf) are moved back to their original names where this file system holds both; where it does
    not, the file keeps its name from the bag and the record says so (its original is in the audit)."""
    records = []
    for r in meta.records:
        inside = bag_path(r)
        r = {k: v for k, v in r.items() if k != BAG_PATH}
        if inside != r["path"] and is_file_record(r):
            if _holds_exactly(staging, r["path"]):
                target = staging / r["path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                os.rename(staging / inside, target)
            else:
                r = {**r, "path": inside, "original_path": r["path"]}
        records.append(r)
    return dataclasses.replace(meta, records=records)


def _holds_exactly(root: Path, rel: str) -> bool:
    """`rel` can be created under `root` with exactly this spelling: no file answers to its name, and
    every folder on the way that exists is spelled the same (a case-insensitive or normalising file
    system answers to a name that differs only in case or Unicode form)."""
    parent = root
    parts = rel.split("/")
    for i, part in enumerate(parts):
        path = parent / part
        if not os.path.lexists(path):
            return True
        if i == len(parts) - 1 or part not in os.listdir(parent) or not path.is_dir():
            return False
        parent = path
    return False


def _chain_name(meta: BundleMeta) -> str:
    h = meta.handover
    return f"{h['from_host']}:{h['seal_id']}:{h['sealed_at']}"


def _insert(
    cat: Catalogue,
    meta: BundleMeta,
    to_host: str,
    origin: Origin,
    numbers: list[NumberClaim],
    kept: list[str],
) -> tuple[list[int], int]:
    """Every catalogue row of the bundle, with new ids; the imported chain; the host change. One transaction."""
    h = meta.handover
    center = str(h["center"])
    chain = _chain_name(meta)
    with cat.transaction():
        carried = [
            {**{k: v for k, v in r.items() if k != "id"}, "raw_path": None, "scan_of": None}
            for r in meta.records
        ]
        ids = cat.insert_imported_records(carried)
        new_id = {int(r["id"]): i for r, i in zip(meta.records, ids, strict=True)}
        for r in meta.records:
            if r.get("scan_of") is not None and int(r["scan_of"]) in new_id:
                cat.set_scan_of(new_id[int(r["id"])], new_id[int(r["scan_of"])])
        cat.insert_imported_versions([{**v, "record_id": new_id[int(v["record_id"])]} for v in meta.versions])
        for t in meta.texts:
            cat.store_text(new_id[int(t["record_id"])], t["sha256"], t["text"])
        cat.replace_boxes(meta.boxes)
        for d in meta.drafts:
            rid = d.get("record_id")
            row = {k: v for k, v in d.items() if k != "id"}
            row["record_id"] = new_id.get(int(rid)) if rid is not None else None
            if handover_numbers.already_held(cat, d):
                continue  # the same approved document already known here (same county, same numbering)
            cat.insert_imported_draft(row)
        for n in numbers:
            if n.proven:  # never the bundle's stated counter: only what its approved drafts prove
                cat.raise_doc_number(n.prefix, n.year, n.proven)
        for e in meta.audit:
            cat.add_imported_audit(chain, e)
        at = now_iso()
        fingerprint = _records_digest(meta.records)
        cat.add_host_change(
            center=center,
            from_host=h["from_host"],
            to_host=to_host,
            at=at,
            bundle_sha256=fingerprint,
            note=f"移交包导入，封存于 {h['sealed_at']}；来源核对：{origin.label}",
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
            origin=origin.value,
            **_kept_detail(kept),
        )
    return [new_id[int(r["id"])] for r in meta.records], len(meta.audit)


def _kept_detail(kept: list[str]) -> dict[str, Any]:
    return {"kept_bag_names": kept} if kept else {}


def _left_by_this_import(folder: Path, meta: BundleMeta) -> bool:
    """The folder holds nothing but this bundle's own files, byte for byte (an import of it was killed
    between moving the folder in and committing the catalogue): taking it over again loses nothing."""
    expected = {
        str(name): str(r["sha256"])
        for r in meta.records
        if is_file_record(r)
        for name in (r["path"], r.get(BAG_PATH), r.get("original_path"))
        if name
    }  # a file the bag renamed is where the killed import put it: under its original name or the bag's
    root = folder.parent
    found = [p for p in folder.rglob("*") if not p.is_dir()]
    if not found:
        return False
    for path in found:
        rel = path.relative_to(root).as_posix()
        if path.is_symlink() or expected.get(rel) != sha256_file(path):
            return False
    return True


def _records_digest(records: list[dict[str, Any]]) -> str:
    """One sha256 over the imported catalogue rows (path, sha256, state): what host_changes records."""
    digest = hashlib.sha256()
    for r in sorted(records, key=lambda r: (r["path"], r["id"])):
        digest.update(f"{r['path']}\t{r['sha256']}\t{r['state']}\n".encode())
    return digest.hexdigest()


# -- stage: the center under its new host ----------------------------------------------------------


def _register_center(settings: Settings, center: str, sc: dict[str, Any], to_host: str) -> None:
    if center in settings.center_names():
        set_center_host(settings, center, to_host)
        return
    roster = sc.get("roster", {})
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
            # A bundle from before these keys has none: the center then drafts its 请示 after they are set.
            full_name=str(sc.get("full_name") or ""),
            doc_prefix=str(sc.get("doc_prefix") or ""),
            request_head=str(sc.get("request_head") or "center"),
        ),
        year=date.today().year,
    )


# -- after the import: the carried-over chains and the host changes --------------------------------


def verify_imported(cat: Catalogue) -> list[Problem]:
    """Each imported chain verifies by itself and still ends at the head anchored in the live chain."""
    problems: list[Problem] = []
    anchors = {
        e.detail.get("chain"): e.detail.get("imported_head")
        for e in audit.entries(cat)
        if e.action == "handover.import"
    }
    for chain in cat.imported_chains():
        rows = cat.imported_audit_rows(chain)
        for r in rows:
            r["redacted"] = bool(r["redacted"])
        if chain not in anchors:
            problems.append(Problem("audit.imported", f"导入的审计日志（{chain}）在本库日志中没有登记"))
            continue
        for p in verify_chain(rows, anchors[chain]):
            problems.append(Problem("audit.imported", f"导入的审计日志（{chain}）：{p.message}"))
    return problems


def host_changes(cat: Catalogue) -> list[HostChange]:
    return [
        HostChange(r["center"], r["from_host"], r["to_host"], r["at"], r["note"])
        for r in cat.host_change_rows()
    ]
