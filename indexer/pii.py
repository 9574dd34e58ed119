"""Personal data in record text: 18-digit 身份证号 (GB 11643 check digit) and mainland mobile numbers.

J15(3)/H27–H28 forbid leaking patient data, so search snippets show these masked. Masking keeps the
text's length, so offsets found in the original stay valid in the masked copy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class PiiKind(StrEnum):
    ID_CARD = "id_card"
    MOBILE = "mobile"


@dataclass(frozen=True)
class PiiMatch:
    kind: PiiKind
    start: int
    end: int
    text: str

    @property
    def masked(self) -> str:
        if self.kind is PiiKind.ID_CARD:
            return self.text[:6] + "*" * 8 + self.text[-4:]
        return self.text[:3] + "****" + self.text[-4:]


# Not inside a longer run of digits: an order number or a 病案号 that happens to contain 11 digits is not
# a phone number.
_ID_CARD = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9Xx])")
_MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_check_ok(number: str) -> bool:
    """GB 11643-1999 check digit (ISO 7064 MOD 11-2) of an 18-character 身份证号."""
    total = sum(int(d) * w for d, w in zip(number[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == number[17].upper()


def find_pii(text: str) -> list[PiiMatch]:
    """Every ID-card and mobile number in `text`, in order of position."""
    found = [
        PiiMatch(PiiKind.ID_CARD, m.start(), m.end(), m.group())
        for m in _ID_CARD.finditer(text)
        if id_check_ok(m.group())
    ]
    found += [PiiMatch(PiiKind.MOBILE, m.start(), m.end(), m.group()) for m in _MOBILE.finditer(text)]
    return sorted(found, key=lambda m: m.start)


def mask_pii(text: str) -> str:
    """`text` with every match replaced by its masked form (same length)."""
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


def has_pii(text: str) -> bool:
    return bool(find_pii(text))
