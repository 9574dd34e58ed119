"""Small WordprocessingML helpers that python-docx does not offer.

python-docx only writes the Latin font name; Chinese text is drawn with the ``w:eastAsia`` font, so
every helper that sets a font sets all four slots. Sizes follow OOXML units: twips (1/20 pt) for
spacing and indents, half-points for font sizes, eighths of a point for border widths.
"""

from __future__ import annotations

import re

from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from lxml import etree

# Characters XML 1.0 forbids (python-docx and Word both reject them); tab and newline are allowed.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_safe(text: str) -> str:
    """Drop characters that cannot appear in an XML document (they would corrupt the .docx)."""
    return _XML_INVALID.sub("", text)


def mm(value: float) -> int:
    """Millimetres to twips."""
    return round(value * 1440 / 25.4)


def _sequence(names: str) -> tuple[str, ...]:
    return tuple(names.split())


# Child order of the WordprocessingML elements we edit (ECMA-376 Part 1, §17; the transitional
# schema's xsd:sequence). Word repairs — and validators reject — a file whose children are out of order.
_ORDER: dict[str, tuple[str, ...]] = {
    "pPr": _sequence(
        "pStyle keepNext keepLines pageBreakBefore framePr widowControl numPr suppressLineNumbers pBdr shd "
        "tabs suppressAutoHyphens kinsoku wordWrap overflowPunct topLinePunct autoSpaceDE autoSpaceDN bidi "
        "adjustRightInd snapToGrid spacing ind contextualSpacing mirrorIndents suppressOverlap jc "
        "textDirection textAlignment textboxTightWrap outlineLvl divId cnfStyle rPr sectPr pPrChange"
    ),
    "rPr": _sequence(
        "ins del moveFrom moveTo rStyle rFonts b bCs i iCs caps smallCaps strike dstrike outline shadow "
        "emboss imprint noProof snapToGrid vanish webHidden color spacing w kern position sz szCs "
        "highlight u effect bdr shd fitText vertAlign rtl cs em lang eastAsianLayout specVanish oMath"
    ),
    "pBdr": _sequence("top left bottom right between bar"),
    "tblPr": _sequence(
        "tblStyle tblpPr tblOverlap bidiVisual tblStyleRowBandSize tblStyleColBandSize tblW jc "
        "tblCellSpacing tblInd tblBorders shd tblLayout tblCellMar tblLook tblCaption tblDescription"
    ),
    "tcPr": _sequence(
        "cnfStyle tcW gridSpan hMerge vMerge tcBorders shd noWrap tcMar textDirection tcFitText vAlign "
        "hideMark"
    ),
    "sectPr": _sequence(
        "headerReference footerReference footnotePr endnotePr type pgSz pgMar paperSrc pgBorders "
        "lnNumType pgNumType cols formProt vAlign noEndnote titlePg textDirection bidi rtlGutter docGrid "
        "printerSettings"
    ),
}


def child(parent: etree._Element, tag: str) -> etree._Element:
    """The first child ``tag`` of ``parent``, created if missing at its place in the schema's order."""
    found = parent.find(qn(tag))
    if found is None:
        found = OxmlElement(tag)
        insert_ordered(parent, found)
    return found


def insert_ordered(parent: etree._Element, element: etree._Element) -> None:
    """Insert ``element`` before the first child that the schema puts after it (else append)."""
    order = _ORDER.get(etree.QName(parent).localname)
    name = etree.QName(element).localname
    if order and name in order:
        rank = order.index(name)
        for index, existing in enumerate(parent):
            other = etree.QName(existing).localname
            if other in order and order.index(other) > rank:
                parent.insert(index, element)
                return
    parent.append(element)


def set_attrs(element: etree._Element, **attrs: str | int) -> etree._Element:
    for key, value in attrs.items():
        element.set(qn("w:" + key), str(value))
    return element


def rpr_fonts(rpr: etree._Element, east_asia: str, latin: str | None = None) -> None:
    """Set the East Asian font (what Chinese text uses) and the Latin font of a ``w:rPr``."""
    fonts = child(rpr, "w:rFonts")
    latin = latin or east_asia
    set_attrs(fonts, ascii=latin, hAnsi=latin, cs=latin, eastAsia=east_asia)
    fonts.set(qn("w:hint"), "eastAsia")


def rpr_size(rpr: etree._Element, points: float) -> None:
    half_points = round(points * 2)
    set_attrs(child(rpr, "w:sz"), val=half_points)
    set_attrs(child(rpr, "w:szCs"), val=half_points)


