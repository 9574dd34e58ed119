"""Issue 16, points 1, 8 and 10, through the real commands.

1. ``zhikong draft request`` makes the center's own 请示: its head and 代字, its own number sequence on
   approval, addressed to the bureau, signed by the director, ending 妥否，请批示。, filed as the center's record.
8. Every document type gets the notice's checks: 发文字号 and dates in the standard form (all problems at
   once, the right form named) and body headings in the notice's heading styles.
10. ``zhikong render`` makes a red-headed document only as an unnumbered 送审稿: a number is refused.
"""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import Run, as_json
from docx import Document

from zhikong import libreoffice
from zhikong.generator.render import TEMPLATE_NAMES, TEMPLATES_DIR

EXAMPLES = TEMPLATES_DIR / "examples"
BODY = "为提升全县护理人员专业技能，我中心拟于2026年5月举办全县护理技能竞赛。\n一、竞赛内容\n基础护理操作。\n二、经费预算\n约2万元。"
REQUEST_TITLE = "关于举办2026年全县护理技能竞赛的请示"


def center_settings(root: Path, **keys: str) -> None:
    """Add keys to the first [[center]] (护理质控中心) of zhikong.toml, as a secretary would in Notepad."""
    path = root / "zhikong.toml"
    text = path.read_text(encoding="utf-8")
    lines = "".join(f'{key} = "{value}"\n' for key, value in keys.items())
    text = text.replace('code = "HL"\n', 'code = "HL"\n' + lines, 1)
    path.write_text(text, encoding="utf-8")


def body_file(tmp_path: Path, text: str = BODY) -> Path:
    path = tmp_path / "正文.txt"
    path.write_text(text, encoding="utf-8")
    return path


def paragraphs(path: Path) -> list[tuple[str, str]]:
    """(style name, text) of every body paragraph; a title's line breaks are read as one line."""
    return [(p.style.name, p.text.replace("\n", "")) for p in Document(str(path)).paragraphs]


def headers(path: Path) -> str:
    document = Document(str(path))
    return "".join(
        p.text for s in document.sections for h in (s.header, s.even_page_header) for p in h.paragraphs
    )


def draft_request(run: Run, tmp_path: Path, *extra: str, expect: int = 0, body: str = BODY) -> Any:
    return run(
        "draft", "request", "--center", "护理质控中心", "--title", REQUEST_TITLE,
        "--body", str(body_file(tmp_path, body)), "--date", "2026-04-01", *extra, expect=expect,
    )  # fmt: skip


def data_file(tmp_path: Path, name: str, changes: dict[str, Any], drop: tuple[str, ...] = ()) -> Path:
    """A shipped example's data with some values changed (JSON, whatever the example's format)."""
    example = next(EXAMPLES.glob(f"{name}.*"))
    if example.suffix == ".toml":
        import tomllib

        data = tomllib.loads(example.read_text(encoding="utf-8"))
    else:
        data = json.loads(example.read_text(encoding="utf-8"))
    data = {k: v for k, v in {**data, **changes}.items() if k not in drop}
    path = tmp_path / f"{name}-数据.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


# -- 1. the center's own 请示 ----------------------------------------------------------------------------


