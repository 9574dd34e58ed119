"""PDF: the text layer page by page; no text layer means a scan (OCR if installed, else NEEDS_OCR)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PdfReadError, PyPdfError

from zhikong.indexer import ocr
from zhikong.indexer.extractors.base import Extraction, ExtractStatus, Limits, TextSink, unreadable

# A page with fewer characters than this is treated as an image (a scan with a stray page number).
_MIN_TEXT_PER_PAGE = 5
_ENCRYPTED = "PDF 文件已加密（设有打开密码），无法读取文字；请取得无密码的版本后重新放入"


def _open(path: Path) -> PdfReader | str:
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            # Owner-password-only PDFs open with an empty user password; anything else is locked.
            return _ENCRYPTED
        return reader
    except (FileNotDecryptedError, NotImplementedError):
        return _ENCRYPTED
    except (PyPdfError, PdfReadError, OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"PDF 文件已损坏或格式不符，无法读取（{type(exc).__name__}）"


def _page_text(page: Any) -> str:
    try:
        return str(page.extract_text() or "")
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, ZeroDivisionError):
        return ""  # one broken page must not lose the rest of the document


def _ocr_pages(reader: PdfReader, limits: Limits) -> Extraction:
    sink = TextSink(limits)
    for page in reader.pages:
        for image in page.images:
            if not sink.add(ocr.recognize(image.data)):
                break
        if sink.full:
            break
    return sink.result(pages=len(reader.pages))


class PdfExtractor:
    kinds: tuple[str, ...] = ("pdf",)

    def extract(self, path: Path, limits: Limits) -> Extraction:
        opened = _open(path)
        if isinstance(opened, str):
            return unreadable(opened)
        try:
            return self._read(opened, limits)
        except FileNotDecryptedError:
            return unreadable(_ENCRYPTED)
        except (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            return unreadable(f"PDF 文件已损坏，无法读取（{type(exc).__name__}）")

    def _read(self, reader: PdfReader, limits: Limits) -> Extraction:
        total = len(reader.pages)
        sink = TextSink(limits)
        read = 0
        for page in reader.pages:
            read += 1
            if not sink.add(_page_text(page)):
                break
        unread = f"共 {total} 页，只读取了前 {read} 页" if read < total else ""
        result = sink.result(pages=total, unread_parts=unread)
        if sink.size < _MIN_TEXT_PER_PAGE * read and not sink.full:
            if ocr.available():
                return _ocr_pages(reader, limits)
            return Extraction(ExtractStatus.NEEDS_OCR, reason=ocr.MISSING_REASON, pages=total)
        return result
