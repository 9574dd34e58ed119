"""Backups of a running archive: `zhikong backup DEST`, `backup verify DEST`, `backup restore DEST TARGET`.

A backup folder DEST holds:

    DEST/
      zhikong-备份说明.txt             what the folder is and how to restore it; marks DEST as a backup
      manifest.json                    written last, by rename: without it nothing in DEST is a backup
      snapshots/<id>/catalogue.sqlite  every *.sqlite of .zhikong/ — the catalogue now, the web server's
                                       accounts database when it comes — by SQLite's online backup
      objects/<2 hex>/<sha256>         content-addressed copies, shared by every backup made into DEST

- **Consistent while the archive runs.** Each database is copied by SQLite's online backup in one step,
  that is inside one read transaction: in WAL mode a snapshot as of one commit, taken while scans, the
  watcher and approvals go on writing. A batch of versions and their audit entries is in it whole or not
  at all, so the copy's audit chain verifies and replays against its records.
- **The preserved copies, incrementally.** After the snapshot, every object the catalogue copy references
  (every version of every file, and what a restore replaced) is copied. Each is in the store before the
  transaction that references it commits and nothing deletes a referenced one, so all are there. A name
  is its content: an object already in DEST under its name, with its size, is not copied again, so a
  second backup copies only what is new. Each object is hashed while it is copied; a damaged source copy
  is reported and not copied.
- **The folders as the secretaries left them.** The folders are rebuildable from catalogue and objects,
  but only as far as the catalogue knows them: drafts in 送审稿/ are no records, a file dropped a second
  ago is not catalogued yet. So the backup lists every file under the root outside .zhikong/ (the centers'
  folders, zhikong.toml, a synonym list or rule set kept there, 送审稿/) with its sha256, size and mtime,
  and keeps its content in the same object store: a file the catalogue copy knows with the same size and
  mtime is not read (its content is an object already), any other is hashed while copied. A restore
  writes the folders back from this listing with their mtimes, so restored folder and catalogue agree
  and the first scan reads nothing. A synonym list or rule set zhikong.toml names outside the root is
  kept too. Not backed up: the search index (derived; a restore rebuilds it), logs, temporary files.
- **Never complete by accident.** The manifest (databases with their sha256, every object with its size,
  the folder listing, the audit chain's head, time and counts) is written last, to a temporary name then
  renamed; an interrupted or failed backup leaves the previous complete one — its manifest and snapshot
  — untouched, and its own half-written snapshot is removed by the next backup. Copied objects stay:
  they are whole (written to a temporary name, then renamed), and spare the next backup the work.
  One backup at a time writes into a DEST: a lock held through SQLite, which the operating system
  releases if the process dies.
"""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from zhikong.archive import audit
from zhikong.archive.catalogue import DB_NAME, MIGRATIONS, Catalogue, now_iso
from zhikong.archive.convention import IGNORED_DIRS, IGNORED_NAMES
from zhikong.archive.settings import SETTINGS_FILE, SYSTEM_DIR, Settings
from zhikong.errors import (
    ConflictError,
    InputFileError,
    Problem,
    StorageError,
    VerificationError,
    ZhikongError,
)

FORMAT = "zhikong-backup/1"
MANIFEST = "manifest.json"
README = "zhikong-备份说明.txt"
LOCK = ".backup-lock"
SNAPSHOTS = "snapshots"
OBJECTS = "objects"
TMP = "tmp"
CHUNK = 1 << 20
# A settings file kept outside the root is restored there only with the type its setting reads.
_OUTSIDE_SUFFIX = {"synonyms": ".txt", "rules": ".toml"}
# Files a restore writes beside their target before renaming (archive.preserve): never whole.
_HALF_WRITTEN = ("*.zhikong-restore",)

_README_TEXT = """\
本文件夹是 zhikong 质控档案库的备份，请勿手工修改其中的文件。

- manifest.json：备份清单（最后写入；没有它，说明备份没有完成）。
- snapshots/：档案目录数据库（catalogue.sqlite 等）的一致副本。
- objects/：所有文件每个版本的副本，以 sha256 命名；多次备份共用，每次只补新增的。

核对备份：  zhikong backup verify 本文件夹
恢复档案库：zhikong backup restore 本文件夹 新的空文件夹
"""


# -- what a backup holds ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FolderFile:
    """A file of the archive's folders at backup time; its content is the object `sha256`."""

    path: str  # relative to the root, "/"-separated; a name that is not UTF-8 shows escaped here …
    sha256: str
    size: int
    mtime_ns: int
    raw: str | None = None  # … and is kept exactly as hex of its bytes


@dataclass(frozen=True)
class Database:
    name: str  # file name in .zhikong/ and in the snapshot
    sha256: str
    size: int


