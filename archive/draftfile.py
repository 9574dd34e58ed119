"""The 送审稿 as a file: what an edited one uploaded back must keep, and the final made from the approved one.

The final of an approved draft is **the approved file itself** with two changes and no other: the 发文字号
line's blank serial (金卫健字〔2026〕  号) becomes the number, and the 送审稿 mark in the page header is
emptied. Only those two parts' text changes; every other byte of every other part of the .docx is copied
as it is, so what was approved is what is issued, edits made in Word or WPS included. `finalize` does it,
`final_matches` proves it afterwards (the record page shows the proof).

An edited 送审稿 uploaded back (`check_edited`) may change its text; it must still be this draft's
(its identifier, or its title when an editor dropped the identifier), keep the red head (版头's text and
style), the blank 发文字号 line, the 送审稿 mark and the page setup (paper, margins, 版心).
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from zhikong.errors import InputFileError, Problem

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = {"w": W, "dc": "http://purl.org/dc/elements/1.1/"}
HEAD_STYLE = "公文版头"
NUMBER_STYLE = "公文发文字号"
MARK_STYLE = "送审稿标记"
TITLE_STYLE = "公文标题"
KEPT_STYLES = (HEAD_STYLE, NUMBER_STYLE, MARK_STYLE)  # their definitions may not change in an edited draft
DOCUMENT = "word/document.xml"
MAX_BYTES = 50 * 1024 * 1024
_HEADER = re.compile(r"^word/header\d*\.xml$")
_BOOLEAN = {"false": "0", "off": "0", "true": "1", "on": "1"}
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def identifier(draft_id: int) -> str:
    """What a 送审稿 carries in its document properties (dc:identifier) to say whose draft it is."""
    return f"zhikong-draft:{draft_id}"


@dataclass(frozen=True)
class DraftFile:
    """The parts of a 送审稿 that matter for checking and finalising it."""

    parts: dict[str, bytes]
    order: list[zipfile.ZipInfo]

    @classmethod
    def read(cls, data: bytes, name: str = "送审稿") -> DraftFile:
        if data.startswith(_OLE):
            raise InputFileError(
                f"{name} 是加密的或旧版 Word（.doc）文件，不能作为送审稿。",
                hint="请在 Word/WPS 中取消打开密码，并“另存为” .docx 后再上传。",
            )
        if len(data) > MAX_BYTES:
            raise InputFileError(f"{name} 太大（{len(data):,} 字节），不像一份公文的送审稿。")
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                infos = zf.infolist()
                if sum(i.file_size for i in infos) > 4 * MAX_BYTES:
                    raise InputFileError(f"{name} 解压后过大，拒绝处理。")
                parts = {i.filename: zf.read(i) for i in infos}
        except (zipfile.BadZipFile, EOFError, KeyError, ValueError, NotImplementedError) as exc:
            raise InputFileError(
                f"{name} 不是 .docx 文件（或已损坏）。", hint="请在 Word/WPS 中“另存为” .docx 后再上传。"
            ) from exc
        if DOCUMENT not in parts:
            raise InputFileError(
                f"{name} 不是 Word 文档（缺少正文部分）。", hint="请上传 .docx 格式的送审稿。"
            )
        return cls(parts, infos)

    def xml(self, part: str) -> etree._Element:
        try:
            parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
            return etree.fromstring(self.parts[part], parser)
        except etree.XMLSyntaxError as exc:
            raise InputFileError(f"送审稿的 {part} 已损坏，无法读取。") from exc

    def headers(self) -> list[str]:
        return sorted(p for p in self.parts if _HEADER.match(p))

    def style_ids(self, name: str) -> set[str]:
        """The ids a style is known by in this file: editors rename ids (LibreOffice writes Style10 for
        公文版头) but keep the style's name."""
        ids = {name}
        if "word/styles.xml" in self.parts:
            for style in self.xml("word/styles.xml").iterfind("w:style", NS):
                label = style.find("w:name", NS)
                if label is not None and label.get(f"{{{W}}}val") == name:
                    ids.add(style.get(f"{{{W}}}styleId") or name)
        return ids

    def styled(self, root: etree._Element, name: str) -> list[etree._Element]:
        ids = self.style_ids(name)
        return [
            p
            for p in root.iter(f"{{{W}}}p")
            if (s := p.find("w:pPr/w:pStyle", NS)) is not None and s.get(f"{{{W}}}val") in ids
        ]

    def styled_texts(self, name: str, parts: list[str] | None = None) -> list[str]:
        """The text of each paragraph of style `name` in `parts` (the document's body by default)."""
        return [_text(p) for part in parts or [DOCUMENT] for p in self.styled(self.xml(part), name)]

    def style_look(self, name: str) -> dict[str, str]:
        """What a style looks like, as the properties that make a red head a red head: fonts, size, colour,
        weight, alignment, spacing. Compared by value, so an editor's reordering or extra ids don't count."""
        if "word/styles.xml" not in self.parts:
            return {}
        ids = self.style_ids(name)
        for style in self.xml("word/styles.xml").iterfind("w:style", NS):
            if style.get(f"{{{W}}}styleId") in ids:
                look = {}
                for tag in ("rFonts", "sz", "color", "b", "jc", "spacing"):
                    for el in style.iter(f"{{{W}}}{tag}"):
                        for key in ("eastAsia", "ascii", "val", "line", "before"):
                            value = el.get(f"{{{W}}}{key}")
                            if value is not None:
                                look[f"{tag}.{key}"] = _BOOLEAN.get(value.lower(), value.lower())
                return look
        return {}

    def page_setup(self) -> list[dict[str, int]]:
        """Each section's paper, margins and line pitch (the 版心 of GB/T 9704), as numbers."""
        out = []
        for sect in self.xml(DOCUMENT).iter(f"{{{W}}}sectPr"):
            setup: dict[str, int] = {}
            for tag, keys in (("pgSz", ("w", "h")), ("pgMar", ("top", "right", "bottom", "left")),
                              ("docGrid", ("linePitch",))):  # fmt: skip
                el = sect.find(f"w:{tag}", NS)
                for key in keys:
                    value = None if el is None else el.get(f"{{{W}}}{key}")
                    if value is not None and value.lstrip("-").isdigit():
                        setup[f"{tag}.{key}"] = int(value)
            out.append(setup)
        return out

    def identifier(self) -> str | None:
        if "docProps/core.xml" not in self.parts:
            return None
        found = self.xml("docProps/core.xml").find("dc:identifier", NS)
        return None if found is None or not found.text else found.text.strip()

    def paragraphs(self) -> list[str]:
        return [_text(p) for p in self.xml(DOCUMENT).iter(f"{{{W}}}p")]

    def write(self, replaced: dict[str, bytes]) -> bytes:
        """The same zip, entry by entry, with `replaced` parts' bytes swapped in."""
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zf:
            for info in self.order:
                zf.writestr(info, replaced.get(info.filename, self.parts[info.filename]))
        return out.getvalue()


