"""Evidence of the kind a criterion names: a record counts for a scoring item only when its category, the
type of the activity it belongs to and its subject are those the rule set lists for that item
(`[[checks."…".kinds]]` in the rule set), never because a word occurs somewhere in it.

"核心制度落实" on a slide, or 护理 on a sign-in sheet, is no evidence of a core-system inspection: a slide
is 课件 and a sign-in sheet 签到表, neither a 督查记录. The subject is looked for in what the record is
about — its file name, title, its activity's name and its text — and synonyms from the search's synonym
list count (病案 for 病历).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from zhikong.archive.catalogue import Record

STANDING = "standing"  # the activity type of a record outside every activity folder

Text = Callable[[int], str | None]


@dataclass(frozen=True)
class Kind:
    """One kind of evidence: which categories, activity types and subjects make a record count."""

    name: str
    categories: tuple[str, ...] = ()  # empty: any category
    activity_types: tuple[str, ...] = ()  # empty: any; "standing": outside every activity
    subjects: tuple[str, ...] = ()  # empty: any subject
    title_words: tuple[str, ...] = ()  # a title holding one of these counts whatever its category
    exclude: tuple[str, ...] = ()  # a record whose name or title holds one of these never counts
    paper_register: bool = False  # records filed in a paper box count (the 台账 of item 2)

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Kind:
        def words(key: str) -> tuple[str, ...]:
            return tuple(str(w) for w in raw.get(key, ()))

        return cls(
            name=str(raw["name"]),
            categories=words("categories"),
            activity_types=words("activity_types"),
            subjects=words("subjects"),
            title_words=words("title_words"),
            exclude=words("exclude"),
            paper_register=bool(raw.get("paper_register", False)),
        )

    def describe(self) -> str:
        parts = []
        if self.categories:
            parts.append("类别为" + "、".join(self.categories))
        if self.title_words:
            parts.append("或标题含" + "、".join(self.title_words))
        if self.subjects:
            parts.append("主题为" + "、".join(self.subjects[:6]) + ("等" if len(self.subjects) > 6 else ""))
        return f"{self.name}（{'，'.join(parts)}）" if parts else self.name


def kinds_of(params: dict[str, Any]) -> tuple[Kind, ...]:
    return tuple(Kind.of(raw) for raw in params.get("kinds", ()))


class Subjects:
    """Subject words and their synonyms (the search's synonym list, `synonyms` in zhikong.toml), found in
    what a record is about.

    The list is read here rather than through `indexer.analysis.Synonyms`, which imports Whoosh: `check`
    starts without the search index. The format is the same (one group a line, `#` comments), and so is a
    word's expansion: its group, and a group's term inside it swapped for the others (院感督查 → 医院感染督查);
    tests/test_assessment_rules.py holds the two to the same answers.
    """

    def __init__(self, synonyms_path: Path | None = None) -> None:
        source = synonyms_path or Path(str(resources.files("zhikong.indexer").joinpath("synonyms.txt")))
        self._groups: dict[str, tuple[str, ...]] = {}
        for line in source.read_text(encoding="utf-8").splitlines():
            members = tuple(dict.fromkeys(line.split("#", 1)[0].split()))
            for word in members:
                self._groups[word] = tuple(dict.fromkeys(self._groups.get(word, ()) + members))
        self._cache: dict[tuple[str, ...], tuple[str, ...]] = {}

    def of(self, word: str) -> list[str]:
        """`word` and its forms with one synonym swapped in."""
        if word in self._groups:
            return list(self._groups[word])
        found = [(word.find(t), t) for t in self._groups if len(t) > 1 and t in word]
        spans = [(i, i + len(t), t) for i, t in found]
        outer = [s for s in spans if not any(o != s and o[0] <= s[0] and s[1] <= o[1] for o in spans)]
        result = [word]
        for start, end, term in outer:
            result += [word[:start] + alt + word[end:] for alt in self._groups[term] if alt != term]
        return list(dict.fromkeys(result))

    def variants(self, words: tuple[str, ...]) -> tuple[str, ...]:
        if words not in self._cache:
            found = {v.lower() for w in words for v in self.of(w)} | {w.lower() for w in words}
            self._cache[words] = tuple(sorted(found, key=len, reverse=True))
        return self._cache[words]


def about(rec: Record, text: Text) -> str:
    """What a record is about: its file name, title, activity's name and text (not the center's folder:
    "护理" in "护理质控中心" says nothing about the file)."""
    c = rec.classification
    return "\n".join((stem(rec.path), rec.title or "", c.activity or "", text(rec.id) or ""))


def _head(rec: Record) -> str:
    return _head_of(rec.path, rec.title)


@lru_cache(maxsize=8192)
def _head_of(path: str, title: str | None) -> str:
    """A record's file name and title, asked once for each kind of evidence a rule looks for."""
    return f"{stem(path)} {title or ''}"


