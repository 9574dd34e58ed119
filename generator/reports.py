"""Report files a secretary hands to the director: the check report (.docx/.xlsx), the filled-in
考核评分表 (.docx) and the county ranking (.xlsx)."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from zhikong.archive.checks import CheckReport
from zhikong.archive.score import Ranking, ScoreSheet
from zhikong.errors import InputFileError
from zhikong.generator.register import TITLE_FONT, grid, new_document, paragraph, save_atomic

FINDING_COLUMNS = ("中心", "年度", "规则", "依据条款", "评分表项目", "扣分", "问题", "涉及文件")
REMINDER_TITLE = "提醒（不算问题）"
REMINDER_COLUMNS = ("中心", "年度", "事项", "截止日期", "还剩天数", "评分表项目", "到期未完成扣分")


def _finding_rows(report: CheckReport) -> list[list[object]]:
    return [
        [
            f.center or "未归类",
            f.year or "",
            f.rule,
            f.article,
            f.item,
            f.cost,
            f.message,
            "\n".join(f.paths[:20]),
        ]
        for f in report.findings
    ]


def _reminder_rows(report: CheckReport, *, units: bool) -> list[list[object]]:
    """What is still missing with its deadline ahead (within the report's window): not a finding yet.
    With `units`, the days and points as words (a Word table); without, as numbers (a spreadsheet)."""
    return [
        [
            u.center,
            u.year,
            u.what.rstrip("，"),
            f"{u.due.year}年{u.due.month}月{u.due.day}日",
            f"{u.days_left} 天" if units else u.days_left,
            f"第{u.item}项",
            f"{_fmt(u.points)} 分" if units else u.points,
        ]
        for u in sorted(report.upcoming, key=lambda u: (u.due, u.center, u.item))
    ]


def _reminder_note(report: CheckReport) -> str:
    return (
        f"以下事项尚未完成、但截止日期未到（{report.within} 天内到期），现在不扣分；"
        "“还剩天数”含截止当天，到期仍未完成则按所列分数扣分。"
    )


def anchor_line(anchor: str | None) -> str:
    """The audit chain's head printed on a report, so the paper proves later what the log said then."""
    return f"审计日志锚点（链头）：{anchor}    核对：zhikong log verify --anchor {anchor}" if anchor else ""


def check_report(report: CheckReport, out: Path, *, county: str, anchor: str | None = None) -> Path:
    """The findings grouped by center, as .docx or .xlsx (chosen by the file's suffix); `anchor` is the
    audit chain's head (SEQ:HASH) when the report was made."""
    suffix = out.suffix.lower()
    title = f"{county}质控中心档案检查报告"
    when = (
        f"检查日期：{report.as_of.year}年{report.as_of.month}月{report.as_of.day}日    规则集：{report.rules}"
    )
    proof = anchor_line(anchor)
    if suffix == ".xlsx":
        book = Workbook()
        sheet = book.active
        sheet.title = "检查结果"
        sheet.append([title])
        sheet.append([when])
        sheet.append([proof])
        sheet.append(list(FINDING_COLUMNS))
        for cell in sheet[4]:
            cell.font = Font(bold=True)
        for row in _finding_rows(report):
            sheet.append(row)
        for col, width in zip("ABCDEFGH", (14, 7, 24, 12, 10, 7, 60, 70), strict=True):
            sheet.column_dimensions[col].width = width
        for row in sheet.iter_rows(min_row=5):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        later = book.create_sheet(REMINDER_TITLE)
        later.append([REMINDER_TITLE])
        later.append([_reminder_note(report)])
        later.append(list(REMINDER_COLUMNS))
        for cell in later[3]:
            cell.font = Font(bold=True)
        for row in _reminder_rows(report, units=False):
            later.append(row)
        for col, width in zip("ABCDEFG", (14, 7, 50, 16, 9, 10, 14), strict=True):
            later.column_dimensions[col].width = width
        return save_atomic(book, out)
    if suffix != ".docx":
        raise InputFileError(f"报告只能写成 .docx 或 .xlsx：{out}")
    doc = new_document(landscape=True)
    paragraph(doc, title, size=18, font=TITLE_FONT, center=True)
    paragraph(doc, when)
    if proof:
        paragraph(doc, proof, size=9)
    groups = report.by_center()
    if not groups:
        paragraph(doc, "未发现问题。")
    for center, findings in groups.items():
        paragraph(doc, f"{center}：{len(findings)} 项", size=14, font=TITLE_FONT)
        grid(
            doc,
            ("年度", "规则", "依据条款", "评分表项目", "扣分", "问题", "涉及文件"),
            [
                [
                    f.year or "",
                    f.rule,
                    f.article,
                    f"第{f.item}项",
                    _fmt(f.cost),
                    f.message,
                    "\n".join(f.paths[:10]),
                ]
                for f in findings
            ],
        )
    paragraph(doc, f"{REMINDER_TITLE}：{len(report.upcoming)} 项", size=14, font=TITLE_FONT)
    if report.upcoming:
        paragraph(doc, _reminder_note(report))
        grid(
            doc,
            REMINDER_COLUMNS,
            _reminder_rows(report, units=True),
        )
    else:
        paragraph(doc, f"{report.within} 天内没有到期的未完成事项。")
    return save_atomic(doc, out)


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}"


