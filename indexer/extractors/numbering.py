"""Word's automatic numbering and bullets, as the reader sees them: "一、" "（二）" "3." "•".

A 公文 numbers its headings with Word's list numbering, so the "一、" a reader sees is not in the text of
the paragraph but computed from numbering.xml: the paragraph (or its style) names a list (numId) and a
level; the list's abstract definition gives, per level, a start value, a number format (decimal,
chineseCounting …) and a pattern (lvlText "%1、", "（%1）", "%1.%2"). Counters run through the document per
list, and a level's counter restarts when a higher level advances. Without this, "一、总体要求" is stored as
"总体要求" and a search for 一、 or for the heading's words in order finds nothing.
"""

from __future__ import annotations

import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

from zhikong.indexer.extractors.zipxml import iter_local, local, parse_member

_CN_DIGITS = "〇一二三四五六七八九"
_CN_UPPER = "零壹贰叁肆伍陆柒捌玖"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"


def _val(el: ET.Element | None, name: str = "val") -> str | None:
    if el is None:
        return None
    return next((v for k, v in el.attrib.items() if local(k) == name), None)


def _child(el: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in el if local(c.tag) == name), None)


def _chinese(n: int, digits: str = _CN_DIGITS, ten: str = "十", hundred: str = "百") -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 105 → 一百零五, 110 → 一百一十 (the way a 公文 counts)."""
    if n <= 0 or n >= 1000:
        return str(n)
    if n < 10:
        return digits[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return (digits[tens] if tens > 1 else "") + ten + (digits[ones] if ones else "")
    hundreds, rest = divmod(n, 100)
    head = digits[hundreds] + hundred
    if not rest:
        return head
    if rest < 10:
        return head + "零" + digits[rest]
    return head + (digits[1] if rest < 20 else "") + _chinese(rest, digits, ten, hundred)


def _roman(n: int) -> str:
    out = []
    for value, letters in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
                           (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):  # fmt: skip
        while n >= value:
            out.append(letters)
            n -= value
    return "".join(out)


def _letters(n: int) -> str:
    # Word's letter numbering: a … z, aa … zz, aaa …
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1) if n > 0 else ""


def format_number(n: int, fmt: str) -> str:
    if fmt in ("chineseCounting", "chineseCountingThousand", "japaneseCounting", "taiwaneseCounting"):
        return _chinese(n)
    if fmt in ("chineseLegalSimplified", "ideographLegalTraditional"):
        return _chinese(n, _CN_UPPER, "拾", "佰")
    if fmt in ("ideographDigital", "taiwaneseDigital", "japaneseDigitalTenThousand"):
        return "".join(_CN_DIGITS[int(d)] for d in str(n))
    if fmt == "ideographTraditional":
        return "甲乙丙丁戊己庚辛壬癸"[(n - 1) % 10]
    if fmt == "ideographZodiac":
        return "子丑寅卯辰巳午未申酉戌亥"[(n - 1) % 12]
    if fmt in ("decimalEnclosedCircle", "decimalEnclosedCircleChinese"):
        return _CIRCLED[n - 1] if 0 < n <= len(_CIRCLED) else str(n)
    if fmt == "decimalZero":
        return f"{n:02d}"
    if fmt == "upperRoman":
        return _roman(n)
    if fmt == "lowerRoman":
        return _roman(n).lower()
    if fmt == "upperLetter":
        return _letters(n).upper()
    if fmt == "lowerLetter":
        return _letters(n)
    if fmt == "none":
        return ""
    return str(n)  # decimal, decimalFullWidth and anything unknown


@dataclass(frozen=True)
class _Level:
    start: int
    fmt: str
    text: str  # lvlText, "%1、"


def _bullet(text: str) -> str:
    # Bullets are often a Symbol/Wingdings glyph in the private-use area: show a plain bullet instead.
    return "•" if not text or any(0xE000 <= ord(c) <= 0xF8FF for c in text) else text


@dataclass
class Numbering:
    """The numbering definitions of one .docx, and the counters of one pass through it."""

    levels: dict[str, dict[int, _Level]] = field(default_factory=dict)  # numId → level → definition
    abstract_of: dict[str, str] = field(default_factory=dict)  # numId → abstractNumId (shared counters)
    style_num: dict[str, tuple[str, int]] = field(default_factory=dict)  # styleId → (numId, level)
    counters: dict[str, dict[int, int]] = field(default_factory=dict)

    @classmethod
    def read(cls, zf: zipfile.ZipFile) -> Numbering:
        numbering = cls()
        root = parse_member(zf, "word/numbering.xml") if "word/numbering.xml" in zf.NameToInfo else None
        if root is not None:
            abstracts: dict[str, dict[int, _Level]] = {}
            for abstract in iter_local(root, "abstractNum"):
                abstracts[_val(abstract, "abstractNumId") or ""] = _levels(abstract)
            for num in iter_local(root, "num"):
                num_id = _val(num, "numId") or ""
                abstract_id = _val(_child(num, "abstractNumId")) or ""
                levels = dict(abstracts.get(abstract_id, {}))
                for override in (c for c in num if local(c.tag) == "lvlOverride"):
                    ilvl = int(_val(override, "ilvl") or 0)
                    redefined = _child(override, "lvl")
                    if redefined is not None:
                        levels.update(_levels_of([redefined], default=ilvl))
                    start = _val(_child(override, "startOverride"))
                    if start is not None and ilvl in levels:
                        old = levels[ilvl]
                        levels[ilvl] = _Level(int(start), old.fmt, old.text)
                numbering.levels[num_id] = levels
                numbering.abstract_of[num_id] = abstract_id
        if numbering.levels and "word/styles.xml" in zf.NameToInfo:  # no lists defined: no style numbers
            numbering.style_num = _styles_numbering(zf, zf.getinfo("word/styles.xml"))
        return numbering

    def label(self, paragraph: ET.Element, style: str) -> str:
        """The number or bullet Word shows before this paragraph ("一、", "（二）", "•"), advancing the
        counters; "" when it has none."""
        num_id, ilvl = _paragraph_numbering(paragraph)
        if num_id is None and style in self.style_num:
            num_id, style_level = self.style_num[style]
            ilvl = style_level if ilvl is None else ilvl
        if num_id is None or num_id == "0" or num_id not in self.levels:
            return ""
        ilvl = ilvl or 0
        levels = self.levels[num_id]
        level = levels.get(ilvl)
        if level is None:
            return ""
        if level.fmt == "bullet":
            return _bullet(level.text) + " "
        counters = self.counters.setdefault(self.abstract_of.get(num_id, num_id), {})
        counters[ilvl] = counters.get(ilvl, level.start - 1) + 1
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]  # a higher level advanced: the lower ones start again
        text = level.text
        for n in range(9):
            if f"%{n + 1}" in text:
                shown = levels.get(n)
                value = counters.get(n, shown.start if shown else 1)
                text = text.replace(f"%{n + 1}", format_number(value, shown.fmt if shown else "decimal"))
        return text


def _levels(abstract: ET.Element) -> dict[int, _Level]:
    return _levels_of([c for c in abstract if local(c.tag) == "lvl"])


def _levels_of(elements: list[ET.Element], default: int = 0) -> dict[int, _Level]:
    out = {}
    for lvl in elements:
        ilvl = int(_val(lvl, "ilvl") or default)
        start = int(_val(_child(lvl, "start")) or 1)
        fmt = _val(_child(lvl, "numFmt")) or "decimal"
        out[ilvl] = _Level(start, fmt, _val(_child(lvl, "lvlText")) or "")
    return out


def _paragraph_numbering(paragraph: ET.Element) -> tuple[str | None, int | None]:
    props = _child(paragraph, "pPr")
    num_pr = _child(props, "numPr") if props is not None else None
    if num_pr is None:
        return None, None
    ilvl = _val(_child(num_pr, "ilvl"))
    return _val(_child(num_pr, "numId")), int(ilvl) if ilvl is not None else None


# The style numbering of the last styles parts read, by their CRC-32 and size (in the zip's directory, so
# known without reading the part): a center's files come from a few templates, and python-docx's (our
# own drafts') styles part alone is 350 kB, parsed in ~10 ms, more than the rest of a 3,000-character file.
_STYLES_KEPT: OrderedDict[tuple[int, int], dict[str, tuple[str, int]]] = OrderedDict()
_STYLES_KEEP = 32


def _styles_numbering(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> dict[str, tuple[str, int]]:
    key = (info.CRC, info.file_size)
    found = _STYLES_KEPT.get(key)
    if found is None:
        styles = parse_member(zf, info.filename)
        found = _style_numbering(styles) if styles is not None else {}
        _STYLES_KEPT[key] = found
        if len(_STYLES_KEPT) > _STYLES_KEEP:
            _STYLES_KEPT.popitem(last=False)
    _STYLES_KEPT.move_to_end(key)
    return found


def _style_numbering(styles: ET.Element) -> dict[str, tuple[str, int]]:
    """styleId → (numId, level) for paragraph styles that number (Heading 1 linked to a list), following
    basedOn one step at a time."""
    direct: dict[str, tuple[str, int]] = {}
    based: dict[str, str] = {}
    for style in iter_local(styles, "style"):
        sid = _val(style, "styleId") or ""
        parent = _val(_child(style, "basedOn"))
        if parent:
            based[sid] = parent
        num_id, ilvl = _paragraph_numbering(style)
        if num_id is not None:
            direct[sid] = (num_id, ilvl or 0)
    resolved = dict(direct)
    for sid in based:
        seen, cur = {sid}, sid
        while cur not in direct and cur in based and based[cur] not in seen:
            cur = based[cur]
            seen.add(cur)
        if cur in direct:
            resolved[sid] = direct[cur]
    return resolved