def test_request_is_the_centers_own_in_its_own_sequence_and_filed_as_its_record(
    run: Run, root: Path, tmp_path: Path
) -> None:
    center_settings(root, doc_prefix="金护质控", full_name="金乡县护理质量控制中心")
    output = draft_request(run, tmp_path).output  # no --to, no --signer: the bureau, the director
    assert "发文机关：金乡县护理质量控制中心；主送：金乡县卫生健康局：；签发人：王秀英" in output
    [d] = as_json(run("draft", "list", "--json"))
    draft_file = root / d["draft_path"]
    text = paragraphs(draft_file)
    assert text[0] == ("公文版头", "金乡县护理质量控制中心文件")
    assert text[1][1] == "\t金护质控〔2026〕  号\t签发人：王秀英"
    assert ("公文主送", "金乡县卫生健康局：") in text
    body = [t for style, t in text if style == "公文正文" or style.endswith("级标题")]
    assert body[-1] == "妥否，请批示。" and ("公文署名", "金乡县护理质量控制中心") in text
    assert not any("金卫健字" in t or "卫生健康局文件" in t for _, t in text)
    assert "送审稿" in headers(draft_file)

    # A notice drafted after it is the bureau's, in the bureau's sequence: the two never share numbers.
    run("draft", "notice", "--center", "护理质控中心", "--title", "关于召开护理质控会议的通知",
        "--to", "各医疗机构", "--body", str(body_file(tmp_path, "定于3月15日召开会议。")))  # fmt: skip
    approved = run("draft", "approve", str(d["id"]), "--by", "县卫生健康局医政科").output
    assert "发文字号 金护质控〔2026〕1号" in approved and "类别 其他" in approved
    notice = run("draft", "approve", str(d["id"] + 1), "--by", "县卫生健康局医政科").output
    assert "发文字号 金卫健字〔2026〕1号" in notice and "类别 通知" in notice

    [final] = [r for r in as_json(run("ls", "--json")) if "请示" in r["path"]]
    assert final["path"] == f"护理质控中心/2026/发文/金护质控〔2026〕1号 {REQUEST_TITLE}.docx"
    assert final["category"] == "其他" and final["doc_number"] == "金护质控〔2026〕1号"
    final_text = paragraphs(root / final["path"])
    assert final_text[1][1] == "\t金护质控〔2026〕1号\t签发人：王秀英"
    assert "送审稿" not in headers(root / final["path"])


def test_request_from_the_host_hospital_by_setting(run: Run, root: Path, tmp_path: Path) -> None:
    center_settings(root, doc_prefix="金护质控", request_head="host")
    draft_request(run, tmp_path, "--signer", "李红梅", body=BODY + "\n当否，请批复。")
    [d] = as_json(run("draft", "list", "--json"))
    text = paragraphs(root / d["draft_path"])
    assert text[0][1] == "金乡县人民医院文件" and ("公文署名", "金乡县人民医院") in text
    assert "签发人：李红梅" in text[1][1]
    assert [t for _, t in text].count("妥否，请批示。") == 0, "a body ending 请批复。 keeps its own closing"


def test_request_problems_are_all_reported_and_nothing_drafted(run: Run, root: Path, tmp_path: Path) -> None:
    result = run(
        "draft", "request", "--center", "护理质控中心", "--title", "关于举办竞赛以及申请经费的请示",
        "--to", "县人民医院", "--body", str(body_file(tmp_path, "拟于2026年05月举办竞赛。")), expect=8,
    )  # fmt: skip
    out = result.output
    assert "还没有 doc_prefix" in out and 'doc_prefix = "金护质控"' in out
    assert "请示主送上级机关“金乡县卫生健康局”" in out
    assert "一文一事" in out
    assert "“2026年05月”应写成“2026年5月”" in out
    assert as_json(run("draft", "list", "--json")) == []
    center_settings(root, doc_prefix="金卫健字")
    assert "与卫健局的相同" in draft_request(run, tmp_path, expect=8).output


@pytest.mark.libreoffice
@pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice (soffice) 未安装")
def test_request_pdf_reads_as_the_centers_request(run: Run, root: Path, tmp_path: Path) -> None:
    center_settings(root, doc_prefix="金护质控", full_name="金乡县护理质量控制中心")
    draft_request(run, tmp_path)
    [d] = as_json(run("draft", "list", "--json"))
    run("draft", "approve", str(d["id"]), "--by", "县卫生健康局医政科")
    [d] = as_json(run("draft", "list", "--json"))
    pdfs = libreoffice.convert_many([root / d["draft_path"], root / d["final_path"]], "pdf", tmp_path / "pdf")
    draft_text, final_text = (
        subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True, text=True
        ).stdout
        for pdf in pdfs
    )
    for text in (draft_text, final_text):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        assert lines[int(text is draft_text)] == "金乡县护理质量控制中心文件"  # the draft's mark comes first
        assert "金乡县卫生健康局文件" not in text and "金卫健字" not in text
        assert "妥否，请批示。" in text.replace(" ", "")
        assert re.search(r"签发人：\s*王秀英", text)
    assert "送审稿" in draft_text and "送审稿" not in final_text
    assert re.search(r"金护质控〔2026〕\s+号", draft_text)
    assert "金护质控〔2026〕1号" in final_text.replace(" ", "")


