"""What a record looks like in a browser: PDFs and images as they are, Office files (Word/WPS, Excel,
PowerPoint, OpenDocument, RTF) as a PDF made by LibreOffice when it is installed.

Conversions are cached under `.zhikong/previews/<sha256>.pdf`, by content: a new version gets a new preview,
an old version's stays valid, and two people opening one record share one conversion. A file LibreOffice
cannot convert is remembered (`<sha256>.failed`, holding the reason) so it is not tried on every visit.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from zhikong import libreoffice
from zhikong.errors import ZhikongError

PDF = "application/pdf"
IMAGES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
}
OFFICE = frozenset(
    [
        ".doc",
        ".docx",
        ".wps",
        ".rtf",
        ".odt",
        ".xls",
        ".xlsx",
        ".et",
        ".ods",
        ".ppt",
        ".pptx",
        ".dps",
        ".odp",
        ".csv",
        ".txt",
    ]
)
_converting = threading.Lock()  # one soffice at a time per server: each takes ~150 MB and a core


@dataclass(frozen=True)
class Preview:
    """A file the browser can show (`path`, `media_type`), or why there is none (`reason`)."""

    path: Path | None
    media_type: str | None
    reason: str | None = None
    converted: bool = False  # made by LibreOffice (the page says so)


def preview_of(source: Path, suffix: str, sha256: str, cache: Path, *, convert: bool = True) -> Preview:
    """The preview of `source` (the preserved copy of a version whose file name ends in `suffix`).
    With `convert=False` nothing is converted: an Office file not converted yet is answered with
    `path=None, media_type=PDF` (a page can show the frame at once and let the frame's request wait)."""
    suffix = suffix.lower()
    if suffix == ".pdf":
        return Preview(source, PDF)
    if suffix in IMAGES:
        return Preview(source, IMAGES[suffix])
    if suffix not in OFFICE:
        return Preview(None, None, f"此类文件（{suffix or '无扩展名'}）不能在网页中预览，请下载后打开。")
    done, failed = cache / f"{sha256}.pdf", cache / f"{sha256}.failed"
    if done.is_file():
        return Preview(done, PDF, converted=True)
    if failed.is_file():
        return Preview(None, None, failed.read_text(encoding="utf-8"))
    if not libreoffice.available():
        return Preview(
            None,
            None,
            "服务器上没有安装 LibreOffice，Office 文件不能在网页中预览，请下载后用 Word/WPS 打开。"
            "（管理员可安装 LibreOffice 后刷新本页）",
        )
    if not convert:
        return Preview(None, PDF, converted=True)
    with _converting:
        if done.is_file():
            return Preview(done, PDF, converted=True)
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache, prefix="convert-") as tmp:
            named = Path(tmp) / f"预览{suffix}"
            shutil.copyfile(source, named)
            try:
                made = libreoffice.convert(named, "pdf", Path(tmp) / "out", timeout=120)
            except ZhikongError as exc:
                reason = f"LibreOffice 没能把它转成 PDF（{exc.message}），请下载后打开。"
                failed.write_text(reason, encoding="utf-8")
                return Preview(None, None, reason)
            os.replace(made, done)
    return Preview(done, PDF, converted=True)
