"""Red-header notices (通知) and requests (请示) laid out to GB/T 9704-2012.

The document is rendered from ``templates/notice.docx`` (or ``request.docx``) so a user can adjust
fonts and spacing in Word/WPS; the body and the closing block are generated here as paragraphs in the
template's named styles, because their structure (heading levels, attachments, signature indent)
follows the text. Everything is checked first and all problems are reported together.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from lxml import etree

from zhikong.errors import InputFileError, Problem, TemplateError
from zhikong.generator import gbt9704 as gb
from zhikong.generator.docnumber import check_prefix, format_doc_number
from zhikong.generator.docrules import check_date_forms
from zhikong.generator.ooxml import child, ppr_indent, ppr_spacing, ppr_tab, rpr_fonts, set_attrs, xml_safe
from zhikong.generator.render import (
    open_template,
    render_into,
    save_atomic,
    shipped_templates,
    undeclared_variables,
)
from zhikong.textcheck import MAX_TITLE_CHARS, check_text, strip_unsafe

KINDS = {"notice": "通知", "request": "请示"}
DRAFT_MARK = "送审稿"

_H1 = re.compile(r"^[一二三四五六七八九十]{1,3}、")
_H2 = re.compile(r"^[（(][一二三四五六七八九十]{1,3}[）)]")
_H3 = re.compile(r"^\d{1,2}[.．](?!\d)")
_H4 = re.compile(r"^[（(]\d{1,2}[）)]")
_END_PUNCTUATION = tuple("。，、；：！？.,;:!?")


@dataclass(frozen=True)
class NoticeSpec:
    """Everything a red-header 通知 or 请示 says. See DOMAIN §6 for the layout rules."""

    organ_mark: str  # 版头, e.g. 金乡县卫生健康局文件
    doc_prefix: str  # 发文机关代字, e.g. 金卫健字
    year: int
    number: int | None  # None for a 送审稿: the bureau assigns the number on approval
    title: str  # 关于…的通知
    to: str  # 主送机关, ending with "："
    body: str  # plain text; lines 一、 （一） 1. （1） become headings
    signer: str  # 发文机关署名
    date: datetime.date  # 成文日期
    attachments: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    issuer: str = ""  # 印发机关; the signer when empty
    issue_date: datetime.date | None = None  # 印发日期; the 成文日期 when None
    draft: bool = True
    kind: str = "notice"  # notice (下行文) | request (上行文, 请示)
    signed_by: str = ""  # 签发人, required for a 请示
    # The text of each attachment, in the order of ``attachments`` ("" for one not given): each given
    # one gets its own pages after the signature (附件N at the top left), before the 版记.
    attachment_texts: tuple[str, ...] = ()
    note: str = ""  # 附注, e.g. （联系人：张敏，电话：0537-0000000）
    # 版头 marks above the organ mark, in this order (GB/T 9704 §7.2.1–7.2.3).
    copy_number: str = ""  # 份号: six digits, e.g. 000001
    secrecy: str = ""  # 密级: 秘密 | 机密 | 绝密
    secrecy_term: str = ""  # 保密期限, e.g. 1年 (printed 机密★1年)
    urgency: str = ""  # 紧急程度: 特急 | 加急
    # How the document is signed (§7.3.5): "seal" (加盖印章: a frame marks where the seal goes; the date
    # four characters in), "none" (不加盖印章) or "signature" (加盖签发人签名章, for a 请示).
    seal: str = "seal"
    signer_title: str = ""  # 签发人职务 beside the signature stamp, e.g. 主任


def format_date(day: datetime.date) -> str:
    """成文日期 in Arabic numerals without leading zeros: 2026年3月5日 (GB/T 9704 §7.3.5)."""
    return f"{day.year}年{day.month}月{day.day}日"


def normalise_to(to: str) -> str:
    """主送机关 as typed on the command line: the closing "：" may be left out.

    A name that ends in a letter is completed with "："; one that ends in other punctuation (a
    half-width ":", "。") is left for ``check_notice`` to report, since it is probably a typo.
    """
    text = to.strip()
    if text and not _ENDS_WITH_PUNCTUATION.search(text):
        return text + "："
    return text


_ENDS_WITH_PUNCTUATION = re.compile(r"[：:;；,，.。、!！?？]$")


def check_notice(spec: NoticeSpec) -> list[Problem]:
    """Every problem with ``spec``, in reading order (empty when it can be rendered)."""
    problems: list[Problem] = []

    def add(code: str, message: str) -> None:
        problems.append(Problem(f"notice.{code}", message))

    for label, field, value in (
        ("发文机关标志", "organ_mark", spec.organ_mark),
        ("标题", "title", spec.title),
        ("主送机关", "to", spec.to),
        ("发文机关署名", "signer", spec.signer),
        ("印发机关", "issuer", spec.issuer),
        ("签发人", "signed_by", spec.signed_by),
        *(("附件名称", "attachment", name) for name in spec.attachments),
        *(("抄送机关", "cc", organ) for organ in spec.cc),
    ):
        problems += check_text(label, value, f"notice.{field}_characters")
    problems += check_text("正文", spec.body, "notice.body_characters", multiline=True)
    for label, text in (
        ("标题", spec.title),
        ("正文", spec.body),
        *(("附件名称", a) for a in spec.attachments),
    ):
        problems += check_date_forms(label, text, "notice.date_form")

    kind_name = KINDS.get(spec.kind)
    if kind_name is None:
        add("kind", f"文种“{spec.kind}”不受支持，应为 notice（通知）或 request（请示）")
    if not spec.organ_mark.strip():
        add("organ_mark", "发文机关标志（版头）为空，例如“金乡县卫生健康局文件”")
    problems += check_prefix(spec.doc_prefix)
    if not 1949 <= spec.year <= 2100:
        add("year", f"发文字号年份“{spec.year}”应为四位公元年份")
    elif spec.year != spec.date.year:
        add("year_mismatch", f"发文字号年份 {spec.year} 与成文日期 {format_date(spec.date)} 不是同一年")
    if spec.number is not None and spec.number < 1:
        add("number", f"发文字号序号应从 1 起编，不能是 {spec.number}")
    if spec.draft and spec.number is not None:
        add("draft_number", "送审稿不编发文字号：序号由卫健局批准时分配，请留空")
    if not spec.draft and spec.number is None:
        add("final_number", "正式文件必须有发文字号序号（批准后分配）")

    title = spec.title.strip()
    if not title:
        add("title_empty", "标题为空")
    elif len(title) > MAX_TITLE_CHARS:
        add("title_length", f"标题过长（{len(title)} 字），上限 {MAX_TITLE_CHARS} 字：公文标题一般不超过三行")
    elif kind_name and not re.fullmatch(rf"关于.+的(?:紧急|补充|联合)?{kind_name}", title):
        add("title_form", f"标题“{title}”应写成“关于……的{kind_name}”")
    if title.endswith(_END_PUNCTUATION):
        add("title_punctuation", f"标题“{title}”末尾不加标点")

    if not spec.to.strip():
        add("to_empty", "主送机关为空")
    elif spec.to.rstrip().endswith(":"):
        add("to_colon", f"主送机关“{spec.to}”应以全角冒号“：”结尾，而不是半角“:”")
    elif not spec.to.rstrip().endswith("："):
        add("to_colon", f"主送机关“{spec.to}”应以全角冒号“：”结尾")
    if spec.kind == "request":
        if not spec.signed_by.strip():
            add("signed_by", "请示须注明签发人姓名")
        if "、" in spec.to or "，" in spec.to:
            add("request_to", f"请示只主送一个上级机关，“{spec.to}”像是多个")
        if "以及" in title or "同时" in title:
            add("request_subject", f"请示应一文一事：标题“{title}”像是把几件事写在一起，请分成几份请示")

    if not spec.body.strip():
        add("body_empty", "正文为空")
    if not spec.signer.strip():
        add("signer", "发文机关署名为空")
    if spec.issue_date is not None and spec.issue_date < spec.date:
        add("issue_date", f"印发日期 {format_date(spec.issue_date)} 早于成文日期 {format_date(spec.date)}")
    for index, name in enumerate(spec.attachments, 1):
        if not name.strip():
            add("attachment_empty", f"第 {index} 个附件名称为空")
        elif name.strip().endswith(_END_PUNCTUATION):
            add("attachment_punctuation", f"附件名称“{name}”后不加标点")
    for index, organ in enumerate(spec.cc, 1):
        if not organ.strip():
            add("cc_empty", f"第 {index} 个抄送机关为空")
    problems += _check_marks(spec)
    # Messages quote what was typed: never echo an escape sequence or a bidi override to the screen.
    return [replace(p, message=strip_unsafe(p.message)) for p in problems]


def render_notice(
    spec: NoticeSpec,
    out: Path,
    template: Path | None = None,
    *,
    identifier: str = "",
    fonts: str = gb.DEFAULT_FONT_PROFILE,
) -> Path:
    """Write the notice to ``out`` (atomically). Raises TemplateError with every problem first.

    ``template`` defaults to the shipped ``notice.docx``/``request.docx``; a user's adjusted copy
    must keep the same tags and style names. ``identifier`` goes into the document's properties
    (dc:identifier): a 送审稿 says whose draft it is (archive.draftfile). ``fonts`` is the font profile
    (gbt9704.FONT_PROFILES, set in zhikong.toml).
    """
    problems = check_notice(spec)
    if problems:
        raise TemplateError(f"公文有 {len(problems)} 处问题，没有生成文件：", problems)
    template = template or shipped_templates()[spec.kind]
    tpl = open_template(template)
    styles = _style_ids(tpl.get_docx(), template)
    context = _context(spec, styles)
    missing = sorted(undeclared_variables(tpl, template) - set(context))
    if missing:
        raise TemplateError(
            f"模板“{template.name}”用了公文不提供的变量：",
            [Problem("template.unknown_variable", f"变量“{name}”", path=str(template)) for name in missing],
            hint="公文模板可用的变量：" + "、".join(sorted(context)),
        )
    render_into(tpl, template, context)
    _head_marks(tpl.docx, spec, styles)
    # The document's own title property carries the full title: the catalogue reads it from there,
    # while the file name may have to shorten it (archive.filenames).
    # (Set after rendering, on the rendered document: get_docx() would reload the template, and a
    # title set before rendering would itself be rendered as a template.)
    gb.finish(tpl.docx, fonts=fonts, title=xml_safe(spec.title.strip()), organ=xml_safe(spec.signer.strip()))
    if identifier:
        tpl.docx.core_properties.identifier = identifier
    return save_atomic(tpl, out)


class _RawXml(str):
    """Paragraph XML that jinja's autoescape must leave alone (docxtpl's ``{{p var }}`` slot)."""

    def __html__(self) -> str:
        return str(self)


def _context(spec: NoticeSpec, styles: dict[str, str]) -> dict[str, object]:
    clean = xml_safe
    number = format_doc_number(spec.doc_prefix, spec.year, None if spec.draft else spec.number)
    cc = "，".join(clean(organ.strip()) for organ in spec.cc)
    return {
        "organ_mark": clean(spec.organ_mark.strip()),
        "doc_number": number,
        "signed_by": clean(spec.signed_by.strip()),
        "draft_mark": DRAFT_MARK if spec.draft else "",
        "title": clean(spec.title.strip()),
        "to": clean(spec.to.strip()),
        "body": _RawXml("".join(_xml(p) for p in body_paragraphs(clean(spec.body), styles))),
        "closing": _RawXml("".join(_xml(p) for p in _closing(spec, styles))),
        "cc": cc + "。" if cc else "",
        "issuer": clean((spec.issuer or spec.signer).strip()),
        "issue_date": format_date(spec.issue_date or spec.date),
    }


def with_attachment_files(data: dict[str, object], folder: Path) -> dict[str, object]:
    """Data whose ``attachment_files`` (paths beside the data file, "" for none, in the order of
    ``attachments``) are read into ``attachment_texts``: a .txt (UTF-8 or GBK) or a .docx's paragraphs."""
    files = data.get("attachment_files")
    if files is None:
        return data
    if not isinstance(files, list) or not all(isinstance(name, str) for name in files):
        raise InputFileError('“attachment_files”应为文件名列表，例如 ["议程.docx", ""]')
    texts = [attachment_text(folder / name) if name.strip() else "" for name in files]
    return {**data, "attachment_texts": texts}


