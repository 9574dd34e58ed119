"""Issue 12: real files from the wild. No file stops a scan, and what is read is right or says why not.

Each defect the real-file run found is reproduced twice where possible:
- on a file made here that has exactly the property of the real one (always runs), and
- on the real file itself, from the corpus in tests/samples/real/ (see its README: the files are
  gathered from public repositories and kept out of git; these tests skip when a file is absent).
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import Run, as_json
from pptx import Presentation
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, StreamObject

from zhikong.app import Archive
from zhikong.archive.catalogue import Catalogue
from zhikong.archive.ingest import Reconciler, TextResult
from zhikong.archive.samplefiles import make_docx, make_pdf
from zhikong.indexer import ocr, poppler
from zhikong.indexer.extract import Extraction, ExtractStatus, extract_text

REAL = Path(__file__).parent / "samples" / "real"
MEETING = "护理质控中心/2026/2026-03-15 第一次工作会议"
needs_soffice = pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) 未安装")
needs_poppler = pytest.mark.skipif(not poppler.available(), reason="poppler-utils (pdftotext) 未安装")
# Words a reason may contain that are not Chinese: names of programs and commands a user types.
_ALLOWED_LATIN = re.compile(
    r"PDF|OFD|OCR|Word|WPS|Office|Excel|PowerPoint|RTF|LibreOffice|UTF-8|UTF-16|GBK|GB18030|Big5|EUC-TW|"
    r"CP1252|LATIN-1|BIG5|pdftotext|poppler-utils|Debian|Ubuntu|apt-get|install|pip|zhikong|reindex|"
    r"reread|scan|ocr|MB|KB|x|docx|xlsx|pptx"
)


def real(rel: str) -> Path:
    path = REAL / rel
    if not path.is_file():
        pytest.skip(f"real-file corpus not here: {rel} (tests/samples/real/README.md says how to gather it)")
    return path


def assert_reason_is_chinese(result: Extraction) -> None:
    """A reason a secretary reads: Chinese, and no English exception text."""
    assert result.reason, result
    assert re.search(r"[\u4e00-\u9fff]", result.reason), result.reason
    leftover = _ALLOWED_LATIN.sub("", result.reason)
    assert not re.search(r"[A-Za-z]{3,}", leftover), result.reason


def _pdf_with_font_map(
    path: Path, cmap_pairs: str, content: bytes, *, content_filter: str | None = None
) -> Path:
    """A one-page PDF whose font's ToUnicode map is `cmap_pairs` (bfchar lines), showing `content`."""
    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    cmap = DecodedStreamObject()
    cmap.set_data(
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Test def "
        b"1 begincodespacerange <00> <FF> endcodespacerange "
        + f"{cmap_pairs.count('<') // 2} beginbfchar {cmap_pairs} endbfchar ".encode()
        + b"endcmap CMapName currentdict /CMap defineresource pop end end"
    )
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
            NameObject("/ToUnicode"): writer._add_object(cmap),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    stream = StreamObject()
    if content_filter == "/A85":
        # ASCII85 under its abbreviated name, as real producers write it outside inline images.
        import base64

        stream._data = base64.a85encode(content) + b"~>"
        stream[NameObject("/Filter")] = NameObject("/A85")
    else:
        stream._data = content
    page[NameObject("/Contents")] = writer._add_object(stream)
    with path.open("wb") as fh:
        writer.write(fh)
    return path


# --- point 1: one file never stops the others -------------------------------------------------------------


def lone_surrogate_pdf(path: Path) -> Path:
    """Like the thesis whose mathematical italic 𝑥 pypdf returned as two lone surrogates: here the font
    maps A to the high half of 𝑥 (D835) and B to the low half (DC65), and C to 中."""
    return _pdf_with_font_map(
        path, "<41> <D835> <42> <DC65> <43> <4E2D>", b"BT /F1 12 Tf 72 720 Td (CCA CCBCC ABC) Tj ET"
    )


def test_lone_surrogates_are_dropped_and_counted_and_pairs_joined(tmp_path: Path) -> None:
    result = extract_text(lone_surrogate_pdf(tmp_path / "论文.pdf"))
    assert result.status is ExtractStatus.OK
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in result.text)
    assert "𝑥" in result.text  # the pair that arrived together is the character again
    result.text.encode("utf-8")
    assert result.reason is not None and "已去掉 2 个无法保存的字符" in result.reason


