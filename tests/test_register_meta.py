"""The 归档文件目录 prints what a register must show (issue 17): each record's title, date, 责任者, page count
and 文号 read from the document itself, with where each came from; `zhikong edit` corrects them for good;
the handover's PDF compilation holds Office files and photos, not only PDFs."""

from __future__ import annotations

import importlib.util
import sqlite3
import zipfile
from pathlib import Path

import pytest
from archives import HL, Y, docx, new_archive
from click.testing import CliRunner
from conftest import as_json, photo_of_paper
from docx import Document
from docx.enum.text import WD_BREAK
from pypdf import PdfReader

from zhikong import libreoffice

needs_office = pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice (soffice) not installed")
needs_ocr = pytest.mark.skipif(
    importlib.util.find_spec("rapidocr_onnxruntime") is None,
    reason='OCR extra not installed: pip install -e ".[ocr]"',
)

INSPECTION = f"{Y}-05-10 护理质量督查"


def long_docx(path: Path, title: str, pages: int) -> Path:
    """A Word file of `pages` pages (a page break between them), titled by its first heading."""
    doc = Document()
    doc.add_heading(title, level=1)
    for n in range(pages):
        doc.add_paragraph(f"第{n + 1}部分：护理质量督查发现的问题及整改要求。")
        if n < pages - 1:
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def pdf_of(source: Path, out: Path) -> Path:
    """A real PDF with a text layer, laid out by LibreOffice from `source`."""
    made = libreoffice.convert(source, "pdf", out.parent / "made")
    out.parent.mkdir(parents=True, exist_ok=True)
    made.replace(out)
    return out


def register_rows(run, tmp: Path, box: str = "1") -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """The box's 归档文件目录 as printed, each row by its 题名 column's file: 档号 → the row's cells."""
    out = tmp / f"第{box}盒.docx"
    run("paper", "catalog", "--center", HL, "--year", str(Y), "--box", box, "--out", str(out))
    table = Document(str(out)).tables[0]
    rows = [[c.text for c in row.cells] for row in table.rows[1:]]
    return {r[1]: r for r in rows}


def code_of(run, path: str) -> str:  # type: ignore[no-untyped-def]
    return next(r["archival_code"] for r in as_json(run("ls", "--json")) if r["path"] == path)


def approved_notice(run, tmp: Path) -> str:  # type: ignore[no-untyped-def]
    """A notice drafted and approved through zhikong itself; returns the final's path."""
    body = tmp / "正文.txt"
    body.write_text("请各单位按时参加。\n一、会议时间\n2026年3月15日上午9时。\n", encoding="utf-8")
    run("draft", "notice", "--center", HL, "--title", "关于召开第一次工作会议的通知", "--to", "各镇街卫生院",
        "--body", str(body), "--activity", f"{Y}-03-15 第一次工作会议", "--date", f"{Y}-03-08")  # fmt: skip
    run("draft", "approve", "1", "--by", "县卫生健康局医政科")
    return next(r["path"] for r in as_json(run("ls", "--json")) if r["category"] == "通知")


@needs_office
@needs_ocr
def test_register_prints_each_documents_own_title_date_organ_and_pages(
    tmp_path: Path, runner: CliRunner
) -> None:
    run = new_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    notice = approved_notice(run, tmp_path)
    insp = root / HL / str(Y) / INSPECTION
    # written by the inspected hospital weeks after the inspection: its own date and its own name
    docx(
        insp / "整改报告.docx", "羊山镇卫生院护理质量整改报告", "已完成整改。", "羊山镇卫生院", f"{Y}年6月2日"
    )
    long_docx(insp / "督查记录.docx", "护理质量督查记录", 3)
    pdf_of(long_docx(tmp_path / "src" / "问题清单.docx", "护理质量督查问题清单", 2), insp / "反馈意见.pdf")
    photo_of_paper(insp / "IMG_0001.jpg", ["护理质量督查反馈意见", "请羊山镇卫生院限期整改"])
    run("scan")

    rows = register_rows(run, tmp_path)
    by_title = {r[4]: r for r in rows.values()}
    # the notice made by our own generator: its title once, its number in the 文号 column, the bureau's name
    n = by_title["关于召开第一次工作会议的通知"]
    assert n[2] == f"金卫健字〔{Y}〕1号" and n[3] == "金乡县卫生健康局" and n[5] == f"{Y}0308" and n[7] == "1"
    assert not any("〔" in title for title in by_title), "a 发文字号 is never repeated in a title"
    # the rectification report: dated as written (not the inspection's 2026-05-10), by the hospital
    report = by_title["羊山镇卫生院护理质量整改报告"]
    assert report[5] == f"{Y}0602" and report[3] == "羊山镇卫生院" and report[7] == "1"
    # page counts: a 3-page Word file as LibreOffice lays it out, a 2-page PDF
    assert by_title["护理质量督查记录"][7] == "3"
    assert by_title["护理质量督查问题清单"][7] == "2"
    # the photo: its OCR'd title, not IMG_0001; the folder's date and the center as fallbacks; one page
    photo = by_title["护理质量督查反馈意见"]
    assert photo[5] == f"{Y}0510" and photo[3] == HL and photo[7] == "1"
    assert "IMG_0001" not in by_title
    found = as_json(run("search", "限期整改", "--json"))  # the search shows the title the register read
    assert [r["title"] for r in found if r["path"].endswith("IMG_0001.jpg")] == ["护理质量督查反馈意见"]

    # each value says where it came from
    shown = as_json(run("edit", f"{HL}/{Y}/{INSPECTION}/IMG_0001.jpg", "--json"))
    assert shown["sources"] == {
        "title": "document",
        "doc_date": "folder",
        "responsible": "folder",
        "pages": "document",
    }
    shown = as_json(run("edit", notice, "--json"))
    assert shown["sources"]["doc_number"] == "document" and shown["doc_number"] == f"金卫健字〔{Y}〕1号"
    text = run("edit", f"{HL}/{Y}/{INSPECTION}/整改报告.docx").output
    assert f"日期：{Y}-06-02（文件内容）" in text and "责任者：羊山镇卫生院（文件内容）" in text


