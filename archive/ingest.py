"""Reconciling the folder with the catalogue: the ingest pipeline.

Stages, each a small function with typed input and output:

    walk → identify (stat) → preserve (copy + sha256 in one pass) → extract → classify → catalogue → index

`extract` and `index` are supplied by the caller (the application layer, `zhikong.app`, wires in
`indexer/`), so the archive never reaches downstream. The folder is the truth and events are only hints: `reconcile()` with no paths
compares everything; with paths it compares only those files and folders (the watcher's fast path).
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import shutil
import sqlite3
import stat
import time
from collections.abc import Callable, Container, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Protocol, TypeVar, overload

from zhikong.archive import audit, progress
from zhikong.archive.catalogue import Catalogue, Record, RecordState
from zhikong.archive.convention import (
    IGNORED_DIRS,
    IGNORED_NAMES,
    Classification,
    Source,
    classify,
    is_ignored,
)
from zhikong.archive.preserve import ObjectStore
from zhikong.archive.progress import Progress
from zhikong.archive.settings import DRAFTS_FOLDER, SETTINGS_FILE, SYSTEM_DIR, Settings
from zhikong.errors import Busy, StorageError
from zhikong.indexer.pii import has_pii

BATCH = 200
# convention.IGNORED_NAMES as one pattern: the walk tests every file's name, and nine fnmatch calls a file
# were most of the cost of scanning unchanged files.
_IGNORED_NAME = re.compile("|".join(fnmatch.translate(pattern) for pattern in IGNORED_NAMES))
T = TypeVar("T")
# Catalogue meta key: the index's files (IndexSink.state) when a look for documents of records that never
# committed last found none.
_INDEX_LOOKED_AT = "index_without_ghosts"
_FILE_BUG = (
    "登记这个文件时程序出错，这个文件没有登记（其他文件不受影响）；"
    "请把这个文件交给管理员检查，修复后重新运行 zhikong scan"
)


@dataclass(frozen=True)
class TextResult:
    """What the extract stage returns (the indexer's extraction, reduced to what the catalogue keeps)."""

    status: str
    text: str = ""
    reason: str | None = None
    title: str | None = None
    pii: bool = False


Extractor = Callable[[Path], TextResult]


class IndexSink(Protocol):
    """Where catalogued text goes next. Called after the catalogue commits."""

    def upsert(self, records: list[tuple[Record, str]]) -> None: ...

    def delete(self, record_ids: list[int]) -> None: ...

    def record_ids(self) -> set[int]:
        """The records the index holds (to find ones the catalogue does not)."""
        ...

    def doc_count(self) -> int:
        """How many documents the index holds (cheap: no document is read)."""
        ...

    def state(self) -> str | None:
        """A token that changes whenever the index's files do, read without opening the index (None:
        they cannot be read now)."""
        ...


@dataclass(frozen=True, slots=True)
class FileFacts:
    """A file on disk as the walk saw it."""

    path: str  # as the walk found it (a string: a scan makes one for every file, mostly unchanged)
    rel: str  # POSIX, relative to the root; undecodable bytes shown as \\xNN
    raw: bytes | None  # the exact file-system name when `rel` could not represent it
    size: int
    mtime_ns: int

    @property
    def abs(self) -> Path:
        return Path(self.path)


@dataclass(frozen=True)
class FileError:
    path: str
    message: str


@dataclass
class ScanReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    unclassified: int = 0
    errors: list[FileError] = field(default_factory=list)
    skipped: list[FileError] = field(default_factory=list)
    deferred: list[Path] = field(default_factory=list)  # modified too recently: still being written

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "changed": len(self.changed),
            "moved": len(self.moved),
            "deleted": len(self.deleted),
            "unchanged": self.unchanged,
            "unclassified": self.unclassified,
            "errors": len(self.errors),
            "skipped": len(self.skipped),
        }

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.counts())
        data["error_details"] = [{"path": e.path, "message": e.message} for e in self.errors]
        data["deleted_paths"] = list(self.deleted)
        return data

    @property
    def touched(self) -> int:
        return len(self.added) + len(self.changed) + len(self.moved) + len(self.deleted)


@dataclass(frozen=True)
class _Prepared:
    facts: FileFacts
    sha256: str
    text: TextResult | None


