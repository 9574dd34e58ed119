"""Word .docx: body (with tables and text boxes), headers, footers, footnotes; title from core properties."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

from zhikong.indexer.extractors.base import Extraction, Limits, TextSink, read_zip
from zhikong.indexer.extractors.numbering import Numbering
from zhikong.indexer.extractors.zipxml import iter_local, local, parse_member

_HEADING_STYLE = re.compile(r"^(heading|title|标题)", re.IGNORECASE)


def _paragraph_text(p: ET.Element) -> str:
    out: list[str] = []
    for el in p.iter():
        name = local(el.tag)
        if name == "t" and el.text:
            out.append(el.text)
        elif name == "tab":
            out.append("\t")
        elif name in ("br", "cr"):
            out.append("\n")
    return "".join(out)


def _paragraphs(root: ET.Element, numbering: Numbering) -> list[tuple[str, str]]:
    """(style id, text) of every paragraph in document order, each with the number or bullet Word shows
    before it ("一、", "（二）", "•"); table cells are paragraphs too."""
    result = []
    for p in iter_local(root, "p"):
        style = ""
        for el in p.iter():
            if local(el.tag) == "pStyle":
                style = next((v for k, v in el.attrib.items() if local(k) == "val"), "")
                break
        text = _paragraph_text(p)
        label = numbering.label(p, style)
        result.append((style, label + text if text.strip() else text))
    return result


def _core_title(zf: zipfile.ZipFile) -> str | None:
    root = parse_member(zf, "docProps/core.xml")
    if root is None:
        return None
    for el in iter_local(root, "title"):
        if el.text and el.text.strip():
            return el.text.strip()
    return None


def _part_names(zf: zipfile.ZipFile) -> list[str]:
    """The body first, then headers, footers and notes: all hold text a person may search for."""
    names = zf.namelist()
    extra = sorted(n for n in names if re.fullmatch(r"word/(header|footer|footnotes|endnotes)\d*\.xml", n))
    return ["word/document.xml", *extra]


class DocxExtractor:
    kinds: tuple[str, ...] = ("docx",)

    def extract(self, path: Path, limits: Limits) -> Extraction:
        return read_zip(path, limits, "Word", self._read)

    def _read(self, zf: zipfile.ZipFile, limits: Limits) -> Extraction:
        sink = TextSink(limits)
        heading: str | None = None
        numbering = Numbering.read(zf)
        for name in _part_names(zf):
            root = parse_member(zf, name)
            if root is None:
                continue
            for style, text in _paragraphs(root, numbering):
                if heading is None and text.strip() and _HEADING_STYLE.match(style):
                    heading = text.strip()
                if not sink.add(text):
                    break
            if sink.full:
                break
        return sink.result(title=_core_title(zf) or heading)


def body_lines(zf: zipfile.ZipFile) -> list[str]:
    """The main text of a .docx, one line per paragraph, with Word's automatic numbering (一、（一）1.) put
    back: what a secretary typed as the body of a notice (`zhikong draft notice --body 正文.docx`)."""
    root = parse_member(zf, "word/document.xml")
    if root is None:
        return []
    return [text for _style, text in _paragraphs(root, Numbering.read(zf))]
