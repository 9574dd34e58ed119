"""The command line in Chinese: click's own messages, its help layout, and dates as people write them.

click takes every sentence it shows through gettext: each of its modules does
``from gettext import gettext as _`` (and ``from gettext import ngettext``) and calls ``_("Usage:")`` when
the text is needed. The stdlib's ``gettext.gettext`` looks the message up in the process-wide default
domain, in the languages named by LANGUAGE, LC_ALL, LC_MESSAGES or LANG — so ``gettext.textdomain()``
would make the language depend on how a hospital computer's locale is set (Windows sets none of these),
and would also hand our catalogue to every other user of the default domain (argparse, optparse).
Instead, `activate` loads our catalogue for one fixed language, ``gettext.translation("click",
templates/locale, languages=["zh_CN"])``, and rebinds the module-level names ``_`` and ``ngettext`` in
click's own modules to that translation's methods. click's source is untouched; its functions look the
names up in their module when they run, so every later message is Chinese, whatever the environment.
A message the catalogue lacks (a newer click) falls back to click's English text.

The catalogue is ``templates/locale/zh_CN/LC_MESSAGES/click.po``; ``python -m zhikong.clitext`` compiles
it to ``click.mo`` (GNU format, read by the stdlib's ``gettext.GNUTranslations``) and both are shipped.
"""

from __future__ import annotations

import ast
import copy
import gettext
import importlib
import re
import struct
import sys
import unicodedata
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from types import ModuleType

import click

DOMAIN = "click"
LANGUAGE = "zh_CN"
LOCALEDIR = Path(__file__).resolve().parent / "templates" / "locale"
PO_FILE = LOCALEDIR / LANGUAGE / "LC_MESSAGES" / f"{DOMAIN}.po"
MO_FILE = PO_FILE.with_suffix(".mo")

# click's modules that import gettext's functions (checked by tests/test_cli_chinese.py against the
# installed click). _winconsole is imported by click on Windows only.
CLICK_MODULES = (
    "click.core",
    "click.decorators",
    "click.exceptions",
    "click.formatting",
    "click.parser",
    "click.shell_completion",
    "click.termui",
    "click.types",
    "click.utils",
    "click._termui_impl",
    "click._winconsole",
)

_translation: gettext.NullTranslations | None = None


def translation() -> gettext.NullTranslations:
    """The Chinese catalogue for click's messages (English, if the installed package lacks the file)."""
    global _translation
    if _translation is None:
        _translation = gettext.translation(DOMAIN, LOCALEDIR, languages=[LANGUAGE], fallback=True)
    return _translation


def _ours(func: object) -> bool:
    return getattr(func, "__self__", None) is _translation and _translation is not None


def activate() -> None:
    """Route click's ``_`` and ``ngettext`` to the Chinese catalogue. Idempotent, cheap after the first call.

    Only names still bound to the stdlib's functions (or already to ours) are replaced: a program that
    installed its own translation of click keeps it."""
    trans = translation()
    for name in CLICK_MODULES:
        if name == "click._winconsole" and sys.platform != "win32":
            continue
        try:
            module = sys.modules.get(name) or importlib.import_module(name)
        except ImportError:
            continue
        _rebind(module, "_", gettext.gettext, trans.gettext)
        _rebind(module, "ngettext", gettext.ngettext, trans.ngettext)


def _rebind(module: ModuleType, attr: str, stdlib: Callable[..., str], ours: Callable[..., str]) -> None:
    current = getattr(module, attr, None)
    if current is stdlib or _ours(current):
        setattr(module, attr, ours)


# -- help layout --------------------------------------------------------------------------------------

# click names a value in the help by its type's name in capitals (--year INTEGER): a copy of the type
# with a Chinese name gives `--year 整数`, and "'去年' 不是有效的整数" in the error. Path types are named
# through gettext when made (文件, 文件夹, 路径); a Choice lists its values.
_TYPE_NAMES = {
    "text": "文本",
    "integer": "整数",
    "integer range": "整数",
    "float": "数字",
    "float range": "数字",
    "boolean": "是或否",
}


