"""Paper-register documents (DA/T 22-2015) and report files built directly with python-docx/openpyxl.

`box_documents` writes one .docx holding a box's 归档文件目录, its 备考表 and its 盒脊 label. The shared
helpers here (Chinese fonts through ``w:eastAsia``, grid tables, atomic saving) are used by
`generator/reports.py` for the check report and the scoring form as well.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from zhikong.archive.meta import strip_number
from zhikong.archive.numbering import RETENTION_NAMES
from zhikong.archive.paper import Box
from zhikong.generator.ooxml import child, rpr_fonts, xml_safe

BODY_FONT = "宋体"
TITLE_FONT = "黑体"
CATALOGUE_COLUMNS = ("序号", "档号", "文号", "责任者", "题名", "日期", "密级", "页数", "备注")


def new_document(*, landscape: bool = False) -> Any:
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.size = Pt(10.5)
    rpr_fonts(normal.element.get_or_add_rPr(), BODY_FONT)
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Mm(297), Mm(210)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(20))
    return doc


def paragraph(
    doc_or_cell: Any,
    text: str,
    *,
    size: float | None = None,
    bold: bool = False,
    font: str | None = None,
    center: bool = False,
) -> Any:
    p = doc_or_cell.add_paragraph()
    run = p.add_run(xml_safe(text))
    if size:
        run.font.size = Pt(size)
    run.bold = bold
    if font:
        rpr_fonts(run._r.get_or_add_rPr(), font)
    if center:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    return p


def grid(doc: Any, header: Sequence[str], rows: Sequence[Sequence[object]], *, size: float = 9) -> Any:
    table = doc.add_table(rows=1 + len(rows), cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    all_rows: list[list[object]] = [list(header), *[list(v) for v in rows]]
    for r, values in enumerate(all_rows):
        for c, value in enumerate(values):
            cell = table.cell(r, c)
            cell.text = ""
            run = cell.paragraphs[0].add_run(xml_safe("" if value is None else str(value)))
            run.font.size = Pt(size)
            run.bold = r == 0
            rpr_fonts(run._r.get_or_add_rPr(), TITLE_FONT if r == 0 else BODY_FONT)
    # Repeat the header row on every page of a long catalogue.
    child(table.rows[0]._tr.get_or_add_trPr(), "w:tblHeader").set(qn("w:val"), "true")
    return table


def page_break(doc: Any) -> None:
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def save_atomic(doc_or_book: Any, out: Path) -> Path:
    """Write next to the target and rename, so a crash never leaves half a report."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    doc_or_book.save(str(tmp))
    os.replace(tmp, out)
    return out


def _ymd(doc_date: str | None, activity_date: date | None) -> str:
    when = doc_date or (activity_date.isoformat() if activity_date else "")
    return when.replace("-", "")


def _remark(kind: str, scanned: bool, marked: bool) -> str:
    if kind == "paper":
        return "纸质件，已扫描" if scanned else "纸质件，待扫描"
    return "" if marked else "未入盒"


def catalogue_rows(box: Box, scanned: set[int]) -> list[list[object]]:
    """The 归档文件目录's rows (DA/T 22-2015 columns) for the records in the box."""
    return [
        [
            i + 1,
            r.archival_code or "",
            r.doc_number or "",
            r.responsible or box.center,
            r.title or strip_number(Path(r.path).stem),
            _ymd(r.doc_date, r.classification.activity_date),
            "",
            r.pages or "",
            _remark(r.kind, r.id in scanned, bool(r.paper_marked_at)),
        ]
        for i, r in enumerate(box.records)
    ]


def box_documents(box: Box, out: Path, *, scanned: set[int], compiled_by: str = "", today: date) -> Path:
    """归档文件目录 + 备考表 + 盒脊 of one box, in one .docx."""
    doc = new_document(landscape=True)
    paragraph(doc, "归档文件目录", size=18, font=TITLE_FONT, center=True)
    first, last = box.first_last
    paragraph(
        doc,
        f"全宗号：{box.fonds}    年度：{box.year}    保管期限：{RETENTION_NAMES.get(box.retention, box.retention)}"
        f"    机构（问题）：{box.center}（{box.code}）    盒号：{box.box}",
        size=10.5,
    )
    grid(doc, CATALOGUE_COLUMNS, catalogue_rows(box, scanned))

    page_break(doc)
    paragraph(doc, "备考表", size=18, font=TITLE_FONT, center=True)
    paper_only = sum(1 for r in box.records if r.kind == "paper")
    waiting = sum(1 for r in box.records if r.kind == "paper" and r.id not in scanned)
    pages = sum(r.pages or 0 for r in box.records)
    notes = (
        f"本盒共 {len(box.records)} 件，件号 {first or '—'} 至 {last or '—'}"
        + (f"，共 {pages} 页" if pages else "")
        + f"；已登记入盒 {box.filed} 件；仅有纸质件 {paper_only} 件，其中待扫描 {waiting} 件。"
    )
    paragraph(doc, "盒内情况说明：", bold=True)
    paragraph(doc, notes)
    paragraph(doc, "")
    paragraph(
        doc, f"整理人：{compiled_by or '________'}        日期：{today.year}年{today.month}月{today.day}日"
    )
    paragraph(doc, "检查人：________        日期：____年__月__日")

    page_break(doc)
    paragraph(doc, "盒脊", size=18, font=TITLE_FONT, center=True)
    span = f"{first:04d}—{last:04d}" if first and last else "—"
    grid(
        doc,
        ("全宗号", "年度", "保管期限", "起止件号", "盒号"),
        [[box.fonds, box.year, box.retention, span, box.box]],
        size=14,
    )
    return save_atomic(doc, out)
