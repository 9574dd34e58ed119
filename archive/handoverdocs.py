"""The papers signed at a handover (H39): 移交清单, 交接书, 封存记录 as .docx; and the PDF compilation.

python-docx writes only the Latin font name; Chinese text is drawn with the `w:eastAsia` font, so it is set
on the Normal style and on every run we write.

These are read by people: every text written into them (titles, paths, bookmarks) goes through `_shown`,
which masks personal data (J15(3), H27–H28); the bundle's machine-readable files keep the real names.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Iterable, Sequence
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from pikepdf import Array, Name, OutlineItem, PasswordError, Pdf, PdfError
from PIL import Image, ImageSequence

from zhikong import libreoffice
from zhikong.archive.audit import local_time
from zhikong.archive.meta import converted_pdfs
from zhikong.archive.preview import IMAGES, OFFICE
from zhikong.errors import ZhikongError
from zhikong.indexer.pii import mask_pii

BODY_FONT = "仿宋_GB2312"
# Characters XML 1.0 forbids: a title read from a damaged file must not corrupt the .docx.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
TITLE_FONT = "方正小标宋简体"


@dataclass(frozen=True)
class Parties:
    center: str
    from_host: str
    to_host: str
    bureau: str
    date: str  # 2026年9月30日: Arabic numerals, no leading zeros (GB/T 9704)
    fingerprint: str = ""  # the bundle's fingerprint (archive.handover_origin), 64 hex digits
    audit_head: str = ""  # "SEQ:HASH" of the old host's audit chain as carried


def _grouped(value: str) -> str:
    return " ".join(value[i : i + 8] for i in range(0, len(value), 8))


def _identity(doc: object, parties: Parties) -> None:
    """What the signatures vouch for: the bundle's fingerprint and the audit chain's head, printed so the
    receiver can type them into `zhikong handover verify --fingerprint` and compare."""
    if parties.fingerprint:
        _para(doc, f"移交包指纹（SHA-256）：{_grouped(parties.fingerprint)}")
    if parties.audit_head:
        seq, _, digest = parties.audit_head.partition(":")
        _para(doc, f"原挂靠单位审计日志链头：第 {seq} 条，{_grouped(digest)}")
    if parties.fingerprint:
        _para(
            doc,
            "接收单位核验：zhikong handover verify 移交包 --fingerprint 上述指纹；指纹不符的移交包不得导入。"
            "指纹覆盖中心文件夹的全部文件和移交数据（目录、版本、草稿与发文字号、审计日志），"
            "不含本清单、交接书等纸质文书本身。",
        )


@dataclass(frozen=True)
class ItemRow:
    """One line of the 移交清单."""

    archival_code: str
    title: str
    date: str
    category: str
    carrier: str  # 电子 / 纸质 / 电子+纸质
    box: str
    path: str


@dataclass(frozen=True)
class BoxRow:
    """One sealed paper box in the 封存记录."""

    year: int
    retention: str
    box: int
    items: int
    first: str
    last: str


@dataclass(frozen=True)
class PdfEntry:
    year: int | None
    category: str
    title: str
    path: Path  # the record's bytes (its preserved copy)
    suffix: str = ".pdf"  # what the file is, from its name (a preserved copy has none)
    sha256: str = ""  # names its LibreOffice conversion in the preview cache


@dataclass(frozen=True)
class Compiled:
    pages: int
    files: int
    skipped: list[tuple[str, str]]  # (title, why)


def xml_safe(text: str) -> str:
    return _XML_INVALID.sub("", text)


def _shown(text: str) -> str:
    """Text as a person may read it: personal data masked, characters XML forbids removed."""
    return xml_safe(mask_pii(text))


def _fonts(element: object, east_asia: str) -> None:
    rpr = element._element.get_or_add_rPr()  # type: ignore[attr-defined]
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    for slot in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(slot), east_asia)


def _document() -> object:
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.size = Pt(14)
    normal.font.name = BODY_FONT
    rpr = normal.element.get_or_add_rPr()
    rpr.get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    return doc


def _title(doc: object, text: str) -> None:
    para = doc.add_paragraph()  # type: ignore[attr-defined]
    para.alignment = 1
    run = para.add_run(_shown(text))
    run.font.size = Pt(22)
    _fonts(run, TITLE_FONT)


def _para(doc: object, text: str) -> None:
    run = doc.add_paragraph().add_run(_shown(text))  # type: ignore[attr-defined]
    _fonts(run, BODY_FONT)


def _table(doc: object, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    table = doc.add_table(rows=2, cols=len(header))  # type: ignore[attr-defined]
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        _fonts(cell.paragraphs[0].add_run(_shown(text)), BODY_FONT)
    # python-docx's add_row() re-reads the whole grid on every call (quadratic over a 5,000-item list):
    # one styled row is made through the API, then copied element by element with only its text set.
    prototype = table.rows[1]._tr
    for cell in table.rows[1].cells:
        run = cell.paragraphs[0].add_run("-")  # a w:t to fill in
        run.font.size = Pt(9)
        _fonts(run, BODY_FONT)
    body = prototype.getparent()
    body.remove(prototype)
    for row in rows:
        tr = deepcopy(prototype)
        for t, text in zip(tr.iter(qn("w:t")), row, strict=True):
            t.text = _shown(text)
        body.append(tr)


def _signatures(doc: object, roles: Sequence[str]) -> None:
    for role in roles:
        _para(doc, f"{role}（盖章）：                经办人（签字）：                日期：")


def inventory(path: Path, parties: Parties, items: Sequence[ItemRow]) -> Path:
    """移交清单: every item, electronic and paper, with its 档号 and where it is."""
    doc = _document()
    _title(doc, f"{parties.center}档案移交清单")
    _para(doc, f"移交单位：{parties.from_host}    接收单位：{parties.to_host}    日期：{parties.date}")
    electronic = sum(1 for i in items if "电子" in i.carrier)
    paper = sum(1 for i in items if "纸质" in i.carrier)
    _para(doc, f"共 {len(items)} 件，其中电子文件 {electronic} 件，纸质原件 {paper} 件。")
    _table(
        doc,
        ("序号", "档号", "题名", "日期", "类别", "载体", "盒号", "电子文件位置"),
        (
            (str(n), i.archival_code, i.title, i.date, i.category, i.carrier, i.box, i.path)
            for n, i in enumerate(items, 1)
        ),
    )
    _identity(doc, parties)
    _signatures(doc, ("移交单位", "接收单位"))
    doc.save(str(path))  # type: ignore[attr-defined]
    return path


def certificate(path: Path, parties: Parties, *, files: int, size: int, records: int, boxes: int) -> Path:
    """交接书: old host hands over, new host receives, the bureau witnesses (H39)."""
    doc = _document()
    _title(doc, f"{parties.center}档案资料交接书")
    for text in (
        f"根据《医疗质量控制中心管理办法》第三十九条，{parties.center}挂靠单位由{parties.from_host}"
        f"变更为{parties.to_host}。原挂靠单位已封存质控工作相关纸质资料和电子版资料，现将电子版资料副本、"
        "质控数据及管理权限移交新挂靠单位。",
        f"移交电子文件 {files} 个，共 {size:,} 字节；档案目录记录 {records} 条；封存纸质档案 {boxes} 盒。",
        "电子文件以移交包（BagIt）内 manifest-sha256.txt、manifest-sha512.txt 所列校验值为准，"
        "接收单位已逐一核验真实性、完整性、可用性和安全性。",
        f"监交单位：{parties.bureau}",
        f"交接日期：{parties.date}",
    ):
        _para(doc, text)
    _identity(doc, parties)
    _signatures(doc, ("移交单位", "接收单位", "监交单位"))
    doc.save(str(path))  # type: ignore[attr-defined]
    return path


def seal_record(path: Path, parties: Parties, sealed_at: str, boxes: Sequence[BoxRow]) -> Path:
    """封存记录: the paper boxes sealed by the old host, box by box."""
    doc = _document()
    _title(doc, f"{parties.center}纸质档案封存记录")
    _para(doc, f"封存单位：{parties.from_host}    封存时间：{local_time(sealed_at)}")
    if boxes:
        _table(
            doc,
            ("年度", "保管期限", "盒号", "件数", "起止件号"),
            ((str(b.year), b.retention, str(b.box), str(b.items), f"{b.first}—{b.last}") for b in boxes),
        )
    else:
        _para(doc, "尚无登记入盒的纸质档案。")
    _para(doc, "封存后，未经监交单位同意，任何人不得开启、增删、调换盒内档案。")
    _signatures(doc, ("封存单位", "监交单位"))
    doc.save(str(path))  # type: ignore[attr-defined]
    return path


def _as_pdfs(entries: Sequence[PdfEntry], cache: Path, scratch: Path) -> dict[int, Path | str]:
    """Each entry as a PDF (entry index → path) or why it cannot be one: PDFs as they are, Office files
    laid out by LibreOffice (one soffice run, cached with the previews), images drawn on a page by Pillow."""
    made: dict[int, Path | str] = {}
    office = [(i, e) for i, e in enumerate(entries) if e.suffix.lower() in OFFICE]
    converted = converted_pdfs([(e.sha256 or f"entry{i}", e.path, e.suffix) for i, e in office], cache)
    for i, e in office:
        made[i] = converted.get(e.sha256 or f"entry{i}", "未能转换")
    for i, e in enumerate(entries):
        suffix = e.suffix.lower()
        if suffix == ".pdf":
            made[i] = e.path
        elif suffix in IMAGES or suffix in (".tif", ".tiff"):
            made[i] = _image_pdf(e.path, scratch / f"{i}.pdf")
        elif i not in made:
            made[i] = f"此类文件（{suffix or '无扩展名'}）不能转为 PDF"
    return made


def _image_pdf(source: Path, out: Path) -> Path | str:
    """A photo or scan as a one-page PDF at its own size (Pillow writes JPEG data as it is)."""
    try:
        with Image.open(source) as img:
            frames = [frame.convert("RGB") for frame in ImageSequence.Iterator(img)]
            frames[0].save(out, "PDF", resolution=150.0, save_all=True, append_images=frames[1:])
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        return f"图片无法读取（{type(exc).__name__}）"
    return out


def _prepend_cover(
    compiled: Pdf, scratch: Path, *, title: str, files: int, skipped: Sequence[tuple[str, str]]
) -> Pdf | None:
    """A first page that says what the compilation lacks and why, laid out by LibreOffice (the cover's
    PDF, to keep open until the compilation is saved). Without it (no LibreOffice) the list is still in
    `create`'s report; the bookmarks point at page objects, so they stay right when pages go in front."""
    if not libreoffice.available():
        return None
    doc = _document()
    _title(doc, title)
    _para(doc, f"本汇编收入 {files} 件文件，共 {len(compiled.pages)} 页（不含本说明），按年度、类别加书签。")
    _para(doc, f"以下 {len(skipped)} 件未能并入，请查阅移交包中的原文件：")
    _table(
        doc, ("序号", "题名", "未能并入的原因"), ((str(n), t, why) for n, (t, why) in enumerate(skipped, 1))
    )
    source = scratch / "汇编说明.docx"
    doc.save(str(source))  # type: ignore[attr-defined]
    try:
        cover = Pdf.open(libreoffice.convert(source, "pdf", scratch / "cover", timeout=120))
    except (ZhikongError, PdfError):
        return None  # the same list is in `create`'s report: a cover page is not worth failing a handover
    for n, page in enumerate(cover.pages):
        compiled.pages.insert(n, page)
    return cover