def attachment_text(path: Path) -> str:
    """The text of an attachment file for its pages in the notice (.txt or .docx)."""
    if not path.is_file():
        raise InputFileError(f"附件文件不存在：{path}")
    suffix = path.suffix.lower()
    if suffix == ".docx":
        try:
            document = Document(str(path))
        except Exception as exc:  # python-docx raises several unrelated types for a broken package
            raise InputFileError(
                f"附件无法打开：{path.name}（{exc}）", hint="请在 Word/WPS 中另存为 .docx。"
            ) from exc
        return "\n".join(paragraph.text for paragraph in document.paragraphs)
    if suffix == ".txt":
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                continue
        raise InputFileError(
            f"附件 {path.name} 不是 UTF-8 或 GBK 编码的文字", hint="请用记事本另存为 UTF-8。"
        )
    raise InputFileError(
        f"附件 {path.name} 应为 .txt 或 .docx，才能排成附件页", hint="其他格式请作为单独的文件附上。"
    )


def heading_level(line: str) -> int:
    """0 for body text, 1–4 for 一、 （一） 1. （1）."""
    for level, pattern in ((1, _H1), (2, _H2), (4, _H4), (3, _H3)):
        if pattern.match(line):
            return level
    return 0


def body_paragraphs(text: str, styles: dict[str, str]) -> list[etree._Element]:
    """One paragraph per non-blank line, styled by heading level.

    A level-1/2 heading followed by text on the same line (“（一）会议时间。3月15日上午”) keeps only
    the heading in 黑体/楷体; the rest is body text, as GB/T 9704 examples set it.
    """
    paragraphs = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip().lstrip("\u3000").strip()
        if not line:
            continue
        level = heading_level(line)
        paragraph = _paragraph(styles[gb.HEADING_STYLES[level]])
        stop = line.find("。") + 1
        if level in (1, 2) and 0 < stop < len(line):
            _run(paragraph, line[:stop])
            _run(paragraph, line[stop:], font=gb.FANGSONG)
        else:
            _run(paragraph, line)
        paragraphs.append(paragraph)
    return paragraphs


