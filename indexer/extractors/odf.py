"""OpenDocument .odt .ods .odp (LibreOffice's own formats, common where offices use WPS or LibreOffice).

An ODF file is a zip whose `content.xml` holds the text; read with the standard library, no LibreOffice
needed. Paragraphs and headings are lines; `<text:s text:c="n"/>` is n spaces, `<text:tab/>` a tab; a
spreadsheet row is its cells joined by tabs. A repeated cell or row (`number-columns-repeated`, which
LibreOffice writes as 1,048,576 for the rest of a sheet) is repeated only when it holds text, so a
sheet's "rest of the row" costs nothing. Headers and footers (in `styles.xml`) are read too.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

from zhikong.indexer.extractors.base import Extraction, Limits, TextSink, read_zip, unreadable
from zhikong.indexer.extractors.zipxml import iter_local, local, parse_member

ENCRYPTED = (
    "文件已加密（设有打开密码），无法读取文字；请取得无密码的版本（或打开后另存一份不设密码的）后重新放入"
)
_MAX_REPEAT = 1000  # a non-empty cell or row repeated more often than this is a bomb, not a table
_BLOCKS = {"p", "h"}
_TEXT_CONTAINERS = {"table", "list", "section", "frame", "text-box", "page", "notes", "g", "custom-shape"}


def _attr(el: ET.Element, name: str) -> str | None:
    return next((v for k, v in el.attrib.items() if local(k) == name), None)


def _inline(el: ET.Element) -> str:
    """The text of a paragraph, with its spans, spaces, tabs and line breaks."""
    out = [el.text or ""]
    for child in el:
        name = local(child.tag)
        if name == "s":
            out.append(" " * min(int(_attr(child, "c") or 1), 100))
        elif name == "tab":
            out.append("\t")
        elif name == "line-break":
            out.append("\n")
        elif name in ("note", "annotation"):
            pass  # footnotes and comments: read as their own paragraphs below
        else:
            out.append(_inline(child))
        out.append(child.tail or "")
    return "".join(out)


def _repeat(el: ET.Element, attribute: str) -> int:
    try:
        return max(1, min(int(_attr(el, attribute) or 1), _MAX_REPEAT))
    except ValueError:
        return 1


def _lines(el: ET.Element) -> Iterator[str]:
    """Every paragraph, heading and table row under `el`, in document order."""
    name = local(el.tag)
    if name in _BLOCKS:
        yield _inline(el)
        for child in el.iter():
            if local(child.tag) in ("note-body", "annotation") and child is not el:
                for p in child.iter():
                    if local(p.tag) in _BLOCKS:
                        yield _inline(p)
        return
    if name == "table-row":
        cells = []
        for cell in el:
            if local(cell.tag) not in ("table-cell", "covered-table-cell"):
                continue
            text = "\n".join(line for p in cell for line in _lines(p)).strip()
            cells += [text] * (_repeat(cell, "number-columns-repeated") if text else 1)
        row = "\t".join(cells).rstrip("\t")
        if row:
            yield from [row] * _repeat(el, "number-rows-repeated")
        return
    for child in el:
        if name == "spreadsheet" and local(child.tag) == "table" and _attr(child, "name"):
            yield _attr(child, "name") or ""  # the sheet's name, as the Excel reader gives it
        yield from _lines(child)


def _encrypted(zf: zipfile.ZipFile) -> bool:
    manifest = parse_member(zf, "META-INF/manifest.xml") if "META-INF/manifest.xml" in zf.NameToInfo else None
    return manifest is not None and any(True for _ in iter_local(manifest, "encryption-data"))


def _title(zf: zipfile.ZipFile) -> str | None:
    meta = parse_member(zf, "meta.xml") if "meta.xml" in zf.NameToInfo else None
    if meta is None:
        return None
    return next((el.text.strip() for el in iter_local(meta, "title") if el.text and el.text.strip()), None)


class OdfExtractor:
    kinds: tuple[str, ...] = ("odt", "ods", "odp")

    def extract(self, path: Path, limits: Limits) -> Extraction:
        return read_zip(path, limits, "OpenDocument", self._read)

    def _read(self, zf: zipfile.ZipFile, limits: Limits) -> Extraction:
        if _encrypted(zf):
            return unreadable(ENCRYPTED)
        sink = TextSink(limits)
        pages = None
        text_document = False
        for name in ("content.xml", "styles.xml"):
            root = parse_member(zf, name) if name in zf.NameToInfo else None
            if root is None:
                continue
            if name == "content.xml":
                parts = [root]
                pages = sum(1 for el in root.iter() if local(el.tag) == "page") or None  # slides
                text_document = any(True for _ in iter_local(root, "text"))
            elif text_document:  # a text's headers and footers (a sheet's are print furniture)
                parts = list(iter_local(root, "master-styles"))
            else:
                continue
            for part in parts:
                for line in _lines(part):
                    if not sink.add(line):
                        break
                if sink.full:
                    break
        return sink.result(title=_title(zf), pages=pages)
