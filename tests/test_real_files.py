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
import sys
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


# --- point 3: OFD templates and lines ------------------------------------------------------------------------

_NS = 'xmlns:ofd="http://www.ofdspec.org/2016"'


def _text_object(oid: int, x: float, y: float, text: str, *, size: float = 4.0, extra: str = "") -> str:
    return (
        f'<ofd:TextObject ID="{oid}" Boundary="{x} {y} 100 {size * 2}" Font="1" Size="{size}">'
        f'<ofd:TextCode X="0" Y="{size}" {extra}>{text}</ofd:TextCode></ofd:TextObject>'
    )


def _ofd(path: Path, page: str, template: str | None = None) -> Path:
    """An OFD of one page whose content is `page` (TextObjects), with an optional template page."""
    uses = '<ofd:Template TemplateID="2" ZOrder="Background"/>' if template is not None else ""
    common = '<ofd:TemplatePage ID="2" BaseLoc="Tpls/Tpl_0/Content.xml"/>' if template is not None else ""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(
            "OFD.xml",
            f'<ofd:OFD {_NS} Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo/>'
            "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>",
        )
        zf.writestr(
            "Doc_0/Document.xml",
            f"<ofd:Document {_NS}><ofd:CommonData>{common}</ofd:CommonData><ofd:Pages>"
            '<ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>',
        )
        zf.writestr(
            "Doc_0/Pages/Page_0/Content.xml",
            f'<ofd:Page {_NS}>{uses}<ofd:Content><ofd:Layer ID="3">{page}</ofd:Layer></ofd:Content></ofd:Page>',
        )
        if template is not None:
            zf.writestr(
                "Doc_0/Tpls/Tpl_0/Content.xml",
                f'<ofd:Page {_NS}><ofd:Content><ofd:Layer ID="4">{template}</ofd:Layer></ofd:Content></ofd:Page>',
            )
    return path


def test_ofd_template_words_are_read_with_the_page(tmp_path: Path) -> None:
    """An e-invoice: the labels are on the template, the values on the page, on the same lines."""
    template = _text_object(10, 60, 5, "增值税电子普通发票", size=6) + _text_object(11, 5, 30, "名称：")
    page = _text_object(20, 17, 30, "金乡县人民医院") + _text_object(21, 5, 40, "价税合计（大写）伍佰圆整")
    result = extract_text(_ofd(tmp_path / "发票.ofd", page, template))
    assert result.status is ExtractStatus.OK
    assert result.text.splitlines() == [
        "增值税电子普通发票",
        "名称：金乡县人民医院",
        "价税合计（大写）伍佰圆整",
    ]


def test_ofd_pieces_on_one_baseline_are_one_line(tmp_path: Path) -> None:
    """The 公文 whose "根据我市2023年…" came out as 根据我 / 市 / 202 / 3 / 年."""
    pieces = [("根据我", 25), ("市", 37), ("202", 41), ("3", 47.6), ("年护理质控工作安排", 49.8)]
    page = "".join(
        _text_object(i, x, 50, text, extra=f'DeltaX="g {len(text) - 1} {4 if text[0] > "9" else 2.2}"')
        for i, (text, x) in enumerate(pieces)
    )
    page += _text_object(9, 25, 58, "第二行")
    result = extract_text(_ofd(tmp_path / "公文.ofd", page))
    assert result.text.splitlines() == ["根据我市2023年护理质控工作安排", "第二行"]


def test_ofd_reading_order_is_by_position_not_by_file_order(tmp_path: Path) -> None:
    page = _text_object(1, 5, 80, "落款") + _text_object(2, 5, 10, "标题") + _text_object(3, 5, 40, "正文")
    result = extract_text(_ofd(tmp_path / "乱序.ofd", page))
    assert result.text.splitlines() == ["标题", "正文", "落款"]


def test_ofd_text_code_with_delta_y_is_several_lines(tmp_path: Path) -> None:
    page = _text_object(1, 5, 10, "甲乙丙丁", extra='DeltaX="4 -4 4" DeltaY="0 5 0"')
    result = extract_text(_ofd(tmp_path / "竖排.ofd", page))
    assert result.text.splitlines() == ["甲乙", "丙丁"]


@pytest.mark.parametrize("name", ["ofd/1.ofd", "ofd/fptpl.ofd", "ofd/keyword2.ofd", "ofd/999.ofd"])
def test_real_e_invoices_have_their_template_labels(name: str) -> None:
    result = extract_text(real(name))
    assert result.status is ExtractStatus.OK
    assert "增值税电子普通发票" in result.text and "价税合计（大写）" in result.text
    assert "开票人：" in result.text


