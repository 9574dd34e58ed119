"""Generator library: 发文字号 rules, notice checks, template rendering and its failure modes."""

from __future__ import annotations

import datetime
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from docx import Document
from lxml import etree

from zhikong import libreoffice
from zhikong.errors import InputFileError, MissingDependency, TemplateError
from zhikong.generator.docnumber import check_doc_number, check_prefix, format_doc_number
from zhikong.generator.notice import NoticeSpec, check_notice, format_date, heading_level, render_notice
from zhikong.generator.render import load_data, render_template, shipped_templates, template_variables

ROOT = Path(__file__).resolve().parent.parent


def spec(**changes: object) -> NoticeSpec:
    base = NoticeSpec(
        organ_mark="金乡县卫生健康局文件",
        doc_prefix="金卫健字",
        year=2026,
        number=None,
        title="关于召开2026年第一次护理质控工作会议的通知",
        to="各镇街卫生院、县直各医疗机构：",
        body="为加强护理质量管理，决定召开会议。\n一、会议时间\n（一）时间。3月15日上午。\n1. 报到\n（1）签到",
        signer="金乡县卫生健康局",
        date=datetime.date(2026, 3, 5),
    )
    return NoticeSpec(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def assert_valid_docx(path: Path) -> None:
    with zipfile.ZipFile(path) as package:
        for name in package.namelist():
            if name.endswith((".xml", ".rels")):
                etree.fromstring(package.read(name))
    Document(str(path))


# 发文字号


def test_format_doc_number() -> None:
    assert format_doc_number("金卫健字", 2026, 3) == "金卫健字〔2026〕3号"
    assert format_doc_number("金卫健字", 2026, None) == "金卫健字〔2026〕  号"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("金卫健字[2026]3号", "docnumber.brackets"),
        ("金卫健字【2026】3号", "docnumber.brackets"),
        ("金卫健字（2026）3号", "docnumber.brackets"),
        ("金卫健字〔26〕3号", "docnumber.year"),
        ("金卫健字〔2026〕第3号", "docnumber.di"),
        ("金卫健字〔2026〕003号", "docnumber.leading_zero"),
        ("金卫健字〔2026〕3", "docnumber.hao"),
        ("金卫健字2026年3号", "docnumber.no_year"),
    ],
)
def test_check_doc_number_rejects_common_mistakes(text: str, code: str) -> None:
    problems = check_doc_number(text)
    assert code in {p.code for p in problems}
    assert all("发文字号" in p.message or "代字" in p.message for p in problems)


def test_check_doc_number_accepts_correct_form() -> None:
    assert check_doc_number("金卫健字〔2026〕3号") == []
    assert check_doc_number("金护质控〔2026〕12号") == []


def test_check_prefix() -> None:
    assert check_prefix("金卫健字") == []
    assert check_prefix("")
    assert check_prefix("金卫健字2026")
    assert check_prefix("金卫健〔字")


# notice checks


def test_check_notice_accepts_a_good_draft() -> None:
    assert check_notice(spec()) == []


def test_check_notice_collects_every_problem() -> None:
    bad = spec(
        doc_prefix="金卫健字[",
        title="召开会议",
        to="各医疗机构:",
        body="  \n",
        number=3,
        attachments=("议程。",),
        issue_date=datetime.date(2026, 3, 1),
        year=2025,
    )
    codes = {p.code for p in check_notice(bad)}
    assert {
        "docnumber.prefix_brackets",
        "notice.title_form",
        "notice.to_colon",
        "notice.body_empty",
        "notice.draft_number",
        "notice.attachment_punctuation",
        "notice.issue_date",
        "notice.year_mismatch",
    } <= codes


def test_check_notice_request_rules() -> None:
    codes = {
        p.code for p in check_notice(spec(kind="request", title="关于申请经费的请示", to="甲局、乙局："))
    }
    assert {"notice.signed_by", "notice.request_to"} <= codes
    assert (
        check_notice(
            spec(kind="request", title="关于申请经费的请示", to="金乡县卫生健康局：", signed_by="王芳")
        )
        == []
    )
    assert "notice.final_number" in {p.code for p in check_notice(spec(draft=False))}


