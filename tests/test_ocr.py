"""Photos of paper and scanned PDFs, read by the optional OCR extra (`pip install "zhikong[ocr]"`).

The images are drawn on the spot with Pillow in a CJK font, so what OCR must find is known exactly.
Skipped, with the reason, when the OCR engine or a CJK font is not installed (.ci/run installs both).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from conftest import Run, as_json, photo_of_paper

from zhikong.indexer.extract import ExtractStatus, extract_text

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("rapidocr_onnxruntime") is None,
    reason='OCR extra not installed: pip install -e ".[ocr]"',
)


def test_photo_and_scanned_pdf_are_read(tmp_path: Path) -> None:
    photo = photo_of_paper(tmp_path / "签到表.jpg", ["院感防控督查签到表", "金乡县人民医院 张建国"])
    scan = photo_of_paper(tmp_path / "整改报告.pdf", ["羊山镇卫生院整改报告", "手卫生依从性已达标"])
    read = extract_text(photo)
    assert read.status == ExtractStatus.OK
    assert "院感防控督查签到表" in read.text and "张建国" in read.text
    scanned = extract_text(scan)
    assert scanned.status == ExtractStatus.OK and "手卫生依从性" in scanned.text


def test_scanned_sign_in_sheet_is_searchable(root: Path, run: Run) -> None:
    photo_of_paper(
        root / "院感质控中心/2026/2026-04-20 院感防控督查/IMG_20260420.jpg",
        ["院感防控督查签到表", "鸡黍镇卫生院 王芳"],
    )
    run("scan")
    rec = as_json(run("ls", "--json"))[0]
    assert rec["extract_status"] == "ok"
    assert rec["category"] == "签到表" and rec["classified_by"]["category"] == "content"
    hits = as_json(run("search", "鸡黍镇", "签到", "--json"))
    assert hits and hits[0]["path"].endswith("IMG_20260420.jpg")
