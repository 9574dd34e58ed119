"""The search index: a small façade over a search engine. Callers see dataclasses, never engine objects.

Two engines hold the same documents, analysed the same way (indexer.analysis) and ranked by the same
code (indexer.ranking): Whoosh (pure Python, the default) and tantivy (Rust, an optional extra; chosen with
``[search] engine = "tantivy"`` in zhikong.toml; indexer.engine_tantivy). The index is derived data
(DOMAIN §3): the catalogue keeps every record's extracted text, and `rebuild` recreates the index from it —
also in the other engine, when the settings name another one. Writes go through `writer()`, a transaction
that commits only when its block finishes cleanly, and never merges segments: `compact` does, when the
archive is idle or after bulk work.
"""

from __future__ import annotations

import datetime as dt
import heapq
import io
import itertools
import os
import shutil
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from whoosh import index as windex
from whoosh import query as wq
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.filedb import compound as whoosh_compound
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import BufferFile, StructFile
from whoosh.matching.wrappers import FilterMatcher
from whoosh.system import pack_uint
from whoosh.util import random_name
from whoosh.writing import NO_MERGE, SegmentWriter

from zhikong.errors import ExitCode, ZhikongError
from zhikong.indexer import ENGINE_DIRS, ENGINES
from zhikong.indexer.analysis import Synonyms, analyzer, normalize
from zhikong.indexer.query import CONTENT, META, Probe, QueryPlan, fold, plan_probes, plan_query
from zhikong.indexer.snippet import make_snippet
from zhikong.indexer.termtext import term_counts
from zhikong.private import FILE_MODE, POSIX, private_dir, private_file, tighten

if TYPE_CHECKING:  # the ranking (and numpy with it) is imported by the first search, not by every writer
    from zhikong.indexer.ranking import Candidate, Source

# Text kept for snippets and coordination. Long enough for any realistic record; a 1,000,000-character
# extraction is still fully indexed, only its snippet comes from the first part.
_STORED_TEXT = 200_000
_LOCK_TIMEOUT_S = 30.0
DELETED = "deleted"
_Scored = tuple[dict[str, Any], float]


class IndexBusy(ZhikongError):
    exit_code = ExitCode.CONFLICT


class _MappedPart(io.RawIOBase):
    """A read-only file over a part of a memory-mapped segment, read where it lies."""

    def __init__(self, view: memoryview) -> None:
        super().__init__()
        self._view = view
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else min(len(self._view), self._pos + size)
        data = self._view[self._pos : end].tobytes()
        self._pos = max(self._pos, end)
        return data

    def readinto(self, buffer: Any) -> int:
        n = max(0, min(len(buffer), len(self._view) - self._pos))
        buffer[:n] = self._view[self._pos : self._pos + n]
        self._pos += n
        return n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._view)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos


class _MappedBufferFile(BufferFile):
    """Whoosh's file for a part of a memory-mapped compound segment, without its copy of the part: Whoosh
    wraps each part in a BytesIO, which copies it, so every reader opened — one per batch commit, to find
    the documents an update replaces, and one per search generation — copied the whole index into memory
    (95 MB at 20,000 documents of 3,000 characters: a watched file's commit cost grew with the archive)."""

    def __init__(self, buf: Any, name: str | None = None, onclose: Any = None) -> None:
        self._buf = buf
        self._name = name
        self.file = _MappedPart(memoryview(buf))
        self.onclose = onclose
        self.is_real = False
        self.is_closed = False


whoosh_compound.BufferFile = _MappedBufferFile  # what CompoundStorage.open_file makes for a mapped part


class _PrivateStorage(FileStorage):
    """Whoosh's file storage with every file and folder it makes readable by the owner only
    (`zhikong.private`): the index holds the records' names and text."""

    def create(self) -> _PrivateStorage:
        private_dir(Path(self.folder))
        return self

    def create_file(self, name: str, excl: bool = False, mode: str = "wb", **kwargs: Any) -> Any:
        if not POSIX:
            return super().create_file(name, excl=excl, mode=mode, **kwargs)
        flags = os.O_CREAT | (os.O_RDWR if "+" in mode else os.O_WRONLY)
        flags |= os.O_EXCL if excl else os.O_TRUNC
        fd = os.open(self._fpath(name), flags, FILE_MODE)
        return StructFile(os.fdopen(fd, mode), name=name, **kwargs)

    def lock(self, name: str) -> Any:
        private_file(Path(self._fpath(name)))  # the lock's file, made before Whoosh makes it 0755
        return super().lock(name)

    def temp_storage(self, name: str | None = None) -> _PrivateStorage:
        name = name or f"{random_name()}.tmp"
        return _PrivateStorage(os.path.join(self.folder, name)).create()


