"""Coordination ranking computed from posting lists as numpy arrays, without Whoosh's per-posting matchers.

Why not `Searcher.search`: the query words of a QC-center archive (质控, 中心, 工作, 督查 …) are in nearly
every record, so an OR of their bigrams makes Whoosh's pure-Python matcher tree step through and score
every posting of every term — about 270 ms median, 780 ms p95 at 5,000 records of 3,000 characters. Here each
term's posting list is read a block at a time into arrays (document numbers and frequencies), and every step
after that is a whole-array operation over the generation's document numbers (dense: 0 … `span` − 1): a
probe's records are a boolean mask (its terms' masks and-ed), a unit's the or of its probes', the records'
coordination counts the sum of the units', and BM25 is added term by term into one array of scores. At 20,000
records a mask is 20 kB and each step microseconds, so no record needs skipping (as MaxScore did, in Python,
when sets of document numbers were the unit of work).

The counts are of clauses whose bigrams are all present; the caller checks the exact text on the pool.
"""

from __future__ import annotations

import math
from array import array
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from whoosh.matching.wrappers import FilterMatcher

from zhikong.indexer.query import CONTENT, META, Probe

K1, B = 1.2, 0.75
# Decoded posting lists kept per searcher (12 bytes each): the common terms every query shares stay decoded.
_CACHE_POSTINGS = 4_000_000

_Postings = tuple[np.ndarray, np.ndarray]  # document numbers (ascending, int64), values beside them (float64)
_EMPTY: _Postings = (np.zeros(0, np.int64), np.zeros(0, np.float64))


@dataclass(frozen=True)
class Candidate:
    docnum: int
    matched: int  # units (clauses and bonuses) with all the bigrams of some variant present
    relevance: float  # BM25 over the matched probes, boosted as the probes say
    partial: float = 0.0  # for units not matched: the best share of a variant's bigrams present (0–1 each)


# A word of three or more characters whose bigrams are only partly in a record (回头看 written 回头 看, 视频
# 会议 as 会议视频, a compound split by the segmenter's choice) is still a candidate — ranked below every record
# that holds a query word as written — so a search never offers fewer records than a plain bigram search.
_PARTIAL_SHARE = 0.5


class Source(Protocol):
    """What the ranking reads from one generation of an index, whatever its engine. Document numbers are
    dense, 0 … `span` − 1, ascending in each posting list; the values beside them are what `saturation` turns
    into BM25's tf / (tf + K1·(1 − B + B·length/average)), one per posting."""

    doc_count: int
    deleted: frozenset[int]
    probes: ProbeCache  # what each probe found (kept there by indexer.ranking)

    @property
    def span(self) -> int: ...  # every document number is below this

    def postings(self, field: str, term: str) -> _Postings: ...

    def expand_prefix(self, field: str, prefix: str) -> list[str]: ...

    def idf(self, df: int) -> float: ...

    def saturation(self, field: str, postings: _Postings) -> np.ndarray: ...


def idf(doc_count: int, df: int) -> float:
    # Robertson–Spärck Jones with +1: near 0 for a term in every record (质控 in a QC archive), so
    # ubiquitous words barely move the order among records that match the same number of clauses.
    return math.log(1.0 + (doc_count - df + 0.5) / (df + 0.5))


def postings(ids: Iterable[int] | np.ndarray, values: Iterable[float] | np.ndarray) -> _Postings:
    """A posting list as the ranking reads it."""
    return np.asarray(ids, dtype=np.int64), np.asarray(values, dtype=np.float64)


class PostingsCache:
    """The posting lists read lately, (field, term) → (ids, values); the least recently used are dropped
    beyond `_CACHE_POSTINGS` postings in all. One per searcher generation, whichever engine reads them."""

    def __init__(self) -> None:
        self._lists: OrderedDict[tuple[str, str], _Postings] = OrderedDict()
        self._size = 0

    def get(self, key: tuple[str, str]) -> _Postings | None:
        found = self._lists.get(key)
        if found is not None:
            self._lists.move_to_end(key)
        return found

    def put(self, key: tuple[str, str], found: _Postings) -> _Postings:
        self._lists[key] = found
        self._size += len(found[0])
        while self._size > _CACHE_POSTINGS and len(self._lists) > 1:
            _key, (old, _values) = self._lists.popitem(last=False)
            self._size -= len(old)
        return found


