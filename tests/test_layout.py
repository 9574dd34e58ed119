"""GB/T 9704-2012 layout, measured on LibreOffice's PDF of the generated documents (not on our XML).

All documents are converted in one soffice run (module fixture). Positions come from
``pdftotext -bbox-layout`` (text boxes, in points) and from ``pdftoppm`` pixels (colours, rules).
In LibreOffice a line of exact pitch puts its extra leading above the glyphs, so a text line's box
*bottom* is the bottom of its line; the type area's top is the first line's bottom minus the pitch.
"""

from __future__ import annotations

import datetime
import itertools
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path
from statistics import median

import pytest
from docx import Document

from zhikong import libreoffice
from zhikong.generator.notice import NoticeSpec, render_notice
from zhikong.generator.render import load_data, render_template, shipped_templates

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice (soffice) 未安装"),
    pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) 未安装"),
]

PT = 25.4 / 72  # millimetres per point
DPI = 100
TOL = 1.0  # mm
EXAMPLES = Path(__file__).resolve().parent.parent / "templates" / "examples"
NASTY_TITLE = "关于召开2026年第一次护理质控工作会议暨“院感&质控<联合>”😀培训班及全县护理技能竞赛和学术交流等活动安排工作的通知"  # 60 characters


@dataclass(frozen=True)
class Line:
    x0: float  # millimetres from the page's top-left corner
    y0: float
    x1: float
    y1: float
    text: str


def spec(**changes: object) -> NoticeSpec:
    base = NoticeSpec(
        organ_mark="金乡县卫生健康局文件",
        doc_prefix="金卫健字",
        year=2026,
        number=None,
        title="关于召开2026年第一次护理质控工作会议的通知",
        to="各镇街卫生院、县直各医疗机构：",
        body="为加强护理质量管理，决定召开会议。\n一、会议时间\n2026年3月15日上午。",
        signer="金乡县卫生健康局",
        date=datetime.date(2026, 3, 5),
        attachments=("会议议程", "参会回执"),
        cc=("县护理质控中心", "县人民医院"),
        issuer="金乡县卫生健康局办公室",
    )
    return NoticeSpec(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def long_body(pages: int) -> str:
    paragraph = "质控" * 140  # 280 characters: 10 full lines plus the indented first
    return "\n".join(["一、总体要求"] + [paragraph] * (pages * 2 + 1))


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("layout")
    docs = {
        "long": render_notice(spec(body=long_body(40)), work / "long.docx"),
        "nasty": render_notice(
            spec(title=NASTY_TITLE, body="甲&乙<丙>“引号”'单引号'😀\n一、A&B"), work / "nasty.docx"
        ),
        "final": render_notice(spec(draft=False, number=3, cc=()), work / "final.docx"),
        "request": render_notice(
            spec(
                kind="request",
                title="关于申请护理质控经费的请示",
                to="金乡县卫生健康局：",
                signed_by="王芳",
                body="为加强护理质量管理，特申请经费。\n妥否，请批示。",
            ),
            work / "request.docx",
        ),
        "split": _split_tag_template(work),
    }
    for name, template in shipped_templates().items():
        example = EXAMPLES / f"{name}.json"
        if example.exists():
            docs[f"tpl_{name}"] = render_template(template, load_data(example), work / f"tpl_{name}.docx")
    converted = libreoffice.convert_many(list(docs.values()), "pdf", work / "pdf")
    return dict(zip(docs, converted, strict=True))


def _split_tag_template(work: Path) -> Path:
    """A user template whose tags Word split across runs, as happens after editing."""
    doc = Document()
    paragraph = doc.add_paragraph()
    for piece in ("会议：{", "{ mee", "ting }", "}；地点：{{ place", " }}"):
        paragraph.add_run(piece).bold = piece.startswith("{")
    template = work / "split_template.docx"
    doc.save(template)
    return render_template(
        template, {"meeting": "第一次会议&培训", "place": "三楼<会议室>"}, work / "split.docx"
    )


def lines(pdf: Path, page: int) -> list[Line]:
    # pdftotext writes the PDF's Title metadata (the document's full title) into <title> with a
    # character outside the BMP (😀) as two encoded surrogates, which is not UTF-8: decode leniently.
    xml = subprocess.run(
        ["pdftotext", "-bbox-layout", "-f", str(page), "-l", str(page), str(pdf), "-"],
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8", errors="replace")
    found = []
    for match in re.finditer(
        r'<line xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</line>', xml, re.S
    ):
        words = re.findall(r">([^<]*)</word>", match.group(5))
        text = "".join(words).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
        x0, y0, x1, y1 = (float(v) * PT for v in match.groups()[:4])
        found.append(Line(x0, y0, x1, y1, text))
    return found


def page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))  # type: ignore[union-attr]


