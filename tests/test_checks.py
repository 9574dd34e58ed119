"""`zhikong check` on archives with known gaps: it finds exactly those, and nothing in a complete archive."""

from __future__ import annotations

from pathlib import Path

from archives import (
    HL,
    YEAR_END,
    Y,
    assert_agree,
    complete_archive,
    docx,
    gapped_archive,
    new_archive,
    write_year,
)
from click.testing import CliRunner
from conftest import as_json
from docx import Document
from openpyxl import load_workbook


def keys(findings: list[dict]) -> set[tuple[str, str, int, int]]:
    return {(f["rule"], f["center"], f["year"], f["item"]) for f in findings}


def test_complete_archive_has_no_findings(tmp_path: Path, runner: CliRunner) -> None:
    run = complete_archive(tmp_path, runner)
    result = run("check", "--json", "--as-of", YEAR_END, "--year", str(Y))
    assert as_json(result)["findings"] == []
    assert "未发现问题" in run("check", "--as-of", YEAR_END, "--year", str(Y)).output
    for day in (f"{Y}-03-01", f"{Y}-07-20", f"{Y}-11-30", f"{Y}-12-31", YEAR_END):
        assert_agree(run, day)


def test_planted_gaps_are_found_exactly(tmp_path: Path, runner: CliRunner) -> None:
    run = gapped_archive(tmp_path, runner)
    result = run("check", "--json", "--as-of", YEAR_END, "--year", str(Y), expect=1)
    findings = as_json(result)["findings"]
    assert keys(findings) == {
        ("activity.materials", HL, Y, 4),  # the second meeting's sign-in sheet
        ("case_review.quarterly", HL, Y, 7),  # Q3
        ("summary.half_year", HL, Y, 5),  # late
        ("inspection.closed_loop", HL, Y, 12),  # feedback but no rectification
        ("record.paper", HL, Y, 4),  # the file that came after boxing
        ("record.electronic", HL, Y, 4),  # the paper item never scanned
        ("roster.composition", HL, Y, 1),  # four deputies
    }
    assert len(findings) == 7
    by_rule = {f["rule"]: f for f in findings}
    assert "签到表" in by_rule["activity.materials"]["message"]
    assert "第二次工作会议" in by_rule["activity.materials"]["message"]
    assert by_rule["case_review.quarterly"]["details"]["missing"] == [3]
    assert "第三季度" in by_rule["case_review.quarterly"]["message"]
    assert (
        "迟报" in by_rule["summary.half_year"]["message"]
        and "8月20日" in by_rule["summary.half_year"]["message"]
    )
    assert by_rule["summary.half_year"]["paths"] == [f"{HL}/{Y}/工作总结/{Y}年上半年护理质控工作总结.docx"]
    loop = by_rule["inspection.closed_loop"]
    assert "整改报告" in loop["message"] and "回头看" in loop["message"]
    assert f"{HL}/{Y}/{Y}-05-10 护理质量督查/反馈意见.docx" in loop["paths"]
    assert by_rule["record.paper"]["paths"] == [f"{HL}/{Y}/{Y}-06-20 护理技能竞赛/竞赛获奖名单.docx"]
    assert by_rule["record.electronic"]["paths"][0].startswith(f"纸质件/{HL}/{Y}/")
    assert "副主任 4 名" in by_rule["roster.composition"]["message"]
    for f in findings:
        assert f["article"] and f["message"] and f["paths"], f
    text = run("check", "--as-of", YEAR_END, "--year", str(Y), expect=1).output
    assert f"{HL}：7 项" in text and "J14(3)" in text and "第7项" in text
    for day in (f"{Y}-05-01", f"{Y}-08-15", YEAR_END):
        assert_agree(run, day)


def test_deadlines_not_reached_are_not_findings(tmp_path: Path, runner: CliRunner) -> None:
    run = new_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    write_year(root)
    (root / HL / str(Y) / "工作总结" / f"{Y}年上半年护理质控工作总结.docx").unlink()
    run("scan")

    def rules_on(day: str) -> set[str]:
        return {
            f["rule"]
            for f in as_json(run("check", "--json", "--as-of", day, "--year", str(Y), expect=None))[
                "findings"
            ]
        }

    assert "summary.half_year" not in rules_on(f"{Y}-07-31")
    assert "summary.half_year" in rules_on(f"{Y}-08-01")
    assert_agree(run, f"{Y}-07-31")
    # the third quarter is not over on 30 September; Q4's review (5 December) is not yet held on 1 October
    assert "case_review.quarterly" not in rules_on(f"{Y}-09-30")
    # the annual summary is due by 31 December: it exists, and the year's files are not yet boxed
    assert rules_on(f"{Y}-03-01") == {"record.paper"}