class ScanProgress(Progress):
    """What a long scan tells a person at a terminal: `step` before each new or changed file is read
    (files done, files in all, the file), and `saved`, the files whose batch has been committed — what
    survives a Ctrl-C. The default does nothing; the command line draws a line that updates itself."""

    verb = "登记"


class Reconciler:
    """Brings the catalogue in line with the folder. One per command; not thread-safe."""

    def __init__(
        self,
        settings: Settings,
        catalogue: Catalogue,
        *,
        extract: Extractor | None = None,
        sink: IndexSink | None = None,
    ) -> None:
        self.settings = settings
        self.cat = catalogue
        self.store = ObjectStore(settings.system_dir)
        self.extract = extract
        self.sink = sink
        self._index_error: str | None = None
        self._batch_copies: list[str] = []  # objects the current batch created (removed if it fails)
        self.progress: Progress = progress.current()  # the command line's, when it shows one
        self._done = 0
        self._total = 0

    # -- the whole pass -----------------------------------------------------------------------------

    def reconcile(self, paths: Iterable[Path] | None = None, *, settle_seconds: float = 0.0) -> ScanReport:
        """Compare the folder (or only `paths`) with the catalogue and record every difference.

        With `settle_seconds`, a file modified more recently than that is left for later (reported in
        `deferred`, and not taken as missing): the watcher uses this so that a folder event never
        drags in a file that is still being copied into it.
        """
        report = ScanReport()
        self._index_error = None
        self._repair_index(whole=paths is None)
        settled_before = time.time_ns() - int(settle_seconds * 1e9)
        # A whole pass compares every record; an event's paths only the records at or under them, read
        # by path from the catalogue, so a watched file costs the same in a small archive and a large one.
        scope = None if paths is None else [self._rel(Path(p)) for p in paths]
        # The walk takes every unchanged file (the size and time of its record) off `known` and counts it;
        # it returns only the others. What is left in `known` afterwards was not found: missing.
        known = self.cat.active_stats() if scope is None else self.cat.active_stats_under(scope)
        on_disk: dict[str, FileFacts] = {}
        for facts in self._walk(paths, report, known):
            on_disk[facts.rel] = facts
        new: list[FileFacts] = []
        changed: list[tuple[int, FileFacts]] = []
        for rel, facts in on_disk.items():
            entry = known.pop(rel, None)
            if (
                settle_seconds
                and facts.mtime_ns > settled_before
                and (entry is None or entry[2] != facts.mtime_ns)
            ):
                report.deferred.append(facts.abs)
            elif entry is None:
                new.append(facts)
            elif entry[1] == facts.size and entry[2] == facts.mtime_ns:
                report.unchanged += 1
            else:
                changed.append((entry[0], facts))
        missing = known
        missing_by_sha: dict[str, list[str]] = {}
        for rel, entry in missing.items():
            missing_by_sha.setdefault(entry[3], []).append(rel)

        self._done, self._total = 0, len(changed) + len(new)
        self.progress.phase("登记")
        for changed_chunk in _chunks(changed, BATCH):
            self._apply_changed(changed_chunk, report)
            self.progress.saved += len(changed_chunk)
        for new_chunk in _chunks(new, BATCH):
            self._apply_new(new_chunk, missing, missing_by_sha, report)
            self.progress.saved += len(new_chunk)
        if missing:
            self._apply_deleted(missing, report)
        self._clear_problems(scope, on_disk.keys(), report)
        if self._index_error:
            report.errors.append(FileError(".zhikong/index", self._index_error))
        report.unclassified = self.cat.unclassified_count()
        return report

    # -- stages -------------------------------------------------------------------------------------

    def _walk(
        self, paths: Iterable[Path] | None, report: ScanReport, known: dict[str, tuple[int, int, int, str]]
    ) -> list[FileFacts]:
        """The files under the root (or `paths`) that are not unchanged: an unchanged one is counted in
        `report` and taken off `known` instead (so each file must be visited once: `paths` inside
        another of `paths` are left out)."""
        root = self.settings.root
        found: list[FileFacts] = []
        if paths is None:
            self._walk_dir(str(root), "", report, found, known)
            return found
        starts: dict[str, Path] = {}
        for p in paths:
            start = Path(p) if Path(p).is_absolute() else root / p
            starts[self._rel(start)] = start
        for rel, start in starts.items():
            if _inside_any(rel, starts):
                continue
            try:
                st = os.lstat(start)
            except FileNotFoundError:
                continue
            except OSError as exc:
                report.errors.append(FileError(rel, f"无法访问：{exc.strerror}"))
                continue
            if stat.S_ISDIR(st.st_mode):
                if rel == ".":
                    self._walk_dir(str(root), "", report, found, known)
                elif not _ignored_folder(rel):
                    self._walk_dir(str(start), rel + "/", report, found, known)
            elif not is_ignored(PurePosixPath(rel)):
                facts = self._identify(str(start), rel, st, report)
                if facts:
                    found.append(facts)
        return found

    def _walk_dir(
        self,
        folder: str,
        prefix: str,
        report: ScanReport,
        found: list[FileFacts],
        known: dict[str, tuple[int, int, int, str]],
    ) -> None:
        """Adds to `found` the files under `folder` (whose path relative to the root, with a closing "/",
        is `prefix`), except the unchanged ones: those are counted and taken off `known`.

        Strings, one compiled pattern and plain calls, not pathlib, fnmatch and nested generators, and no
        object for an unchanged file: this loop runs for every file of the archive on every scan, and for
        unchanged files it is nearly all a scan does (issue 19)."""
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except FileNotFoundError:
            return
        except OSError as exc:
            report.errors.append(FileError(prefix.rstrip("/") or ".", f"无法读取文件夹：{exc.strerror}"))
            return
        at_root = not prefix
        own = (SYSTEM_DIR, SETTINGS_FILE, SETTINGS_FILE + ".tmp", self.settings.synonyms)
        ignored_name = _IGNORED_NAME.match
        record_of = known.get
        unchanged = 0
        for entry in entries:
            name = entry.name
            if at_root and name in own:
                continue
            rel = prefix + name
            try:
                # From the directory listing itself on Linux and Windows: no system call per entry.
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False  # the stat below reports it
            if is_dir:
                if name not in IGNORED_DIRS and not (at_root and name == DRAFTS_FOLDER):
                    self._walk_dir(entry.path, rel + "/", report, found, known)
                continue
            if ignored_name(name):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            except OSError as exc:
                report.errors.append(FileError(rel, f"无法访问：{exc.strerror}"))
                continue
            record = record_of(rel)  # a catalogued path is valid UTF-8: an undecodable name never matches
            if (
                record is not None
                and record[1] == st.st_size
                and record[2] == st.st_mtime_ns
                and stat.S_ISREG(st.st_mode)
            ):
                del known[rel]
                unchanged += 1
                continue
            facts = self._identify(entry.path, rel, st, report)
            if facts:
                found.append(facts)
        report.unchanged += unchanged

    def _identify(self, path: str, rel: str, st: os.stat_result, report: ScanReport) -> FileFacts | None:
        if stat.S_ISLNK(st.st_mode):
            # Links are never followed: one pointing outside the root would leak files into the archive.
            report.skipped.append(FileError(rel, "符号链接，未跟随（请放入文件本身而不是链接）"))
            return None
        if not stat.S_ISREG(st.st_mode):
            report.skipped.append(FileError(rel, "不是普通文件，已跳过"))
            return None
        raw = None
        if not rel.isascii():
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError:
                raw = os.fsencode(rel)
                rel = raw.decode("utf-8", "backslashreplace")
        return FileFacts(path, rel, raw, st.st_size, st.st_mtime_ns)

    def _prepare(self, facts: FileFacts, report: ScanReport) -> _Prepared | None:
        """preserve + extract, outside any transaction (they are the slow part)."""
        self.progress.step(self._done, self._total, facts.rel)
        self._done += 1
        try:
            return self._prepare_one(facts, report)
        except StorageError:
            raise
        except Exception:  # a bug met by this file: its error, never the batch's
            report.errors.append(FileError(facts.rel, _FILE_BUG))
            return None

    def _prepare_one(self, facts: FileFacts, report: ScanReport) -> _Prepared | None:
        try:
            stored = self.store.add_file(facts.abs)
            if stored.new:
                self._batch_copies.append(stored.sha256)
            after = os.stat(facts.abs)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise _disk_full(self.settings.system_dir, facts.size) from exc
            self._unreadable(facts, exc, report)
            return None
        if after.st_size != stored.size or after.st_mtime_ns != facts.mtime_ns:
            report.errors.append(FileError(facts.rel, "文件正在写入（读取期间发生变化），稍后再登记"))
            return None
        facts = replace(facts, size=stored.size)
        text = self._extract(facts) if self.extract else None
        return _Prepared(facts, stored.sha256, text)

    def _unreadable(self, facts: FileFacts, exc: OSError, report: ScanReport) -> None:
        if isinstance(exc, FileNotFoundError):
            report.errors.append(FileError(facts.rel, "读取时文件消失了（已被移走或删除），未登记"))
        elif isinstance(exc, PermissionError):
            self._problem(facts.rel, "没有读取权限，无法登记：请检查文件权限")
            report.errors.append(FileError(facts.rel, "没有读取权限，无法登记：请检查文件权限"))
        else:
            self._problem(facts.rel, f"读取失败：{exc.strerror or exc}")
            report.errors.append(FileError(facts.rel, f"读取失败：{exc.strerror or exc}"))
        return None

    @contextmanager
    def _batch(self) -> Iterator[None]:
        """One batch's copies are its own: if the batch fails (a full disk, a kill is another matter —
        `zhikong doctor --repair` clears those), the objects it created and nothing references are
        removed again, so freeing space in the folder is enough to make the next scan succeed."""
        self._batch_copies = []
        try:
            yield
        except BaseException:
            made, self._batch_copies = self._batch_copies, []
            if made:
                self._discard(made)
            raise

    def _discard(self, shas: list[str]) -> None:
        try:
            with self.cat.transaction():  # the write lock: nobody starts referencing them meanwhile
                for sha in shas:
                    if not self.cat.has_version_with(sha):
                        self.store.remove(sha)
        except Exception:  # the catalogue itself failing (the disk is full): doctor --repair finishes
            return

    def _extract(self, facts: FileFacts) -> TextResult:
        assert self.extract is not None
        try:
            return self.extract(facts.abs)
        except Exception:  # an extractor bug must not lose the record
            return TextResult(
                status="unreadable",
                reason="读取文字时程序出错；文件本身已登记保存，请把这个文件交给管理员检查，修复后用 zhikong reindex --reread 重试",
            )

    @contextmanager
    def _one_file(self, rel: str, report: ScanReport, indexed: list[int]) -> Iterator[None]:
        """One file's catalogue writes inside the batch's transaction, under a savepoint of their own:
        if anything in them fails for this file's sake — a value SQLite will not store, a bug — they are
        undone (with what the report and `indexed` said of them), the file is reported with a Chinese
        error and the batch goes on: one thesis PDF once rolled back a batch of 200 files, on every
        rescan. Storage failures (disk full, a lock) still stop the batch: they are every file's."""
        marks = (len(report.added), len(report.changed), len(report.moved), report.unchanged, len(indexed))
        try:
            with self.cat.savepoint():
                yield
        except (StorageError, Busy, sqlite3.OperationalError):
            raise
        except Exception:
            del report.added[marks[0] :], report.changed[marks[1] :], report.moved[marks[2] :]
            del indexed[marks[4] :]
            report.unchanged = marks[3]
            report.errors.append(FileError(rel, _FILE_BUG))
            self._problem(rel, _FILE_BUG)

    def _classify(self, rel: str, text: TextResult | None, keep: Record | None = None) -> Classification:
        result = classify(PurePosixPath(rel), self.settings.center_names(), text.text if text else "")
        if keep is not None and keep.classification.category_by == Source.MANUAL:
            old = keep.classification
            result = replace(result, category=old.category, category_by=Source.MANUAL)
            if old.activity_by == Source.MANUAL:
                result = replace(
                    result,
                    activity=old.activity,
                    activity_date=old.activity_date,
                    activity_type=old.activity_type,
                    activity_by=Source.MANUAL,
                )
            if not result.unclassified:
                result = replace(result, suggestion=None)
        return result

    # -- catalogue writes ---------------------------------------------------------------------------

    def _apply_new(
        self,
        chunk: list[FileFacts],
        missing: dict[str, tuple[int, int, int, str]],
        missing_by_sha: dict[str, list[str]],
        report: ScanReport,
    ) -> None:
        with self._batch():
            indexed = self._catalogue_new(chunk, missing, missing_by_sha, report)
        self._to_index(indexed)

    def _catalogue_new(
        self,
        chunk: list[FileFacts],
        missing: dict[str, tuple[int, int, int, str]],
        missing_by_sha: dict[str, list[str]],
        report: ScanReport,
    ) -> list[int]:
        prepared = [p for f in chunk if (p := self._prepare(f, report))]
        indexed: list[int] = []
        with self.cat.transaction():
            for p in prepared:
                with self._one_file(p.facts.rel, report, indexed):
                    self._catalogue_one_new(p, missing, missing_by_sha, report, indexed)
        return indexed

    def _catalogue_one_new(
        self,
        p: _Prepared,
        missing: dict[str, tuple[int, int, int, str]],
        missing_by_sha: dict[str, list[str]],
        report: ScanReport,
        indexed: list[int],
    ) -> None:
        f = p.facts
        # Another process (a second scan, the watcher) may have catalogued this path since our
        # snapshot: the write lock is held now, so what the catalogue says here is current.
        current = self.cat.find_by_path(f.rel, include_deleted=False)
        if current is not None:
            if self._update_existing(current, p, report):
                indexed.append(current.id)
            return
        old_rel = _pop_match(missing_by_sha, p.sha256)
        if old_rel is not None and self._still_at(missing[old_rel][0], old_rel):
            record_id = missing.pop(old_rel)[0]
        else:
            revived = self.cat.deleted_by_sha(p.sha256)
            record_id = revived.id if revived else 0
            old_rel = revived.path if revived else None
        if record_id:
            before = self.cat.get(record_id)
            self.cat.move(record_id, path=f.rel, raw_path=f.raw, size=f.size, mtime_ns=f.mtime_ns)
            c = self._classify(f.rel, p.text or self._stored_text(record_id), before)
            self.cat.set_classification(record_id, c)
            # The same content reappearing at its old path is a restore, anywhere else a move.
            action = "reappear" if old_rel == f.rel else "move"
            audit.append(self.cat, action, center=c.center, path=f.rel, previous=old_rel, sha256=p.sha256)
            report.moved.append((old_rel or "", f.rel))
        else:
            c = self._classify(f.rel, p.text)
            record_id = self.cat.add(
                path=f.rel,
                raw_path=f.raw,
                sha256=p.sha256,
                size=f.size,
                mtime_ns=f.mtime_ns,
                classification=c,
            )
            audit.append(self.cat, "add", center=c.center, path=f.rel, sha256=p.sha256, size=f.size)
            report.added.append(f.rel)
        self._store_text(record_id, p)
        indexed.append(record_id)

    def _apply_changed(self, chunk: list[tuple[int, FileFacts]], report: ScanReport) -> None:
        with self._batch():
            indexed = self._catalogue_changed(chunk, report)
        self._to_index(indexed)

    def _catalogue_changed(self, chunk: list[tuple[int, FileFacts]], report: ScanReport) -> list[int]:
        prepared = [p for _rid, f in chunk if (p := self._prepare(f, report))]
        indexed: list[int] = []
        with self.cat.transaction():
            for p in prepared:
                current = self.cat.find_by_path(p.facts.rel, include_deleted=False)
                if current is None:  # moved or deleted by another process meanwhile: the next pass sees it
                    report.deferred.append(p.facts.abs)
                    continue
                with self._one_file(p.facts.rel, report, indexed):
                    if self._update_existing(current, p, report):
                        indexed.append(current.id)
        return indexed

    def _update_existing(self, before: Record, p: _Prepared, report: ScanReport) -> bool:
        """A file at a catalogued path: same content is only a new timestamp, else a new version.
        Returns whether the record changed (and so goes to the index)."""
        f = p.facts
        self.cat.touch(before.id, size=f.size, mtime_ns=f.mtime_ns)
        if before.sha256 == p.sha256:
            report.unchanged += 1
            return False
        number = self.cat.new_version(before.id, sha256=p.sha256, size=f.size, mtime_ns=f.mtime_ns)
        c = self._classify(f.rel, p.text, before)
        self.cat.set_classification(before.id, c)
        audit.append(
            self.cat,
            "change",
            center=c.center,
            path=f.rel,
            version=number,
            sha256=p.sha256,
            previous_sha256=before.sha256,
        )
        self._store_text(before.id, p)
        report.changed.append(f.rel)
        return True

    def _still_at(self, record_id: int, rel: str) -> bool:
        """The record is still active at `rel` (no other process moved or deleted it meanwhile)."""
        rec = self.cat.get(record_id)
        return rec.state == RecordState.ACTIVE and rec.path == rel

    def _apply_deleted(self, missing: dict[str, tuple[int, int, int, str]], report: ScanReport) -> None:
        gone: list[int] = []
        with self.cat.transaction():
            for rel, (record_id, _size, _mtime, sha) in sorted(missing.items()):
                rec = self.cat.get(record_id)
                if rec.state != RecordState.ACTIVE or rec.path != rel or self._exists(rel, rec.raw_path):
                    continue  # another process moved, deleted or re-found it meanwhile
                self.cat.mark_deleted(record_id)
                audit.append(self.cat, "delete", center=rec.center, path=rel, sha256=sha)
                report.deleted.append(rel)
                gone.append(record_id)
        self._to_index(gone)

    def _store_text(self, record_id: int, p: _Prepared) -> None:
        if p.text is None:
            return
        self.cat.set_text(
            record_id,
            sha256=p.sha256,
            text=_storable(p.text.text),
            status=p.text.status,
            reason=_storable(p.text.reason),
            title=_storable(p.text.title),
            # A file named after a patient (反馈意见-患者3708…-电话139….txt) is personal data whatever it holds.
            pii=p.text.pii or has_pii(p.facts.rel),
        )

    def _stored_text(self, record_id: int) -> TextResult | None:
        text = self.cat.text(record_id)
        return TextResult(status="ok", text=text) if text else None

    def reread(
        self, statuses: tuple[str, ...] = ("unsupported", "needs_ocr", "unreadable", "garbled")
    ) -> list[str]:
        """Extract again the text of records whose reading failed (e.g. after installing LibreOffice or OCR),
        and of records catalogued without extraction at all (no status yet).

        Only files still on disk with the catalogued content are read; the paths re-read are returned.
        """
        if self.extract is None:
            return []
        done: list[int] = []
        todo = self.cat.ids_to_reread(statuses)
        shown = progress.current()
        shown.phase("重新读取")
        for n, record_id in enumerate(todo):
            rec = self.cat.get(record_id)
            shown.step(n, len(todo), rec.path)
            path = self._abs(rec.path, rec.raw_path)
            if not path.is_file() or rec.sha256 is None:
                continue
            facts = FileFacts(str(path), rec.path, rec.raw_path, rec.size or 0, rec.mtime_ns or 0)
            text = self._extract(facts)
            with self.cat.transaction():
                self._store_text(record_id, _Prepared(facts, rec.sha256, text))
                if rec.classification.category_by != Source.MANUAL:
                    self.cat.set_classification(record_id, self._classify(rec.path, text, rec))
            done.append(record_id)
        self._to_index(done)
        return [self.cat.get(i).path for i in done]

    def _to_index(self, record_ids: list[int]) -> None:
        """Send records to the index. The catalogue has already committed them; only once the index has
        committed too is each record's revision marked as indexed. If the index cannot take them now
        (locked by another process, disk full) — or the process dies first — they stay unmarked and the
        next reconcile sends them again, so the index never silently drifts from the catalogue."""
        if not self.sink or not record_ids:
            return
        if self.cat.in_transaction:
            # Called inside a caller's transaction (an approval filing its final): indexing now could leave
            # a document for a record whose transaction then rolls back. They stay unindexed until the
            # caller has committed and calls `index_records`, or the next reconcile repairs them.
            return
        records = [self.cat.get(i) for i in record_ids]
        try:
            self.sink.upsert([(r, self.cat.text(r.id) or "") for r in records])
        except Exception as exc:
            why = "磁盘已满" if getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT) else str(exc)
            self._index_error = f"检索索引暂时无法更新（{why}），{len(record_ids)} 条记录将在下次核对时补上"
            return
        with self.cat.transaction():
            self.cat.mark_indexed((r.id, r.revision) for r in records)

    def _repair_index(self, *, whole: bool) -> None:
        """Bring the index in step with the catalogue: records it has not taken in their current
        revision are sent again; with `whole`, documents of records the catalogue does not hold (left by
        a transaction that never committed) are removed."""
        if not self.sink:
            return
        for chunk in _chunks(self.cat.index_drift(), BATCH):
            self._to_index(chunk)
        if not whole or self._index_error:
            return
        # A document of a record that never committed can only have come with a change of the index's
        # files. So the index is opened to look only when they changed since the last look found none,
        # recorded in the catalogue itself: a catalogue restored from before has the older mark, and
        # looks again. A scan of unchanged files then never loads the search engine.
        state = self.sink.state()
        if state is not None and state == self.cat.get_meta(_INDEX_LOOKED_AT):
            return
        # With no drift left, every electronic record has exactly one document: more documents than
        # records means documents of records that never committed. Counting is cheap; listing is not.
        if self.sink.doc_count() != self.cat.electronic_count():
            ghosts = self.sink.record_ids() - self.cat.electronic_ids()
            if ghosts:
                self.sink.delete(sorted(ghosts))  # the index's files change: the next pass looks again
                return
        if state is not None:
            with self.cat.transaction():
                self.cat.set_meta(_INDEX_LOOKED_AT, state)

    def index_records(self, record_ids: list[int]) -> None:
        """Send changed metadata (a classification, a paper mark) to the index now; kept for retry if
        the index cannot take it."""
        self._to_index(record_ids)

    # -- problems that have no record (unreadable names, permissions) --------------------------------

    def _problem(self, rel: str, message: str) -> None:
        with self.cat.transaction():
            self.cat.set_problem(rel, message)

    def _clear_problems(self, scope: list[str] | None, present: Iterable[str], report: ScanReport) -> None:
        """Forget the problems of files now catalogued or gone — within `scope` only: a file outside
        the paths of an event was not looked at, so its problem still stands."""
        failing = {e.path for e in report.errors}
        present_set = set(present)
        listed = self.cat.problems() if scope is None else self.cat.problems_under(scope)
        stale = [
            path
            for path, _message in listed
            if path not in failing and (path not in present_set or self.cat.find_by_path(path))
        ]
        if stale:
            with self.cat.transaction():
                self.cat.clear_problems(stale)

    def _abs(self, rel: str, raw: bytes | None) -> Path:
        return self.settings.root / (raw.decode("utf-8", "surrogateescape") if raw else rel)

    def _exists(self, rel: str, raw: bytes | None) -> bool:
        return os.path.lexists(self._abs(rel, raw))

    def _rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.settings.root).as_posix()
        except ValueError:
            return path.as_posix()