def pixels(pdf: Path, page: int) -> tuple[int, int, bytes]:
    ppm = subprocess.run(
        ["pdftoppm", "-r", str(DPI), "-f", str(page), "-l", str(page), str(pdf)],
        capture_output=True,
        check=True,
    ).stdout
    header = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", ppm)
    assert header, "pdftoppm did not return a PPM"
    return int(header.group(1)), int(header.group(2)), ppm[header.end() :]


def horizontal_rules(
    pdf: Path, page: int, colour: str, min_mm: float = 100
) -> list[tuple[float, float, float]]:
    """(y, x0, x1) in mm of every long horizontal run of red or dark pixels."""
    width, height, data = pixels(pdf, page)
    px = 25.4 / DPI
    rules = []
    for y in range(height):
        row = data[y * width * 3 : (y + 1) * width * 3]
        start = best = None
        best_len = run = 0
        for x in range(width):
            r, g, b = row[3 * x], row[3 * x + 1], row[3 * x + 2]
            hit = (r > 180 and g < 90 and b < 90) if colour == "red" else (r < 90 and g < 90 and b < 90)
            if hit:
                if run == 0:
                    start = x
                run += 1
                if run > best_len:
                    best_len, best = run, start
            else:
                run = 0
        if best is not None and best_len * px >= min_mm:
            rules.append((y * px, best * px, (best + best_len) * px))
    return rules


def body_lines(pdf: Path, page: int) -> list[Line]:
    """Lines inside the type area (no header mark, no page number)."""
    return [line for line in lines(pdf, page) if 30 < line.y1 < 263 and not line.text.startswith("—")]


def test_full_page_has_22_lines_of_28_characters_and_the_margins(pdfs: dict[str, Path]) -> None:
    page = body_lines(pdfs["long"], 2)
    assert len(page) == 22
    pitch = median(b.y1 - a.y1 for a, b in itertools.pairwise(page))
    assert pitch == pytest.approx(579 / 20 * PT, abs=0.05)
    top = page[0].y1 - pitch
    assert top == pytest.approx(37, abs=TOL), f"top margin {top:.2f} mm"
    assert page[-1].y1 == pytest.approx(297 - 35, abs=TOL), "22nd line ends on the type area's bottom"
    left = min(line.x0 for line in page)
    assert left == pytest.approx(28, abs=TOL), f"left margin {left:.2f} mm"
    full = [line for line in page if line.x0 < 29]
    assert full and all(len(line.text) == 28 for line in full if len(line.text) > 20)
    assert max(line.x1 for line in full) == pytest.approx(210 - 26, abs=TOL)


def test_organ_mark_and_separator_line_are_red_and_placed(pdfs: dict[str, Path]) -> None:
    pdf = pdfs["long"]
    first = lines(pdf, 1)
    mark = next(line for line in first if line.text == "金乡县卫生健康局文件")
    number = next(line for line in first if line.text.startswith("金卫健字〔2026〕"))
    assert mark.y0 == pytest.approx(37 + 35, abs=1.5), "organ mark's top 35 mm below the type area"
    assert (mark.x0 + mark.x1) / 2 == pytest.approx(28 + 78, abs=TOL), "organ mark centred"
    red = horizontal_rules(pdf, 1, "red")
    assert red, "no red separator line"
    y, x0, x1 = red[0]
    assert x1 - x0 == pytest.approx(156, abs=TOL) and x0 == pytest.approx(28, abs=TOL)
    # 4 mm below the number's glyphs is measured on the pixels in test_layout_gbt.py; the text box's
    # bottom (with the font's descent) is about 1.8 mm lower than the glyphs.
    assert 0 < y - number.y1 < 4, f"red line {y - number.y1:.2f} mm below the number's box"
    # The organ mark itself is red: most ink inside its box is red.
    width, _, data = pixels(pdf, 1)
    px = 25.4 / DPI
    red_ink = dark_ink = 0
    for yy in range(int(mark.y0 / px), int(mark.y1 / px)):
        for xx in range(int(mark.x0 / px), int(mark.x1 / px)):
            r, g, b = data[3 * (yy * width + xx) : 3 * (yy * width + xx) + 3]
            red_ink += r > 180 and g < 90 and b < 90
            dark_ink += r < 90 and g < 90 and b < 90
    assert red_ink > 500 and dark_ink < red_ink / 20


