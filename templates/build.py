"""Build the shipped .docx templates from code, byte for byte reproducibly.

    python templates/build.py           # rewrite templates/*.docx
    python templates/build.py --check   # exit 1 if a committed template differs from what this builds

Users may open and adjust the results in Word/WPS (styles 公文正文, 公文标题 … hold the look); this
script is how the repository's versions are made, so a change to a template is a change here.
"""

from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from docx.oxml.ns import qn

from zhikong.generator import gbt9704 as gb
from zhikong.generator.ooxml import (
    child,
    ppr_align,
    ppr_border,
    ppr_frame,
    ppr_indent,
    ppr_spacing,
    ppr_tab,
    rpr_size,
    set_attrs,
)

HERE = Path(__file__).resolve().parent
FIXED_TIME = datetime(2026, 1, 1, 0, 0, 0)


def _para(doc: Any, text: str, style: str = gb.S_BODY) -> Any:
    paragraph = doc.add_paragraph(style=doc.styles[style])
    if text:
        gb.add_text(paragraph, text)
    return paragraph


def _red_head(doc: Any, number_line: str | None) -> None:
    """版头 of a document in the centre's or bureau's name: red organ mark, optional number, red rule."""
    _para(doc, "{{ organ_mark }}", gb.S_ORGAN)
    _para(doc, number_line or "", gb.S_NUMBER)


def build_notice() -> Any:
    """通知 (下行文): 发文字号 centred under the organ mark."""
    doc = gb.new_document()
    gb.set_header_text(doc, "{{ draft_mark }}")
    _red_head(doc, "{{ doc_number }}")
    _notice_main(doc)
    return doc


def build_request() -> Any:
    """请示 (上行文): 发文字号 left, 签发人 right on the same line (GB/T 9704 §7.2.4)."""
    doc = gb.new_document()
    gb.set_header_text(doc, "{{ draft_mark }}")
    _para(doc, "{{ organ_mark }}", gb.S_ORGAN)
    number = _para(doc, "\t{{ doc_number }}\t签发人：", gb.S_NUMBER)
    ppr = number._p.get_or_add_pPr()
    ppr_align(ppr, "left")
    ppr_tab(ppr, gb.CHAR, "left")
    ppr_tab(ppr, gb.TYPE_WIDTH - gb.CHAR, "right")
    gb.add_text(number, "{{ signed_by }}", font=gb.KAITI)
    _notice_main(doc)
    return doc


def _notice_main(doc: Any) -> None:
    _para(doc, "{{ title }}", gb.S_TITLE)
    _para(doc, "{{ to }}", gb.S_TO)
    _para(doc, "{{p body }}")
    _para(doc, "{{p closing }}")
    gb.add_imprint(doc)


def _plain_head(doc: Any, title: str) -> None:
    """A working paper's title, at the top of the type area (no 版头)."""
    title_paragraph = _para(doc, title, gb.S_TITLE)
    ppr_spacing(title_paragraph._p.get_or_add_pPr(), line=gb.LINE + 120, after=gb.LINE)


def _closing(doc: Any) -> None:
    """署名 and date, right-aligned two characters in (no seal on these working papers)."""
    signer = _para(doc, "{{ signer }}", gb.S_SIGNER)
    ppr = signer._p.get_or_add_pPr()
    ppr_spacing(ppr, line=gb.LINE, before=2 * gb.LINE)
    ppr_indent(ppr, right=2 * gb.CHAR)
    date = _para(doc, "{{ date }}", gb.S_DATE)
    ppr_indent(date._p.get_or_add_pPr(), right=2 * gb.CHAR)


def _body_loop(doc: Any, variable: str) -> None:
    """Multi-line text: generator.render makes each line its own 公文正文 paragraph."""
    _para(doc, "{{ " + variable + " }}")


def build_letter() -> Any:
    """函 in 信函格式 (GB/T 9704 §10.1).

    The organ name 30 mm from the top of the page, centred, red; under it a red double line (thick over
    thin) 170 mm long, and another (thin over thick) 20 mm from the foot of the first page; the 发文字号
    flush right under the upper line; no page number on the first page. Both lines are frames placed on
    the page, so the body below keeps the ordinary grid.
    """
    doc = gb.new_document()
    section = doc.sections[0]
    section.different_first_page_header_footer = True  # the first page's footer stays empty
    gb.set_header_text(doc, "{{ draft_mark }}")
    mark = _para(doc, "{{ organ_mark }}", gb.S_ORGAN)
    ppr = mark._p.get_or_add_pPr()
    ppr_frame(ppr, x=gb.mm(20), y=gb.LETTER_MARK_Y, width=gb.mm(170))
    ppr_spacing(ppr, line=gb.ORGAN_MARK_LINE)
    ppr_border(ppr, "bottom", size=24, color=gb.RED, space=gb.LETTER_LINE_SPACE, style="thickThinSmallGap")
    foot = _para(doc, "")
    ppr = foot._p.get_or_add_pPr()
    ppr_frame(ppr, x=gb.mm(20), y=gb.LETTER_FOOT_LINE_Y, width=gb.mm(170))
    ppr_spacing(ppr, line=20)
    ppr_border(ppr, "top", size=24, color=gb.RED, space=0, style="thickThinSmallGap")
    # The 发文字号 style (what approval fills in), flush right and without the 版头's red rule below it.
    number = _para(doc, "{{ doc_number }}", gb.S_NUMBER)
    ppr = number._p.get_or_add_pPr()
    ppr_align(ppr, "right")
    ppr_spacing(ppr, line=gb.LINE, before=gb.LETTER_NUMBER_BEFORE)
    ppr_border(ppr, "bottom", size=0, color="auto", space=0, style="nil")
    _para(doc, "{{ title }}", gb.S_TITLE)
    _para(doc, "{{ to }}：", gb.S_TO)
    _body_loop(doc, "body")
    _closing(doc)
    _para(doc, "（联系人：{{ contact }}）", gb.S_NOTE)
    return doc