def test_format_date_has_no_leading_zeros() -> None:
    assert format_date(datetime.date(2026, 3, 5)) == "2026年3月5日"
    assert format_date(datetime.date(2026, 12, 25)) == "2026年12月25日"


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("一、总体要求", 1),
        ("十二、其他", 1),
        ("（一）时间", 2),
        ("(二)地点", 2),
        ("1. 报到", 3),
        ("2．签到", 3),
        ("（1）材料", 4),
        ("1.5万元经费", 0),
        ("正文", 0),
    ],
)
def test_heading_levels(line: str, level: int) -> None:
    assert heading_level(line) == level


# rendering


def test_render_notice_writes_valid_docx_with_heading_styles(tmp_path: Path) -> None:
    out = render_notice(spec(attachments=("会议议程",), cc=("县人民医院",)), tmp_path / "n.docx")
    assert_valid_docx(out)
    xml = zipfile.ZipFile(out).read("word/document.xml").decode()
    for style in ("公文一级标题", "公文二级标题", "公文三级标题", "公文四级标题", "公文正文"):
        assert f'w:val="{style}"' in xml
    text = "\n".join(p.text for p in Document(str(out)).paragraphs)
    assert "附件：会议议程" in text and "2026年3月5日" in text and "金卫健字〔2026〕  号" in text
    header = zipfile.ZipFile(out).read("word/header1.xml").decode()
    assert "送审稿" in header
    assert not list(tmp_path.glob("*.tmp"))


def test_render_notice_refuses_before_writing(tmp_path: Path) -> None:
    out = tmp_path / "n.docx"
    out.write_bytes(b"old")
    with pytest.raises(TemplateError) as caught:
        render_notice(spec(to="各医疗机构", body=""), out)
    assert len(caught.value.problems) == 2
    assert out.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [out]


def test_special_characters_do_not_corrupt(tmp_path: Path) -> None:
    nasty = "A&B <c> \"d\" 'e' 😀 "
    out = render_notice(
        spec(title=f"关于{nasty}的通知", body=nasty + "\x01\x0b", cc=(nasty,)), tmp_path / "n.docx"
    )
    assert_valid_docx(out)
    text = "".join(p.text for p in Document(str(out)).paragraphs)
    assert "A&B <c> \"d\" 'e' 😀" in text


def test_shipped_templates_exist_and_render_examples(tmp_path: Path) -> None:
    templates = shipped_templates()
    assert set(templates) == {
        "notice",
        "request",
        "letter",
        "minutes",
        "annual_plan",
        "summary",
        "inspection_feedback",
        "rectification_notice",
        "sign_in",
    }
    for name, path in templates.items():
        assert path.is_file(), name
        example = ROOT / "templates" / "examples" / f"{name}.json"
        if example.exists():
            data = load_data(example)
            # Every variable is given; the one extra key is a red head's 代字 (its 送审稿's number line).
            assert set(data) - template_variables(path) <= {"doc_prefix"}, name
            assert template_variables(path) <= set(data), name
            assert_valid_docx(render_template(path, data, tmp_path / f"{name}.docx"))


def test_sign_in_has_n_rows_and_rectification_has_three_tables(tmp_path: Path) -> None:
    data = load_data(ROOT / "templates" / "examples" / "sign_in.json")
    out = render_template(shipped_templates()["sign_in"], {**data, "rows": 12}, tmp_path / "s.docx")
    assert len(Document(str(out)).tables[0].rows) == 1 + 12
    data = load_data(ROOT / "templates" / "examples" / "rectification_notice.json")
    out = render_template(shipped_templates()["rectification_notice"], data, tmp_path / "r.docx")
    tables = Document(str(out)).tables
    assert len(tables) == 3 and all(len(t.rows) == 3 for t in tables)


def test_missing_variables_are_all_named_and_nothing_written(tmp_path: Path) -> None:
    out = tmp_path / "x.docx"
    with pytest.raises(TemplateError) as caught:
        render_template(shipped_templates()["summary"], {"center": "护理质控中心"}, out)
    messages = " ".join(p.message for p in caught.value.problems)
    for name in ("year", "period", "body", "signer", "date"):
        assert f"“{name}”" in messages
    assert not out.exists() and not list(tmp_path.iterdir())


def _user_template(tmp_path: Path, pieces: list[str]) -> Path:
    doc = Document()
    paragraph = doc.add_paragraph()
    for piece in pieces:
        paragraph.add_run(piece)
    path = tmp_path / "user.docx"
    doc.save(str(path))
    return path


def test_tag_split_across_runs_renders(tmp_path: Path) -> None:
    template = _user_template(tmp_path, ["时间：{", "{ da", "te }", "}"])
    assert template_variables(template) == {"date"}
    out = render_template(template, {"date": "3月5日&"}, tmp_path / "o.docx")
    assert Document(str(out)).paragraphs[0].text == "时间：3月5日&"


