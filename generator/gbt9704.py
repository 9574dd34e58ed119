"""GB/T 9704-2012 page layout: page setup, named styles, page numbers, 版头 and 版记.

Used by ``templates/build.py`` to make the shipped templates and by ``generator.notice`` to write the
body paragraphs. Every look a user may want to change in Word/WPS lives in a named paragraph style
(公文正文, 公文一级标题 …), so adjusting the template's styles adjusts every generated document.

Numbers are those of DOMAIN §6, measured in LibreOffice: exact line pitch 579 twips gives 22 lines in
the 225 mm type area and −0.25 pt character spacing gives 28 characters of 3号 (16 pt) on a 156 mm line.
"""

from __future__ import annotations

from typing import Any

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Emu
from lxml import etree

from zhikong.generator.ooxml import (
    child,
    mm,
    page_field_runs,
    ppr_align,
    ppr_border,
    ppr_indent,
    ppr_no_grid,
    ppr_spacing,
    ppr_tab,
    rpr_bold,
    rpr_color,
    rpr_fonts,
    rpr_size,
    rpr_spacing,
    set_attrs,
)

FANGSONG = "仿宋_GB2312"
KAITI = "楷体_GB2312"
HEITI = "黑体"
XIAOBIAOSONG = "方正小标宋简体"
SONGTI = "宋体"
LATIN = "Times New Roman"
RED = "FF0000"

PAGE_WIDTH, PAGE_HEIGHT = mm(210), mm(297)
MARGIN_TOP, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT = mm(37), mm(35), mm(28), mm(26)
TYPE_WIDTH = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT  # 156 mm
LINE = 579  # exact line pitch, twips: 22 lines in 225 mm
CHAR = 320  # one 3号 character (16 pt) in twips, for indents
CHAR_SPACING = -5  # twentieths of a point: 28 characters on a 156 mm line
SMALL_CHAR = 280  # one 4号 character (14 pt), for 版记 and page numbers

# Vertical placement of the 版头, calibrated against LibreOffice's PDF (tests/test_layout.py measures it):
# the organ mark's top 35 mm below the type area, the red line 4 mm below the 发文字号.
ORGAN_MARK_SIZE = 36.0
ORGAN_MARK_LINE = 900  # exact pitch of the organ-mark line, twips
ORGAN_MARK_BEFORE = mm(35) - 40
RED_LINE_SPACE = 11  # points between the 发文字号 line box and the red rule
FOOTER_DISTANCE = mm(21.2)
HEADER_DISTANCE = mm(15)

# Style names. Word shows these in the styles pane; generator.notice refers to them by name.
S_BODY = "公文正文"
S_H1 = "公文一级标题"
S_H2 = "公文二级标题"
S_H3 = "公文三级标题"
S_H4 = "公文四级标题"
S_ORGAN = "公文版头"
S_NUMBER = "公文发文字号"
S_TITLE = "公文标题"
S_TO = "公文主送"
S_ATTACH = "公文附件说明"
S_SIGNER = "公文署名"
S_DATE = "公文日期"
S_IMPRINT = "公文版记"
S_PAGE = "公文页码"
S_DRAFT = "送审稿标记"
S_CELL = "表格文字"
S_TABLE_HEAD = "表头文字"

HEADING_STYLES = (S_BODY, S_H1, S_H2, S_H3, S_H4)


def twips_to_emu(twips: int) -> Emu:
    return Emu(twips * 635)


def new_document() -> Any:
    """An empty A4 document with the GB/T 9704 page, styles and odd/even page numbers."""
    doc = Document()
    _page_setup(doc)
    _styles(doc)
    _page_numbers(doc)
    return doc


def _page_setup(doc: Any) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Emu(PAGE_WIDTH * 635), Emu(PAGE_HEIGHT * 635)
    section.top_margin, section.bottom_margin = Emu(MARGIN_TOP * 635), Emu(MARGIN_BOTTOM * 635)
    section.left_margin, section.right_margin = Emu(MARGIN_LEFT * 635), Emu(MARGIN_RIGHT * 635)
    section.header_distance = Emu(HEADER_DISTANCE * 635)
    section.footer_distance = Emu(FOOTER_DISTANCE * 635)
    section.gutter = 0
    # A line grid of the same pitch, so Word/WPS show "22 行" in 页面设置; paragraphs opt out with
    # snapToGrid=0 so the exact pitch, not the grid, decides (Word adds grid leading otherwise).
    grid = child(section._sectPr, "w:docGrid")
    for key in list(grid.attrib):
        del grid.attrib[key]
    set_attrs(grid, type="lines", linePitch=LINE)
    doc.settings.odd_and_even_pages_header_footer = True
    # The shipped python-docx default template carries its own core properties; make ours neutral.
    props = doc.core_properties
    props.author = "zhikong"
    props.last_modified_by = "zhikong"
    props.title = ""
    props.comments = ""


