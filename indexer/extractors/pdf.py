"""PDF: the text layer page by page, checked, with two further ways of reading what it gets wrong.

1. pypdf reads the text layer (pure Python, always installed).
2. Where pypdf fails or its text is garbled (`zhikong.indexer.garble`: a font mapped to the wrong
   characters, private-use code points), poppler's `pdftotext` reads the file again when installed,
   and each page keeps the better of the two readings.
3. Pages still without usable text — scans, or text layers neither reader can map — go to OCR when
   the engine is installed, rendered by poppler (which decodes JBIG2 and every other image filter),
   else from the page's own images through pypdf.

What is left is reported: a scan without OCR is NEEDS_OCR, a text layer nothing could read is GARBLED,
each with a Chinese reason saying what to install or do.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError

from zhikong.errors import ZhikongError
from zhikong.indexer import ocr, poppler
from zhikong.indexer.extractors.base import (
    RESAVE,
    Extraction,
    ExtractStatus,
    Limits,
    TextSink,
    unreadable,
)
from zhikong.indexer.garble import assess, repair_mojibake

# pypdf logs every oddity of a real file ("Ignoring wrong pointing object …") as a warning, which with no
# logging set up lands on the scan's stderr, once per file. What matters reaches the user as the reason.
logging.getLogger("pypdf").setLevel(logging.ERROR)

# A page with fewer characters than this is treated as an image (a scan with a stray page number).
_MIN_TEXT_PER_PAGE = 5
_ENCRYPTED = "PDF 文件已加密（设有打开密码），无法读取文字；请取得无密码的版本后重新放入"
_DAMAGED = f"PDF 文件已损坏或使用了不支持的写法，读不出文字；{RESAVE}"
# OCR costs about a second a page: a scan longer than this is read in part, and says so.
_MAX_OCR_PAGES = 200


def _open(path: Path) -> PdfReader | str | None:
    """The reader; a Chinese reason for an encrypted file; None when pypdf cannot open it at all."""
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            # Owner-password-only PDFs open with an empty user password; anything else is locked.
            return _ENCRYPTED
        len(reader.pages)  # a broken page tree fails here, not halfway through
        return reader
    except (FileNotDecryptedError, NotImplementedError):
        return _ENCRYPTED
    except Exception:  # pypdf raises more than PyPdfError on real files (DeprecationError, DependencyError …)
        return None


def _page_text(page: Any) -> str | None:
    try:
        return str(page.extract_text() or "")
    except RecursionError:
        raise
    except Exception:  # one broken page must not lose the rest of the document
        return None


@dataclass
class _Page:
    text: str
    source: str  # "pypdf", "pdftotext", "ocr"

    @property
    def usable(self) -> bool:
        return len(self.text.strip()) >= _MIN_TEXT_PER_PAGE and not assess(self.text).garbled


def _repaired(page: _Page) -> _Page:
    """A page whose text is a Chinese encoding shown as Latin-1 (GBK bytes under a WinAnsi font), read
    in the right encoding: before poppler or OCR, which would only read the same wrong letters again."""
    if len(page.text) < _MIN_TEXT_PER_PAGE or not assess(page.text).garbled:
        return page
    fixed = repair_mojibake(page.text)
    return _Page(fixed[0], f"{page.source}:{fixed[1]}") if fixed else page


def _pypdf_pages(reader: PdfReader, limits: Limits) -> list[str | None]:
    pages: list[str | None] = []
    for page in reader.pages:
        if limits.expired():
            break
        pages.append(_page_text(page))
    return pages


def _poppler_pages(path: Path, count: int | None, limits: Limits) -> list[str] | None:
    if not poppler.available():
        return None
    budget = limits.deadline - time.monotonic()
    try:
        return poppler.page_texts(path, last=count, timeout=budget)
    except ZhikongError:
        return None


def _better(a: str, b: str) -> str:
    """The better of two readings of one page: the one with usable text, then the cleaner one."""
    ca, cb = assess(a), assess(b)
    if ca.garbled != cb.garbled:
        return b if ca.garbled else a
    if abs(ca.quality - cb.quality) > 0.05:
        return a if ca.quality > cb.quality else b
    return a if len(a.strip()) >= len(b.strip()) else b


def _long_side(reader: PdfReader | None, index: int) -> float | None:
    """The page's long side in points, None when pypdf cannot say."""
    if reader is None:
        return None
    try:
        box = reader.pages[index].mediabox
        return max(abs(float(box.width)), abs(float(box.height))) or None
    except Exception:  # a page pypdf cannot even measure: let poppler bound the size
        return None


