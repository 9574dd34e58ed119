"""GB/T 9704-2012 page layout: page setup, named styles, page numbers, 版头 and 版记.

Used by ``templates/build.py`` to make the shipped templates and by ``generator.notice`` to write the
body paragraphs. Every look a user may want to change in Word/WPS lives in a named paragraph style
(公文正文, 公文一级标题 …), so adjusting the template's styles adjusts every generated document.

Numbers are those of DOMAIN §6, measured in LibreOffice: exact line pitch 579 twips gives 22 lines in
the 225 mm type area and −0.25 pt character spacing gives 28 characters of 3号 (16 pt) on a 156 mm line.
"""

from __future__ import annotations

import itertools
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
    ppr_keep,
    ppr_no_grid,
    ppr_spacing,
    ppr_tab,
    ppr_widow_control,
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
# the organ mark's top 35 mm below the type area, the red line 4 mm below the 发文字号's glyphs, the
# page number's dash (一字线) 7 mm below the type area.
ORGAN_MARK_SIZE = 36.0
ORGAN_MARK_LINE = 900  # exact pitch of the organ-mark line, twips
ORGAN_MARK_BEFORE = mm(35) - 40
RED_LINE_SPACE = 6  # points between the 发文字号 line box and the red rule
FOOTER_DISTANCE = mm(24.2)
# 信函格式 (§10.1), calibrated the same way: the organ name's glyphs 30 mm below the page's top edge, the
# double line 4 mm below them, the 发文字号 7/8 of a character below it, the lower line 20 mm from the foot.
LETTER_MARK_Y = mm(30) - 92
LETTER_LINE_SPACE = 2  # points between the organ name's line box and the double line
LETTER_FOOT_LINE_Y = mm(297 - 20)
LETTER_NUMBER_BEFORE = 84
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
S_NOTE = "公文附注"
S_ATTACH_MARK = "公文附件标识"

# The closing block (附件说明 … 附注): kept on the page of the body's last lines (GB/T 9704 §7.3.5).
CLOSING_STYLES = (S_ATTACH, S_SIGNER, S_DATE, S_NOTE)

# Font profiles (zhikong.toml [公文] 字体): the names the templates are built with are the gb2312 ones;
# ``windows`` renames them to the fonts a stock Chinese Windows has.
FONT_PROFILES: dict[str, dict[str, str]] = {
    "gb2312": {},
    "windows": {FANGSONG: "仿宋", KAITI: "楷体", XIAOBIAOSONG: SONGTI},
}
DEFAULT_FONT_PROFILE = "gb2312"

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
    _settings(doc)
    # The shipped python-docx default template carries its own core properties; make ours neutral.
    props = doc.core_properties
    props.author = "zhikong"
    props.last_modified_by = "zhikong"
    props.title = ""
    props.comments = ""


def _settings(doc: Any) -> None:
    """Word 2013+ layout (not 兼容模式) and Chinese as the East Asian theme language.

    python-docx's default package also carries a stylesWithEffects part (a Word 2010 copy of the styles);
    ours would differ from styles.xml, which Word may report as unreadable content, so it is dropped.
    """
    for rel_id, rel in list(doc.part.rels.items()):
        if rel.reltype.endswith("/stylesWithEffects"):
            del doc.part.rels[rel_id]
    settings = doc.settings.element
    for setting in settings.iter(qn("w:compatSetting")):
        if setting.get(qn("w:name")) == "compatibilityMode":
            setting.set(qn("w:val"), "15")
    lang = settings.find(qn("w:themeFontLang"))
    if lang is not None:
        set_attrs(lang, val="en-US", eastAsia="zh-CN")


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
    # No hanging punctuation (Word's 允许标点溢出边界): every line stays inside the 156 mm type area.
    set_attrs(child(ppr, "w:overflowPunct"), val=0)
    # No extra space between Chinese and Latin text or digits: 28 characters a line whatever the text,
    # and “2026年” set as in a printed 公文.
    set_attrs(child(ppr, "w:autoSpaceDE"), val=0)
    set_attrs(child(ppr, "w:autoSpaceDN"), val=0)
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
    page = _paragraph_style(doc, S_PAGE, font=SONGTI, size=14, line=LINE, align="right", spacing=0)
    # The digits too: a Latin font slot left at Times New Roman would draw them in Times.
    rpr_fonts(child(page.getparent(), "w:rPr"), SONGTI, SONGTI)
    _paragraph_style(doc, S_DRAFT, font=HEITI, size=16, align="right", spacing=0)
    _paragraph_style(doc, S_NOTE, first_line=2 * CHAR)
    mark = _paragraph_style(doc, S_ATTACH_MARK, font=HEITI, align="left")
    child(mark, "w:pageBreakBefore")
    rpr_fonts(child(mark.getparent(), "w:rPr"), HEITI, HEITI)  # "附件2": the number in 黑体 too
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
    """Text in the page headers, the first page's too when it has its own (used for the 送审稿 mark)."""
    section = doc.sections[0]
    headers = [section.header, section.even_page_header]
    if section.different_first_page_header_footer:
        headers.append(section.first_page_header)
    for header in headers:
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


