"""Chinese text analysis for the index: character bigrams at index time, word segmentation at query time.

Why bigrams: a term must be found inside longer text (院感防控 in 开展院感防控督查) whatever a segmenter
makes of the surrounding characters, so the index holds every overlapping pair of CJK characters with its
position, and a query word becomes a phrase of its bigrams — an exact substring match. Segmentation
(rjieba, a Rust port of jieba's dictionary and algorithm, loaded lazily) is only used on the query, to
split a typed sentence such as 去年院感督查的反馈意见 into words that are matched and counted separately.

All normalisation is one character to one character (full-width to half-width, then lower-case), so the
offsets of tokens and of snippet matches are offsets into the original text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from whoosh.analysis import Token, Tokenizer

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A CJK run goes on across a line break (a PDF or OCR line wrapped inside a word: 回头\n看 is 回头看).
_WRAP = r"[ \t]*\r?\n[ \t]*"
_RUN = re.compile(rf"([{_CJK}]+(?:{_WRAP}[{_CJK}]+)*)|([0-9a-z]+)")
_WRAPPED = re.compile(rf"(?<=[{_CJK}]){_WRAP}(?=[{_CJK}])")
_CJK_ONLY = re.compile(rf"^[{_CJK}]+$")
_PLAIN_RUN = re.compile(rf"[{_CJK}]+|[0-9a-z]+")

DEFAULT_SYNONYMS = Path(__file__).with_name("synonyms.txt")

# Words that carry no search meaning in a typed Chinese query.
STOPWORDS = frozenset(
    {
        "的", "了", "和", "与", "及", "或", "在", "对", "是", "有", "把", "被", "等", "之", "以及", "关于",
        "有关", "相关", "去年", "今年", "前年", "明年", "哪些", "什么", "查找", "搜索", "一下", "所有",
    }
)  # fmt: skip


# Full-width letters and digits (Ａ１ as Chinese IMEs type them), mapped one to one. Full-width punctuation
# (，：) is left alone: it separates words either way, and it is in almost every Chinese text.
_FULLWIDTH_ALNUM = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_FULLWIDTH = {c: c - 0xFEE0 for c in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B))}


def normalize(text: str) -> str:
    """Full-width to half-width, lower case, traditional characters to simplified; always the same length
    as `text` (offsets stay valid), so a simplified query finds a traditional text and its snippet.

    Not NFKC: that is far slower on Chinese text, and this runs on every candidate at search time.
    """
    if _FULLWIDTH_ALNUM.search(text):
        text = text.translate(_FULLWIDTH)
    folded = text.lower()
    # lower() lengthens a handful of exotic letters (İ); keep offsets exact in that rare case.
    if len(folded) != len(text):
        folded = "".join(c if len(c.lower()) > 1 else c.lower() for c in text)
    return to_simplified(folded)


@cache
def _converter() -> Any:
    """OpenCC's traditional-to-simplified conversion (its own data; BYVoid/OpenCC, Apache-2.0)."""
    import opencc

    return opencc.OpenCC("t2s")


@cache
def _one_char(ch: str) -> str:
    out = _converter().convert(ch)
    return out if len(out) == 1 else ch


def to_simplified(text: str) -> str:
    """`text` in simplified characters, character for character (OpenCC's phrase table where it keeps
    the length, its character table otherwise). Simplified text comes back unchanged."""
    if text.isascii():
        return text
    out = str(_converter().convert(text))
    return out if len(out) == len(text) else "".join(_one_char(ch) for ch in text)


def tokens(text: str) -> Iterator[tuple[str, int, int]]:
    """(term, start, end): CJK runs as overlapping bigrams (a lone character as itself), ASCII words whole."""
    for m in _RUN.finditer(normalize(text)):
        run = m.group(0)
        start = m.start()
        if m.group(1) and len(run) > 1:
            if "\n" in run:  # wrapped: bigrams of the characters, each from its own offset
                chars = [(c, start + i) for i, c in enumerate(run) if not c.isspace()]
                if len(chars) == 1:
                    yield chars[0][0], chars[0][1], chars[0][1] + 1
                for (a, i), (b, j) in pairwise(chars):
                    yield a + b, i, j + 1
                continue
            for i in range(len(run) - 1):
                yield run[i : i + 2], start + i, start + i + 2
        else:
            yield run, start, m.end()


def terms(text: str) -> list[str]:
    """The terms of `tokens(text)` without their offsets (what an engine fed whole terms stores), built
    faster: a CJK run wrapped across lines has the bigrams of the run joined, so the joined text is split
    once and each CJK run's bigrams made in C."""
    found: list[str] = []
    folded = normalize(text)
    for run in _PLAIN_RUN.findall(_WRAPPED.sub("", folded) if "\n" in folded else folded):
        if len(run) > 1 and run[0] > "\x7f":
            found.extend(map(str.__add__, run[:-1], run[1:]))
        else:
            found.append(run)
    return found


def join_wrapped(text: str) -> str:
    """`text` with line breaks inside CJK runs removed (for checking a query word as written)."""
    return _WRAPPED.sub("", text) if "\n" in text else text


class BigramTokenizer(Tokenizer):
    """The Whoosh side of `tokens`: positions count every token so a phrase of bigrams is a substring."""

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for pos, (term, start, end) in enumerate(tokens(value), start_pos):
            token.text = term
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = term
            if positions:
                token.pos = pos
            if chars:
                token.startchar = start_char + start
                token.endchar = start_char + end
            yield token


def analyzer() -> Any:
    return BigramTokenizer()


@dataclass(frozen=True)
class Synonyms:
    """Groups of interchangeable terms (abbreviation and full form), read from an editable text file."""

    groups: dict[str, tuple[str, ...]]

    @classmethod
    def load(cls, path: Path | None = None) -> Synonyms:
        groups: dict[str, tuple[str, ...]] = {}
        source = path or DEFAULT_SYNONYMS
        for line in source.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            members = tuple(dict.fromkeys(normalize(w) for w in line.split()))
            for word in members:
                groups[word] = tuple(dict.fromkeys(groups.get(word, ()) + members))
        return cls(groups)

    def variants(self, word: str, limit: int = 8) -> list[str]:
        """`word` and its forms with one synonym swapped in, e.g. 质控中心 → 质量控制中心."""
        if word in self.groups:
            return list(self.groups[word])[:limit]
        found = [(word.find(t), t) for t in self.groups if len(t) > 1 and t in word]
        # Skip a term inside a longer found term (院感 inside 医院感染): swapping it would garble the word.
        spans = [(i, i + len(t), t) for i, t in found]
        outer = [s for s in spans if not any(o != s and o[0] <= s[0] and s[1] <= o[1] for o in spans)]
        result = [word]
        for start, end, term in outer:
            for alt in self.groups[term]:
                if alt != term:
                    result.append(word[:start] + alt + word[end:])
        return list(dict.fromkeys(result))[:limit]


@cache
def _segmenter(extra_words: tuple[str, ...]) -> Any:
    # Imported here so that opening an index for writing never pays for the dictionary (~0.1 s).
    import rjieba

    jb = rjieba.Jieba()
    for word in extra_words:
        # Synonym terms must stay whole (质量控制 not 质量/控制) so they can be swapped for each other.
        jb.add_word(word, 100_000, None)
    return jb


def segment(text: str, keep_whole: tuple[str, ...] = ()) -> list[str]:
    """Words of a query chunk, jieba precise mode."""
    return [w for w in _segmenter(keep_whole).cut(text) if w.strip()]


def is_cjk(word: str) -> bool:
    return bool(_CJK_ONLY.match(word))