def _storage(index_dir: Path) -> _PrivateStorage:
    """The index folder made owner-only, and what an earlier version left in it tightened."""
    loose = POSIX and index_dir.is_dir() and index_dir.stat().st_mode & 0o077
    storage = _PrivateStorage(str(index_dir)).create()
    if loose:
        for path in index_dir.iterdir():
            tighten(path)
    return storage


def _create_once(index_dir: Path) -> None:
    """Create the index unless another process or thread has just done so.

    Whoosh's creation first deletes every index file already in the folder, so two creations at once
    (two first scans of a new archive, a server's threads) could delete each other's table of contents
    or even a first commit. Creation therefore holds the lock Whoosh's writers take, and looks again.
    """
    with _write_lock(index_dir):
        if not windex.exists_in(str(index_dir)):
            _storage(index_dir).create_index(_schema())


@contextmanager
def _write_lock(index_dir: Path) -> Iterator[None]:
    """The lock Whoosh's writers take (that of the default index, MAIN), held for the block."""
    lock = _storage(index_dir).lock("MAIN_WRITELOCK")
    deadline = time.monotonic() + _LOCK_TIMEOUT_S
    while not lock.acquire():
        if time.monotonic() > deadline:
            raise IndexBusy(
                f"检索索引正被另一个 zhikong 进程创建或写入，等待 {_LOCK_TIMEOUT_S:.0f} 秒仍未释放。"
            )
        time.sleep(0.05)
    try:
        yield
    finally:
        lock.release()


def _codec() -> Any:
    """Whoosh's codec without the per-posting field-length statistics: writing a posting looked up its
    record's field length (a column seek and read, 17 % of a reindex) only to store each block's shortest
    and longest record, which Whoosh's own scorer uses and ours (indexer.ranking) never reads."""
    from whoosh.codec.whoosh3 import W3Codec

    codec = W3Codec()
    codec.length_stats = False
    return codec


def _writer(ix: Any, limitmb: int) -> Any:
    try:
        return ix.writer(timeout=_LOCK_TIMEOUT_S, limitmb=limitmb, codec=_codec())
    except windex.LockError as exc:
        raise IndexBusy(
            f"检索索引正被另一个 zhikong 进程写入，等待 {_LOCK_TIMEOUT_S:.0f} 秒仍未释放。",
            hint="稍后重试；若没有其他 zhikong 在运行，删除 .zhikong/index/ 下的 *_WRITELOCK 文件后运行 zhikong reindex。",
        ) from exc


# A rebuild writes a segment each time its sorting pool holds about this much (Whoosh's estimate of the
# postings' size; about 600 documents of 3,000 characters): the pool is sorted in memory and never spills
# to disk through pickle, which Whoosh does when a pool exceeds its limit (a quarter of a reindex's time).
_POOL_MB = 160
_SEGMENT_POOL_BYTES = 128 * 1024 * 1024
COMPACT_MERGE_DOCS = 6000
COMPACT_MIN_SEGMENTS = 6


def _smallest(segments: list[Any], max_docs: int) -> list[Any]:
    """The smallest segments while together they hold at most `max_docs` documents: the cost of a merge
    is bounded whatever the size of the index."""
    chosen: list[Any] = []
    total = 0
    for seg in sorted(segments, key=lambda s: s.doc_count_all()):
        if total + seg.doc_count_all() > max_docs:
            break
        chosen.append(seg)
        total += seg.doc_count_all()
    return chosen


class QueryError(ZhikongError):
    exit_code = ExitCode.USAGE


class IndexOutdated(ZhikongError):
    exit_code = ExitCode.CONFLICT


@dataclass(frozen=True)
class IndexDoc:
    record_id: int
    path: str
    center: str
    year: int | None
    category: str
    activity: str
    activity_type: str
    date: dt.date | None
    title: str
    text: str
    state: str = "active"
    pii: bool = False


@dataclass(frozen=True)
class SearchFilters:
    center: str | None = None
    year: int | None = None
    category: str | None = None
    activity_type: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    include_deleted: bool = False


