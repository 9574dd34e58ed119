"""份号, 密级, 紧急程度 and seal-mode values are checked before a notice is written (GB/T 9704 §7.2, §7.3.5)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from conftest import Run
from test_layout import spec

from zhikong.errors import TemplateError
from zhikong.generator.notice import check_notice, render_notice


def codes(**changes: object) -> list[str]:
    return [problem.code for problem in check_notice(spec(**changes))]


def test_valid_marks_pass() -> None:
    assert codes(copy_number="000001", secrecy="机密", secrecy_term="1年", urgency="特急") == []
    assert codes(seal="none") == [] and codes(seal="signature", signer_title="主任") == []


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"copy_number": "12"}, "notice.copy_number"),
        ({"copy_number": "00000A"}, "notice.copy_number"),
        ({"secrecy": "内部"}, "notice.secrecy"),
        ({"secrecy_term": "1年"}, "notice.secrecy_term"),
        ({"urgency": "急件"}, "notice.urgency"),
        ({"seal": "stamp"}, "notice.seal"),
        ({"seal": "signature"}, "notice.signer_title"),
    ],
)
def test_bad_marks_are_named(changes: dict[str, object], code: str) -> None:
    assert code in codes(**changes)


def test_all_mark_problems_reported_together_and_nothing_written(tmp_path: Path) -> None:
    out = tmp_path / "notice.docx"
    with pytest.raises(TemplateError) as caught:
        render_notice(spec(copy_number="1", secrecy="内部", urgency="急"), out)
    assert {"notice.copy_number", "notice.secrecy", "notice.urgency"} <= {
        p.code for p in caught.value.problems
    }
    assert all("\n" not in p.message and p.message for p in caught.value.problems)
    assert not out.exists()


# --- the font profile, set in zhikong.toml --------------------------------------------------------------


def set_fonts(root: Path, value: str) -> None:
    settings = root / "zhikong.toml"
    text = settings.read_text(encoding="utf-8")
    assert 'fonts = "gb2312"' in text, "a new archive's zhikong.toml names the font profile"
    settings.write_text(text.replace('fonts = "gb2312"', f"fonts = {value}"), encoding="utf-8")


def east_asian_fonts(docx: Path) -> set[str]:
    with zipfile.ZipFile(docx) as package:
        xml = package.read("word/styles.xml").decode() + package.read("word/document.xml").decode()
    return set(re.findall(r'w:eastAsia="([^"]+)"', xml))


@pytest.mark.parametrize(
    ("value", "wanted", "absent"),
    [
        ('"gb2312"', {"仿宋_GB2312", "楷体_GB2312", "方正小标宋简体", "黑体"}, {"仿宋", "楷体"}),
        ('"windows"', {"仿宋", "楷体", "黑体", "宋体"}, {"仿宋_GB2312", "楷体_GB2312", "方正小标宋简体"}),
    ],
)
def test_drafts_use_the_font_profile_of_the_archive(
    run: Run, root: Path, tmp_path: Path, value: str, wanted: set[str], absent: set[str]
) -> None:
    set_fonts(root, value)
    body = tmp_path / "body.txt"
    body.write_text(
        "为加强护理质量管理，决定召开会议。\n一、会议时间\n（一）时间。3月15日上午。", encoding="utf-8"
    )
    run(
        "draft",
        "notice",
        "--center",
        "护理质控中心",
        "--title",
        "关于召开2026年第一次护理质控工作会议的通知",
        "--to",
        "各镇街卫生院、县直各医疗机构",
        "--body",
        str(body),
    )
    (made,) = (root / "送审稿").rglob("*.docx")
    fonts = east_asian_fonts(made)
    assert wanted <= fonts and not fonts & absent, fonts


def test_unknown_font_profile_is_a_chinese_settings_error(run: Run, root: Path) -> None:
    set_fonts(root, '"mac"')
    result = run("draft", "list", expect=None)
    assert result.exit_code != 0
    assert "公文字体只能是" in result.output and "Traceback" not in result.output
