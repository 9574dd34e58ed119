"""GB/T 9704-2012 beyond the body grid (issue 16), measured on LibreOffice's PDF, not on our XML.

Every document is rendered in one soffice run (module fixture) with the shipped fontconfig stand-ins
(zhikong/fonts.conf). Which page holds what and where comes from ``pdftotext -bbox-layout`` and
``pdftoppm`` (helpers of test_layout.py); which font drew a piece of text from pypdf.
"""

from __future__ import annotations

import itertools
import re
import shutil
import zipfile
from pathlib import Path

import pytest
import rjieba
from click.testing import CliRunner
from docx import Document
from docx.oxml.ns import qn
from pypdf import PdfReader
from test_layout import EXAMPLES, Line, horizontal_rules, lines, page_count, pixels, spec

from zhikong import libreoffice
from zhikong.cli import cli
from zhikong.generator.notice import render_notice
from zhikong.generator.render import load_data, render_template, shipped_templates

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice (soffice) 未安装"),
    pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) 未安装"),
]

LEFT, RIGHT = 28.0, 184.0  # the type area's edges, mm
TOP, BOTTOM = 37.0, 262.0
CHAR_MM = 315 / 20 * 25.4 / 72  # one 3号 character with −0.25 pt spacing, mm (5.556)
LINE_MM = 579 / 20 * 25.4 / 72  # the line pitch, mm (10.21)
PARAGRAPH = "各单位按要求做好护理质控工作准备并及时报送材料，"


def body_of(paragraphs: int) -> str:
    """A body of ``paragraphs`` paragraphs of one to three lines (varied, as real text is)."""
    return "\n".join(
        ["为加强护理质量管理，决定召开会议。"]
        + [f"第{i}项：" + PARAGRAPH * (1 + i % 3) for i in range(paragraphs)]
    )