def rpr_spacing(rpr: etree._Element, twentieths: int) -> None:
    """Character spacing in twentieths of a point (-5 = -0.25 pt, which makes 28 characters a line)."""
    set_attrs(child(rpr, "w:spacing"), val=twentieths)


def rpr_color(rpr: etree._Element, hex_rgb: str) -> None:
    set_attrs(child(rpr, "w:color"), val=hex_rgb)


def rpr_bold(rpr: etree._Element, bold: bool) -> None:
    set_attrs(child(rpr, "w:b"), val=1 if bold else 0)
    set_attrs(child(rpr, "w:bCs"), val=1 if bold else 0)


def ppr_spacing(
    ppr: etree._Element, *, line: int | None = None, rule: str = "exact", before: int = 0, after: int = 0
) -> None:
    """Paragraph spacing; ``line`` in twips with ``rule`` exact/atLeast, or in 240ths with ``auto``."""
    spacing = child(ppr, "w:spacing")
    set_attrs(spacing, before=before, after=after, beforeLines=0, afterLines=0)
    if line is not None:
        set_attrs(spacing, line=line, lineRule=rule)


def ppr_indent(
    ppr: etree._Element, *, left: int = 0, right: int = 0, first_line: int = 0, hanging: int = 0
) -> None:
    ind = child(ppr, "w:ind")
    for key in list(ind.attrib):  # a firstLine left beside a hanging indent would contradict it
        del ind.attrib[key]
    set_attrs(ind, left=left, right=right)
    if hanging:
        set_attrs(ind, hanging=hanging)
    else:
        set_attrs(ind, firstLine=first_line)


def ppr_align(ppr: etree._Element, value: str) -> None:
    """``left``/``both``/``center``/``right`` (OOXML spells left as ``left`` in transitional files)."""
    set_attrs(child(ppr, "w:jc"), val=value)


def ppr_no_grid(ppr: etree._Element) -> None:
    """Keep the exact line pitch even when a document grid is set (Word otherwise snaps lines to it)."""
    set_attrs(child(ppr, "w:snapToGrid"), val=0)


def ppr_border(
    ppr: etree._Element,
    side: str,
    *,
    size: int,
    color: str = "000000",
    space: int = 0,
    style: str = "single",
) -> None:
    """A paragraph border; ``size`` in eighths of a point, ``space`` (gap to the text) in points;
    ``style`` single, or thickThinSmallGap / thinThickSmallGap for the 信函格式's double lines."""
    borders = child(ppr, "w:pBdr")
    set_attrs(child(borders, "w:" + side), val=style, sz=size, space=space, color=color)


def ppr_frame(ppr: etree._Element, *, x: int, y: int, width: int, height: int = 0) -> None:
    """Place the paragraph in a frame at (x, y) twips from the page's corner, text not beside it."""
    frame = child(ppr, "w:framePr")
    set_attrs(frame, w=width, wrap="notBeside", hAnchor="page", vAnchor="page", x=x, y=y)
    if height:
        set_attrs(frame, h=height, hRule="exact")


def ppr_tab(ppr: etree._Element, position: int, alignment: str = "right") -> None:
    tabs = child(ppr, "w:tabs")
    tab = OxmlElement("w:tab")
    set_attrs(tab, val=alignment, pos=position)
    tabs.append(tab)


def ppr_keep(ppr: etree._Element, *, with_next: bool = True, lines: bool = True) -> None:
    """Keep the paragraph on one page (keepLines) and on the page of the next one (keepNext)."""
    if with_next:
        child(ppr, "w:keepNext")
    if lines:
        child(ppr, "w:keepLines")


def ppr_widow_control(ppr: etree._Element, on: bool = True) -> None:
    """At least two lines of the paragraph on each page it spans (w:widowControl)."""
    set_attrs(child(ppr, "w:widowControl"), val=1 if on else 0)


def ppr_page_break_before(ppr: etree._Element) -> None:
    child(ppr, "w:pageBreakBefore")


def page_field_runs(rpr_xml: etree._Element | None = None) -> list[etree._Element]:
    """Runs of a ``PAGE`` field (begin, instruction, separate, placeholder, end)."""
    runs = []
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        run = OxmlElement("w:r")
        if rpr_xml is not None:
            run.append(_copy(rpr_xml))
        if kind:
            run.append(set_attrs(OxmlElement("w:fldChar"), fldCharType=kind))
        elif text == " PAGE ":
            instr = OxmlElement("w:instrText")
            instr.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            instr.text = text
            run.append(instr)
        else:
            t = OxmlElement("w:t")
            t.text = text
            run.append(t)
        runs.append(run)
    return runs


def _copy(element: etree._Element) -> etree._Element:
    copied: etree._Element = etree.fromstring(etree.tostring(element))
    return copied