def build_minutes() -> Any:
    """会议纪要 (纪要格式, GB/T 9704 §10.3): red 纪要 mark, 期数, title, the meeting's facts, the decisions,
    then 出席 / 请假 / 列席 one line below the body, the labels in 黑体, names wrapping under the first name.
    """
    doc = gb.new_document()
    _para(doc, "{{ organ_mark }}", gb.S_ORGAN)
    number = _para(doc, "{{ issue_no }}", gb.S_NUMBER)
    ppr_tab(number._p.get_or_add_pPr(), gb.TYPE_WIDTH, "right")
    _para(doc, "{{ title }}", gb.S_TITLE)
    for label, variable in (
        ("会议时间", "meeting_time"),
        ("会议地点", "meeting_place"),
        ("主持人", "host"),
        ("记录人", "recorder"),
    ):
        paragraph = _para(doc, "")
        gb.add_text(paragraph, label + "：", font=gb.HEITI)
        gb.add_text(paragraph, "{{ " + variable + " }}")
    _para(doc, "会议议定事项如下：")
    _body_loop(doc, "body")
    for index, (label, variable) in enumerate(
        (("出席", "attendees"), ("请假", "absent"), ("列席", "observers"))
    ):
        if index:
            _para(doc, "{%p if " + variable + " %}")
        paragraph = _para(doc, "")
        ppr = paragraph._p.get_or_add_pPr()
        # "出席：" two characters in; a long list wraps under its first name (after the colon).
        ppr_indent(ppr, left=2 * gb.CHAR + 3 * 315, hanging=3 * 315)
        if index == 0:
            ppr_spacing(ppr, line=gb.LINE, before=gb.LINE)
        gb.add_text(paragraph, label + "：", font=gb.HEITI)
        gb.add_text(paragraph, "{{ " + variable + " }}")
        if index:
            _para(doc, "{%p endif %}")
    _closing(doc)
    return doc


def build_annual_plan() -> Any:
    """年度工作计划."""
    doc = gb.new_document()
    _plain_head(doc, "{{ center }}{{ year }}年度工作计划")
    _body_loop(doc, "body")
    _closing(doc)
    return doc


def build_summary() -> Any:
    """半年/年度工作总结 (period: 上半年 | 年度)."""
    doc = gb.new_document()
    _plain_head(doc, "{{ center }}{{ year }}{{ period }}工作总结")
    _body_loop(doc, "body")
    _closing(doc)
    return doc


def _table(doc: Any, headers: list[str], widths_chars: list[int], loop: str, cells: list[str]) -> Any:
    """A bordered table: header row repeated on each page, then a docxtpl row loop over ``loop``."""
    table = doc.add_table(rows=4, cols=len(headers))
    table.style = doc.styles["Table Grid"]
    unit = gb.TYPE_WIDTH // sum(widths_chars)
    header_row = table.rows[0]
    child(header_row._tr.get_or_add_trPr(), "w:tblHeader")  # on (CT_OnOff without a value)
    for index, text in enumerate(headers):
        cell = header_row.cells[index]
        cell.paragraphs[0].style = doc.styles[gb.S_TABLE_HEAD]
        gb.add_text(cell.paragraphs[0], text)
    table.rows[1].cells[0].paragraphs[0].add_run("{%tr for item in " + loop + " %}")
    for index, text in enumerate(cells):
        cell = table.rows[2].cells[index]
        cell.paragraphs[0].style = doc.styles[gb.S_CELL]
        gb.add_text(cell.paragraphs[0], text)
    table.rows[3].cells[0].paragraphs[0].add_run("{%tr endfor %}")
    for row in table.rows:
        for index, cell in enumerate(row.cells):
            cell.width = gb.twips_to_emu(unit * widths_chars[index])
    # The grid says the same widths as the cells (Word and WPS lay a table out by its grid).
    for column, chars in zip(table._tbl.tblGrid.findall(qn("w:gridCol")), widths_chars, strict=True):
        set_attrs(column, w=unit * chars)
    return table


