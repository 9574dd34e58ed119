"""Coordination ranking computed from Whoosh's posting lists, without Whoosh's per-posting matchers.

Why not `Searcher.search`: the query words of a QC-center archive (质控, 中心, 工作, 督查 …) are in nearly
every record, so an OR of their bigrams makes Whoosh's pure-Python matcher tree step through and score
every posting of every term — about 270 ms median, 780 ms p95 at 5,000 records of 3,000 characters. Here each term's posting list
is read a block at a time (ids and frequencies as arrays), clauses become sets of document numbers
combined by C-level set operations, records are counted per clause, and BM25 is computed only for the
records that can still reach the result pool: those at the highest coordination levels.

The counts are of clauses whose bigrams are all present; the caller checks the exact text on the pool.
"""

from __future__ import annotations

import heapq
import math
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from whoosh.matching.wrappers import FilterMatcher

from zhikong.indexer.query import CONTENT, META, Probe

K1, B = 1.2, 0.75
# Decoded posting lists kept per searcher (8 bytes each): the common terms every query shares stay decoded.
_CACHE_POSTINGS = 4_000_000

_Postings = tuple[array, array]  # document numbers (ascending), term frequencies
_EMPTY: _Postings = (array("l"), array("f"))


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
    ints, ascending in each posting list; the values beside them are what `saturation` turns into BM25's
    tf / (tf + K1·(1 − B + B·length/average)) for a set of documents."""

    doc_count: int
    deleted: frozenset[int]
    probes: ProbeCache  # what each probe found (kept there by indexer.ranking)

    def postings(self, field: str, term: str) -> _Postings: ...

    def expand_prefix(self, field: str, prefix: str) -> list[str]: ...

    def idf(self, df: int) -> float: ...

    def saturation(self, field: str, postings: _Postings, docs: set[int]) -> dict[int, float]: ...


def idf(doc_count: int, df: int) -> float:
    # Robertson–Spärck Jones with +1: near 0 for a term in every record (质控 in a QC archive), so
    # ubiquitous words barely move the order among records that match the same number of clauses.
    return math.log(1.0 + (doc_count - df + 0.5) / (df + 0.5))


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
    """Whoosh's side of `Source`: read access to one searcher's generation of the index. The generation never changes, so what is
    decoded from it (posting lists, field lengths) is cached until the searcher is replaced."""

    def __init__(self, searcher: Any) -> None:
        reader = searcher.reader()
        self._reader = reader
        self._leaves: list[tuple[Any, int]] = list(reader.leaf_readers())
        self._offsets = [offset for _leaf, offset in self._leaves]
        self.doc_count = int(reader.doc_count_all())
        self._avg_length: dict[str, float] = {}
        self._norms: dict[str, dict[int, float]] = {}
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
        ids, tfs = array("l"), array("f")
        for leaf, offset in self._leaves:
            if (field, term) not in leaf:
                continue
            start = len(ids)
            _read_postings(leaf.postings(field, term), ids, tfs)
            if offset:
                ids[start:] = array("l", (d + offset for d in ids[start:]))
        return self._cache.put(key, (ids, tfs))

    def expand_prefix(self, field: str, prefix: str) -> list[str]:
        return [
            t.decode("utf-8") if isinstance(t, bytes) else t
            for t in self._reader.expand_prefix(field, prefix)
        ]

    def idf(self, df: int) -> float:
        return idf(self.doc_count, df)

    def saturation(self, field: str, postings: _Postings, docs: set[int]) -> dict[int, float]:
        norms = self.norms(field, docs)
        return {d: tf / (tf + norms[d]) for d, tf in frequencies(postings, docs).items()}

    def norms(self, field: str, docs: Iterable[int]) -> dict[int, float]:
        """K1·(1 − B + B·length/average) per document of `docs` (and any computed before)."""
        norms = self._norms.setdefault(field, {})
        avg = self._avg_length.get(field) or 1.0
        for d in docs:
            if d not in norms:
                leaf, offset = self._leaves[bisect_right(self._offsets, d) - 1]
                length = leaf.doc_field_length(d - offset, field) or 0
                norms[d] = K1 * (1.0 - B + B * length / avg)
        return norms


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
    """A probe's documents (all its terms present) and, per term, what BM25 needs."""

    field: str
    docs: set[int]
    terms: list[tuple[_Postings, float]]  # postings and boost·idf·(K1 + 1)


class ProbeCache:
    """What probes found, kept per generation: typed queries share most of theirs (质控, 工作, 督查 …).
    Bounded by the document numbers held (a set of 20,000 is about a megabyte), the oldest dropped first."""

    LIMIT = 1_000_000

    def __init__(self) -> None:
        self._kept: OrderedDict[Any, Any] = OrderedDict()
        self._size = 0

    def get(self, key: Any) -> Any:
        found = self._kept.get(key)
        if found is not None:
            self._kept.move_to_end(key)
        return found

    def put(self, key: Any, scored: Any) -> None:
        self._kept[key] = scored
        self._size += len(scored.docs) + 1
        while self._size > self.LIMIT and len(self._kept) > 1:
            _key, old = self._kept.popitem(last=False)
            self._size -= len(old.docs) + 1


def _probe(source: Source, probe: Probe) -> _Scored:
    """What `probe` finds, kept per generation (`Source.probes`)."""
    key = (probe.field, probe.terms, probe.prefix, probe.boost)
    found: _Scored | None = source.probes.get(key)
    if found is None:
        found = _find(source, probe)
        source.probes.put(key, found)
    return found


