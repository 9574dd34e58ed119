"""Personal data in text, file names and titles: 身份证号 and mainland mobile numbers, found and masked.

J15(3)/H27–H28 forbid leaking patient data, so every human-readable output — search snippets, titles and
paths printed by the command line, the handover bundle's lists and documents — shows these masked, through
`mask_pii`, the one masking function. Masking keeps the text's length, so offsets found in the original
stay valid in the masked copy.

What counts, and how false positives are kept down (ordinary QC text is full of numbers: 发文字号, dates,
institutions' phone numbers with an area code, money, 档号, checksums):

- A number is made of *parts*, maximal runs of digits (full-width ０-９ read as digits), joined by single
  separators (a space, a hyphen). A match is always whole parts: an 11-digit run inside a 16-digit order
  number is no phone number, and neither is 0537-8721234.
- 18-digit 身份证号 (GB 11643): a province code that exists, a real birth date (YYYYMMDD) and the ISO 7064
  MOD 11-2 check digit; written whole or in up to five groups of two or more digits (370828 20000229 0049).
- 15-digit first-generation 身份证号 have no check digit: a province code that exists, a city code that is
  not 00, and a real birth date 19YYMMDD; written whole or as 6-6-3 / 6-9.
- Mobile numbers 1[3-9]XXXXXXXXX, whole or as 3-4-4, 3-8, 7-4 (139-1234-5678, 139 1234 5678), with an
  optional 86 / 0086 / +86 prefix (8613912345678, +86 139 1234 5678).
- Digits inside a run of 32 or more hexadecimal characters (a SHA-256 or SHA-512 digest), and groups glued
  to Latin letters (a digest printed in groups of eight) are not personal data: a digest must stay exact
  where it is printed to be compared. A single run glued to letters still counts (tel13912345678).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class PiiKind(StrEnum):
    ID_CARD = "id_card"
    MOBILE = "mobile"
    RECORD_NO = "record_no"  # a patient's 住院号 / 病案号 / 病历号 / 门诊号: the number after the label


@dataclass(frozen=True)
class PiiMatch:
    kind: PiiKind
    start: int
    end: int
    text: str  # as written (full-width digits, separators and a prefix included)
    masked: str  # `text` with the middle digits replaced by "*": same length, separators kept


# Full-width digits and letters, and the separators people type between groups, folded one character to one
# character (so positions in the folded copy are positions in the original).
_FOLD = str.maketrans(
    {
        **{chr(0xFF10 + i): str(i) for i in range(10)},
        "Ｘ": "X",
        "ｘ": "x",
        "＋": "+",
        "\u3000": " ",  # ideographic space
        "\u00a0": " ",  # no-break space
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\uff0d": "-",  # full-width hyphen-minus
    }
)
_SEPARATORS = " -"
# A part: a maximal run of digits; an X (the 身份证号 check character) only at its end and not followed by
# a letter or digit.
_PART = re.compile(r"[0-9]+(?:[Xx](?![0-9A-Za-z]))?")
_HEX = frozenset("0123456789abcdefABCDEF")
_DIGEST_RUN = 32
_MAX_PARTS = 5
# The longest match: 18 digits in five groups (22 characters), or +0086 and a mobile in three groups (19).
MAX_MATCH = 32  # and a record number with its label: 住院病历号： A-12345678901234567890 (31)

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# GB/T 2260 province-level codes, plus 71/81/82/83 (Taiwan, Hong Kong, Macao residence permits).
_PROVINCES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41"}
    | {"42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65"}
    | {"71", "81", "82", "83"}
)
_NO_CITY_CODE = frozenset({"71", "81", "82", "83"})
_ID15_GROUPS = frozenset({(15,), (6, 6, 3), (6, 9)})
_MOBILE_GROUPS = frozenset({(11,), (3, 4, 4), (3, 8), (7, 4)})
_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def id_check_ok(number: str) -> bool:
    """GB 11643-1999 check digit (ISO 7064 MOD 11-2) of an 18-character 身份证号."""
    total = sum(int(d) * w for d, w in zip(number[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == number[17].upper()


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _area_ok(digits: str) -> bool:
    province = digits[:2]
    return province in _PROVINCES and (province in _NO_CITY_CODE or digits[2:4] != "00")


def _id18(digits: str, groups: tuple[int, ...]) -> bool:
    return (
        len(digits) == 18
        and digits[:17].isdigit()
        and (digits[17].isdigit() or digits[17] in "Xx")
        and min(groups) >= 2
        and _area_ok(digits)
        and 1900 <= int(digits[6:10]) <= 2099
        and _real_date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
        and id_check_ok(digits)
    )


def _id15(digits: str, groups: tuple[int, ...]) -> bool:
    return (
        groups in _ID15_GROUPS
        and digits.isdigit()
        and _area_ok(digits)
        and _real_date(1900 + int(digits[6:8]), int(digits[8:10]), int(digits[10:12]))
    )


def _mobile_prefix(digits: str, groups: tuple[int, ...]) -> int | None:
    """Length of the 86 / 0086 prefix when `digits` (in `groups`) is a mobile number, else None."""
    if groups in _MOBILE_GROUPS and _MOBILE.fullmatch(digits):
        return 0
    for prefix in ("86", "0086"):
        national = digits[len(prefix) :]
        if not digits.startswith(prefix) or not _MOBILE.fullmatch(national):
            continue
        if groups == (len(digits),) or (groups[0] == len(prefix) and groups[1:] in _MOBILE_GROUPS):
            return len(prefix)
    return None


@dataclass(frozen=True)
class _Part:
    start: int
    end: int
    text: str  # folded


def _groups(folded: str) -> list[list[_Part]]:
    """Parts joined by single separators: the numbers as written."""
    groups: list[list[_Part]] = []
    for m in _PART.finditer(folded):
        part = _Part(m.start(), m.end(), m.group())
        previous = groups[-1][-1] if groups else None
        if (
            previous is not None
            and part.start == previous.end + 1
            and folded[previous.end] in _SEPARATORS
            and previous.text[-1].isdigit()
        ):
            groups[-1].append(part)
        else:
            groups.append([part])
    return groups


def _in_digest(folded: str, part: _Part) -> bool:
    lo, hi = part.start, part.end
    while lo > 0 and folded[lo - 1] in _HEX:
        lo -= 1
    while hi < len(folded) and folded[hi] in _HEX:
        hi += 1
    return hi - lo >= _DIGEST_RUN


def _letter(folded: str, i: int) -> bool:
    return 0 <= i < len(folded) and folded[i].isascii() and folded[i].isalpha()


def _classify(parts: list[_Part]) -> tuple[PiiKind, int, int] | None:
    """(kind, digits kept at the start, digits kept at the end) when `parts` are one number, else None.
    The start count includes a mobile number's country prefix."""
    digits = "".join(p.text for p in parts)
    groups = tuple(len(p.text) for p in parts)
    if _id18(digits, groups):
        return PiiKind.ID_CARD, 4, 4  # province and city; the birth date and county are hidden
    if _id15(digits, groups):
        return PiiKind.ID_CARD, 4, 3
    prefix = _mobile_prefix(digits, groups)
    if prefix is not None:
        return PiiKind.MOBILE, prefix + 3, 4
    return None


