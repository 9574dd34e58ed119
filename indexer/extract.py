"""Text extraction: sniff what a file really is, pick its extractor from the registry, never raise.

The type comes from the content first (magic bytes, the member names inside a zip, the stream names
inside an OLE file) and only then from the extension, because secretaries rename files: a ".docx" that
is really a spreadsheet must still be read, and a ".pdf" that is a Word file must not be reported corrupt.
"""

from __future__ import annotations

import dataclasses
import time
import zipfile
import zlib
from pathlib import Path

from zhikong.indexer.extractors.archive import ArchiveExtractor
from zhikong.indexer.extractors.base import (
    RESAVE,
    Extraction,
    Extractor,
    ExtractStatus,
    Limits,
    storable,
    unreadable,
)
from zhikong.indexer.extractors.docx import DocxExtractor
from zhikong.indexer.extractors.image import ImageExtractor
from zhikong.indexer.extractors.legacy import LEGACY_EXTRACTORS
from zhikong.indexer.extractors.odf import OdfExtractor
from zhikong.indexer.extractors.ofd import OfdExtractor
from zhikong.indexer.extractors.pdf import PdfExtractor
from zhikong.indexer.extractors.pptx import PptxExtractor
from zhikong.indexer.extractors.text import TextExtractor
from zhikong.indexer.extractors.xlsx import XlsxExtractor
from zhikong.indexer.garble import assess, repair_mojibake

__all__ = ["ExtractStatus", "Extraction", "extract_text", "sniff"]

_REGISTRY: dict[str, Extractor] = {}
for _extractor in (
    DocxExtractor(),
    PptxExtractor(),
    XlsxExtractor(),
    PdfExtractor(),
    OfdExtractor(),
    OdfExtractor(),
    ArchiveExtractor(),
    TextExtractor(),
    ImageExtractor(),
    *LEGACY_EXTRACTORS,
):
    for _kind in _extractor.kinds:
        _REGISTRY[_kind] = _extractor

_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")
_ZIP_MARKERS = (
    ("word/document.xml", "docx"),
    ("ppt/presentation.xml", "pptx"),
    ("xl/workbook.xml", "xlsx"),
    ("OFD.xml", "ofd"),
)
# OLE compound files name their main stream in UTF-16LE; the name says which application wrote it.
_OLE_STREAMS = (
    ("EncryptedPackage", "encrypted"),  # a password-protected .docx/.xlsx/.pptx is an OLE wrapper
    ("WordDocument", "doc"),
    ("Workbook", "xls"),
    ("Book", "xls"),
    ("PowerPoint Document", "ppt"),
)
_TEXT_EXTENSIONS = {".txt", ".csv", ".tsv", ".md", ".log", ".json", ".xml", ".html", ".htm"}
_EXT_KINDS = {
    ".docx": "docx", ".pptx": "pptx", ".xlsx": "xlsx", ".ofd": "ofd", ".pdf": "pdf",
    ".zip": "zip", ".rar": "rar", ".odt": "odt", ".ods": "ods", ".odp": "odp", ".doc": "doc", ".wps": "doc", ".rtf": "rtf", ".xls": "xls", ".et": "xls", ".ppt": "ppt", ".dps": "ppt",
    ".jpg": "image", ".jpeg": "image", ".png": "image", ".tif": "image", ".tiff": "image",
    ".bmp": "image", ".gif": "image", ".webp": "image",
}  # fmt: skip
_OLE_SCAN_BYTES = 16 * 1024 * 1024


_ODF_MIMETYPES = {
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
}


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            mimetype = b""
            if "mimetype" in names and zf.getinfo("mimetype").file_size < 200:
                mimetype = zf.read("mimetype")
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, zlib.error):
        return "corrupt"
    for marker, kind in _ZIP_MARKERS:
        if marker in names:
            return kind
    odf = _ODF_MIMETYPES.get(mimetype.decode("ascii", "replace").strip().removesuffix("-template"))
    if odf and "content.xml" in names:
        return odf
    return "zip"


def _ole_kind(path: Path) -> str:
    with path.open("rb") as fh:
        data = fh.read(_OLE_SCAN_BYTES)
    for name, kind in _OLE_STREAMS:
        if name.encode("utf-16-le") in data:
            return kind
    return _EXT_KINDS.get(path.suffix.lower(), "doc")


def sniff(path: Path) -> str:
    """What the file is: a registry kind, or "empty", "zip", "corrupt", "encrypted", "unknown"."""
    with path.open("rb") as fh:
        head = fh.read(1024)
    if not head:
        return "empty"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip_kind(path)
    if b"%PDF-" in head:
        return "pdf"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _ole_kind(path)
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return "text"  # a byte-order mark: text, whatever the extension (.srt, .ini, none)
    if head.startswith(b"Rar!\x1a\x07"):
        return "rar"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    kind = _EXT_KINDS.get(path.suffix.lower())
    if kind is not None and kind not in ("text",):
        # The extension names a binary format but the magic bytes disagree: the file is damaged.
        return "corrupt"
    if path.suffix.lower() in _TEXT_EXTENSIONS or b"\x00" not in head:
        return "text"
    return "unknown"


