"""The handover's PDF compilation at a real center's size: more files than soffice takes on one command line
(it silently drops those after its first ~243, exit status 0), laid out in several runs side by side, each
file once; the bundle still verifies."""

from __future__ import annotations

from pathlib import Path

import pytest
from archives import HL, Y, docx, new_archive
from click.testing import CliRunner
from conftest import as_json
from pypdf import PdfReader, PdfWriter

from zhikong import libreoffice
from zhikong.archive import handoverdocs

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


def _pdf(path: Path, *, pages: int = 1, password: str | None = None, width: int = 595) -> None:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width, 842)
    if password is not None:
        writer.encrypt(password)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        writer.write(out)


def test_pdfs_that_cannot_be_joined_are_listed_with_the_reason(tmp_path: Path, runner: CliRunner) -> None:
    run = new_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    folder = root / HL / str(Y) / f"{Y}-05-10 护理质量督查"
    _pdf(folder / "督查记录.pdf", pages=2)
    _pdf(folder / "加密的反馈.pdf", password="secret")
    _pdf(folder / "空白文件.pdf", pages=0)
    (folder / "损坏的报告.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog")
    run("scan")

    out = tmp_path / "移交包"
    made = run("handover", "create", "--center", HL, "--to", "金乡县中医院", "--out", str(out))
    assert "未能并入 PDF 汇编（3 项）" in made.output
    for reason in ("加密的反馈：已加密", "损坏的报告：无法读取：PDF 已损坏或不完整", "空白文件：没有页面"):
        assert reason in made.output
    compiled = PdfReader(out / "data" / "移交资料" / f"{HL}PDF汇编.pdf")
    cover = 1 if libreoffice.available() else 0  # the list of what is missing, on a first page
    assert len(compiled.pages) == cover + 2
    if cover:
        assert "以下 3 件未能并入" in compiled.pages[0].extract_text()
    year, (category, (record,)) = compiled.outline  # year → category → the one file joined
    assert (year.title, record.title) == (f"{Y}年", "督查记录")
    # each bookmark points at the file's first page, behind the cover
    assert {compiled.get_destination_page_number(b) for b in (year, category, record)} == {cover}
    run("handover", "verify", str(out))


def test_a_compilation_joined_in_parts_keeps_each_file_at_its_bookmark(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thousands of files are joined a few hundred at a time (each part saved, its sources closed, the
    parts joined at the end): here two a part, so that five files make three parts."""
    monkeypatch.setattr(handoverdocs._Joiner, "PART_FILES", 2)
    run = new_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    folder = root / HL / str(Y) / f"{Y}-05-10 护理质量督查"
    pages = {"督查记录1": 1, "督查记录2": 3, "督查记录3": 2, "督查记录4": 1, "督查记录5": 2}
    for n, (name, count) in enumerate(pages.items()):
        _pdf(folder / f"{name}.pdf", pages=count, width=500 + n)  # each file's pages known by their width
    run("scan")

    out = tmp_path / "移交包"
    made = run("handover", "create", "--center", HL, "--to", "金乡县中医院", "--out", str(out))
    assert "未能并入" not in made.output and "PDF 汇编 9 页" in made.output
    compiled = PdfReader(out / "data" / "移交资料" / f"{HL}PDF汇编.pdf")
    _year, (_category, files) = compiled.outline
    assert [b.title for b in files] == list(pages)
    widths = [round(float(page.mediabox.width)) for page in compiled.pages]
    assert widths == [500 + n for n, count in enumerate(pages.values()) for _ in range(count)]
    for n, bookmark in enumerate(files):
        assert widths[compiled.get_destination_page_number(bookmark)] == 500 + n


@pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice (soffice) 未安装")
def test_files_marked_unconvertible_by_a_truncated_batch_are_tried_again(
    tmp_path: Path, runner: CliRunner
) -> None:
    """An archive whose earlier batch was cut short by soffice has its files marked as unconvertible; the
    first conversion after the fix tries them once more, and a mark made since is kept."""
    run = new_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    folder = root / HL / str(Y) / f"{Y}-05-10 护理质量督查"
    docx(folder / "督查记录.docx", "护理质量督查记录", "病区护理质量抽查。")
    run("scan")
    sha = as_json(run("ls", "--json"))[0]["sha256"]
    previews = root / ".zhikong" / "previews"
    previews.mkdir(exist_ok=True)
    mark = previews / f"{sha}.failed"
    mark.write_text("LibreOffice 没能把它转成 PDF（文件可能已损坏或格式不受支持）", encoding="utf-8")

    made = run("handover", "create", "--center", HL, "--to", "金乡县中医院", "--out", str(tmp_path / "包1"))
    assert "未能并入" not in made.output and not mark.exists() and (previews / f"{sha}.pdf").is_file()

    (previews / f"{sha}.pdf").unlink()  # as if it had failed for good since: the mark is believed now
    mark.write_text("LibreOffice 没能把它转成 PDF（文件可能已损坏或格式不受支持）", encoding="utf-8")
    made = run("handover", "create", "--center", HL, "--to", "金乡县中医院", "--out", str(tmp_path / "包2"))
    assert "督查记录：LibreOffice 没能把它转成 PDF" in made.output and mark.exists()