def _paragraph_style(
    doc: Any,
    name: str,
    *,
    font: str = FANGSONG,
    size: float = 16,
    line: int = LINE,
    align: str = "both",
    first_line: int = 0,
    color: str | None = None,
    spacing: int = CHAR_SPACING,
    base: str | None = "Normal",
) -> etree._Element:
    style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    if base:
        style.base_style = doc.styles[base]
    style.quick_style = True
    ppr = style.element.get_or_add_pPr()
    ppr_no_grid(ppr)
    ppr_spacing(ppr, line=line)
    ppr_indent(ppr, first_line=first_line)
    ppr_align(ppr, align)
    rpr = style.element.get_or_add_rPr()
    rpr_fonts(rpr, font, LATIN)
    rpr_size(rpr, size)
    rpr_spacing(rpr, spacing)
    rpr_bold(rpr, False)
    if color:
        rpr_color(rpr, color)
    return ppr


def _styles(doc: Any) -> None:
    normal = doc.styles["Normal"].element
    ppr = normal.get_or_add_pPr()
    # Widow control would end some pages after 21 lines; official documents keep a fixed 22.
    set_attrs(child(ppr, "w:widowControl"), val=0)
    ppr_no_grid(ppr)
    ppr_spacing(ppr, line=LINE)
    ppr_align(ppr, "both")
    rpr = normal.get_or_add_rPr()
    rpr_fonts(rpr, FANGSONG, LATIN)
    rpr_size(rpr, 16)
    rpr_spacing(rpr, CHAR_SPACING)
    # python-docx's default docDefaults name Calibri/MS Mincho for the theme; point them at 仿宋 too.
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        default_rpr = defaults.find(qn("w:rPrDefault") + "/" + qn("w:rPr"))
        if default_rpr is not None:
            fonts = default_rpr.find(qn("w:rFonts"))
            if fonts is not None:
                default_rpr.remove(fonts)
            rpr_fonts(default_rpr, FANGSONG, LATIN)
            set_attrs(child(default_rpr, "w:lang"), val="en-US", eastAsia="zh-CN")

    _paragraph_style(doc, S_BODY, first_line=2 * CHAR)
    _paragraph_style(doc, S_H1, font=HEITI, first_line=2 * CHAR)
    _paragraph_style(doc, S_H2, font=KAITI, first_line=2 * CHAR)
    _paragraph_style(doc, S_H3, first_line=2 * CHAR)
    _paragraph_style(doc, S_H4, first_line=2 * CHAR)
    organ = _paragraph_style(
        doc,
        S_ORGAN,
        font=XIAOBIAOSONG,
        size=ORGAN_MARK_SIZE,
        line=ORGAN_MARK_LINE,
        align="center",
        color=RED,
        spacing=0,
    )
    ppr_spacing(organ, line=ORGAN_MARK_LINE, before=ORGAN_MARK_BEFORE)
    number = _paragraph_style(doc, S_NUMBER, align="center")
    ppr_spacing(number, line=LINE, before=2 * LINE)
    ppr_border(number, "bottom", size=12, color=RED, space=RED_LINE_SPACE)
    title = _paragraph_style(doc, S_TITLE, font=XIAOBIAOSONG, size=22, align="center", spacing=0)
    ppr_spacing(title, line=LINE + 120, before=2 * LINE)
    to = _paragraph_style(doc, S_TO)
    ppr_spacing(to, line=LINE, before=LINE)
    attach = _paragraph_style(doc, S_ATTACH)
    ppr_indent(attach, left=5 * CHAR, hanging=3 * CHAR)
    _paragraph_style(doc, S_SIGNER, align="right")
    _paragraph_style(doc, S_DATE, align="right")
    imprint = _paragraph_style(doc, S_IMPRINT, size=14, line=LINE, align="left")
    ppr_tab(imprint, TYPE_WIDTH - SMALL_CHAR)
    _paragraph_style(doc, S_PAGE, font=SONGTI, size=14, line=LINE, align="right", spacing=0)
    _paragraph_style(doc, S_DRAFT, font=HEITI, size=16, align="right", spacing=0)
    _paragraph_style(doc, S_CELL, size=12, line=360, align="left", spacing=0)
    head = _paragraph_style(doc, S_TABLE_HEAD, font=HEITI, size=12, line=360, align="center", spacing=0)
    set_attrs(child(head, "w:keepNext"), val=1)


def _page_numbers(doc: Any) -> None:
    """ "— n —" in 4号宋体: odd pages right, even pages left, one character in from the edge."""
    section = doc.sections[0]
    for footer, side in ((section.footer, "right"), (section.even_page_footer, "left")):
        footer.is_linked_to_previous = False
        paragraph = footer.paragraphs[0]
        paragraph.style = doc.styles[S_PAGE]
        ppr = paragraph._p.get_or_add_pPr()
        ppr_align(ppr, side)
        if side == "right":
            ppr_indent(ppr, right=SMALL_CHAR)
        else:
            ppr_indent(ppr, left=SMALL_CHAR)
        paragraph.add_run("— ")
        for run in page_field_runs():
            paragraph._p.append(run)
        paragraph.add_run(" —")


