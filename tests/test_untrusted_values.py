"""Issue 11, point 11: values that used to be accepted and must not be, through the real commands.

发文字号 in the wrong form wherever one enters (a template's data, `paper add --doc-number`), numbers of
the wrong type or size, roster fields of the wrong type in zhikong.toml, titles too long for a file
name, and titles carrying control, escape or bidi characters.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Run, as_json
from test_drafts import body_file, draft, drafts_json

from zhikong.archive.filenames import NAME_BYTES, PATH_CHARS, fit_file_name
from zhikong.generator.render import TEMPLATES_DIR

WRONG_NUMBERS = [
    ("金卫健字[2026]5号", "应使用六角括号“〔〕”"),
    ("金卫健字〔26〕5号", "年份应写全四位"),
    ("金卫健字〔2026〕005号", "序号不编虚位"),
    ("金卫健字〔2026〕第5号", "不加“第”字"),
    ("金卫健字（2026）5号", "应使用六角括号“〔〕”"),
    ("〔26〕", "年份应写全四位"),
    ("005号", "缺少用“〔〕”括起的四位年份"),
    ("第5号", "不加“第”字"),
    ("（2026）", "应使用六角括号“〔〕”"),
    ("金卫健字\u202e〔2026〕5号", "文字方向控制字符 U+202E"),
]


# -- 发文字号 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "message"), WRONG_NUMBERS)
def test_letter_data_with_a_malformed_doc_number_is_refused(
    run: Run, tmp_path: Path, number: str, message: str
) -> None:
    data = json.loads((TEMPLATES_DIR / "examples" / "letter.json").read_text(encoding="utf-8"))
    data["doc_number"] = number
    path = tmp_path / "函.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "函.docx"
    result = run("render", "letter", str(path), "--out", str(out), expect=8)
    assert "处问题，没有生成文件" in result.output and message in result.output
    assert not out.exists()


@pytest.mark.parametrize(("number", "message"), WRONG_NUMBERS)
def test_paper_add_refuses_a_malformed_doc_number(run: Run, number: str, message: str) -> None:
    result = run(
        "paper", "add", "--center", "护理质控中心", "--title", "会议通知", "--category", "通知",
        "--year", "2026", "--doc-number", number, expect=4,
    )  # fmt: skip
    assert "纸质件没有登记" in result.output and message in result.output
    assert as_json(run("ls", "--json")) == []


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("number = true", "“number”应为整数序号（如 3），不能是 bool 值 True"),
        ("number = 100000000000000000000", "“number”应在 1 到 99999 之间"),
        ("number = 0", "“number”应在 1 到 99999 之间"),
        ('number = "3"', "不能是 str 值 '3'"),
        ('year = "26"', "“year”应为四位数字的年份"),
        ('doc_number = "金卫健字[2026]3号"', "应使用六角括号“〔〕”"),
        ("title = 3", "“title”应为文字"),
    ],
)
def test_notice_data_of_the_wrong_type_is_refused(run: Run, tmp_path: Path, line: str, message: str) -> None:
    text = (TEMPLATES_DIR / "examples" / "notice.toml").read_text(encoding="utf-8")
    key = line.split(" ", 1)[0]
    kept = [row for row in text.splitlines() if not row.startswith(f"{key} =")]
    data = tmp_path / "通知.toml"
    data.write_text(line + "\n" + "\n".join(kept), encoding="utf-8")
    out = tmp_path / "通知.docx"
    result = run("render", "notice", str(data), "--out", str(out), expect=8)
    assert message in result.output
    assert "〔2026〕True号" not in result.output and not out.exists()


def test_a_correct_number_still_renders(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "通知.docx"
    run("render", "notice", str(TEMPLATES_DIR / "examples" / "notice.toml"), "--out", str(out))
    assert out.is_file()


# -- zhikong.toml -------------------------------------------------------------------------------------


def edit_settings(root: Path, old: str, new: str) -> None:
    path = root / "zhikong.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(root: Path, text: str) -> int:
    lines = (root / "zhikong.toml").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith(text))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('deputies = ["李红梅", "赵静"]', 'deputies = "李红梅"', "roster.deputies 应是名单"),
        ("members = []", 'members = "甲乙丙"', "roster.members 应是名单"),
        ('code = "HL"', "code = 12", "code 应为 1–6 个大写字母并加引号"),
        ('code = "HL"', 'code = "hl"', "code 应为 1–6 个大写字母并加引号"),
        ('code = "HL"', 'code = "GR"', "中心代码 GR 重复"),
        ('director = "王秀英"', "director = 7", "roster.director 应为加引号的文字"),
        ("consecutive_terms = 1", "consecutive_terms = true", "roster.consecutive_terms 应为不小于 1 的整数"),
        ('name = "护理质控中心"', 'name = "护理\u202e质控中心"', "文字方向控制字符 U+202E"),
    ],
)
def test_settings_of_the_wrong_type_name_their_line(
    run: Run, root: Path, old: str, new: str, message: str
) -> None:
    edit_settings(root, old, new)
    result = run("center", "list", expect=3)
    assert message in result.output
    if "重复" not in message:
        line = line_of(root, new.split(" ", 1)[0])
        assert f"第 {line} 行，第 1 个 [[center]]" in result.output


def test_settings_roster_read_as_written(run: Run, root: Path) -> None:
    edit_settings(root, 'term_start = ""', "term_start = 2024-01-01")  # a TOML date, unquoted
    [nursing, _] = as_json(run("center", "list", "--json"))
    assert nursing["roster"]["deputies"] == ["李红梅", "赵静"]
    assert nursing["roster"]["term_start"] == "2024-01-01"


# -- titles and file names ------------------------------------------------------------------------


def long_title(length: int, seed: str = "召开护理质控工作会议") -> str:
    middle = (seed * length)[: length - 5]
    return f"关于{middle}的通知"


@pytest.mark.parametrize("length", [74, 100, 200])
def test_long_titles_can_be_drafted_and_approved(run: Run, root: Path, tmp_path: Path, length: int) -> None:
    title = long_title(length)
    assert len(title) == length
    draft(run, body_file(tmp_path), title=title)
    run("draft", "approve", "1", "--by", "县卫生健康局医政科")
    [d] = drafts_json(run)
    assert d["title"] == title and d["doc_number"] == "金卫健字〔2026〕1号"
    for rel in (d["draft_path"], d["final_path"]):
        path = root / rel
        assert path.is_file()
        assert (
            len(path.name.encode("utf-8")) <= NAME_BYTES
        )  # Linux/macOS: 255 bytes, with room for .tmp names
        assert len(path.name.encode("utf-16-le")) // 2 <= 255  # Windows
    assert Path(d["final_path"]).name.startswith("金卫健字〔2026〕1号 关于召开")
    # the full title stays in the catalogue (read from the document's title property)
    [record] = as_json(run("ls", "--json"))
    assert record["title"] == title and record["path"] == d["final_path"]


def test_two_long_titles_with_the_same_beginning_get_different_names(
    run: Run, root: Path, tmp_path: Path
) -> None:
    first = long_title(200)
    second = first.removesuffix("的通知") + "的补充通知"
    draft(run, body_file(tmp_path), title=first)
    draft(run, body_file(tmp_path), title=second)
    run("draft", "approve", "1", "--by", "医政科")
    run("draft", "approve", "2", "--by", "医政科")
    names = [Path(d["final_path"]).name.split(" ", 1)[1] for d in drafts_json(run)]
    assert names[0] != names[1]
    assert fit_file_name(first, head="1 ") == fit_file_name(first, head="1 ")  # stable


def test_a_title_longer_than_a_document_holds_is_refused(run: Run, tmp_path: Path) -> None:
    result = draft(run, body_file(tmp_path), title=long_title(300), expect=8)
    assert "标题过长（300 字），上限 255 字" in result.output
    assert drafts_json(run) == []


@pytest.mark.parametrize(
    ("title", "named"),
    [
        ("关于召开\x1b[2J\x1b[31m护理会议的通知", "终端转义序列"),
        ("关于召开护理会议的通知\u202excod.exe", "文字方向控制字符 U+202E（从右向左覆盖"),
        ("关于召开\u2066护理会议\u2069的通知", "文字方向控制字符 U+2066"),
        ("关于召开\x07护理会议的通知", "控制字符 U+0007"),
        ("关于召开\n护理会议的通知", "控制字符 U+000A（换行）"),
    ],
)
def test_control_escape_and_bidi_characters_in_titles_are_refused(
    run: Run, root: Path, tmp_path: Path, title: str, named: str
) -> None:
    result = draft(run, body_file(tmp_path), title=title, expect=8)
    assert "含有看不见的字符" in result.output and named in result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output  # the message shows it cleaned
    assert drafts_json(run) == []
    assert not any((root / "送审稿").rglob("*.docx"))


def test_bidi_override_in_the_body_is_refused(run: Run, tmp_path: Path) -> None:
    result = draft(run, body_file(tmp_path, "请于3月15日\u202e日51月3\u202c前报送。"), expect=8)
    assert "正文" in result.output and "U+202E" in result.output


def test_paper_add_refuses_a_title_with_a_bidi_override(run: Run) -> None:
    result = run(
        "paper", "add", "--center", "护理质控中心", "--title", "签到表\u202excod.exe", "--category", "签到表",
        "--year", "2026", expect=4,
    )  # fmt: skip
    assert "U+202E" in result.output
    assert as_json(run("ls", "--json")) == []


def test_paper_item_path_fits_and_keeps_the_full_title(run: Run) -> None:
    title = long_title(200).replace("的通知", "签到表")
    run(
        "paper", "add", "--center", "护理质控中心", "--title", title, "--category", "签到表", "--year", "2026"
    )
    [item] = as_json(run("ls", "--json"))
    assert item["title"] == title
    name = item["path"].rsplit("/", 1)[1]
    assert len(name.encode("utf-8")) <= NAME_BYTES and name.startswith("1 关于召开")


def test_center_names_with_invisible_characters_are_refused(run: Run) -> None:
    result = run("center", "add", "药事\u202e质控中心", "--code", "YS", "--host", "某医院", expect=3)
    assert "中心名称含有看不见的字符" in result.output and "U+202E" in result.output


def test_fit_file_name_limits_and_cleaning(tmp_path: Path) -> None:
    assert fit_file_name("关于a/b:c*d?的通知", head="3 ", tail=".docx") == "3 关于a_b_c_d_的通知.docx"
    assert fit_file_name("关于\x1b[31m红\u202e字\x00的通知", head="3 ") == "3 关于红字的通知"
    assert fit_file_name(" . ", head="3 ") == "3 公文"
    title = long_title(200)
    name = fit_file_name(title, head="12 ", tail="（送审稿）.docx")
    assert len(name.encode("utf-8")) <= NAME_BYTES and name.endswith("（送审稿）.docx")
    assert name != fit_file_name(title + "x", head="12 ", tail="（送审稿）.docx")
    # A deep archive folder shortens the title further, so the whole path stays under Windows' MAX_PATH.
    deep = tmp_path / ("很深的文件夹" * 8) / "护理质控中心" / "2026" / "发文"
    fitted = fit_file_name(title, head="金卫健字〔2026〕1号 ", tail=".docx", folder=deep)
    assert len(str(deep / fitted)) <= PATH_CHARS or len(fitted) < 40
