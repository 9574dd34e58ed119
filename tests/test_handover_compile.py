"""The handover's PDF compilation at a real center's size: more files than soffice takes on one command line
(it silently drops those after its first ~243, exit status 0), laid out in several runs side by side, each
file once; the bundle still verifies."""

from __future__ import annotations

from pathlib import Path

import pytest
from archives import HL, Y, new_archive
from click.testing import CliRunner
from pypdf import PdfReader

from zhikong import libreoffice

FILES = 250  # beyond soffice's ~243 on one command line


@pytest.mark.slow
@pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice (soffice) 未安装")
def test_every_text_file_of_a_large_center_is_in_the_compilation(tmp_path: Path, runner: CliRunner) -> None:
    run = new_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    for i in range(FILES):
        folder = root / HL / str(Y) / f"{Y}-{1 + i % 12:02d}-{1 + i % 28:02d} 护理质量督查"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"督查记录{i:03d}.txt").write_text(
            f"第{i}号督查记录：病区护理质量抽查。\n", encoding="utf-8"
        )
    run("scan")

    out = tmp_path / "移交包"
    made = run("handover", "create", "--center", HL, "--to", "金乡县中医院", "--out", str(out))
    compiled = PdfReader(out / "data" / "移交资料" / f"{HL}PDF汇编.pdf")
    assert len(compiled.pages) == FILES  # one page each, and no cover page: nothing was left out
    assert "未能并入" not in made.output
    texts = {compiled.pages[n].extract_text().strip() for n in (0, FILES // 2, FILES - 1)}
    assert all("督查记录" in t for t in texts)
    previews = root / ".zhikong" / "previews"
    assert len(list(previews.glob("*.pdf"))) == FILES and not list(previews.glob("*.failed"))

    laid_out = {p.name: p.stat().st_mtime_ns for p in previews.iterdir()}
    again = tmp_path / "再次移交包"  # the layouts are kept with the previews: no file is laid out twice
    run("handover", "create", "--center", HL, "--to", "金乡县中医院", "--out", str(again))
    assert len(PdfReader(again / "data" / "移交资料" / f"{HL}PDF汇编.pdf").pages) == FILES
    assert {p.name: p.stat().st_mtime_ns for p in previews.iterdir()} == laid_out
    run("handover", "verify", str(again))
