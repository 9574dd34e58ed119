"""Legacy binary office files (.doc .wps .xls .et .ppt .dps): converted by LibreOffice, then read as OOXML."""

from __future__ import annotations

import struct
import tempfile
import time
from pathlib import Path

from zhikong import libreoffice
from zhikong.errors import InputFileError, MissingDependency
from zhikong.indexer.extractors.base import (
    RESAVE,
    Extraction,
    Extractor,
    ExtractStatus,
    Limits,
    unreadable,
)
from zhikong.indexer.extractors.docx import DocxExtractor
from zhikong.indexer.extractors.pptx import PptxExtractor
from zhikong.indexer.extractors.xlsx import XlsxExtractor

MISSING_REASON = (
    "需要 LibreOffice 才能读取旧版 Office/WPS 文件，当前未安装；安装后运行 zhikong reindex --reread"
)
ENCRYPTED_REASON = (
    "文件已加密（设有打开密码），无法读取文字；请取得无密码的版本（或打开后另存一份不设密码的）后重新放入"
)
_SECTOR = 512


def encrypted(kind: str, data: bytes) -> bool:
    """Whether a legacy binary file says it is password-protected.

    LibreOffice refuses such a file with the same words as a damaged one (and a warning about Java),
    so the file itself is asked. Each format marks encryption near the start of its main stream, which
    begins on a 512-byte sector of the OLE file:
    - Word: the FIB (magic EC A5) has fEncrypted, bit 0x0100 of the flags at offset 10 ([MS-DOC] 2.5.2);
    - Excel: a FILEPASS record (0x002F) follows the workbook's BOF record (09 08) ([MS-XLS] 2.4.117);
    - PowerPoint: the Current User stream's atom (type 0x0FF6, size 0x14) carries headerToken
      0xF3D1C4DF when the document is encrypted ([MS-PPT] 2.3.2).
    """
    if kind == "doc":
        for off in range(_SECTOR, len(data) - 12, _SECTOR):
            if data[off : off + 2] == b"\xec\xa5":
                return bool(struct.unpack_from("<H", data, off + 10)[0] & 0x0100)
    elif kind == "xls":
        for off in range(_SECTOR, len(data) - 4, _SECTOR):
            if data[off : off + 2] == b"\x09\x08":
                pos = off
                for _ in range(32):
                    if pos + 4 > len(data):
                        break
                    record, length = struct.unpack_from("<HH", data, pos)
                    if record == 0x002F:
                        return True
                    if record in (0x0085, 0x000A):  # BOUNDSHEET or EOF: past where FILEPASS may be
                        break
                    pos += 4 + length
                return False
    elif kind == "ppt":
        at = data.find(b"\xf6\x0f")
        while at != -1:
            if data[at + 6 : at + 10] == b"\x14\x00\x00\x00":
                return data[at + 10 : at + 14] == b"\xdf\xc4\xd1\xf3"
            at = data.find(b"\xf6\x0f", at + 1)
    return False


class LegacyOfficeExtractor:
    """One legacy family: `kind` is what sniffing found inside the OLE file, whatever the extension says."""

    def __init__(self, kind: str, target_ext: str, inner: Extractor) -> None:
        self.kinds: tuple[str, ...] = (kind,)
        self._target_ext = target_ext
        self._inner = inner

    def extract(self, path: Path, limits: Limits) -> Extraction:
        if not libreoffice.available():
            return Extraction(ExtractStatus.UNSUPPORTED, reason=MISSING_REASON)
        with tempfile.TemporaryDirectory(prefix="zhikong-conv-") as tmp:
            # LibreOffice names its output after the input; a neutral copy name avoids odd characters.
            source = Path(tmp) / f"source.{self.kinds[0]}"
            data = path.read_bytes()
            source.write_bytes(data)
            budget = max(limits.deadline - time.monotonic(), 1.0)
            try:
                converted = libreoffice.convert(source, self._target_ext, Path(tmp), timeout=budget)
            except MissingDependency:
                return Extraction(ExtractStatus.UNSUPPORTED, reason=MISSING_REASON)
            except InputFileError as exc:
                if encrypted(self.kinds[0], data):
                    return unreadable(ENCRYPTED_REASON)
                if "超时" in exc.message:
                    return unreadable(f"LibreOffice 转换超时，文件可能过大或已损坏；{RESAVE}")
                return unreadable(
                    f"旧版 Office/WPS 文件已损坏或使用了不支持的写法，LibreOffice 也打不开；{RESAVE}"
                )
            return self._inner.extract(converted, limits)


# WPS's own formats (.wps .et .dps) are the same OLE families as Microsoft's; LibreOffice reads them.
LEGACY_EXTRACTORS = (
    LegacyOfficeExtractor("doc", "docx", DocxExtractor()),
    LegacyOfficeExtractor("rtf", "docx", DocxExtractor()),
    LegacyOfficeExtractor("xls", "xlsx", XlsxExtractor()),
    LegacyOfficeExtractor("ppt", "pptx", PptxExtractor()),
)