def _text(p: etree._Element) -> str:
    return "".join(t.text or "" for t in p.iter(f"{{{W}}}t"))


def _set_text(p: etree._Element, text: str) -> None:
    """The paragraph's text becomes `text`, in its first run (keeping that run's formatting)."""
    texts = list(p.iter(f"{{{W}}}t"))
    if not texts:
        return
    texts[0].text = text
    texts[0].set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    for t in texts[1:]:
        t.text = ""


def _replace_text(p: etree._Element, old: str, new: str) -> None:
    """``old`` (once in the paragraph's text, perhaps split over runs) becomes ``new``, in the run where
    ``old`` starts, keeping that run's formatting; the other runs keep their text."""
    texts = list(p.iter(f"{{{W}}}t"))
    start = _text(p).index(old)
    end, offset = start + len(old), 0
    for t in texts:
        text = t.text or ""
        lo, hi = max(start - offset, 0), min(end - offset, len(text))
        if lo < hi:  # this run holds part of `old`
            t.text = text[:lo] + (new if offset <= start else "") + text[hi:]
            t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        offset += len(text)


def check_edited(original: bytes, edited: bytes, *, draft_id: int, title: str, name: str) -> list[Problem]:
    """What an edited 送审稿 changed that it may not; an empty list when it may replace `original`."""
    before, after = DraftFile.read(original, "原送审稿"), DraftFile.read(edited, name)
    problems: list[Problem] = []
    mine = identifier(draft_id)
    found = after.identifier()
    if found and found.startswith("zhikong-draft:") and found != mine:
        other = found.split(":", 1)[1]
        problems.append(
            Problem("draft.other", f"这是另一份草稿（编号 {other}）的送审稿，不是草稿 {draft_id} 的。")
        )
        return problems
    if not found and title not in after.styled_texts(TITLE_STYLE):
        problems.append(
            Problem(
                "draft.identity",
                f"无法确认这是草稿 {draft_id}“{title}”的送审稿：文档属性中的草稿编号已丢失，标题也不同。",
            )
        )
    if after.styled_texts(HEAD_STYLE) != before.styled_texts(HEAD_STYLE):
        problems.append(Problem("draft.red_head", "红头（发文机关标志）的文字被改动或删除了；红头不能修改。"))
    if after.styled_texts(NUMBER_STYLE) != before.styled_texts(NUMBER_STYLE):
        problems.append(
            Problem(
                "draft.number_line",
                "发文字号一行被改动了（应保持“"
                + "".join(before.styled_texts(NUMBER_STYLE))
                + "”）：发文字号由卫健局批准时填写。",
            )
        )
    marks_before = before.styled_texts(MARK_STYLE, before.headers())
    if after.styled_texts(MARK_STYLE, after.headers()) != marks_before:
        problems.append(Problem("draft.mark", "页眉中的“送审稿”标记被删除或改动了；它在批准时才会去掉。"))
    changed = [s for s in KEPT_STYLES if after.style_look(s) != before.style_look(s)]
    if changed:
        problems.append(
            Problem(
                "draft.style",
                f"红头或发文字号的格式（样式 {'、'.join(changed)}）被改动了，请撤销这些格式修改。",
            )
        )
    if after.page_setup() != before.page_setup():
        problems.append(
            Problem(
                "draft.layout", "页面设置（纸张、页边距、版心）被改动了；公文须按 GB/T 9704 的版面，请撤销。"
            )
        )
    from zhikong.textcheck import check_text

    for n, text in enumerate(after.paragraphs(), 1):
        unsafe = check_text(f"送审稿第 {n} 段", text, "draft.text")
        if unsafe:
            problems += unsafe
            break
    return problems