def test_linking_the_scan_clears_record_electronic(tmp_path: Path, runner: CliRunner) -> None:
    run = complete_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    added = run("paper", "add", "--center", HL, "--title", "第一次工作会议照片", "--category", "其他",
                "--activity", f"{Y}-03-15 第一次工作会议", "--box", "3")  # fmt: skip
    item = next(r for r in as_json(run("ls", "--json")) if r["kind"] == "paper")
    assert item["path"] in added.output and item["archival_code"] in added.output
    found = as_json(run("check", "--json", "--as-of", YEAR_END, "--year", str(Y), expect=1))["findings"]
    assert keys(found) == {("record.electronic", HL, Y, 4)}
    # a scan on disk never makes the paper item look deleted, and linking it closes the gap
    scan = root / HL / str(Y) / f"{Y}-03-15 第一次工作会议" / "照片扫描件.docx"
    docx(scan, "照片", "会议现场照片。")
    run("scan")
    run("paper", "link", item["archival_code"], str(scan))
    assert as_json(run("check", "--json", "--as-of", YEAR_END, "--year", str(Y)))["findings"] == []
    actions = [e["action"] for e in as_json(run("log", "--limit", "500", "--json"))]
    assert {"paper.add", "paper.mark", "paper.link", "paper.catalog"} <= set(actions)


def test_check_filters_and_reports(tmp_path: Path, runner: CliRunner) -> None:
    run = gapped_archive(tmp_path, runner)
    out_docx, out_xlsx = tmp_path / "检查报告.docx", tmp_path / "检查报告.xlsx"
    run("check", "--as-of", YEAR_END, "--year", str(Y), "--out", str(out_docx), expect=1)
    run("check", "--json", "--as-of", YEAR_END, "--year", str(Y), "--out", str(out_xlsx), expect=1)
    doc = Document(str(out_docx))
    body = "\n".join(p.text for p in doc.paragraphs)
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    assert "金乡县质控中心档案检查报告" in body and f"{HL}：7 项" in body
    assert "case_review.quarterly" in cells and "第三季度没有重点病例抽查与质量评价" in cells
    sheet = load_workbook(out_xlsx).active
    assert str(sheet["A3"].value).startswith("审计日志锚点（链头）：")  # the log's head when it was made
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=5)]
    assert len(rows) == 7 and {r[2] for r in rows} >= {"roster.composition", "record.paper"}
    # a year with nothing in it before the first quarter ends: only the roster
    early = as_json(run("check", "--json", "--as-of", f"{Y + 1}-02-01", "--year", str(Y + 1), expect=1))[
        "findings"
    ]
    assert keys(early) == {("roster.composition", HL, Y + 1, 1)}
    bad = run("check", "--center", "不存在中心", expect=3)
    assert "未知的质控中心" in bad.output


def test_report_files_give_each_findings_cost_and_the_reminders_apart(
    tmp_path: Path, runner: CliRunner
) -> None:
    """On 31 December the planted gaps are findings, each with the points it costs, and what is still due
    that day (the annual summary, taken away) is a reminder — in its own section of the .docx and its
    own sheet of the .xlsx, never among the findings."""
    run = gapped_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    (root / HL / str(Y) / "工作总结" / f"{Y}年护理质控工作总结.docx").unlink()  # due 31 December
    run("scan")
    day = f"{Y}-12-31"
    report = as_json(run("check", "--json", "--as-of", day, "--year", str(Y), expect=1))
    findings, reminders = report["findings"], report["reminders"]
    assert findings and reminders and any(f["cost"] > 0 for f in findings)
    out_docx, out_xlsx = tmp_path / "报告.docx", tmp_path / "报告.xlsx"
    run("check", "--as-of", day, "--year", str(Y), "--out", str(out_docx), expect=1)
    run("check", "--as-of", day, "--year", str(Y), "--out", str(out_xlsx), expect=1)

    book = load_workbook(out_xlsx)
    sheet = book["检查结果"]
    header = [c.value for c in sheet[4]]
    assert header[5] == "扣分"
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=5)]
    assert sorted((r[2], r[4], r[5], r[6]) for r in rows) == sorted(
        (f["rule"], f["item"], f["cost"], f["message"]) for f in findings
    )
    later = book["提醒（不算问题）"]
    assert "不扣分" in str(later["A2"].value)
    shown = [[c.value for c in r] for r in later.iter_rows(min_row=4)]
    assert sorted((r[2], r[4], r[5], r[6]) for r in shown) == sorted(
        (u["what"], u["days_left"], f"第{u['item']}项", u["points"]) for u in reminders
    )
    assert not {r[6] for r in rows} & {u["message"] for u in reminders}  # a reminder is not a finding

    doc = Document(str(out_docx))
    body = "\n".join(p.text for p in doc.paragraphs)
    assert f"提醒（不算问题）：{len(reminders)} 项" in body
    finding_table, reminder_table = doc.tables[0], doc.tables[-1]
    assert [c.text for c in finding_table.rows[0].cells][4] == "扣分"
    costs = {(row.cells[1].text, row.cells[5].text): row.cells[4].text for row in finding_table.rows[1:]}
    assert costs == {(f["rule"], f["message"]): f"{f['cost']:g}" for f in findings}
    assert [c.text for c in reminder_table.rows[0].cells][2:5] == ["事项", "截止日期", "还剩天数"]
    words = {(row.cells[2].text, row.cells[4].text, row.cells[6].text) for row in reminder_table.rows[1:]}
    assert words == {(u["what"], f"{u['days_left']} 天", f"{u['points']:g} 分") for u in reminders}