def _ocr_page(path: Path, reader: PdfReader | None, index: int, limits: Limits) -> str | None:
    """OCR of one page (0-based), or None when it cannot be rendered."""
    timeout = max(limits.deadline - time.monotonic(), 1.0)
    if poppler.available():
        try:
            png = poppler.render_page(
                path, index + 1, size_pt=_long_side(reader, index), max_side=ocr.MAX_SIDE, timeout=timeout
            )
            return ocr.recognize(png)
        except ZhikongError:
            return None
    if reader is None:
        return None
    texts = []
    try:
        for image in reader.pages[index].images:
            texts.append(ocr.recognize(image.data))
    except ZhikongError:
        return None
    except Exception:  # pypdf cannot decode the image (JBIG2 without jbig2dec, a broken stream)
        return None
    return "\n".join(texts)


class PdfExtractor:
    kinds: tuple[str, ...] = ("pdf",)

    def extract(self, path: Path, limits: Limits) -> Extraction:
        opened = _open(path)
        if isinstance(opened, str):
            return unreadable(opened)
        reader = opened
        total = len(reader.pages) if reader is not None else None
        first = _pypdf_pages(reader, limits) if reader is not None else []
        pages = [_repaired(_Page(t or "", "pypdf")) for t in first]
        if reader is None or any(t is None for t in first) or not all(p.usable for p in pages):
            second = _poppler_pages(path, total, limits)
            if second is not None:
                if reader is None:
                    total = len(second)
                    pages = [_Page(t, "pdftotext") for t in second]
                else:
                    for i, text in enumerate(second[: len(pages)]):
                        best = _better(pages[i].text, text)
                        if best is not pages[i].text:
                            pages[i] = _repaired(_Page(best, "pdftotext"))
        if reader is None and not pages:
            return unreadable(_DAMAGED)
        return self._finish(path, reader, pages, total or len(pages), limits)

    def _finish(
        self, path: Path, reader: PdfReader | None, pages: list[_Page], total: int, limits: Limits
    ) -> Extraction:
        bad = [i for i, p in enumerate(pages) if not p.usable]
        scanned = [i for i in bad if len(pages[i].text.strip()) < _MIN_TEXT_PER_PAGE]
        garbled = [i for i in bad if i not in scanned]
        ocr_missed = 0
        if bad and ocr.available():
            for n, i in enumerate(bad):
                if n >= _MAX_OCR_PAGES or limits.expired():
                    ocr_missed = len(bad) - n
                    break
                text = _ocr_page(path, reader, i, limits)
                if text is None:
                    ocr_missed += 1
                elif len(text.strip()) >= len(pages[i].text.strip()) or not pages[i].usable:
                    pages[i] = _Page(text, "ocr")
        sink = TextSink(limits)
        read = 0
        for page in pages:
            read += 1
            if not sink.add(page.text):
                break
        unread = f"共 {total} 页，只读取了前 {read} 页" if read < total else ""
        result = sink.result(pages=total, unread_parts=unread)
        recoded = sorted({p.source.split(":")[1].upper() for p in pages if ":" in p.source})
        if recoded and result.status is ExtractStatus.OK:
            note = f"文字的编码标错了，已按 {'、'.join(recoded)} 纠正"
            result = dataclasses.replace(result, reason="；".join(x for x in (result.reason, note) if x))
        if ocr.available():
            still = [i for i in bad if not pages[i].usable]
            if still and len(still) * 2 > len(pages) and assess(result.text).garbled:
                return _garbled(result, len(still), total, ocr_tried=True)
            if ocr_missed and result.status is ExtractStatus.EMPTY:
                why = (
                    "扫描件的图像已损坏或格式不受支持，无法识别文字；请重新扫描后放入"
                    if poppler.available()
                    else f"扫描件的图像无法解码，无法识别文字；{poppler.MISSING_HINT}"
                )
                return Extraction(ExtractStatus.NEEDS_OCR, reason=why, pages=total)
            return result
        text_chars = sink.size
        if scanned and text_chars < _MIN_TEXT_PER_PAGE * max(len(pages), 1):
            return Extraction(ExtractStatus.NEEDS_OCR, reason=ocr.MISSING_REASON, pages=total)
        if garbled and len(garbled) * 2 > len(pages):
            return _garbled(result, len(garbled), total, ocr_tried=False)
        return result


def _garbled(result: Extraction, bad: int, total: int, *, ocr_tried: bool) -> Extraction:
    how = (
        "文字识别（OCR）也未能读出"
        if ocr_tried
        else f"可安装 OCR 组件（pip install zhikong[ocr]）后运行 zhikong reindex --reread 按图像识别，或{RESAVE}"
    )
    tried = "（两种读取方法都试过）" if poppler.available() else ""
    return Extraction(
        ExtractStatus.GARBLED,
        result.text,
        reason=f"{total} 页中有 {bad} 页的文字层读出来是乱码{tried}，文件的字体没有正确的文字编码；{how}",
        truncated=result.truncated,
        pages=result.pages,
    )
