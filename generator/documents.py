"""``zhikong render``: any template — a shipped one by name, or a user's .docx — filled from a data file.

The 通知 and 请示 templates need generated paragraphs (body headings, the closing block), so they go
through ``render_notice``; so does a user's copy of them (recognised by its ``body`` and ``closing``
tags). Every other template goes through ``render_template``. Problems are named before anything is
written, all of them at once, and every document type gets the same rules (``generator.docrules``):

- dates in the standard form (2026年3月5日), 发文字号 in the standard form;
- body lines that start 一、 （一） 1. （1） set in the heading styles the notice uses (黑体, 楷体, 仿宋);
- a **red-headed** document (a 公文版头 paragraph: 通知, 请示, 函, 纪要, a user's copy; or red text opening a
  user's own template) comes out only as a 送审稿 without a number: the numbered final exists only through
  approval (``zhikong draft … → zhikong draft approve``, ``archive.drafts``), so a number in the data is
  refused.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zhikong.errors import InputFileError, Problem, TemplateError
from zhikong.generator import gbt9704 as gb
from zhikong.generator.docnumber import check_prefix, check_serial, format_doc_number
from zhikong.generator.docrules import (
    DRAFT_MARK,
    check_date_forms,
    format_date,
    number_refused,
    parse_written_date,
    text_fields,
    with_request_closing,
)
from zhikong.generator.notice import (
    KINDS,
    MARK_KEYS,
    NoticeSpec,
    body_paragraphs,
    check_mark_values,
    heading_level,
    letter_marks,
    normalise_to,
    render_notice,
    with_attachment_files,
)
from zhikong.generator.ooxml import insert_ordered
from zhikong.generator.render import (
    TEMPLATES_DIR,
    check_data_doc_number,
    load_data,
    red_head,
    render_template,
    shipped_templates,
    template_variables,
)
from zhikong.textcheck import check_text

LABELS = {
    "notice": "通知",
    "request": "请示",
    "letter": "函",
    "minutes": "会议纪要",
    "annual_plan": "年度工作计划",
    "summary": "工作总结",
    "inspection_feedback": "督查反馈意见书",
    "rectification_notice": "整改通知书",
    "sign_in": "签到表",
}


def resolve_template(name_or_path: str) -> Path:
    """A shipped template's name (``letter``) or the path of a user's .docx."""
    shipped = shipped_templates()
    if name_or_path in shipped:
        return shipped[name_or_path]
    path = Path(name_or_path).expanduser()
    if path.suffix.lower() == ".docx" or path.exists():
        return path
    raise InputFileError(
        f"没有名为“{name_or_path}”的模板，也不是 .docx 文件。",
        hint="自带模板：" + "、".join(shipped) + "；或给出自己模板的路径。",
    )


@dataclass(frozen=True)
class Rendered:
    """What ``render_document`` made: the kind of document, and whether it is a 送审稿 (red-headed)."""

    label: str
    draft: bool


def render_document(
    template: str, data_file: Path, out: Path, *, fonts: str = gb.DEFAULT_FONT_PROFILE
) -> Rendered:
    """Render ``template`` with ``data_file`` into ``out``, its fonts named by the profile ``fonts``."""
    path = resolve_template(template)
    data = with_attachment_files(load_data(data_file), data_file.parent)
    kind = _notice_kind(template, path)
    if kind is not None:
        render_notice(spec_from_data(data, kind), out, template=path, fonts=fonts)
        return Rendered(KINDS[kind], draft=True)
    red = red_head(path, gb.S_ORGAN)
    variables = template_variables(path)
    prepared, problems = prepare_data(data, variables, red_headed=red, label=LABELS.get(template, ""))
    if problems:
        raise TemplateError(
            f"{LABELS.get(template, path.name)}的数据有 {len(problems)} 处问题，没有生成文件：",
            problems,
            hint=f"参照示例数据文件填写：{example_data(template)}"
            if template in LABELS
            else "日期写成“2026年3月5日”，发文字号写成“代字〔年份〕序号号”。",
        )
    letter = LABELS.get(template) == LABELS["letter"]
    render_template(
        path,
        prepared,
        out,
        finish=lambda document: finish_document(document, red_headed=red, marks=prepared if letter else None),
        fonts=fonts,
    )
    return Rendered(LABELS.get(template, path.name), draft=red)


def check_draft_data(kind: str, data: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """A shipped red-headed template's data (``letter``, ``minutes``) checked as ``zhikong render`` checks it,
    for a 送审稿 of the draft workflow (``archive.drafts``): the data as the template gets it, and the problems."""
    path = resolve_template(kind)
    return prepare_data(data, template_variables(path), red_headed=True, label=LABELS[kind])


def render_draft(kind: str, prepared: dict[str, Any], out: Path, *, identifier: str, fonts: str) -> None:
    """Render a 送审稿 from ``check_draft_data``'s data, the draft's identifier in its document properties
    (what an edited copy uploaded back is recognised by)."""

    def finish(document: Any) -> None:
        finish_document(document, red_headed=True, marks=prepared if kind == "letter" else None)
        document.core_properties.identifier = identifier

    render_template(resolve_template(kind), prepared, out, finish=finish, fonts=fonts)


# Title forms of the document types whose title is typed in the data (the others build it in the template).
TITLE_FORMS = {"letter": ("关于", "的函"), "minutes": ("", "纪要")}
WRITTEN_DATES = ("date", "issue_date")  # 成文日期 and 印发日期: printed as 2026年3月5日
# A 纪要's number is its 期数 (纪要格式, GB/T 9704 §10.3), given on approval like a 发文字号: blank in the 送审稿.
ISSUE_KEY = "issue_no"


def issue_line(number: int | None) -> str:
    """A 纪要's 期数 line: 第  期 in the 送审稿, 第3期 once approved."""
    return "第  期" if number is None else f"第{number}期"


