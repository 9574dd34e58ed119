"""The tantivy engine behind `SearchIndex` (chosen with ``[search] engine = "tantivy"`` in zhikong.toml).

tantivy (Rust, via its Python binding) writes an index about ten times faster than Whoosh and reads posting
lists without Python's per-posting cost; Whoosh stays the default (pure Python, nothing to compile).
Both engines hold the same terms: the text is analysed here by `indexer.analysis` (script folding,
full-width forms, CJK bigrams, wrapped lines) and tantivy only splits the resulting terms at spaces, so
synonyms, phrases, coordination ranking and snippets (indexer.query, indexer.ranking, indexer.snippet)
are the same code on either. tantivy's BM25 (same idf, K1 and B) gives each posting's score; divided by
the term's weight it is the saturation `indexer.ranking` adds up.

Document numbers given to the ranking are dense, as Whoosh's are: a segment's documents follow the
previous segment's (`_Numbers`, learnt once per searcher).
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from zhikong.indexer.analysis import Synonyms
from zhikong.indexer.index import (
    _LOCK_TIMEOUT_S,
    DELETED,
    Generation,
    IndexBusy,
    IndexDoc,
    IndexOutdated,
    SearchFilters,
    SearchIndex,
    WriteBatch,
    _fields,
)
from zhikong.indexer.query import Probe
from zhikong.indexer.ranking import K1, Candidate, PostingsCache, ProbeCache, Source, idf, postings
from zhikong.indexer.termtext import term_text
from zhikong.private import private_dir, private_file

try:
    import tantivy
except ImportError:  # an optional extra: zhikong[tantivy]
    tantivy = None  # type: ignore[assignment]

# Changed whenever the schema or the analysis changes: an index of another layout asks for a reindex.
_LAYOUT = "zhikong-tantivy-1"
_LAYOUT_FILE = "zhikong-layout"
_TERMS = "zk_terms"  # our terms, separated by spaces
_NONE = "zk_none"  # stored-only fields: no terms at all
_KEYS = ("record_id", "center", "year", "category", "activity_type", "state")
_STORED = ("path", "activity", "title", "body", "date")
_TIES = 20


def _schema() -> Any:
    builder = tantivy.SchemaBuilder()
    for key in _KEYS:
        builder.add_text_field(key, stored=True, tokenizer_name="raw", index_option="basic")
    for field in ("content", "meta"):  # no positions: phrases are checked on the text (indexer.ranking)
        builder.add_text_field(field, stored=False, tokenizer_name=_TERMS, index_option="freq")
    for field in _STORED:
        builder.add_text_field(field, stored=True, tokenizer_name=_NONE, index_option="basic")
    builder.add_integer_field("day", stored=False, indexed=True, fast=True)  # 20260305; 0: no date
    builder.add_integer_field("pii", stored=True, indexed=False)
    return builder.build()


def _register(index: Any) -> None:
    index.register_tokenizer(_TERMS, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build())
    none = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.raw()).filter(tantivy.Filter.remove_long(1)).build()
    index.register_tokenizer(_NONE, none)


def _day(date: dt.date | None) -> int:
    return date.year * 10000 + date.month * 100 + date.day if date else 0


def _document(doc: IndexDoc) -> Any:
    fields = _fields(doc)
    document = tantivy.Document()
    for key in _KEYS:
        document.add_text(key, fields[key])
    for field in ("content", "meta"):
        document.add_text(field, term_text(fields[field]))
    for field in _STORED:
        document.add_text(field, fields[field])
    document.add_integer("day", _day(doc.date))
    document.add_integer("pii", int(doc.pii))
    return document


class _Batch(WriteBatch):
    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def release(self) -> Any:
        """The writer, no longer held by this batch (a batch used after its block fails)."""
        writer, self._writer = self._writer, None
        return writer

    def upsert(self, doc: IndexDoc) -> None:
        self._writer.delete_documents_by_term("record_id", str(doc.record_id))
        self._writer.add_document(_document(doc))

    def delete(self, record_id: int) -> None:
        self._writer.delete_documents_by_term("record_id", str(record_id))


class _Numbers:
    """Dense document numbers for one searcher: segment k's documents are numbered from `bases[k]`, in
    segment order then document order (the order tantivy's addresses sort in). Learnt from one query for
    every document; a document past the highest live one of its segment (deleted) is never returned."""

    def __init__(self, searcher: Any) -> None:
        highest: dict[int, int] = {}
        for _score, a in searcher.search(
            tantivy.Query.all_query(), limit=max(1, searcher.num_docs), count=False
        ).hits:
            if a.doc > highest.get(a.segment_ord, -1):
                highest[a.segment_ord] = a.doc
        self.bases: list[int] = []
        span = 0
        for segment in range(max(highest, default=-1) + 1):
            self.bases.append(span)
            span += highest.get(segment, -1) + 1
        self.span = span

    def number(self, address: Any) -> int:
        return self.bases[address.segment_ord] + address.doc

    def address(self, docnum: int) -> Any:
        segment = bisect_right(self.bases, docnum) - 1
        return tantivy.DocAddress(segment, docnum - self.bases[segment])


class _Source:
    """`indexer.ranking.Source` over a tantivy searcher: a term's postings are its documents with their
    BM25 saturation, read once per searcher (tantivy scores them; we only divide by the term's weight)."""

    def __init__(self, searcher: Any, schema: Any) -> None:
        self._searcher = searcher
        self._schema = schema
        self.doc_count = int(searcher.num_docs)
        self.deleted: frozenset[int] = frozenset()  # tantivy never returns a deleted document
        self._cache = PostingsCache()
        self.probes = ProbeCache()
        self._numbers: _Numbers | None = None

    @property
    def numbers(self) -> _Numbers:
        if self._numbers is None:
            self._numbers = _Numbers(self._searcher)
        return self._numbers

    @property
    def span(self) -> int:
        return self.numbers.span

    def postings(self, field: str, term: str) -> tuple[Any, Any]:
        key = (field, term)
        found = self._cache.get(key)
        if found is not None:
            return found
        df = int(self._searcher.doc_freq(field, term))
        if not df:
            return self._cache.put(key, postings([], []))
        query = tantivy.Query.term_query(self._schema, field, term)
        weight = idf(self.doc_count, df) * (K1 + 1)
        number = self.numbers.number
        hits = sorted(
            (number(a), score / weight)
            for score, a in self._searcher.search(query, limit=df, count=False).hits
        )
        return self._cache.put(key, postings([d for d, _s in hits], [s for _d, s in hits]))

    def expand_prefix(self, field: str, prefix: str) -> list[str]:
        return [str(term) for term, _count in self._searcher.terms_with_prefix(field, prefix)]

    def idf(self, df: int) -> float:
        return idf(self.doc_count, df)

    def saturation(self, field: str, postings: tuple[Any, Any]) -> Any:
        return postings[1]


class _Generation:
    def __init__(self, searcher: Any, schema: Any, stamp: bytes) -> None:
        self._searcher = searcher
        self._schema = schema
        self.stamp = stamp
        self._source = _Source(searcher, schema)
        self.source: Source = self._source
        self._filtered: dict[SearchFilters, frozenset[int]] = {}
        self._deleted: frozenset[int] | None = None

    def stored_fields(self, docnum: int) -> dict[str, Any]:
        stored = self._searcher.doc(self._source.numbers.address(docnum)).to_dict()
        fields = {name: values[0] for name, values in stored.items() if values}
        fields["pii"] = bool(fields.get("pii", 0))
        return fields

    def _docs(self, query: Any) -> frozenset[int]:
        limit = max(1, self.source.doc_count)
        hits = self._searcher.search(query, limit=limit, count=False).hits
        return frozenset(map(self._source.numbers.number, (a for _score, a in hits)))

    def _filter_query(self, filters: SearchFilters) -> Any:
        Q, occur = tantivy.Query, tantivy.Occur
        clauses = [
            (occur.Must, Q.term_query(self._schema, field, value))
            for field, value in (
                ("center", filters.center),
                ("category", filters.category),
                ("activity_type", filters.activity_type),
                ("year", None if filters.year is None else str(filters.year)),
            )
            if value
        ]
        if filters.date_from or filters.date_to:
            start = _day(filters.date_from) if filters.date_from else 1
            end = _day(filters.date_to) if filters.date_to else 99999999
            clauses.append(
                (occur.Must, Q.range_query(self._schema, "day", tantivy.FieldType.Integer, start, end))
            )
        return Q.boolean_query(clauses) if clauses else None

    def matching(self, filters: SearchFilters) -> frozenset[int] | None:
        query = self._filter_query(filters)
        if query is None:
            return None
        key = SearchFilters(**{**vars(filters), "include_deleted": False})
        if key not in self._filtered:
            self._filtered[key] = self._docs(query)
        return self._filtered[key]

    def ranked(self, units: list[list[Probe]], pool: int, filters: SearchFilters) -> list[Candidate] | None:
        """`indexer.ranking.rank` computed by tantivy in one query, or None when fewer than `pool` records
        hold the words as written (the ranking then widens to records holding most of a word: done in
        Python, `rank`). Each unit scores `level` when any of its probes matches (all of the probe's terms
        present) plus the BM25 of every matching probe, so a record's score is level × units matched +
        relevance, `level` a power of two above the most relevance the query could give (exact in float)."""
        Q, occur = tantivy.Query, tantivy.Occur
        most = 0.0
        unit_queries = []
        for unit in units:
            probes = []
            for probe in unit:
                terms = list(probe.terms)
                if probe.prefix:
                    terms += [t for t in self.source.expand_prefix(probe.field, terms[0]) if t != terms[0]]
                freqs = [int(self._searcher.doc_freq(probe.field, t)) for t in terms]
                if not probe.prefix and not all(freqs):
                    continue  # a bigram of the word is in no record at all
                present = [(t, df) for t, df in zip(terms, freqs, strict=True) if df]
                if not present:
                    continue
                most += sum(probe.boost * idf(self.source.doc_count, df) * (K1 + 1) for _t, df in present)
                each = occur.Should if probe.prefix else occur.Must
                found = Q.boolean_query(
                    [(each, Q.term_query(self._schema, probe.field, t)) for t, _df in present]
                )
                probes.append(Q.boost_query(found, probe.boost))
            unit_queries.append(probes)
        level = 2.0 ** math.ceil(math.log2(most + 2.0))
        clauses = [
            (occur.Should, q)
            for probes in unit_queries
            if probes
            for q in (
                Q.const_score_query(Q.boolean_query([(occur.Should, p) for p in probes]), level),
                *probes,
            )
        ]
        if not clauses:
            return None
        query = [(occur.Must, Q.boolean_query(clauses))]
        allowed = self._filter_query(filters)
        if allowed is not None:
            query.append((occur.Must, Q.const_score_query(allowed, 0.0)))
        if not filters.include_deleted:
            query.append((occur.MustNot, Q.term_query(self._schema, "state", DELETED)))
        # A few more than the pool: records of equal score (copies of one text) are then taken in document
        # order, as `rank` takes them, not in the order tantivy's collector happened to keep them.
        result = self._searcher.search(Q.boolean_query(query), limit=pool + _TIES, count=True)
        if result.count < pool:
            return None
        hits = sorted(
            ((round(score, 3), self._source.numbers.number(a)) for score, a in result.hits),
            key=lambda hit: (-hit[0], hit[1]),
        )
        return [
            Candidate(docnum, int(score // level), score - int(score // level) * level)
            for score, docnum in hits[:pool]
        ]

    def deleted_records(self) -> frozenset[int]:
        if self._deleted is None:
            self._deleted = self._docs(tantivy.Query.term_query(self._schema, "state", DELETED))
        return self._deleted


def _stamp(index_dir: Path) -> bytes:
    """Changes with every commit: tantivy rewrites meta.json (its segments, deletions and opstamp)
    atomically. Its modification time is not enough: two commits within the filesystem's clock tick left
    a search on the generation before a deletion."""
    try:
        return (index_dir / "meta.json").read_bytes()
    except FileNotFoundError:
        return b""


class TantivyIndex(SearchIndex):
    engine = "tantivy"

    def __init__(self, index: Any, synonyms: Synonyms, index_dir: Path) -> None:
        super().__init__(synonyms, index_dir)
        self._index = index
        self._schema = index.schema
        self._current: _Generation | None = None

    @classmethod
    def open_dir(cls, index_dir: Path, synonyms: Synonyms) -> TantivyIndex:
        if tantivy is None:
            from zhikong.indexer.index import EngineError

            raise EngineError(
                "设置中选择了 tantivy 检索引擎，但没有安装 tantivy",
                hint="运行 pip install zhikong[tantivy] 安装；或把 zhikong.toml 中 [search] engine 改回 whoosh。",
            )
        private_dir(index_dir)
        if not (index_dir / _LAYOUT_FILE).exists() and not (index_dir / "meta.json").exists():
            (index_dir / _LAYOUT_FILE).write_text(_LAYOUT, encoding="utf-8")
            private_file(index_dir / _LAYOUT_FILE)
        index = tantivy.Index(_schema(), path=str(index_dir), reuse=True)
        _register(index)
        return cls(index, synonyms, index_dir)

    def _layout_outdated(self) -> bool:
        try:
            return (self._dir / _LAYOUT_FILE).read_text(encoding="utf-8") != _LAYOUT
        except FileNotFoundError:
            return True

    def close(self) -> None:
        self._current = None

    def _writer(self, heap_mb: int, threads: int) -> Any:
        deadline = time.monotonic() + _LOCK_TIMEOUT_S
        while True:
            try:
                return self._index.writer(heap_mb * 1_000_000, threads)
            except ValueError as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    if "lock" not in str(exc).lower():
                        raise
                    raise IndexBusy(
                        f"检索索引正被另一个 zhikong 进程写入，等待 {_LOCK_TIMEOUT_S:.0f} 秒仍未释放。",
                        hint="稍后重试；若没有其他 zhikong 在运行，删除 .zhikong/index-tantivy/ 下的 "
                        ".tantivy-writer.lock 文件后运行 zhikong reindex。",
                    ) from exc
                time.sleep(0.05)

    @contextmanager
    def writer(self) -> Iterator[WriteBatch]:
        # The writer is dropped as soon as the block ends (the batch the caller may still hold lets go of
        # it): its lock goes with it, and a merge its commit may have started is abandoned.
        batch = _Batch(self._writer(32, 1))
        try:
            yield batch
        except BaseException:
            batch.release().rollback()
            raise
        batch.release().commit()

    def compact(self) -> bool:
        """tantivy's own merge policy (segments of similar size, eight at a time), waited for."""
        before = self.segment_count()
        writer = self._writer(64, 1)
        writer.commit()
        writer.wait_merging_threads()
        writer = self._writer(15, 1)
        writer.garbage_collect_files()
        del writer
        return self.segment_count() < before

    def segment_count(self) -> int:
        self._index.reload()
        return int(self._index.searcher().num_segments)

    def _rebuild(self, docs: Iterable[IndexDoc] | Callable[[], Iterable[IndexDoc]]) -> int:
        if self._layout_outdated():
            self._current = None
            for path in self._dir.iterdir():
                shutil.rmtree(path) if path.is_dir() else path.unlink()
            fresh = TantivyIndex.open_dir(self._dir, self._synonyms)
            self._index, self._schema = fresh._index, fresh._schema
        writer = self._writer(256, 2)
        count = 0
        try:
            writer.delete_all_documents()
            for doc in docs() if callable(docs) else docs:
                writer.add_document(_document(doc))
                count += 1
        except BaseException:
            writer.rollback()
            del writer
            raise
        writer.commit()
        del writer  # not merged: `compact` does, when the archive is idle
        return count

    def _searcher(self) -> Any:
        self._index.reload()
        return self._index.searcher()

    def record_ids(self) -> set[int]:
        found = self._searcher().terms_with_prefix("record_id", "", filter_query=tantivy.Query.all_query())
        return {int(term) for term, count in found if count}

    def documents(self) -> dict[int, tuple[str, str]]:
        generation = _Generation(self._searcher(), self._schema, b"")
        return {
            int(fields["record_id"]): (fields["path"], fields["state"])
            for fields in map(generation.stored_fields, generation._docs(tantivy.Query.all_query()))
        }

    def doc_count(self) -> int:
        return int(self._searcher().num_docs)

    def _generation(self) -> Generation:
        if self._layout_outdated():
            raise IndexOutdated(
                "检索索引是旧版本程序建立的，格式已经改变，需要重建后才能检索",
                hint="请运行 zhikong reindex（用目录中保存的文字重建，不会重新读取文件）",
            )
        stamp = _stamp(self._dir)
        if self._current is None or self._current.stamp != stamp:
            self._current = _Generation(self._searcher(), self._schema, stamp)
        return self._current
