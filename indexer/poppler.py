"""poppler's command-line tools (`pdftotext`, `pdftoppm`), the optional second reader of PDFs.

pypdf is pure Python and always there, but it reads some real PDFs wrongly (the CNKI papers whose
Chinese comes out 90 % gibberish, while poppler maps the same fonts correctly) and cannot decode JBIG2
scans without an extra binary. poppler is a Debian package, like LibreOffice: optional, used when
installed (`apt-get install poppler-utils`), and each call runs in its own process under a time limit,
so a PDF that hangs or crashes poppler costs that file only.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from zhikong.errors import InputFileError, MissingDependency

MISSING_HINT = (
    "安装 poppler-utils（Debian/Ubuntu：apt-get install poppler-utils）后运行 zhikong reindex --reread"
)
# Pages are rendered for OCR at a scan's resolution, 150 dpi, but never larger than the OCR engine is given
# (zhikong.indexer.ocr.MAX_SIDE, passed in as `max_side`): an A4 page comes out at ~80 dpi, where a 五号
# character is ~12 px tall, which the engine still reads; a 128 × 96 pt page is not blown up to a poster. More pixels
# only cost memory, which the detector needs in proportion to the area.
RENDER_DPI = 150.0


def available() -> bool:
    return shutil.which("pdftotext") is not None and shutil.which("pdftoppm") is not None


def _run(command: list[str], timeout: float) -> bytes:
    program = shutil.which(command[0])
    if program is None:
        raise MissingDependency(f"没有找到 {command[0]}（poppler-utils）", hint=MISSING_HINT)
    process = subprocess.Popen(
        [program, *command[1:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=max(timeout, 1.0))
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise InputFileError(f"{command[0]} 读取超时（{timeout:.0f} 秒）") from None
    if process.returncode != 0:
        detail = err.decode("utf-8", "replace")
        if "password" in detail.lower():
            raise InputFileError("PDF 文件已加密（设有打开密码）")
        raise InputFileError(f"{command[0]} 无法读取这个 PDF（返回码 {process.returncode}）")
    return out


def page_texts(path: Path, *, first: int = 1, last: int | None = None, timeout: float = 60) -> list[str]:
    """The text of pages first..last (1-based, inclusive), one string per page, in reading order."""
    command = ["pdftotext", "-enc", "UTF-8", "-q", "-f", str(first)]
    if last is not None:
        command += ["-l", str(last)]
    out = _run([*command, str(path), "-"], timeout)
    # Non-BMP characters come out as CESU-style surrogates on some poppler versions: replace, never fail.
    pages = out.decode("utf-8", "replace").split("\f")
    if pages and not pages[-1].strip():
        pages.pop()  # pdftotext ends every page, the last one too, with a form feed
    return pages


def render_page(path: Path, page: int, *, size_pt: float | None, max_side: int, timeout: float = 60) -> bytes:
    """One page (1-based) as PNG bytes, at `RENDER_DPI` or less so that its long side (`size_pt`, in
    points, when known) is at most `max_side` pixels."""
    dpi = RENDER_DPI if not size_pt else min(RENDER_DPI, max_side * 72.0 / size_pt)
    command = [
        "pdftoppm",
        "-png",
        "-f",
        str(page),
        "-l",
        str(page),
        "-singlefile",
        "-r",
        f"{max(dpi, 10):.1f}",
    ]
    if not size_pt:
        command += ["-scale-to", str(max_side)]  # size unknown: bound the long side instead
    png = _run([*command, str(path)], timeout)  # no output root: PNG on stdout
    if not png:
        raise InputFileError("pdftoppm 没有输出图像")
    return png