@dataclass(frozen=True)
class OutsideFile:
    """A settings file zhikong.toml names outside the archive root (a synonym list, a rule set)."""

    setting: str  # "synonyms" or "rules"
    path: str  # as zhikong.toml names it
    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    format: str
    created_at: str
    source: str  # the archive root backed up
    zhikong_version: str
    snapshot: str  # snapshots/<id>, relative to DEST
    databases: tuple[Database, ...]
    audit_head: str | None  # "SEQ:HASH" of the catalogue copy's chain
    records: int
    versions: int
    objects: dict[str, int]  # sha256 -> size of every object this backup needs
    folder: tuple[FolderFile, ...]
    outside: tuple[OutsideFile, ...] = ()
    warnings: tuple[str, ...] = ()  # what could not be backed up, said at backup time

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "created_at": self.created_at,
            "source": self.source,
            "zhikong_version": self.zhikong_version,
            "snapshot": self.snapshot,
            "databases": [vars(d) for d in self.databases],
            "audit_head": self.audit_head,
            "records": self.records,
            "versions": self.versions,
            "objects": dict(sorted(self.objects.items())),
            "folder": [vars(f) for f in self.folder],
            "outside": [vars(o) for o in self.outside],
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_json(cls, data: Any) -> Manifest:
        """Raises ValueError, KeyError or TypeError on anything malformed."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"不是本程序的备份清单格式（应为 {FORMAT}）")
        objects = data["objects"]
        if not isinstance(objects, dict) or not all(
            _is_sha(k) and isinstance(v, int) and v >= 0 for k, v in objects.items()
        ):
            raise ValueError("objects 应为 sha256 → 字节数")
        folder = tuple(FolderFile(**f) for f in data["folder"])
        outside = tuple(OutsideFile(**o) for o in data.get("outside", []))
        databases = tuple(Database(**d) for d in data["databases"])
        for f in folder:
            if not (isinstance(f.path, str) and _is_sha(f.sha256) and isinstance(f.mtime_ns, int)):
                raise ValueError(f"文件清单有误：{f.path!r}")
        snapshot = PurePosixPath(str(data["snapshot"]))
        if len(snapshot.parts) != 2 or snapshot.parts[0] != SNAPSHOTS or not _plain_name(snapshot.name):
            raise ValueError(f"快照位置有误：{data['snapshot']!r}")
        entries: list[Database | OutsideFile] = [*databases, *outside]
        for item in entries:
            if not _is_sha(item.sha256) or not isinstance(item.size, int):
                raise ValueError(f"清单条目有误：{item!r}")
        return cls(
            format=data["format"],
            created_at=str(data["created_at"]),
            source=str(data["source"]),
            zhikong_version=str(data.get("zhikong_version", "")),
            snapshot=str(data["snapshot"]),
            databases=databases,
            audit_head=data.get("audit_head"),
            records=int(data["records"]),
            versions=int(data["versions"]),
            objects=dict(objects),
            folder=folder,
            outside=outside,
            warnings=tuple(str(w) for w in data.get("warnings", [])),
        )


@dataclass(frozen=True)
class BackupResult:
    dest: Path
    created_at: str
    snapshot: str
    audit_head: str | None
    records: int
    versions: int
    databases: tuple[str, ...]
    objects: int  # objects the backup holds (versions and folder contents)
    objects_copied: int  # … of which this backup copied (the rest were in DEST already)
    bytes_copied: int
    folder_files: int
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data = dict(vars(self))
        data["dest"] = str(self.dest)
        data["databases"] = list(self.databases)
        data["warnings"] = list(self.warnings)
        return data


@dataclass(frozen=True)
class BackupCheck:
    """What `backup verify` found: every problem at once (empty: the backup is whole and consistent)."""

    dest: Path
    created_at: str | None
    source: str | None
    audit_head: str | None
    records: int
    objects: int
    bytes: int
    folder_files: int
    problems: tuple[Problem, ...]
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        data = dict(vars(self))
        data["dest"] = str(self.dest)
        data["problems"] = [vars(p) for p in self.problems]
        data["warnings"] = list(self.warnings)
        return data


@dataclass(frozen=True)
class Restored:
    target: Path
    created_at: str  # when the backup was taken
    source: str
    audit_head: str | None  # the backup's head; the restored chain continues from it
    records: int
    files: int  # files written back into the folders
    objects: int  # preserved copies put back under .zhikong/objects
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        data = dict(vars(self))
        data["target"] = str(self.target)
        data["warnings"] = list(self.warnings)
        return data


# -- taking a backup ------------------------------------------------------------------------------------


def create_backup(settings: Settings, dest: Path) -> BackupResult:
    """Back the archive up into `dest` (new, empty, or a backup made before: then incrementally)."""
    root = settings.root.resolve()
    dest = dest.expanduser().resolve()
    if dest == root or dest.is_relative_to(root):
        raise InputFileError(
            f"备份位置不能在档案库之内：{dest}",
            hint="请选择档案库以外的文件夹，最好在另一块磁盘或移动硬盘上。",
        )
    if root.is_relative_to(dest):
        raise InputFileError(f"备份位置不能是档案库的上级文件夹：{dest}", hint="请选择一个新的空文件夹。")
    _prepare_dest(dest)
    with _locked(dest):
        snapshot_id = datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
        snapshot = dest / SNAPSHOTS / snapshot_id
        try:
            result = _write_backup(settings, dest, snapshot)
        except BaseException as exc:
            shutil.rmtree(snapshot, ignore_errors=True)
            _clear_tmp(dest)
            if isinstance(exc, OSError):
                raise _dest_error(exc, dest) from exc
            raise
        _remove_old_snapshots(dest, keep=snapshot_id)
        _clear_tmp(dest)
    return result


def _write_backup(settings: Settings, dest: Path, snapshot: Path) -> BackupResult:
    created_at = now_iso()
    snapshot.mkdir(parents=True)
    run = _Run(_DestStore(dest))
    databases = [_copy_database(db, snapshot) for db in _databases(settings.system_dir)]
    with _open_copy(snapshot / DB_NAME) as cat:
        facts = _Facts(
            referenced=preserved_hashes(cat),
            known=cat.active_stats(),
            head=audit.head(cat),
            records=sum(cat.counts().values()),
            versions=len(cat.version_facts()),
        )
    to_copy = _plan_preserved(run, settings.system_dir / "objects", facts.referenced)
    listing = list(_walk(settings.root, run.warnings))
    outside = _outside_settings(settings)
    # An estimate (a folder file the catalogue does not know may turn out to be in DEST already),
    # checked before anything is copied: a disk too small, found now, leaves nothing half-done.
    coming = set(run.objects) | {sha for sha, _src, _size in to_copy}
    needed = sum(size for _sha, _src, size in to_copy) + sum(size for *_o, size in outside)
    needed += sum(
        st.st_size for rel, _r, _p, st in listing if _catalogued(facts.known, rel, st) not in coming
    )
    free = _free_bytes(dest)
    if needed > free:
        raise StorageError(
            f"备份位置空间不足：还需约 {_mb(needed)}，只剩 {_mb(free)}（{dest}）。",
            hint="清理备份磁盘或换一块更大的磁盘后重试；原有的备份没有改动。",
        )
    _copy_preserved(run, to_copy)
    folder = _copy_folder(run, listing, facts.known)
    kept_outside = _copy_outside(run, outside)

    manifest = Manifest(
        format=FORMAT,
        created_at=created_at,
        source=str(settings.root),
        zhikong_version=_version(),
        snapshot=f"{SNAPSHOTS}/{snapshot.name}",
        databases=tuple(databases),
        audit_head=f"{facts.head[0]}:{facts.head[1]}" if facts.head else None,
        records=facts.records,
        versions=facts.versions,
        objects=run.objects,
        folder=tuple(folder),
        outside=tuple(kept_outside),
        warnings=tuple(run.warnings),
    )
    _write_manifest(dest, manifest)
    return BackupResult(
        dest=dest,
        created_at=created_at,
        snapshot=manifest.snapshot,
        audit_head=manifest.audit_head,
        records=facts.records,
        versions=facts.versions,
        databases=tuple(d.name for d in databases),
        objects=len(run.objects),
        objects_copied=run.copied,
        bytes_copied=run.bytes_copied,
        folder_files=len(folder),
        warnings=tuple(run.warnings),
    )


@dataclass(frozen=True)
class _Facts:
    """What the catalogue copy says, read once."""

    referenced: set[str]  # objects it needs
    known: dict[str, tuple[int, int, int, str]]  # path -> (id, size, mtime_ns, sha256) of active records
    head: tuple[int, str] | None
    records: int
    versions: int


@dataclass
class _Run:
    """One backup's objects and counts as they are copied."""

    store: _DestStore
    objects: dict[str, int] = field(default_factory=dict)  # sha256 -> size of every object it holds
    copied: int = 0
    bytes_copied: int = 0
    warnings: list[str] = field(default_factory=list)

    def took(self, got: _Added) -> None:
        self.objects[got.sha256] = got.size
        if got.new:
            self.copied += 1
            self.bytes_copied += got.size


