"""The application layer: one object per archive, one method per thing a user does.

    arc = Archive.open(root)                       # or Archive.init(root, …), Archive.find(…)
    report = arc.scan("刘敏")                       # every method takes the actor: who does it
    hits = arc.search("刘敏", "去年院感督查的反馈意见")
    print(report.to_json())                         # every result is typed and has to_json()

The command line (`zhikong.cli`) and the web pages are front ends of this layer and nothing else: they
parse, call one method and show the result. The layer owns the wiring that makes the library useful —
a reconciler always connected to text extraction and the search index, relative years in queries, the
index kept in step with every metadata change, the score's evidence search — so a second front end gets
the same behaviour by calling the same methods.

Threads: an `Archive` holds only paths and settings. Every method opens its own catalogue connection
and index handle and closes them before returning, so one `Archive` may serve many threads at once.
Nothing here changes the working directory or any other process-wide state.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from enum import Enum
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from zhikong.archive import audit, progress
from zhikong.archive.catalogue import Catalogue, Record, RecordState, Version
from zhikong.archive.ingest import Reconciler, ScanProgress, ScanReport, TextResult
from zhikong.archive.settings import (
    SETTINGS_FILE,
    Center,
    Settings,
    add_center,
    find_root,
    init_archive,
    load_settings,
)
from zhikong.errors import (
    InputFileError,
    NotFound,
    StorageError,
    TemplateError,
    VerificationError,
)
from zhikong.indexer import ENGINE_DIRS
from zhikong.indexer.pii import has_pii, mask_pii

if TYPE_CHECKING:
    from zhikong.archive.assessment import Assessment, AssessorScore
    from zhikong.archive.backup import BackupCheck, BackupResult, Restored
    from zhikong.archive.checks import CheckReport
    from zhikong.archive.doctor import DoctorReport
    from zhikong.archive.drafts import Draft, DraftRequest
    from zhikong.archive.duplicates import Deduplicated
    from zhikong.archive.handover_model import (
        AfterSealFinding,
        CreateResult,
        HostChange,
        ImportResult,
        Readiness,
        Seal,
        VerifyReport,
    )
    from zhikong.archive.handover_origin import KeyPair
    from zhikong.archive.manage import CenterYearStatus, DetailsEdit, Reclassification
    from zhikong.archive.meta import RecordMeta, Stored
    from zhikong.archive.paper import Box, PaperItem
    from zhikong.archive.preview import Preview
    from zhikong.archive.rules import RuleSet
    from zhikong.archive.score import Ranking, ScoreSheet
    from zhikong.archive.upload import UploadTarget
    from zhikong.archive.watcher import WatchOptions
    from zhikong.generator.documents import Rendered
    from zhikong.indexer.extract import Extraction
    from zhikong.indexer.index import Hit, IndexDoc, SearchFilters, SearchIndex  # imported where used
    from zhikong.indexer.worker import ExtractionWorker
    from zhikong.web.accounts import Account, Accounts

Actor = str
T = TypeVar("T")


# -- results -----------------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Plain JSON data from a result: dataclasses, enums, dates and paths become dicts and strings."""
    to_json = getattr(value, "to_json", None)
    if callable(to_json) and not isinstance(value, type):
        return to_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


def for_people(value: T) -> T:
    """A copy of a result with personal data masked in every string (titles, paths, messages): what the
    documents written for people — the check report, the 考核评分表, the 归档文件目录 — are made from.
    The results the layer returns keep the real values; front ends mask what they print."""
    if isinstance(value, Enum):  # a StrEnum is a str: keep its type
        return value
    if isinstance(value, str):
        return mask_pii(value)  # type: ignore[return-value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: for_people(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **changes)
    if isinstance(value, tuple | list):
        return type(value)(for_people(v) for v in value)
    if isinstance(value, dict):
        return {k: for_people(v) for k, v in value.items()}  # type: ignore[return-value]
    return value


class Result:
    """Base of the layer's own result types: `to_json()` gives plain JSON data."""

    def to_json(self) -> Any:
        assert dataclasses.is_dataclass(self)
        return {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}


@dataclasses.dataclass(frozen=True)
class CenterList(Result):
    centers: tuple[Center, ...]

    def to_json(self) -> Any:
        return [c.to_json() for c in self.centers]


@dataclasses.dataclass(frozen=True)
class RecordList(Result):
    records: tuple[Record, ...]
    # record id → where its stored 题名/日期/责任者/页数/文号 came from (archive.meta.Stored)
    meta: Mapping[int, Stored] = dataclasses.field(default_factory=dict)

    def to_json(self) -> Any:
        return [
            {**r.to_json(), **(self.meta[r.id].to_json() if r.id in self.meta else {})} for r in self.records
        ]


@dataclasses.dataclass(frozen=True)
class StatusResult(Result):
    groups: tuple[CenterYearStatus, ...]
    problems: tuple[tuple[str, str], ...]  # (path, message) of files that have no record


@dataclasses.dataclass(frozen=True)
class RestoreResult(Result):
    record: Record
    version: int  # the version brought back
    saved_sha256: str | None  # the content the restore replaced, kept in the preserved copies


@dataclasses.dataclass(frozen=True)
class UploadResult(Result):
    """One uploaded file, catalogued: `outcome` is new (a new record), version (a new version of the
    record of that name) or unchanged (the same content was there already)."""

    record: Record
    outcome: str
    given_name: str  # as the browser or script sent it; the record's path has the name it is stored under


@dataclasses.dataclass(frozen=True)
class RecordDetail(Result):
    """A record with its versions and the audit entries about it (the web page of one record)."""

    record: Record
    versions: tuple[Version, ...]
    entries: tuple[audit.AuditEntry, ...]
    meta: RecordMeta | None = None  # its register values as stored, each with where it came from
    meta_read: bool | None = None  # archive.meta.Stored.current


@dataclasses.dataclass(frozen=True)
class LogResult(Result):
    entries: tuple[audit.AuditEntry, ...]


@dataclasses.dataclass(frozen=True)
class ImportedLogEntry(Result):
    chain: str
    seq: int
    ts: str | None
    action: str | None
    center: str | None
    path: str | None
    actor: str | None
    redacted: bool


@dataclasses.dataclass(frozen=True)
class ImportedLog(Result):
    entries: tuple[ImportedLogEntry, ...]

    def to_json(self) -> Any:
        return [e.to_json() for e in self.entries]


@dataclasses.dataclass(frozen=True)
class DraftList(Result):
    drafts: tuple[Draft, ...]

    def to_json(self) -> Any:
        return [d.to_json() for d in self.drafts]


@dataclasses.dataclass(frozen=True)
class PaperLink(Result):
    paper: Record  # the paper-only item
    scan: Record  # its electronic copy


@dataclasses.dataclass(frozen=True)
class LogVerifyResult(Result):
    entries: int
    head: str | None  # "SEQ:HASH" of the last entry: write it down to prove later that nothing was rewritten
    imported_chains: int
    imported_entries: int