def _opened(pdf: Path) -> tuple[Pdf, int] | str:
    """A PDF to take pages from and its size (read into memory: hundreds of them stay open until their
    part is saved, which would otherwise hold a file handle each), or why it cannot be used."""
    try:
        data = pdf.read_bytes()
        source = Pdf.open(io.BytesIO(data))
    except PasswordError:
        return "已加密"
    except (PdfError, OSError, ValueError):
        return "无法读取：PDF 已损坏或不完整"
    if source.is_encrypted:
        source.close()
        return "已加密"
    return source, len(data)


class _Joiner:
    """Pages of many PDFs joined into one by qpdf (pikepdf), which copies each file's objects as they are.

    qpdf reads a source's streams only when the result is saved, so each source stays open until then, at
    about 80 KB each besides its bytes: the pages go into parts of at most PART_FILES files or PART_BYTES,
    each saved to the scratch folder (its sources closed), and the parts are joined at the end. Memory
    stays flat however many files a center has, and each page is written twice."""

    PART_FILES = 500
    PART_BYTES = 128 << 20

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.saved: list[Path] = []
        self.before = 0  # pages in the saved parts
        self.part = Pdf.new()
        self.sources: list[Pdf] = []
        self.bytes = 0

    def add(self, source: Pdf, size: int) -> int | str:
        """Append the source's pages: the number of its first page in the whole, or why it was not."""
        self.sources.append(source)
        self.bytes += size
        start = len(self.part.pages)
        try:
            self.part.pages.extend(source.pages)
        except (PdfError, ValueError, KeyError):
            del self.part.pages[start:]
            return "无法读取：PDF 已损坏或不完整"
        if len(self.part.pages) == start:
            return "没有页面"
        first = self.before + start
        if len(self.sources) >= self.PART_FILES or self.bytes >= self.PART_BYTES:
            self._save_part()
        return first

    def _save_part(self) -> None:
        path = self.scratch / f"part{len(self.saved)}.pdf"
        self.part.save(path)
        self.before += len(self.part.pages)
        self.saved.append(path)
        self.close()
        self.part, self.bytes = Pdf.new(), 0

    def joined(self) -> Pdf:
        """The whole, to be saved before `close`; the parts saved so far are opened (one handle each)."""
        if not self.saved:
            return self.part
        rest = self.part
        whole = Pdf.new()
        for path in self.saved:
            part = Pdf.open(path)
            self.sources.append(part)
            whole.pages.extend(part.pages)
        whole.pages.extend(rest.pages)
        self.sources.append(rest)
        self.part = whole
        return whole

    def close(self) -> None:
        for source in self.sources:
            source.close()
        self.sources = []
        self.part.close()