@dataclass(frozen=True)
class Hit:
    """One result. `score`: its integer part is how many query words the record matched, the fraction
    its BM25 relevance squashed into [0, 1) — so results are in descending score order."""

    record_id: int
    path: str
    center: str
    year: int | None
    category: str
    activity_type: str
    title: str
    date: dt.date | None
    score: float
    snippet: str
    state: str
    pii: bool


class _Terms(TEXT):
    """Whoosh's TEXT (the same terms, frequencies and postings; its analyzer still reads queries) with the
    terms of a text counted in one pass (indexer.termtext) instead of one Token object at a time through
    Whoosh's analyzer chain, which was 40 % of a reindex."""

    def index(self, value: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str):
            return super().index(value, **kwargs)
        boost = self.format.field_boost
        return ((t.encode("utf-8"), n, n * boost, pack_uint(n)) for t, n in term_counts(value).items())


def _schema() -> Schema:
    text = analyzer()
    return Schema(
        record_id=ID(stored=True, unique=True),
        # No positions: phrases are checked as exact text on the candidates (indexer.ranking), and
        # positions made every posting block several times larger to read.
        content=_Terms(analyzer=text, phrase=False),
        meta=_Terms(analyzer=text, phrase=False),
        center=ID(stored=True),
        year=ID(stored=True),
        category=ID(stored=True),
        activity_type=ID(stored=True),
        date=ID(stored=True),
        state=ID(stored=True),
        path=STORED,
        activity=STORED,
        title=STORED,
        pii=STORED,
        body=STORED,
    )


def _fields(doc: IndexDoc) -> dict[str, Any]:
    # Title, activity folder and file name are searched too ("2026-05-10 院感防控督查"), and weigh more.
    meta = "\n".join([doc.title, doc.activity, Path(doc.path).name, doc.center, doc.category])
    return {
        "record_id": str(doc.record_id),
        "content": doc.text,
        "meta": meta,
        "center": doc.center,
        "year": "" if doc.year is None else str(doc.year),
        "category": doc.category,
        "activity_type": doc.activity_type,
        "date": doc.date.isoformat() if doc.date else "",
        "state": doc.state,
        "path": doc.path,
        "activity": doc.activity,
        "title": doc.title,
        "pii": doc.pii,
        "body": doc.text[:_STORED_TEXT],
    }


class WriteBatch:
    """Changes inside one `SearchIndex.writer()` block."""

    def upsert(self, doc: IndexDoc) -> None:
        """Add the record, replacing any earlier version of it (its old text is gone from the index)."""
        raise NotImplementedError

    def delete(self, record_id: int) -> None:
        raise NotImplementedError


class _WhooshBatch(WriteBatch):
    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def upsert(self, doc: IndexDoc) -> None:
        self._writer.update_document(**_fields(doc))

    def delete(self, record_id: int) -> None:
        self._writer.delete_by_term("record_id", str(record_id))


class Generation(Protocol):
    """One committed state of an index, as a search reads it."""

    source: Source

    def stored_fields(self, docnum: int) -> dict[str, Any]: ...

    def matching(self, filters: SearchFilters) -> frozenset[int] | None:
        """The documents the filters allow; None when there is no filter."""
        ...

    def deleted_records(self) -> frozenset[int]:
        """The documents of records deleted from the archive (kept, found only on request)."""
        ...

    def ranked(self, units: list[list[Probe]], pool: int, filters: SearchFilters) -> list[Candidate] | None:
        """`indexer.ranking.rank` done by the engine itself, or None to have it done in Python."""
        ...


def _filter_query(filters: SearchFilters) -> wq.Query | None:
    terms: list[wq.Query] = []
    for field in ("center", "category", "activity_type"):
        value = getattr(filters, field)
        if value:
            terms.append(wq.Term(field, value))
    if filters.year is not None:
        terms.append(wq.Term("year", str(filters.year)))
    if filters.date_from or filters.date_to:
        start = filters.date_from.isoformat() if filters.date_from else "0000-00-00"
        end = filters.date_to.isoformat() if filters.date_to else "9999-99-99"
        terms.append(wq.TermRange("date", start, end))
    return wq.And(terms) if terms else None


def _to_hit(fields: dict[str, Any], score: float, snippet: str) -> Hit:
    return Hit(
        record_id=int(fields["record_id"]),
        path=fields.get("path", ""),
        center=fields.get("center", ""),
        year=int(fields["year"]) if fields.get("year") else None,
        category=fields.get("category", ""),
        activity_type=fields.get("activity_type", ""),
        title=fields.get("title", ""),
        date=dt.date.fromisoformat(fields["date"]) if fields.get("date") else None,
        score=score,
        snippet=snippet,
        state=fields.get("state", ""),
        pii=bool(fields.get("pii", False)),
    )