def stem(path: str) -> str:
    """`PurePosixPath(path).stem` without making a path object: a check asks it of every record for
    every kind of evidence (hundreds of thousands of times at 33,600 records)."""
    name = path.rpartition("/")[2]
    dot = name.rfind(".")
    return name[:dot] if 0 < dot < len(name) - 1 else name


def counts(
    rec: Record, kind: Kind, text: Text, subjects: Subjects, *, body: Callable[[Record], str] | None = None
) -> bool:
    """Whether `rec` is evidence of `kind` (the cheap tests first: most records fail on category).
    `body` gives `about(rec, text)` in lower case, when the caller keeps it (a `Pool` does)."""
    if kind.paper_register and rec.paper_marked_at and not _excluded(rec, kind):
        return True
    kind_of_activity = _activity_kind(rec)
    if kind.activity_types and kind_of_activity not in kind.activity_types:
        return False
    if kind.categories or kind.title_words:
        in_category = rec.category in kind.categories
        if not in_category and not any(w in _head(rec) for w in kind.title_words):
            return False
    if _excluded(rec, kind):
        return False
    if kind.subjects:  # compared in lower case, as the search does (MDRO, mdro)
        lowered = body(rec) if body is not None else about(rec, text).lower()
        return any(map(lowered.__contains__, subjects.variants(kind.subjects)))
    return True


def _excluded(rec: Record, kind: Kind) -> bool:
    return bool(kind.exclude) and any(w in _head(rec) for w in kind.exclude)


def _activity_kind(rec: Record) -> str:
    """The type of the activity `rec` belongs to, or "standing". The enum member itself (a `StrEnum`
    equals and hashes as its value): `.value` goes through the enum's descriptor, asked of every record
    for every kind of evidence."""
    c = rec.classification
    return c.activity_type if c.activity and c.activity_type else STANDING


class Pool:
    """A center-year's records grouped by activity type and category, so that a kind of evidence tests
    only the records it could count (a check looks for some forty kinds in every center-year: testing every
    record for every kind was a fifth of a check at 33,600 records). What counts is still decided by
    `counts`; the pool only leaves out records that would fail its first tests, and keeps what each record
    is about (`about`, in lower case) for the kinds after the first that look for a subject in it."""

    def __init__(self, records: Iterable[Record]) -> None:
        self.records = list(records)
        self._groups: dict[tuple[str, str], list[int]] = {}
        self._marked: list[int] = []  # filed in a paper box: they count for `paper_register` whatever else
        self._about: dict[int, str] = {}
        for i, rec in enumerate(self.records):
            self._groups.setdefault((_activity_kind(rec), rec.category), []).append(i)
            if rec.paper_marked_at:
                self._marked.append(i)

    def candidates(self, kind: Kind) -> list[Record]:
        """The records that may be evidence of `kind`, in their order in `records`."""
        by_category = bool(kind.categories) and not kind.title_words  # else any category may count
        picked = [
            i
            for (activity, category), ids in self._groups.items()
            if (not kind.activity_types or activity in kind.activity_types)
            and (not by_category or category in kind.categories)
            for i in ids
        ]
        if kind.paper_register:
            picked = [*set(picked).union(self._marked)]
        return [self.records[i] for i in sorted(picked)]

    def about(self, rec: Record, text: Text) -> str:
        """`about(rec, text)` in lower case, read once for each record."""
        found = self._about.get(rec.id)
        if found is None:
            found = self._about[rec.id] = about(rec, text).lower()
        return found


def evidence(records: Iterable[Record] | Pool, kind: Kind, text: Text, subjects: Subjects) -> list[Record]:
    """The records among `records` that are evidence of `kind`, in path order."""
    if isinstance(records, Pool):
        pool = records

        def body(rec: Record) -> str:
            return pool.about(rec, text)

        found = [r for r in pool.candidates(kind) if counts(r, kind, text, subjects, body=body)]
    else:
        found = [r for r in records if counts(r, kind, text, subjects)]
    return sorted(found, key=lambda r: r.path)