def test_real_ofd_paragraph_lines_are_whole() -> None:
    result = extract_text(real("ofd/SplitParagraph.ofd"))
    assert "第一段：K*区区区位南Z数" in result.text


# --- point 2: text read wrongly is read again, or marked garbled ------------------------------------------------

GBK_LINE = "关于开展二〇二六年度护理质量控制督查工作的通知各医疗机构按要求做好自查"


def test_pdf_whose_gbk_text_is_shown_as_latin1_is_read_in_gbk(tmp_path: Path) -> None:
    """A PDF that writes GBK bytes under a Western font: readers see ¹ØÓÚ…; the bytes are GBK."""
    raw = GBK_LINE.encode("gbk")
    escaped = b"".join(b"\\%03o" % c for c in raw)
    path = tmp_path / "通知.pdf"
    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
            NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    stream = StreamObject()
    stream._data = b"BT /F1 12 Tf 72 720 Td (" + escaped + b") Tj ET"
    page[NameObject("/Contents")] = writer._add_object(stream)
    with path.open("wb") as fh:
        writer.write(fh)
    result = extract_text(path)
    assert result.status is ExtractStatus.OK, result
    assert GBK_LINE in result.text
    assert result.reason is not None and "GB18030" in result.reason


def _pua_pdf(path: Path) -> Path:
    """A PDF whose font maps every glyph into the private-use area (no real Unicode map)."""
    pairs = " ".join(f"<{0x41 + i:02X}> <{0xE000 + i:04X}>" for i in range(20))
    content = b"BT /F1 12 Tf 72 720 Td (" + bytes(range(0x41, 0x55)) * 3 + b") Tj ET"
    return _pdf_with_font_map(path, pairs, content)


def test_garbled_text_layer_goes_to_ocr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "available", lambda: True)
    monkeypatch.setattr(ocr, "recognize", lambda image: "院感防控督查反馈意见")
    result = extract_text(_pua_pdf(tmp_path / "反馈.pdf"))
    assert result.status is ExtractStatus.OK, result
    assert "院感防控督查反馈意见" in result.text


def test_garbled_text_layer_without_ocr_is_garbled_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ocr, "available", lambda: False)
    result = extract_text(_pua_pdf(tmp_path / "反馈.pdf"))
    assert result.status is ExtractStatus.GARBLED
    assert result.reason is not None and "乱码" in result.reason and "OCR" in result.reason
    assert_reason_is_chinese(result)