def prepare_data(
    data: dict[str, Any], variables: set[str], *, red_headed: bool, label: str = ""
) -> tuple[dict[str, Any], list[Problem]]:
    """The data as the template gets it, and every problem with it (the rules of ``generator.docrules``).

    成文日期 given as 2026-03-05 are printed 2026年3月5日. A red-headed template's 送审稿 mark is set, and its
    发文字号 line shows the 代字 and year with the serial left blank for approval; a number given is refused.
    """
    problems: list[Problem] = []
    prepared = dict(data)
    for key, text in text_fields(data):
        problems += check_text(f"“{key}”", text, "document.characters", multiline=True)
        if key not in WRITTEN_DATES:
            problems += check_date_forms(f"“{key}”", text)
    days: dict[str, datetime.date] = {}
    for key in WRITTEN_DATES:
        if key in data:
            day, wrong = parse_written_date(data[key], key)
            problems += wrong
            if day is not None:
                days[key] = day
                prepared[key] = format_date(day)
    title = data.get("title")
    form = next((f for name, f in TITLE_FORMS.items() if LABELS[name] == label), None)
    if form and isinstance(title, str) and not (title.startswith(form[0]) and title.endswith(form[1])):
        problems.append(Problem("document.title_form", f"标题“{title}”应写成“{form[0] or ''}……{form[1]}”"))
    if label == LABELS["letter"]:
        marks = [data.get(key) for key in MARK_KEYS]
        if any(not isinstance(value, str | None) for value in marks):
            problems.append(Problem("document.marks", "份号、密级、保密期限、紧急程度应写成文字"))
        else:
            problems += check_mark_values(*(str(value or "") for value in marks), code="document")
    if red_headed:
        problems += _draft_number(data, variables, prepared, days.get("date"))
        if ISSUE_KEY in variables:
            if data.get(ISSUE_KEY) not in (None, ""):
                problems.append(number_refused(f"纪要期数“{data[ISSUE_KEY]}”"))
            prepared[ISSUE_KEY] = issue_line(None)
        if "draft_mark" in variables:
            prepared["draft_mark"] = DRAFT_MARK
    else:
        problems += check_data_doc_number(data)
    problems += [
        Problem("template.missing_variable", f"缺少变量“{name}”")
        for name in sorted(variables - set(prepared))
    ]
    return prepared, problems