def _find(source: Source, probe: Probe) -> _Scored:
    terms = list(probe.terms)
    if probe.prefix:
        terms += [t for t in source.expand_prefix(probe.field, terms[0]) if t != terms[0]]
    lists = [source.postings(probe.field, t) for t in terms]
    weighted = [(p, probe.boost * source.idf(len(p[0])) * (K1 + 1)) for p in lists if len(p[0])]
    if probe.prefix:
        docs: set[int] = set().union(*(p[0] for p, _w in weighted))
    elif len(weighted) < len(lists):
        docs = set()  # a bigram of the word is in no record at all
    else:
        ordered = sorted((p[0] for p, _w in weighted), key=len)
        docs = set(ordered[0]).intersection(*ordered[1:]) if ordered else set()
    return _Scored(probe.field, docs, weighted)


def frequencies(postings: _Postings, docs: set[int]) -> dict[int, float]:
    ids, tfs = postings
    if len(docs) * 16 >= len(ids):
        freq = dict(zip(ids, tfs, strict=True))
        return {d: freq[d] for d in docs if d in freq}
    found = {}
    for d in docs:
        i = bisect_left(ids, d)
        if i < len(ids) and ids[i] == d:
            found[d] = tfs[i]
    return found


def rank(
    source: Source,
    units: list[list[Probe]],
    pool: int,
    allowed: frozenset[int] | None,
    excluded: frozenset[int],
) -> list[Candidate]:
    """The `pool` best records: most units matched first, then by BM25. `allowed`: only these (filters);
    `excluded`: never these (deleted records)."""
    counts: Counter[int] = Counter()
    scored: list[_Scored] = []
    for unit in units:
        found: set[int] = set()
        for probe in unit:
            s = _probe(source, probe)
            if s.docs:
                found |= s.docs
                scored.append(s)
        counts.update(found)
    eligible = counts.keys() - excluded - source.deleted
    if allowed is not None:
        eligible &= allowed
    # When few records hold the words as written, those holding most of a word's characters join (and
    # within one coordination level a record holding part of a missing word ranks above one holding none).
    # Not always: counting every bigram's postings doubled the p95 of a search at 5,000 records.
    partial: dict[int, float] = {}
    if len(eligible) < pool:  # few records hold the words as such: widen to those holding most of them
        partial, more = _partial(source, units, counts, scored)
        eligible |= (more - excluded - source.deleted) & (allowed if allowed is not None else more)
    if partial:
        order = sorted(eligible, key=lambda d: (counts[d], partial.get(d, 0.0)), reverse=True)
    else:
        order = sorted(eligible, key=counts.__getitem__, reverse=True)
    if len(order) > pool:
        # Records above the pool's lowest coordination level are in it whatever their BM25; those at
        # that level compete for the places left.
        floor = counts[order[pool - 1]]
        sure = {d for d in order[:pool] if counts[d] > floor}
        contenders = {d for d in order if counts[d] == floor}
    else:
        sure, contenders = set(order), set()
    relevance, contenders = _relevance(source, scored, sure, contenders, pool - len(sure))
    best = heapq.nlargest(
        pool, sure | contenders, key=lambda d: (counts[d], partial.get(d, 0.0), relevance[d], -d)
    )
    return [Candidate(d, counts[d], relevance[d], partial.get(d, 0.0)) for d in best]


def _partial(
    source: Source, units: list[list[Probe]], counts: Counter[int], scored: list[_Scored]
) -> tuple[dict[int, float], set[int]]:
    """Per record, the summed share of bigrams present of the units it does not match whole (only shares
    of at least `_PARTIAL_SHARE` of a word of two or more bigrams count), and the records found so."""
    share: dict[int, float] = {}
    for unit in units:
        best: dict[int, float] = {}
        for probe in unit:
            if probe.prefix or probe.exact or len(probe.terms) < 2 or probe.field != CONTENT:
                continue
            lists = [source.postings(probe.field, t) for t in probe.terms]
            present: Counter[int] = Counter()
            for ids, _tfs in lists:
                present.update(ids)
            need = max(1, math.ceil(len(lists) * _PARTIAL_SHARE))
            docs = {d for d, n in present.items() if n >= need}
            for d in docs:
                best[d] = max(best.get(d, 0.0), present[d] / len(lists))
            weighted = [(p, probe.boost * source.idf(len(p[0])) * (K1 + 1)) for p in lists if len(p[0])]
            scored.append(_Scored(probe.field, docs, weighted))  # records found only so need their BM25
        for d, value in best.items():
            if value < 1.0:  # a whole match is counted already
                share[d] = share.get(d, 0.0) + value
    return share, set(share) - set(counts)


def _relevance(
    source: Source, scored: list[_Scored], sure: set[int], contenders: set[int], places: int
) -> tuple[dict[int, float], set[int]]:
    """BM25 of `sure` and of the `places` best `contenders` (others may be left partly summed), and the
    contenders not ruled out (the best `places` among them).

    MaxScore: terms are added rarest (heaviest) first; a contender whose partial sum plus the most the
    remaining terms could add is below the `places`-th best partial sum can never catch up, and is
    dropped. Ubiquitous terms weigh almost nothing, so most contenders go before their long lists are
    touched.
    """
    entries = sorted(((w, s, p) for s in scored for p, w in s.terms), key=lambda e: e[0], reverse=True)
    remaining = sum(w for w, _s, _p in entries)
    relevance = dict.fromkeys(sure | contenders, 0.0)
    alive = sure | contenders
    next_check = remaining / 4
    for weight, s, postings in entries:
        if len(contenders) > places and remaining <= next_check:
            theta = heapq.nlargest(places, [relevance[d] for d in contenders])[-1]
            contenders = {d for d in contenders if relevance[d] + remaining >= theta}
            alive = sure | contenders
            next_check = remaining / 4
        remaining -= weight
        targets = s.docs & alive
        if not targets:
            continue
        for d, share in source.saturation(s.field, postings, targets).items():
            relevance[d] += weight * share
    return relevance, contenders