def compile_pdfs(path: Path, entries: Sequence[PdfEntry], *, title: str, cache: Path) -> Compiled:
    """One PDF of the given records in order, bookmarked by year, then category, then file. Office files
    are converted by LibreOffice when it is installed, images by Pillow; what cannot be made a PDF (no
    LibreOffice, a damaged or encrypted file, an archive) is listed in `skipped` with the reason, and on
    a first page (`_prepend_cover`).

    The pages are joined by qpdf (`_Joiner`): a few seconds for thousands of files, where joining them in
    Python (pypdf) cost about 2 ms of CPU a page."""
    skipped: list[tuple[str, str]] = []
    starts: list[tuple[PdfEntry, int]] = []  # each file compiled and its first page
    with tempfile.TemporaryDirectory(prefix="zhikong-compile-") as scratch:
        joiner = _Joiner(Path(scratch))
        try:
            pdfs = _as_pdfs(entries, cache, Path(scratch))
            for i, entry in enumerate(entries):
                pdf = pdfs[i]
                opened = pdf if isinstance(pdf, str) else _opened(pdf)
                first = opened if isinstance(opened, str) else joiner.add(*opened)
                if isinstance(first, str):
                    skipped.append((entry.title, first))
                else:
                    starts.append((entry, first))
            compiled = joiner.joined()
            _bookmark(compiled, starts)
            if skipped:
                cover = _prepend_cover(
                    compiled, Path(scratch), title=title, files=len(starts), skipped=skipped
                )
                if cover is not None:
                    joiner.sources.append(cover)
            compiled.docinfo["/Title"] = title
            compiled.save(path)
            pages = len(compiled.pages)
        finally:  # before the scratch folder goes: a file still open there could not be removed on Windows
            joiner.close()
    return Compiled(pages, len(starts), skipped)


def _bookmark(compiled: Pdf, starts: Sequence[tuple[PdfEntry, int]]) -> None:
    """Bookmarks by year, then category, then file, each at the file's first page (a destination to the
    page object, so pages put in front later do not move them; made here from one pass over the pages,
    as pikepdf's lookup by page number costs a fifth of a millisecond each)."""
    pages = [page.obj for page in compiled.pages]

    def at(title: str, start: int) -> OutlineItem:
        return OutlineItem(title, Array([pages[start], Name.Fit]))

    with compiled.open_outline() as outline:
        years: dict[int | None, OutlineItem] = {}
        categories: dict[tuple[int | None, str], OutlineItem] = {}
        for entry, start in starts:
            if entry.year not in years:
                years[entry.year] = at(f"{entry.year or '年度不明'}年", start)
                outline.root.append(years[entry.year])
            key = (entry.year, entry.category)
            if key not in categories:
                categories[key] = at(entry.category, start)
                years[entry.year].children.append(categories[key])
            categories[key].children.append(at(_shown(entry.title), start))