def _plan_preserved(run: _Run, live: Path, referenced: set[str]) -> list[tuple[str, Path, int]]:
    """(sha256, source, size) of the referenced objects DEST lacks; those it has are taken as they are."""
    to_copy = []
    for sha in sorted(referenced):
        source = live / sha[:2] / sha
        try:
            size = source.stat().st_size
        except OSError:
            run.warnings.append(f"档案库中缺少保存副本 {sha[:12]}…（运行 zhikong doctor 查看是哪条记录）")
            continue
        if run.store.has(sha, size):
            run.objects[sha] = size
        else:
            to_copy.append((sha, source, size))
    return to_copy


def _copy_preserved(run: _Run, to_copy: list[tuple[str, Path, int]]) -> None:
    for sha, source, _size in to_copy:
        try:
            got = run.store.add(source)
        except _SourceUnreadable as exc:
            run.warnings.append(f"档案库中的保存副本 {sha[:12]}… 无法读取：{exc.reason}")
            continue
        if got.sha256 != sha:
            run.store.discard(got)
            run.warnings.append(f"档案库中的保存副本 {sha[:12]}… 已损坏（内容与名称不符），没有备份它")
            continue
        run.took(got)


def _copy_folder(
    run: _Run,
    listing: list[tuple[str, str | None, Path, os.stat_result]],
    known: dict[str, tuple[int, int, int, str]],
) -> list[FolderFile]:
    folder = []
    for rel, raw, path, st in listing:
        sha = _catalogued(known, rel, st)
        if sha is not None and sha in run.objects:  # catalogued as it is now: its content is here already
            folder.append(FolderFile(rel, sha, st.st_size, st.st_mtime_ns, raw))
            continue
        try:
            got, mtime_ns = _add_stable(run.store, path, st)
        except _SourceUnreadable as exc:
            run.warnings.append(f"无法读取，没有备份：{rel}（{exc.reason}）")
            continue
        run.took(got)
        folder.append(FolderFile(rel, got.sha256, got.size, mtime_ns, raw))
    return folder