@overload
def _storable(text: str) -> str: ...
@overload
def _storable(text: None) -> None: ...
def _storable(text: str | None) -> str | None:
    """What SQLite can store: the indexer already cleans what it extracts (and counts it); this is the
    catalogue's own guard, for any extract stage, against the lone surrogates SQLite refuses."""
    if text is None or text.isascii():
        return text
    return text.encode("utf-8", "replace").decode("utf-8")


def _disk_full(system_dir: Path, needed: int) -> StorageError:
    free = shutil.disk_usage(system_dir).free
    return StorageError(
        f"磁盘已满，文件没有登记：保存副本还需至少 {_mb(needed)}，磁盘只剩 {_mb(free)}。",
        hint="清理磁盘空间后重新运行 zhikong scan；这一批已复制的副本已删除，已登记的内容没有丢失。",
    )


def _mb(size: int) -> str:
    return f"{size / 2**20:,.1f} MB"


def _ignored_folder(rel: str) -> bool:
    """A folder whose files are never records (as `convention.is_ignored` says of a file inside it)."""
    parts = rel.split("/")
    return parts[0] == DRAFTS_FOLDER or any(part in IGNORED_DIRS for part in parts)


def _inside_any(rel: str, folders: Container[str]) -> bool:
    """`rel` lies inside one of `folders` (relative paths; "." is the root)."""
    if rel != "." and "." in folders:
        return True
    parts = rel.split("/")
    return any("/".join(parts[:i]) in folders for i in range(1, len(parts)))


def _pop_match(by_sha: dict[str, list[str]], sha: str) -> str | None:
    candidates = by_sha.get(sha)
    return candidates.pop(0) if candidates else None


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
