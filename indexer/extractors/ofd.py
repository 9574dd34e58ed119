"""OFD (GB/T 33190-2016): a zip whose OFD.xml points to documents whose pages hold TextCode elements.

Two things real OFD files need that the structure alone does not say:

- **Templates.** An e-invoice or a certificate keeps its fixed words (the title 增值税电子普通发票, the
  labels 购买方、名称、合计) on a template page (`Tpls/…`) that each page names with `<Template
  TemplateID=…>`; only the filled-in values are on the page itself. Templates are read with their pages.
- **Lines.** Producers cut text into pieces anywhere — a 公文's "根据我市2023年…" arrives as 根据我 / 市 /
  202 / 3 / 年, one TextObject each. Pieces are placed by their position: each character's baseline and x
  come from the TextObject's Boundary, the TextCode's X/Y and its DeltaX/DeltaY; pieces on the same
  baseline join on one line (a space only where a gap of several characters separates them), a new line
  starts only where the baseline changes, lines run top to bottom.
"""

from __future__ import annotations

import contextlib
import posixpath
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

from zhikong.indexer.extractors.base import Extraction, Limits, TextSink, read_zip
from zhikong.indexer.extractors.zipxml import iter_local, local, parse_member


def _resolve(base_dir: str, loc: str) -> str:
    loc = loc.strip().replace("\\", "/")
    if loc.startswith("/"):
        return posixpath.normpath(loc.lstrip("/"))
    return posixpath.normpath(posixpath.join(base_dir, loc))


@dataclass(frozen=True)
class _PageRef:
    content: str  # the page's Content.xml
    templates: tuple[str, ...]  # the Content.xml of the templates it names, in order


def _attr(el: ET.Element, name: str) -> str | None:
    return next((v for k, v in el.attrib.items() if local(k) == name), None)


def _pages(zf: zipfile.ZipFile) -> tuple[list[_PageRef], str | None]:
    """Every page in reading order with its templates, and the document title, following OFD.xml."""
    pages: list[_PageRef] = []
    title = None
    root = parse_member(zf, "OFD.xml")
    if root is not None:
        title = next(
            (el.text.strip() for el in iter_local(root, "Title") if el.text and el.text.strip()), None
        )
        for doc_root in iter_local(root, "DocRoot"):
            doc_path = _resolve("", doc_root.text or "")
            doc = parse_member(zf, doc_path) if doc_path in zf.NameToInfo else None
            if doc is None:
                continue
            doc_dir = posixpath.dirname(doc_path)
            templates = {
                _attr(t, "ID"): _resolve(doc_dir, _attr(t, "BaseLoc") or "")
                for t in iter_local(doc, "TemplatePage")
            }
            for page in iter_local(doc, "Page"):
                loc = _attr(page, "BaseLoc")
                if not loc:
                    continue
                content = _resolve(doc_dir, loc)
                pages.append(_PageRef(content, _page_templates(zf, content, templates)))
    if not pages:
        # Some producers write a sloppy OFD.xml; fall back to the conventional layout.
        def order(n: str) -> list[int]:
            return [int(x) for x in re.findall(r"\d+", n)]

        names = sorted((n for n in zf.namelist() if re.search(r"Pages/Page_\d+/Content\.xml$", n)), key=order)
        pages = [_PageRef(n, ()) for n in names]
    return pages, title


def _page_templates(zf: zipfile.ZipFile, content: str, templates: dict[str | None, str]) -> tuple[str, ...]:
    if not templates or content not in zf.NameToInfo:
        return ()
    root = parse_member(zf, content)
    if root is None:
        return ()
    named = []
    for use in iter_local(root, "Template"):
        loc = templates.get(_attr(use, "TemplateID"))
        if loc and loc in zf.NameToInfo and loc not in named:
            named.append(loc)
    return tuple(named)


@dataclass(frozen=True)
class _Run:
    """Characters of one piece that share a baseline: where they start, their size, their text."""

    y: float
    x: float
    end: float
    size: float
    text: str