def _copy_outside(run: _Run, outside: list[tuple[str, str, Path, int]]) -> list[OutsideFile]:
    kept = []
    for setting, named, path, _size in outside:
        try:
            got = run.store.add(path)
        except _SourceUnreadable as exc:
            run.warnings.append(f"设置中的 {setting} 文件 {named} 无法读取，没有备份（{exc.reason}）")
            continue
        run.took(got)
        kept.append(OutsideFile(setting, named, got.sha256, got.size))
    return kept


def _catalogued(known: dict[str, tuple[int, int, int, str]], rel: str, st: os.stat_result) -> str | None:
    """The sha256 of a folder file the catalogue copy knows with its present size and mtime."""
    entry = known.get(rel)
    if entry is None or (entry[1], entry[2]) != (st.st_size, st.st_mtime_ns):
        return None
    return entry[3]


def preserved_hashes(cat: Catalogue) -> set[str]:
    """Every object the catalogue references: each version's content, and what a restore replaced
    (kept on purpose: its audit entry names it)."""
    found = {sha for _rid, _v, sha, _kind in cat.version_facts()}
    for e in audit.entries(cat):
        replaced = e.detail.get("replaced_sha256")
        if e.action == "restore" and replaced:
            found.add(str(replaced))
    return found


def _databases(system_dir: Path) -> list[Path]:
    """Every SQLite database of the archive: the catalogue first, then any other (accounts …)."""
    found = sorted(p for p in system_dir.glob("*.sqlite") if p.is_file() and p.name != DB_NAME)
    return [system_dir / DB_NAME, *found]


def _copy_database(source: Path, snapshot: Path) -> Database:
    """SQLite's online backup in one step: one read transaction, so a snapshot as of one commit while
    other processes keep writing. The copy is switched to a rollback journal, so it is one file that
    opens read-only anywhere."""
    target = snapshot / source.name
    if not source.is_file():
        raise StorageError(f"找不到档案目录数据库：{source}", hint="请检查档案库是否完整（zhikong doctor）。")
    # A plain connection that only reads: a read-only one cannot open a WAL database whose -shm file
    # the last writer removed.
    src = sqlite3.connect(source, timeout=30.0)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        if "full" in str(exc).lower():
            raise OSError(errno.ENOSPC, str(exc), str(target)) from exc
        raise StorageError(
            f"无法读取数据库 {source.name}，没有备份：{exc}",
            hint="运行 zhikong doctor 检查档案库；问题持续时请报告管理员。",
        ) from exc
    finally:
        src.close()
    _fsync(target)
    sha, size = _hash_file(target)
    return Database(source.name, sha, size)


def _walk(root: Path, warnings: list[str]) -> Iterator[tuple[str, str | None, Path, os.stat_result]]:
    """(relative path, raw name as hex or None, path, stat) of every regular file of the folders."""
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            warnings.append(f"无法读取文件夹，没有备份：{folder}（{exc.strerror}）")
            continue
        for entry in entries:
            if folder == root and entry.name == SYSTEM_DIR:
                continue
            path = Path(entry.path)
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            rel_path = path.relative_to(root)
            rel, raw = rel_path.as_posix(), None
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError:
                raw_bytes = os.fsencode(rel_path)
                rel, raw = raw_bytes.decode("utf-8", "backslashreplace"), raw_bytes.hex()
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in IGNORED_DIRS:
                    stack.append(path)
            elif entry.is_symlink():
                warnings.append(f"符号链接，没有备份：{rel}")
            elif not entry.is_file(follow_symlinks=False):
                continue
            elif not any(fnmatch.fnmatchcase(entry.name, p) for p in (*IGNORED_NAMES, *_HALF_WRITTEN)):
                yield rel, raw, path, st