def width(text: str) -> int:
    """Columns a text takes in a terminal: a Chinese character (or full-width sign) takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


# A piece that is never split: click's short bracket ([必填], [默认：10]), a run of ASCII (a word, an
# option, a path), a run of spaces, one character.
_PIECE = re.compile(r"\[[^\[\]\n]{1,24}\]|[!-~]+|\s+|.", re.DOTALL)
_NO_LINE_START = set("，。、；：？！）》」』】”’…,.;:?!)]")


def wrap(text: str, columns: int) -> list[str]:
    """Lines of at most `columns` terminal columns (an ASCII run longer than that stands alone): Chinese
    breaks between any two characters, ASCII between words, and no line starts with a closing sign."""
    lines: list[list[str]] = [[]]
    used = 0
    for piece in _PIECE.findall(text):
        if piece.isspace():
            if lines[-1]:
                lines[-1].append(re.sub(r"\s", " ", piece))
                used += len(piece)
            continue
        if used + width(piece) > columns and lines[-1]:
            carried: list[str] = []
            if piece[0] in _NO_LINE_START and len(lines[-1]) > 1:
                carried = [lines[-1].pop()]  # the sign keeps the character before it company
            while lines[-1] and lines[-1][-1].isspace():
                lines[-1].pop()
            lines.append(carried)
            used = sum(width(p) for p in carried)
        lines[-1].append(piece)
        used += width(piece)
    return ["".join(line).rstrip() for line in lines if line]


def _paragraphs(text: str) -> list[tuple[bool, str]]:
    """click's paragraphs (blank-line separated; one starting with a \\b line is kept as written),
    each other paragraph's lines joined — with a space only between two ASCII characters."""
    found: list[tuple[bool, str]] = []
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        lines = [line.strip() for line in block.splitlines()]
        if lines and lines[0] == "\b":
            found.append((True, "\n".join(block.splitlines()[1:])))
            continue
        joined = ""
        for line in lines:
            if joined and line and joined[-1].isascii() and line[0].isascii():
                joined += " "
            joined += line
        found.append((False, joined))
    return found


