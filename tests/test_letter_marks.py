"""A 函's 份号, 密级★保密期限 and 紧急程度 in 信函格式 (GB/T 9704 §10.1, issue 16 point 9): flush left under the
upper red double line in the standard's order, the first on the 发文字号's line, which stays flush right;
checked like a notice's; carried through draft → approve. Rendered with LibreOffice and measured."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import Run, as_json
from docx import Document
from test_draft_letters import approve, center_prefix, draft_letter, letter_data

from zhikong import libreoffice
from zhikong.cli import cli

MARKS = {"copy_number": "000001", "secrecy": "秘密", "secrecy_term": "1年", "urgency": "特急"}
PT_PER_MM = 72 / 25.4


def words(pdf: Path) -> list[tuple[str, float, float]]:
    """(word, x, y) in mm from the page's top left, of the first page (pdftotext -bbox)."""
    html = subprocess.run(
        ["pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]+)</word>', html)
    return [(w, float(x) / PT_PER_MM, float(y) / PT_PER_MM) for x, y, w in found]


def at(found: list[tuple[str, float, float]], start: str) -> tuple[float, float]:
    (x, y), *_ = [(x, y) for w, x, y in found if w.startswith(start)]
    return x, y


@pytest.mark.skipif(not libreoffice.available(), reason="需要 LibreOffice")
def test_the_marks_stand_at_the_left_under_the_red_line_in_the_standards_order(tmp_path: Path) -> None:
    out = tmp_path / "函.docx"
    result = CliRunner().invoke(
        cli, ["render", "letter", str(letter_data(tmp_path, **MARKS)), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    plain = tmp_path / "无标注.docx"
    assert (
        CliRunner()
        .invoke(cli, ["render", "letter", str(letter_data(tmp_path, "无.json")), "--out", str(plain)])
        .exit_code
        == 0
    )
    pdf, plain_pdf = libreoffice.convert_many([out, plain], "pdf", tmp_path)
    found = words(pdf)
    copy, number = at(found, "000001"), at(found, "金护质控函")
    secrecy, urgency, title = at(found, "秘密★1"), at(found, "特急"), at(found, "关于商请")
    assert abs(copy[1] - number[1]) < 0.5  # 份号 on the 发文字号's line
    assert abs(copy[0] - 28) < 1.5 and abs(secrecy[0] - 28) < 1.5 and abs(urgency[0] - 28) < 1.5  # flush left
    assert number[0] > 100  # the 发文字号 stays at the right
    assert copy[1] < secrecy[1] < urgency[1] < title[1]  # 份号, 密级, 紧急程度: the standard's order
    assert 5 < secrecy[1] - copy[1] < 12 and 5 < urgency[1] - secrecy[1] < 12  # a line each
    assert "000001" not in " ".join(w for w, _x, _y in words(plain_pdf))
    assert abs(at(words(plain_pdf), "金护质控函")[1] - number[1]) < 0.5  # the number line did not move


def test_wrong_marks_are_named_all_at_once(tmp_path: Path) -> None:
    data = letter_data(tmp_path, copy_number="1", secrecy="内部", urgency="急")
    result = CliRunner().invoke(cli, ["render", "letter", str(data), "--out", str(tmp_path / "x.docx")])
    assert result.exit_code == 8, result.output
    for message in (
        "份号“1”应为6位阿拉伯数字",
        "密级“内部”应为秘密、机密、绝密之一",
        "紧急程度“急”应为特急、加急之一",
    ):
        assert message in result.output
    assert not (tmp_path / "x.docx").exists()
    term_only = letter_data(tmp_path, "期限.json", secrecy_term="1年")
    result = CliRunner().invoke(cli, ["render", "letter", str(term_only), "--out", str(tmp_path / "y.docx")])
    assert result.exit_code == 8 and "写了保密期限却没有密级" in result.output


def test_a_marked_letter_keeps_its_marks_through_approval(run: Run, root: Path, tmp_path: Path) -> None:
    center_prefix(root)
    draft_letter(run, letter_data(tmp_path, **MARKS))
    [d] = as_json(run("draft", "list", "--json"))
    approve(run, d["id"])
    [d] = as_json(run("draft", "list", "--json"))
    final = Document(str(root / d["final_path"]))
    lines = [p.text for p in final.paragraphs]
    assert "000001\t金护质控函〔2026〕1号" in lines
    assert lines.index("秘密★1年") == lines.index("000001\t金护质控函〔2026〕1号") + 1
    assert lines.index("特急") == lines.index("秘密★1年") + 1
