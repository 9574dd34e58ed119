"""What the 归档文件目录 prints about a record (DA/T 22-2015: 文号, 责任者, 题名, 日期, 页数), read from the
document itself, each value with where it came from — as a record's classification says whether it came
from the path, the name or the content.

- 题名: the title line(s) of a 公文 (after the 发文字号, before the 主送机关), else the first line near the
  top that reads as a title (a Word file's heading, a slide's title, the first line OCR read from a photo),
  else the title the file's properties give, else the file name — a camera's name (IMG_0001) gives way to
  the activity and category — never with the 发文字号 repeated in front.
- 日期: the date the document ends with (成文日期, the date under a signature or after 日期：), else the first
  date in its text within the record's year; the activity folder's date only when the document has none.
- 责任者: the issuing organ of a red head (…文件) or of the signature above the final date, else the center.
- 页数: a PDF's pages; an Office file's pages as LibreOffice lays it out (the conversion is the one the
  preview and the handover's compilation use, cached by content) or, without LibreOffice, the document's
  own statistics (docProps/app.xml); slides; an image is one page.
- 文号: the 发文字号 line near the top of a 公文.

The values are written into the record's own columns (title, doc_date, responsible, pages, doc_number),
which everything else reads; `records.meta_by` says where each came from and `records.meta_sha256` which
version they were read from, so a record is read again only when its file changed. They are read when a
box's register is printed, a handover is made or `zhikong edit` shows the record. A value a user set
(`zhikong edit`, the record's web page) has the source `user` and is never replaced by a derived one, by a
rescan, a new version or a reindex.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from pathlib import Path, PurePath
from typing import Any

from pypdf import PdfReader

from zhikong import libreoffice
from zhikong.archive import progress
from zhikong.archive.catalogue import Catalogue, Record
from zhikong.archive.preserve import ObjectStore
from zhikong.archive.preview import IMAGES, OFFICE
from zhikong.archive.settings import Settings
from zhikong.errors import ZhikongError

FIELDS = ("title", "doc_date", "responsible", "pages", "doc_number")
FIELD_LABELS = {
    "title": "题名",
    "doc_date": "日期",
    "responsible": "责任者",
    "pages": "页数",
    "doc_number": "文号",
}


class MetaSource(StrEnum):
    DOCUMENT = "document"  # read from the file: its text, its layout, its own statistics
    FOLDER = "folder"  # the activity folder's date, the center the folder belongs to
    FILENAME = "filename"  # the file's name
    USER = "user"  # set by hand (`zhikong edit`, the record's page); never replaced by a derived value


SOURCE_LABELS = {
    MetaSource.DOCUMENT: "文件内容",
    MetaSource.FOLDER: "文件夹",
    MetaSource.FILENAME: "文件名",
    MetaSource.USER: "人工修改",
}


@dataclass(frozen=True)
class Value:
    value: str | int
    source: MetaSource


@dataclass(frozen=True)
class Reading:
    """What the text of a document says about itself; None where it says nothing."""

    title: str | None = None
    doc_date: date | None = None  # the date it ends with (成文日期, the day under a signature)
    responsible: str | None = None
    doc_number: str | None = None
    dates: tuple[date, ...] = ()  # every date in its text, in order


# -- reading the text ----------------------------------------------------------------------------------

# A 发文字号 as printed, in the brackets people really use (the checks refuse the wrong ones in drafts;
# a register must still read an old file's number).
_NUMBER = re.compile(
    r"(?P<number>[\u4e00-\u9fffA-Za-z]{1,16}\s*[〔\[【［(（]\s*(?:19|20)\d{2}\s*[〕\]】］)）]\s*第?\s*\d{1,5}\s*号)"
)
_CN_DIGITS = {"〇": 0, "○": 0, "零": 0, "O": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9}  # fmt: skip
_ARABIC_DATE = re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
_ISO_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})[-./](\d{1,2})[-./](\d{1,2})(?!\d)")
_CHINESE_DATE = re.compile(
    r"([〇○零O一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})日"
)
_ORGAN_END = re.compile(
    r"(局|委|委员会|办公室|办|院|卫生院|医院|中心|站|所|科|部|处|组|会|协会|学会|公司|政府)$"
)
_ACT = re.compile(
    r"^(关于|对|督查|督导|检查|抽查|调研|开展|参加|召开|组织|举办|致|经|由|请|在|到|赴|向|报|送|抄)"
)
_SENTENCE_END = re.compile(r"[。；;！!？?，,]$")
# File names cameras, scanners and chat apps give: not a title.
_GENERIC_NAME = re.compile(
    r"^(IMG|DSC|DSCN|DCIM|PXL|MVIMG|VID|SCAN|Scan|scan|Image|image|photo|Photo|mmexport|wx_camera|微信图片|"
    r"扫描全能王|扫描件|新建|文档|未命名|Doc|doc|截图|Screenshot|屏幕截图)[\s_\-\d()（）]*",
)
_GENERIC_TITLE = re.compile(
    r"^(Microsoft (Word|PowerPoint|Excel) - |PowerPoint 演示文稿$|演示文稿\d*$|文档\d*$)"
)
_MAX_TITLE = 120


def _lines(text: str) -> list[str]:
    out = []
    for raw in text.splitlines():
        line = raw.replace("\u3000", " ").strip()  # full-width （） and ：stay: they are the title's
        line = re.sub(r"\s+", " ", line)
        if line and not re.fullmatch(r"[—\-–\s\d]+", line):  # page numbers "— 1 —"
            out.append(line)
    return out


def _cn_number(text: str) -> int:
    """一 … 三十一 as an int (月 and 日 of a date written in Chinese numerals)."""
    if "十" not in text:
        return _CN_DIGITS[text]
    tens, _, ones = text.partition("十")
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


def dates_in(line: str) -> list[date]:
    """The real days written in a line: 2026年6月2日, 2026-06-02, 2026.6.2, 二〇二六年六月二日."""
    line = unicodedata.normalize("NFKC", line)  # full-width digits and separators as ASCII
    found: list[tuple[int, int, int, int]] = []  # where in the line, year, month, day
    for m in (*_ARABIC_DATE.finditer(line), *_ISO_DATE.finditer(line)):
        found.append((m.start(), int(m[1]), int(m[2]), int(m[3])))
    for m in _CHINESE_DATE.finditer(line):
        year = int("".join(str(_CN_DIGITS[c]) for c in m[1]))
        found.append((m.start(), year, _cn_number(m[2]), _cn_number(m[3])))
    days: list[date] = []
    for _, year, month, day in sorted(found):
        try:
            days.append(date(year, month, day))
        except ValueError:
            continue  # 2026年2月30日 is a typing mistake, not a day
    return days


def strip_number(title: str) -> str:
    """A title with a 发文字号 written in front of it removed (a final's file name is "文号 题名")."""
    m = _NUMBER.match(title.strip())
    return title.strip()[m.end() :].strip(" _-—:：") if m else title.strip()


def _organ(line: str) -> str | None:
    """The line as the name of an organ (金乡县卫生健康局, 羊山镇卫生院), or None: a short line ending in what
    organs are called, not a sentence, not an act done to one (督查羊山镇卫生院)."""
    line = line.strip()
    if (
        2 <= len(line) <= 30
        and " " not in line
        and _ORGAN_END.search(line)
        and not _SENTENCE_END.search(line)
        and not _ACT.match(line)
    ):
        return line
    return None


def _title_like(line: str) -> bool:
    cjk = sum(1 for c in line if "\u4e00" <= c <= "\u9fff")
    return (
        cjk >= 4
        and len(line) <= 60
        and not _SENTENCE_END.search(line)
        and not dates_in(line)
        and not line.endswith(("：", ":"))
    )


def _red_head(lines: Sequence[str]) -> str | None:
    for line in lines[:3]:
        if line.endswith("文件") and len(line) > 2:
            return line.removesuffix("文件").strip() or None
    return None


def read_document(text: str) -> Reading:
    """What a document's text says of its title, date, issuing organ and number."""
    lines = _lines(text)
    if not lines:
        return Reading()
    number_at = next((i for i, line in enumerate(lines[:8]) if _NUMBER.match(line)), None)
    head = _red_head(lines)
    number: str | None = None
    title: str | None = None
    if number_at is not None:
        m = _NUMBER.match(lines[number_at])
        assert m is not None
        number = re.sub(r"\s+", "", m["number"])
        title = _official_title(lines[number_at + 1 :])
        if head is None and number_at > 0:
            head = _organ(lines[number_at - 1].removesuffix("文件"))
    if title is None:
        start = 1 if _red_head(lines[:1]) else 0
        title = next((strip_number(line) for line in lines[start:6] if _title_like(line)), None)
    doc_date, signer = _closing(lines)
    return Reading(
        title=title[:_MAX_TITLE] if title else None,
        doc_date=doc_date,
        responsible=head or signer,
        doc_number=number,
        dates=tuple(d for line in lines for d in dates_in(line))[:100],
    )


def _official_title(after_number: Sequence[str]) -> str | None:
    """The title of a 公文: the line(s) between the 发文字号 and the 主送机关 ("各镇街卫生院：")."""
    parts: list[str] = []
    for line in after_number[:4]:
        if line.endswith(("：", ":")) or _SENTENCE_END.search(line) or len(line) > 60:
            break
        if line.startswith("签发人"):
            continue
        parts.append(line)
    else:
        parts = parts[:1]  # no 主送 line came: only the first line is surely the title
    return "".join(parts) or None


def _closing(lines: Sequence[str]) -> tuple[date | None, str | None]:
    """The date a document ends with (成文日期, the day under a signature) and the organ signed above it.
    The 版记 (抄送, 印发) after it is skipped: its 印发日期 is not the 成文日期."""
    tail = [line for line in lines[-10:] if not line.startswith(("抄送", "印发"))]
    for i in range(len(tail) - 1, -1, -1):
        line = tail[i]
        if "印发" in line:
            continue
        days = dates_in(line)
        plain = unicodedata.normalize("NFKC", line)
        stripped = _ARABIC_DATE.sub("", _CHINESE_DATE.sub("", _ISO_DATE.sub("", plain))).strip(" ，,")
        # a date alone on its line, after a signature ("羊山镇卫生院 2026年6月2日") or a label ("日期：");
        # not a date inside a sentence ("请于2026年6月30日前完成整改")
        if days and (
            not stripped or _organ(stripped) or (len(stripped) <= 8 and stripped.endswith(("：", ":")))
        ):
            before = stripped if _organ(stripped) else (tail[i - 1] if i > 0 else "")
            return days[-1], _organ(before) if before else None
    return None, None


# -- page counts -----------------------------------------------------------------------------------------


def _pdf_pages(path: Path) -> int | None:
    try:
        reader = PdfReader(path)
        return len(reader.pages)
    except Exception:  # pypdf raises many kinds for damaged files; a register then shows no count
        return None


def _zip_statistics(path: Path, suffix: str) -> int | None:
    """The page count Word or WPS stored in the file (docProps/app.xml), a deck's slides, an ODF's
    meta:page-count."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            if suffix in (".pptx", ".dps"):
                return sum(1 for n in names if re.fullmatch(r"ppt/slides/slide\d+\.xml", n)) or None
            if "docProps/app.xml" in names:
                m = re.search(rb"<(?:\w+:)?(?:Pages|Slides)>(\d+)<", zf.read("docProps/app.xml")[:65536])
                if m and int(m[1]) > 0:
                    return int(m[1])
            if "meta.xml" in names:
                m = re.search(rb'meta:(?:page|object)-count="(\d+)"', zf.read("meta.xml")[:65536])
                if m and int(m[1]) > 0:
                    return int(m[1])
    except (zipfile.BadZipFile, OSError, KeyError, ValueError):
        return None
    return None


_UNCONVERTED = "LibreOffice 没能把它转成 PDF（文件可能已损坏或格式不受支持）"
# Until soffice was given at most libreoffice.FILES_PER_RUN files a run, it silently skipped those after
# its first ~243, and each was marked here as unconvertible: such marks are tried once more.
_MARKS_CHECKED = ".failed-marks-checked"


def _forget_batch_marks(cache: Path) -> None:
    if (cache / _MARKS_CHECKED).exists():
        return
    for mark in cache.glob("*.failed"):
        try:
            if mark.read_text(encoding="utf-8") == _UNCONVERTED:
                mark.unlink()
        except OSError:
            pass
    cache.mkdir(parents=True, exist_ok=True)
    (cache / _MARKS_CHECKED).touch()


def converted_pdfs(sources: Sequence[tuple[str, Path, str]], cache: Path) -> dict[str, Path | str]:
    """Office files as PDFs laid out by LibreOffice, in as few soffice runs as it takes: sha256 → the PDF,
    or the reason it could not be made. Kept in the preview cache (`archive.preview`), so a file is
    converted once."""
    _forget_batch_marks(cache)
    results: dict[str, Path | str] = {}
    todo: list[tuple[str, Path, str]] = []
    for sha, source, suffix in sources:
        done, failed = cache / f"{sha}.pdf", cache / f"{sha}.failed"
        if done.is_file():
            results[sha] = done
        elif failed.is_file():
            results[sha] = failed.read_text(encoding="utf-8")
        elif sha not in {t[0] for t in todo}:
            todo.append((sha, source, suffix))
    if not todo:
        return results
    if not libreoffice.available():
        for sha, _, _ in todo:
            results[sha] = "没有安装 LibreOffice，Office 文件不能转为 PDF"
        return results
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix="convert-") as tmp:
        named = []
        for sha, source, suffix in todo:
            copy = Path(tmp) / f"{sha}{suffix.lower()}"
            shutil.copyfile(source, copy)
            named.append(copy)
        out = Path(tmp) / "out"
        timed_out = False
        try:
            with progress.files_appearing(out, len(named), "转换为 PDF", "LibreOffice"):
                libreoffice.convert_many(named, "pdf", out, timeout=60 + 20 * len(named))
        except ZhikongError as exc:  # the files it did convert are there; the others are named below
            timed_out = "超时" in exc.message
        for sha, _, _ in todo:
            made = out / f"{sha}.pdf"
            if made.is_file():
                made.replace(cache / f"{sha}.pdf")
                results[sha] = cache / f"{sha}.pdf"
            elif timed_out:  # a run cut short says nothing about this file: the next one tries again
                results[sha] = "LibreOffice 转换超时"
            else:
                (cache / f"{sha}.failed").write_text(_UNCONVERTED, encoding="utf-8")
                results[sha] = _UNCONVERTED
    return results


# -- deriving and storing ------------------------------------------------------------------------------


def _generic(stem: str) -> bool:
    """A name a camera, scanner or chat app gave (IMG_0001, 微信图片_2026…), not a title."""
    return _GENERIC_NAME.fullmatch(stem) is not None


def derive(record: Record, text: str, pages: int | None) -> dict[str, Value]:
    """The register's values for one record from its stored text and its page count."""
    reading = read_document(text)
    c = record.classification
    found: dict[str, Value] = {}
    own = record.title and not _GENERIC_TITLE.match(record.title) and strip_number(record.title)
    stem = strip_number(PurePath(record.path).stem)
    # The text's own title line (a 公文's, a heading, what OCR read first) before the extractor's, which
    # may come from the file's properties: a template's properties often still name another document.
    title = reading.title or (own if own and own != stem else None)
    if title:
        found["title"] = Value(title, MetaSource.DOCUMENT)
    elif _generic(stem) and c.activity:
        found["title"] = Value(
            f"{c.activity}{'' if c.category in c.activity else c.category}", MetaSource.FOLDER
        )
    # else the file's name is its title, not stored twice: the register prints it (see `of`)

    # A date in the body counts only in the record's own year: "依据2019年5月1日施行的办法" is not its date.
    mentioned = next((d for d in reading.dates if c.year is None or d.year == c.year), None)
    written = reading.doc_date or mentioned
    if written:
        found["doc_date"] = Value(written.isoformat(), MetaSource.DOCUMENT)
    elif c.activity_date:
        found["doc_date"] = Value(c.activity_date.isoformat(), MetaSource.FOLDER)
    if reading.responsible:
        found["responsible"] = Value(reading.responsible, MetaSource.DOCUMENT)
    elif c.center:
        found["responsible"] = Value(c.center, MetaSource.FOLDER)
    if pages:
        found["pages"] = Value(pages, MetaSource.DOCUMENT)
    if reading.doc_number:
        found["doc_number"] = Value(reading.doc_number, MetaSource.DOCUMENT)
    return found


def _source_file(settings: Settings, store: ObjectStore, record: Record) -> Path | None:
    if record.sha256 and store.has(record.sha256):
        return store.path_of(record.sha256)
    current = settings.root / record.path
    return current if current.is_file() else None


def page_counts(settings: Settings, records: Iterable[Record]) -> dict[int, int]:
    """Pages of each record's current version that can be counted (see the module's docstring)."""
    store = ObjectStore(settings.system_dir)
    cache = settings.system_dir / "previews"
    counts: dict[int, int] = {}
    office: list[tuple[Record, Path, str]] = []
    for r in records:
        source = _source_file(settings, store, r)
        if source is None:
            continue
        suffix = PurePath(r.path).suffix.lower()
        if suffix == ".pdf":
            n = _pdf_pages(source)
            if n:
                counts[r.id] = n
        elif suffix in IMAGES or suffix in (".tif", ".tiff"):
            counts[r.id] = 1
        elif suffix in (".pptx", ".dps", ".odp"):
            n = _zip_statistics(source, suffix)
            if n:
                counts[r.id] = n
        elif suffix in OFFICE and suffix not in (".txt", ".csv"):
            office.append((r, source, suffix))
    if office and libreoffice.available():
        pdfs = converted_pdfs([(r.sha256 or "", s, x) for r, s, x in office], cache)
        for r, _, _ in office:
            made = pdfs.get(r.sha256 or "")
            n = _pdf_pages(made) if isinstance(made, Path) else None
            if n:
                counts[r.id] = n
    for r, source, suffix in office:
        if r.id not in counts:
            n = _zip_statistics(source, suffix)
            if n:
                counts[r.id] = n
    return counts


def refresh(settings: Settings, cat: Catalogue, records: Sequence[Record]) -> list[Record]:
    """Derive the register's values of the records never read or changed since (a user's values stay).
    Returns the records as they now are."""
    stale = [
        r for r in records if r.kind == "electronic" and r.sha256 and cat.meta_sources(r.id)[1] != r.sha256
    ]
    if not stale:
        return list(records)
    pages = page_counts(settings, stale)
    with cat.transaction():
        for r in stale:
            derived = derive(r, cat.text(r.id) or "", pages.get(r.id))
            cat.set_derived_meta(
                r.id, r.sha256 or "", {k: (v.value, v.source.value) for k, v in derived.items()}
            )
    return [cat.get(r.id) for r in records]


def sources(cat: Catalogue, record: Record) -> dict[str, MetaSource]:
    """Where each of the record's values came from; a paper item's were all typed in by a user."""
    if record.kind == "paper":
        return {k: MetaSource.USER for k in FIELDS if getattr(record, k) is not None}
    return {k: MetaSource(v) for k, v in cat.meta_sources(record.id)[0].items() if k in FIELDS}


@dataclass(frozen=True)
class RecordMeta:
    """A record's register values and where each came from (`zhikong edit`)."""

    record: Record
    sources: dict[str, MetaSource]

    def to_json(self) -> dict[str, Any]:
        r = self.record
        return {
            "path": r.path,
            "archival_code": r.archival_code,
            **{k: getattr(r, k) for k in FIELDS},
            "sources": {k: v.value for k, v in self.sources.items()},
        }


def of(cat: Catalogue, record: Record) -> RecordMeta:
    """The record's values as the register prints them: a record titled by nothing but its file name
    shows that name (without a 发文字号 in front), from the file name."""
    found = sources(cat, record)
    if record.title is None and record.kind == "electronic":
        record = replace(record, title=strip_number(PurePath(record.path).stem))
        found["title"] = MetaSource.FILENAME
    return RecordMeta(record, found)


@dataclass(frozen=True)
class Stored:
    """Where each stored value of a record came from, and whether the derived ones were read from the
    record's current version (False: never read, or the file changed since — they are read when the
    register is printed, a handover is made or `zhikong edit` shows the record; None: a paper item)."""

    sources: dict[str, MetaSource]
    current: bool | None

    def to_json(self) -> dict[str, Any]:
        return {"meta_sources": {k: v.value for k, v in self.sources.items()}, "meta_read": self.current}


def stored(cat: Catalogue, records: Sequence[Record]) -> dict[int, Stored]:
    """`Stored` of each record as the catalogue holds it: nothing is read from a file here, so listing a
    whole archive costs one query per thousand records (`zhikong ls --json`, the record's web page)."""
    found = cat.meta_sources_of(r.id for r in records if r.kind != "paper")
    out: dict[int, Stored] = {}
    for r in records:
        if r.kind == "paper":
            out[r.id] = Stored({k: MetaSource.USER for k in FIELDS if getattr(r, k) is not None}, None)
            continue
        by, sha = found.get(r.id, ({}, None))
        out[r.id] = Stored({k: MetaSource(v) for k, v in by.items()}, sha is not None and sha == r.sha256)
    return out