def _layout(schema: Schema) -> tuple[tuple[str, str, str], ...]:
    """What search relies on in a schema: its fields, their types and what their postings hold."""
    # _Terms is TEXT indexed faster: an index written with either reads the same.
    kinds = {_Terms: "TEXT"}
    return tuple(
        (name, kinds.get(type(f), type(f).__name__), type(f.format).__name__) for name, f in schema.items()
    )


_SWITCHED = "REINDEX_NEEDED"  # in a new engine's folder while the archive's documents are in the other's


class EngineError(ZhikongError):
    exit_code = ExitCode.USAGE


class SearchIndex:
    """The façade: one engine's index of the archive's records. `open` picks the engine."""

    engine = ""

    def __init__(self, synonyms: Synonyms, index_dir: Path) -> None:
        self._synonyms = synonyms
        self._dir = index_dir
        self._replaces: tuple[Path, ...] = ()
        self._records: _Records | None = None

    @staticmethod
    def open(index_dir: Path, *, synonyms: Path | None = None, engine: str = "whoosh") -> SearchIndex:
        """Open (or create) an index of `engine` in `index_dir`; `synonyms` replaces the shipped list."""
        if engine == "tantivy":
            from zhikong.indexer.engine_tantivy import TantivyIndex

            return TantivyIndex.open_dir(index_dir, Synonyms.load(synonyms))
        if engine != "whoosh":
            raise EngineError(f"未知的检索引擎：{engine}", hint="可选 whoosh（默认）或 tantivy。")
        return WhooshIndex.open_dir(index_dir, Synonyms.load(synonyms))

    @staticmethod
    def for_archive(system_dir: Path, *, engine: str, synonyms: Path | None = None) -> SearchIndex:
        """The archive's index in the engine its settings name. The first time an engine is opened while
        the other's index exists (the settings were just changed), it takes writes but asks for
        `zhikong reindex` before searching; the rebuild then removes the other engine's index."""
        if engine not in ENGINE_DIRS:
            raise EngineError(f"未知的检索引擎：{engine}", hint="可选 whoosh（默认）或 tantivy。")
        target = system_dir / ENGINE_DIRS[engine]
        others = tuple(
            system_dir / name
            for other, name in ENGINE_DIRS.items()
            if other != engine and (system_dir / name).exists()
        )
        fresh = not target.exists()
        index = SearchIndex.open(target, synonyms=synonyms, engine=engine)
        if fresh and others:
            private_file(target / _SWITCHED)
        index._replaces = others
        return index

    @property
    def switched(self) -> bool:
        """True while the archive's documents are still in the other engine's index."""
        return (self._dir / _SWITCHED).exists()

    @property
    def outdated(self) -> bool:
        """True when the index must be rebuilt before it can search (an earlier layout, another engine)."""
        return self.switched or self._layout_outdated()

    def _layout_outdated(self) -> bool:
        return False

    def close(self) -> None:
        raise NotImplementedError

    @contextmanager
    def writer(self) -> Iterator[WriteBatch]:
        """A write transaction: committed when the block ends normally, cancelled if it raises. A commit
        never merges segments (an upload or a watched file is searchable at once, never behind a merge):
        `compact` merges them, when the archive is idle or after bulk work."""
        raise NotImplementedError
        yield

    def compact(self) -> bool:
        """Merge small segments so searches read few; True when a merge was done."""
        raise NotImplementedError

    def segment_count(self) -> int:
        raise NotImplementedError

    def rebuild(self, docs: Iterable[IndexDoc] | Callable[[], Iterable[IndexDoc]]) -> int:
        """Replace the whole index with `docs` (streamed: never all in memory); the old index stays
        readable until the new one commits. Given a function, it is called once the write lock is held,
        so documents read from the catalogue then cannot miss a record another process indexed in
        between. An index that took over from another engine's drops the old one."""
        count = self._rebuild(docs)
        (self._dir / _SWITCHED).unlink(missing_ok=True)
        for old in self._replaces:
            shutil.rmtree(old, ignore_errors=True)
        self._replaces = ()
        return count

    def _rebuild(self, docs: Iterable[IndexDoc] | Callable[[], Iterable[IndexDoc]]) -> int:
        raise NotImplementedError

    def record_ids(self) -> set[int]:
        """The record ids of the documents in the index."""
        raise NotImplementedError

    def documents(self) -> dict[int, tuple[str, str]]:
        """record id -> (path, state) of every document: what `zhikong doctor` compares with the
        catalogue (reads every stored document: a maintenance check, not for every reconcile)."""
        raise NotImplementedError

    def doc_count(self) -> int:
        raise NotImplementedError

    def _generation(self) -> Generation:
        raise NotImplementedError

    def search(self, query: str, filters: SearchFilters = SearchFilters(), limit: int = 20) -> list[Hit]:
        """Records matching `query`, those matching more of its words first, then by relevance."""
        plan = plan_query(query, self._synonyms)
        if not plan.clauses:
            raise QueryError(
                f"检索词“{query.strip()}”中没有可检索的文字或数字",
                hint="请输入要查找的词语，例如：院感 督查 反馈",
            )
        if self.switched:
            raise IndexOutdated(
                f"检索引擎已改为 {self.engine}，文件还在原来引擎的索引里，需要重建后才能检索",
                hint="请运行 zhikong reindex（用目录中保存的文字重建，不会重新读取文件）",
            )
        generation = self._generation()
        if self._records is None or self._records.generation is not generation:
            self._records = _Records(generation)
        units, size = plan_probes(plan), max(limit * 3, 60)
        pool = generation.ranked(units, size, filters)
        if pool is None:
            from zhikong.indexer.ranking import rank

            allowed = generation.matching(filters)
            excluded = frozenset() if filters.include_deleted else generation.deleted_records()
            pool = rank(generation.source, units, size, allowed, excluded)
        ranked = _verify(plan, pool, self._records.get, limit)
        needles = plan.needles()
        return [
            _to_hit(
                fields,
                score,
                make_snippet(fields.get("body", ""), needles, folded=self._records.body(fields)),
            )
            for fields, score in ranked[:limit]
        ]


