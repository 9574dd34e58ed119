"""Excel .xlsx: every sheet's cell values row by row (sign-in lists, score sheets)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from zhikong.indexer.extractors.base import Extraction, Limits, TextSink, damaged, unreadable, zip_refusal


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class XlsxExtractor:
    kinds: tuple[str, ...] = ("xlsx",)

    def extract(self, path: Path, limits: Limits) -> Extraction:
        refused = zip_refusal(path)
        if refused:
            return unreadable(refused)
        try:
            # A file object, not the path: openpyxl refuses paths whose extension is not .xlsx, and a
            # renamed workbook ("得分.docx") must still be read by its content.
            wb = load_workbook(io.BytesIO(path.read_bytes()), read_only=True, data_only=True)
        except (
            InvalidFileException,
            KeyError,
            ET.ParseError,
            zipfile.BadZipFile,
            ValueError,
            OSError,
        ):
            return damaged("Excel ")
        try:
            return self._read(wb, limits)
        except (KeyError, ET.ParseError, zipfile.BadZipFile, ValueError, OSError):
            return damaged("Excel ")
        finally:
            wb.close()

    def _read(self, wb: Any, limits: Limits) -> Extraction:
        sink = TextSink(limits)
        sheets = wb.worksheets
        for ws in sheets:
            sink.add(ws.title)
            for row in ws.iter_rows(values_only=True):
                line = "\t".join(_cell(v) for v in row).strip()
                if line and not sink.add(line):
                    break
            if sink.full:
                break
        return sink.result(pages=len(sheets))