@dataclasses.dataclass(frozen=True)
class LogAnchor(Result):
    """The chain's head at a moment, for safekeeping outside the machine (the bureau's file, a signed paper)."""

    county: str
    root: Path
    at: str
    head: str  # "SEQ:HASH"
    entries: int


@dataclasses.dataclass(frozen=True)
class SearchResult(Result):
    query: str  # what was searched once a relative year became the year filter
    year: int | None
    hits: tuple[Hit, ...]

    def to_json(self) -> Any:
        return [
            {
                "path": h.path,
                "center": h.center,
                "year": h.year,
                "category": h.category,
                "title": h.title,
                "date": h.date.isoformat() if h.date else None,
                "activity_type": h.activity_type,
                "score": round(h.score, 4),
                "snippet": h.snippet,
                "state": h.state,
                "pii": h.pii,
                "record_id": h.record_id,
            }
            for h in self.hits
        ]


@dataclasses.dataclass(frozen=True)
class ReindexResult(Result):
    reread: tuple[str, ...]
    indexed: int


@dataclasses.dataclass(frozen=True)
class HandoverCreateResult(Result):
    scan: ScanReport
    bundle: CreateResult


@dataclasses.dataclass(frozen=True)
class HandoverImportResult(Result):
    imported: ImportResult
    indexed: int
    scan: ScanReport  # the folder compared with the imported catalogue right after the import
    records_present: int


@dataclasses.dataclass(frozen=True)
class HandoverStatusResult(Result):
    seals: tuple[Seal, ...]
    host_changes: tuple[HostChange, ...]
    findings: tuple[AfterSealFinding, ...]


@dataclasses.dataclass(frozen=True)
class AccountList(Result):
    accounts: tuple[Account, ...]

    def to_json(self) -> Any:
        return [a.to_json() for a in self.accounts]


@dataclasses.dataclass(frozen=True)
class NewToken(Result):
    account: Account
    token: str  # shown once: only its hash is stored


@dataclasses.dataclass(frozen=True)
class LoginResult(Result):
    account: Account | None  # None: refused (wrong name or password, disabled, or locked)
    locked: bool


@dataclasses.dataclass(frozen=True)
class BackupRestoreResult(Result):
    restored: Restored
    indexed: int  # records in the search index rebuilt after the restore


# -- the wiring: extraction and the index behind the reconciler -------------------------------------


# Each file is read in a worker process under these budgets (zhikong.indexer.worker); with
# EXTRACT_IN_WORKER off it is read in this process, as a debugger or profiler wants it.
EXTRACT_IN_WORKER = True
EXTRACT_TIMEOUT_S = 120.0
EXTRACT_MEMORY_MB = 4096


def extract_for_catalogue(path: Path) -> TextResult:
    """The extract stage in this process: the indexer's extraction, reduced to what the catalogue keeps.
    The format libraries (openpyxl, python-pptx, pypdf …) are imported on first use: half a second that
    commands which never read a file should not pay."""
    from zhikong.indexer.extract import extract_text

    return to_text_result(extract_text(path))


def to_text_result(result: Extraction) -> TextResult:
    return TextResult(
        status=result.status.value,
        text=result.text,
        reason=result.reason,
        title=result.title,
        pii=has_pii(result.text, result.title),
    )


def index_doc(record: Record, text: str) -> IndexDoc:
    from zhikong.indexer.index import IndexDoc

    c = record.classification
    return IndexDoc(
        record_id=record.id,
        path=record.path,
        center=c.center or "",
        year=c.year,
        category=c.category,
        activity=c.activity or "",
        activity_type=c.activity_type.value if c.activity_type else "",
        date=c.activity_date or (date.fromisoformat(record.doc_date) if record.doc_date else None),
        title=record.title or Path(record.path).stem,
        text=text,
        state=record.state.value,
        pii=record.pii,
    )


