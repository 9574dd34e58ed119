"""Text extraction from real files made on the spot, including the bad inputs an archive meets."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from docx import Document
from pypdf import PdfWriter

from zhikong.archive.samplefiles import make_docx, make_pdf, make_pptx, make_xlsx
from zhikong.indexer import ocr
from zhikong.indexer.extract import ExtractStatus, extract_text, sniff

needs_soffice = pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) 未安装")


def _soffice_convert(src: Path, ext: str, out_dir: Path) -> Path:
    profile = out_dir / "lo-profile"
    subprocess.run(
        ["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", ext,
         "--outdir", str(out_dir), str(src)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return out_dir / f"{src.stem}.{ext}"


# --- every format -------------------------------------------------------------------------------------


def test_docx_body_table_title(tmp_path: Path) -> None:
    path = make_docx(
        tmp_path / "督查记录.docx",
        "院感防控督查记录",
        ["2026年5月10日，质控中心对县人民医院开展院感防控督查。"],
        table=[["科室", "问题"], ["重症医学科", "手卫生依从性不足"]],
    )
    result = extract_text(path)
    assert result.status is ExtractStatus.OK
    assert "开展院感防控督查" in result.text
    assert "手卫生依从性不足" in result.text
    assert result.title == "院感防控督查记录"


def test_docx_headers_and_footers(tmp_path: Path) -> None:
    doc = Document()
    doc.add_paragraph("正文：病历质量整改报告")
    section = doc.sections[0]
    section.header.paragraphs[0].text = "金乡县护理质控中心"
    section.footer.paragraphs[0].text = "联系人：王秘书"
    path = tmp_path / "整改报告.docx"
    doc.save(str(path))
    result = extract_text(path)
    assert result.status is ExtractStatus.OK
    assert "金乡县护理质控中心" in result.text
    assert "联系人：王秘书" in result.text
    assert "病历质量整改报告" in result.text


def test_docx_title_falls_back_to_first_heading(tmp_path: Path) -> None:
    doc = Document()
    doc.add_heading("关于召开第一次工作会议的通知", level=1)
    doc.add_paragraph("各成员单位：")
    path = tmp_path / "通知.docx"
    doc.save(str(path))
    assert extract_text(path).title == "关于召开第一次工作会议的通知"


def test_pptx_slides_and_notes(tmp_path: Path) -> None:
    path = make_pptx(
        tmp_path / "课件.pptx", "手卫生规范培训", ["六步洗手法要点"], notes=["讲者备注：强调五个时刻"]
    )
    result = extract_text(path)
    assert result.status is ExtractStatus.OK
    assert "六步洗手法要点" in result.text
    assert "强调五个时刻" in result.text
    assert result.title == "手卫生规范培训"
    assert result.pages == 2


def test_xlsx_cells(tmp_path: Path) -> None:
    path = make_xlsx(
        tmp_path / "签到表.xlsx", "第一次工作会议签到表", ["姓名", "单位"], [["张丽", "县中医院"]]
    )
    result = extract_text(path)
    assert result.status is ExtractStatus.OK
    assert "第一次工作会议签到表" in result.text
    assert "张丽\t县中医院" in result.text


def test_pdf_text_layer(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "反馈意见.pdf", [["督查反馈意见", "病案首页填写不完整"], ["第二页：限期整改"]])
    result = extract_text(path)
    assert result.status is ExtractStatus.OK
    assert "病案首页填写不完整" in result.text
    assert "限期整改" in result.text
    assert result.pages == 2


def test_utf8_text(tmp_path: Path) -> None:
    path = tmp_path / "说明.txt"
    path.write_text("质控中心工作说明", encoding="utf-8")
    assert extract_text(path).text == "质控中心工作说明"


def test_gbk_text(tmp_path: Path) -> None:
    path = tmp_path / "旧系统导出.txt"
    path.write_bytes("麻醉质控中心年度工作总结，病历质量持续改进".encode("gbk"))
    result = extract_text(path)
    assert result.status is ExtractStatus.OK
    assert result.text == "麻醉质控中心年度工作总结，病历质量持续改进"


def test_gb18030_csv(tmp_path: Path) -> None:
    path = tmp_path / "得分.csv"
    path.write_bytes("科室,得分\n检验科,95\n".encode("gb18030"))
    assert "检验科,95" in extract_text(path).text


def _make_ofd(path: Path, title: str, pages: list[list[str]]) -> Path:
    ns = 'xmlns:ofd="http://www.ofdspec.org/2016"'
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(
            "OFD.xml",
            f'<ofd:OFD {ns} Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:Title>{title}'
            "</ofd:Title></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>",
        )
        page_refs = "".join(
            f'<ofd:Page ID="{i + 10}" BaseLoc="Pages/Page_{i}/Content.xml"/>' for i in range(len(pages))
        )
        zf.writestr(
            "Doc_0/Document.xml", f"<ofd:Document {ns}><ofd:Pages>{page_refs}</ofd:Pages></ofd:Document>"
        )
        for i, lines in enumerate(pages):
            objs = "".join(
                f'<ofd:TextObject ID="{100 + j}" Boundary="0 {j * 10} 100 10" Font="1" Size="4">'
                f'<ofd:TextCode X="0" Y="5">{line}</ofd:TextCode></ofd:TextObject>'
                for j, line in enumerate(lines)
            )
            zf.writestr(
                f"Doc_0/Pages/Page_{i}/Content.xml",
                f'<ofd:Page {ns}><ofd:Content><ofd:Layer ID="1">{objs}</ofd:Layer></ofd:Content></ofd:Page>',
            )
    return path


def test_ofd(tmp_path: Path) -> None:
    path = _make_ofd(
        tmp_path / "批复.ofd", "关于质控中心考核结果的通报", [["考核结果通报"], ["护理质控中心 优秀"]]
    )
    result = extract_text(path)
    assert result.status is ExtractStatus.OK
    assert result.text.splitlines() == ["考核结果通报", "护理质控中心 优秀"]
    assert result.title == "关于质控中心考核结果的通报"
    assert result.pages == 2


@pytest.mark.libreoffice
@needs_soffice
def test_legacy_doc_via_libreoffice(tmp_path: Path) -> None:
    src = make_docx(tmp_path / "src" / "旧版通知.docx", "会议通知", ["定于三月召开药事质控工作会议"])
    doc = _soffice_convert(src, "doc", tmp_path)
    assert doc.read_bytes()[:4] == b"\xd0\xcf\x11\xe0"
    result = extract_text(doc)
    assert result.status is ExtractStatus.OK
    assert "定于三月召开药事质控工作会议" in result.text


@pytest.mark.libreoffice
@needs_soffice
def test_docx_that_is_really_xls(tmp_path: Path) -> None:
    src = make_xlsx(tmp_path / "src" / "评分.xlsx", "考核评分表", ["项目", "得分"], [["病例抽查", 7]])
    renamed = tmp_path / "评分表.docx"
    _soffice_convert(src, "xls", tmp_path).rename(renamed)
    assert sniff(renamed) == "xls"
    result = extract_text(renamed)
    assert result.status is ExtractStatus.OK
    assert "病例抽查" in result.text


def test_legacy_without_libreoffice_is_unsupported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no soffice on this PATH
    path = tmp_path / "旧文件.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "WordDocument".encode("utf-16-le") + b"\x00" * 512)
    result = extract_text(path)
    assert result.status is ExtractStatus.UNSUPPORTED
    assert result.reason is not None and "LibreOffice" in result.reason


# --- bad input ----------------------------------------------------------------------------------------


def test_pdf_without_text_layer_needs_ocr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "available", lambda: False)  # as on a machine without the OCR extra
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    path = tmp_path / "扫描件.pdf"
    with path.open("wb") as fh:
        writer.write(fh)
    result = extract_text(path)
    assert result.status is ExtractStatus.NEEDS_OCR
    assert result.reason is not None and "OCR" in result.reason


def test_image_needs_ocr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "available", lambda: False)
    path = tmp_path / "照片.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100)
    assert extract_text(path).status is ExtractStatus.NEEDS_OCR


def test_encrypted_pdf(tmp_path: Path) -> None:
    plain = make_pdf(tmp_path / "plain.pdf", [["机密：不良事件分析"]])
    writer = PdfWriter(clone_from=str(plain))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    path = tmp_path / "加密.pdf"
    with path.open("wb") as fh:
        writer.write(fh)
    result = extract_text(path)
    assert result.status is ExtractStatus.UNREADABLE
    assert result.reason is not None and "加密" in result.reason
    assert "不良事件" not in result.text


def test_docx_that_is_really_xlsx(tmp_path: Path) -> None:
    src = make_xlsx(tmp_path / "x.xlsx", "护理质控考核得分", ["科室", "得分"], [["急诊科", 92]])
    renamed = tmp_path / "得分.docx"
    src.rename(renamed)
    result = extract_text(renamed)
    assert result.status is ExtractStatus.OK
    assert "护理质控考核得分" in result.text
    assert "急诊科\t92" in result.text


def test_zip_bomb_inside_docx_is_refused(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "炸弹.docx", "看似正常的通知", ["正文"])
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/media/image1.bin", b"\x00" * (64 * 1024 * 1024))
    assert path.stat().st_size < 1024 * 1024
    result = extract_text(path)
    assert result.status is ExtractStatus.UNREADABLE
    assert result.reason is not None and "压缩" in result.reason


def test_5000_page_pdf_is_capped(tmp_path: Path) -> None:
    line = "院感防控督查记录，县人民医院感染管理科。"
    path = make_pdf(tmp_path / "长文档.pdf", [[f"第{i + 1}页", line] for i in range(5000)])
    result = extract_text(path, max_chars=5_000)
    assert result.status is ExtractStatus.OK
    assert result.truncated
    assert len(result.text) <= 5_000
    assert result.pages == 5000
    assert result.reason is not None and "5000 页" in result.reason and "5,000 字" in result.reason
    assert "第1页" in result.text and "第5000页" not in result.text


def test_long_text_file_is_capped(tmp_path: Path) -> None:
    path = tmp_path / "长.txt"
    path.write_text("质控" * 10_000, encoding="utf-8")
    result = extract_text(path, max_chars=1_000)
    assert result.truncated and len(result.text) == 1_000
    assert result.reason is not None and "1,000" in result.reason


def test_corrupt_docx(tmp_path: Path) -> None:
    path = tmp_path / "坏.docx"
    path.write_bytes(b"PK\x03\x04" + b"garbage" * 100)
    result = extract_text(path)
    assert result.status is ExtractStatus.UNREADABLE
    assert result.reason is not None and "损坏" in result.reason


def test_truncated_pdf(tmp_path: Path) -> None:
    good = make_pdf(tmp_path / "good.pdf", [["会议纪要"]]).read_bytes()
    path = tmp_path / "坏.pdf"
    path.write_bytes(good[:200])
    result = extract_text(path)
    assert result.status in (ExtractStatus.UNREADABLE, ExtractStatus.EMPTY, ExtractStatus.NEEDS_OCR)
    assert result.reason


def test_pdf_extension_on_binary_garbage(tmp_path: Path) -> None:
    path = tmp_path / "不是PDF.pdf"
    path.write_bytes(b"\x00\x01\x02" * 100)
    result = extract_text(path)
    assert result.status is ExtractStatus.UNREADABLE
    assert result.reason is not None and "不符" in result.reason


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "空.docx"
    path.write_bytes(b"")
    result = extract_text(path)
    assert result.status is ExtractStatus.EMPTY
    assert result.reason


def test_unknown_binary_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "数据.bin"
    path.write_bytes(b"\x00\x7fELF" + bytes(range(256)))
    assert extract_text(path).status is ExtractStatus.UNSUPPORTED


def test_password_protected_office_file(tmp_path: Path) -> None:
    path = tmp_path / "加密.docx"
    path.write_bytes(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 512
    )
    result = extract_text(path)
    assert result.status is ExtractStatus.UNREADABLE
    assert result.reason is not None and "加密" in result.reason


def test_pdf_with_only_a_permissions_password_is_read(tmp_path: Path) -> None:
    # Official PDFs are often locked against editing (owner password, AES) but open without a password.
    plain = make_pdf(tmp_path / "plain.pdf", [["关于印发护理质量控制标准的通知"]])
    writer = PdfWriter(clone_from=str(plain))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-256")
    path = tmp_path / "限制编辑.pdf"
    with path.open("wb") as fh:
        writer.write(fh)
    result = extract_text(path)
    assert result.status is ExtractStatus.OK and "护理质量控制标准" in result.text