class _WhooshGeneration:
    def __init__(self, searcher: Any) -> None:
        from zhikong.indexer.ranking import PostingSource

        self._searcher = searcher
        self.source: Source = PostingSource(searcher)
        self.outdated = _layout(searcher.schema) != _layout(_schema())
        self.stored_fields = searcher.stored_fields

    def matching(self, filters: SearchFilters) -> frozenset[int] | None:
        query = _filter_query(filters)
        return None if query is None else frozenset(self._searcher.docs_for_query(query))

    def deleted_records(self) -> frozenset[int]:
        return frozenset(self._searcher.docs_for_query(wq.Term("state", DELETED)))

    def ranked(self, units: list[list[Probe]], pool: int, filters: SearchFilters) -> list[Candidate] | None:
        return None  # Whoosh's matchers step through postings in Python: indexer.ranking is faster

    def close(self) -> None:
        self._searcher.close()


_MERGE_PREFIX = "merge-"
_STALE_MERGE_S = 6 * 3600


class _Aside:
    """What a Whoosh SegmentWriter asks of its index, for a merge written into a folder of its own."""

    def __init__(self, storage: Any, indexname: str, toc: Any) -> None:
        self.storage = storage
        self.indexname = indexname
        self._toc = toc

    def _read_toc(self) -> Any:
        return self._toc


def _sweep_merges(index_dir: Path) -> None:
    """Folders of merges a crash or a kill left behind (no merge runs for hours)."""
    for folder in index_dir.glob(f"{_MERGE_PREFIX}*.tmp"):
        try:
            if time.time() - folder.stat().st_mtime > _STALE_MERGE_S:
                shutil.rmtree(folder, ignore_errors=True)
        except FileNotFoundError:
            pass


def _finish_part(part: Any) -> Any:
    """The segment a rebuild's part writer wrote, its files complete, not yet in any table of contents."""
    segment = part._finalize_segment()
    part._finish()
    return segment


def _merge_segments(merger: Any, readers: list[Any]) -> Any:
    """The segments of `readers` written by `merger` as one, its finished segment. Their stored fields and
    lengths are copied as Whoosh's `add_reader` copies them, but the postings are streamed: each segment's
    terms are already sorted, so they are merged term by term and written in order, rather than poured
    into Whoosh's sorting pool (which pickles them to disk past its size and sorts them again: two thirds
    of a merge's time, and memory that grows with the merge)."""
    schema = merger.schema
    parts: list[tuple[Any, int, dict[int, int] | None]] = []
    for reader in readers:
        base = merger.docnum
        names = set(schema.names()) | {name for name in reader.indexed_field_names() if name in schema}
        parts.append((reader, base, merger.write_per_doc(names, reader)))  # docmap: None without deletions
    merger._added = True
    merger.perdocwriter.close()
    merger.fieldwriter.add_postings(schema, None, _merged_postings(schema, parts))  # no length statistics
    merger.fieldwriter.close()
    merger._close_segment()
    merger._assemble_segment()
    segment = merger.get_segment()
    merger._finish()
    return segment