def test_edit_corrects_each_value_audited_and_it_survives_rescan_and_reindex(
    tmp_path: Path, runner: CliRunner
) -> None:
    run = new_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    insp = root / HL / str(Y) / INSPECTION
    report = insp / "整改报告.docx"
    docx(report, "羊山镇卫生院整改报告", "已完成整改。", "羊山镇卫生院", f"{Y}年6月2日")
    rel = f"{HL}/{Y}/{INSPECTION}/整改报告.docx"
    run("scan")
    register_rows(run, tmp_path)
    code = code_of(run, rel)

    run("edit", code, "--title", "羊山镇卫生院关于护理质量督查问题的整改报告", "--date", f"{Y}年6月3日",
        "--responsible", "金乡县羊山镇卫生院", "--pages", "4", "--doc-number", f"羊卫〔{Y}〕7号")  # fmt: skip
    edited = as_json(run("edit", rel, "--json"))
    assert edited["sources"] == dict.fromkeys(
        ("title", "doc_date", "responsible", "pages", "doc_number"), "user"
    )
    log = as_json(run("log", "--json"))
    assert any(e["action"] == "record.edit" and e["path"] == rel for e in log)
    assert "修改著录信息" in run("log").output

    # a new version of the file, a rescan, a rebuilt index: the user's values stay
    docx(report, "羊山镇卫生院整改报告（修订）", "已完成整改，附照片。", "羊山镇卫生院", f"{Y}年6月9日")
    run("scan")
    run("reindex", "--reread")
    row = register_rows(run, tmp_path)[code]
    assert row[2:8] == [f"羊卫〔{Y}〕7号", "金乡县羊山镇卫生院", "羊山镇卫生院关于护理质量督查问题的整改报告",
                        f"{Y}0603", "", "4"]  # fmt: skip
    assert (
        as_json(run("search", "整改报告", "--json"))[0]["title"]
        == "羊山镇卫生院关于护理质量督查问题的整改报告"
    )

    # clearing a value gives the document's back: the new version's date, read from its text
    run("edit", code, "--date", "", "--pages", "0")
    back = as_json(run("edit", code, "--json"))
    assert back["doc_date"] == f"{Y}-06-09" and back["sources"]["doc_date"] == "document"
    assert back["pages"] == 1 and back["sources"]["pages"] == "document"
    assert back["sources"]["title"] == "user"


def test_edit_refuses_in_chinese(tmp_path: Path, runner: CliRunner) -> None:
    run = new_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    docx(root / HL / str(Y) / INSPECTION / "整改报告.docx", "整改报告", "已完成整改。")
    run("scan")
    rel = f"{HL}/{Y}/{INSPECTION}/整改报告.docx"
    assert "目录中没有这个文件" in run("edit", "没有的文件.docx", "--title", "x", expect=5).output
    assert "没有档号为" in run("edit", "Z109-WS·2026-D30-HL-0099", "--title", "x", expect=5).output
    bad_day = run("edit", rel, "--date", f"{Y}-02-30", expect=2).output
    assert "没有这一天" in bad_day and "2026年3月5日" in bad_day
    assert "页数不对" in run("edit", rel, "--pages", "-2", expect=4).output
    assert "六角括号" in run("edit", rel, "--doc-number", f"金卫健字[{Y}]3号", expect=4).output
    assert as_json(run("edit", rel, "--json"))["sources"].get("pages") != "user"  # nothing was changed
    assert not any(e["action"] == "record.edit" for e in as_json(run("log", "--json")))