def _draft_number(
    data: dict[str, Any], variables: set[str], prepared: dict[str, Any], day: datetime.date | None
) -> list[Problem]:
    """A red-headed document's 发文字号 line in its 送审稿: 代字〔年份〕  号, the serial given on approval."""
    problems: list[Problem] = []
    given = data.get("doc_number")
    if given not in (None, ""):
        problems += check_data_doc_number(data)
        problems.append(number_refused(f"发文字号“{given}”"))
    if "number" in data:
        problems += check_serial(data["number"])
        problems.append(number_refused(f"发文字号序号 number = {data['number']!r}"))
    if "doc_number" not in variables:
        return problems
    prefix = data.get("doc_prefix")
    year = data.get("year", day.year if day else None)
    if not isinstance(prefix, str):
        problems.append(
            Problem(
                "document.doc_prefix",
                "缺少“doc_prefix”（发文机关代字，例如“金护质控函”）：送审稿的发文字号一行写成"
                "“金护质控函〔2026〕  号”，序号在批准时填写",
            )
        )
    else:
        problems += check_prefix(prefix)
    if isinstance(year, bool) or not isinstance(year, int):
        problems.append(
            Problem("document.year", f"“year”应为四位数字的年份（如 2026），或给出成文日期 date：{year!r}")
        )
    if not problems:
        assert isinstance(prefix, str) and isinstance(year, int)
        prepared["doc_number"] = format_doc_number(prefix, year, None)
    return problems


def finish_document(document: Any, *, red_headed: bool, marks: Mapping[str, Any] | None = None) -> None:
    """After rendering: body lines that are headings in the heading styles; a red head's 送审稿 mark; a
    函's 份号, 密级 and 紧急程度 from `marks` (its data) in 信函格式."""
    set_heading_styles(document)
    if red_headed:
        _ensure_draft_mark(document)
    if marks is not None:
        letter_marks(document, marks)


def set_heading_styles(document: Any) -> None:
    """Give 公文正文 paragraphs that start 一、 （一） 1. （1） the heading styles, as ``render_notice`` does.

    The paragraph is rebuilt by ``generator.notice.body_paragraphs`` — the same code that sets a 通知's
    headings — so a 函, 纪要 or 计划 has the same heading fonts. A template without those styles (a user's
    own) is left as it is.
    """
    found = {style.name: style.style_id for style in document.styles}
    if not all(name in found for name in gb.HEADING_STYLES):
        return
    styles = {name: found[name] for name in gb.HEADING_STYLES}
    for paragraph in _all_paragraphs(document):
        line = paragraph.text.strip().lstrip("\u3000")
        if paragraph.style is None or paragraph.style.name != gb.S_BODY or not heading_level(line):
            continue
        made = body_paragraphs(line, styles)[0]
        old = paragraph._p
        # The template's own paragraph properties (spacing, indents) stay, in schema order; only the
        # style changes.
        made_ppr = made.find(_PPR)
        for prop in old.pPr if old.pPr is not None else ():
            if prop.tag != _PSTYLE:
                same = made_ppr.find(prop.tag)
                if same is not None:
                    made_ppr.remove(same)
                insert_ordered(made_ppr, copy.deepcopy(prop))
        old.addprevious(made)
        old.getparent().remove(old)


def _all_paragraphs(document: Any) -> list[Any]:
    found = list(document.paragraphs)
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                found += cell.paragraphs
    return found


def _ensure_draft_mark(document: Any) -> None:
    """A red-headed template without a ``{{ draft_mark }}`` slot (纪要) gets the mark in its page headers."""
    for section in document.sections:
        for header in (section.header, section.even_page_header):
            if not header.is_linked_to_previous and DRAFT_MARK in "".join(p.text for p in header.paragraphs):
                return
    if gb.S_DRAFT in {style.name for style in document.styles}:
        gb.set_header_text(document, DRAFT_MARK)
        return
    for section in document.sections:
        section.header.is_linked_to_previous = False
        section.header.paragraphs[0].text = DRAFT_MARK


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_PPR, _PSTYLE = f"{_W}pPr", f"{_W}pStyle"


