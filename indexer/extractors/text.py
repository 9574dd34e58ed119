"""Plain text and CSV: UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030/GBK as Windows writes it."""

from __future__ import annotations

import codecs
from pathlib import Path

from charset_normalizer import from_bytes

from zhikong.indexer.extractors.base import Extraction, Limits, TextSink, unreadable

# Bytes read at most: 4 characters per byte is the worst case, so this always covers max_chars.
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def decode(data: bytes) -> str | None:
    """The text of `data`, trying the encodings Chinese Windows users actually produce, in order."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    if b"\x00" in data[:4096]:
        return None  # binary, not text
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    best = from_bytes(data).best()
    return str(best) if best is not None else None


class TextExtractor:
    kinds: tuple[str, ...] = ("text",)

    def extract(self, path: Path, limits: Limits) -> Extraction:
        try:
            with path.open("rb") as fh:
                data = fh.read(limits.max_chars * 4 + 4)
                rest = fh.seek(0, 2) - len(data)
        except OSError as exc:
            return unreadable(f"无法读取文件（{exc.strerror or type(exc).__name__}）")
        if rest > 0:
            # Cut at a line end so a multi-byte character is never split.
            cut = data.rfind(b"\n")
            data = data[: cut + 1] if cut > 0 else data
        text = decode(data)
        if text is None:
            return unreadable("文件不是可识别编码的文本（可能是改了扩展名的其他格式）")
        sink = TextSink(limits)
        sink.add(text)
        extra = f"文件其余约 {rest:,} 字节未读取" if rest > 0 else ""
        return sink.result(unread_parts=extra)