def _mask(text: str, start: int, parts: list[_Part], head: int, tail: int) -> str:
    positions = [i for p in parts for i in range(p.start, p.end)]
    hidden = set(positions[head : len(positions) - tail])
    return "".join("*" if start + k in hidden else c for k, c in enumerate(text))


# 病案号 and the like identify a patient as surely as a name: the number that follows one of these labels
# (住院号：2023001234, 病案号 A-0012345) is masked whole; the label stays, so the text still reads.
_RECORD_NO = re.compile(
    r"(?:住院病案号|住院号|病案号|病历号|门诊号|住院病历号)[ \t]*[:：]?[ \t]*(?P<no>[A-Za-z]{0,2}-?[0-9０-９][0-9０-９-]{2,19})"
)


def _record_numbers(text: str) -> list[PiiMatch]:
    found = []
    for m in _RECORD_NO.finditer(text):
        start, end = m.start("no"), m.end("no")
        written = text[start:end]
        masked = "".join("*" if c.isalnum() else c for c in written)
        found.append(PiiMatch(PiiKind.RECORD_NO, start, end, written, masked))
    return found


def find_pii(text: str) -> list[PiiMatch]:
    """Every 身份证号, mobile number and patient record number (病案号 …) in `text`, in order of position,
    none overlapping."""
    found = _numbers(text)
    taken = [(m.start, m.end) for m in found]
    for m in _record_numbers(text):
        if not any(s < m.end and m.start < e for s, e in taken):
            found.append(m)
    return sorted(found, key=lambda m: m.start)


# Every number looked for has at least 11 digits in one run (a separator at most between two digits): text
# without such a run (most passages: dates, counts) holds none, found by one regular expression.
_LONG_RUN = re.compile("[0-9\uff10-\uff19](?:[ \\-\u3000\u00a0\u2010-\u2013\uff0d]?[0-9\uff10-\uff19]){10,}")


def _numbers(text: str) -> list[PiiMatch]:
    """Every 身份证号 and mobile number in `text`, in order of position, none overlapping."""
    if not _LONG_RUN.search(text):
        return []
    folded = text.translate(_FOLD)
    found: list[PiiMatch] = []
    for group in _groups(folded):
        i = 0
        while i < len(group):
            for j in range(min(len(group), i + _MAX_PARTS), i, -1):  # the longest number starting here
                parts = group[i:j]
                kind = _classify(parts)
                start, end = parts[0].start, parts[-1].end
                if kind is None or any(_in_digest(folded, p) for p in parts):
                    continue
                if len(parts) > 1 and (_letter(folded, start - 1) or _letter(folded, end)):
                    continue  # groups glued to letters: a digest printed in groups (3f2a1391 2345abcd …)
                if kind[0] is PiiKind.MOBILE and start > 0 and folded[start - 1] == "+":
                    start -= 1
                written = text[start:end]
                masked = _mask(written, start, parts, kind[1], kind[2])
                found.append(PiiMatch(kind[0], start, end, written, masked))
                i = j
                break
            else:
                i += 1
    return found


def mask_pii(text: str) -> str:
    """`text` with every match replaced by its masked form (same length): the one masking function for
    every human-readable output."""
    matches = find_pii(text)
    if not matches:
        return text
    out: list[str] = []
    last = 0
    for m in matches:
        out.append(text[last : m.start])
        out.append(m.masked)
        last = m.end
    out.append(text[last:])
    return "".join(out)


def has_pii(*texts: str | None) -> bool:
    """Whether any of `texts` (a record's text, its title, its path) holds personal data."""
    return any(text and find_pii(text) for text in texts)
