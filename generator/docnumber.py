"""发文字号 (document numbers) in the form GB/T 9704-2012 §7.2.4 prescribes: ``代字〔YYYY〕N号``.

The year goes in 六角括号 〔〕 (U+3014/U+3015), it has four digits, the serial number has no leading
zeros and no 第. Wrong brackets, two-digit years and zero-padded numbers are the usual mistakes and
are rejected with a message that shows the correct form.
"""

from __future__ import annotations

import re

from zhikong.errors import Problem
from zhikong.textcheck import check_text

OPEN, CLOSE = "〔", "〕"
WRONG_BRACKETS = {"[": "]", "【": "】", "（": "）", "(": ")", "［": "］", "〖": "〗", "{": "}", "<": ">"}

_NUMBER = re.compile(r"^(?P<prefix>[^\s\d〔〕]+)〔(?P<year>\d{4})〕(?P<number>[1-9]\d*)号$")
_YEAR_IN_ANY_BRACKETS = re.compile(r"[\[【（(［〖〔{<](?P<year>\d+)[\]】）)］〗〕}>]")


def format_doc_number(prefix: str, year: int, number: int | None) -> str:
    """``金卫健字〔2026〕3号``; ``number=None`` leaves the number blank for the bureau to assign."""
    serial = "  " if number is None else str(number)
    return f"{prefix}{OPEN}{year}{CLOSE}{serial}号"


# A bureau issues a few hundred numbered documents a year; five digits leave room without letting
# 10^20 or a typo's extra zeros through.
MAX_SERIAL = 99_999


def check_serial(value: object, key: str = "number") -> list[Problem]:
    """The serial number of a 发文字号 as it arrives in a data file: a whole number 1–99999.

    ``true`` is refused although Python counts it as an int (it would print as 〔2026〕True号), and
    so are "3" (a string: the type says the file was written by hand wrongly) and 3.0.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        return [
            Problem(
                "docnumber.serial_type",
                f"“{key}”应为整数序号（如 3），不能是 {type(value).__name__} 值 {value!r}；不编号时删去这一项",
            )
        ]
    if not 1 <= value <= MAX_SERIAL:
        return [Problem("docnumber.serial_range", f"“{key}”应在 1 到 {MAX_SERIAL} 之间：{value}")]
    return []


def check_prefix(prefix: str) -> list[Problem]:
    """A 发文机关代字 such as 金卫健字: Chinese characters only, no year, brackets or 号."""
    problems: list[Problem] = []
    if not prefix.strip():
        return [Problem("docnumber.prefix_empty", "发文机关代字为空，例如“金卫健字”")]
    unsafe = check_text("发文机关代字", prefix, "docnumber.prefix_characters")
    if unsafe:
        return unsafe
    if prefix != prefix.strip() or re.search(r"\s", prefix):
        problems.append(Problem("docnumber.prefix_space", f"发文机关代字“{prefix}”含有空格"))
    if re.search(r"\d", prefix):
        problems.append(
            Problem("docnumber.prefix_digits", f"发文机关代字“{prefix}”含有数字：年份和序号不属于代字")
        )
    if any(ch in prefix for ch in "〔〕" + "".join(WRONG_BRACKETS) + "".join(WRONG_BRACKETS.values())):
        problems.append(Problem("docnumber.prefix_brackets", f"发文机关代字“{prefix}”含有括号"))
    if prefix.endswith("号") or "第" in prefix:
        problems.append(Problem("docnumber.prefix_hao", f"发文机关代字“{prefix}”不应含“第”或以“号”结尾"))
    return problems


_UNNUMBERED = re.compile(r"^(?P<prefix>[^\s\d〔〕]+)〔(?P<year>\d{4})〕\s+号$")


def is_unnumbered(text: str) -> bool:
    """``金护质控函〔2026〕  号``: a 送审稿's 发文字号 line, the serial left blank for approval."""
    match = _UNNUMBERED.match(text)
    return match is not None and not check_prefix(match["prefix"])


def check_doc_number(text: str) -> list[Problem]:
    """Every way ``text`` deviates from ``代字〔YYYY〕N号`` (empty list when it is correct)."""
    unsafe = check_text("发文字号", text, "docnumber.characters")
    if unsafe:
        return unsafe
    if _NUMBER.match(text):
        return []
    problems: list[Problem] = []
    example = "例如“金卫健字〔2026〕3号”"
    for wrong_open, wrong_close in WRONG_BRACKETS.items():
        if wrong_open in text or wrong_close in text:
            problems.append(
                Problem(
                    "docnumber.brackets",
                    f"发文字号“{text}”的年份用了“{wrong_open}{wrong_close}”，应使用六角括号“〔〕”，{example}",
                )
            )
            break
    match = _YEAR_IN_ANY_BRACKETS.search(text)
    if match and len(match.group("year")) != 4:
        problems.append(
            Problem("docnumber.year", f"发文字号“{text}”的年份应写全四位，如“〔2026〕”，不能简写为两位")
        )
    if "第" in text:
        problems.append(Problem("docnumber.di", f"发文字号“{text}”中不加“第”字，{example}"))
    after_year = text[match.end() :] if match else ""
    serial = re.match(r"\s*第?\s*(\d+)", after_year)
    if serial and serial.group(1).startswith("0"):
        problems.append(
            Problem("docnumber.leading_zero", f"发文字号“{text}”的序号不编虚位（不写成“001”），{example}")
        )
    if not text.endswith("号"):
        problems.append(Problem("docnumber.hao", f"发文字号“{text}”应以“号”结尾，{example}"))
    if not match:
        problems.append(
            Problem("docnumber.no_year", f"发文字号“{text}”缺少用“〔〕”括起的四位年份，{example}")
        )
    else:
        problems += check_prefix(text[: match.start()])
    if not problems:
        problems.append(Problem("docnumber.form", f"发文字号“{text}”格式不正确，{example}"))
    return problems