# -- 8. the same checks for every document type --------------------------------------------------------


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_every_shipped_example_renders_without_a_problem(run: Run, tmp_path: Path, name: str) -> None:
    out = tmp_path / f"{name}.docx"
    data = next(EXAMPLES.glob(f"{name}.*"))
    assert "已生成" in run("render", name, str(data), "--out", str(out)).output
    assert out.is_file()


DATED = [name for name in TEMPLATE_NAMES if name != "sign_in"]


@pytest.mark.parametrize("name", DATED)
@pytest.mark.parametrize(
    ("written", "right"), [("二〇二六年三月五日", "2026年3月5日"), ("2026年05月12日", "2026年5月12日")]
)
def test_a_written_date_in_the_wrong_form_is_refused_with_the_right_one(
    run: Run, tmp_path: Path, name: str, written: str, right: str
) -> None:
    out = tmp_path / "o.docx"
    result = run(
        "render", name, str(data_file(tmp_path, name, {"date": written})), "--out", str(out), expect=8
    )
    assert f"“{written}”应写成“{right}”" in result.output and "阿拉伯数字" in result.output
    assert not out.exists()


def test_dates_inside_the_text_and_an_iso_date(run: Run, tmp_path: Path) -> None:
    changes = {"deadline": "2026年06月10日", "findings": ["二〇二六年五月十日检查发现问题。"]}
    out = tmp_path / "o.docx"
    data = data_file(tmp_path, "inspection_feedback", changes)
    result = run("render", "inspection_feedback", str(data), "--out", str(out), expect=8).output
    assert "2 处问题" in result
    assert "“deadline”中的日期“2026年06月10日”应写成“2026年6月10日”" in result
    assert "“findings[1]”中的日期“二〇二六年五月十日”应写成“2026年5月10日”" in result
    # 2026-05-12, as machines write it, is accepted and printed as the standard requires.
    run("render", "summary", str(data_file(tmp_path, "summary", {"date": "2026-07-05"})), "--out", str(out))
    assert ("公文日期", "2026年7月5日") in paragraphs(out)


def test_numbers_in_the_wrong_form_are_refused_with_every_other_problem(run: Run, tmp_path: Path) -> None:
    changes = {
        "doc_number": "金护质控函[26]第002号",
        "date": "2026年05月12日",
        "deadline": "二〇二六年六月十日",
    }
    out = tmp_path / "o.docx"
    data = data_file(tmp_path, "rectification_notice", changes)
    result = run("render", "rectification_notice", str(data), "--out", str(out), expect=8).output
    for message in (
        "应使用六角括号“〔〕”",
        "年份应写全四位",
        "不加“第”字",
        "序号不编虚位",
        "“2026年05月12日”应写成“2026年5月12日”",
        "“二〇二六年六月十日”应写成“2026年6月10日”",
    ):
        assert message in result, message
    assert not out.exists()
    data = data_file(tmp_path, "rectification_notice", {"doc_number": "【2026】05号"})
    result = run("render", "rectification_notice", str(data), "--out", str(out), expect=8).output
    assert "“【】”，应使用六角括号“〔〕”" in result and "序号不编虚位" in result


@pytest.mark.parametrize("name", ["letter", "minutes", "annual_plan", "summary"])
def test_body_headings_get_the_notices_heading_styles(run: Run, tmp_path: Path, name: str) -> None:
    body = "总体情况如下。\n一、主要工作\n（一）召开会议。会议部署了全年工作。\n1. 第一次会议\n（1）会前准备"
    out = tmp_path / f"{name}.docx"
    run("render", name, str(data_file(tmp_path, name, {"body": body})), "--out", str(out))
    styled = dict((text, style) for style, text in paragraphs(out))
    assert styled["总体情况如下。"] == "公文正文"
    assert styled["一、主要工作"] == "公文一级标题"
    assert styled["（一）召开会议。会议部署了全年工作。"] == "公文二级标题"
    assert styled["1. 第一次会议"] == "公文三级标题"
    assert styled["（1）会前准备"] == "公文四级标题"
    # The styles are the notice's: 一、 in 黑体, （一） in 楷体; the rest of a （一） line in 仿宋, as in a 通知.
    with zipfile.ZipFile(out) as package:
        styles = package.read("word/styles.xml").decode()
        document = package.read("word/document.xml").decode()
    assert re.search(r'w:styleId="公文一级标题".*?w:eastAsia="黑体"', styles, re.S)
    assert re.search(r'w:styleId="公文二级标题".*?w:eastAsia="楷体', styles, re.S)
    tail = re.search(r"<w:r>(?:(?!</w:r>).)*会议部署了全年工作。", document, re.S)
    assert tail and 'w:eastAsia="仿宋' in tail.group(0)


