"""Plain text and CSV in the encodings Chinese offices actually have.

UTF-8 (with or without BOM), UTF-16/32 with a BOM, UTF-16 without one (what some Windows tools
export), GB18030/GBK (Notepad's default on mainland Windows), Big5 (Taiwan, Hong Kong) and EUC-TW.
Every legacy encoding decodes almost any byte string without an error, so a successful decode proves
nothing: Big5 read as GB18030 gives valid but wrong characters. Each candidate reading is therefore
assessed (`zhikong.indexer.garble`) and the best one kept; when none is clean the text is stored as
"garbled" with a reason.
"""

from __future__ import annotations

import codecs
import shutil
import subprocess
from pathlib import Path

from charset_normalizer import from_bytes

from zhikong.indexer.extractors.base import Extraction, Limits, TextSink, unreadable
from zhikong.indexer.garble import Assessment, assess

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: its BOM starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Tried in this order; on equal quality the earlier wins (GB18030 is by far the most common).
# cp1252 last: Western European text (a foreign partner's CSV) decodes as nothing else cleanly.
_LEGACY = ("gb18030", "big5hkscs", "euc-tw", "utf-16-le", "utf-16-be", "cp1252")
_WIDE = ("utf-16-le", "utf-16-be")  # the only candidates for text with NUL bytes


def _decode_strict(data: bytes, encoding: str) -> str | None:
    if encoding == "euc-tw":
        return _iconv(data, "EUC-TW")
    if encoding in _WIDE and len(data) % 2:
        data = data[:-1]
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _iconv(data: bytes, encoding: str) -> str | None:
    """EUC-TW has no Python codec; the C library's iconv has one (Linux, macOS). None when unavailable."""
    program = shutil.which("iconv")
    if program is None:
        return None
    try:
        done = subprocess.run(
            [program, "-f", encoding, "-t", "UTF-8"], input=data, capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.decode("utf-8") if done.returncode == 0 else None


def decode(data: bytes) -> tuple[str, str, Assessment] | None:
    """(text, encoding, assessment) of `data`, or None for bytes that are not text at all."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = data.decode(encoding, errors="replace")
            return text, encoding, assess(text)
    binary = b"\x00" in data[:4096]
    if not binary:
        utf8 = _decode_strict(data, "utf-8")
        if utf8 is not None:
            check = assess(utf8)
            if not check.garbled:
                return utf8, "utf-8", check
    readings = []
    for encoding in _WIDE if binary else _LEGACY:
        reading = _decode_strict(data, encoding)
        if reading is not None:
            readings.append((reading, encoding, assess(reading)))
    clean = [r for r in readings if not r[2].garbled]
    if clean:
        return max(clean, key=lambda r: r[2].quality)  # max keeps the first of equals
    if binary:
        return None
    if readings:
        return max(readings, key=lambda r: r[2].quality)
    best = from_bytes(data).best()
    if best is None:
        return None
    guess = str(best)
    return guess, best.encoding, assess(guess)


class TextExtractor:
    kinds: tuple[str, ...] = ("text",)

    def extract(self, path: Path, limits: Limits) -> Extraction:
        try:
            with path.open("rb") as fh:
                data = fh.read(limits.max_chars * 4 + 4)
                rest = fh.seek(0, 2) - len(data)
        except OSError as exc:
            return unreadable(f"无法读取文件（{exc.strerror or '系统错误'}），请检查文件权限后重试")
        if rest > 0:
            # Cut at a line end so a multi-byte character is never split.
            cut = data.rfind(b"\n")
            data = data[: cut + 1] if cut > 0 else data
        decoded = decode(data)
        if decoded is None:
            return unreadable(
                "文件不是可识别编码的文本（可能是改了扩展名的其他格式），请用原软件打开后另存再放入"
            )
        sink = TextSink(limits)
        sink.add(decoded[0])
        extra = f"文件其余约 {rest:,} 字节未读取" if rest > 0 else ""
        # A reading that is still garbled is marked so by extract_text, which assesses every format.
        return sink.result(unread_parts=extra)