class IndexSink:
    """The index stage: catalogued records and their text go into the search index.

    The index is opened on first use, so operations that never write to it never pay for it.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._index: SearchIndex | None = None
        self._commits = 0

    @property
    def index(self) -> SearchIndex:
        if self._index is None:
            self._index = open_index(self.settings)
        return self._index

    def upsert(self, records: list[tuple[Record, str]]) -> None:
        with self.index.writer() as batch:
            for record, text in records:
                batch.upsert(index_doc(record, text))
        self._commits += 1

    def delete(self, record_ids: list[int]) -> None:
        with self.index.writer() as batch:
            for record_id in record_ids:
                batch.delete(record_id)
        self._commits += 1

    def finish(self) -> None:
        """After an operation that committed many batches (a first scan): merge the small segments.
        Merging is an optimisation: if the index is busy, the next operation merges."""
        if self._index is not None and self._commits >= 3:
            from zhikong.indexer.index import IndexBusy

            with contextlib.suppress(IndexBusy):
                self._index.compact()

    def merge_step(self) -> bool:
        """One bounded merge of the small segments that commits leave (the watcher calls it while the
        folder is quiet: its own commits never merge). False when nothing is left to merge, or the index
        is busy (the next quiet spell tries again)."""
        if self._index is None:
            return False
        from zhikong.indexer.index import IndexBusy

        try:
            return self._index.compact()
        except IndexBusy:
            return False

    def record_ids(self) -> set[int]:
        return self.index.record_ids()

    def doc_count(self) -> int:
        return self.index.doc_count()

    def state(self) -> str | None:
        """The index's files as they are now (names, sizes, times), without opening the index: every
        commit of either engine changes them. "" when there is no index yet; None when they cannot be
        read now (changing as they are listed)."""
        folder = self.settings.system_dir / ENGINE_DIRS[self.settings.search_engine]
        files = []
        try:
            with os.scandir(folder) as listing:
                for entry in listing:
                    st = entry.stat()
                    files.append((entry.name, st.st_size, st.st_mtime_ns))
        except OSError:
            return None if folder.exists() else ""
        return hashlib.sha256(repr(sorted(files)).encode()).hexdigest()

    def close(self) -> None:
        if self._index is not None:
            self._index.close()


def open_index(settings: Settings) -> SearchIndex:
    from zhikong.indexer.index import SearchIndex

    return SearchIndex.for_archive(
        settings.system_dir, engine=settings.search_engine, synonyms=settings.synonyms_path
    )


def _head(cat: Catalogue) -> str | None:
    last = audit.head(cat)
    return f"{last[0]}:{last[1]}" if last else None


def _index_documents(settings: Settings) -> dict[int, tuple[str, str]]:
    index = open_index(settings)
    try:
        return index.documents()
    finally:
        index.close()


@dataclasses.dataclass
class Session:
    """What one operation works with: the settings, its own catalogue connection, and a reconciler
    wired to extraction and the index. Made by `Archive.session()`; closed when the operation ends."""

    settings: Settings
    cat: Catalogue
    reconciler: Reconciler
    sink: IndexSink


# -- the archive ---------------------------------------------------------------------------------------


class Archive:
    """One archive (a folder with zhikong.toml). Cheap to make; safe to share between threads."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._settings_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._settings_cache: tuple[tuple[int, int], Settings] | None = None
        self._search_lock = threading.Lock()
        self._search_index: SearchIndex | None = None

    # -- opening --------------------------------------------------------------------------------------

    @classmethod
    def open(cls, root: Path) -> Archive:
        """The archive at `root` (its zhikong.toml is read now, so a bad one is reported at once, and kept
        for the command that follows, which read it again: 0.04 s with 100 centers)."""
        archive = cls(root)
        archive.settings()
        return archive

    @classmethod
    def find(cls, explicit: Path | None, env: Mapping[str, str], cwd: Path) -> Archive:
        """The archive named by --root, else ZHIKONG_ROOT, else the nearest folder upward with zhikong.toml."""
        return cls.open(find_root(explicit, env, cwd))

    @classmethod
    def init(
        cls, actor: Actor, root: Path, *, county: str, bureau: str, doc_prefix: str, fonds: str
    ) -> Archive:
        settings = init_archive(root, county=county, bureau=bureau, doc_prefix=doc_prefix, fonds=fonds)
        with Catalogue.open(settings.system_dir, actor=actor) as cat:
            audit.append(cat, "init", county=county, bureau=bureau, fonds=fonds)
        return cls(settings.root)

    def settings(self) -> Settings:
        """The archive's settings, read again whenever zhikong.toml changed (a server answers many
        requests a second; parsing the file for each took a third of a search's time)."""
        try:
            st = (self.root / SETTINGS_FILE).stat()
        except OSError:
            return load_settings(self.root)  # its own Chinese error
        key = (st.st_mtime_ns, st.st_size)
        with self._cache_lock:
            if self._settings_cache is not None and self._settings_cache[0] == key:
                return self._settings_cache[1]
        loaded = load_settings(self.root)
        with self._cache_lock:
            self._settings_cache = (key, loaded)
        return loaded

    @contextmanager
    def session(self, actor: Actor) -> Iterator[Session]:
        """Settings, a catalogue connection of this thread's own, and a reconciler wired to text
        extraction and the search index — the only way the layer touches the archive."""
        settings = self.settings()
        cat = Catalogue.open(settings.system_dir, actor=actor)
        sink = IndexSink(settings)
        # The extraction worker is made when a file is first read: a scan of unchanged files reads none.
        worker: ExtractionWorker | None = None

        def extract(path: Path) -> TextResult:
            nonlocal worker
            if not EXTRACT_IN_WORKER:
                return extract_for_catalogue(path)
            if worker is None:
                from zhikong.indexer.worker import ExtractionWorker

                worker = ExtractionWorker(timeout=EXTRACT_TIMEOUT_S, memory_mb=EXTRACT_MEMORY_MB)
            return to_text_result(worker(path))

        try:
            yield Session(settings, cat, Reconciler(settings, cat, extract=extract, sink=sink), sink)
            sink.finish()
        finally:
            if worker is not None:
                worker.close()
            sink.close()
            cat.close()

    # -- centers --------------------------------------------------------------------------------------

    def add_center(self, actor: Actor, center: Center, *, today: date) -> Center:
        with self._settings_lock:
            settings = add_center(self.settings(), center, year=today.year)
        with Catalogue.open(settings.system_dir, actor=actor) as cat:
            audit.append(cat, "center.add", center=center.name, code=center.code, host=center.host)
        return settings.center(center.name)

    def centers(self, actor: Actor) -> CenterList:
        return CenterList(tuple(self.settings().centers))

    # -- the folder and its records -----------------------------------------------------------------

    def scan(
        self, actor: Actor, paths: Sequence[Path] | None = None, *, progress: ScanProgress | None = None
    ) -> ScanReport:
        """Bring the catalogue in line with the folder (or only `paths`): new, changed, moved, deleted;
        and file the final of any approval an interruption left unfiled. `progress` hears of each file."""
        with self.session(actor) as s:
            if progress is not None:
                s.reconciler.progress = progress
            return self._reconcile(s, paths)

    @staticmethod
    def _reconcile(
        s: Session, paths: Sequence[Path] | None = None, *, settle_seconds: float = 0.0
    ) -> ScanReport:
        report = s.reconciler.reconcile(paths, settle_seconds=settle_seconds)
        if s.cat.approved_unfiled_drafts():  # rare (an interrupted approval): drafts loads python-docx
            from zhikong.archive.drafts import finish_approvals

            finish_approvals(s.settings, s.cat, s.reconciler)
        return report

    def watch(
        self,
        actor: Actor,
        options: WatchOptions,
        *,
        stop: threading.Event,
        on_report: Callable[[ScanReport], None] | None = None,
        on_start: Callable[[Settings], None] | None = None,
    ) -> None:
        """Follow the folder until `stop` is set: every stable new file is catalogued, read and indexed."""
        from zhikong.archive.watcher import Watcher

        with self.session(actor) as s:
            if on_start is not None:
                on_start(s.settings)

            def reconcile(paths: list[Path] | None, *, settle_seconds: float = 0.0) -> ScanReport:
                return self._reconcile(s, paths, settle_seconds=settle_seconds)

            Watcher(
                s.settings.root,
                reconcile,
                options=options,
                stop=stop,
                on_report=on_report or (lambda _report: None),
                on_idle=s.sink.merge_step,
            ).run()

    def records(
        self,
        actor: Actor,
        *,
        center: str | None = None,
        year: int | None = None,
        category: str | None = None,
        state: str | None = None,
    ) -> RecordList:
        from zhikong.archive.meta import stored

        with self.session(actor) as s:
            found = s.cat.records(center=center, year=year, category=category, state=state)
            return RecordList(tuple(found), stored(s.cat, found))

    def record(self, actor: Actor, record_id: int) -> Record:
        """One record by its number (NotFound when there is none)."""
        with self.session(actor) as s:
            return s.cat.get(record_id)

    def status(self, actor: Actor) -> StatusResult:
        from zhikong.archive.manage import status

        with self.session(actor) as s:
            groups, problems = status(s.cat)
        return StatusResult(tuple(groups), tuple(problems))

    def classify(self, actor: Actor, path: str, change: Reclassification, *, cwd: Path) -> Record:
        """Set a record's category, activity, center or year by hand (source `manual`), and update the
        search index in the same operation."""
        from zhikong.archive.manage import resolve_record, set_classification

        if change.empty:
            raise InputFileError("至少指定类别、活动、中心或年度之一。")
        with self.session(actor) as s:
            rec = resolve_record(s.settings, s.cat, path, cwd)
            rec = set_classification(s.cat, rec, change, centers=s.settings.center_names())
            s.reconciler.index_records([rec.id])
            return rec

    def restore(self, actor: Actor, path: str, *, cwd: Path, version: int | None = None) -> RestoreResult:
        """Bring back a deleted or damaged file from its preserved copy (see `archive.manage.restore`)."""
        from zhikong.archive.manage import resolve_record, restore

        with self.session(actor) as s:
            rec = resolve_record(s.settings, s.cat, path, cwd)
            restored, chosen, saved = restore(s.settings, s.cat, rec, version, s.reconciler)
        return RestoreResult(restored, chosen, saved)

    def upload(
        self,
        actor: Actor,
        target: UploadTarget,
        name: str,
        source: BinaryIO,
        *,
        max_bytes: int | None = None,
    ) -> UploadResult:
        """A file from the web page or the API into its folder by the convention, catalogued, read and
        indexed like a file dropped into the folder. Nothing half-received is ever catalogued."""
        from zhikong.archive import upload

        settings = self.settings()
        dest = target.folder_of(settings) / upload.safe_name(name)
        rel = dest.relative_to(settings.root).as_posix()
        limit = upload.DEFAULT_MAX_BYTES if max_bytes is None else max_bytes
        received = upload.receive(settings, source, name, max_bytes=limit)
        try:
            with upload.one_at_a_time(dest), self.session(actor) as s:
                if dest.is_dir():
                    raise InputFileError(f"同名的文件夹已经存在，没有保存：{rel}")
                if dest.exists():  # what is there now is catalogued (and preserved) before it is replaced
                    self._reconcile(s, [dest])
                before = s.cat.find_by_path(rel, include_deleted=False)
                upload.place(received, dest)
                self._reconcile(s, [dest])
                record = s.cat.find_by_path(rel, include_deleted=False)
                if record is None:
                    raise StorageError(
                        f"上传的文件已放入文件夹，但没能登记：{rel}", hint="运行 zhikong doctor。"
                    )
                outcome = (
                    "new" if before is None else "unchanged" if before.sha256 == record.sha256 else "version"
                )
                with s.cat.transaction():
                    audit.append(
                        s.cat, "record.upload", center=record.center, path=rel, name=name, outcome=outcome
                    )
                return UploadResult(record, outcome, name)
        finally:
            received.unlink(missing_ok=True)

    def activities(self, actor: Actor, center: str, *, year: int | None = None) -> tuple[str, ...]:
        """The center's activities ("YYYY-MM-DD 名称") that have records, newest first: where an upload
        can go besides a new activity."""
        with self.session(actor) as s:
            found = {
                f"{r.classification.activity_date.isoformat()} {r.classification.activity}"
                for r in s.cat.records(center=center, year=year, state="active")
                if r.classification.activity and r.classification.activity_date
            }
        return tuple(sorted(found, reverse=True))

    def record_detail(self, actor: Actor, record_id: int) -> RecordDetail:
        from zhikong.archive import meta

        with self.session(actor) as s:
            record = s.cat.get(record_id)
            versions = tuple(s.cat.versions(record_id))
            paths = tuple({record.path, *(v.path for v in versions)})
            return RecordDetail(
                record,
                versions,
                tuple(audit.entries(s.cat, paths=paths)),
                meta.of(s.cat, record),
                meta.stored(s.cat, [record])[record.id].current,
            )

    def record_file(self, actor: Actor, record_id: int, *, version: int | None = None) -> tuple[Record, Path]:
        """The bytes of a record's current (or given) version: its preserved copy, which is exactly what
        was catalogued; the file in the folder when no copy was kept."""
        from zhikong.archive.preserve import ObjectStore

        with self.session(actor) as s:
            record = s.cat.get(record_id)
            versions = s.cat.versions(record_id)
            store = ObjectStore(s.settings.system_dir)
            chosen = (
                next((v for v in versions if v.version == version), None)
                if version is not None
                else next((v for v in reversed(versions) if v.sha256 == record.sha256), None)
            )
            if version is not None and chosen is None:
                raise NotFound(f"{record.path} 没有第 {version} 版。")
            if chosen is not None and store.has(chosen.sha256):
                return record, store.path_of(chosen.sha256)
            current = s.settings.root / record.path
            if version is None and record.state == RecordState.ACTIVE and current.is_file():
                return record, current
            raise NotFound(
                f"{record.path} 的文件不在档案库里了（没有保存副本）。", hint="运行 zhikong doctor。"
            )

    def preview(self, actor: Actor, record_id: int, *, convert: bool = True) -> tuple[Record, Preview]:
        """What a browser can show of the record's current version (see `archive.preview`); an Office file
        is converted by LibreOffice (once, cached) unless `convert` is False."""
        from zhikong.archive.preview import preview_of

        record, source = self.record_file(actor, record_id)
        cache = self.settings().system_dir / "previews"
        suffix = PurePath(record.path).suffix
        return record, preview_of(source, suffix, record.sha256 or "none", cache, convert=convert)

    def edit_record(
        self,
        actor: Actor,
        record_id: int,
        details: DetailsEdit,
        change: Reclassification | None = None,
    ) -> Record:
        """Correct a record's title, date, responsible, pages, and (by hand) its category or activity;
        every change audited, the search index updated in the same operation."""
        from zhikong.archive.manage import edit_details, set_classification

        with self.session(actor) as s:
            record = edit_details(s.cat, s.cat.get(record_id), details)
            if change is not None and not change.empty:
                record = set_classification(s.cat, record, change, centers=s.settings.center_names())
            s.reconciler.index_records([record.id])
            return record

    def edit_meta(self, actor: Actor, given: str, details: DetailsEdit, *, cwd: Path) -> RecordMeta:
        """`zhikong edit`: a record (named by its path or 档号) with its register values — 题名, 日期, 责任者,
        页数, 文号 — read from the document if not yet read, then corrected by hand where `details` says
        (audited; a cleared value is read from the document again); each with where it came from."""
        from zhikong.archive import meta
        from zhikong.archive.manage import edit_details
        from zhikong.archive.paper import resolve

        with self.session(actor) as s:
            record = resolve(s.settings, s.cat, given, cwd)
            record = meta.refresh(s.settings, s.cat, [record])[0]
            record = edit_details(s.cat, record, details)
            record = meta.refresh(s.settings, s.cat, [record])[0]
            if record.kind == "electronic":
                s.reconciler.index_records([record.id])
            return meta.of(s.cat, record)

    def dedupe(self, actor: Actor, path: str, *, cwd: Path) -> Deduplicated:
        """Remove an identical copy of a file that stays elsewhere in the folder (`record.duplicate`);
        audited, refused for the last copy (see `archive.duplicates.remove_copy`)."""
        from zhikong.archive.duplicates import remove_copy
        from zhikong.archive.manage import resolve_record

        with self.session(actor) as s:
            rec = resolve_record(s.settings, s.cat, path, cwd)
            return remove_copy(s.settings, s.cat, rec, s.reconciler)

    def restore_record(self, actor: Actor, record_id: int, *, version: int | None = None) -> RestoreResult:
        """`restore` for a record named by its number (the web page)."""
        from zhikong.archive.manage import restore

        with self.session(actor) as s:
            restored, chosen, saved = restore(s.settings, s.cat, s.cat.get(record_id), version, s.reconciler)
        return RestoreResult(restored, chosen, saved)

    # -- the audit log ----------------------------------------------------------------------------------

    def log(self, actor: Actor, *, center: str | None = None, limit: int | None = None) -> LogResult:
        with self.session(actor) as s:
            return LogResult(tuple(audit.entries(s.cat, center=center, limit=limit)))

    def imported_log(self, actor: Actor, *, center: str | None = None) -> ImportedLog:
        """The audit chains a handover carried in, as kept (other centers' entries only as hashes)."""
        with self.session(actor) as s:
            rows = s.cat.imported_audit_rows()
        keep = ("chain", "seq", "ts", "action", "center", "path", "actor")
        return ImportedLog(
            tuple(
                ImportedLogEntry(**{k: r[k] for k in keep}, redacted=bool(r["redacted"]))
                for r in rows
                if not center or r["center"] == center
            )
        )

    def verify_log(self, actor: Actor, *, anchor: str | None = None) -> LogVerifyResult:
        """Verify the hash chain, every chain a handover carried in against its anchor here, the chain
        replayed against the catalogue (each version, deletion, approval has its entry and each entry its
        row), and, given a head written down earlier (`SEQ:HASH`), that the chain still extends it."""
        from zhikong.archive.handover import verify_imported

        with self.session(actor) as s:
            problems = audit.verify(s.cat) + verify_imported(s.cat) + audit.replay(s.cat)
            if anchor is not None:
                problems += audit.check_anchor(s.cat, anchor)
            count = len(audit.entries(s.cat))
            last = audit.head(s.cat)
            chains, carried = s.cat.imported_audit_counts()
        if problems:
            raise VerificationError(
                "审计日志校验未通过：", problems, hint="日志被改动过；请保留现场并报告医政科。"
            )
        return LogVerifyResult(count, f"{last[0]}:{last[1]}" if last else None, chains, carried)

    def anchor(self, actor: Actor) -> LogAnchor:
        """The head of the verified chain, to be kept by the bureau: `verify_log(anchor=…)` later proves the
        chain still extends it, so even a rewrite of the whole log on this machine is detected."""
        from zhikong.archive.catalogue import now_iso

        verified = self.verify_log(actor)
        if verified.head is None:
            raise NotFound("审计日志还是空的，没有可记录的锚点。")
        return LogAnchor(self.settings().county, self.root, now_iso(), verified.head, verified.entries)

    def doctor(self, actor: Actor, *, repair: bool = False) -> DoctorReport:
        """Check catalogue, preserved copies, search index, folder and audit chain against each other;
        with `repair`, remove unreferenced copies and stale temporaries and bring the index in step."""
        from zhikong.archive.doctor import examine

        with self.session(actor) as s:
            return examine(
                s.settings, s.cat, s.reconciler, lambda: _index_documents(s.settings), repair=repair
            )

    # -- search -----------------------------------------------------------------------------------------

    def search(
        self,
        actor: Actor,
        query: str,
        filters: SearchFilters | None = None,
        *,
        today: date,
        limit: int = 10,
    ) -> SearchResult:
        """Chinese full-text search. "去年院感督查的反馈意见": a relative year (今年/去年/前年) in the
        query is a year filter, not a word the files contain."""
        from zhikong.indexer.index import SearchFilters
        from zhikong.indexer.query import relative_year

        text, filters = query, filters or SearchFilters()
        if filters.year is None:
            text, year = relative_year(text, today)
            filters = dataclasses.replace(filters, year=year)
        with self._search_lock:  # one searcher kept open, with what it decoded; not shared mid-search
            if self._search_index is None:
                self._search_index = open_index(self.settings())
            try:
                hits = self._search_index.search(text, filters, limit=limit)
            except FileNotFoundError:  # its segments were merged away under it: open the new ones
                self._search_index.close()
                self._search_index = open_index(self.settings())
                hits = self._search_index.search(text, filters, limit=limit)
        return SearchResult(text, filters.year, tuple(hits))

    def reindex(self, actor: Actor, *, reread: bool = False) -> ReindexResult:
        """Rebuild the search index from the text kept in the catalogue; with `reread`, first read again
        the files whose text could not be read before, or was never read."""
        with self.session(actor) as s:
            again = s.reconciler.reread() if reread else []
            index = open_index(s.settings)
            taken: list[tuple[int, int]] = []
            try:
                # The documents are read after the index's write lock is taken: a record catalogued
                # meanwhile is either in this snapshot or indexed by its own writer after the rebuild.
                count = index.rebuild(lambda: self._all_docs(s.cat, taken))
            finally:
                index.close()
            with s.cat.transaction():
                s.cat.mark_indexed(taken)
        self._drop_search_index()  # a rebuilt index may be a new one: the kept searcher opens it afresh
        return ReindexResult(tuple(again), count)

    def _drop_search_index(self) -> None:
        with self._search_lock:
            if self._search_index is not None:
                self._search_index.close()
                self._search_index = None

    @staticmethod
    def _all_docs(cat: Catalogue, taken: list[tuple[int, int]]) -> Iterator[IndexDoc]:
        """Every electronic record as an index document; (id, revision) of each goes into `taken`.
        Texts are read a record at a time, never all at once (a county's archive holds gigabytes)."""
        records = [r for r in cat.records() if r.kind == "electronic"]
        shown = progress.current()
        shown.phase("重建索引")
        for n, r in enumerate(records):
            shown.step(n, len(records), r.path)
            taken.append((r.id, r.revision))
            yield index_doc(r, cat.text(r.id) or "")

    # -- paper register, checks and the assessment ---------------------------------------------------

    def paper_catalog(
        self,
        actor: Actor,
        center: str,
        year: int,
        box: int,
        *,
        today: date,
        out: Path | None = None,
        retention: str | None = None,
        limit: int | None = None,
        compiled_by: str = "",
    ) -> Box:
        """Plan a box (a new one takes the records still waiting, numbered) and print its 归档文件目录,
        备考表 and 盒脊 to `out`."""
        from zhikong.archive.paper import plan_box, scanned_ids
        from zhikong.generator.register import box_documents

        with self.session(actor) as s:
            planned = plan_box(
                s.settings, s.cat, center=center, year=year, box=box, retention=retention, limit=limit
            )
            s.reconciler.index_records(s.cat.index_drift())  # the titles and dates the register read
            if out is not None:
                box_documents(
                    for_people(planned),
                    out,
                    scanned=scanned_ids(s.cat),
                    compiled_by=compiled_by,
                    today=today,
                )
        return planned

    def paper_mark(
        self,
        actor: Actor,
        *,
        box: int,
        cwd: Path,
        refs: Sequence[str] = (),
        whole_box: tuple[str, int] | None = None,
    ) -> RecordList:
        """Register paper originals as filed in `box`: records named by path or 档号, or (center, year)'s
        whole catalogued box."""
        from zhikong.archive.paper import box_records, mark, resolve

        if (whole_box is None) == (not refs):
            raise InputFileError("请给出文件（路径或档号），或登记整盒（二者选一）。")
        with self.session(actor) as s:
            if whole_box is not None:
                chosen = box_records(s.cat, whole_box[0], whole_box[1], box)
                if not chosen:
                    raise NotFound(f"第 {box} 盒还没有目录：先运行 zhikong paper catalog。")
            else:
                chosen = [resolve(s.settings, s.cat, r, cwd) for r in refs]
            return RecordList(tuple(mark(s.settings, s.cat, chosen, box=box)))

    def paper_add(self, actor: Actor, item: PaperItem) -> Record:
        """Register a paper-only item: numbered at once, waiting for its scan (`record.electronic`)."""
        from zhikong.archive.paper import add_paper

        with self.session(actor) as s:
            return add_paper(s.settings, s.cat, item)

    def paper_link(self, actor: Actor, paper: str, scan: str, *, cwd: Path) -> PaperLink:
        """Link a scan to its paper-only item, both named by path or 档号."""
        from zhikong.archive.paper import link, resolve

        with self.session(actor) as s:
            item = resolve(s.settings, s.cat, paper, cwd)
            return PaperLink(item, link(s.cat, item, resolve(s.settings, s.cat, scan, cwd)))

    def check(
        self,
        actor: Actor,
        *,
        as_of: date,
        center: str | None = None,
        year: int | None = None,
        out: Path | None = None,
        within: int | None = None,
    ) -> CheckReport:
        """Every rule for every center-year in scope, as of a date; with `out` also a .docx/.xlsx report.
        Reminders reach `within` days ahead (default: `remind_days` in zhikong.toml)."""
        from zhikong.archive.checks import run_checks
        from zhikong.archive.rules import load_rules

        with self.session(actor) as s:
            rules = load_rules(s.settings.rules, s.settings.root)
            days = s.settings.remind_days if within is None else within
            report = run_checks(s.settings, s.cat, rules, as_of=as_of, center=center, year=year, within=days)
            anchor = _head(s.cat)
        if out is not None:
            from zhikong.generator.reports import check_report

            check_report(for_people(report), out, county=s.settings.county, anchor=anchor)
        return report

    def score(
        self, actor: Actor, *, center: str, year: int, as_of: date, out: Path | None = None
    ) -> ScoreSheet:
        """The 21-item form for one center-year with the self-assessed score, each item citing its files."""
        from zhikong.archive.rules import load_rules
        from zhikong.archive.score import score_center

        with self.session(actor) as s:
            rules = load_rules(s.settings.rules, s.settings.root)
            sheet = score_center(s.settings, s.cat, rules, center=center, year=year, as_of=as_of)
            anchor = _head(s.cat)
        if out is not None:
            from zhikong.generator.reports import score_form

            score_form(for_people(sheet), out, county=s.settings.county, anchor=anchor)
        return sheet

    def rank(self, actor: Actor, *, year: int, as_of: date, out: Path | None = None) -> Ranking:
        """The county ranking: every center's projected score, item 19 and the forced distribution."""
        from zhikong.archive.rules import load_rules
        from zhikong.archive.score import rank_all

        with self.session(actor) as s:
            rules = load_rules(s.settings.rules, s.settings.root)
            ranking = rank_all(s.settings, s.cat, rules, year=year, as_of=as_of)
        if out is not None:
            from zhikong.generator.reports import ranking_book

            ranking_book(for_people(ranking), out)
        return ranking

    def assessment(self, actor: Actor, *, center: str, year: int, as_of: date) -> Assessment:
        """The 21-item form with the self-assessed score (`score`) and the bureau's score beside each item,
        and both totals: the bureau total takes the bureau's score where given."""
        from zhikong.archive.assessment import assessment, scores_of
        from zhikong.archive.rules import load_rules

        sheet = self.score(actor, center=center, year=year, as_of=as_of)
        with self.session(actor) as s:
            rules = load_rules(s.settings.rules, s.settings.root)
            return assessment(rules, sheet, scores_of(s.cat, center, year))

    def assessor_scores(self, actor: Actor, *, center: str, year: int) -> dict[int, AssessorScore]:
        """The bureau's scores of one center-year, by item number."""
        from zhikong.archive.assessment import scores_of

        with self.session(actor) as s:
            s.settings.center(center)
            return scores_of(s.cat, center, year)

    def set_assessor_score(
        self, actor: Actor, *, center: str, year: int, item: int, score: float, note: str = ""
    ) -> AssessorScore:
        """The bureau grades one item (0 ≤ score ≤ the item's maximum), with a note; audited (assess.score)."""
        from zhikong.archive.assessment import set_score
        from zhikong.archive.rules import load_rules

        with self.session(actor) as s:
            s.settings.center(center)
            rules = load_rules(s.settings.rules, s.settings.root)
            return set_score(s.cat, rules, center=center, year=year, item=item, score=score, note=note)

    def ranked_assessments(self, actor: Actor, ranking: Ranking) -> dict[str, Assessment]:
        """The bureau's scores beside every sheet of a county ranking (item 19 as the ranking scored it)."""
        from zhikong.archive.assessment import assessment, scores_of
        from zhikong.archive.rules import load_rules

        with self.session(actor) as s:
            rules = load_rules(s.settings.rules, s.settings.root)
            return {
                sheet.center: assessment(rules, sheet, scores_of(s.cat, sheet.center, ranking.year))
                for sheet in ranking.sheets
            }

    def rule_set(self, actor: Actor) -> RuleSet:
        """The rule set this archive is graded by: its scoring items, tiers and forced distribution."""
        from zhikong.archive.rules import load_rules

        settings = self.settings()
        return load_rules(settings.rules, settings.root)

    # -- red-header drafts and their approval ---------------------------------------------------------

    def draft(self, actor: Actor, request: DraftRequest, *, today: date, submit: bool = True) -> Draft:
        """Check a 通知 or 请示 and write its 送审稿 (marked, unnumbered); submitted to the bureau at once
        unless `submit` is False (then it is a 草稿 to preview, edit and submit)."""
        from zhikong.archive.drafts import create_notice_draft

        with self.session(actor) as s:
            return create_notice_draft(s.settings, s.cat, request, today=today, submit=submit)

    def draft_template(
        self,
        actor: Actor,
        kind: str,
        data: dict[str, Any],
        *,
        center: str,
        today: date,
        activity: str | None = None,
        bureau: bool = False,
        submit: bool = True,
    ) -> Draft:
        """Check a 函's or 纪要's data (the format `render` takes) and write its 送审稿, submitted at once
        unless `submit` is False (`archive.drafts.create_template_draft`)."""
        from zhikong.archive.drafts import create_template_draft

        with self.session(actor) as s:
            return create_template_draft(
                s.settings, s.cat, kind, data, center=center, today=today, activity=activity, bureau=bureau,
                submit=submit,
            )  # fmt: skip

    def draft_detail(self, actor: Actor, draft_id: int) -> Draft:
        from zhikong.archive.drafts import get_draft

        with self.session(actor) as s:
            return get_draft(s.cat, draft_id)

    def draft_upload(self, actor: Actor, draft_id: int, data: bytes, *, name: str) -> Draft:
        """An edited 送审稿 as the draft's content (checked; see `archive.drafts.upload_draft`).
        A TemplateError lists what it changed that it may not; nothing is changed then."""
        from zhikong.archive.drafts import upload_draft

        with self.session(actor) as s:
            draft, problems = upload_draft(s.settings, s.cat, draft_id, data, name=name)
        if problems:
            raise TemplateError(f"上传的送审稿有 {len(problems)} 处不能接受的改动，没有保存：", problems)
        return draft

    def draft_of_record(self, actor: Actor, record_id: int) -> Draft | None:
        """The approved draft whose final is this record, if it is one."""
        from zhikong.archive.drafts import list_drafts

        with self.session(actor) as s:
            return next((d for d in list_drafts(s.cat) if d.record_id == record_id), None)

    def draft_attachments(self, actor: Actor, draft_id: int) -> tuple[Path, ...]:
        """The draft's attachment files, in order (附件1 …)."""
        from zhikong.archive.drafts import attachment_files, get_draft

        with self.session(actor) as s:
            return tuple(attachment_files(s.settings, get_draft(s.cat, draft_id)))

    def draft_submit(self, actor: Actor, draft_id: int) -> Draft:
        from zhikong.archive.drafts import submit

        with self.session(actor) as s:
            return submit(s.settings, s.cat, draft_id)

    def draft_proof(self, actor: Actor, draft_id: int) -> bool | None:
        """Is the final the approved 送审稿 with only the number filled in and the mark removed? None when
        it cannot be told here (not approved, or the approved file or the final is not kept here)."""
        from zhikong.archive import draftfile
        from zhikong.archive.drafts import get_draft, number_line
        from zhikong.archive.preserve import ObjectStore

        with self.session(actor) as s:
            d = get_draft(s.cat, draft_id)
            store = ObjectStore(s.settings.system_dir)
            if not (d.approved_sha256 and d.final_sha256 and d.doc_number):
                return None
            if not (store.has(d.approved_sha256) and store.has(d.final_sha256)):
                return None
            return draftfile.final_matches(
                store.path_of(d.approved_sha256).read_bytes(),
                store.path_of(d.final_sha256).read_bytes(),
                number_line(d.content, None),
                number_line(d.content, d.number),
            )

    def drafts(self, actor: Actor, *, center: str | None = None) -> DraftList:
        from zhikong.archive.drafts import list_drafts

        with self.session(actor) as s:
            if center:
                s.settings.center(center)
            return DraftList(tuple(list_drafts(s.cat, center=center)))

    def approve(
        self,
        actor: Actor,
        draft_id: int,
        *,
        by: str,
        ref: str = "",
        today: date,
        number: int | None = None,
        seen_sha256: str | None = None,
    ) -> Draft:
        """The bureau's approval: a 发文字号 (the next, or `number` as the bureau's system gave it), the
        final made from the approved 送审稿 itself, filed and catalogued, audited."""
        from zhikong.archive.drafts import approve

        with self.session(actor) as s:
            return approve(
                s.settings,
                s.cat,
                s.reconciler,
                draft_id,
                by=by,
                ref=ref,
                today=today,
                number=number,
                seen_sha256=seen_sha256,
            )

    def reject(self, actor: Actor, draft_id: int, *, reason: str, by: str = "") -> Draft:
        from zhikong.archive.drafts import reject

        with self.session(actor) as s:
            return reject(s.cat, draft_id, by=by, reason=reason)

    def issue(self, actor: Actor, draft_id: int, *, on: date) -> Draft:
        from zhikong.archive.drafts import mark_issued

        with self.session(actor) as s:
            return mark_issued(s.cat, draft_id, on=on)

    @staticmethod
    def render(actor: Actor, template: str, data: Path, out: Path, *, fonts: str = "gb2312") -> Rendered:
        """Fill a shipped template (or the user's own .docx) from a .json/.toml file; returns its kind.
        Needs no archive. A red-headed document comes out only as an unnumbered 送审稿: a numbered one is
        made only by `approve`. `fonts`: the font profile (gb2312 or windows)."""
        from zhikong.generator.documents import render_document

        return render_document(template, data, out, fonts=fonts)

    # -- handover (H39) --------------------------------------------------------------------------------

    def handover_create(
        self,
        actor: Actor,
        *,
        center: str,
        to_host: str,
        out: Path,
        as_of: date,
        processes: int = 2,
        sign_key: Path | None = None,
    ) -> HandoverCreateResult:
        """Compare the folder once more, seal the center and write its BagIt bundle with the papers (which
        print its fingerprint); `sign_key` (from `handover_keygen`) also signs the fingerprint."""
        from zhikong.archive import meta
        from zhikong.archive.handover import create_bundle

        with self.session(actor) as s:
            report = s.reconciler.reconcile()
            # the 移交清单, 目录 and the compilation's bookmarks name each record by its own title
            meta.refresh(s.settings, s.cat, s.cat.records(center=center, state="active"))
            s.reconciler.index_records(s.cat.index_drift())
            created = create_bundle(
                s.settings,
                s.cat,
                center=center,
                to_host=to_host,
                out=out,
                as_of=as_of,
                processes=processes,
                sign_key=sign_key,
            )
        return HandoverCreateResult(report, created)

    @staticmethod
    def handover_keygen(actor: Actor, folder: Path, host: str) -> KeyPair:
        """A key pair for a host to sign its handover bundles: the public key is registered with the bureau."""
        from zhikong.archive.handover_origin import generate_key

        return generate_key(folder, host)

    @classmethod
    def handover_import(
        cls,
        actor: Actor,
        root: Path,
        bundle: Path,
        *,
        processes: int = 2,
        fingerprint: str | None = None,
        public_key: Path | None = None,
    ) -> HandoverImportResult:
        """Verify (against the signed paper's `fingerprint` and the old host's `public_key` when given),
        then take the bundle's center into the archive at `root` (made from the bundle's settings when
        `root` is not an archive yet); the index is rebuilt and the folder compared."""
        from zhikong.archive.handover import import_bundle
        from zhikong.archive.handover_import import AlreadyImported

        try:
            imported = import_bundle(
                root, bundle, processes=processes, actor=actor, fingerprint=fingerprint, public_key=public_key
            )
        except AlreadyImported:
            # An earlier import of this bundle was cut short after its catalogue committed: finish its
            # tail (the index, the comparison with the folder) instead of importing twice.
            cls.open(root.expanduser().resolve()).scan(actor)
            raise
        arc = cls(imported.root)
        indexed = arc.reindex(actor).indexed
        with arc.session(actor) as s:
            report = s.reconciler.reconcile([imported.root / imported.center])
            present = len(s.cat.records(center=None, state=RecordState.ACTIVE.value))
        return HandoverImportResult(imported, indexed, report, present)

    @staticmethod
    def handover_verify(
        actor: Actor,
        bundle: Path,
        *,
        processes: int = 2,
        fingerprint: str | None = None,
        public_key: Path | None = None,
    ) -> VerifyReport:
        """Check every checksum of a bundle and the 四性 of DA/T 70-2018, all problems at once (needs no
        archive: the receiver checks a bundle before it has one); its origin against the `fingerprint`
        printed on the signed 交接书 and the old host's `public_key`, when given."""
        from zhikong.archive.handover import verify_bundle

        return verify_bundle(bundle, processes=processes, fingerprint=fingerprint, public_key=public_key)

    def handover_status(self, actor: Actor, *, center: str | None = None) -> HandoverStatusResult:
        from zhikong.archive.handover import after_seal_findings, host_changes, seals

        with self.session(actor) as s:
            s.reconciler.reconcile()
            return HandoverStatusResult(
                tuple(seals(s.cat, center)),
                tuple(h for h in host_changes(s.cat) if center in (None, h.center)),
                tuple(after_seal_findings(s.cat, center)),
            )

    def handover_release(self, actor: Actor, *, center: str, reason: str) -> Seal:
        """Lift a seal when a handover is called off; the reason goes into the audit log."""
        from zhikong.archive.handover import release

        with self.session(actor) as s:
            s.settings.center(center)
            return release(s.cat, center, reason)

    def handover_readiness(self, actor: Actor, *, center: str) -> Readiness:
        """What `handover_create` would list as not ready for `center`, without sealing anything: the
        folder is compared first, as create does."""
        from zhikong.archive.handover import readiness

        with self.session(actor) as s:
            s.settings.center(center)
            s.reconciler.reconcile()
            return readiness(s.cat, center)

    # -- backups -------------------------------------------------------------------------------------------

    def backup(self, actor: Actor, dest: Path) -> BackupResult:
        """A consistent copy of the running archive in `dest` (new, empty, or an earlier backup: then only
        what is new is copied): databases by SQLite's online backup, preserved copies, the folders and
        settings, the manifest last. Each backup is an audit entry here. Safe while scans and the watcher
        write, so `serve` can call it on a schedule."""
        from zhikong.archive.backup import create_backup

        settings = self.settings()
        # Opened first so the catalogue is migrated: the copy then has the schema this program reads.
        with Catalogue.open(settings.system_dir, actor=actor) as cat:
            result = create_backup(settings, dest)
            audit.append(
                cat,
                "backup",
                dest=str(result.dest),
                snapshot=result.snapshot,
                backup_audit_head=result.audit_head,
                objects=result.objects,
                objects_copied=result.objects_copied,
                bytes_copied=result.bytes_copied,
                warnings=len(result.warnings),
            )
        return result

    @staticmethod
    def backup_verify(actor: Actor, dest: Path) -> BackupCheck:
        """Check a backup, every problem at once (needs no archive: a backup is checked before a restore)."""
        from zhikong.archive.backup import verify_backup

        return verify_backup(dest)

    @classmethod
    def backup_restore(cls, actor: Actor, dest: Path, target: Path) -> BackupRestoreResult:
        """A working archive in `target` (a new or empty folder) from the verified backup in `dest`; the
        search index is rebuilt, the restore recorded in the restored audit chain."""
        from zhikong.archive.backup import restore_backup

        restored = restore_backup(dest, target, actor=actor)
        indexed = cls(restored.target).reindex(actor).indexed
        return BackupRestoreResult(restored, indexed)

    # -- accounts of the web server (zhikong serve) ---------------------------------------------------------

    @contextmanager
    def _accounts(self) -> Iterator[Accounts]:
        from zhikong.web.accounts import Accounts

        with Accounts.open(self.settings().system_dir) as accounts:
            yield accounts

    @contextmanager
    def _account_change(self, actor: Actor) -> Iterator[tuple[Accounts, Catalogue]]:
        """An account change and its audit entry: the entry is written in the catalogue's transaction,
        which commits only after the accounts database has committed the change (a failed change leaves
        no entry)."""
        with (
            self._accounts() as accounts,
            Catalogue.open(self.settings().system_dir, actor=actor) as cat,
            cat.transaction(),
        ):
            yield accounts, cat

    def user_add(
        self, actor: Actor, name: str, *, role: str, centers: Sequence[str] = (), password: str
    ) -> Account:
        """A new account of the web server, with its role and (for a director or secretary) its centers."""
        from zhikong.web.accounts import check_grant

        chosen, checked = check_grant(role, centers, self.settings().center_names())
        with self._account_change(actor) as (accounts, cat):
            account = accounts.add(name, chosen, checked, password)
            audit.append(cat, "user.add", user=account.name, role=chosen.value, centers=list(checked))
        return account

    def users(self, actor: Actor) -> AccountList:
        with self._accounts() as accounts:
            return AccountList(tuple(accounts.all()))

    def user(self, actor: Actor, name: str) -> Account:
        with self._accounts() as accounts:
            return accounts.get(name)

    def user_by_id(self, actor: Actor, account_id: int) -> Account | None:
        with self._accounts() as accounts:
            return accounts.by_id(account_id)

    def has_admin(self) -> bool:
        """Is there an active administrator account (without one, `serve` does not start)?"""
        with self._accounts() as accounts:
            return accounts.has_admin()

    def user_passwd(self, actor: Actor, name: str, password: str) -> Account:
        """Set an account's password; sessions opened with the old one end."""
        with self._account_change(actor) as (accounts, cat):
            account = accounts.set_password(name, password)
            audit.append(cat, "user.passwd", user=account.name)
        return account

    def user_disable(self, actor: Actor, name: str) -> Account:
        """Disable an account: it can no longer log in, its sessions end and its API tokens stop working."""
        with self._account_change(actor) as (accounts, cat):
            account = accounts.disable(name)
            audit.append(cat, "user.disable", user=account.name)
        return account

    def token_create(self, actor: Actor, name: str) -> NewToken:
        """An API token for an account, returned once; only its hash is kept."""
        with self._account_change(actor) as (accounts, cat):
            token = accounts.create_token(name)
            account = accounts.get(name)
            audit.append(cat, "token.create", user=account.name)
        return NewToken(account, token)

    def token_account(self, token: str) -> Account | None:
        """The active account an API token belongs to (None: unknown token or disabled account)."""
        with self._accounts() as accounts:
            return accounts.token_account(token)

    def login(self, name: str, password: str, *, address: str, now: float) -> LoginResult:
        """A log-in attempt from `address` at `now` (seconds); each lockout it causes is audited."""
        with self._accounts() as accounts:
            outcome = accounts.login(name, password, address=address, now=now)
        if outcome.new_locks:
            with Catalogue.open(self.settings().system_dir, actor=f"网页登录（{address}）") as cat:
                for lock in outcome.new_locks:
                    audit.append(
                        cat, "user.lockout", user=name, address=address, locked=lock.kind, minutes=15
                    )
        return LoginResult(outcome.account, outcome.locked)

    def change_password(self, actor: Actor, old: str, new: str) -> Account:
        """A user changes her own password (the actor's account), giving the old one."""
        with self._accounts() as accounts:
            if not accounts.password_matches(actor, old):
                raise InputFileError("原密码不正确。")
        return self.user_passwd(actor, actor, new)


# -- the command line's actor ---------------------------------------------------------------------------


def default_actor(explicit: str | None = None) -> Actor:
    """The actor of a command-line call: `--as NAME`, else the operating-system user."""
    from zhikong.archive.catalogue import os_user

    name = (explicit or "").strip()
    return name or os_user()