def _closing(spec: NoticeSpec, styles: dict[str, str]) -> list[etree._Element]:
    """附件说明, 署名, 成文日期, 附注, the attachments' pages and the page breaks that put the 版记 on an
    even page (GB/T 9704 §7.3.4–7.3.7, §7.4)."""
    block = [*_attachment_notes(spec, styles), *_signature(spec, styles)]
    note = xml_safe(spec.note.strip())
    if note:
        paragraph = _paragraph(styles[gb.S_NOTE])
        _run(paragraph, note)
        block.append(paragraph)
    pages = _attachment_pages(spec, styles)
    breaks = [_page_break() for _ in range(_imprint_breaks(spec))]
    return [*block, *pages, *breaks]


# Where the items of the 附件说明 start, in twips from the left margin: "附件：" two characters in.
_ATTACH_LABEL_X = 2 * gb.CHAR
_ATTACH_NUMBER_X = _ATTACH_LABEL_X + 3 * 315  # after "附件：" (3 characters of 15.75 pt)


def _attachment_notes(spec: NoticeSpec, styles: dict[str, str]) -> list[etree._Element]:
    """附件说明 "附件：1.XXXX" one line below the body; 2.、3. … under the 1, wrapped names under the name."""
    names = [xml_safe(name.strip()) for name in spec.attachments]
    paragraphs = []
    for index, name in enumerate(names, 1):
        paragraph = _paragraph(styles[gb.S_ATTACH])
        number = f"{index}." if len(names) > 1 else ""
        text_x = _ATTACH_NUMBER_X + _latin_width(number)
        if index == 1:
            ppr_spacing(paragraph[0], line=gb.LINE, before=gb.LINE)
            ppr_indent(paragraph[0], left=text_x, hanging=text_x - _ATTACH_LABEL_X)
            _run(paragraph, "附件：" + number + name)
        else:
            ppr_indent(paragraph[0], left=text_x, hanging=text_x - _ATTACH_NUMBER_X)
            _run(paragraph, number + name)
        paragraphs.append(paragraph)
    return paragraphs