def test_broken_tag_gives_chinese_error_with_context(tmp_path: Path) -> None:
    template = _user_template(tmp_path, ["会议时间：{{ date ", "没有结束"])
    with pytest.raises(TemplateError) as caught:
        render_template(template, {"date": "x"}, tmp_path / "o.docx")
    assert "模板" in caught.value.message
    assert not (tmp_path / "o.docx").exists()


def test_runtime_template_error_is_reported(tmp_path: Path) -> None:
    template = _user_template(tmp_path, ["{{ rows.name.first }}"])
    with pytest.raises(TemplateError) as caught:
        render_template(template, {"rows": 3}, tmp_path / "o.docx")
    assert "渲染失败" in caught.value.message


def test_load_data_json_toml_and_errors(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_bytes('\ufeff{"标题": "会议"}'.encode())
    assert load_data(tmp_path / "a.json") == {"标题": "会议"}
    (tmp_path / "a.toml").write_text('title = "会议"\nrows = 3\n', encoding="utf-8")
    assert load_data(tmp_path / "a.toml") == {"title": "会议", "rows": 3}
    (tmp_path / "bad.json").write_text('{"a": ', encoding="utf-8")
    with pytest.raises(InputFileError, match="第 1 行"):
        load_data(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[1]", encoding="utf-8")
    with pytest.raises(InputFileError, match="键值对"):
        load_data(tmp_path / "list.json")
    (tmp_path / "a.txt").write_text("x", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"\.json 或 \.toml"):
        load_data(tmp_path / "a.txt")


def test_not_a_docx_template(tmp_path: Path) -> None:
    fake = tmp_path / "t.docx"
    fake.write_text("not a zip")
    with pytest.raises(InputFileError, match=r"不是 \.docx"):
        template_variables(fake)


def test_libreoffice_missing_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert not libreoffice.available()
    with pytest.raises(MissingDependency, match="LibreOffice"):
        libreoffice.convert(tmp_path / "x.docx", "pdf", tmp_path)


def test_templates_are_reproducible_from_build_script() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "templates" / "build.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_render_takes_the_font_profile_from_the_option_or_the_archive(tmp_path: Path) -> None:
    """`render --fonts windows` names 仿宋/楷体 (what a stock Windows has) instead of the _GB2312 fonts; without
    the option, an archive's `fonts = "windows"` in zhikong.toml decides; outside an archive it is gb2312."""
    from click.testing import CliRunner

    from zhikong.cli import FONT_PROFILES, cli
    from zhikong.generator.gbt9704 import FONT_PROFILES as PROFILES

    assert set(FONT_PROFILES) == set(PROFILES)
    example = Path(__file__).resolve().parent.parent / "templates" / "examples" / "notice.toml"
    runner = CliRunner()

    def fonts_of(out: Path) -> str:
        with zipfile.ZipFile(out) as z:
            return z.read("word/document.xml").decode() + z.read("word/styles.xml").decode()

    plain, windows = tmp_path / "默认.docx", tmp_path / "windows.docx"
    for out, extra in ((plain, []), (windows, ["--fonts", "windows"])):
        result = runner.invoke(cli, ["render", "notice", str(example), "--out", str(out), *extra])
        assert result.exit_code == 0, result.output
    assert "仿宋_GB2312" in fonts_of(plain) and "仿宋_GB2312" not in fonts_of(windows)
    assert 'w:eastAsia="仿宋"' in fonts_of(windows)

    root = tmp_path / "档案库"
    made = runner.invoke(cli, ["init", str(root), "--county", "金乡县", "--bureau", "金乡县卫生健康局",
                               "--doc-prefix", "金卫健字", "--fonds", "Z109"])  # fmt: skip
    assert made.exit_code == 0, made.output
    settings = root / "zhikong.toml"
    text = settings.read_text(encoding="utf-8")
    assert 'fonts = "gb2312"' in text
    settings.write_text(text.replace('fonts = "gb2312"', 'fonts = "windows"'), encoding="utf-8")
    from_archive = tmp_path / "档案库设置.docx"
    result = runner.invoke(
        cli, ["--root", str(root), "render", "notice", str(example), "--out", str(from_archive)]
    )
    assert result.exit_code == 0, result.output
    assert "仿宋_GB2312" not in fonts_of(from_archive)
