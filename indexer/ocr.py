"""The optional OCR engine (rapidocr-onnxruntime, `pip install zhikong[ocr]`), behind one module.

Photos of paper and scanned PDFs are common in a center's archive. Without the engine they are still
catalogued, with status NEEDS_OCR, so nothing is lost; with it they become searchable.

Memory and time go where the pixels are: a 12-megapixel phone photo decoded at full size, then copied
by the engine's own preprocessing, took 780 MB and 18 s. So an image is reduced to `MAX_SIDE` pixels
before the engine sees it — JPEGs are decoded straight at a reduced scale (`Image.draft`), which never
materialises the full bitmap — and the engine is loaded once per process.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
from functools import cache
from typing import Any

from zhikong.errors import InputFileError, MissingDependency

# The detector runs on the whole image as given (up to rapidocr's max_side_len, 2000), and its memory grows
# with the area: measured above the loaded engine, +200–280 MB at 960 px, +290 MB at 1280, +330 MB at 1600,
# +530 MB at 2000 (a 12-megapixel photo as the engine would take it). 960 px is the detector's own default
# resolution in PaddleOCR (det_limit_side_len), and on rendered A4 pages of the real-file corpus it read
# as much as 1280 px did (character overlap with pdftotext 0.830 against 0.833), for the least memory.
MAX_SIDE = 960
DET_MIN_SIDE = 736  # rapidocr's detector enlarges images to this short side (Det.limit_side_len, "min")
MAX_PIXELS = 200_000_000  # a larger image is a decompression bomb, not a photo


def available() -> bool:
    return importlib.util.find_spec("rapidocr_onnxruntime") is not None


MISSING_REASON = "图片或扫描件需要文字识别（OCR），未安装 OCR 组件；安装 pip install zhikong[ocr] 后运行 zhikong reindex --reread"


@cache
def _engine() -> Any:
    # Loading the ONNX models takes about a second and 100 MB: once per process, and only when needed.
    if not available():
        raise MissingDependency("未安装 OCR 组件（rapidocr-onnxruntime）", hint="pip install zhikong[ocr]")
    module = importlib.import_module("rapidocr_onnxruntime")
    return module.RapidOCR()


def prepare(image: bytes) -> Any:
    """The image as the RGB array the engine takes, reduced to `MAX_SIDE` pixels on its long side and
    turned upright by its EXIF orientation (phones store photos sideways)."""
    from PIL import Image, ImageOps  # installed with the OCR extra

    try:
        with Image.open(io.BytesIO(image)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise InputFileError(f"图片过大（{img.width}×{img.height} 像素），疑似恶意文件，已拒绝识别")
            img.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at 1/2, 1/4 or 1/8 scale directly
            upright = ImageOps.exif_transpose(img)
            if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info:
                # Transparent parts are paper, not black: lay the image on white.
                rgba = upright.convert("RGBA")
                rgb = Image.new("RGB", rgba.size, "white")
                rgb.paste(rgba, mask=rgba.getchannel("A"))
            else:
                rgb = upright.convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise InputFileError("图片已损坏或格式不受支持") from exc
    rgb.thumbnail((MAX_SIDE, MAX_SIDE))
    rgb = _pad_strip(rgb, Image)
    import numpy as np

    # The engine, like OpenCV, expects BGR.
    return np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1])


def _pad_strip(img: Any, image_module: Any) -> Any:
    """A long strip (a scanned line, a banner, a receipt) padded with white to at least
    `DET_MIN_SIDE` / `MAX_SIDE` of its length across. The detector enlarges every image until its short
    side is `DET_MIN_SIDE`; a 206 × 1600 strip became 736 × 5716 and took 900 MB. Padded, it is
    detected at its own size and the extra paper holds nothing to find."""
    short, long = sorted(img.size)
    need = -(-DET_MIN_SIDE * long // MAX_SIDE)  # ceiling
    if short >= need:
        return img
    width, height = img.size
    size = (width, need) if width >= height else (need, height)
    padded = image_module.new("RGB", size, "white")
    padded.paste(img, (0, 0))
    return padded


def recognize(image: bytes) -> str:
    """The text lines found in one image (PNG/JPEG/… bytes), top to bottom."""
    result, _elapsed = _engine()(prepare(image))
    if not result:
        return ""
    return "\n".join(str(line[1]) for line in result)