def test_page_numbers_alternate_sides(pdfs: dict[str, Path]) -> None:
    pdf = pdfs["long"]
    pages = page_count(pdf)
    assert pages >= 40, "a 40-page body"
    for page in (1, 2, 3, pages - 1, pages):
        number = [line for line in lines(pdf, page) if line.text.startswith("—")]
        assert [line.text for line in number] == [f"—{page}—"]
        line = number[0]
        # The dash itself 7 mm below the type area is measured on the pixels in test_layout_gbt.py.
        assert 262 < line.y0 < 262 + 7, "just below the type area"
        if page % 2:
            assert line.x1 == pytest.approx(184 - 4.9, abs=TOL), f"odd page {page} on the right"
        else:
            assert line.x0 == pytest.approx(28 + 4.9, abs=TOL), f"even page {page} on the left"


def test_imprint_sits_at_the_bottom_of_the_last_page(pdfs: dict[str, Path]) -> None:
    for name in ("long", "final"):
        pdf = pdfs[name]
        last = page_count(pdf)
        issued = [line for line in lines(pdf, last) if line.text.endswith("印发")]
        assert issued, f"{name}: 版记 not on the last page"
        assert issued[0].y1 == pytest.approx(262, abs=1.5)
        dark = horizontal_rules(pdf, last, "dark", min_mm=150)
        assert dark and dark[-1][0] == pytest.approx(262, abs=TOL), "last 版记 rule on the type area's edge"
        assert dark[-1][2] - dark[-1][1] == pytest.approx(156, abs=TOL)


def test_draft_mark_and_final_number(pdfs: dict[str, Path]) -> None:
    draft_text = " ".join(line.text for line in lines(pdfs["long"], 1))
    final_text = " ".join(line.text for line in lines(pdfs["final"], 1))
    assert "送审稿" in draft_text and "金卫健字〔2026〕号" in draft_text
    assert "送审稿" not in final_text and "金卫健字〔2026〕3号" in final_text


def test_request_number_left_signer_right(pdfs: dict[str, Path]) -> None:
    first = lines(pdfs["request"], 1)
    number = next(line for line in first if "金卫健字" in line.text)
    assert number.x0 == pytest.approx(28 + 5.6, abs=TOL), "发文字号 one character in from the left"
    signer = next(line for line in first if line.text.startswith("签发人："))
    assert signer.text == "签发人：王芳"
    assert signer.y1 == pytest.approx(number.y1, abs=0.5), "签发人 on the 发文字号 line"
    assert signer.x1 == pytest.approx(184 - 5.6, abs=TOL), "签发人 one character in from the right"


def test_special_characters_and_long_title_wrap_centred(pdfs: dict[str, Path]) -> None:
    first = lines(pdfs["nasty"], 1)
    text = "".join(line.text for line in first)
    assert "院感&质控<联合>" in text and "甲&乙<丙>" in text
    title = [line for line in first if 120 < line.y0 < 190 and line.x0 > 28.5]
    assert len(title) >= 3, "a 60-character title wraps onto three lines"
    for line in title:
        assert (line.x0 + line.x1) / 2 == pytest.approx(106, abs=1.5), f"title line not centred: {line}"


def test_split_tag_template_renders(pdfs: dict[str, Path]) -> None:
    text = "".join(line.text for line in lines(pdfs["split"], 1))
    assert "会议：第一次会议&培训；地点：三楼<会议室>" in text


def test_every_generated_file_converts(pdfs: dict[str, Path]) -> None:
    for name, pdf in pdfs.items():
        assert pdf.stat().st_size > 1000 and page_count(pdf) >= 1, name
    text = "".join(line.text for line in lines(pdfs["tpl_rectification_notice"], 1))
    for heading in ("问题清单", "手卫生依从性低于80%"):
        assert heading in text
    sign_in = [
        line
        for page in range(1, page_count(pdfs["tpl_sign_in"]) + 1)
        for line in lines(pdfs["tpl_sign_in"], page)
    ]
    assert {str(n) for n in range(1, 31)} <= {line.text for line in sign_in}, "30 numbered rows"


def test_body_east_asian_font_is_fangsong(pdfs: dict[str, Path]) -> None:
    docx = pdfs["long"].parent.parent / "long.docx"
    with zipfile.ZipFile(docx) as package:
        styles = package.read("word/styles.xml").decode()
        body = package.read("word/document.xml").decode()
    style = re.search(r'<w:style [^>]*w:styleId="公文正文".*?</w:style>', styles, re.S)
    assert style and re.search(r'w:eastAsia="仿宋[^"]*"', style.group(0))
    normal = re.search(r'<w:style [^>]*w:styleId="Normal".*?</w:style>', styles, re.S)
    assert normal and re.search(r'w:eastAsia="仿宋[^"]*"', normal.group(0))
    assert body.count('w:val="公文正文"') > 40