def _merged_postings(schema: Any, parts: list[tuple[Any, int, dict[int, int] | None]]) -> Iterator[tuple]:
    """(field, term, new document number, weight, value) of every live posting of `parts`, in the order a
    segment's postings are written: by field, term, then document (the segments follow one another)."""
    fields = sorted(
        {name for reader, _base, _map in parts for name in reader.indexed_field_names() if name in schema}
    )
    for field in fields:
        lexicons = [
            zip(reader.lexicon(field), itertools.repeat(i))
            for i, (reader, _base, _map) in enumerate(parts)
            if field in reader.indexed_field_names()
        ]
        for term, i in heapq.merge(*lexicons):
            reader, base, docmap = parts[i]
            matcher = reader.postings(field, term)
            if isinstance(matcher, FilterMatcher):
                matcher = matcher.child  # deleted documents are those the docmap leaves out
            for docnum, weight, value in _postings_with_values(matcher):
                new = base + docnum if docmap is None else docmap.get(docnum)
                if new is not None:
                    yield (field, term, new, weight, value)


def _postings_with_values(matcher: Any) -> Iterator[tuple[int, float, Any]]:
    if hasattr(matcher, "_read_ids") and hasattr(matcher, "_next_block"):  # whoosh3's block matcher
        while matcher.is_active():
            matcher._read_ids()
            matcher._read_weights()
            matcher._read_values()
            start = matcher._i
            yield from zip(
                matcher._ids[start:], matcher._weights[start:], matcher._values[start:], strict=True
            )
            matcher._next_block()
        return
    while matcher.is_active():  # a short list inlined in the term table
        yield matcher.id(), matcher.weight(), matcher.value()
        matcher.next()