def test_a_pdf_with_lone_surrogates_does_not_stop_the_scan(root: Path, run: Run) -> None:
    folder = root / MEETING
    folder.mkdir(parents=True)
    lone_surrogate_pdf(folder / "学位论文.pdf")
    make_docx(folder / "会议纪要.docx", "第一次工作会议纪要", ["会议研究了压疮风险评估。"])
    run("scan")
    listed = {Path(r["path"]).name: r for r in as_json(run("ls", "--json"))}
    assert set(listed) == {"学位论文.pdf", "会议纪要.docx"}
    assert listed["学位论文.pdf"]["extract_status"] == "ok"
    assert as_json(run("search", "压疮", "--json"))[0]["path"].endswith("会议纪要.docx")
    run("scan")  # and the next scan (the watcher's rescan) is clean too


def test_a_failure_in_one_files_catalogue_stage_is_that_files_error(root: Path) -> None:
    """Whatever one file's text does to the catalogue write (here a value SQLite cannot bind), the
    other files of the batch are catalogued, and the failing one is reported in Chinese."""
    folder = root / MEETING
    for name in ("一.docx", "二.docx", "三.docx"):
        make_docx(folder / name, name, ["内容。"])
    settings = Archive.open(root).settings()

    def extract(path: Path) -> TextResult:
        text: object = ["not", "text"] if path.name == "二.docx" else "正文"
        return TextResult(status="ok", text=text)  # type: ignore[arg-type]

    with Catalogue.open(settings.system_dir, actor="测试") as cat:
        report = Reconciler(settings, cat, extract=extract).reconcile()
        assert sorted(Path(p).name for p in report.added) == ["一.docx", "三.docx"]
        assert [Path(e.path).name for e in report.errors] == ["二.docx"]
        assert "其他文件不受影响" in report.errors[0].message
        assert {Path(p).name for p in cat.active_stats()} == {"一.docx", "三.docx"}
    with sqlite3.connect(settings.system_dir / "catalogue.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.parametrize("name", ["pdf/thuthesis.pdf", "pdf/thuthesis-example.pdf", "pdf/main.pdf"])
def test_real_theses_with_mathematical_letters_are_stored(name: str) -> None:
    result = extract_text(real(name))
    assert result.status is ExtractStatus.OK
    result.text.encode("utf-8")  # what SQLite does with it
    assert "清华大学" in result.text or "对外经济贸易大学" in result.text or "学位论文" in result.text


# --- point 4: what escapes a library becomes a Chinese reason -----------------------------------------------


def test_pptx_notes_page_without_a_text_box_keeps_every_slide(tmp_path: Path) -> None:
    prs = Presentation()
    for text in ("院感防控培训", "手卫生五个时刻"):
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = text
        notes = slide.notes_slide
        body = notes.notes_placeholder
        assert body is not None
        body._element.getparent().remove(body._element)  # as LibreOffice writes some real .ppt files
    path = tmp_path / "课件.pptx"
    prs.save(str(path))
    result = extract_text(path)
    assert result.status is ExtractStatus.OK
    assert "院感防控培训" in result.text and "手卫生五个时刻" in result.text


def _jbig2_scan(path: Path) -> Path:
    """A scanned page whose image is JBIG2 (what office scanners write): pypdf needs jbig2dec for it."""
    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    image = StreamObject()
    image._data = bytes.fromhex("97 4a 42 32 0d 0a 1a 0a 01 00 00 00 01".replace(" ", "")) + b"\x00" * 64
    image.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Image"),
            NameObject("/Width"): pdf_number(64),
            NameObject("/Height"): pdf_number(64),
            NameObject("/BitsPerComponent"): pdf_number(1),
            NameObject("/ColorSpace"): NameObject("/DeviceGray"),
            NameObject("/Filter"): NameObject("/JBIG2Decode"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/XObject"): DictionaryObject({NameObject("/Im1"): writer._add_object(image)})}
    )
    content = StreamObject()
    content._data = b"q 595 0 0 842 0 0 cm /Im1 Do Q"
    page[NameObject("/Contents")] = writer._add_object(content)
    with path.open("wb") as fh:
        writer.write(fh)
    return path


def pdf_number(n: int) -> object:
    from pypdf.generic import NumberObject

    return NumberObject(n)


def test_jbig2_scan_without_ocr_needs_ocr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "available", lambda: False)
    result = extract_text(_jbig2_scan(tmp_path / "扫描件.pdf"))
    assert result.status is ExtractStatus.NEEDS_OCR
    assert_reason_is_chinese(result)


def test_jbig2_scan_with_ocr_but_no_poppler_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ocr, "available", lambda: True)
    monkeypatch.setattr(poppler, "available", lambda: False)
    result = extract_text(_jbig2_scan(tmp_path / "扫描件.pdf"))
    assert result.status is ExtractStatus.NEEDS_OCR
    assert result.reason is not None and "poppler-utils" in result.reason
    assert_reason_is_chinese(result)