def _outside_settings(settings: Settings) -> list[tuple[str, str, Path, int]]:
    """(setting, name as written, path, size) of the files zhikong.toml names outside the root."""
    root = settings.root.resolve()
    named: list[tuple[str, str]] = []
    if settings.synonyms:
        named.append(("synonyms", settings.synonyms))
    if settings.rules.endswith(".toml"):
        named.append(("rules", settings.rules))
    found = []
    for setting, name in named:
        path = (root / name).resolve()
        if not path.is_relative_to(root) and path.is_file():
            found.append((setting, name, path, path.stat().st_size))
    return found


def _write_manifest(dest: Path, manifest: Manifest) -> None:
    """Written to a temporary name, flushed, then renamed: the last step, and all or nothing."""
    tmp = dest / TMP / f"{MANIFEST}.{secrets.token_hex(4)}"
    tmp.parent.mkdir(exist_ok=True)
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(manifest.to_json(), f, ensure_ascii=False, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, dest / MANIFEST)
    _fsync_dir(dest)


def _prepare_dest(dest: Path) -> None:
    try:
        if dest.exists() and not dest.is_dir():
            raise InputFileError(f"备份位置 {dest} 是一个文件，不是文件夹。", hint="请指定一个文件夹。")
        dest.mkdir(parents=True, exist_ok=True)
        ours = (dest / README).is_file() or (dest / MANIFEST).is_file()
        if not ours and any(dest.iterdir()):
            raise ConflictError(
                f"{dest} 不是空文件夹，也不是 zhikong 备份，没有写入。",
                hint="请指定一个新的或空的文件夹；此前用 zhikong backup 写过的备份文件夹可以继续使用。",
            )
        if not ours:
            (dest / README).write_text(_README_TEXT, encoding="utf-8-sig")
        (dest / TMP).mkdir(exist_ok=True)
    except OSError as exc:
        raise _dest_error(exc, dest) from exc


def _remove_old_snapshots(dest: Path, *, keep: str) -> None:
    for old in (dest / SNAPSHOTS).iterdir():
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def _clear_tmp(dest: Path) -> None:
    with suppress(OSError):
        for leftover in (dest / TMP).iterdir():
            leftover.unlink(missing_ok=True)


@contextmanager
def _locked(dest: Path, *, required: bool = True) -> Iterator[None]:
    """One backup (or verify, or restore) at a time per DEST. The lock is SQLite's on a small file, so
    the operating system releases it when the process ends, however it ends."""
    try:
        conn = sqlite3.connect(dest / LOCK, timeout=0, isolation_level=None)
    except sqlite3.Error as exc:
        if required:
            raise StorageError(f"备份位置不能写入：{dest}（{exc}）") from exc
        yield
        return
    try:
        try:
            conn.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc).lower() or "busy" in str(exc).lower():
                raise ConflictError(
                    f"另一个 zhikong backup 正在使用 {dest}。", hint="等它完成后再试。"
                ) from exc
            if required:
                raise StorageError(f"备份位置不能写入：{dest}（{exc}）") from exc
        yield
    finally:
        conn.close()


def _dest_error(exc: OSError, dest: Path) -> ZhikongError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageError(
            f"备份位置的磁盘已满，备份没有完成：{dest}（只剩 {_mb(_free_bytes(dest))}）。",
            hint="清理备份磁盘或换一块更大的磁盘后重试：已完整复制的文件副本会保留，下次只补其余部分；"
            "原有的完整备份没有改动，这次未完成的不会被当作备份。",
        )
    if isinstance(exc, PermissionError) or exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return StorageError(
            f"备份位置不能写入（只读或没有写权限）：{dest}",
            hint="请检查备份磁盘是否只读、当前用户是否有写权限，或换一个文件夹。",
        )
    return StorageError(
        f"写入备份位置时出错：{dest}（{exc.strerror or exc}）",
        hint="请检查备份磁盘后重试；原有的完整备份没有改动。",
    )


# -- the object store in DEST ---------------------------------------------------------------------------


class _SourceUnreadable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Added:
    sha256: str
    size: int
    new: bool


