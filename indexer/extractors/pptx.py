"""PowerPoint .pptx: every slide's text (shapes, groups, tables) and its speaker notes."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from pptx import Presentation
from pptx.exc import PackageNotFoundError

from zhikong.indexer.extractors.base import Extraction, Limits, TextSink, damaged, unreadable, zip_refusal


def _shape_texts(shapes: Iterable[Any]) -> Iterator[str]:
    for shape in shapes:
        if getattr(shape, "shape_type", None) is not None and hasattr(shape, "shapes"):
            yield from _shape_texts(shape.shapes)  # a group shape
        if getattr(shape, "has_text_frame", False):
            yield shape.text_frame.text
        if getattr(shape, "has_table", False):
            for row in shape.table.rows:
                yield "\t".join(cell.text for cell in row.cells)


def _first_title(prs: Any) -> str | None:
    for slide in prs.slides:
        title = slide.shapes.title
        if title is not None and title.has_text_frame and title.text_frame.text.strip():
            return str(title.text_frame.text.strip())
    return None


class PptxExtractor:
    kinds: tuple[str, ...] = ("pptx",)

    def extract(self, path: Path, limits: Limits) -> Extraction:
        refused = zip_refusal(path)
        if refused:
            return unreadable(refused)
        try:
            prs = Presentation(str(path))
            return self._read(prs, limits)
        except (PackageNotFoundError, KeyError, ET.ParseError, zipfile.BadZipFile, ValueError, OSError):
            return damaged("PowerPoint ")

    def _read(self, prs: Any, limits: Limits) -> Extraction:
        sink = TextSink(limits)
        slides = list(prs.slides)
        for slide in slides:
            if not sink.add("\n".join(t for t in _slide_texts(slide) if t)):
                break
        return sink.result(title=_first_title(prs), pages=len(slides))


def _slide_texts(slide: Any) -> list[str]:
    texts = list(_shape_texts(slide.shapes))
    if slide.has_notes_slide:
        # A notes page may have no body placeholder at all (real .ppt files converted by LibreOffice
        # do): python-pptx then gives None, and reading .text off it once lost every slide's text.
        frame = slide.notes_slide.notes_text_frame
        if frame is not None:
            texts.append(frame.text)
        else:
            texts.extend(_shape_texts(slide.notes_slide.shapes))
    return texts
