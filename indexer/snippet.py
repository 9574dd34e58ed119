"""Search-result snippets: the passage with most query words, matches in 【】, personal data masked."""

from __future__ import annotations

from zhikong.indexer.analysis import normalize
from zhikong.indexer.pii import MAX_MATCH, mask_pii

OPEN, CLOSE = "【", "】"
_MAX_OCCURRENCES = 60  # enough to find a good passage; keeps window choice cheap
# Personal data is masked in the chosen passage plus this much on each side: anything the masking rules
# match (at most MAX_MATCH characters, made of whole runs of digits, judged with one character of context)
# that touches the passage lies wholly inside, so the passage is masked as the whole text would be (a
# checksum cut at the margin may be masked where the whole text would not: more masking, never less).
# Masking only the passage keeps snippets cheap for records of 200,000 characters.
_PII_MARGIN = MAX_MATCH + 2


def _spans(norm: str, needles: list[str]) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    for needle in needles:
        start = norm.find(needle)
        while start != -1 and len(spans) < _MAX_OCCURRENCES:
            spans.append((start, start + len(needle), needle))
            start = norm.find(needle, start + 1)
    return sorted(spans)


def _best_window(spans: list[tuple[int, int, str]], width: int, size: int) -> int:
    """Start of the window of `width` characters holding the most distinct needles (the first such window
    starting a quarter width before a match). Windows only move right, so one pass: a match enters when
    the window's end passes its end, and leaves when the window's start passes its start."""
    by_end = sorted(range(len(spans)), key=lambda i: spans[i][1])
    entered, left = [False] * len(spans), [False] * len(spans)
    held: dict[str, int] = {}  # needle → matches of it inside the window
    best_start, best_score = 0, -1
    add = drop = 0
    for start, _end, _needle in spans:
        lo = max(0, start - width // 4)
        hi = lo + width
        while add < len(by_end) and spans[by_end[add]][1] <= hi:
            i = by_end[add]
            add += 1
            entered[i] = True
            if not left[i]:
                held[spans[i][2]] = held.get(spans[i][2], 0) + 1
        while drop < len(spans) and spans[drop][0] < lo:
            left[drop] = True
            if entered[drop]:
                needle = spans[drop][2]
                held[needle] -= 1
                if not held[needle]:
                    del held[needle]
            drop += 1
        if len(held) > best_score:
            best_start, best_score = lo, len(held)
    return min(best_start, max(0, size - width))


def _merge(spans: list[tuple[int, int, str]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e, _n in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def make_snippet(text: str, needles: list[str], width: int = 100, *, folded: str | None = None) -> str:
    """A one-line passage of about `width` characters from `text` around the query's matches; `folded`:
    `normalize(text)` when the caller has it already."""
    needles = [n for n in needles if n]
    if folded is None:
        folded = normalize(text)  # same length: a traditional text's matches are found and marked in place
    spans = _spans(folded, needles)
    lo = _best_window(spans, width, len(text)) if spans else 0
    hi = min(len(text), lo + width)
    margin_lo = max(0, lo - _PII_MARGIN)
    masked = mask_pii(text[margin_lo : hi + _PII_MARGIN])  # same length as its input
    passage = masked[lo - margin_lo : hi - margin_lo]
    # A match inside masked personal data is not highlighted: it would tell what the masked digits are.
    shown = [
        sp
        for sp in spans
        if sp[0] >= lo and sp[1] <= hi and passage[sp[0] - lo : sp[1] - lo] == text[sp[0] : sp[1]]
    ]
    out: list[str] = ["…"] if lo > 0 else []
    cursor = 0
    for s, e in _merge(shown):
        out += [passage[cursor : s - lo], OPEN, passage[s - lo : e - lo], CLOSE]
        cursor = e - lo
    out.append(passage[cursor:])
    if hi < len(text):
        out.append("…")
    return " ".join("".join(out).split())