class PostingSource:
    """Whoosh's side of `Source`: read access to one searcher's generation of the index. The generation never
    changes, so what is decoded from it (posting lists, field lengths) is cached until the searcher is
    replaced. Whoosh numbers a generation's documents 0 … doc_count_all − 1 (deleted ones included)."""

    def __init__(self, searcher: Any) -> None:
        reader = searcher.reader()
        self._reader = reader
        self._leaves: list[tuple[Any, int]] = list(reader.leaf_readers())
        self.doc_count = int(reader.doc_count_all())
        self.span = self.doc_count
        self._avg_length: dict[str, float] = {}
        self._norms: dict[str, np.ndarray] = {}
        self._cache = PostingsCache()
        self.probes = ProbeCache()
        # Postings still list deleted documents until their segment is merged; they are dropped here.
        self.deleted = frozenset(
            offset + d for leaf, offset in self._leaves if leaf.has_deletions() for d in leaf.deleted_docs_set
        )
        for field in (CONTENT, META):
            total = reader.field_length(field) if field in reader.schema else 0
            self._avg_length[field] = (total / self.doc_count) if self.doc_count else 1.0

    def postings(self, field: str, term: str) -> _Postings:
        key = (field, term)
        found = self._cache.get(key)
        if found is not None:
            return found
        parts: list[_Postings] = []
        for leaf, offset in self._leaves:
            if (field, term) not in leaf:
                continue
            ids, tfs = array("q"), array("f")
            _read_postings(leaf.postings(field, term), ids, tfs)
            parts.append((np.frombuffer(ids, dtype=np.int64) + offset, np.frombuffer(tfs, dtype=np.float32)))
        if not parts:
            return self._cache.put(key, _EMPTY)
        return self._cache.put(
            key, postings(np.concatenate([i for i, _t in parts]), np.concatenate([t for _i, t in parts]))
        )

    def expand_prefix(self, field: str, prefix: str) -> list[str]:
        return [
            t.decode("utf-8") if isinstance(t, bytes) else t
            for t in self._reader.expand_prefix(field, prefix)
        ]

    def idf(self, df: int) -> float:
        return idf(self.doc_count, df)

    def saturation(self, field: str, postings: _Postings) -> np.ndarray:
        ids, tfs = postings
        return tfs / (tfs + self.norms(field)[ids])

    def norms(self, field: str) -> np.ndarray:
        """K1·(1 − B + B·length/average) of every document, read once per generation."""
        found = self._norms.get(field)
        if found is None:
            avg = self._avg_length.get(field) or 1.0
            lengths = np.concatenate(
                [_field_lengths(leaf, field) for leaf, _offset in self._leaves] or [np.zeros(0)]
            )
            found = self._norms[field] = K1 * (1.0 - B + B * lengths / avg)
        return found


def _field_lengths(leaf: Any, field: str) -> np.ndarray:
    """The length of `field` in each of a segment's documents, as Whoosh stores it (a byte a document,
    logarithmic): the column read in one piece rather than a document at a time."""
    count = leaf.doc_count_all()
    try:
        from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
        from whoosh.util.numeric import _length_byte_cache

        column = leaf._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
        if column is None:
            return np.zeros(count)
        stored = min(column._count, count)  # documents past the stored ones have the default, 0
        raw = np.frombuffer(column._dbfile.get(column._basepos, stored), dtype=np.uint8)
        lengths = np.zeros(count)
        lengths[:stored] = np.asarray(_length_byte_cache, dtype=np.float64)[raw]
        return lengths
    except (AttributeError, ImportError, TypeError):  # another codec: its public reader, a document at a time
        return np.array([leaf.doc_field_length(d, field) or 0 for d in range(count)], dtype=np.float64)


def _read_postings(matcher: Any, ids: array, tfs: array) -> None:
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child  # it hides deleted documents one posting at a time; rank() drops them
    if hasattr(matcher, "_read_ids") and hasattr(matcher, "_next_block"):
        # whoosh3's block matcher: one block (up to 128 postings) decoded at a time, no per-posting calls.
        while matcher.is_active():
            matcher._read_ids()
            matcher._read_weights()
            ids.extend(matcher._ids[matcher._i :])
            tfs.extend(matcher._weights[matcher._i :])
            matcher._next_block()
        return
    while matcher.is_active():  # any other matcher (e.g. a short list inlined in the term table)
        ids.append(matcher.id())
        tfs.append(matcher.weight())
        matcher.next()


@dataclass
class _Scored:
    """A probe's documents (all its terms present, as a mask over the generation) and, per term, what BM25
    needs."""

    field: str
    docs: np.ndarray  # bool, one per document number
    found: int  # how many documents
    terms: list[tuple[_Postings, float]]  # postings and boost·idf·(K1 + 1)


class ProbeCache:
    """What probes found, kept per generation: typed queries share most of theirs (质控, 工作, 督查 …).
    Bounded by the bytes of their masks (a probe's is a byte a document), the oldest dropped first."""

    LIMIT = 64_000_000

    def __init__(self) -> None:
        self._kept: OrderedDict[Any, _Scored] = OrderedDict()
        self._size = 0

    def get(self, key: Any) -> _Scored | None:
        found = self._kept.get(key)
        if found is not None:
            self._kept.move_to_end(key)
        return found

    def put(self, key: Any, scored: _Scored) -> None:
        self._kept[key] = scored
        self._size += scored.docs.nbytes + 1
        while self._size > self.LIMIT and len(self._kept) > 1:
            _key, old = self._kept.popitem(last=False)
            self._size -= old.docs.nbytes + 1


