"""The one contract every extractor follows, and the small helpers they share.

An extractor turns one file into an `Extraction`. It never raises for bad file content: a corrupt,
encrypted or oversized file is a normal outcome for an archive of real-world office files, so it comes
back as a status with a Chinese reason a secretary can act on.
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol


class ExtractStatus(StrEnum):
    OK = "ok"
    EMPTY = "empty"
    NEEDS_OCR = "needs_ocr"
    UNREADABLE = "unreadable"
    UNSUPPORTED = "unsupported"
    GARBLED = "garbled"  # text came out, but too much of it is wrong to trust (see `zhikong.indexer.garble`)


@dataclass(frozen=True)
class Extraction:
    status: ExtractStatus
    text: str = ""
    reason: str | None = None
    truncated: bool = False
    title: str | None = None
    pages: int | None = None


@dataclass(frozen=True)
class Limits:
    """What one extraction may cost: characters kept and wall-clock time (checked between parts)."""

    max_chars: int
    deadline: float  # time.monotonic() value

    def expired(self) -> bool:
        return time.monotonic() > self.deadline


class Extractor(Protocol):
    """One file format. `kinds` are the sniffed type names this extractor handles."""

    kinds: tuple[str, ...]

    def extract(self, path: Path, limits: Limits) -> Extraction: ...


def unreadable(reason: str) -> Extraction:
    return Extraction(ExtractStatus.UNREADABLE, reason=reason)


RESAVE = "请用 WPS 或 Office 打开后另存一份（或另存为 PDF）再放入；文件本身已登记保存"


def damaged(label: str) -> Extraction:
    """A file its library could not read: damaged, or written in a way the library does not know."""
    return unreadable(f"{label}文件已损坏或使用了不支持的写法，读不出文字；{RESAVE}")


def storable(text: str) -> tuple[str, int]:
    """`text` as the catalogue and the index can hold it, and how many characters had to go.

    PDF libraries hand out what the file says, and files say odd things: a lone UTF-16 surrogate (a
    thesis's mathematical italic letters, split in two by its font's ToUnicode map), NUL and other
    control characters, non-characters. SQLite refuses the surrogates with UnicodeEncodeError, which
    once rolled back a whole scan batch. A valid surrogate pair is joined into its character; whatever
    remains unencodable is dropped and counted; form feeds (page breaks) become line breaks.
    """
    if text.isascii() and text.isprintable():
        return text, 0
    if _SURROGATE.search(text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    text = text.replace("\f", "\n").replace("\v", "\n")
    kept = _UNSTORABLE.sub("", text)
    return kept, len(text) - len(kept)


_SURROGATE = re.compile("[\ud800-\udfff]")
# Control characters but tab and line breaks, DEL, U+FFFD, the non-characters U+FDD0–U+FDEF and the last
# two code points of every plane (U+FFFE, U+FFFF, U+1FFFE …).
_UNSTORABLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufdd0-\ufdef\ufffd"
    + "".join(f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(17))
    + "]"
)


@dataclass
class TextSink:
    """Collects text parts up to a character cap, remembering how much was dropped and why it stopped."""

    limits: Limits
    parts: list[str] = field(default_factory=list)
    size: int = 0
    dropped: int = 0
    timed_out: bool = False

    @property
    def full(self) -> bool:
        return self.size >= self.limits.max_chars or self.timed_out

    def add(self, text: str) -> bool:
        """Add one part; False once nothing more should be read (cap reached or time is up)."""
        if not text:
            return not self.full
        if self.limits.expired():
            self.timed_out = True
        room = self.limits.max_chars - self.size
        if room <= 0 or self.timed_out:
            self.dropped += len(text)
            return False
        kept = text[:room]
        self.parts.append(kept)
        self.size += len(kept)
        self.dropped += len(text) - len(kept)
        return not self.full

    def result(
        self, *, title: str | None = None, pages: int | None = None, unread_parts: str = ""
    ) -> Extraction:
        """The extraction of what was collected. `unread_parts` describes parts never reached (e.g. pages)."""
        text = "\n".join(self.parts)[: self.limits.max_chars].strip()
        truncated = self.dropped > 0 or self.timed_out or bool(unread_parts)
        reason = None
        if truncated:
            notes = [f"文本过长，只保留前 {self.limits.max_chars:,} 字"]
            if self.dropped:
                notes.append(f"已舍弃约 {self.dropped:,} 字")
            if unread_parts:
                notes.append(unread_parts)
            if self.timed_out:
                notes = ["读取超时，只保留已读出的部分", *notes[1:]]
            reason = "；".join(notes)
        if not text:
            return Extraction(
                ExtractStatus.EMPTY, reason=reason or "文件中没有可读取的文字", title=title, pages=pages
            )
        return Extraction(
            ExtractStatus.OK, text, reason=reason, truncated=truncated, title=title, pages=pages
        )


# Zip containers (docx, pptx, xlsx, ofd) are checked before any member is inflated: a zip bomb declares
# its sizes honestly in the central directory and only becomes dangerous once a library reads it.
MAX_UNCOMPRESSED = 512 * 1024 * 1024
MAX_RATIO = 200
MAX_MEMBERS = 20_000
_RATIO_FLOOR = (
    10 * 1024 * 1024
)  # small members may compress extremely well (blank XML); only large ones count


def zip_problem(zf: zipfile.ZipFile) -> str | None:
    """A Chinese reason why this zip must not be inflated, or None when it is safe to read."""
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        return f"压缩包内文件数过多（{len(infos)} 个），疑似恶意文件，已拒绝读取"
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > _RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            return f"文件内部 {info.filename} 压缩比异常（疑似“压缩炸弹”），已拒绝读取"
    if total > MAX_UNCOMPRESSED:
        return f"文件解压后总大小 {total // (1024 * 1024)} MB 超过上限，疑似“压缩炸弹”，已拒绝读取"
    return None


def read_zip(
    path: Path, limits: Limits, label: str, read: Callable[[zipfile.ZipFile, Limits], Extraction]
) -> Extraction:
    """Open a zip-based document safely and hand it to `read`; corrupt content becomes UNREADABLE."""
    opened = open_zip(path)
    if isinstance(opened, str):
        return unreadable(opened)
    with opened as zf:
        try:
            return read(zf, limits)
        except (
            ET.ParseError,
            zipfile.BadZipFile,
            OSError,
            EOFError,
            ValueError,
            KeyError,
            NotImplementedError,  # a compression method zipfile does not have
            zlib.error,  # a member whose compressed data is cut or corrupt
        ):
            return damaged(f"{label} ")


def zip_refusal(path: Path) -> str | None:
    """Why a zip-based document must not be handed to a library (corrupt, zip bomb), or None."""
    opened = open_zip(path)
    if isinstance(opened, str):
        return opened
    opened.close()
    return None


def open_zip(path: Path) -> zipfile.ZipFile | str:
    """The opened zip, or a Chinese reason why it cannot or must not be read."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return f"文件已损坏（压缩结构不完整），无法打开；{RESAVE}"
    problem = zip_problem(zf)
    if problem:
        zf.close()
        return problem
    return zf