SEALS = {"seal": "加盖印章", "none": "不加盖印章", "signature": "加盖签发人签名章"}
SECRECY = ("秘密", "机密", "绝密")
URGENCY = ("特急", "加急")


MARK_KEYS = ("copy_number", "secrecy", "secrecy_term", "urgency")


def check_mark_values(
    copy_number: str, secrecy: str, secrecy_term: str, urgency: str, *, code: str = "notice"
) -> list[Problem]:
    """份号 (six digits), 密级 and its 保密期限, 紧急程度 (GB/T 9704 §7.2.1–7.2.3), every problem at once."""
    problems = []

    def add(key: str, message: str) -> None:
        problems.append(Problem(f"{code}.{key}", message))

    copy = copy_number.strip()
    if copy and not re.fullmatch(r"\d{6}", copy):
        add("copy_number", f"份号“{copy}”应为6位阿拉伯数字，例如“000001”")
    if secrecy.strip() and secrecy.strip() not in SECRECY:
        add("secrecy", f"密级“{secrecy}”应为{'、'.join(SECRECY)}之一")
    if secrecy_term.strip() and not secrecy.strip():
        add("secrecy_term", "写了保密期限却没有密级：请同时写明密级（秘密、机密或绝密）")
    if urgency.strip() and urgency.strip() not in URGENCY:
        add("urgency", f"紧急程度“{urgency}”应为{'、'.join(URGENCY)}之一")
    return problems


