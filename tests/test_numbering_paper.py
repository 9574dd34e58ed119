"""Archival numbering and the paper register through `zhikong paper …`."""

from __future__ import annotations

import re
from pathlib import Path

from archives import HL, Y, docx, new_archive, write_year
from click.testing import CliRunner
from conftest import as_json
from docx import Document

CODE = re.compile(r"^Z109-WS·2026-(Y|D30|D10)-HL-\d{4}$")


def by_path(run) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return {r["path"]: r for r in as_json(run("ls", "--json"))}


def test_catalog_numbers_prints_and_marks_a_box(tmp_path: Path, runner: CliRunner) -> None:
    run = new_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    write_year(root)
    run("scan")
    assert all(r["archival_code"] is None for r in by_path(run).values()), "numbers are not given at scan"
    out = tmp_path / "第1盒.docx"
    printed = run(
        "paper", "catalog", "--center", HL, "--year", str(Y), "--box", "1", "--by", "刘敏", "--out", str(out)
    )
    assert "保管期限 Y" in printed.output  # the longest-kept files go first
    d30 = run(
        "paper", "catalog", "--center", HL, "--year", str(Y), "--box", "2", "--out", str(tmp_path / "2.docx")
    )
    assert "保管期限 D30" in d30.output
    records = by_path(run)
    boxed = [r for r in records.values() if r["paper_box"] == 2]
    codes = sorted(r["archival_code"] for r in boxed)
    assert all(CODE.match(c) for c in codes)
    assert codes[0] == "Z109-WS·2026-D30-HL-0001" and codes[-1] == f"Z109-WS·2026-D30-HL-{len(codes):04d}"
    # numbered in date order: the undated standing documents first, then the activities
    plan = records[f"{HL}/{Y}/工作计划/{Y}年护理质控工作计划.docx"]
    notice = records[f"{HL}/{Y}/{Y}-03-15 第一次工作会议/会议通知.docx"]
    assert plan["item_no"] < notice["item_no"]

    doc = Document(str(out))
    header = [c.text for c in doc.tables[0].rows[0].cells]
    assert header == ["序号", "档号", "文号", "责任者", "题名", "日期", "密级", "页数", "备注"]
    first = [c.text for c in doc.tables[0].rows[1].cells]
    assert first[1] == "Z109-WS·2026-Y-HL-0001" and first[3] == HL and first[4] == "护理质量控制标准"
    assert first[7] == "1"  # its pages, counted (tests/test_register_meta.py has the page counts)
    plan = [c.text for c in Document(str(tmp_path / "2.docx")).tables[0].rows[1].cells]
    assert plan[4] == f"{Y}年护理质控工作计划" and plan[5] == f"{Y}0110"  # dated as signed, not undated
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "归档文件目录" in text and "备考表" in text and "盒脊" in text
    assert "本盒共 1 件" in text and "整理人：刘敏" in text
    spine = [c.text for c in doc.tables[-1].rows[1].cells]
    assert spine == ["Z109", "2026", "Y", "0001—0001", "1"]
    fonts = doc.styles["Normal"].element.xpath(".//w:rFonts/@w:eastAsia")
    assert fonts == ["宋体"]

    marked = run("paper", "mark", "--catalog", "--center", HL, "--year", str(Y), "--box", "2")
    assert f"共 {len(codes)} 件登记在第 2 盒" in marked.output
    assert all(r["paper_box"] == 2 for r in by_path(run).values() if r["archival_code"] in codes)


def test_numbers_are_stable_when_files_are_added(tmp_path: Path, runner: CliRunner) -> None:
    run = new_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    write_year(root)
    run("scan")
    for box in ("1", "2", "3"):
        run(
            "paper",
            "catalog",
            "--center",
            HL,
            "--year",
            str(Y),
            "--box",
            box,
            "--out",
            str(tmp_path / f"{box}.docx"),
        )
        run("paper", "mark", "--catalog", "--center", HL, "--year", str(Y), "--box", box)
    before = {p: r["archival_code"] for p, r in by_path(run).items()}
    # an older document turns up late: it takes the next number and renumbers nothing
    late = root / HL / str(Y) / f"{Y}-01-05 年初工作会议" / "会议通知.docx"
    docx(late, "关于召开年初会议的通知", "补交。")
    run("scan")
    run("paper", "catalog", "--center", HL, "--year", str(Y), "--box", "4", "--out", str(tmp_path / "4.docx"))
    after = by_path(run)
    assert all(after[p]["archival_code"] == code for p, code in before.items())
    new_code = after[late.relative_to(root).as_posix()]["archival_code"]
    d30 = [c for c in before.values() if c and "-D30-" in c]
    assert new_code == f"Z109-WS·2026-D30-HL-{len(d30) + 1:04d}"
    # mark by 档号; one box holds one retention period only
    run("paper", "mark", new_code, "--box", "4")
    clash = run("paper", "mark", new_code, "--box", "1", expect=9)
    assert "已登记在第 4 盒" in clash.output
    signin = next(p for p, r in after.items() if r["category"] == "签到表")
    assert after[signin]["paper_box"] == 3  # D10 box
    run("paper", "mark", "--catalog", "--center", HL, "--year", str(Y), "--box", "4")


def test_paper_add_registers_a_paper_only_item(tmp_path: Path, runner: CliRunner) -> None:
    run = new_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    out = run("paper", "add", "--center", HL, "--title", "第一次工作会议签到表", "--category", "签到表",
              "--activity", f"{Y}-03-15 第一次工作会议", "--doc-number", "金护质控〔2026〕1号",
              "--responsible", "护理质控中心", "--pages", "2", "--box", "1")  # fmt: skip
    item = next(r for r in as_json(run("ls", "--json")) if r["kind"] == "paper")
    assert item["path"].startswith(f"纸质件/{HL}/{Y}/") and item["path"].endswith(" 第一次工作会议签到表")
    assert item["archival_code"] == "Z109-WS·2026-D10-HL-0001" and item["paper_box"] == 1
    assert item["category"] == "签到表" and item["activity"] == "第一次工作会议" and item["pages"] == 2
    assert item["archival_code"] in out.output
    # the folder scan does not mistake it for a deleted file
    assert as_json(run("scan", "--json"))["deleted"] == 0
    assert item["path"] in run("ls").output
    run("paper", "catalog", "--center", HL, "--year", str(Y), "--box", "1", "--out", str(tmp_path / "b.docx"))
    doc = Document(str(tmp_path / "b.docx"))
    row = [c.text for c in doc.tables[0].rows[1].cells]
    assert (
        row[2] == "金护质控〔2026〕1号"
        and row[5] == "20260315"
        and row[7] == "2"
        and row[8] == "纸质件，待扫描"
    )
    # a scan linked by its paper item's path; the same scan cannot serve two items
    scan = root / HL / str(Y) / f"{Y}-03-15 第一次工作会议" / "签到表扫描件.docx"
    docx(scan, "签到表", "扫描件")
    run("scan")
    run("paper", "link", item["path"], str(scan))
    other = scan.with_name("签到表第二份扫描.docx")
    docx(other, "签到表", "又一份扫描件")
    run("scan")
    again = run("paper", "link", item["archival_code"], str(other), expect=9)
    assert "已关联扫描件" in again.output
    not_paper = run("paper", "link", scan.relative_to(root).as_posix(), str(scan), expect=9)
    assert "不是纸质件登记" in not_paper.output
    bad = run(
        "paper", "add", "--center", HL, "--title", "x", "--category", "照片", "--year", "2026", expect=4
    )
    assert "未知的类别" in bad.output
