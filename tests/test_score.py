"""`zhikong score`: the 考核评分表 filled in from the archive, tiers, the county ranking, rule sets as data."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import tomlkit
from archives import HL, YEAR_END, Y, assert_agree, complete_archive, gapped_archive, new_archive
from click.testing import CliRunner
from conftest import Run, as_json
from docx import Document
from openpyxl import load_workbook

from zhikong.archive.rules import load_rules
from zhikong.archive.samplefiles import make_docx

BUREAU_ITEMS = {10, 13, 17, 18, 19, 20, 21}


def sheet(run, *extra: str) -> dict:  # type: ignore[no-untyped-def]
    return as_json(run("score", "--center", HL, "--year", str(Y), "--as-of", YEAR_END, "--json", *extra))


def test_complete_archive_scores_full_marks_citing_files(tmp_path: Path, runner: CliRunner) -> None:
    run = complete_archive(tmp_path, runner)
    data = sheet(run)
    items = {i["no"]: i for i in data["items"]}
    assert len(items) == 21 and sum(i["max"] for i in items.values()) == 100
    for no, item in items.items():
        if no in BUREAU_ITEMS:
            assert item["score"] is None and item["by_bureau"], no
        else:
            assert item["score"] == item["max"], (no, item["basis"])
            assert item["paths"], f"item {no} cites no files"
    assert items[7]["paths"][0] == f"{HL}/{Y}/{Y}-03-20 一季度病例抽查"
    assert items[1]["paths"] == ["zhikong.toml"]
    assert data["self_total"] == data["self_max"] == 66
    assert data["projected"] == 100 and data["tier"] == "优秀"
    assert assert_agree(run, YEAR_END)["self_total"] == 66

    out = tmp_path / "考核评分表.docx"
    printed = run("score", "--center", HL, "--year", str(Y), "--as-of", YEAR_END, "--out", str(out))
    assert "预计等次：优秀" in printed.output
    doc = Document(str(out))
    form = doc.tables[0]
    assert [c.text for c in form.rows[0].cells] == [
        "一级指标",
        "二级指标",
        "评分标准",
        "自查得分",
        "考核得分",
    ]
    rows = {r.cells[1].text: r.cells[3].text for r in form.rows[1:]}
    assert rows["7.病例抽查与督导(5分)"] == "5" and rows["10.信息报送及时准确(5分)"] == "局评"
    evidence = [[c.text for c in r.cells] for r in doc.tables[1].rows[1:]]
    assert any(f"{Y}-05-10 护理质量督查" in row[3] for row in evidence if row[0].startswith("12."))
    assert "被考核质控中心：护理质控中心" in "\n".join(p.text for p in doc.paragraphs)


def test_gaps_cost_points_and_the_provincial_rules_grade_in_four_tiers(
    tmp_path: Path, runner: CliRunner
) -> None:
    run = gapped_archive(tmp_path, runner)
    data = sheet(run)
    scores = {i["no"]: i["score"] for i in data["items"]}
    assert scores[1] == 2  # four deputies
    assert scores[4] == 1.5  # three findings on material completeness, 0.5 each
    assert scores[5] == 3  # half-year summary two points late
    assert scores[7] == 3  # one quarter missing: −2
    assert scores[12] == 0  # no rectification: no closed loop
    assert data["projected"] == 86.5 and data["tier"] == "合格"
    basis = {i["no"]: i["basis"] for i in data["items"]}
    assert "第三季度" in basis[7] and "迟报" in basis[5]
    assert_agree(run, YEAR_END)

    settings = Path(run.root) / "zhikong.toml"  # type: ignore[attr-defined]
    doc = tomlkit.parse(settings.read_text(encoding="utf-8"))
    doc["rules"] = "hebei-province"
    settings.write_text(tomlkit.dumps(doc), encoding="utf-8")
    provincial = sheet(run)
    assert provincial["rules"] == "hebei-province"
    assert provincial["projected"] == 86.5 and provincial["tier"] == "良好"
    out = tmp_path / "省级.docx"
    run("score", "--center", HL, "--year", str(Y), "--as-of", YEAR_END, "--out", str(out))
    text = "\n".join(p.text for p in Document(str(out)).paragraphs)
    assert "优秀：90分及以上  良好：80分及以上  合格：60分及以上  不合格：其余" in text


def test_tier_boundaries() -> None:
    county = load_rules("jinxiang-2026")
    assert [county.tier_of(s) for s in (100, 90, 89.5, 75, 74.5, 0)] == [
        "优秀",
        "优秀",
        "合格",
        "合格",
        "不合格",
        "不合格",
    ]
    province = load_rules("hebei-province")
    assert [t.name for t in province.tiers] == ["优秀", "良好", "合格", "不合格"]
    assert [province.tier_of(s) for s in (90, 80, 79.5, 60, 59.5)] == [
        "优秀",
        "良好",
        "合格",
        "合格",
        "不合格",
    ]
    assert province.distribution == () and county.distribution == (0.3, 0.5, 0.2)
    assert len(province.items) == 21  # inherited from the county set (extends)


def test_a_rule_set_from_a_file_needs_no_code(tmp_path: Path, runner: CliRunner) -> None:
    run = complete_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    (root / "本县规则.toml").write_text(
        'extends = "jinxiang-2026"\nname = "某县-2027"\ndistribution = []\n'
        '[[tiers]]\nname = "达标"\nmin = 95\n[[tiers]]\nname = "未达标"\nmin = 0\n'
        '[checks."summary.half_year"]\ndue = "06-30"\n',
        encoding="utf-8",
    )
    doc = tomlkit.parse((root / "zhikong.toml").read_text(encoding="utf-8"))
    doc["rules"] = "本县规则.toml"
    (root / "zhikong.toml").write_text(tomlkit.dumps(doc), encoding="utf-8")
    data = sheet(run)
    assert data["rules"] == "某县-2027" and data["tier"] == "达标"
    late = as_json(run("check", "--json", "--as-of", YEAR_END, "--year", str(Y), expect=1))["findings"]
    assert [f["rule"] for f in late] == ["summary.half_year"]  # 7月5日 is late under a 30 June deadline
    doc["rules"] = "没有这个规则集"
    (root / "zhikong.toml").write_text(tomlkit.dumps(doc), encoding="utf-8")
    assert "找不到考核规则集" in run("check", expect=3).output


@pytest.fixture
def four_centers(tmp_path: Path, runner: CliRunner):  # type: ignore[no-untyped-def]
    run = new_archive(tmp_path, runner, centers=())
    full = ["--director", "甲", "--deputy", "乙", "--deputy", "丙", "--secretary", "丁", "--member", "戊"]
    for name, code, roster in (
        ("病案质控中心", "BA", full),
        ("药事质控中心", "YS", full[:-4] + full[-2:]),  # no secretary: −1
        ("检验质控中心", "JY", full[2:6] + full[-2:]),  # no director, no secretary: −2
        ("麻醉质控中心", "MZ", []),  # nobody: −3 (all four roles)
    ):
        run("center", "add", name, "--code", code, "--host", "金乡县人民医院", *roster)
    return run


def test_all_ranks_and_forces_the_distribution(four_centers, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = four_centers
    out = tmp_path / "排名.xlsx"
    rows = as_json(
        run("score", "--all", "--year", str(Y), "--as-of", f"{Y}-03-01", "--json", "--out", str(out))
    )
    assert [r["center"] for r in rows] == ["病案质控中心", "药事质控中心", "检验质控中心", "麻醉质控中心"]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4]
    # 4 centers: about 30 % → 1 优秀, about 50 % → 2 合格, the rest 不合格; item 19: 5 / 3 / 3 / 0
    assert [r["tier"] for r in rows] == ["优秀", "合格", "合格", "不合格"]
    assert [r["ranking_points"] for r in rows] == [5, 3, 3, 0]
    totals = [r["total"] for r in rows]
    assert totals == sorted(totals, reverse=True) and totals[0] - totals[1] == 3  # 1 point + item 19 5→3
    book = load_workbook(out).active
    assert [c.value for c in book[1]][:3] == ["名次", "质控中心", "自查得分"]
    assert book.cell(2, 2).value == "病案质控中心" and book.cell(5, 7).value == "不合格"
    for name in ("病案质控中心", "药事质控中心", "检验质控中心", "麻醉质控中心"):
        assert_agree(run, f"{Y}-03-01", center=name)
    text = run("score", "--all", "--year", str(Y), "--as-of", f"{Y}-03-01").output
    assert "按比例：优秀" in text
    assert "二者选一" in run("score", expect=2).output


def test_evidence_subjects_count_through_the_synonym_list(root: Path, run: Run) -> None:
    # "感控" in the files, "院感" in the rule set's subjects: only the search's synonym list connects them.
    # The center's own name ("院感质控中心") is no evidence for the subject 院感.
    year = date.today().year

    def item14(folder: str, subject: str) -> dict:  # type: ignore[type-arg]
        base = root / "院感质控中心" / str(year) / f"{year}-03-10 {folder}"
        make_docx(base / "督查记录.docx", f"{subject}督查记录", [f"检查各单位{subject}措施落实。"])
        make_docx(base / "整改报告.docx", "整改报告", ["已整改。"])
        make_docx(base / "签到表.docx", "签到表", ["张伟 王芳"])
        run("scan")
        sheet = as_json(
            run(
                "score",
                "--center",
                "院感质控中心",
                "--year",
                str(year),
                "--as-of",
                f"{year + 1}-01-15",
                "--json",
            )
        )
        return next(i for i in sheet["items"] if i["no"] == 14)

    none = item14("工作督查", "工作")
    assert none["score"] == 0 and "重点领域" in none["basis"]
    found = item14("感控督查", "感控")
    assert found["score"] == found["max"], found
    assert found["paths"] == [f"院感质控中心/{year}/{year}-03-10 感控督查/督查记录.docx"]
