"""Real office files made on the spot: the demo's sample archive and the tests use these.

Each maker writes a genuine file of its format with the libraries we already depend on, so what is read
back goes through the same code paths as a secretary's own files. The PDF maker writes text with the
Adobe-GB1 predefined CID font (STSong-Light), which every PDF reader knows without an embedded font file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from docx import Document
from openpyxl import Workbook
from pptx import Presentation
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)


def make_docx(path: Path, title: str, paragraphs: Sequence[str], table: Sequence[Sequence[str]] = ()) -> Path:
    """A Word document with a title, body paragraphs and an optional table."""
    doc = Document()
    doc.add_heading(title, level=1)
    for text in paragraphs:
        doc.add_paragraph(text)
    if table:
        grid = doc.add_table(rows=len(table), cols=max(len(r) for r in table))
        for i, row in enumerate(table):
            for j, cell in enumerate(row):
                grid.cell(i, j).text = cell
    doc.core_properties.title = title
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def make_pptx(path: Path, title: str, slides: Sequence[str], notes: Sequence[str] = ()) -> Path:
    """A slide deck: a title slide, then one slide per text (speaker notes optional)."""
    prs = Presentation()
    first = prs.slides.add_slide(prs.slide_layouts[0])
    first.shapes.title.text = title
    for i, text in enumerate(slides):
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = f"{title}（{i + 1}）"
        slide.placeholders[1].text = text
        if i < len(notes):
            slide.notes_slide.notes_text_frame.text = notes[i]
    path.parent.mkdir(parents=True, exist_ok=True)
    prs.save(str(path))
    return path


def make_xlsx(path: Path, title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    """A workbook with a title row, a header row and data rows (a sign-in list, a score sheet)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Sheet1"
    ws.append([title])
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(str(path))
    return path


_A4 = (595.0, 842.0)


def make_pdf(path: Path, pages: Sequence[Sequence[str]]) -> Path:
    """A PDF with a real Chinese text layer: one list of lines per page."""
    writer = PdfWriter()
    descriptor = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/FontDescriptor"),
                NameObject("/FontName"): NameObject("/STSong-Light"),
                NameObject("/Flags"): NumberObject(6),
                NameObject("/FontBBox"): ArrayObject([NumberObject(v) for v in (0, -200, 1000, 900)]),
                NameObject("/ItalicAngle"): NumberObject(0),
                NameObject("/Ascent"): NumberObject(880),
                NameObject("/Descent"): NumberObject(-120),
                NameObject("/CapHeight"): NumberObject(880),
                NameObject("/StemV"): NumberObject(93),
            }
        )
    )
    cid_font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/CIDFontType0"),
                NameObject("/BaseFont"): NameObject("/STSong-Light"),
                NameObject("/CIDSystemInfo"): DictionaryObject(
                    {
                        NameObject("/Registry"): TextStringObject("Adobe"),
                        NameObject("/Ordering"): TextStringObject("GB1"),
                        NameObject("/Supplement"): NumberObject(2),
                    }
                ),
                NameObject("/FontDescriptor"): descriptor,
            }
        )
    )
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type0"),
                NameObject("/BaseFont"): NameObject("/STSong-Light-UniGB-UCS2-H"),
                NameObject("/Encoding"): NameObject("/UniGB-UCS2-H"),
                NameObject("/DescendantFonts"): ArrayObject([cid_font]),
            }
        )
    )
    for lines in pages:
        page = writer.add_blank_page(*_A4)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        ops = ["BT", "/F1 12 Tf", "16 TL", "60 780 Td"]
        for line in lines:
            ops.append(f"<{line.encode('utf-16-be').hex()}> Tj T*")
        ops.append("ET")
        stream = DecodedStreamObject()
        stream.set_data("\n".join(ops).encode("ascii"))
        page[NameObject("/Contents")] = writer._add_object(stream)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        writer.write(fh)
    return path