def _mark_lines(
    copy_number: str, secrecy: str, secrecy_term: str, urgency: str
) -> list[tuple[str, str | None]]:
    """The marks in the standard's order, each with its font: 份号 in the body's, 密级 and 紧急程度 in 黑体."""
    marks: list[tuple[str, str | None]] = []
    if copy_number.strip():
        marks.append((copy_number.strip(), None))
    if secrecy.strip():
        term = secrecy_term.strip()
        marks.append((secrecy.strip() + ("★" + term if term else ""), gb.HEITI))
    if urgency.strip():
        marks.append((urgency.strip(), gb.HEITI))
    return marks


def letter_marks(document: Any, data: Mapping[str, Any]) -> None:
    """信函格式 (GB/T 9704 §10.1): 份号, 密级★保密期限 and 紧急程度 flush left under the upper red double line,
    in that order, the first on the line of the 发文字号 (which stays flush right, by a right tab), the
    others a line each below it. Nothing when the data gives none."""
    marks = _mark_lines(*(str(data.get(key) or "") for key in MARK_KEYS))
    if not marks:
        return
    ids = {style.name: style.style_id for style in document.styles}
    body = document.element.body
    number = next((p for p in body.iter(qn("w:p")) if gb.style_of(p) == ids.get(gb.S_NUMBER)), None)
    if number is None:
        return
    ppr = number.find(qn("w:pPr"))
    set_attrs(child(ppr, "w:jc"), val="left")
    ppr_tab(ppr, gb.TYPE_WIDTH, "right")
    (first, font), *rest = marks
    tab = OxmlElement("w:r")
    tab.append(OxmlElement("w:tab"))
    number.insert(1, tab)
    holder = _paragraph(ids[gb.S_BODY])
    _run(holder, xml_safe(first), font=font, latin=font)
    number.insert(1, holder[-1])
    after = number
    for text, font in rest:
        paragraph = _paragraph(ids[gb.S_BODY])
        ppr_indent(paragraph[0])
        set_attrs(child(paragraph[0], "w:jc"), val="left")
        ppr_spacing(paragraph[0], line=gb.LINE)
        _run(paragraph, xml_safe(text), font=font, latin=font)
        after.addnext(paragraph)
        after = paragraph


def _check_marks(spec: NoticeSpec) -> list[Problem]:
    """份号, 密级, 紧急程度 and the seal mode (GB/T 9704 §7.2.1–7.2.3, §7.3.5)."""
    problems = check_mark_values(spec.copy_number, spec.secrecy, spec.secrecy_term, spec.urgency)

    def add(code: str, message: str) -> None:
        problems.append(Problem(f"notice.{code}", message))

    if spec.seal not in SEALS:
        add(
            "seal",
            f"用印方式“{spec.seal}”不受支持，应为 " + "、".join(f"{k}（{v}）" for k, v in SEALS.items()),
        )
    elif spec.seal == "signature" and not spec.signer_title.strip():
        add("signer_title", "加盖签发人签名章时须写明签发人职务，例如“主任”")
    return problems


SEAL_SIZE = gb.mm(42)  # a 公章's diameter