@pytest.mark.parametrize("name", ["pdf/jbig2_file_header.pdf", "pdf/jbig2_symbol_offset.pdf"])
def test_real_jbig2_pdfs_are_read_or_need_ocr(name: str) -> None:
    result = extract_text(real(name))
    assert result.status in (ExtractStatus.OK, ExtractStatus.NEEDS_OCR, ExtractStatus.EMPTY), result
    if result.status is not ExtractStatus.OK:
        assert_reason_is_chinese(result)


def _a85_pdf(path: Path) -> Path:
    return _pdf_with_font_map(
        path, "<41> <62A4> <42> <7406>", b"BT /F1 12 Tf 72 720 Td (ABABABAB) Tj ET", content_filter="/A85"
    )


@needs_poppler
def test_a85_filter_name_is_read_by_poppler(tmp_path: Path) -> None:
    """pypdf 7 raises DeprecationError (not a PdfReadError) for the abbreviated filter name."""
    result = extract_text(_a85_pdf(tmp_path / "通知.pdf"))
    assert result.status is ExtractStatus.OK, result
    assert "护理" in result.text


def test_a85_filter_name_without_poppler_is_a_chinese_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(poppler, "available", lambda: False)
    monkeypatch.setattr(ocr, "available", lambda: False)
    result = extract_text(_a85_pdf(tmp_path / "通知.pdf"))
    assert result.status in (ExtractStatus.UNREADABLE, ExtractStatus.NEEDS_OCR, ExtractStatus.OK)
    if result.status is not ExtractStatus.OK:
        assert_reason_is_chinese(result)


def test_ofd_with_corrupt_compressed_member(tmp_path: Path) -> None:
    """A member whose deflated bytes are damaged: zipfile raises zlib.error, which once escaped."""
    from test_extract import _make_ofd

    plain = _make_ofd(tmp_path / "good.ofd", "通报", [["考核结果通报" * 50]])
    with zipfile.ZipFile(plain) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    broken = tmp_path / "坏.ofd"
    with zipfile.ZipFile(broken, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    data = bytearray(broken.read_bytes())
    member = b"Doc_0/Pages/Page_0/Content.xml"
    start = data.find(member) + len(member)
    for i in range(start + 5, start + 40):
        data[i] ^= 0x5A
    broken.write_bytes(bytes(data))
    result = extract_text(broken)
    assert result.status is ExtractStatus.UNREADABLE
    assert_reason_is_chinese(result)


def _set_doc_encrypted(doc: Path) -> None:
    """Set fEncrypted in a .doc's FIB, as Word does for a password-protected file."""
    data = bytearray(doc.read_bytes())
    for off in range(512, len(data) - 12, 512):
        if data[off : off + 2] == b"\xec\xa5":
            flags = struct.unpack_from("<H", data, off + 10)[0]
            struct.pack_into("<H", data, off + 10, flags | 0x0100)
            doc.write_bytes(bytes(data))
            return
    raise AssertionError("no FIB found")


@pytest.mark.libreoffice
@needs_soffice
def test_password_protected_doc_says_encrypted(tmp_path: Path) -> None:
    src = make_docx(tmp_path / "src" / "通知.docx", "会议通知", ["定于三月召开工作会议"])
    subprocess.run(
        ["soffice", f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}", "--headless", "--convert-to", "doc",
         "--outdir", str(tmp_path), str(src)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    doc = tmp_path / "通知.doc"
    _set_doc_encrypted(doc)
    result = extract_text(doc)
    assert result.status is ExtractStatus.UNREADABLE
    assert result.reason is not None and "加密" in result.reason and "javaldx" not in result.reason
    assert_reason_is_chinese(result)


@pytest.mark.libreoffice
@needs_soffice
@pytest.mark.parametrize(
    "name",
    [
        "doc/PasswordProtected.doc",
        "doc/password_tika_binaryrc4.doc",
        "doc/password_password_cryptoapi.doc",
        "xls/password.xls",
        "ppt/Password_Protected-hello.ppt",
        "ppt/cryptoapi-proc2356.ppt",
    ],
)
def test_real_password_protected_legacy_files_say_encrypted(name: str) -> None:
    result = extract_text(real(name))
    assert result.status is ExtractStatus.UNREADABLE
    assert result.reason is not None and "加密" in result.reason
    assert_reason_is_chinese(result)


def test_an_exception_no_extractor_expected_is_a_chinese_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zhikong.indexer.extractors import pdf

    def boom(*_args: object, **_kwargs: object) -> None:
        raise AttributeError("'NoneType' object has no attribute 'text'")

    monkeypatch.setattr(pdf.PdfExtractor, "extract", boom)
    result = extract_text(make_pdf(tmp_path / "a.pdf", [["正文"]]))
    assert result.status is ExtractStatus.UNREADABLE
    assert "NoneType" not in (result.reason or "")
    assert_reason_is_chinese(result)
