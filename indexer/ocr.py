"""The optional OCR engine (rapidocr-onnxruntime, `pip install zhikong[ocr]`), behind one module.

Photos of paper and scanned PDFs are common in a center's archive. Without the engine they are still
catalogued, with status NEEDS_OCR, so nothing is lost; with it they become searchable.
"""

from __future__ import annotations

import importlib
import importlib.util
from functools import cache
from typing import Any

from zhikong.errors import MissingDependency


def available() -> bool:
    return importlib.util.find_spec("rapidocr_onnxruntime") is not None


MISSING_REASON = "图片或扫描件需要文字识别（OCR），未安装 OCR 组件；安装 pip install zhikong[ocr] 后运行 zhikong reindex --reread"


@cache
def _engine() -> Any:
    # Loading the ONNX models takes about a second: do it once per process, and only when needed.
    if not available():
        raise MissingDependency("未安装 OCR 组件（rapidocr-onnxruntime）", hint="pip install zhikong[ocr]")
    module = importlib.import_module("rapidocr_onnxruntime")
    return module.RapidOCR()


def recognize(image: bytes) -> str:
    """The text lines found in one image (PNG/JPEG/… bytes), top to bottom."""
    result, _elapsed = _engine()(image)
    if not result:
        return ""
    return "\n".join(str(line[1]) for line in result)