def _floats(value: str | None, count: int) -> list[float]:
    """An OFD delta list ("5 5 g 3 2.5 …", where "g N v" repeats v N times), `count` values long."""
    out: list[float] = []
    tokens = (value or "").split()
    i = 0
    while i < len(tokens) and len(out) < count:
        if tokens[i] == "g" and i + 2 < len(tokens):
            with contextlib.suppress(ValueError):
                out += [float(tokens[i + 2])] * int(tokens[i + 1])
            i += 3
            continue
        with contextlib.suppress(ValueError):
            out.append(float(tokens[i]))
        i += 1
    return out[:count]


def _number(value: str | None, default: float = 0.0) -> float:
    try:
        return float(value) if value is not None else default
    except ValueError:
        return default


def _runs(content: ET.Element) -> list[_Run]:
    runs: list[_Run] = []
    for obj in iter_local(content, "TextObject"):
        box = (_attr(obj, "Boundary") or "0 0 0 0").split()
        bx, by = (_number(box[0]), _number(box[1])) if len(box) >= 2 else (0.0, 0.0)
        size = _number(_attr(obj, "Size"), 3.5) or 3.5
        ctm = [_number(v) for v in (_attr(obj, "CTM") or "").split()]
        a, b, c, d, e, f = ctm if len(ctm) == 6 else (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
        scale = abs(d) or 1.0
        x = y = 0.0
        for code in iter_local(obj, "TextCode"):
            text = code.text or ""
            if not text:
                continue
            # X and Y are optional after the first TextCode: a missing one continues from before.
            x = _number(_attr(code, "X"), x)
            y = _number(_attr(code, "Y"), y)
            dx = _floats(_attr(code, "DeltaX"), len(text) - 1)
            dy = _floats(_attr(code, "DeltaY"), len(text) - 1)
            # Each character's place: the first at (X, Y), each next one DeltaX/DeltaY further on (a
            # missing DeltaX is one character width). A DeltaY starts a new run: the baseline moved.
            cx, cy = x, y
            places = [(cx, cy)]
            for i in range(1, len(text)):
                cx += dx[i - 1] if i - 1 < len(dx) else size
                cy += dy[i - 1] if i - 1 < len(dy) else 0.0
                places.append((cx, cy))
            start = 0
            for i in range(1, len(text) + 1):
                if i < len(text) and places[i][1] == places[start][1]:
                    continue
                (x0, y0), (x1, _) = places[start], places[i - 1]
                runs.append(
                    _Run(
                        y=by + b * x0 + d * y0 + f,
                        x=bx + a * x0 + c * y0 + e,
                        end=bx + a * x1 + c * y0 + e + size * abs(a or 1.0),
                        size=size * scale,
                        text=text[start:i],
                    )
                )
                start = i
            x, y = cx + (dx[-1] if dx else size), cy
    return runs


def _lines(runs: list[_Run]) -> list[str]:
    """Runs on one baseline joined in x order; a new line wherever the baseline changes."""
    lines: list[str] = []
    group: list[_Run] = []

    def flush() -> None:
        if not group:
            return
        parts: list[str] = []
        end = None
        for run in sorted(group, key=lambda r: r.x):
            if end is not None and run.x - end > 2 * run.size:
                parts.append(" ")  # a gap of more than two characters: separate fields, same line
            parts.append(run.text)
            end = max(end or run.end, run.end)
        lines.append("".join(parts))
        group.clear()

    for run in sorted(runs, key=lambda r: (r.y, r.x)):
        if group and run.y - group[0].y > 0.4 * min(run.size, group[0].size):
            flush()
        group.append(run)
    flush()
    return lines


class OfdExtractor:
    kinds: tuple[str, ...] = ("ofd",)

    def extract(self, path: Path, limits: Limits) -> Extraction:
        return read_zip(path, limits, "OFD", self._read)

    def _read(self, zf: zipfile.ZipFile, limits: Limits) -> Extraction:
        pages, title = _pages(zf)
        sink = TextSink(limits)
        read = 0
        for page in pages:
            runs: list[_Run] = []
            for name in (*page.templates, page.content):
                content = parse_member(zf, name) if name in zf.NameToInfo else None
                if content is not None:
                    runs += _runs(content)
            read += 1
            if not sink.add("\n".join(_lines(runs))):
                break
        unread = f"共 {len(pages)} 页，只读取了前 {read} 页" if read < len(pages) else ""
        return sink.result(title=title, pages=len(pages), unread_parts=unread)
