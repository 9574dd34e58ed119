"""Legacy binary office files (.doc .wps .xls .et .ppt .dps): converted by LibreOffice, then read as OOXML."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from zhikong import libreoffice
from zhikong.errors import InputFileError, MissingDependency
from zhikong.indexer.extractors.base import Extraction, Extractor, ExtractStatus, Limits, unreadable
from zhikong.indexer.extractors.docx import DocxExtractor
from zhikong.indexer.extractors.pptx import PptxExtractor
from zhikong.indexer.extractors.xlsx import XlsxExtractor

MISSING_REASON = (
    "需要 LibreOffice 才能读取旧版 Office/WPS 文件，当前未安装；安装后运行 zhikong reindex --reread"
)


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
            source.write_bytes(path.read_bytes())
            budget = max(limits.deadline - time.monotonic(), 1.0)
            try:
                converted = libreoffice.convert(source, self._target_ext, Path(tmp), timeout=budget)
            except MissingDependency:
                return Extraction(ExtractStatus.UNSUPPORTED, reason=MISSING_REASON)
            except InputFileError as exc:
                return unreadable(f"旧版 Office/WPS 文件无法读取：{exc.message}（可能已损坏或加密）")
            return self._inner.extract(converted, limits)


# WPS's own formats (.wps .et .dps) are the same OLE families as Microsoft's; LibreOffice reads them.
LEGACY_EXTRACTORS = (
    LegacyOfficeExtractor("doc", "docx", DocxExtractor()),
    LegacyOfficeExtractor("rtf", "docx", DocxExtractor()),
    LegacyOfficeExtractor("xls", "xlsx", XlsxExtractor()),
    LegacyOfficeExtractor("ppt", "pptx", PptxExtractor()),
)