def _signature(spec: NoticeSpec, styles: dict[str, str]) -> list[etree._Element]:
    """署名 and 成文日期 laid out for the seal mode (GB/T 9704 §7.3.5.1–7.3.5.3)."""
    date_text = format_date(spec.date)
    signer_text = xml_safe(spec.signer.strip())
    date = _paragraph(styles[gb.S_DATE])
    if spec.seal == "signature":
        # 签名章 two lines below the body, four characters in from the right, the 职务 two characters to
        # its left; the date one blank line below, four characters in.
        stamp = _paragraph(styles[gb.S_SIGNER])
        ppr_spacing(stamp[0], line=gb.LINE, before=2 * gb.LINE)
        ppr_indent(stamp[0], right=4 * gb.CHAR)
        _run(stamp, xml_safe(spec.signer_title.strip()) + "\u3000\u3000")
        _run(stamp, "签名章", dashed_box=True)
        ppr_spacing(date[0], line=gb.LINE, before=gb.LINE)
        ppr_indent(date[0], right=4 * gb.CHAR)
        _run(date, date_text)
        return [stamp, date]
    signer = _paragraph(styles[gb.S_SIGNER])
    if spec.seal == "none":
        # One blank line below the body, the signer two characters in from the right, the date on the
        # next line starting two characters right of the signer's first character (or two in from the
        # right when it is the longer one, the signer moving left to keep the offset).
        signer_width, date_width = _width(signer_text), _width(date_text)
        signer_right = 2 * gb.CHAR
        date_right = signer_right + signer_width - 2 * gb.CHAR - date_width
        if date_right < 2 * gb.CHAR:
            date_right = 2 * gb.CHAR
            signer_right = date_right + date_width + 2 * gb.CHAR - signer_width
        ppr_spacing(signer[0], line=gb.LINE, before=gb.LINE)
        paragraphs = [signer]
    else:
        # The seal straddles signer and date: the date four characters in from the right, the signer
        # centred over it, and a dashed frame where the seal goes, its top within a line of the body.
        date_right = 4 * gb.CHAR
        signer_right = max(0, date_right + (_width(date_text) - _width(signer_text)) // 2)
        ppr_spacing(signer[0], line=gb.LINE, before=2 * gb.LINE)
        centre = gb.TYPE_WIDTH - date_right - _width(date_text) // 2
        signer.append(_seal_mark(centre))
        paragraphs = [signer]
    ppr_indent(signer[0], right=signer_right)
    _run(signer, signer_text)
    ppr_indent(date[0], right=date_right)
    _run(date, date_text)
    return [*paragraphs, date]


def _seal_mark(centre: int) -> etree._Element:
    """A dashed grey circle, 42 mm, behind signer and date: where the seal is pressed (not a seal image).

    A DrawingML shape anchored to the signer's paragraph, behind the text and not wrapping it, placed so
    that signer and date sit a little below its centre and its top is within a line of the body
    (GB/T 9704 §7.3.5.1).
    """
    emu = 635  # per twip
    x = (centre - SEAL_SIZE // 2) * emu
    y = (3 * gb.LINE - gb.LINE // 4 - SEAL_SIZE // 2) * emu
    size = SEAL_SIZE * emu
    xml = f"""<w:r xmlns:w="{_NS["w"]}" xmlns:wp="{_NS["wp"]}" xmlns:a="{_NS["a"]}" xmlns:wps="{_NS["wps"]}">
<w:drawing><wp:anchor distT="0" distB="0" distL="0" distR="0" simplePos="0" relativeHeight="1" behindDoc="1"
 locked="0" layoutInCell="1" allowOverlap="1"><wp:simplePos x="0" y="0"/>
<wp:positionH relativeFrom="margin"><wp:posOffset>{x}</wp:posOffset></wp:positionH>
<wp:positionV relativeFrom="paragraph"><wp:posOffset>{y}</wp:posOffset></wp:positionV>
<wp:extent cx="{size}" cy="{size}"/><wp:effectExtent l="0" t="0" r="0" b="0"/><wp:wrapNone/>
<wp:docPr id="9704" name="盖章处" descr="盖章处：在此加盖发文机关印章"/><wp:cNvGraphicFramePr/>
<a:graphic><a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">
<wps:wsp><wps:cNvSpPr/><wps:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{size}" cy="{size}"/></a:xfrm>
<a:prstGeom prst="ellipse"><a:avLst/></a:prstGeom><a:noFill/>
<a:ln w="9525"><a:solidFill><a:srgbClr val="A0A0A0"/></a:solidFill><a:prstDash val="dash"/></a:ln>
</wps:spPr><wps:bodyPr/></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing></w:r>"""
    run: etree._Element = etree.fromstring(xml.replace("\n", ""))
    return run


_NS = {
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "wps": "http://schemas.microsoft.com/office/word/2010/wordprocessingShape",
}


def _head_marks(document: object, spec: NoticeSpec, styles: dict[str, str]) -> None:
    """份号, 密级★保密期限 and 紧急程度 at the top left, one a line, above the organ mark (§7.2.1–7.2.3).

    The organ mark stays 35 mm below the type area's top: its spacing shrinks by the lines added.
    """
    marks = _mark_lines(spec.copy_number, spec.secrecy, spec.secrecy_term, spec.urgency)
    if not marks:
        return
    body = document.element.body  # type: ignore[attr-defined]
    organ = next((p for p in body.iter(qn("w:p")) if gb.style_of(p) == styles[gb.S_ORGAN]), None)
    if organ is None:
        return
    for text, font in marks:
        paragraph = _paragraph(styles[gb.S_BODY])
        ppr_indent(paragraph[0])
        set_attrs(child(paragraph[0], "w:jc"), val="left")
        _run(paragraph, xml_safe(text), font=font, latin=font)
        organ.addprevious(paragraph)
    before = gb.ORGAN_MARK_BEFORE - len(marks) * gb.LINE
    ppr_spacing(organ.find(qn("w:pPr")), line=gb.ORGAN_MARK_LINE, before=before)


def _attachment_pages(spec: NoticeSpec, styles: dict[str, str]) -> list[etree._Element]:
    """Each attachment given as text on new pages: 附件N in 黑体 top left, its name as title, its text."""
    paragraphs: list[etree._Element] = []
    names = [xml_safe(name.strip()) for name in spec.attachments]
    for index, (name, text) in enumerate(zip(names, spec.attachment_texts, strict=False), 1):
        if not text.strip():
            continue
        mark = _paragraph(styles[gb.S_ATTACH_MARK])
        _run(mark, f"附件{index}" if len(names) > 1 else "附件")
        title = _paragraph(styles[gb.S_TITLE])
        ppr_spacing(title[0], line=gb.LINE + 120, before=gb.LINE, after=gb.LINE)
        _run(title, name)
        paragraphs += [mark, title, *body_paragraphs(xml_safe(text), styles)]
    return paragraphs


def _page_break() -> etree._Element:
    """A paragraph one point high that starts a new page (for the 版记's even page)."""
    paragraph = OxmlElement("w:p")
    ppr = OxmlElement("w:pPr")
    child(ppr, "w:pageBreakBefore")
    ppr_spacing(ppr, line=20)
    paragraph.append(ppr)
    return paragraph


# --- Where the 版记 falls ---------------------------------------------------------------------------
# The 版记 goes at the foot of an even page (the back of the last sheet, GB/T 9704 §7.4), or on page 1 of
# a one-page document when it fits there. Which page the text ends on is worked out here from the grid
# (22 lines of 579 twips, 28 characters of 315 twips) — the same arithmetic LibreOffice and Word do on a
# fixed grid; tests/test_layout_pages.py checks it against LibreOffice for lengths around each boundary.

_TYPE_HEIGHT = gb.mm(225)
_LINE_WIDTH = gb.TYPE_WIDTH
_NO_START = set("，。、；：！？”’）》〕」』…%％")
# Twips from the type area's top to the end of the 主送 line, for a one-line title (measured in
# LibreOffice: organ mark, 发文字号 with the red rule, title and 主送 with their spacing).
_HEAD_HEIGHT = 1944 + 900 + 2 * gb.LINE + gb.LINE + 150 + 2 * gb.LINE + (gb.LINE + 120) + 2 * gb.LINE


def _line_count(text: str, first: int, left: int = 0) -> int:
    """Lines a paragraph takes: greedy fill, a closing punctuation mark never starting a line."""
    widths = [155 if ord(ch) < 0x2E80 else 315 for ch in text]
    lines, used, limit = 1, 0, _LINE_WIDTH - left - first
    index = 0
    while index < len(text):
        if used + widths[index] > limit:
            if text[index] in _NO_START and index > 0:
                index -= 1  # the previous character moves down with it
            lines, used, limit = lines + 1, 0, _LINE_WIDTH - left
        used += widths[index]
        index += 1
    return lines


def _imprint_breaks(spec: NoticeSpec) -> int:
    """How many page breaks to put before the 版记 (0, 1 or 2)."""
    flow = _Flow()
    flow.used = _HEAD_HEIGHT + (len(gb.break_title(spec.title)) - 1) * (gb.LINE + 120)
    flow.add(0, _line_count(spec.to.strip(), 0) - 1)
    last = 1
    for line in _body_lines(spec.body):
        last = _line_count(line, 2 * gb.CHAR)
        flow.add(0, last)
    closing = [
        (gb.LINE if i == 0 else 0, _line_count(n, 0, left=1800)) for i, n in enumerate(spec.attachments)
    ]
    closing += {"none": [(gb.LINE, 1), (0, 1)], "signature": [(2 * gb.LINE, 1), (gb.LINE, 1)]}.get(
        spec.seal, [(2 * gb.LINE, 1), (0, 1)]
    )
    if spec.note.strip():
        closing.append((0, _line_count(spec.note.strip(), 2 * gb.CHAR)))
    height = sum(before + lines * gb.LINE for before, lines in closing)
    if flow.used + height > _TYPE_HEIGHT:
        carried = last if last < 4 else 2  # widow control: two lines go along with the signature
        flow.new_page()
        flow.used = carried * gb.LINE
    flow.used += height
    for name, text in zip(spec.attachments, spec.attachment_texts, strict=False):
        if not text.strip():
            continue
        flow.new_page()
        flow.used = gb.LINE + gb.LINE + len(gb.break_title(name)) * (gb.LINE + 120) + gb.LINE
        for line in _body_lines(text):
            flow.add(0, _line_count(line, 2 * gb.CHAR))
    cc = "，".join(organ.strip() for organ in spec.cc)
    imprint = (1 + (_line_count("抄送：" + cc + "。", 0, left=2 * gb.SMALL_CHAR) if cc else 0)) * gb.LINE + 60
    fits = flow.used + imprint <= _TYPE_HEIGHT
    if fits and (flow.page == 1 or flow.page % 2 == 0):
        return 0
    if fits:
        return 1
    return 1 if (flow.page + 1) % 2 == 0 else 2


def _body_lines(text: str) -> list[str]:
    lines = (raw.strip().lstrip("\u3000").strip() for raw in text.replace("\r\n", "\n").split("\n"))
    return [line for line in lines if line]


class _Flow:
    """The page and the height used on it, as lines are laid down."""

    def __init__(self) -> None:
        self.page = 1
        self.used = 0

    def new_page(self) -> None:
        self.page += 1
        self.used = 0

    def add(self, before: int, lines: int) -> None:
        if self.used and self.used + before + gb.LINE <= _TYPE_HEIGHT:
            self.used += before
        for _ in range(lines):
            if self.used + gb.LINE > _TYPE_HEIGHT:
                self.new_page()
            self.used += gb.LINE


def _latin_width(text: str) -> int:
    """Width in twips of a short Latin label such as "1." at 3号 (Times New Roman digits 8 pt, "." 4 pt)."""
    return sum(155 if ch.isdigit() else 75 for ch in text)


def _width(text: str) -> int:
    """Printed width in twips at 3号 with −0.25 pt spacing: CJK 15.75 pt, Latin digits half that."""
    return sum(155 if ord(ch) < 0x2E80 else 315 for ch in text)


def _paragraph(style_id: str) -> etree._Element:
    paragraph = OxmlElement("w:p")
    ppr = OxmlElement("w:pPr")
    ppr.append(set_attrs(OxmlElement("w:pStyle"), val=style_id))
    paragraph.append(ppr)
    return paragraph


def _run(
    paragraph: etree._Element,
    text: str,
    *,
    font: str | None = None,
    latin: str | None = None,
    dashed_box: bool = False,
) -> None:
    run = OxmlElement("w:r")
    if font or dashed_box:
        rpr = OxmlElement("w:rPr")
        if font:
            rpr_fonts(rpr, font, latin or gb.LATIN)
        if dashed_box:  # a placeholder a secretary sees (the signature stamp goes there)
            set_attrs(child(rpr, "w:color"), val="A0A0A0")
            set_attrs(child(rpr, "w:bdr"), val="dashed", sz=6, space=4, color="A0A0A0")
        run.append(rpr)
    t = OxmlElement("w:t")
    t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    t.text = text
    run.append(t)
    paragraph.append(run)


def _xml(element: etree._Element) -> str:
    return etree.tostring(element, encoding="unicode")


def _style_ids(document: object, template: Path) -> dict[str, str]:
    """Style name → style id in the template; every style the notice needs must be there."""
    wanted = (*gb.HEADING_STYLES, gb.S_ATTACH, gb.S_SIGNER, gb.S_DATE, gb.S_TITLE, gb.S_ORGAN)
    found = {style.name: style.style_id for style in document.styles}  # type: ignore[attr-defined]
    # Styles added later: a user's copy of an older template falls back to the body's and H1's.
    for name, fallback in ((gb.S_NOTE, gb.S_BODY), (gb.S_ATTACH_MARK, gb.S_H1)):
        found.setdefault(name, found.get(fallback, fallback))
    missing = [name for name in wanted if name not in found]
    if missing:
        raise TemplateError(
            f"模板“{template.name}”缺少公文样式：",
            [Problem("template.missing_style", f"样式“{name}”", path=str(template)) for name in missing],
            hint="请从 templates/ 复制原模板后再修改；改样式的格式可以，但不要删除或改名。",
        )
    return {name: found[name] for name in (*wanted, gb.S_NOTE, gb.S_ATTACH_MARK)}