# --- The finishing pass: what depends on the text, done on the rendered document -------------------

TITLE_SIZE = 22.0  # 2号
# Characters of 2号 on a 156 mm line (20.05), less half a character: Latin glyphs of the bold title
# face run a little wider than half a character (measured: a 20-character title wrapped).
TITLE_UNITS = TYPE_WIDTH / (TITLE_SIZE * 20) - 0.5
_TITLE_WEAK_START = tuple("的之")  # a line should not begin with these particles …
_TITLE_WEAK_END = tuple("的之与和及暨")  # … nor end with these (“护理质量与 / 患者安全”)
_NO_LINE_START = tuple("，。、；：！？”’）》〕」』…—%％")  # punctuation that may not begin a line
_NO_LINE_END = tuple("“‘（《〔「『")  # nor may these end one
_UNITS_AFTER_NUMBER = tuple("年月日号期次届个项名位家人%％")


def text_units(text: str) -> float:
    """Printed width in full-width characters: CJK and full-width punctuation 1, ASCII half."""
    return sum(0.5 if ord(ch) < 0x2E80 else 1.0 for ch in text)


def break_title(title: str, capacity: float = TITLE_UNITS) -> list[str]:
    """The title's lines: broken between words (rjieba), balanced, 梯形 or 菱形, no line under 3 characters.

    GB/T 9704 §7.3.1: 标题回行时，要做到词意完整，排列对称，长短适宜，间距恰当，标题排列应当使用梯形或菱形.
    A title that fits one line stays whole; a break falls inside a word only when no split at word
    boundaries fits (a word longer than a line). Two and three lines are searched exhaustively (with the
    梯形/菱形 rule); longer titles, which the standard does not expect, by dynamic programming.
    """
    import rjieba  # the segmenter the search index uses

    title = title.strip()
    total = text_units(title)
    if total <= capacity or len(title) < 6:
        return [title]
    words = rjieba.cut(title)
    word_ends: set[int] = set()
    position = 0
    for index, word in enumerate(words):
        position += len(word)
        following = words[index + 1] if index + 1 < len(words) else ""
        if word.isascii() and word[-1:].isdigit() and following.startswith(_UNITS_AFTER_NUMBER):
            continue  # “2026年”, “3次” stay together
        word_ends.add(position)
    prefix = [0.0]
    for ch in title:
        prefix.append(prefix[-1] + text_units(ch))
    lines_needed = max(2, int(-(-total // capacity)))
    for count in range(lines_needed, lines_needed + 2):
        for inside_words in (False, True):
            found = _best_breaks(title, prefix, word_ends, count, capacity, inside_words)
            if found is not None:
                return [title[a:b] for a, b in itertools.pairwise((0, *found, len(title)))]
    return [title]


def _best_breaks(
    title: str, prefix: list[float], word_ends: set[int], count: int, capacity: float, inside_words: bool
) -> tuple[int, ...] | None:
    """The break positions of the cheapest split of ``title`` into ``count`` lines, or None."""
    n = len(title)
    mean = prefix[n] / count
    allowed = [i for i in range(3, n - 2) if inside_words or i in word_ends]

    def line_cost(a: int, b: int) -> float | None:
        width = prefix[b] - prefix[a]
        if width > capacity or b - a < 3:
            return None
        if (a and title[a] in _NO_LINE_START) or (b < n and title[b - 1] in _NO_LINE_END):
            return None
        cost = (width - mean) ** 2
        cost += 8 * (a > 0 and title[a] in _TITLE_WEAK_START) + 8 * (
            b < n and title[b - 1] in _TITLE_WEAK_END
        )
        return cost + (1000 if b < n and b not in word_ends else 0)

    if count <= 3:
        best: tuple[float, tuple[int, ...]] | None = None
        for breaks in itertools.combinations(allowed, count - 1):
            bounds = (0, *breaks, n)
            costs = [line_cost(a, b) for a, b in itertools.pairwise(bounds)]
            if any(cost is None for cost in costs):
                continue
            total = sum(c for c in costs if c is not None)
            if count == 3:
                widths = [prefix[b] - prefix[a] for a, b in itertools.pairwise(bounds)]
                if widths[1] < widths[0] - 1 and widths[1] < widths[2] - 1:
                    total += 50  # an hourglass is neither 梯形 nor 菱形
            if best is None or total < best[0]:
                best = (total, breaks)
        return best[1] if best else None
    # Longer titles: the cheapest split by dynamic programming over (lines so far, where the last ends).
    table: dict[tuple[int, int], tuple[float, tuple[int, ...]]] = {(0, 0): (0.0, ())}
    for line in range(1, count + 1):
        for end in [n] if line == count else allowed:
            options = []
            for start in [0, *allowed]:
                if start >= end or (line - 1, start) not in table:
                    continue
                step = line_cost(start, end)
                if step is not None:
                    cost, breaks = table[(line - 1, start)]
                    options.append((cost + step, (*breaks, end) if end < n else breaks))
            if options:
                table[(line, end)] = min(options)
    result = table.get((count, n))
    return result[1] if result else None


def finish(doc: Any, *, fonts: str = DEFAULT_FONT_PROFILE, title: str = "", organ: str = "") -> None:
    """Layout that depends on the text, applied to a rendered document whose paragraphs use our styles.

    The organ mark shrinks to fit one line; titles break at word boundaries in balanced lines; the last
    body lines, 附件说明, signature, date and 附注 stay on one page; the font profile renames the fonts;
    the document's properties carry the title and the organ. Paragraphs in other styles (a user's own
    template) are left as they are.
    """
    ids = {style.name: style.style_id for style in doc.styles}
    body = doc.element.body
    for paragraph in body.iter(qn("w:p")):
        style = style_of(paragraph)
        if style and style == ids.get(S_ORGAN):
            _fit_organ_mark(paragraph)
        elif style and style == ids.get(S_TITLE):
            _break_title_paragraph(paragraph)
    keep_closing_with_body(body, {ids[name] for name in CLOSING_STYLES if name in ids})
    apply_font_profile(doc, fonts)
    props = doc.core_properties
    if title:
        props.title = title
    if organ:
        props.author = organ
        props.last_modified_by = organ


def style_of(paragraph: etree._Element) -> str | None:
    ppr = paragraph.find(qn("w:pPr"))
    style = ppr.find(qn("w:pStyle")) if ppr is not None else None
    return style.get(qn("w:val")) if style is not None else None


def _paragraph_text(paragraph: etree._Element) -> str:
    return "".join(t.text or "" for t in paragraph.iter(qn("w:t")))


def _fit_organ_mark(paragraph: etree._Element) -> None:
    """A mark too long for one line at 36 pt is set smaller, so it stays on one centred line (§7.2.4)."""
    units = text_units(_paragraph_text(paragraph))
    available = TYPE_WIDTH / 20 - 2  # points, a little room for the font's side bearings
    if units * ORGAN_MARK_SIZE <= available or units == 0:
        return
    size = int(available / units * 2) / 2  # whole half-points
    for run in paragraph.iter(qn("w:r")):
        rpr_size(_run_rpr(run), size)


def _run_rpr(run: etree._Element) -> etree._Element:
    rpr = run.find(qn("w:rPr"))
    if rpr is None:
        rpr = OxmlElement("w:rPr")
        run.insert(0, rpr)
    return rpr


def _break_title_paragraph(paragraph: etree._Element) -> None:
    """Rewrite a title paragraph's text as its balanced lines, separated by line breaks."""
    text = _paragraph_text(paragraph)
    if "\n" in text or not text.strip():
        return
    parts = break_title(text)
    runs = [run for run in paragraph if run.tag == qn("w:r")]
    if len(parts) < 2 or not runs:
        return
    first = runs[0]
    rpr = first.find(qn("w:rPr"))
    for run in runs:
        paragraph.remove(run)
    run = OxmlElement("w:r")
    if rpr is not None:
        run.append(rpr)
    for index, part in enumerate(parts):
        if index:
            run.append(OxmlElement("w:br"))
        t = OxmlElement("w:t")
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        t.text = part
        run.append(t)
    paragraph.append(run)


def keep_closing_with_body(body: etree._Element, closing_ids: set[str]) -> None:
    """No page holds only the signature, the date or the 附注 (GB/T 9704 §7.3.5.5).

    Each closing block (consecutive paragraphs in the closing styles) is kept on one page with the
    block's last paragraph, and the body paragraph before it is kept with the block, with widow control
    so at least its last two lines go along when the block moves to a new page.
    """
    blocks = list(body)
    for index, element in enumerate(blocks):
        if element.tag != qn("w:p") or style_of(element) not in closing_ids:
            continue
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        in_block = following is not None and following.tag == qn("w:p") and style_of(following) in closing_ids
        ppr = element.find(qn("w:pPr"))
        ppr_keep(ppr, with_next=in_block)
        previous_index = index - 1
        while previous_index >= 0 and _is_empty_paragraph(blocks[previous_index]):
            previous_index -= 1
        if previous_index < 0:
            continue
        previous = blocks[previous_index]
        if previous.tag == qn("w:p") and style_of(previous) not in closing_ids:
            previous_ppr = previous.find(qn("w:pPr"))
            if previous_ppr is None:
                previous_ppr = OxmlElement("w:pPr")
                previous.insert(0, previous_ppr)
            ppr_keep(previous_ppr, lines=False)
            ppr_widow_control(previous_ppr)
        elif previous.tag == qn("w:tbl"):
            # A table before the signature: its last row goes with it (Word and LibreOffice both read
            # keepNext on every paragraph of the row as the row's "keep with next").
            rows = previous.findall(qn("w:tr"))
            if rows:
                for cell_paragraph in rows[-1].iter(qn("w:p")):
                    cell_ppr = cell_paragraph.find(qn("w:pPr"))
                    if cell_ppr is None:
                        cell_ppr = OxmlElement("w:pPr")
                        cell_paragraph.insert(0, cell_ppr)
                    ppr_keep(cell_ppr, lines=False)


def _is_empty_paragraph(element: etree._Element) -> bool:
    return (
        element.tag == qn("w:p")
        and not _paragraph_text(element).strip()
        and element.find(".//" + qn("w:tbl")) is None
    )


def apply_font_profile(doc: Any, profile: str) -> None:
    """Rename the fonts of styles, body, headers and footers to those of ``profile`` (see FONT_PROFILES)."""
    mapping = FONT_PROFILES.get(profile)
    if mapping is None:
        raise ValueError(profile)
    if not mapping:
        return
    parts = [doc.styles.element, doc.element]
    for section in doc.sections:
        for part in (section.header, section.even_page_header, section.footer, section.even_page_footer):
            if not part.is_linked_to_previous:
                parts.append(part._element)
    for root in parts:
        for fonts in root.iter(qn("w:rFonts")):
            for slot in ("w:eastAsia", "w:ascii", "w:hAnsi", "w:cs"):
                value = fonts.get(qn(slot))
                if value in mapping:
                    fonts.set(qn(slot), mapping[value])
                    if value == XIAOBIAOSONG:
                        # 小标宋 is a bold-looking face; 宋体 in its place is set bold.
                        rpr_bold(fonts.getparent(), True)
