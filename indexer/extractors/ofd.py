"""OFD (GB/T 33190-2016): a zip whose OFD.xml points to documents whose pages hold TextCode elements."""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

from zhikong.indexer.extractors.base import Extraction, Limits, TextSink, read_zip
from zhikong.indexer.extractors.zipxml import iter_local, parse_member


def _resolve(base_dir: str, loc: str) -> str:
    loc = loc.strip().replace("\\", "/")
    if loc.startswith("/"):
        return posixpath.normpath(loc.lstrip("/"))
    return posixpath.normpath(posixpath.join(base_dir, loc))


def _page_parts(zf: zipfile.ZipFile) -> tuple[list[str], str | None]:
    """Content.xml of every page in reading order, and the document title, following OFD.xml."""
    pages: list[str] = []
    title = None
    root = parse_member(zf, "OFD.xml")
    if root is not None:
        title = next(
            (el.text.strip() for el in iter_local(root, "Title") if el.text and el.text.strip()), None
        )
        for doc_root in iter_local(root, "DocRoot"):
            doc_path = _resolve("", doc_root.text or "")
            doc = parse_member(zf, doc_path)
            if doc is None:
                continue
            doc_dir = posixpath.dirname(doc_path)
            for page in iter_local(doc, "Page"):
                loc = next((v for k, v in page.attrib.items() if k.endswith("BaseLoc")), None)
                if loc:
                    pages.append(_resolve(doc_dir, loc))
    if not pages:
        # Some producers write a sloppy OFD.xml; fall back to the conventional layout.
        def order(n: str) -> list[int]:
            return [int(x) for x in re.findall(r"\d+", n)]

        pages = sorted((n for n in zf.namelist() if re.search(r"Pages/Page_\d+/Content\.xml$", n)), key=order)
    return pages, title


def _text_lines(content: ET.Element) -> list[str]:
    """Each TextObject's text: its TextCode pieces joined."""
    lines = []
    for obj in iter_local(content, "TextObject"):
        line = "".join(code.text or "" for code in iter_local(obj, "TextCode"))
        if line:
            lines.append(line)
    return lines


class OfdExtractor:
    kinds: tuple[str, ...] = ("ofd",)

    def extract(self, path: Path, limits: Limits) -> Extraction:
        return read_zip(path, limits, "OFD", self._read)

    def _read(self, zf: zipfile.ZipFile, limits: Limits) -> Extraction:
        parts, title = _page_parts(zf)
        sink = TextSink(limits)
        read = 0
        for name in parts:
            content = parse_member(zf, name)
            read += 1
            if content is not None and not sink.add("\n".join(_text_lines(content))):
                break
        unread = f"共 {len(parts)} 页，只读取了前 {read} 页" if read < len(parts) else ""
        return sink.result(title=title, pages=len(parts), unread_parts=unread)
