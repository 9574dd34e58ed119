"""From what a person types to what the index is asked.

The user's input is always plain words: Whoosh's own syntax (" * : ( ) AND …) is never interpreted, so
no input can crash the parser. Quoted text ("…" or “…”) is kept as one exact phrase. Everything else is
split at punctuation and spaces into chunks, and each chunk into words by the segmenter. Each word is a
*clause*: it matches when the word or one of its synonyms occurs anywhere in the record as a substring
(the index is asked for its bigrams; the exact text is checked on the best candidates). A record missing one word is still found: the ranking (indexer.ranking)
puts records matching more clauses first (coordination), then orders them by BM25.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from zhikong.indexer.analysis import STOPWORDS, Synonyms, is_cjk, join_wrapped, normalize, segment, tokens

_QUOTED = re.compile(r'"([^"]+)"|“([^”]+)”|「([^」]+)」|『([^』]+)』')
_CHUNK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff0-9a-z]+")

CONTENT = "content"
META = "meta"
_META_BOOST = 2.0
_WHOLE_CHUNK_BOOST = 1.5


@dataclass(frozen=True)
class Clause:
    """One thing the user asked for, and the interchangeable strings that satisfy it."""

    variants: tuple[str, ...]
    exact: bool = False  # a quoted phrase: only the phrase as written, never most of its characters

    def matches(self, text: str) -> bool:
        return any(v in text for v in self.variants)


@dataclass(frozen=True)
class QueryPlan:
    clauses: tuple[Clause, ...]
    bonuses: tuple[Clause, ...]  # whole chunks: ranked up when the words appear together, not counted

    def needles(self) -> list[str]:
        """Every string worth highlighting, longest first."""
        found = {v for c in (*self.clauses, *self.bonuses) for v in c.variants}
        return sorted(found, key=len, reverse=True)

    def matched(self, text: str) -> int:
        """Clauses found in `text`, plus one for each whole chunk found with its words together."""
        return self.matched_folded(fold(text))

    def matched_folded(self, folded: str) -> int:
        """`matched` for a text already passed through `fold`."""
        return sum(c.matches(folded) for c in (*self.clauses, *self.bonuses))


def fold(text: str) -> str:
    """`text` as query words are matched in it: a traditional text, a word broken across lines, found."""
    return join_wrapped(normalize(text))


def _words(chunk: str, synonyms: Synonyms) -> list[str]:
    if not is_cjk(chunk) or len(chunk) <= 2 or chunk in synonyms.groups:
        return [chunk]
    words = _merge_single_chars(segment(chunk, tuple(synonyms.groups)))
    words = [w for w in words if w not in STOPWORDS]
    # A lone character (的, 年) says little; keep one only if nothing else is left.
    longer = [w for w in words if len(w) > 1 or not is_cjk(w)]
    if len(longer) < len(words) and len(chunk) <= 4:
        # A short chunk that loses a character is a name or an abbreviation the dictionary splits
        # (段美丽 → 段/美丽, 院感办 → 院感/办): the chunk itself is the word, not what is left of it.
        return [chunk]
    return longer or words or [chunk]


def _merge_single_chars(words: list[str]) -> list[str]:
    """Glue runs of single characters back together: the dictionary does not know most place and person
    names (鸡黍镇 → 鸡/黍/镇), and the run is far more specific than its characters."""
    merged: list[str] = []
    run = ""
    for w in [*words, ""]:
        if len(w) == 1 and is_cjk(w) and w not in STOPWORDS:
            run += w
            continue
        if run:
            merged.append(run)
            run = ""
        if w:
            merged.append(w)
    return merged


def plan_query(text: str, synonyms: Synonyms) -> QueryPlan:
    """The clauses of a typed query; no clauses means the input had no searchable characters."""
    clauses: list[Clause] = []
    bonuses: list[Clause] = []
    for m in _QUOTED.finditer(text):
        phrase = normalize(next(g for g in m.groups() if g)).strip()
        if any(True for _ in tokens(phrase)):
            clauses.append(Clause((phrase,), exact=True))
    rest = normalize(_QUOTED.sub(" ", text))
    for chunk in _CHUNK.findall(rest):
        words = _words(chunk, synonyms)
        clauses += [Clause(tuple(synonyms.variants(w))) for w in words]
        if words != [chunk]:  # the words together as typed rank higher (also when one was dropped)
            bonuses.append(Clause(tuple(synonyms.variants(chunk))))
    unique = tuple(dict.fromkeys(clauses))
    return QueryPlan(unique, tuple(b for b in dict.fromkeys(bonuses) if b not in unique))


@dataclass(frozen=True)
class Probe:
    """One way a clause can be present in one field: every term of `terms` is in the record (the bigrams of
    a word, not necessarily adjacent — the exact substring is checked on the best candidates). With
    `prefix`, the one term is a lone character, indexed only inside bigrams: any term starting with it."""

    field: str
    terms: tuple[str, ...]
    prefix: bool
    boost: float
    exact: bool = False  # from a quoted phrase (indexer.ranking never widens it to part of its bigrams)


def _terms(text: str) -> tuple[tuple[str, ...], bool]:
    terms = [t for t, _, _ in tokens(text)]
    if len(terms) > 1:
        # A lone CJK character next to digits (2025年) is a unigram here but part of a bigram in most
        # records (2025年度): match on the rest rather than miss them.
        terms = [t for t in terms if not (len(t) == 1 and is_cjk(t))] or terms
    lone = len(terms) == 1 and len(terms[0]) == 1 and is_cjk(terms[0])
    return tuple(dict.fromkeys(terms)), lone


def probes(clause: Clause, boost: float = 1.0) -> list[Probe]:
    """How the index is asked for `clause`: each variant in the body and, weighing more, in the metadata."""
    found: list[Probe] = []
    for variant in clause.variants:
        terms, lone = _terms(variant)
        if terms:
            found.append(Probe(CONTENT, terms, lone, boost, clause.exact))
            found.append(Probe(META, terms, lone, boost * _META_BOOST, clause.exact))
    return found


def plan_probes(plan: QueryPlan) -> list[list[Probe]]:
    """Per counted unit of the plan (its clauses, then its whole-chunk bonuses), the probes that find it."""
    units = [probes(c) for c in plan.clauses]
    return units + [probes(b, _WHOLE_CHUNK_BOOST) for b in plan.bonuses]


# Relative years as people say them ("去年院感督查的反馈意见"): a filter, not words to match.
_RELATIVE_YEARS = {"今年": 0, "本年度": 0, "本年": 0, "去年": -1, "上年度": -1, "上一年": -1, "前年": -2}


def relative_year(text: str, today: date) -> tuple[str, int | None]:
    """The query without its relative-year word, and the year that word names (None if there is none)."""
    for word, offset in sorted(_RELATIVE_YEARS.items(), key=lambda kv: -len(kv[0])):
        if word in text:
            return text.replace(word, " ", 1).strip(), today.year + offset
    return text, None