def build_inspection_feedback() -> Any:
    """督查反馈意见书: what was inspected, the problems found, what must be rectified by when."""
    doc = gb.new_document()
    _plain_head(doc, "{{ center }}督查反馈意见书")
    _para(doc, "{{ to }}：", gb.S_TO)
    _para(
        doc,
        "{{ inspection_date }}，{{ center }}组织{{ inspectors }}对你单位开展了{{ subject }}督查。"
        "现将督查发现的问题反馈如下：",
    )
    _para(doc, "一、存在的问题", gb.S_H1)
    _para(doc, "{%p for item in findings %}")
    _para(doc, "{{ loop.index }}. {{ item }}", gb.S_H3)
    _para(doc, "{%p endfor %}")
    _para(doc, "二、整改要求", gb.S_H1)
    _body_loop(doc, "requirements")
    _para(doc, "请于{{ deadline }}前将整改报告报送{{ center }}。届时将组织回头看。")
    _closing(doc)
    return doc


def build_rectification_notice() -> Any:
    """整改通知书 with the three lists of J19: 问题清单、责任清单、整改清单."""
    doc = gb.new_document()
    _plain_head(doc, "整改通知书")
    number = _para(doc, "{{ doc_number }}", gb.S_TO)
    ppr_align(number._p.get_or_add_pPr(), "center")
    _para(doc, "{{ to }}：", gb.S_TO)
    _para(
        doc,
        "根据{{ inspection }}情况，现将问题清单、责任清单和整改清单通知如下，请于{{ deadline }}前"
        "完成整改，并将整改报告报送{{ center }}。",
    )
    _para(doc, "一、问题清单", gb.S_H1)
    _table(
        doc,
        ["序号", "存在问题", "依据"],
        [2, 9, 5],
        "problems",
        ["{{ loop.index }}", "{{ item.problem }}", "{{ item.basis }}"],
    )
    _para(doc, "二、责任清单", gb.S_H1)
    _table(
        doc,
        ["序号", "问题", "责任科室", "责任人"],
        [2, 8, 3, 3],
        "responsibilities",
        ["{{ loop.index }}", "{{ item.problem }}", "{{ item.department }}", "{{ item.person }}"],
    )
    _para(doc, "三、整改清单", gb.S_H1)
    _table(
        doc,
        ["序号", "整改措施", "完成时限", "完成标准"],
        [2, 7, 3, 4],
        "rectifications",
        ["{{ loop.index }}", "{{ item.measure }}", "{{ item.deadline }}", "{{ item.standard }}"],
    )
    _closing(doc)
    return doc


def build_sign_in() -> Any:
    """签到表: printable, ``rows`` empty numbered rows (an integer in the data file)."""
    doc = gb.new_document()
    _plain_head(doc, "{{ title }}")
    info = _para(doc, "时间：{{ meeting_time }}\t地点：{{ meeting_place }}", gb.S_TO)
    info_ppr = info._p.get_or_add_pPr()
    ppr_spacing(info_ppr, line=gb.LINE, before=gb.LINE // 2, after=gb.LINE // 4)
    ppr_tab(info_ppr, gb.TYPE_WIDTH // 2, "left")
    table = _table(
        doc,
        ["序号", "姓名", "单位", "职务/职称", "联系电话", "签名"],
        [2, 3, 6, 3, 4, 4],
        "range(rows)",
        ["{{ item + 1 }}", "", "", "", "", ""],
    )
    # Tall rows leave room for a handwritten signature.
    tr_pr = table.rows[2]._tr.get_or_add_trPr()
    set_attrs(child(tr_pr, "w:trHeight"), val=gb.mm(11), hRule="exact")
    for cell in table.rows[2].cells:
        set_attrs(child(cell._tc.get_or_add_tcPr(), "w:vAlign"), val="center")
    note = _para(doc, "注：请参会人员本人签名，不得代签。", gb.S_TO)
    rpr_size(child(note._p.get_or_add_pPr(), "w:rPr"), 12)
    return doc


BUILDERS: dict[str, Callable[[], Any]] = {
    "notice": build_notice,
    "request": build_request,
    "letter": build_letter,
    "minutes": build_minutes,
    "annual_plan": build_annual_plan,
    "summary": build_summary,
    "inspection_feedback": build_inspection_feedback,
    "rectification_notice": build_rectification_notice,
    "sign_in": build_sign_in,
}


def build_bytes(name: str) -> bytes:
    """The template ``name`` as .docx bytes, identical on every run (fixed zip and document times)."""
    doc = BUILDERS[name]()
    doc.core_properties.created = FIXED_TIME
    doc.core_properties.modified = FIXED_TIME
    doc.core_properties.revision = 1
    raw = io.BytesIO()
    doc.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name in BUILDERS:
        path = HERE / f"{name}.docx"
        data = build_bytes(name)
        if check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(path.name)
        else:
            path.write_bytes(data)
    if stale:
        print("模板与 templates/build.py 不一致，请运行 python templates/build.py：" + "、".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