def score_form(sheet: ScoreSheet, out: Path, *, county: str, anchor: str | None = None) -> Path:
    """The 考核评分表 with 自查得分 filled in and the evidence of each score listed below it; `anchor` is
    the audit chain's head (SEQ:HASH) when it was made."""
    doc = new_document(landscape=True)
    paragraph(doc, sheet.title, size=18, font=TITLE_FONT, center=True)
    paragraph(
        doc, f"考核单位：{county}卫生健康局    被考核质控中心：{sheet.center}    考核年度：{sheet.year}"
    )
    paragraph(
        doc,
        f"自查日期：{sheet.as_of.year}年{sheet.as_of.month}月{sheet.as_of.day}日    规则集：{sheet.rules}",
    )
    rows: list[list[object]] = []
    for it in sheet.items:
        rows.append(
            [
                it.group,
                f"{it.no}.{it.name}({it.max:g}分)",
                it.standard,
                "局评" if it.score is None else _fmt(it.score),
                "",
            ]
        )
    rows.append(
        ["合计", f"{sheet.total_max:g}", "", f"{_fmt(sheet.self_total)}（自查 {sheet.self_max:g} 分内）", ""]
    )
    grid(doc, ("一级指标", "二级指标", "评分标准", "自查得分", "考核得分"), rows)
    paragraph(doc, "")
    paragraph(
        doc,
        f"预计总分：{_fmt(sheet.projected)}（局评项目按满分预计）    预计等次：{sheet.tier}",
        bold=True,
    )
    paragraph(doc, "考核等次认定：" + "  ".join(sheet.tier_lines))
    paragraph(doc, "自查依据", size=14, font=TITLE_FONT)
    grid(
        doc,
        ("项目", "自查得分", "依据", "引用文件"),
        [
            [
                f"{it.no}.{it.name}",
                "局评" if it.score is None else _fmt(it.score),
                it.basis,
                "\n".join(it.paths[:8]),
            ]
            for it in sheet.items
        ],
    )
    paragraph(doc, "")
    if anchor:
        paragraph(doc, anchor_line(anchor), size=9)
    paragraph(doc, "考核组组长：__________    考核组成员：__________    被考核单位签字：__________")
    paragraph(doc, "日期：    年    月    日")
    return save_atomic(doc, out)


def ranking_book(ranking: Ranking, out: Path) -> Path:
    if out.suffix.lower() != ".xlsx":
        raise InputFileError(f"全县排名只能写成 .xlsx：{out}")
    book = Workbook()
    sheet = book.active
    sheet.title = "考核排名"
    sheet.append(["名次", "质控中心", "自查得分", "第19项", "预计总分", "按分数线", "按比例定等"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in ranking.rows:
        sheet.append(
            [row.rank, row.center, row.self_total, row.ranking_points, row.total, row.tier_by_score, row.tier]
        )
    return save_atomic(book, out)