class _DestStore:
    def __init__(self, dest: Path) -> None:
        self.dir = dest / OBJECTS
        self.tmp = dest / TMP

    def path_of(self, sha: str) -> Path:
        return self.dir / sha[:2] / sha

    def has(self, sha: str, size: int) -> bool:
        try:
            return self.path_of(sha).stat().st_size == size
        except OSError:
            return False

    def add(self, source: Path) -> _Added:
        """Copy `source` in while hashing it, flushed to disk; a read failure is `_SourceUnreadable`,
        a write failure an OSError (the destination's problem)."""
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="obj-")
        tmp = Path(name)
        try:
            digest, size = hashlib.sha256(), 0
            try:
                src = source.open("rb")
            except OSError as exc:
                raise _SourceUnreadable(exc.strerror or str(exc)) from exc
            with src, os.fdopen(fd, "wb") as out:
                while True:
                    try:
                        chunk = src.read(CHUNK)
                    except OSError as exc:
                        raise _SourceUnreadable(exc.strerror or str(exc)) from exc
                    if not chunk:
                        break
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            target = self.path_of(sha)
            if self.has(sha, size):
                tmp.unlink()
                return _Added(sha, size, False)
            target.parent.mkdir(exist_ok=True, parents=True)
            os.replace(tmp, target)
            return _Added(sha, size, True)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def discard(self, added: _Added) -> None:
        if added.new:
            self.path_of(added.sha256).unlink(missing_ok=True)


def _add_stable(store: _DestStore, path: Path, before: os.stat_result) -> tuple[_Added, int]:
    """A folder file copied in, and its mtime; read again if it changed while it was read (a secretary
    saving it just then)."""
    for _attempt in range(3):
        got = store.add(path)
        try:
            after = path.stat()
        except OSError as exc:
            raise _SourceUnreadable(exc.strerror or str(exc)) from exc
        if got.size == after.st_size == before.st_size and after.st_mtime_ns == before.st_mtime_ns:
            return got, after.st_mtime_ns
        store.discard(got)
        before = after
    raise _SourceUnreadable("文件一直在写入（读取期间不断变化）")


# -- verifying a backup ------------------------------------------------------------------------------------


def verify_backup(dest: Path) -> BackupCheck:
    """Check a backup: the manifest, each database's sha256 and `PRAGMA integrity_check`, the catalogue
    copy's audit chain (verified, replayed against its records, ending at the manifest's head), every
    object's sha256 against its name, and that everything the catalogue copy and the folder listing name
    is there. Reads only: nothing in DEST is changed, an older catalogue copy is migrated in a temporary
    copy."""
    dest = dest.expanduser().resolve()
    _read_manifest(dest)  # not a backup at all: said before anything else
    with _locked(dest, required=False):
        return _verify(dest)


def _verify(dest: Path) -> BackupCheck:
    manifest = _read_manifest(dest)
    if isinstance(manifest, Problem):
        return BackupCheck(dest, None, None, None, 0, 0, 0, 0, (manifest,))
    problems = _check(dest, manifest)
    return BackupCheck(
        dest,
        manifest.created_at,
        manifest.source,
        manifest.audit_head,
        manifest.records,
        len(manifest.objects),
        sum(manifest.objects.values()),
        len(manifest.folder),
        tuple(problems),
        manifest.warnings,
    )


def _read_manifest(dest: Path) -> Manifest | Problem:
    if dest.exists() and not dest.is_dir():
        raise InputFileError(
            f"{dest} 是一个文件，不是备份文件夹。", hint="请指定用 zhikong backup 写成的备份文件夹。"
        )
    if not dest.is_dir():
        raise InputFileError(f"找不到备份文件夹：{dest}", hint="请检查路径是否正确。")
    path = dest / MANIFEST
    if not path.is_file():
        if (dest / README).is_file():
            return Problem(
                "backup.incomplete",
                "备份没有完成：没有备份清单 manifest.json（备份被中断，或者正在进行）",
                path=MANIFEST,
            )
        raise InputFileError(
            f"{dest} 不是 zhikong 备份（没有 {MANIFEST}）。",
            hint="请指定用 zhikong backup 写成的备份文件夹。",
        )
    try:
        return Manifest.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return Problem("backup.manifest", f"备份清单无法读取或格式有误：{exc}", path=MANIFEST)


def _check(dest: Path, manifest: Manifest) -> list[Problem]:
    problems: list[Problem] = []
    snapshot = dest / manifest.snapshot
    names = [d.name for d in manifest.databases]
    if DB_NAME not in names:
        problems.append(Problem("backup.database", "备份清单中没有档案目录数据库", path=MANIFEST))
    for db in manifest.databases:
        path = snapshot / db.name
        where = f"{manifest.snapshot}/{db.name}"
        if not _plain_name(db.name) or not path.is_file():
            problems.append(Problem("backup.database", f"数据库副本缺失：{db.name}", path=where))
            continue
        if _hash_file(path) != (db.sha256, db.size):
            problems.append(
                Problem("backup.database", f"数据库副本与清单不符（被改动或损坏）：{db.name}", path=where)
            )
            continue
        problems += _integrity(path, where)
    if not problems:
        problems += _check_catalogue(snapshot / DB_NAME, manifest)

    store = _DestStore(dest)
    for sha, size in sorted(manifest.objects.items()):
        path = store.path_of(sha)
        where = f"{OBJECTS}/{sha[:2]}/{sha}"
        try:
            actual = _hash_file(path)
        except OSError:
            problems.append(Problem("backup.object", f"文件副本缺失：{sha[:12]}…", path=where))
            continue
        if actual[0] != sha:
            problems.append(
                Problem("backup.object", f"文件副本已损坏（内容与名称不符）：{sha[:12]}…", path=where)
            )
        elif actual[1] != size:
            problems.append(Problem("backup.object", f"文件副本大小与清单不符：{sha[:12]}…", path=where))
    for f in manifest.folder:
        if _relative(f) is None:
            problems.append(Problem("backup.folder", f"文件清单中的路径不安全：{f.path!r}"))
        elif f.sha256 not in manifest.objects:
            problems.append(Problem("backup.folder", f"文件清单中的文件没有副本：{f.path}", path=f.path))
    for o in manifest.outside:
        if o.sha256 not in manifest.objects:
            problems.append(Problem("backup.settings", f"设置文件没有副本：{o.path}", path=o.path))
    return problems