# Bodies whose end falls around the page boundaries: the signature fits after the body, it has to go to
# the next page (with the body's last lines), the 版记 fits beside it or needs one or two page breaks.
ENDINGS = {"end_a": 6, "end_b": 8, "end_c": 16, "end_d": 22, "end_e": 30}
TITLES = {
    "title_two": "关于开展全县二级以上医疗机构护理质量与患者安全专项督查工作的通知",
    "title_three": "关于召开2026年第一次护理质控工作会议暨院感质控联合培训班及全县护理技能竞赛和学术交流活动的通知",
}
# Lines whose 29th character is a punctuation mark: with hanging punctuation it would stand outside.
PUNCTUATION_BODY = "\n".join(
    [
        "质控" * 13 + "。后续文字" * 3,
        "护理质量" * 7 + "，" + "质控工作" * 8,
        "患者安全" * 13 + "质控，" + "质控" * 10,
    ]
)


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("gbt")
    docs: dict[str, Path] = {}

    def notice(name: str, **changes: object) -> None:
        docs[name] = render_notice(spec(**changes), work / f"{name}.docx")

    for name, paragraphs in ENDINGS.items():
        notice(name, body=body_of(paragraphs), cc=("县护理质控中心", "县人民医院") if paragraphs % 4 else ())
    notice(
        "one_page",
        title="关于召开护理质控会议的通知",
        body="为加强护理质量管理，决定召开会议。",
        attachments=(),
        cc=(),
    )
    notice(
        "long_organ",
        organ_mark="金乡县护理质量控制中心文件",
        signer="金乡县护理质量控制中心",
        kind="request",
        title="关于申请护理质控经费的请示",
        to="金乡县卫生健康局：",
        signed_by="王芳",
        body="为加强护理质量管理，特申请经费。\n妥否，请批示。",
        attachments=(),
    )
    for name, title in TITLES.items():
        notice(name, title=title)
    notice(
        "attach",
        body=body_of(2),
        attachments=(
            "会议议程",
            "2026年度全县二级以上医疗机构护理质量与患者安全专项督查参会人员回执及交通住宿安排表",
            "参会须知",
        ),
        attachment_texts=("一、报到\n3月15日上午8时报到。", "", "请携带工作证。"),
    )
    notice("punctuation", body=PUNCTUATION_BODY, attachments=())
    docs["windows_fonts"] = render_notice(
        spec(title="关于召开护理质控会议的通知"), work / "windows_fonts.docx", fonts="windows"
    )
    for name, template in shipped_templates().items():
        example = EXAMPLES / f"{name}.json"
        if example.exists():
            docs[f"tpl_{name}"] = render_template(template, load_data(example), work / f"tpl_{name}.docx")
    short = {"title": "关于召开护理质控会议的通知", "attachments": (), "cc": ()}
    notice("marks", copy_number="000012", secrecy="机密", secrecy_term="1年", urgency="特急", **short)
    notice("seal", **short)
    notice("no_seal", seal="none", **short)
    notice(
        "signature_stamp",
        kind="request",
        title="关于申请护理质控经费的请示",
        to="金乡县卫生健康局：",
        signed_by="王芳",
        seal="signature",
        signer_title="主任",
        body="为加强护理质量管理，特申请经费。\n妥否，请批示。",
        attachments=(),
        cc=(),
    )
    # Through the command line, from a data file with the optional keys (generator.documents.LAYOUT_KEYS).
    data = work / "cli_notice.toml"
    data.write_text(
        (EXAMPLES / "notice.toml").read_text(encoding="utf-8")
        + 'note = "（联系人：张敏，电话：0537-0000000）"\ncopy_number = "000003"\nurgency = "加急"\n'
        + 'seal = "none"\nattachment_texts = ["一、上午9时报到", ""]\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["render", "notice", str(data), "--out", str(work / "cli_notice.docx")])
    assert result.exit_code == 0, result.output
    docs["cli_notice"] = work / "cli_notice.docx"
    # Attachments given as files beside the data file: a .docx and a GBK .txt (as Notepad saves it).
    agenda = Document()
    for text in ("一、签到", "8:30前在三楼会议室签到。"):
        agenda.add_paragraph(text)
    agenda.save(str(work / "议程.docx"))
    (work / "回执.txt").write_bytes("单位：\n姓名：\n联系电话：".encode("gbk"))
    data = work / "files_notice.toml"
    data.write_text(
        (EXAMPLES / "notice.toml").read_text(encoding="utf-8")
        + 'attachment_files = ["议程.docx", "回执.txt"]\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli, ["render", "notice", str(data), "--out", str(work / "files_notice.docx")]
    )
    assert result.exit_code == 0, result.output
    docs["files_notice"] = work / "files_notice.docx"
    letter = load_data(EXAMPLES / "letter.json")
    letter.update(doc_number="金护质控函〔2026〕2号", body="\n".join([letter["body"]] + [PARAGRAPH * 3] * 14))
    docs["letter"] = render_template(shipped_templates()["letter"], letter, work / "letter.docx")
    converted = libreoffice.convert_many(list(docs.values()), "pdf", work / "pdf")
    return dict(zip(docs, converted, strict=True))


def all_lines(pdf: Path) -> list[tuple[int, Line]]:
    return [(page, line) for page in range(1, page_count(pdf) + 1) for line in lines(pdf, page)]


def page_of(pdf: Path, text: str) -> int:
    found = [page for page, line in all_lines(pdf) if text in line.text]
    assert found, f"{text!r} not in {pdf.name}"
    return found[0]


def in_type_area(pdf: Path, page: int) -> list[Line]:
    return [
        line for line in lines(pdf, page) if TOP - 8 < line.y1 < BOTTOM + 1 and not line.text.startswith("—")
    ]


def fonts_used(pdf: Path, page: int, wanted: str) -> set[str]:
    """The fonts pypdf reports for the text pieces containing ``wanted`` on ``page``."""
    found: set[str] = set()

    def visit(text: str, cm: object, tm: object, font: dict | None, size: float) -> None:
        if wanted in text and font:
            found.add(str(font.get("/BaseFont", "")))

    PdfReader(pdf).pages[page - 1].extract_text(visitor_text=visit)
    return found


# --- 2. the signature never stands alone; 7. the 版记 on an even page ----------------------------------


@pytest.mark.parametrize("name", [*ENDINGS, "attach", "long_organ", "title_three"])
def test_signature_stays_with_the_body_and_the_imprint_is_on_an_even_page(
    pdfs: dict[str, Path], name: str
) -> None:
    pdf = pdfs[name]
    signer_page = page_of(pdf, "2026年3月5日")
    on_page = [line.text for line in in_type_area(pdf, signer_page)]
    body = [
        text
        for text in on_page
        if not text.startswith(("金乡县", "2026年3月5日", "附件", "1.", "2.", "3.", "抄送", "送审稿"))
    ]
    assert body, f"{name}: page {signer_page} holds only the closing block: {on_page}"
    pages = page_count(pdf)
    imprint = page_of(pdf, "印发")
    assert imprint == pages, f"{name}: 版记 on page {imprint} of {pages}"
    assert pages == 1 or pages % 2 == 0, f"{name}: the 版记 is on page {pages}, an odd page"
    assert pages - signer_page <= 2, f"{name}: more blank pages than the even page needs"
    if signer_page % 2 == 0 and pages > signer_page:
        # The body ended on an even page: a blank page only when the 版记 had no room beside it.
        assert pages == signer_page + 2


def test_one_page_notice_keeps_its_imprint_on_page_one(pdfs: dict[str, Path]) -> None:
    pdf = pdfs["one_page"]
    assert page_count(pdf) == 1
    issued = [line for line in lines(pdf, 1) if line.text.endswith("印发")]
    assert issued and issued[0].y1 == pytest.approx(BOTTOM, abs=1.5)


def test_closing_block_lines_are_one_line_apart(pdfs: dict[str, Path]) -> None:
    """Signer and date are on one page, date directly under the signer (整改通知书 split them)."""
    for name in (*ENDINGS, "tpl_rectification_notice", "tpl_minutes", "tpl_letter"):
        pdf = pdfs[name]
        found = all_lines(pdf)
        dates = [
            (page, line)
            for page, line in found
            if line.text.startswith("2026年") and line.text.endswith("日")
        ]
        page, date = dates[-1]
        above = [line for p, line in found if p == page and line.y1 < date.y1]
        assert above, f"{name}: the date opens page {page}"
        assert date.y1 - above[-1].y1 == pytest.approx(LINE_MM, abs=0.3), name


# --- 3. a long organ mark on one line ----------------------------------------------------------------


def test_long_organ_mark_fits_one_centred_red_line(pdfs: dict[str, Path]) -> None:
    pdf = pdfs["long_organ"]
    first = lines(pdf, 1)
    marks = [line for line in first if "质量控制中心" in line.text and line.y1 < 100]
    assert [line.text for line in marks] == ["金乡县护理质量控制中心文件"], "the organ mark wraps"
    mark = marks[0]
    assert mark.x0 >= LEFT - 0.5 and mark.x1 <= RIGHT + 0.5
    assert (mark.x0 + mark.x1) / 2 == pytest.approx((LEFT + RIGHT) / 2, abs=1.0)
    width, _, data = pixels(pdf, 1)
    px = 25.4 / 100
    red = dark = 0
    for y in range(int(mark.y0 / px), int(mark.y1 / px)):
        for x in range(int(mark.x0 / px), int(mark.x1 / px)):
            r, g, b = data[3 * (y * width + x) : 3 * (y * width + x) + 3]
            red += r > 180 and g < 90 and b < 90
            dark += r < 90 and g < 90 and b < 90
    assert red > 500 and dark < red / 20


# --- 4. titles broken between words, balanced --------------------------------------------------------


def title_lines(pdf: Path) -> list[Line]:
    first = lines(pdf, 1)
    number = next(line for line in first if "〔2026〕" in line.text)
    to = next(line for line in first if line.text.endswith("："))
    return [line for line in first if number.y1 < line.y0 and line.y1 < to.y0]


@pytest.mark.parametrize("name", [*TITLES, "end_a"])
def test_title_breaks_between_words_in_balanced_centred_lines(pdfs: dict[str, Path], name: str) -> None:
    title = TITLES.get(name, spec().title)
    found = title_lines(pdfs[name])
    assert "".join(line.text for line in found) == title
    assert len(found) >= 2
    words = set()
    position = 0
    for word in rjieba.cut(title):
        position += len(word)
        words.add(position)
    position = 0
    for line in found[:-1]:
        position += len(line.text)
        assert position in words, f"{name}: line break inside a word after {line.text!r}"
    lengths = [len(line.text) for line in found]
    assert min(lengths) >= 3, f"{name}: a line of {min(lengths)} characters"
    assert max(lengths) - min(lengths) <= 5, f"{name}: unbalanced lines {lengths}"
    for line in found:
        assert (line.x0 + line.x1) / 2 == pytest.approx((LEFT + RIGHT) / 2, abs=1.5), line


def test_summary_title_does_not_leave_a_character_alone(pdfs: dict[str, Path]) -> None:
    first = lines(pdfs["tpl_summary"], 1)
    title = [line for line in first if line.y1 < 70]
    assert all(len(line.text) >= 3 for line in title), [line.text for line in title]


# --- 6. 附件说明 and attachment pages -------------------------------------------------------------------


def test_attachment_note_aligns_its_items(pdfs: dict[str, Path]) -> None:
    pdf = pdfs["attach"]
    page = page_of(pdf, "附件：1.")
    found = in_type_area(pdf, page)
    first = next(line for line in found if line.text.startswith("附件：1."))
    second = next(line for line in found if line.text.startswith("2."))
    third = next(line for line in found if line.text.startswith("3."))
    assert first.x0 == pytest.approx(LEFT + 2 * 320 / 20 * 25.4 / 72, abs=0.6), "附件 two characters in"
    number_x = first.x0 + 3 * CHAR_MM
    assert second.x0 == pytest.approx(number_x, abs=0.6), "2. under the 1."
    assert third.x0 == pytest.approx(number_x, abs=0.6), "3. under the 1."
    wrapped = [line for line in found if second.y1 < line.y1 < third.y1]
    assert wrapped, "the long attachment name wraps"
    number_width = 230 / 20 * 25.4 / 72  # "2." in Times New Roman 3号: 8 pt + 4 pt − 2 × 0.25 pt
    assert wrapped[0].x0 == pytest.approx(second.x0 + number_width, abs=0.6), "wrapped name under the name"


def test_attachments_given_as_text_get_their_own_pages(pdfs: dict[str, Path]) -> None:
    pdf = pdfs["attach"]
    date_page = page_of(pdf, "2026年3月5日")
    for label, text in (("附件1", "3月15日上午8时报到。"), ("附件3", "请携带工作证。")):
        page = page_of(pdf, text)
        assert page > date_page
        top = in_type_area(pdf, page)[0]
        assert top.text == label, f"{label} opens its page"
        assert top.x0 == pytest.approx(LEFT, abs=0.6), f"{label} at the left edge"
        assert top.y1 == pytest.approx(TOP + LINE_MM, abs=0.6), f"{label} on the first line"
        for piece in ("附件", label[-1]):
            assert any("NotoSansCJK" in font for font in fonts_used(pdf, page, piece)), f"{piece} in 黑体"
    assert page_of(pdf, "附件3") > page_of(pdf, "附件1")
    assert "附件2" not in "".join(line.text for _, line in all_lines(pdf)), "no page for a name without text"
    assert page_of(pdf, "印发") == page_count(pdf) >= page_of(pdf, "请携带工作证。")


# --- 7. geometry --------------------------------------------------------------------------------------


def test_red_rule_four_mm_below_the_number_and_dash_seven_mm_below_the_type_area(
    pdfs: dict[str, Path],
) -> None:
    pdf = pdfs["end_c"]
    width, _, data = pixels(pdf, 1)
    px = 25.4 / 100

    def dark_rows(x0: float, x1: float, y0: float, y1: float) -> list[float]:
        rows = []
        for y in range(int(y0 / px), int(y1 / px)):
            for x in range(int(x0 / px), int(x1 / px)):
                r, g, b = data[3 * (y * width + x) : 3 * (y * width + x) + 3]
                if r < 120 and g < 120 and b < 120:
                    rows.append(y * px)
                    break
        return rows

    first = lines(pdf, 1)
    number = next(line for line in first if "〔2026〕" in line.text)
    glyph_bottom = dark_rows(number.x0, number.x1, number.y0 - 2, number.y1 + 1)[-1]
    red_y = horizontal_rules(pdf, 1, "red")[0][0]
    assert red_y - glyph_bottom == pytest.approx(4, abs=0.5), f"red rule {red_y - glyph_bottom:.2f} mm below"
    page_number = next(line for line in first if line.text.startswith("—"))
    dash = dark_rows(page_number.x0, page_number.x0 + 3, page_number.y0 - 1, page_number.y1 + 1)
    assert dash and dash[0] == pytest.approx(BOTTOM + 7, abs=0.5), f"dash at {dash}"
    assert any("NotoSerifCJK" in font for font in fonts_used(pdf, 1, "1")), "page number digits in 宋体"


def test_no_punctuation_hangs_outside_the_type_area(pdfs: dict[str, Path]) -> None:
    pdf = pdfs["punctuation"]
    found = in_type_area(pdf, 1) + [line for p, line in all_lines(pdf) if p > 1]
    assert max(line.x1 for line in found) <= RIGHT + 0.3
    ends = [line.text[-1] for line in found]
    assert not any(line.text[0] in "，。、；：" for line in found), "a line starts with punctuation"
    assert ends


# --- fonts ---------------------------------------------------------------------------------------------


def test_serif_stand_ins_and_heading_fonts(pdfs: dict[str, Path]) -> None:
    pdf = pdfs["title_two"]
    assert any("UMing" in font for font in fonts_used(pdf, 1, "为加强护理质量管理")), "仿宋 → a Song face"
    assert any("NotoSansCJK" in font for font in fonts_used(pdf, 1, "会议时间")), "一、 headings in 黑体"
    assert any("Bold" in font for font in fonts_used(pdf, 1, "金乡县卫生健康局文件")), "小标宋 → bold Song"


def test_font_profiles_name_the_fonts_of_each_profile(pdfs: dict[str, Path]) -> None:
    def east_asian_fonts(name: str) -> set[str]:
        docx = pdfs[name].parent.parent / f"{name}.docx"
        with zipfile.ZipFile(docx) as package:
            xml = package.read("word/styles.xml").decode() + package.read("word/document.xml").decode()
        return set(re_fonts.findall(xml))

    re_fonts = re.compile(r'w:eastAsia="([^"]+)"')
    assert {"仿宋_GB2312", "方正小标宋简体"} <= east_asian_fonts("end_a")
    windows = east_asian_fonts("windows_fonts")
    assert {"仿宋", "宋体", "黑体"} <= windows and not windows & {
        "仿宋_GB2312",
        "楷体_GB2312",
        "方正小标宋简体",
    }
    assert page_count(pdfs["windows_fonts"]) >= 1


# --- WordprocessingML validity --------------------------------------------------------------------------


def test_generated_files_are_valid_wordprocessingml(pdfs: dict[str, Path]) -> None:
    audit = pytest.importorskip("openxml_audit")
    validator = audit.OpenXmlValidator()
    for name in (
        "end_a",
        "attach",
        "long_organ",
        "windows_fonts",
        "marks",
        "seal",
        "signature_stamp",
        "letter",
        "files_notice",
        *(n for n in pdfs if n.startswith("tpl_")),
    ):
        docx = pdfs[name].parent.parent / f"{name}.docx"
        result = validator.validate(str(docx))
        errors = [f"{e.part_uri} {e.path}: {e.description}" for e in result.errors]
        assert not errors, f"{name}: " + "\n".join(errors[:10])


def test_not_compatibility_mode_and_chinese_theme_language(pdfs: dict[str, Path]) -> None:
    docx = pdfs["end_a"].parent.parent / "end_a.docx"
    with zipfile.ZipFile(docx) as package:
        settings = package.read("word/settings.xml").decode()
        core = package.read("docProps/core.xml").decode()
    assert (
        'w:name="compatibilityMode" w:uri="http://schemas.microsoft.com/office/word" w:val="15"' in settings
    )
    assert 'w:eastAsia="zh-CN"' in settings and "ja-JP" not in settings
    assert spec().title in core and spec().signer in core


def test_table_grid_matches_cell_widths() -> None:
    for name in ("rectification_notice", "sign_in"):
        document = Document(str(shipped_templates()[name]))
        for table in document.tables:
            grid = [int(col.get(qn("w:w"))) for col in table._tbl.tblGrid.findall(qn("w:gridCol"))]
            for row in table.rows:
                cells = [round(cell.width / 635) for cell in row.cells]
                assert cells == grid, f"{name}: grid {grid} ≠ cells {cells}"


# --- 5. 信函格式 and 纪要格式 ---------------------------------------------------------------------------


def ink_rows(pdf: Path, page: int, box: tuple[float, float, float, float], colour: str) -> list[float]:
    """The pixel rows (mm) inside ``box`` (x0, y0, x1, y1 in mm) holding ink of ``colour``."""
    width, _, data = pixels(pdf, page)
    px = 25.4 / 100
    rows = []
    for y in range(int(box[1] / px), int(box[3] / px)):
        for x in range(int(box[0] / px), int(box[2] / px)):
            r, g, b = data[3 * (y * width + x) : 3 * (y * width + x) + 3]
            hit = (r > 180 and g < 90 and b < 90) if colour == "red" else (r < 120 and g < 120 and b < 120)
            if hit:
                rows.append(y * px)
                break
    return rows


def bands(rows: list[float]) -> tuple[int, int]:
    """The heights in pixel rows of the two bands of a double line."""
    groups = [[rows[0]]]
    for previous, row in itertools.pairwise(rows):
        if row - previous > 0.3:
            groups.append([])
        groups[-1].append(row)
    assert len(groups) == 2, f"not a double line: {rows}"
    return len(groups[0]), len(groups[1])


def test_letter_is_in_letter_format(pdfs: dict[str, Path]) -> None:
    pdf = pdfs["letter"]
    first = lines(pdf, 1)
    mark = next(line for line in first if line.text == "金乡县护理质量控制中心")
    assert (mark.x0 + mark.x1) / 2 == pytest.approx(105, abs=1.0), "organ name centred on the page"
    red = horizontal_rules(pdf, 1, "red", min_mm=150)
    upper = [rule for rule in red if rule[0] < 100]
    lower = [rule for rule in red if rule[0] > 200]
    assert upper and lower, "two red double lines"
    for _, x0, x1 in (upper[0], lower[0]):
        assert x1 - x0 == pytest.approx(170, abs=1.0) and x0 == pytest.approx(20, abs=1.0), "170 mm, centred"
    glyphs = ink_rows(pdf, 1, (mark.x0, mark.y0 - 3, mark.x1, upper[0][0] - 0.3), "red")
    assert glyphs[0] == pytest.approx(30, abs=0.6), f"organ name {glyphs[0]:.2f} mm from the top"
    assert upper[0][0] - glyphs[-1] == pytest.approx(4, abs=0.6), "double line 4 mm below the name"
    # Double lines: two bands with a gap; the upper line thick over thin (上粗下细), the lower thin over thick.
    upper_rows = [rule[0] for rule in upper]
    (top_thick, top_thin), (foot_thin, foot_thick) = bands(upper_rows), bands([rule[0] for rule in lower])
    assert top_thick > top_thin and foot_thick > foot_thin, "double lines thick/thin the right way round"
    assert lower[0][0] == pytest.approx(297 - 20, abs=0.6), "lower line 20 mm above the foot"
    number = next(line for line in first if line.text == "金护质控函〔2026〕2号")
    assert number.x1 == pytest.approx(RIGHT, abs=0.6), "发文字号 flush right"
    number_top = ink_rows(pdf, 1, (number.x0, number.y0 - 2, number.x1, number.y1), "dark")[0]
    assert number_top - max(upper_rows) == pytest.approx(16 * 7 / 8 * 25.4 / 72, abs=0.6), "7/8 字 below"
    assert any(line.text == "县人民医院护理部：" for line in first), "主送 ends with ："
    assert not [line for line in first if line.text.startswith("—")], "no page number on the first page"
    assert page_count(pdf) >= 2
    assert [line.text for line in lines(pdf, 2) if line.text.startswith("—")] == ["—2—"]
    assert not horizontal_rules(pdf, 2, "red", min_mm=150), "the double lines are on the first page only"


def test_minutes_list_attendance_after_the_body_with_labels_in_heiti(pdfs: dict[str, Path]) -> None:
    pdf = pdfs["tpl_minutes"]
    found = all_lines(pdf)
    texts = [line.text for _, line in found]
    body_end = max(i for i, text in enumerate(texts) if text.startswith("二、会议部署"))
    labels = {}
    for label in ("出席：", "请假：", "列席："):
        index = next(i for i, text in enumerate(texts) if text.startswith(label))
        assert index > body_end, f"{label} after the body"
        labels[label] = found[index]
    page, attend = labels["出席："]
    assert attend.x0 == pytest.approx(LEFT + 2 * 320 / 20 * 25.4 / 72, abs=0.6), "two characters in"
    wrapped = found[texts.index(attend.text) + 1][1]
    assert wrapped.x0 == pytest.approx(attend.x0 + 3 * CHAR_MM, abs=0.6), "names wrap under the first name"
    for label, (page, _) in labels.items():
        assert any("NotoSansCJK" in font for font in fonts_used(pdf, page, label[:2])), f"{label} in 黑体"


# --- 9. 份号, 密级, 紧急程度 and the seal modes ------------------------------------------------------------


def test_copy_number_secrecy_and_urgency_stack_above_the_organ_mark(pdfs: dict[str, Path]) -> None:
    pdf = pdfs["marks"]
    first = in_type_area(pdf, 1)
    assert [line.text for line in first[:3]] == ["000012", "机密★1年", "特急"], "in the standard's order"
    for index, line in enumerate(first[:3], 1):
        assert line.x0 == pytest.approx(LEFT, abs=0.6), f"{line.text} flush left"
        assert line.y1 == pytest.approx(TOP + index * LINE_MM, abs=0.6), f"{line.text} on line {index}"
    for text in ("机密", "特急"):
        assert any("NotoSansCJK" in font for font in fonts_used(pdf, 1, text)), f"{text} in 黑体"
    mark = next(line for line in first if line.text == "金乡县卫生健康局文件")
    plain = next(line for line in lines(pdfs["seal"], 1) if line.text == "金乡县卫生健康局文件")
    assert mark.y0 == pytest.approx(plain.y0, abs=0.3), "the organ mark stays 35 mm below the type area"


def test_seal_mode_marks_where_the_seal_goes(pdfs: dict[str, Path]) -> None:
    pdf = pdfs["seal"]
    found = in_type_area(pdf, 1)
    signer = next(line for line in found if line.text == "金乡县卫生健康局")
    date = next(line for line in found if line.text == "2026年3月5日")
    body_end = max(line.y1 for line in found if line.y1 < signer.y0)
    assert RIGHT - date.x1 == pytest.approx(4 * CHAR_MM, abs=0.8), "date four characters in"
    # The right-aligned date grows leftwards by LibreOffice's extra CJK/Latin space (see lo_extra).
    signer_centre = (signer.x0 + signer.x1) / 2
    assert signer_centre == pytest.approx((date.x0 + date.x1 + lo_extra(date)) / 2, abs=0.8), (
        "signer over date"
    )
    width, _, data = pixels(pdf, 1)
    px = 25.4 / 100
    boxes = [(line.x0 - 0.5, line.y0 - 0.5, line.x1 + 0.5, line.y1 + 0.5) for line in lines(pdf, 1)]

    def grey_outside_text(x: int, y: int) -> bool:
        r, g, b = data[3 * (y * width + x) : 3 * (y * width + x) + 3]
        if not (130 < r < 200 and abs(r - g) < 8 and abs(r - b) < 8):
            return False
        return not any(x0 <= x * px <= x1 and y0 <= y * px <= y1 for x0, y0, x1, y1 in boxes)

    grey = [
        (x * px, y * px)
        for y in range(int((body_end - 5) / px), int((date.y1 + 25) / px))
        for x in range(int(LEFT / px), int(RIGHT / px))
        if grey_outside_text(x, y)
    ]
    assert len(grey) > 100, "no seal placeholder drawn"
    xs, ys = [x for x, _ in grey], [y for _, y in grey]
    assert max(xs) - min(xs) == pytest.approx(42, abs=2) and max(ys) - min(ys) == pytest.approx(42, abs=2)
    centre_x, centre_y = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    assert centre_x == pytest.approx((date.x0 + lo_extra(date) + date.x1) / 2, abs=1), (
        "seal centred on the date"
    )
    assert centre_y < (signer.y0 + date.y1) / 2, "signer and date a little below the seal's centre"
    assert min(ys) - body_end <= LINE_MM, "seal's top within a line of the body"


def lo_extra(date: Line) -> float:
    """How much wider LibreOffice sets the date than Word does, in mm.

    Word honours w:autoSpaceDE/DN="0" (no extra space between Chinese and digits); LibreOffice's DOCX
    import ignores them and adds about a fifth of a character at each change of script. The layout is
    computed for Word; the tests take LibreOffice's difference from the date line itself.
    """
    digits = sum(ch.isdigit() for ch in date.text)
    word_width = (len(date.text) - digits) * CHAR_MM + digits * 155 / 20 * 25.4 / 72
    extra = (date.x1 - date.x0) - word_width
    assert 0 <= extra < 8, f"unexpected date width {date.x1 - date.x0:.2f} mm"
    return extra


def test_no_seal_layout(pdfs: dict[str, Path]) -> None:
    found = in_type_area(pdfs["no_seal"], 1)
    signer = next(line for line in found if line.text == "金乡县卫生健康局")
    date = next(line for line in found if line.text == "2026年3月5日")
    body_end = max(line.y1 for line in found if line.y1 < signer.y0)
    assert signer.y1 - body_end == pytest.approx(2 * LINE_MM, abs=0.3), "one blank line below the body"
    assert date.y1 - signer.y1 == pytest.approx(LINE_MM, abs=0.3)
    # The signer two characters in; the date's first character two right of the signer's.
    assert RIGHT - signer.x1 == pytest.approx(2 * CHAR_MM, abs=0.8)
    assert date.x0 + lo_extra(date) - signer.x0 == pytest.approx(2 * CHAR_MM, abs=0.8)


def test_signature_stamp_layout(pdfs: dict[str, Path]) -> None:
    found = in_type_area(pdfs["signature_stamp"], 1)
    title = next(line for line in found if line.text == "主任")
    stamp = next(line for line in found if line.text == "签名章")
    date = next(line for line in found if line.text == "2026年3月5日")
    body_end = max(line.y1 for line in found if line.y1 < stamp.y0)
    assert stamp.y1 == title.y1
    assert stamp.y1 - body_end == pytest.approx(3 * LINE_MM, abs=0.3), "two blank lines below the body"
    border = 4 * 25.4 / 72  # the dashed box's 4 pt padding
    assert RIGHT - stamp.x1 == pytest.approx(4 * CHAR_MM + border, abs=0.8), "stamp four characters in"
    assert stamp.x0 - title.x1 == pytest.approx(2 * CHAR_MM + border, abs=0.8), "职务 two characters left"
    assert date.y1 - stamp.y1 == pytest.approx(2 * LINE_MM, abs=0.3), "date one blank line below"
    assert RIGHT - date.x1 == pytest.approx(4 * CHAR_MM, abs=0.8)


def test_layout_keys_of_a_data_file_reach_the_document(pdfs: dict[str, Path]) -> None:
    """zhikong render notice DATA.toml with note, copy_number, urgency, seal and attachment_texts."""
    pdf = pdfs["cli_notice"]
    first = in_type_area(pdf, 1)
    assert [line.text for line in first[:2]] == ["000003", "加急"]
    found = all_lines(pdf)
    date_index = next(i for i, (_, line) in enumerate(found) if line.text == "2026年3月5日")
    note_page, note = found[date_index + 1]
    assert note.text == "（联系人：张敏，电话：0537-0000000）", "附注 on the line below the date"
    assert note.x0 == pytest.approx(LEFT + 2 * 320 / 20 * 25.4 / 72, abs=0.6), "附注 two characters in"
    assert RIGHT - found[date_index - 1][1].x1 >= 2 * CHAR_MM - 0.8, "no-seal signer"
    attachment_page = page_of(pdf, "一、上午9时报到")
    assert attachment_page > note_page and in_type_area(pdf, attachment_page)[0].text == "附件1"
    assert page_of(pdf, "印发") == page_count(pdf) and page_count(pdf) % 2 == 0


def test_attachments_given_as_files_get_their_own_pages(pdfs: dict[str, Path]) -> None:
    pdf = pdfs["files_notice"]
    for label, text in (("附件1", "8:30前在三楼会议室签到。"), ("附件2", "联系电话：")):
        page = page_of(pdf, text)
        assert in_type_area(pdf, page)[0].text == label, f"{label} opens the page holding {text}"
    assert (
        page_of(pdf, "联系电话：") > page_of(pdf, "8:30前在三楼会议室签到。") > page_of(pdf, "2026年3月5日")
    )
    assert page_of(pdf, "印发") == page_count(pdf) and page_count(pdf) % 2 == 0


def test_attachment_file_problems_are_chinese(tmp_path: Path) -> None:
    data = tmp_path / "n.toml"
    base = (EXAMPLES / "notice.toml").read_text(encoding="utf-8")
    for extra, expected in (
        ('attachment_files = ["缺少.docx"]\n', "附件文件不存在"),
        ('attachment_files = "议程.docx"\n', "attachment_files"),
        ('attachment_files = ["x.pdf"]\n', "应为 .txt 或 .docx"),
    ):
        (tmp_path / "x.pdf").write_bytes(b"%PDF-1.4")
        data.write_text(base + extra, encoding="utf-8")
        result = CliRunner().invoke(cli, ["render", "notice", str(data), "--out", str(tmp_path / "o.docx")])
        assert result.exit_code != 0 and expected in result.output, result.output
        assert "Traceback" not in result.output and not (tmp_path / "o.docx").exists()
