"""Rules every document type shares, whatever template it comes from (GB/T 9704-2012, DOMAIN §6).

- 成文日期 in Arabic numerals, the year in full, month and day without leading zeros: ``2026年3月5日``
  (§7.3.5). ``二〇二六年三月五日`` and ``2026年05月12日`` are the usual mistakes; they are refused with
  the corrected text, and so is any such date elsewhere in a document's text.
- Red-headed documents (a 版头 in red) are issued only through approval (J15(1), H29, H30(5)): outside it
  they exist only as a 送审稿 without a number, so a number in the data is refused with the way to get one.

``generator.render`` applies them to every template, ``generator.notice`` to 通知 and 请示.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from zhikong.errors import Problem

DRAFT_MARK = "送审稿"
RIGHT_FORM = "用阿拉伯数字，年份写全四位，月、日不编虚位（GB/T 9704 第 7.3.5 条）"

_ZH_DIGITS = {
    "〇": 0,
    "○": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_ZH_NUMBER = "一二三四五六七八九十"
_ZH_DATE = re.compile(
    rf"(?P<y>[〇○零一二三四五六七八九]{{4}})年(?P<m>[{_ZH_NUMBER}]{{1,2}})月(?:(?P<d>[{_ZH_NUMBER}]{{1,3}})日)?"
)
# A date in digits (ASCII or full-width), its parts kept as written so leading zeros can be seen.
_DIGIT_DATE = re.compile(r"(?P<y>[0-9０-９]{2,4})年(?P<m>[0-9０-９]{1,2})月(?:(?P<d>[0-9０-９]{1,2})日)?")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WRITTEN = re.compile(r"^(?P<y>\d{4})年(?P<m>[1-9]\d?)月(?P<d>[1-9]\d?)日$")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


def format_date(day: datetime.date) -> str:
    """成文日期 as GB/T 9704 writes it: 2026年3月5日."""
    return f"{day.year}年{day.month}月{day.day}日"


def _zh_number(text: str) -> int:
    """一 … 三十一 as an int (the month or day of a date written in Chinese numerals)."""
    if "十" not in text:
        return _ZH_DIGITS.get(text, 0)
    tens, _, ones = text.partition("十")
    return (_ZH_DIGITS.get(tens, 0) if tens else 1) * 10 + (_ZH_DIGITS.get(ones, 0) if ones else 0)


def _corrected(match: re.Match[str], chinese: bool) -> str:
    if chinese:
        year = "".join(str(_ZH_DIGITS[ch]) for ch in match["y"])
        month, day = _zh_number(match["m"]), _zh_number(match["d"]) if match["d"] else None
    else:
        year = match["y"].translate(_FULL_WIDTH)
        month = int(match["m"].translate(_FULL_WIDTH))
        day = int(match["d"].translate(_FULL_WIDTH)) if match["d"] else None
    return f"{year}年{month}月" + (f"{day}日" if day is not None else "")


def wrong_dates(text: str) -> list[tuple[str, str]]:
    """Every date in ``text`` not written the standard way, with how it should read: (as written, right)."""
    found = [(m[0], _corrected(m, True)) for m in _ZH_DATE.finditer(text)]
    for m in _DIGIT_DATE.finditer(text):
        parts = [m["y"], m["m"], m["d"] or ""]
        if (
            len(m["y"]) != 4
            or any(p.startswith(("0", "０")) for p in parts[1:])
            or m[0] != m[0].translate(_FULL_WIDTH)
        ):
            right = _corrected(m, False)
            if len(m["y"]) != 4:
                right = "20" + right if len(m["y"]) == 2 else right
            found.append((m[0], right))
    return found


def check_date_forms(label: str, text: str, code: str = "document.date_form") -> list[Problem]:
    """One problem for each date in a text field written with Chinese numerals, zeros or a short year."""
    return [
        Problem(code, f"{label}中的日期“{written}”应写成“{right}”：{RIGHT_FORM}")
        for written, right in wrong_dates(text)
    ]


def parse_written_date(value: object, key: str) -> tuple[datetime.date | None, list[Problem]]:
    """A 成文日期 from a data file: ``2026年3月5日`` (as printed) or ``2026-03-05`` (ISO, as machines write).

    Anything else — Chinese numerals, leading zeros, a two-digit year, a date that does not exist — is
    refused with the form it should take.
    """
    text = value.isoformat() if isinstance(value, datetime.date) else value
    if not isinstance(text, str):
        return None, [
            Problem("document.date_type", f"“{key}”（日期）应为文字，例如“2026年3月5日”：{value!r}")
        ]
    text = text.strip()
    match = _WRITTEN.match(text)
    try:
        if match:
            return datetime.date(int(match["y"]), int(match["m"]), int(match["d"])), []
        if _ISO.match(text):
            return datetime.date.fromisoformat(text), []
    except ValueError:
        return None, [Problem("document.date_invalid", f"“{key}”不是存在的日期：{text}")]
    wrong = wrong_dates(text)
    right = wrong[0][1] if wrong else "2026年3月5日"
    return None, [
        Problem(
            "document.date_form",
            f"“{key}”（成文日期）“{text}”应写成“{right}”：{RIGHT_FORM}；也可写成 YYYY-MM-DD，例如 2026-03-05",
        )
    ]


def text_fields(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Every string in template data with the key path that names it (``problems[2].basis``)."""
    found: list[tuple[str, str]] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, str):
            found.append((path, value))
        elif isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value, 1):
                walk(item, f"{path}[{index}]")

    walk(data, prefix)
    return found


def number_refused(what: str) -> Problem:
    """A number given to ``zhikong render`` for a red-headed document: the approval path instead."""
    return Problem(
        "render.numbered",
        f"数据文件给了{what}：红头公文只能生成不编号的“{DRAFT_MARK}”，发文字号在批准时才分配"
        "（J15(1)：未经县卫生健康局批准不得以中心名义印发红头文件）。"
        "请删去这一项；编号请走审批：zhikong draft notice / request / letter / minutes 起草送审，"
        "医政科用 zhikong draft approve 批准后自动编号并归档",
    )


REQUEST_CLOSING = "妥否，请批示。"
_REQUEST_ENDINGS = ("请批示。", "请批复。")


def ends_as_request(body: str) -> bool:
    """Does a 请示's body end as a 请示 does (妥否，请批示。 or …请批复。)?"""
    lines = [line.strip() for line in body.splitlines() if line.strip()]
    return bool(lines) and lines[-1].endswith(_REQUEST_ENDINGS)


def with_request_closing(body: str) -> str:
    """A 请示's body with 妥否，请批示。 as its last paragraph when it does not end as a 请示 yet."""
    if ends_as_request(body) or not body.strip():
        return body
    return body.rstrip() + "\n" + REQUEST_CLOSING