def _check_catalogue(path: Path, manifest: Manifest) -> list[Problem]:
    from zhikong.archive.handover_import import verify_imported

    where = f"{manifest.snapshot}/{DB_NAME}"
    problems: list[Problem] = []
    with _open_copy(path) as cat:
        chain = audit.verify(cat) + verify_imported(cat) + audit.replay(cat)
        problems += [Problem(p.code, f"备份中的审计日志：{p.message}", path=where) for p in chain]
        last = audit.head(cat)
        head = f"{last[0]}:{last[1]}" if last else None
        if head != manifest.audit_head:
            problems.append(
                Problem(
                    "backup.audit_head",
                    f"备份中的审计日志链头（{head}）与备份清单所记（{manifest.audit_head}）不符",
                    path=where,
                )
            )
        if sum(cat.counts().values()) != manifest.records:
            problems.append(Problem("backup.records", "备份中的记录数与清单不符", path=where))
        for sha in sorted(preserved_hashes(cat) - set(manifest.objects)):
            if not any(sha[:12] in w for w in manifest.warnings):
                problems.append(
                    Problem("backup.object", f"目录引用的文件副本不在备份清单中：{sha[:12]}…", path=where)
                )
    return problems


def _integrity(path: Path, where: str) -> list[Problem]:
    try:
        conn = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)
        try:
            rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return [Problem("backup.database", f"数据库副本无法打开：{exc}", path=where)]
    if rows != ["ok"]:
        return [Problem("backup.database", f"数据库副本未通过完整性检查：{'；'.join(rows[:5])}", path=where)]
    return []


@contextmanager
def _open_copy(path: Path) -> Iterator[Catalogue]:
    """A catalogue copy for reading, never changed: opened read-only as it is; one made by an older
    zhikong is migrated in a temporary copy first, so the current readers work on it."""
    conn = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    cat = Catalogue(conn, "zhikong backup")
    try:
        version = cat.schema_version()
        if version > len(MIGRATIONS):
            raise VerificationError(
                "备份无法核对：",
                [Problem("backup.version", f"备份的数据格式（版本 {version}）比本程序新")],
                hint="请升级 zhikong 后再核对或恢复此备份。",
            )
        if version == len(MIGRATIONS):
            yield cat
            return
        conn.close()
        with tempfile.TemporaryDirectory(prefix="zhikong-backup-") as tmp:
            shutil.copyfile(path, Path(tmp) / DB_NAME)
            with Catalogue.open(Path(tmp), actor="zhikong backup") as migrated:
                yield migrated
    finally:
        conn.close()


# -- restoring a backup ------------------------------------------------------------------------------------


def restore_backup(dest: Path, target: Path, *, actor: str) -> Restored:
    """A working archive in `target` (a new or empty folder) from the backup in `dest`: the databases,
    the preserved copies the catalogue references, the folders with their mtimes and zhikong.toml last
    (until it is there, `target` is no archive). The restore is an audit entry in the restored chain.
    The search index is not restored: the caller rebuilds it (`Archive.backup_restore` does)."""
    dest = dest.expanduser().resolve()
    target = target.expanduser().resolve()
    if target.is_relative_to(dest) or dest.is_relative_to(target):
        raise InputFileError(
            "恢复位置不能在备份文件夹之内，也不能包含备份文件夹。", hint="请另选一个新的空文件夹。"
        )
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ConflictError(
            f"恢复位置 {target} 不是空文件夹，没有写入。",
            hint="恢复只写入新的或空的文件夹，不会覆盖已有的档案库；请另选一个文件夹。",
        )
    _read_manifest(dest)
    with _locked(dest, required=False):  # no backup replaces the snapshot while it is read
        check = _verify(dest)
        if check.problems:
            raise VerificationError(
                "备份核对未通过，没有恢复：", list(check.problems), hint="请改用另一份备份，或报告管理员。"
            )
        manifest = _read_manifest(dest)
        assert isinstance(manifest, Manifest)  # verified just now
        made = not target.exists()
        try:
            return _restore(dest, manifest, target, actor=actor)
        except BaseException as exc:
            _undo(target, remove_folder=made)
            if isinstance(exc, OSError):
                raise _target_error(exc, target) from exc
            raise