class ChineseHelpFormatter(click.HelpFormatter):
    """click's help layout measured in terminal columns, so Chinese lines up and wraps at the terminal's
    width (click counts characters: a Chinese character takes two columns); headings end with a
    full-width colon: `选项：`, `命令：`."""

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{heading}：\n")

    def write_text(self, text: str) -> None:
        indent = " " * self.current_indent
        paragraphs = []
        for kept, paragraph in _paragraphs(text):
            lines = (
                paragraph.splitlines() if kept else wrap(paragraph, max(self.width - self.current_indent, 11))
            )
            paragraphs.append("\n".join(indent + line for line in lines))
        self.write("\n\n".join(paragraphs) + "\n")

    def write_dl(self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        rows = list(rows)
        first_col = min(max((width(first) for first, _second in rows), default=0), col_max) + col_spacing
        for first, second in rows:
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if width(first) <= first_col - col_spacing:
                self.write(" " * (first_col - width(first)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            lines = wrap(second, max(self.width - first_col - self.current_indent, 11))
            self.write(f"{lines[0] if lines else ''}\n")
            for line in lines[1:]:
                self.write(f"{'':>{first_col + self.current_indent}}{line}\n")


class ChineseContext(click.Context):
    formatter_class = ChineseHelpFormatter


def walk(
    command: click.Command, path: tuple[str, ...] = ()
) -> Iterable[tuple[tuple[str, ...], click.Command]]:
    """Every command of the tree with the words that call it, the root first."""
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from walk(sub, (*path, name))


def localize(root: click.Command, arguments: dict[str, str]) -> None:
    """Chinese words in the help layout of every command under `root`: `[选项]`, `命令 [参数]...`, the
    value names of options (`--year 整数`) and the names of arguments (`arguments`: parameter name →
    Chinese name, e.g. {"draft_id": "送审稿编号"}; an argument missing there keeps its English name)."""
    for _path, command in walk(root):
        command.context_class = ChineseContext
        if command.options_metavar == "[OPTIONS]":
            command.options_metavar = "[选项]"
        if isinstance(command, click.Group):
            optional = command.invoke_without_command or not command.no_args_is_help
            command.subcommand_metavar = "[命令] [参数]..." if optional else "命令 [参数]..."
        for param in command.params:
            if not isinstance(param.type, click.Choice) and param.type.name in _TYPE_NAMES:
                param.type = copy.copy(param.type)
                param.type.name = _TYPE_NAMES[param.type.name]
            if isinstance(param, click.Argument) and param.metavar is None and param.name in arguments:
                metavar = arguments[param.name]
                if not param.required:
                    metavar = f"[{metavar}]"
                if param.nargs != 1:
                    metavar += "..."
                param.metavar = metavar


# -- dates --------------------------------------------------------------------------------------------

DAY_FORMS = "2026-03-05、2026-3-5、2026/3/5、2026.3.5、2026年3月5日（或 5号）"

# After NFKC (full-width digits and －／． become ASCII): one separator used twice, or 年 and 月.
_DAY = re.compile(
    r"(?P<y>\d{4})\s*(?:(?P<sep>[-/.])\s*(?P<m1>\d{1,2})\s*(?P=sep)\s*(?P<d1>\d{1,2})"
    r"|年\s*(?P<m2>\d{1,2})\s*月\s*(?P<d2>\d{1,2})\s*[日号]?)"
)


def parse_day(text: str) -> date:
    """A day as people write it: 2026-03-05, 2026-3-5, 2026/3/5, 2026.3.5, 2026年3月5日, 2026年3月5号,
    in full-width digits too. ValueError (a Chinese message) for anything else or a day that does not
    exist (2026-02-30)."""
    normal = unicodedata.normalize("NFKC", text).strip()
    m = _DAY.fullmatch(normal)
    if not m:
        raise ValueError(f"看不懂的日期“{text}”。日期可以写成 {DAY_FORMS}")
    year, month, day = int(m["y"]), int(m["m1"] or m["m2"]), int(m["d1"] or m["d2"])
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(
            f"没有这一天：“{text}”（{year} 年 {month} 月没有 {day} 日）。日期可以写成 {DAY_FORMS}"
        ) from None


def parse_activity(text: str) -> str:
    """An activity as people write it — a day in any of the forms `parse_day` reads, then its name, with
    or without a space (2026/3/5 院感督导, 2026年3月5日院感督导) — in the form folders use:
    "2026-03-05 院感督导". ValueError (a Chinese message) when the day or the name is missing."""
    normal = unicodedata.normalize("NFKC", text).strip()
    m = _DAY.match(normal)
    name = normal[m.end() :].strip(" 　_-—·") if m else ""
    if not m or not name:
        raise ValueError(
            f"看不懂的活动“{text}”。活动写成“日期 名称”，如“2026-03-05 院感督导”；日期可以写成 {DAY_FORMS}"
        )
    return f"{parse_day(m.group(0)).isoformat()} {name}"


# -- the catalogue: .po to .mo ------------------------------------------------------------------------

Entry = tuple[str, str | None, list[str]]  # msgid, msgid_plural, msgstr forms


def read_po(text: str) -> list[Entry]:
    """The entries of a .po file (msgid, msgid_plural, msgstr / msgstr[n], continued strings, comments)."""
    entries: list[Entry] = []
    fields: dict[str, str] = {}
    last: str | None = None

    def flush() -> None:
        if "msgid" in fields:
            forms = [
                fields[k] for k in sorted((k for k in fields if k.startswith("msgstr")), key=_form_index)
            ]
            entries.append((fields["msgid"], fields.get("msgid_plural"), forms))
        fields.clear()

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            if last is None:
                raise ValueError(f"{number} 行：字符串前没有 msgid 或 msgstr")
            fields[last] += _po_string(line, number)
            continue
        if keyword == "msgid" and any(k.startswith("msgstr") for k in fields):
            flush()
        if keyword not in ("msgid", "msgid_plural", "msgstr") and not re.fullmatch(r"msgstr\[\d+\]", keyword):
            raise ValueError(f"{number} 行：不认识的关键字 {keyword}")
        fields[keyword] = _po_string(rest.strip(), number)
        last = keyword
    flush()
    return entries


def _form_index(key: str) -> int:
    m = re.fullmatch(r"msgstr\[(\d+)\]", key)
    return int(m[1]) if m else 0


def _po_string(quoted: str, number: int) -> str:
    if not (len(quoted) >= 2 and quoted[0] == quoted[-1] == '"'):
        raise ValueError(f"{number} 行：应为带引号的字符串")
    value = ast.literal_eval(quoted)  # the escapes a .po uses (\n \t \" \\) are Python's
    if not isinstance(value, str):
        raise ValueError(f"{number} 行：应为字符串")
    return value


def compile_mo(entries: Iterable[Entry]) -> bytes:
    """The GNU .mo file of `entries` (little-endian, no hash table — the layout gettext.py reads):
    magic, revision 0, count, offsets of the original and translated string tables, then the strings,
    sorted by original, each NUL-terminated; a plural entry is "singular\\0plural" → forms joined by NUL.
    Untranslated entries (empty msgstr) are left out, so click keeps its English text for them."""
    pairs: dict[bytes, bytes] = {}
    for msgid, plural, forms in entries:
        if not any(forms):
            continue
        original = msgid if plural is None else f"{msgid}\0{plural}"
        pairs[original.encode("utf-8")] = "\0".join(forms).encode("utf-8")
    keys = sorted(pairs)
    count = len(keys)
    header = 7 * 4
    originals_at = header
    translations_at = originals_at + 8 * count
    data_at = translations_at + 8 * count
    originals, translations, data = [], [], b""
    for key in keys:
        originals.append((len(key), data_at + len(data)))
        data += key + b"\0"
    for key in keys:
        value = pairs[key]
        translations.append((len(value), data_at + len(data)))
        data += value + b"\0"
    out = struct.pack("<7I", 0x950412DE, 0, count, originals_at, translations_at, 0, data_at)
    out += b"".join(struct.pack("<2I", n, at) for n, at in originals)
    out += b"".join(struct.pack("<2I", n, at) for n, at in translations)
    return out + data


def build() -> bytes:
    """Compile the shipped .po; `python -m zhikong.clitext` writes the result next to it."""
    return compile_mo(read_po(PO_FILE.read_text(encoding="utf-8")))


def _main(argv: list[str]) -> int:
    mo = build()
    if argv[1:] == ["--check"]:
        return 0 if MO_FILE.exists() and MO_FILE.read_bytes() == mo else 1
    MO_FILE.write_bytes(mo)
    print(f"{MO_FILE}（{len(mo)} 字节）")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv))