def edited_title(data: bytes) -> str | None:
    """The title paragraph's text of a 送审稿 (it may have been edited in Word)."""
    texts = [t.strip() for t in DraftFile.read(data).styled_texts(TITLE_STYLE) if t.strip()]
    return texts[0] if texts else None


def finalize(approved: bytes, placeholder: str, doc_number: str) -> bytes:
    """The final: `approved` with its blank 发文字号 line (`placeholder`) set to `doc_number` and the
    送审稿 mark emptied; every other part copied byte for byte."""
    draft = DraftFile.read(approved)
    body = draft.xml(DOCUMENT)
    lines = draft.styled(body, NUMBER_STYLE)
    # A 请示's number line also holds 签发人 (发文字号 left, 签发人 right): only the placeholder changes.
    if len(lines) != 1 or _text(lines[0]).count(placeholder) != 1:
        raise InputFileError(
            "送审稿的发文字号一行不是空白待填的样子，无法填入发文字号。",
            hint="请让秘书重新上传未改动发文字号一行的送审稿。",
        )
    _replace_text(lines[0], placeholder, doc_number)
    replaced = {DOCUMENT: etree.tostring(body, xml_declaration=True, encoding="UTF-8", standalone=True)}
    for part in draft.headers():
        root = draft.xml(part)
        marks = draft.styled(root, MARK_STYLE)
        if marks:
            for p in marks:
                _set_text(p, "")
            replaced[part] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return draft.write(replaced)


def final_matches(approved: bytes, final: bytes, placeholder: str, doc_number: str) -> bool:
    """The proof the record page shows: `final` is `approved` finalised with `doc_number`, nothing else."""
    try:
        return finalize(approved, placeholder, doc_number) == final
    except InputFileError:
        return False


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_limited(path: Path) -> bytes:
    if path.stat().st_size > MAX_BYTES:
        raise InputFileError(f"{path.name} 太大，不像一份公文的送审稿。")
    return path.read_bytes()
