"""Invisible characters that must not reach a title, a file name or a one-line field of a document.

It imports only ``errors``, so settings, the archive and the generator all share it.

A title becomes a file name, a catalogue row, a line in a terminal and a link in a browser, so what it
may contain is decided once, here:

- C0 and C1 control characters (U+0000–U+001F, U+007F–U+009F). ESC starts an ANSI escape sequence
  that recolours, moves or erases what a terminal shows; NUL ends a name in C and in Windows' API.
- Bidirectional embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069): with
  U+202E (right-to-left override) ``通知\u202excod.exe`` *displays* as ``通知exe.docx``.

Text is refused with a Chinese problem naming the character rather than silently cleaned, because the
user typed or pasted something that is not what they see. ``strip_unsafe`` is for the one place that
must not fail: making a file name.
"""

from __future__ import annotations

import re
import unicodedata

from zhikong.errors import Problem

# The longest title accepted anywhere: what a .docx's title property holds, from which the catalogue
# reads a document's title. A 公文 title is one to three lines of about 20 characters.
MAX_TITLE_CHARS = 255

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_UNSAFE = re.compile(f"{_ANSI.pattern}|{_CONTROL.pattern}|{_BIDI.pattern}")
# A multi-line text (a notice's body) goes into the document only, never into a name or a terminal:
# there only what changes how the text reads is refused (bidi controls, escape sequences); other
# control characters (Word's \v and \f, stray \x01) are dropped by the document writer.
_MULTILINE_REFUSED = re.compile(f"{_BIDI.pattern}|\x1b")

_NAMES = {
    "\x00": "空字符 NUL",
    "\t": "制表符",
    "\n": "换行",
    "\r": "回车",
    "\x1b": "ESC",
    "\x7f": "DEL",
    "\u202a": "从左向右嵌入",
    "\u202b": "从右向左嵌入",
    "\u202c": "方向嵌入结束",
    "\u202d": "从左向右覆盖",
    "\u202e": "从右向左覆盖",
    "\u2066": "从左向右隔离",
    "\u2067": "从右向左隔离",
    "\u2068": "方向隔离",
    "\u2069": "方向隔离结束",
}


def unsafe_characters(text: str, *, multiline: bool = False) -> list[str]:
    """A Chinese description of every kind of unsafe character in ``text`` (empty when clean)."""
    found: list[str] = []
    for match in _UNSAFE.finditer(text):
        piece = match.group(0)
        if multiline and not _MULTILINE_REFUSED.match(piece):
            continue
        char = piece[0]
        code = f"U+{ord(char):04X}"
        if len(piece) > 1:
            described = f"终端转义序列（ESC {piece[1:]!r}）"
        elif _BIDI.match(char):
            described = f"文字方向控制字符 {code}（{_NAMES[char]}，会让文字显示成另一个顺序）"
        else:
            name = _NAMES.get(char) or unicodedata.name(char, "控制字符")
            described = f"控制字符 {code}（{name}）"
        if described not in found:
            found.append(described)
    return found


def check_text(label: str, text: str, code: str, *, multiline: bool = False) -> list[Problem]:
    """One problem naming every unsafe character in the field ``label`` (none when it is clean)."""
    found = unsafe_characters(text, multiline=multiline)
    if not found:
        return []
    shown = strip_unsafe(text)
    shown = shown if len(shown) <= 40 else shown[:40] + "…"
    return [
        Problem(
            code,
            f"{label}“{shown}”含有看不见的字符：{'、'.join(found)}；请删去后重新输入"
            "（多半是从网页或聊天软件复制时带入的）",
        )
    ]


def strip_unsafe(text: str) -> str:
    """``text`` without ANSI escape sequences, control characters and bidi controls."""
    return _UNSAFE.sub("", text)