def _notice_kind(template: str, path: Path) -> str | None:
    if template in KINDS:
        return template
    variables = template_variables(path)
    if {"body", "closing"} <= variables:
        return "request" if "signed_by" in variables else "notice"
    return None


# Optional keys of a notice's data file for what GB/T 9704 offers beyond the required ones (NoticeSpec):
# 附注, 份号, 密级, 保密期限, 紧急程度, the seal mode (seal | none | signature) and the 签发人's 职务;
# attachment_texts, a list beside attachments, gives the attachments' own pages.
LAYOUT_KEYS = ("note", "copy_number", "secrecy", "secrecy_term", "urgency", "seal", "signer_title")


def spec_from_data(data: dict[str, Any], kind: str) -> NoticeSpec:
    """A 通知/请示 送审稿 from a ``zhikong render notice DATA.json`` file; every problem named at once.

    ``date`` and ``issue_date`` are 2026年3月5日 or 2026-03-05. There is no number: a red-headed document
    is numbered only on approval, so ``number`` or ``doc_number`` in the data is refused with the way to
    get one. Types are checked, not converted: ``year = "26"`` is a mistake to report.
    """
    required = ["organ_mark", "doc_prefix", "title", "to", "body", "signer", "date"]
    if kind == "request":
        required.append("signed_by")
    problems = [
        Problem("template.missing_variable", f"缺少变量“{key}”") for key in required if key not in data
    ]
    dates: dict[str, datetime.date | None] = {"date": None, "issue_date": None}
    for key in dates:
        if data.get(key) is not None:
            dates[key], wrong = parse_written_date(data[key], key)
            problems += wrong
    if "number" in data:
        problems += check_serial(data["number"])
        problems.append(number_refused(f"发文字号序号 number = {data['number']!r}"))
    if data.get("doc_number") not in (None, ""):
        problems += check_data_doc_number(data)
        problems.append(number_refused(f"发文字号“{data['doc_number']}”"))
    year = data.get("year")
    if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
        problems.append(Problem("notice.year_type", f"“year”应为四位数字的年份（如 2026）：{year!r}"))
    text_keys = ("organ_mark", "doc_prefix", "title", "to", "body", "signer", "issuer", "signed_by")
    for key in (*text_keys, *LAYOUT_KEYS):
        if key in data and not isinstance(data[key], str):
            problems.append(Problem("notice.text_type", f"“{key}”应为文字（加引号）：{data[key]!r}"))
    lists = {key: data.get(key, []) for key in ("attachments", "cc", "attachment_texts")}
    for key, value in lists.items():
        if not isinstance(value, list):
            problems.append(Problem("notice.list", f'“{key}”应为列表，例如 ["会议议程"]'))
    if problems:
        raise TemplateError(
            f"{KINDS.get(kind, kind)}的数据有 {len(problems)} 处问题，没有生成文件：",
            problems,
            hint=f"参照示例数据文件填写：{example_data(kind)}",
        )
    day = dates["date"]
    assert day is not None
    return NoticeSpec(
        organ_mark=str(data["organ_mark"]),
        doc_prefix=str(data["doc_prefix"]),
        year=year if isinstance(year, int) else day.year,
        number=None,
        title=str(data["title"]),
        to=normalise_to(str(data["to"])),
        body=with_request_closing(str(data["body"])) if kind == "request" else str(data["body"]),
        signer=str(data["signer"]),
        date=day,
        attachments=tuple(str(a) for a in lists["attachments"]),
        cc=tuple(str(c) for c in lists["cc"]),
        issuer=str(data.get("issuer", "")),
        issue_date=dates["issue_date"],
        draft=True,
        kind=kind,
        signed_by=str(data.get("signed_by", "")),
        attachment_texts=tuple(str(text) for text in lists["attachment_texts"]),
        **{key: str(data[key]) for key in LAYOUT_KEYS if key in data},
    )


def example_data(kind: str) -> Path:
    """The shipped example data file for a template (installed with the package, .toml or .json)."""
    found = sorted((TEMPLATES_DIR / "examples").glob(f"{kind}.*"))
    return found[0] if found else TEMPLATES_DIR / "examples"