# -- 10. render makes red-headed documents only as unnumbered 送审稿 --------------------------------------


@pytest.mark.parametrize(
    ("name", "changes"),
    [
        ("notice", {"number": 3}),
        ("request", {"number": 1}),
        ("letter", {"doc_number": "金护质控函〔2026〕2号"}),
        ("notice", {"doc_number": "金卫健字〔2026〕3号"}),
    ],
)
def test_render_refuses_a_number_for_a_red_headed_document(
    run: Run, tmp_path: Path, name: str, changes: dict[str, Any]
) -> None:
    out = tmp_path / "o.docx"
    result = run("render", name, str(data_file(tmp_path, name, changes)), "--out", str(out), expect=8).output
    assert "发文字号在批准时才分配" in result and "zhikong draft approve" in result
    assert not out.exists()


@pytest.mark.parametrize(
    ("name", "number_line"),
    [
        ("notice", "金卫健字〔2026〕  号"),
        ("request", "\t金护质控〔2026〕  号\t签发人：王秀英"),
        ("letter", "金护质控函〔2026〕  号"),
        ("minutes", "第  期"),
    ],
)
def test_render_makes_red_headed_documents_as_unnumbered_drafts(
    run: Run, tmp_path: Path, name: str, number_line: str
) -> None:
    out = tmp_path / f"{name}.docx"
    output = run("render", name, str(next(EXAMPLES.glob(f"{name}.*"))), "--out", str(out)).output
    assert "送审稿，不编号" in output and "zhikong draft" in output
    assert "送审稿" in headers(out)
    text = paragraphs(out)
    assert number_line in [t for _, t in text]
    assert not any(re.search(r"〔2026〕\d+号", t) for _, t in text)


def test_a_users_copy_of_a_red_headed_template_is_a_draft_too(run: Run, tmp_path: Path) -> None:
    template = tmp_path / "我的函.docx"
    template.write_bytes((TEMPLATES_DIR / "letter.docx").read_bytes())
    out = tmp_path / "o.docx"
    data = data_file(tmp_path, "letter", {"doc_number": "金护质控函〔2026〕7号"})
    assert (
        "发文字号在批准时才分配"
        in run("render", str(template), str(data), "--out", str(out), expect=8).output
    )
    run("render", str(template), str(data_file(tmp_path, "letter", {})), "--out", str(out))
    assert "送审稿" in headers(out)