def _special(kind: str, path: Path) -> Extraction | None:
    """Outcomes decided by sniffing alone."""
    if kind == "empty":
        return Extraction(ExtractStatus.EMPTY, reason="文件是空的（0 字节）")
    if kind == "encrypted":
        return unreadable("文件已加密（设有打开密码），无法读取文字；请取得无密码的版本后重新放入")
    if kind == "corrupt":
        return unreadable(f"文件已损坏或与扩展名 {path.suffix or '（无）'} 不符，无法读取")
    if kind == "unknown":
        return Extraction(
            ExtractStatus.UNSUPPORTED, reason=f"不支持的文件格式（{path.suffix or '无扩展名'}），只登记不检索"
        )
    return None


# What each kind is called in a reason a secretary reads.
_LABELS = {
    "docx": "Word ", "doc": "Word/WPS ", "rtf": "RTF ", "pptx": "PowerPoint ", "ppt": "PowerPoint/WPS 演示",
    "xlsx": "Excel ", "xls": "Excel/WPS 表格", "odt": "OpenDocument ", "ods": "OpenDocument ", "odp": "OpenDocument ", "zip": "压缩包", "rar": "压缩包", "pdf": "PDF ", "ofd": "OFD ", "text": "文本", "image": "图片",
}  # fmt: skip
_GARBLED_ADVICE = {
    "text": "请用记事本或 WPS 打开，另存为 UTF-8 编码后重新放入",
    "image": "请重新拍照或扫描（光线充足、正对纸面）后放入",
}


def extract_text(path: Path, *, max_chars: int = 1_000_000, timeout_s: float = 60) -> Extraction:
    """The text of one file. Never raises for bad content: failures come back as a status and a reason,
    and whatever comes back can be stored (see `finish`)."""
    try:
        kind = sniff(path)
    except OSError as exc:
        return unreadable(f"无法读取文件（{exc.strerror or '系统错误'}），请检查文件权限或磁盘后重试")
    special = _special(kind, path)
    if special is not None:
        return special
    limits = Limits(max_chars=max_chars, deadline=time.monotonic() + timeout_s)
    label = _LABELS.get(kind, "")
    try:
        result = _REGISTRY[kind].extract(path, limits)
    except MemoryError:
        result = unreadable("文件过大，读取时内存不足；文件本身已登记保存，可拆分后重新放入")
    except RecursionError:
        result = unreadable("文件结构嵌套过深，疑似损坏或恶意文件；文件本身已登记保存，请核实来源")
    except OSError as exc:
        result = unreadable(f"无法读取文件（{exc.strerror or '系统错误'}），请检查文件权限或磁盘后重试")
    except Exception:
        # A library raising what it does not document (pypdf's DeprecationError on a real file's
        # /A85 filter, python-pptx's AttributeError on a notes page without a text box …) costs this
        # file its text, with a reason a secretary can act on, never the scan.
        result = unreadable(f"{label}文件已损坏或使用了不支持的写法，读不出文字；{RESAVE}")
    return finish(result, kind)


def finish(result: Extraction, kind: str = "") -> Extraction:
    """Every extraction's last step: text that reads as a wrong encoding is read again in the right one,
    text that is still garbage is marked GARBLED, and what cannot be stored is removed and counted."""
    notes: list[str] = []
    if result.status is ExtractStatus.OK:
        check = assess(result.text)
        if check.garbled:
            repaired = repair_mojibake(result.text)
            if repaired is not None:
                result = dataclasses.replace(result, text=repaired[0])
                notes.append(f"文字的编码标错了，已按 {repaired[1].upper()} 纠正")
            else:
                advice = _GARBLED_ADVICE.get(kind, RESAVE)
                result = dataclasses.replace(
                    result,
                    status=ExtractStatus.GARBLED,
                    reason=_join(f"{check.reason}；{advice}", result.reason),
                )
    text, dropped = storable(result.text)
    title = storable(result.title)[0] if result.title else result.title
    reason = storable(result.reason)[0] if result.reason else result.reason
    if dropped:
        notes.append(f"已去掉 {dropped:,} 个无法保存的字符（文件中的文字编码有误）")
    if notes:
        reason = _join(reason, "；".join(notes))
    if (text, title, reason) == (result.text, result.title, result.reason):
        return result
    return dataclasses.replace(result, text=text, title=title or None, reason=reason)


def _join(first: str | None, second: str | None) -> str | None:
    return "；".join(x for x in (first, second) if x) or None
