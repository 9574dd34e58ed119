"""Is this text what the file says, or garbage that only looks like text?

A reader can succeed and still be wrong: a PDF whose font maps its glyphs to the wrong code points gives
valid but random Chinese characters, a GBK file read as Latin-1 gives "ÄãºÃ", a font without a
Unicode map gives private-use characters. Stored as read, such text is never found by a search and
nobody knows it is missing. So every extraction is assessed, and a reader tries its next way of reading
(poppler, OCR, another encoding) before a text is stored with status "garbled" and a Chinese reason.

Three signs, each measured on the non-blank characters:

- **unusable characters**: private-use (a font without a Unicode map), U+FFFD (bytes no codec could read),
  control characters. More than 20 % of them: garbled.
- **rare Chinese characters**: real Chinese text, simplified or traditional, draws nearly every character
  from the few thousand in common use (GB 2312 level 1, Big5's 常用字); a wrong font map or a wrong
  encoding draws from all 28,000 ideographs alike. Of at least 20 ideographs, fewer than 85 % common:
  garbled.
- **Latin-1 mojibake**: accented Latin letters are a few percent of a French or German text; bytes of a
  Chinese encoding shown as Latin-1 make them a third or more, and Chinese characters are absent.
- **a jumble of scripts**: a real text is written in one or two scripts besides Latin (Chinese; Japanese
  kana and kanji; Korean); a GBK font read as UTF-16 scatters its letters over Telugu, Tibetan, Armenian,
  Myanmar … (a thesis template's manual came out so). More than 20 % of letters outside Latin and the
  two most used other scripts: garbled.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache

MIN_CJK = 20  # below this many ideographs the rarity sign says nothing
COMMON_SHARE = 0.85  # real text measured 0.91–1.00 on the real-file corpus; Big5 read as GBK 0.47–0.73
UNUSABLE_SHARE = 0.20
LATIN1_SHARE = 0.30
SCATTER_SHARE = 0.20


@dataclass(frozen=True)
class Assessment:
    """`reason` is None when the text looks right, else a Chinese sentence saying what is wrong."""

    reason: str | None
    cjk: int  # ideographs counted
    common: float  # share of them in common use (1.0 when there are none)
    unusable: float  # share of unusable characters among non-blank ones
    latin1: float  # share of Latin-1 accented letters among letters
    scatter: float  # share of letters outside Latin and the two main other scripts

    @property
    def garbled(self) -> bool:
        return self.reason is not None

    @property
    def quality(self) -> float:
        """Higher is better; compares two readings of the same file."""
        return self.common - self.unusable - self.latin1 - self.scatter


def is_ideograph(c: str) -> bool:
    n = ord(c)
    return 0x4E00 <= n <= 0x9FFF or 0x3400 <= n <= 0x4DBF or 0xF900 <= n <= 0xFAFF or 0x20000 <= n <= 0x3134F


@cache
def is_common(c: str) -> bool:
    """In GB 2312 level 1 (3,755 characters) or Big5 常用字 (5,401): the characters of ordinary text."""
    try:
        gb = c.encode("gb2312")
        if 0xB0 <= gb[0] <= 0xD7:
            return True
    except UnicodeEncodeError:
        pass
    try:
        big5 = c.encode("big5")
        return 0xA440 <= int.from_bytes(big5[:2], "big") <= 0xC67E
    except UnicodeEncodeError:
        return False


def _unusable(c: str) -> bool:
    n = ord(c)
    if n == 0xFFFD or 0xE000 <= n <= 0xF8FF or n >= 0xF0000:
        return True
    return unicodedata.category(c) == "Cc" and c not in "\t\n\r"


def _script(c: str) -> int | str:
    """A coarse script: Latin, Han, kana, Hangul by name, anything else by its 128-code-point block."""
    n = ord(c)
    if n < 0x250 or 0x1E00 <= n <= 0x1EFF or 0xFF00 <= n <= 0xFFEF:
        return "latin"
    if 0x3040 <= n <= 0x30FF:
        return "kana"
    if 0xAC00 <= n <= 0xD7AF:
        return "hangul"
    return n >> 7


def assess(text: str) -> Assessment:
    cjk = common = unusable = letters = latin1 = visible = 0
    scripts: Counter[int | str] = Counter()
    for c, n in Counter(text).items():  # each distinct character once: a text repeats most of its own
        if c.isspace():
            continue
        visible += n
        if is_ideograph(c):
            cjk += n
            common += n * is_common(c)
            scripts["han"] += n
        elif _unusable(c):
            unusable += n
        elif c.isalpha():
            letters += n
            latin1 += n * (0xC0 <= ord(c) <= 0xFF)
            scripts[_script(c)] += n
    common_share = common / cjk if cjk else 1.0
    unusable_share = unusable / visible if visible else 0.0
    latin1_share = latin1 / (letters + cjk) if letters + cjk else 0.0
    others = [n for script, n in scripts.most_common() if script != "latin"]
    scattered = sum(others[2:])
    scatter_share = scattered / (letters + cjk) if letters + cjk else 0.0
    reason = None
    if visible and unusable_share > UNUSABLE_SHARE:
        reason = f"读出的文字中有 {unusable_share:.0%} 是无法显示的字符（文件的字体没有提供文字编码）"
    elif cjk >= MIN_CJK and common_share < COMMON_SHARE:
        reason = (
            f"读出的汉字中只有 {common_share:.0%} 是常用字，其余是乱码（文字编码有误，或字体没有正确的编码）"
        )
    elif letters >= MIN_CJK and latin1_share > LATIN1_SHARE:
        reason = "读出的文字是乱码（中文编码被当作西文读取）"
    elif scattered >= MIN_CJK and scatter_share > SCATTER_SHARE:
        reason = f"读出的文字有 {scatter_share:.0%} 散落在多种无关的文字里，是乱码（字体没有正确的编码）"
    return Assessment(reason, cjk, common_share, unusable_share, latin1_share, scatter_share)


_MOJIBAKE_SOURCES = ("cp1252", "latin-1")
_MOJIBAKE_TARGETS = ("gb18030", "utf-8", "big5")


def repair_mojibake(text: str) -> tuple[str, str] | None:
    """Text whose bytes were a Chinese encoding but were shown as Latin-1 (a PDF's GBK strings under a
    WinAnsi font; a GBK file opened as Western European), read again in the right encoding.
    Returns (text, encoding) when a reading is clean, else None."""
    for source in _MOJIBAKE_SOURCES:
        try:
            raw = text.encode(source)
        except UnicodeEncodeError:
            continue
        for target in _MOJIBAKE_TARGETS:
            try:
                fixed = raw.decode(target)
            except UnicodeDecodeError:
                continue
            check = assess(fixed)
            if not check.garbled and check.cjk >= 2:
                return fixed, target
    return None
