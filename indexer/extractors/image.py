"""Photos and scans (.jpg .png .tif .bmp .gif .webp): OCR when the optional engine is installed."""

from __future__ import annotations

from pathlib import Path

from zhikong.errors import ZhikongError
from zhikong.indexer import ocr
from zhikong.indexer.extractors.base import Extraction, ExtractStatus, Limits, TextSink, unreadable


class ImageExtractor:
    kinds: tuple[str, ...] = ("image",)

    def extract(self, path: Path, limits: Limits) -> Extraction:
        if not ocr.available():
            return Extraction(ExtractStatus.NEEDS_OCR, reason=ocr.MISSING_REASON)
        try:
            text = ocr.recognize(path.read_bytes())
        except ZhikongError as exc:
            return unreadable(f"{exc.message}；请重新拍照或扫描后放入，文件本身已登记保存")
        sink = TextSink(limits)
        sink.add(text)
        return sink.result(pages=1)