def test_working_papers_render_as_before(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "签到表.docx"
    output = run("render", "sign_in", str(EXAMPLES / "sign_in.json"), "--out", str(out)).output
    assert output.strip() == f"已生成：{out}（签到表）"
    assert headers(out) == ""
    out = tmp_path / "整改.docx"
    data = data_file(tmp_path, "rectification_notice", {"doc_number": "金护质控〔2026〕5号"})
    run("render", "rectification_notice", str(data), "--out", str(out))
    assert "金护质控〔2026〕5号" in "".join(t for _, t in paragraphs(out))


def test_center_add_takes_the_centers_own_prefix_and_name(run: Run, root: Path, tmp_path: Path) -> None:
    run("center", "add", "病案质控中心", "--code", "BA", "--host", "金乡县中医院", "--director", "张伟",
        "--doc-prefix", "金病案质控")  # fmt: skip
    assert 'doc_prefix = "金病案质控"' in (root / "zhikong.toml").read_text(encoding="utf-8")
    run("draft", "request", "--center", "病案质控中心", "--title", "关于开展病案质控培训的请示",
        "--body", str(body_file(tmp_path)))  # fmt: skip
    [d] = as_json(run("draft", "list", "--json"))
    text = paragraphs(root / d["draft_path"])
    assert text[0][1] == "金乡县病案质控中心文件"
    assert re.fullmatch(r"\t金病案质控〔\d{4}〕  号\t签发人：张伟", text[1][1])
    result = run("center", "add", "药事质控中心", "--code", "YS", "--host", "县医院", "--doc-prefix", "金药[2026]",
                 expect=None)  # fmt: skip
    assert result.exit_code != 0 and "含有数字" in result.output
    listed = {c["name"]: c for c in as_json(run("center", "list", "--json"))}
    assert (
        listed["病案质控中心"]["doc_prefix"] == "金病案质控"
        and listed["病案质控中心"]["request_head"] == "center"
    )


@pytest.mark.libreoffice
@pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice (soffice) 未安装")
def test_headings_of_a_plan_print_in_the_heading_fonts(run: Run, tmp_path: Path) -> None:
    """The printed fonts (pypdf, with the fontconfig stand-ins of zhikong/fonts.conf): 一、 in the 黑体
    stand-in, （一） in the 楷体 one, body text and 1. in the 仿宋 one — as in a 通知."""
    from pypdf import PdfReader

    body = "总体情况如下。\n一、主要工作\n（一）召开会议\n1. 第一次会议"
    out = tmp_path / "计划.docx"
    run("render", "annual_plan", str(data_file(tmp_path, "annual_plan", {"body": body})), "--out", str(out))
    pdf = libreoffice.convert(out, "pdf", tmp_path)
    fonts: dict[str, set[str]] = {}

    def visit(text: str, cm: object, tm: object, font: dict[str, Any] | None, size: float) -> None:
        for wanted in ("总体情况", "主要工作", "召开会议", "第一次会议"):
            if wanted in text and font:
                fonts.setdefault(wanted, set()).add(str(font.get("/BaseFont", "")))

    PdfReader(pdf).pages[0].extract_text(visitor_text=visit)
    heiti, kaiti, fangsong = fonts["主要工作"], fonts["召开会议"], fonts["总体情况"]
    assert heiti.isdisjoint(fangsong) and kaiti.isdisjoint(fangsong) and heiti.isdisjoint(kaiti), fonts
    assert fonts["第一次会议"] == fangsong, fonts
    assert any("Kai" in font for font in kaiti), fonts


def test_a_users_own_red_head_made_by_hand_is_a_draft_too(run: Run, tmp_path: Path) -> None:
    """A template a secretary made in Word, its red head typed in red by hand (no 公文版头 style)."""
    from docx.shared import RGBColor

    document = Document()
    head = document.add_paragraph().add_run("金乡县护理质量控制中心文件")
    head.font.color.rgb = RGBColor(0xFF, 0x00, 0x00)
    document.add_paragraph("{{ doc_number }}")
    document.add_paragraph("{{ title }}")
    document.add_paragraph("{{ body }}")
    template = tmp_path / "自制红头.docx"
    document.save(str(template))
    data = tmp_path / "数据.json"
    values = {"doc_number": "金护质控〔2026〕3号", "title": "关于开会的通知", "body": "定于3月15日开会。"}
    data.write_text(json.dumps(values, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "o.docx"
    assert (
        "发文字号在批准时才分配"
        in run("render", str(template), str(data), "--out", str(out), expect=8).output
    )
    data.write_text(
        json.dumps({**values, "doc_number": "", "doc_prefix": "金护质控", "year": 2026}, ensure_ascii=False),
        "utf-8",
    )
    run("render", str(template), str(data), "--out", str(out))
    assert "送审稿" in headers(out) and "金护质控〔2026〕  号" in [t for _, t in paragraphs(out)]
    # The same template in black is a working paper: it renders with its number, as before.
    head.font.color.rgb = RGBColor(0, 0, 0)
    document.save(str(template))
    data.write_text(json.dumps(values, ensure_ascii=False), encoding="utf-8")
    run("render", str(template), str(data), "--out", str(out))
    assert "金护质控〔2026〕3号" in [t for _, t in paragraphs(out)] and headers(out) == ""