def _mask(span: int, docs: Iterable[int] | np.ndarray) -> np.ndarray:
    mask = np.zeros(span, dtype=bool)
    ids = docs if isinstance(docs, np.ndarray) else np.fromiter(docs, dtype=np.int64)
    mask[ids] = True
    return mask


def _probe(source: Source, probe: Probe) -> _Scored:
    """What `probe` finds, kept per generation (`Source.probes`)."""
    key = (probe.field, probe.terms, probe.prefix, probe.boost)
    found = source.probes.get(key)
    if found is None:
        found = _find(source, probe)
        source.probes.put(key, found)
    return found


def _weighted(source: Source, probe: Probe, lists: list[_Postings]) -> list[tuple[_Postings, float]]:
    return [(p, probe.boost * source.idf(len(p[0])) * (K1 + 1)) for p in lists if len(p[0])]


def _find(source: Source, probe: Probe) -> _Scored:
    terms = list(probe.terms)
    if probe.prefix:
        terms += [t for t in source.expand_prefix(probe.field, terms[0]) if t != terms[0]]
    lists = [source.postings(probe.field, t) for t in terms]
    weighted = _weighted(source, probe, lists)
    docs = np.zeros(source.span, dtype=bool)
    if probe.prefix:
        for (ids, _values), _w in weighted:
            docs[ids] = True
    elif weighted and len(weighted) == len(lists):  # else a bigram of the word is in no record at all
        ordered = sorted((p[0] for p, _w in weighted), key=len)
        docs[ordered[0]] = True
        for ids in ordered[1:]:
            docs &= _mask(source.span, ids)
    return _Scored(probe.field, docs, int(np.count_nonzero(docs)), weighted)


def rank(
    source: Source,
    units: list[list[Probe]],
    pool: int,
    allowed: frozenset[int] | None,
    excluded: frozenset[int],
) -> list[Candidate]:
    """The `pool` best records: most units matched first, then by BM25 (then in document order).
    `allowed`: only these (filters); `excluded`: never these (deleted records)."""
    span = source.span
    counts = np.zeros(span, dtype=np.int32)
    scored: list[_Scored] = []
    for unit in units:
        found = np.zeros(span, dtype=bool)
        for probe in unit:
            s = _probe(source, probe)
            if s.found:
                found |= s.docs
                scored.append(s)
        counts += found
    blocked = _mask(span, excluded | source.deleted)
    permitted = ~blocked if allowed is None else _mask(span, allowed) & ~blocked
    eligible = (counts > 0) & permitted
    # When few records hold the words as written, those holding most of a word's characters join (and
    # within one coordination level a record holding part of a missing word ranks above one holding none).
    partial = np.zeros(span)
    if np.count_nonzero(eligible) < pool:
        partial = _partial(source, units, scored)
        eligible |= (partial > 0) & (counts == 0) & permitted
    relevance = _relevance(source, scored, span)
    docs = np.flatnonzero(eligible)
    # Most units first, then the larger share of missing words, then BM25, then the earlier document.
    order = np.lexsort((docs, -relevance[docs], -partial[docs], -counts[docs]))[:pool]
    return [Candidate(int(d), int(counts[d]), float(relevance[d]), float(partial[d])) for d in docs[order]]


def _partial(source: Source, units: list[list[Probe]], scored: list[_Scored]) -> np.ndarray:
    """Per record, the summed share of bigrams present of the units it does not match whole (only shares
    of at least `_PARTIAL_SHARE` of a word of two or more bigrams count); 0 for the others."""
    share = np.zeros(source.span)
    for unit in units:
        best = np.zeros(source.span)
        for probe in unit:
            if probe.prefix or probe.exact or len(probe.terms) < 2 or probe.field != CONTENT:
                continue
            lists = [source.postings(probe.field, t) for t in probe.terms]
            present = np.zeros(source.span, dtype=np.int32)
            for ids, _values in lists:
                present[ids] += 1
            docs = present >= max(1, math.ceil(len(lists) * _PARTIAL_SHARE))
            np.maximum(best, np.where(docs, present / len(lists), 0.0), out=best)
            # records found only so need their BM25
            scored.append(
                _Scored(probe.field, docs, int(np.count_nonzero(docs)), _weighted(source, probe, lists))
            )
        share += np.where(best < 1.0, best, 0.0)  # a whole match is counted already
    return share


def _relevance(source: Source, scored: list[_Scored], span: int) -> np.ndarray:
    """BM25 of every record over the probes it matches: each term's saturation, weighted, added where the
    probe matched (terms taken heaviest first, so every record's sum is added in one order)."""
    entries = sorted(((w, s, p) for s in scored for p, w in s.terms), key=lambda e: e[0], reverse=True)
    relevance = np.zeros(span)
    for weight, s, found in entries:
        ids = found[0]
        where = s.docs[ids]
        relevance[ids[where]] += weight * source.saturation(s.field, found)[where]
    return relevance