def _undo(target: Path, *, remove_folder: bool) -> None:
    """Remove what a failed restore wrote: the folder was new or empty, so all of it."""
    if remove_folder:
        shutil.rmtree(target, ignore_errors=True)
        return
    for child in target.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _restore(dest: Path, manifest: Manifest, target: Path, *, actor: str) -> Restored:
    store = _DestStore(dest)
    system = target / SYSTEM_DIR
    (system / "logs").mkdir(parents=True)
    for db in manifest.databases:
        _copy(dest / manifest.snapshot / db.name, system / db.name)
    with _open_copy(system / DB_NAME) as cat:
        referenced = preserved_hashes(cat)
    restored_objects = 0
    for sha in sorted(referenced & set(manifest.objects)):
        _copy(store.path_of(sha), system / "objects" / sha[:2] / sha)
        restored_objects += 1

    warnings = list(manifest.warnings)
    settings_file = None
    for f in manifest.folder:
        rel = _relative(f)
        assert rel is not None  # verified
        if rel == Path(SETTINGS_FILE):
            settings_file = f
            continue
        _write_back(store, f, target / rel)
    for o in manifest.outside:
        path = (target / o.path).resolve()
        # Only what zhikong.toml can name there, and never over an existing file: a tampered manifest
        # must not be able to plant a file of its choosing anywhere on this machine.
        if o.setting not in _OUTSIDE_SUFFIX or path.suffix != _OUTSIDE_SUFFIX[o.setting]:
            warnings.append(f"设置中的 {o.setting} 文件 {o.path} 不是该有的类型，没有恢复")
        elif not path.exists():
            _copy(store.path_of(o.sha256), path)
            warnings.append(f"设置中的 {o.setting} 文件在档案库之外，已恢复到 {path}")
        elif _hash_file(path)[0] != o.sha256:
            warnings.append(f"设置中的 {o.setting} 文件 {path} 已存在且与备份时不同，没有覆盖")
    if settings_file is None:
        raise VerificationError(
            "备份不完整，没有恢复：", [Problem("backup.settings", f"备份中没有 {SETTINGS_FILE}")]
        )
    _write_back(store, settings_file, target / SETTINGS_FILE)

    with Catalogue.open(system, actor=actor) as cat:
        audit.append(
            cat,
            "backup.restore",
            backup=str(dest),
            backup_created_at=manifest.created_at,
            source=manifest.source,
            backup_audit_head=manifest.audit_head,
        )
    return Restored(
        target=target,
        created_at=manifest.created_at,
        source=manifest.source,
        audit_head=manifest.audit_head,
        records=manifest.records,
        files=len(manifest.folder),
        objects=restored_objects,
        warnings=tuple(warnings),
    )


def _write_back(store: _DestStore, f: FolderFile, path: Path) -> None:
    _copy(store.path_of(f.sha256), path)
    os.utime(path, ns=(f.mtime_ns, f.mtime_ns))


def _relative(f: FolderFile) -> Path | None:
    """The folder file's path under a root, or None when it would leave the root or enter .zhikong/."""
    try:
        text = os.fsdecode(bytes.fromhex(f.raw)) if f.raw else f.path
    except (TypeError, ValueError):
        return None
    # Windows reads "\\" and a drive as path syntax: there such a name could leave the root.
    pure = PurePosixPath(text.replace("\\", "/")) if os.name == "nt" else PurePosixPath(text)
    if (
        not text
        or "\0" in text
        or pure.is_absolute()
        or PureWindowsPath(text).drive
        or any(part in (".", "..") for part in text.split("/"))
        or pure.parts[0] == SYSTEM_DIR
    ):
        return None
    return Path(*pure.parts)


def _target_error(exc: OSError, target: Path) -> ZhikongError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageError(
            f"恢复位置的磁盘已满，没有恢复：{target}（只剩 {_mb(_free_bytes(target.parent))}）。",
            hint="已写入的部分已删除；请换一块空间足够的磁盘后重试。",
        )
    return StorageError(
        f"不能写入恢复位置：{target}（{exc.strerror or exc}）",
        hint="已写入的部分已删除；请检查磁盘和写权限后重试。",
    )


# -- small helpers ---------------------------------------------------------------------------------------


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    _fsync(target)


def _hash_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _fsync(path: Path) -> None:
    with path.open("rb+") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    """Make a rename durable (POSIX; Windows cannot open a folder, and its renames are journalled)."""
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _free_bytes(path: Path) -> int:
    for folder in (path, *path.parents):
        if folder.exists():
            return shutil.disk_usage(folder).free
    return 0


def _is_sha(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _plain_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and name not in (".", "..")


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MB"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("zhikong")
    except PackageNotFoundError:
        return "unknown"