@needs_office
def test_handover_compilation_holds_office_files_and_photos(tmp_path: Path, runner: CliRunner) -> None:
    run = new_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    insp = root / HL / str(Y) / INSPECTION
    long_docx(insp / "督查记录.docx", "护理质量督查记录", 3)
    pdf_of(long_docx(tmp_path / "src" / "问题清单.docx", "护理质量督查问题清单", 2), insp / "反馈意见.pdf")
    photo_of_paper(insp / "现场照片.jpg", ["护理质量督查现场"])
    (insp / "附件.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)  # an empty zip: nothing to lay out
    (insp / "损坏的通知.docx").write_bytes(b"PK\x03\x04" + b"\x00" * 40)  # LibreOffice cannot read it
    run("scan")

    out = tmp_path / "移交包"
    made = run("handover", "create", "--center", HL, "--to", "金乡县中医院", "--out", str(out))
    compiled = PdfReader(out / "data" / "移交资料" / f"{HL}PDF汇编.pdf")
    # a first page saying what is missing, the Word file's 3 pages, the PDF's 2, the photo's 1
    assert len(compiled.pages) == 1 + 3 + 2 + 1
    cover = compiled.pages[0].extract_text()
    assert "以下 2 件未能并入" in cover and "附件" in cover and "不能转为" in cover and "已损坏" in cover
    bookmarks = []
    stack = list(compiled.outline)
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        else:
            bookmarks.append(item.title)
    assert {"护理质量督查记录", "护理质量督查问题清单"} <= set(bookmarks)
    assert "PDF 汇编 7 页" in made.output
    assert "未能并入 PDF 汇编（2 项）" in made.output and "不能转为 PDF" in made.output
    assert "损坏的通知：LibreOffice 没能把它转成 PDF（文件可能已损坏" in made.output


def test_without_libreoffice_pages_come_from_the_files_own_statistics(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = new_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    insp = root / HL / str(Y) / INSPECTION
    # as Word saves it: its page count in docProps/app.xml (python-docx's template says 1, whatever follows)
    written = long_docx(tmp_path / "src" / "督查记录.docx", "护理质量督查记录", 3)
    insp.mkdir(parents=True)
    with zipfile.ZipFile(written) as src, zipfile.ZipFile(insp / "督查记录.docx", "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "docProps/app.xml":
                data = data.replace(b"<Pages>1</Pages>", b"<Pages>3</Pages>")
            dst.writestr(item, data)
    # a machine without LibreOffice: every program on PATH but soffice/libreoffice
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for folder in ("/usr/local/bin", "/usr/bin", "/bin"):
        for program in Path(folder).iterdir() if Path(folder).is_dir() else ():
            link = bin_dir / program.name
            if not program.name.startswith(("soffice", "libreoffice")) and not link.exists():
                link.symlink_to(program)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert not libreoffice.available()
    run("scan")

    row = next(r for r in register_rows(run, tmp_path).values() if r[4] == "护理质量督查记录")
    assert row[7] == "3"
    made = run(
        "handover", "create", "--center", HL, "--to", "金乡县中医院", "--out", str(tmp_path / "移交包")
    )
    assert "护理质量督查记录：没有安装 LibreOffice" in made.output


def test_a_damaged_sources_value_costs_only_the_sources(tmp_path: Path, runner: CliRunner) -> None:
    """records.meta_by may come from a handover bundle (untrusted): a damaged one must not stop a scan or
    an edit."""
    run = new_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    report = root / HL / str(Y) / INSPECTION / "整改报告.docx"
    docx(report, "羊山镇卫生院整改报告", "已完成整改。", "羊山镇卫生院", f"{Y}年6月2日")
    run("scan")
    rel = f"{HL}/{Y}/{INSPECTION}/整改报告.docx"
    run("edit", rel, "--title", "整改报告（人工）")
    with sqlite3.connect(root / ".zhikong" / "catalogue.sqlite") as db:
        db.execute("UPDATE records SET meta_by = '{\"title\": [' WHERE path = ?", (rel,))
    docx(report, "羊山镇卫生院整改报告（修订）", "已完成整改。", "羊山镇卫生院", f"{Y}年6月9日")
    run("scan")
    shown = as_json(run("edit", rel, "--json"))
    assert shown["title"] == "羊山镇卫生院整改报告（修订）" and shown["doc_date"] == f"{Y}-06-09"
    assert shown["sources"]["doc_date"] == "document"