def set_header_text(doc: Any, text: str) -> None:
    """Text in the odd and even page headers (used for the 送审稿 mark)."""
    section = doc.sections[0]
    for header in (section.header, section.even_page_header):
        header.is_linked_to_previous = False
        paragraph = header.paragraphs[0]
        paragraph.style = doc.styles[S_DRAFT]
        paragraph.add_run(text)


def add_imprint(doc: Any, *, with_cc: bool = True) -> Any:
    """The 版记: a borderless-sided table pinned to the bottom of the last page's type area.

    A floating table anchored to the bottom margin keeps the last rule on the type area's bottom edge
    whatever the length of the body (GB/T 9704 §7.4). Rows: 抄送 (optional, a docxtpl ``{%tr if %}``
    pair around it) and 印发机关/印发日期. The horizontal anchor is the page, not the margin: LibreOffice
    imports a margin-anchored table as wide as the text as an ordinary inline table (measured).
    """
    rows: list[str] = []
    if with_cc:
        rows += ["{%tr if cc %}", "抄送：{{ cc }}", "{%tr endif %}"]
    rows.append("{{ issuer }}\t{{ issue_date }}印发")
    table = doc.add_table(rows=len(rows), cols=1)
    tbl = table._tbl
    tbl_pr = tbl.tblPr
    for element in list(tbl_pr):
        tbl_pr.remove(element)
    tbl_pr.append(
        set_attrs(
            OxmlElement("w:tblpPr"),
            leftFromText=0,
            rightFromText=0,
            topFromText=0,
            bottomFromText=0,
            vertAnchor="margin",
            tblpYSpec="bottom",
            horzAnchor="page",
            tblpX=MARGIN_LEFT,
        )
    )
    tbl_pr.append(set_attrs(OxmlElement("w:tblOverlap"), val="never"))
    tbl_pr.append(set_attrs(OxmlElement("w:tblW"), w=TYPE_WIDTH, type="dxa"))
    borders = OxmlElement("w:tblBorders")
    for side, size in (("top", 8), ("left", 0), ("bottom", 8), ("right", 0), ("insideH", 6), ("insideV", 0)):
        if size:
            borders.append(
                set_attrs(OxmlElement("w:" + side), val="single", sz=size, space=0, color="000000")
            )
        else:
            borders.append(set_attrs(OxmlElement("w:" + side), val="nil"))
    tbl_pr.append(borders)
    tbl_pr.append(set_attrs(OxmlElement("w:tblLayout"), type="fixed"))
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        margins.append(set_attrs(OxmlElement("w:" + side), w=0, type="dxa"))
    tbl_pr.append(margins)
    grid_col = tbl.tblGrid.find(qn("w:gridCol"))
    set_attrs(grid_col, w=TYPE_WIDTH)
    for row, text in zip(table.rows, rows, strict=True):
        cell = row.cells[0]
        cell.width = Emu(TYPE_WIDTH * 635)
        paragraph = cell.paragraphs[0]
        paragraph.style = doc.styles[S_IMPRINT]
        ppr = paragraph._p.get_or_add_pPr()
        if text.startswith("抄送"):
            # Continuation lines align with the first character after "抄送：" (GB/T 9704 §7.4.2).
            ppr_indent(ppr, left=4 * SMALL_CHAR, right=SMALL_CHAR, hanging=3 * SMALL_CHAR)
        else:
            ppr_indent(ppr, left=SMALL_CHAR, right=SMALL_CHAR)
        add_text(paragraph, text)
    # The floating table needs a paragraph to anchor to; keep it one point high so it never
    # pushes an extra page.
    anchor = doc.add_paragraph()
    anchor_ppr = anchor._p.get_or_add_pPr()
    ppr_spacing(anchor_ppr, line=20)
    rpr = child(anchor_ppr, "w:rPr")
    rpr_size(rpr, 1)
    return table


def add_text(paragraph: Any, text: str, *, font: str | None = None, red: bool = False) -> Any:
    """A run keeping spaces (the blank 发文字号 of a draft is two spaces) with optional font."""
    run = paragraph.add_run()
    parts = text.split("\t")
    for index, part in enumerate(parts):
        if index:
            run.add_tab()
        if part:
            t = OxmlElement("w:t")
            t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            t.text = part
            run._r.append(t)
    rpr = run._r.get_or_add_rPr()
    if font:
        rpr_fonts(rpr, font, LATIN)
    if red:
        rpr_color(rpr, RED)
    return run