class WhooshIndex(SearchIndex):
    engine = "whoosh"

    def __init__(self, ix: Any, synonyms: Synonyms, index_dir: Path) -> None:
        super().__init__(synonyms, index_dir)
        self._ix = ix
        self._current: _WhooshGeneration | None = None

    @classmethod
    def open_dir(cls, index_dir: Path, synonyms: Synonyms) -> WhooshIndex:
        """Open (or create) the index. One written by an earlier version with another layout still opens
        and takes writes, but `search` asks for `zhikong reindex`, and `rebuild` recreates it."""
        storage = _storage(index_dir)
        for attempt in range(5):
            try:
                if not windex.exists_in(str(index_dir)):
                    _create_once(index_dir)
                return cls(storage.open_index(), synonyms, index_dir)
            except FileNotFoundError:
                # A writer committing in another thread or process replaced the table of contents
                # between our listing and our reading it: the next look finds the new one.
                if attempt == 4:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def _layout_outdated(self) -> bool:
        return _layout(self._ix.schema) != _layout(_schema())

    def close(self) -> None:
        self._drop_searcher()
        self._ix.close()

    @contextmanager
    def writer(self) -> Iterator[WriteBatch]:
        writer = _writer(self._ix, 128)
        try:
            yield _WhooshBatch(writer)
        except BaseException:
            writer.cancel()
            raise
        writer.commit(mergetype=NO_MERGE)

    def compact(self) -> bool:
        """Merge the smallest segments (two or more), up to `COMPACT_MERGE_DOCS` documents, when there are
        more than `COMPACT_MIN_SEGMENTS`; each call one bounded merge (called again while the archive stays idle,
        the next tier). The merge is written without the write lock, so a batch (a watched file, an
        upload) commits meanwhile; the lock is taken only to swap the merged segment in, carrying over
        deletions committed during the merge. False when there was nothing to merge, or the segments
        changed under it (another merge or a rebuild took them)."""
        from whoosh.reading import SegmentReader

        snapshot = self._ix._read_toc()
        chosen = _smallest(snapshot.segments, COMPACT_MERGE_DOCS)
        if len(snapshot.segments) <= COMPACT_MIN_SEGMENTS or len(chosen) < 2:
            return False
        deleted_then = {seg.segment_id(): set(seg.deleted_docs()) for seg in chosen}
        storage = self._ix.storage
        _sweep_merges(self._dir)
        # Written in a folder of its own: a commit meanwhile deletes every file of the index's name that
        # its table of contents does not list, the merged segment's too had it been written beside them.
        aside = storage.temp_storage(f"{_MERGE_PREFIX}{random_name()}.tmp")
        merger = SegmentWriter(
            _Aside(aside, self._ix.indexname, snapshot), _lk=False, limitmb=_POOL_MB, codec=_codec()
        )
        try:
            readers = [SegmentReader(storage, snapshot.schema, seg) for seg in chosen]
            try:
                merged = _merge_segments(merger, readers)
            except BaseException:
                merger.cancel()
                raise
            finally:
                for reader in readers:
                    reader.close()
            with _write_lock(self._dir):
                if not self._swap_in(merged, aside, chosen, deleted_then):
                    return False
        finally:
            aside.destroy()
        return True

    def _swap_in(self, merged: Any, aside: Any, chosen: list[Any], deleted_then: dict[str, set[int]]) -> bool:
        """Under the write lock: the merged segment moved into the index in place of `chosen`, with the
        deletions committed since the merge began; False if `chosen` are no longer all there."""
        from whoosh.index import TOC, clean_files

        storage = self._ix.storage
        current = self._ix._read_toc()
        now = {seg.segment_id(): seg for seg in current.segments}
        if any(seg.segment_id() not in now for seg in chosen):
            return False
        base = 0
        for seg in chosen:  # the merged segment holds each one's live documents, in order
            was = deleted_then[seg.segment_id()]
            live = [d for d in range(seg.doc_count_all()) if d not in was]
            since = set(now[seg.segment_id()].deleted_docs()) - was
            if since:
                position = {d: base + i for i, d in enumerate(live)}
                for d in since:
                    merged.delete_document(position[d])
            base += len(live)
        for name in merged.list_files(aside):
            os.replace(os.path.join(aside.folder, name), os.path.join(storage.folder, name))
        gone = {seg.segment_id() for seg in chosen}
        segments = [seg for seg in current.segments if seg.segment_id() not in gone] + [merged]
        generation = current.generation + 1
        TOC(current.schema, segments, generation).write(storage, self._ix.indexname)
        clean_files(storage, self._ix.indexname, generation, segments)
        return True

    def segment_count(self) -> int:
        return len(self._ix._segments())

    def _rebuild(self, docs: Iterable[IndexDoc] | Callable[[], Iterable[IndexDoc]]) -> int:
        """Written as segments of a bounded pool each (no spill to disk), committed together in one table
        of contents that drops every old segment; not merged afterwards (`compact`, when idle)."""
        if self._layout_outdated():
            self._drop_searcher()
            self._ix.close()
            self._ix = _storage(self._dir).create_index(_schema())
        segments: list[Any] = []
        part: Any = None
        count = 0
        with _write_lock(self._dir):  # the parts write without taking it themselves
            try:
                for doc in docs() if callable(docs) else docs:
                    if part is None:
                        part = SegmentWriter(self._ix, _lk=False, limitmb=_POOL_MB, codec=_codec())
                    part.add_document(**_fields(doc))
                    count += 1
                    if part.pool.currentsize > _SEGMENT_POOL_BYTES:
                        segments.append(_finish_part(part))
                        part = None
                if part is None:
                    part = SegmentWriter(self._ix, _lk=False, limitmb=_POOL_MB, codec=_codec())
                # The last part commits every part's segment with its own, and none of the old ones.
                part.commit(mergetype=lambda _writer, _old: list(segments))
                part = None
            except BaseException:
                if part is not None:
                    part.cancel()
                raise
        return count

    def record_ids(self) -> set[int]:
        # Read from the id field's terms, not from the stored documents, so it stays cheap.
        with self._ix.searcher() as searcher:
            reader = searcher.reader()
            return {
                int(term)
                for term in reader.lexicon("record_id")
                if reader.postings("record_id", term).is_active()  # deleted documents have no postings
            }

    def documents(self) -> dict[int, tuple[str, str]]:
        with self._ix.searcher() as searcher:
            return {
                int(fields["record_id"]): (fields["path"], fields["state"])
                for fields in searcher.all_stored_fields()
            }

    def doc_count(self) -> int:
        return int(self._ix.doc_count())

    def _drop_searcher(self) -> None:
        if self._current is not None:
            self._current.close()
        self._current = None

    def _generation(self) -> Generation:
        # Reopened only when another writer committed; Searcher.refresh() misses deletion-only commits.
        # Kept open between searches, with what has been decoded from it (PostingSource).
        if self._current is not None and not self._current._searcher.up_to_date():
            self._drop_searcher()
        if self._current is None:
            self._current = _WhooshGeneration(self._fresh_searcher())
        if self._current.outdated:
            raise IndexOutdated(
                "检索索引是旧版本程序建立的，格式已经改变，需要重建后才能检索",
                hint="请运行 zhikong reindex（用目录中保存的文字重建，不会重新读取文件）",
            )
        return self._current

    def _fresh_searcher(self) -> Any:
        for attempt in range(5):
            try:
                return self._ix.searcher()
            except FileNotFoundError:  # a commit elsewhere swapped the segments: read the new ones
                if attempt == 4:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")


