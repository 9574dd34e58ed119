"""Search-result snippets: the passage with most query words, matches in 【】, personal data masked."""

from __future__ import annotations

from .analysis import normalize
from .pii import mask_pii

OPEN, CLOSE = "【", "】"
_MAX_OCCURRENCES = 60  # enough to find a good passage; keeps window choice cheap


def _spans(norm: str, needles: list[str]) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    for needle in needles:
        start = norm.find(needle)
        while start != -1 and len(spans) < _MAX_OCCURRENCES:
            spans.append((start, start + len(needle), needle))
            start = norm.find(needle, start + 1)
    return sorted(spans)


def _best_window(spans: list[tuple[int, int, str]], width: int, size: int) -> int:
    """Start of the window of `width` characters holding the most distinct needles."""
    best_start, best_score = 0, -1
    for start, _end, _needle in spans:
        lo = max(0, start - width // 4)
        inside = {n for s, e, n in spans if s >= lo and e <= lo + width}
        if len(inside) > best_score:
            best_start, best_score = lo, len(inside)
    return min(best_start, max(0, size - width))


def _merge(spans: list[tuple[int, int, str]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e, _n in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def make_snippet(text: str, needles: list[str], width: int = 100) -> str:
    """A one-line passage of about `width` characters from `text` around the query's matches."""
    masked = mask_pii(text)  # same length as text, so positions found below hold in both
    spans = _spans(normalize(masked), [n for n in needles if n])
    lo = _best_window(spans, width, len(masked)) if spans else 0
    hi = min(len(masked), lo + width)
    out: list[str] = ["…"] if lo > 0 else []
    cursor = lo
    for s, e in _merge([sp for sp in spans if sp[0] >= lo and sp[1] <= hi]):
        out += [masked[cursor:s], OPEN, masked[s:e], CLOSE]
        cursor = e
    out.append(masked[cursor:hi])
    if hi < len(masked):
        out.append("…")
    return " ".join("".join(out).split())