@needs_poppler
def test_pypdf_gibberish_is_replaced_by_pdftotext(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CNKI paper: pypdf maps the font wrongly (rare ideographs), poppler rightly."""
    from zhikong.indexer.extractors import pdf

    monkeypatch.setattr(
        pdf,
        "_page_text",
        lambda page: "鍏充簬鍗拌彂鎶ょ悊璐ㄩ噺鎺у埗鏍囧噯鐨勯€氱煡鍚勫尰鐤楁満鏋勮鎸夎姹傚仛濂借嚜鏌",
    )
    path = make_pdf(tmp_path / "论文.pdf", [["关于印发护理质量控制标准的通知各医疗机构要按要求做好自查工作"]])
    result = extract_text(path)
    assert result.status is ExtractStatus.OK, result
    assert "护理质量控制标准" in result.text


def test_real_thesis_manual_that_pypdf_garbles_is_read_by_pdftotext() -> None:
    if not poppler.available():
        pytest.skip("poppler-utils 未安装")
    result = extract_text(real("pdf/thuthesis.pdf"))
    assert result.status is ExtractStatus.OK
    assert "清华大学学位论文模板" in result.text


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("big5", "國家衛生健康委員會關於印發醫療質量控制中心管理規定的通知，各醫療機構認真執行"),
        ("gb18030", "关于印发医疗质量控制中心管理规定的通知，各医疗机构认真执行，按季度上报"),
        ("utf-16-le", "关于印发医疗质量控制中心管理规定的通知，各医疗机构认真执行，按季度上报"),
        ("utf-16-be", "关于印发医疗质量控制中心管理规定的通知，各医疗机构认真执行，按季度上报"),
    ],
)
def test_text_files_in_the_encodings_offices_have(tmp_path: Path, encoding: str, text: str) -> None:
    path = tmp_path / "说明.txt"
    path.write_bytes(text.encode(encoding))
    result = extract_text(path)
    assert result.status is ExtractStatus.OK, result
    assert result.text == text


@pytest.mark.skipif(shutil.which("iconv") is None, reason="iconv 未安装")
def test_euc_tw_text_file() -> None:
    result = extract_text(real("text/euc-tw/_ude_euc-tw1.txt"))
    assert result.status is ExtractStatus.OK
    assert "維基大典" in result.text


@pytest.mark.parametrize(
    "name", ["text/big5/_ude_1.txt", "text/big5/coolloud.org.tw.xml", "text/utf-16/nobom-utf16le.txt"]
)
def test_real_big5_and_utf16_files_are_read(name: str) -> None:
    path = real(name)
    result = extract_text(path)
    assert result.status is ExtractStatus.OK
    expected = path.read_bytes().decode("big5hkscs" if "big5" in name else "utf-16-le")
    assert result.text == expected.strip()


def test_a_text_file_no_encoding_reads_is_garbled() -> None:
    import random

    rng = random.Random(12)
    noise = bytes(rng.choice(range(0x81, 0xFF)) for _ in range(3000))
    result = extract_text_bytes(noise)
    assert result.status is ExtractStatus.GARBLED
    assert_reason_is_chinese(result)


def extract_text_bytes(data: bytes) -> Extraction:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "导出.txt"
        path.write_bytes(data)
        return extract_text(path)


# --- point 7: unreadable files in 收件箱 are unreadable too ------------------------------------------------------


def test_unreadable_and_garbled_files_in_the_inbox_are_reported_as_unreadable(root: Path, run: Run) -> None:
    inbox = root / "护理质控中心" / "收件箱"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "坏的.docx").write_bytes(b"PK\x03\x04" + b"garbage" * 100)
    import random

    rng = random.Random(12)
    (inbox / "导出.txt").write_bytes(bytes(rng.choice(range(0x81, 0xFF)) for _ in range(3000)))
    run("scan")
    findings = as_json(run("check", "--json", expect=None))["findings"]
    unreadable = {
        Path(f["paths"][0]).name: f["message"] for f in findings if f["rule"] == "record.unreadable"
    }
    unclassified = {Path(f["paths"][0]).name for f in findings if f["rule"] == "record.unclassified"}
    assert set(unreadable) == {"坏的.docx", "导出.txt"}
    assert {"坏的.docx", "导出.txt"} <= unclassified
    assert "乱码" in unreadable["导出.txt"] and "损坏" in unreadable["坏的.docx"]


# --- point 5: the formats people have ------------------------------------------------------------------------

_ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"'
)


def _odf(path: Path, mimetype: str, body: str) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", f"application/vnd.oasis.opendocument.{mimetype}")
        zf.writestr(
            "content.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODF_NS}>'
            f"<office:body>{body}</office:body></office:document-content>",
        )
        zf.writestr(
            "META-INF/manifest.xml",
            '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>',
        )
    return path


def test_odt_paragraphs_spaces_and_tables(tmp_path: Path) -> None:
    body = (
        "<office:text><text:h>关于开展院感督查的通知</text:h>"
        '<text:p>各成员单位<text:s text:c="2"/>：<text:span>请于</text:span>五月十日前自查。</text:p>'
        "<table:table><table:table-row><table:table-cell><text:p>科室</text:p></table:table-cell>"
        "<table:table-cell><text:p>得分</text:p></table:table-cell></table:table-row></table:table>"
        "</office:text>"
    )
    result = extract_text(_odf(tmp_path / "通知.odt", "text", body))
    assert result.status is ExtractStatus.OK
    assert result.text.splitlines() == [
        "关于开展院感督查的通知",
        "各成员单位  ：请于五月十日前自查。",
        "科室\t得分",
    ]


def test_ods_repeated_cells_cost_nothing_and_sheets_are_named(tmp_path: Path) -> None:
    body = (
        '<office:spreadsheet><table:table table:name="签到表"><table:table-row>'
        "<table:table-cell><text:p>张丽</text:p></table:table-cell>"
        '<table:table-cell table:number-columns-repeated="1048576"/></table:table-row>'
        '<table:table-row table:number-rows-repeated="1048000"><table:table-cell '
        'table:number-columns-repeated="1024"/></table:table-row>'
        '<table:table-row table:number-rows-repeated="3"><table:table-cell><text:p>同</text:p>'
        "</table:table-cell></table:table-row></table:table></office:spreadsheet>"
    )
    result = extract_text(_odf(tmp_path / "签到表.ods", "spreadsheet", body))
    assert result.status is ExtractStatus.OK
    assert result.text.splitlines() == ["签到表", "张丽", "同", "同", "同"]


def test_odp_slides(tmp_path: Path) -> None:
    body = (
        "<office:presentation><draw:page><draw:frame><draw:text-box><text:p>手卫生培训</text:p>"
        "</draw:text-box></draw:frame></draw:page><draw:page><draw:frame><draw:text-box>"
        "<text:p>六步洗手法</text:p></draw:text-box></draw:frame></draw:page></office:presentation>"
    )
    result = extract_text(_odf(tmp_path / "课件.odp", "presentation", body))
    assert result.status is ExtractStatus.OK and result.pages == 2
    assert result.text.splitlines() == ["手卫生培训", "六步洗手法"]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("odt/simpletable.odt", "Cell 3 (bold)"),
        ("ods/countrystatistics.ods", "Austria"),
        ("odp/ol.odp", "Tsvey"),
    ],
)
def test_real_opendocument_files(name: str, words: str) -> None:
    result = extract_text(real(name))
    assert result.status is ExtractStatus.OK and words in result.text


_NUMBERING = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:numbering xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:abstractNum w:abstractNumId="7">
 <w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="%1、"/></w:lvl>
 <w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="（%2）"/></w:lvl>
 <w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%3."/></w:lvl>
</w:abstractNum>
<w:abstractNum w:abstractNumId="8">
 <w:lvl w:ilvl="0"><w:numFmt w:val="bullet"/><w:lvlText w:val="\uf0b7"/></w:lvl>
</w:abstractNum>
<w:num w:numId="3"><w:abstractNumId w:val="7"/></w:num>
<w:num w:numId="4"><w:abstractNumId w:val="8"/></w:num>
</w:numbering>"""


def test_docx_automatic_numbering_and_bullets_are_in_the_text(tmp_path: Path) -> None:
    from docx import Document
    from docx.oxml import parse_xml

    doc = Document()
    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    paragraphs = [
        ("总体要求", 3, 0), ("工作目标", 3, 1), ("重点任务", 3, 1), ("细化措施", 3, 2), ("再细化", 3, 2),
        ("保障措施", 3, 0), ("加强领导", 3, 1), ("手卫生", 4, 0),
    ]  # fmt: skip
    for text, num_id, level in paragraphs:
        p = doc.add_paragraph(text)
        p._p.get_or_add_pPr().append(
            parse_xml(f'<w:numPr {ns}><w:ilvl w:val="{level}"/><w:numId w:val="{num_id}"/></w:numPr>')
        )
    plain = tmp_path / "plain.docx"
    doc.save(str(plain))
    path = tmp_path / "实施方案.docx"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            if item.filename != "word/numbering.xml":
                dst.writestr(item, src.read(item))
        dst.writestr("word/numbering.xml", _NUMBERING)
    result = extract_text(path)
    assert result.status is ExtractStatus.OK
    assert result.text.splitlines() == [
        "一、总体要求", "（一）工作目标", "（二）重点任务", "1.细化措施", "2.再细化",
        "二、保障措施", "（一）加强领导", "• 手卫生",
    ]  # fmt: skip


@pytest.mark.libreoffice
@needs_soffice
def test_rtf_with_chinese(tmp_path: Path) -> None:
    src = make_docx(tmp_path / "src" / "通知.docx", "会议通知", ["定于三月召开护理质控工作会议"])
    subprocess.run(
        ["soffice", f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}", "--headless", "--convert-to", "rtf",
         "--outdir", str(tmp_path), str(src)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    result = extract_text(tmp_path / "通知.rtf")
    assert result.status is ExtractStatus.OK
    assert "定于三月召开护理质控工作会议" in result.text


class _LegacyName(zipfile.ZipInfo):
    """A member name written in the system code page without the UTF-8 flag, as on Chinese Windows."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:  # zipfile's own method name
        return self.filename.encode("cp437"), self.flag_bits


def test_zip_of_attachments_lists_and_reads_them(tmp_path: Path) -> None:
    notice = make_docx(tmp_path / "src" / "会议通知.docx", "会议通知", ["定于三月召开护理质控工作会议"])
    inner = tmp_path / "src" / "inner.zip"
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("深处.txt", "不应被打开")
    path = tmp_path / "附件.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(notice, "附件1 会议通知.docx")
        zf.writestr("附件2 回执.txt", "参会回执：姓名、单位、联系电话".encode("gbk"))
        zf.write(inner, "旧资料.zip")
        # A name as Chinese Windows writes it: GBK bytes, no UTF-8 flag.
        info = _LegacyName("签到表.csv".encode("gbk").decode("cp437"))
        zf.writestr(info, "姓名,单位\n张丽,县中医院\n".encode("gbk"))
    result = extract_text(path)
    assert result.status is ExtractStatus.OK
    lines = result.text.splitlines()
    assert lines[:5] == [
        "压缩包内共 4 个文件：",
        "附件1 会议通知.docx",
        "附件2 回执.txt",
        "旧资料.zip",
        "签到表.csv",
    ]
    assert "定于三月召开护理质控工作会议" in result.text and "参会回执" in result.text
    assert "张丽,县中医院" in result.text
    assert "不应被打开" not in result.text


def test_zip_bomb_of_attachments_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "附件.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("通知.txt", b"\x00" * (64 * 1024 * 1024))
    result = extract_text(path)
    assert result.status is ExtractStatus.UNREADABLE
    assert result.reason is not None and "压缩" in result.reason


def test_real_rar_is_listed_and_read() -> None:
    result = extract_text(real("rar/rar5-subdirs.rar"))
    assert result.status is ExtractStatus.OK
    assert "sub/dir1/file1.txt" in result.text and "【sub/dir1/file1.txt】" in result.text


def test_real_encrypted_rar_says_encrypted() -> None:
    result = extract_text(real("rar/rar5-psw.rar"))
    assert result.reason is not None and "加密" in result.reason
    assert "stest1.txt" in result.text


# --- point 8: memory ------------------------------------------------------------------------------------------

needs_ocr_engine = pytest.mark.skipif(
    not ocr.available(), reason='OCR extra not installed: pip install -e ".[ocr]"'
)


def _phone_photo(path: Path) -> Path:
    """A 12-megapixel JPEG of a sign-in sheet, as a phone takes it (4000 × 3000, sideways in EXIF)."""
    from conftest import cjk_font
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (4000, 3000), (236, 233, 226))
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(cjk_font(), 120)
    for i, line in enumerate(["院感防控督查签到表", "金乡县人民医院 张建国", "羊山镇卫生院 王芳"]):
        draw.text((300, 400 + 300 * i), line, fill="black", font=font)
    img.save(path, quality=92)
    return path


@needs_ocr_engine
def test_photo_is_reduced_to_the_engines_resolution_before_ocr(tmp_path: Path) -> None:
    array = ocr.prepare(_phone_photo(tmp_path / "IMG_0001.jpg").read_bytes())
    assert max(array.shape[:2]) <= ocr.MAX_SIDE and array.shape[2] == 3


@needs_ocr_engine
def test_ocr_engine_is_loaded_once_per_process(tmp_path: Path) -> None:
    photo = _phone_photo(tmp_path / "IMG_0001.jpg").read_bytes()
    ocr.recognize(photo)
    loads = ocr._engine.cache_info().misses
    ocr.recognize(photo)
    assert ocr._engine.cache_info().misses == loads


@needs_ocr_engine
def test_a_12_megapixel_photo_is_read_within_the_memory_budget(tmp_path: Path) -> None:
    """It took 780 MB and 18 s; read in a fresh process (as the worker does), the whole process must stay
    under 600 MB, engine included."""
    photo = _phone_photo(tmp_path / "IMG_0001.jpg")
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across fork and exec, so a child of a large pytest
    # process would report the parent's size (753 MB at the end of the full suite).
    script = (
        "import re, sys, time\n"
        "from pathlib import Path\n"
        "from zhikong.indexer.extract import extract_text\n"
        "start = time.monotonic()\n"
        "r = extract_text(Path(sys.argv[1]))\n"
        "hwm = int(re.search(r'VmHWM:\\s+(\\d+)', Path('/proc/self/status').read_text()).group(1))\n"
        "print(r.status.value, repr(r.text), time.monotonic() - start, hwm // 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(photo)], capture_output=True, text=True, check=True
    )
    status, rest = done.stdout.split(" ", 1)
    text, seconds, peak_mb = rest.rsplit(" ", 2)
    assert status == "ok" and "院感防控督查签到表" in text and "张建国" in text
    assert int(peak_mb) < 600, f"{peak_mb} MB, {float(seconds):.1f} s"