_FOLDED_BODY = "\0folded body"  # kept beside a record's stored fields by _Records


class _Records:
    """Stored fields of one generation's records with their text folded as query words are matched in it
    (`query.fold`: script, full-width forms, wrapped lines), kept for the records searches keep checking:
    the same few hundred records head most queries, and folding is most of what checking one costs."""

    _CHARS = 8_000_000

    def __init__(self, generation: Generation) -> None:
        self.generation = generation
        self._kept: OrderedDict[int, tuple[dict[str, Any], str]] = OrderedDict()
        self._chars = 0

    def body(self, fields: dict[str, Any]) -> str:
        """`normalize` of a checked record's body (what its snippet is found in), made once."""
        folded = fields.get(_FOLDED_BODY)
        if folded is None:
            folded = fields[_FOLDED_BODY] = normalize(fields.get("body", ""))
            self._chars += len(folded)
        return str(folded)

    def get(self, docnum: int) -> tuple[dict[str, Any], str]:
        found = self._kept.get(docnum)
        if found is not None:
            self._kept.move_to_end(docnum)
            return found
        fields = self.generation.stored_fields(docnum)
        names = ("title", "activity", "path", "center", "category", "body")
        found = (fields, fold("\n".join(fields.get(name, "") for name in names)))
        self._kept[docnum] = found
        self._chars += len(found[1])
        while self._chars > self._CHARS and len(self._kept) > 1:
            _docnum, (kept, old) = self._kept.popitem(last=False)
            self._chars -= len(old) + len(kept.get(_FOLDED_BODY, ""))
        return found


def _squash(bm25: float) -> float:
    return bm25 / (1.0 + bm25)


def _verify(
    plan: QueryPlan, pool: list[Candidate], records: Callable[[int], tuple[dict[str, Any], str]], limit: int
) -> list[_Scored]:
    """The pool re-ranked by the query words each record holds as written (not just their bigrams).

    A record holds at most the words whose bigrams it has (`Candidate.matched`), and the pool comes in
    descending order of that bound: reading stored text (up to 200,000 characters a record) stops as
    soon as no record further down could overtake the `limit` best already checked.
    """
    scored: list[_Scored] = []
    best: list[float] = []  # min-heap of the `limit` best scores so far
    for candidate in pool:
        share = min(1.0, candidate.partial / max(1, len(plan.clauses)))
        bound = (
            candidate.matched + 0.5 * share + 0.5 * _squash(candidate.relevance) if candidate.matched else 1.0
        )
        if len(best) >= limit and best[0] >= bound:
            break
        fields, folded = records(candidate.docnum)
        matched = plan.matched_folded(folded)
        if matched:
            score = matched + 0.5 * share + 0.5 * _squash(candidate.relevance)
        elif candidate.partial:
            # Most of a word's characters, not as written: after every record holding a word as written.
            share = candidate.partial / max(1, len(plan.clauses))
            score = 0.9 * min(1.0, share) + 0.09 * _squash(candidate.relevance)
        elif len(fields.get("body", "")) < _STORED_TEXT:
            continue  # its bigrams are all there, but not one query word as written
        else:
            score = _squash(candidate.relevance)
        scored.append((fields, score))
        heapq.heappush(best, score)
        if len(best) > limit:
            heapq.heappop(best)
    return sorted(scored, key=lambda pair: pair[1], reverse=True)


__all__ = [
    "CONTENT",
    "ENGINES",
    "META",
    "EngineError",
    "Hit",
    "IndexDoc",
    "IndexOutdated",
    "QueryError",
    "SearchFilters",
    "SearchIndex",
    "WriteBatch",
]
