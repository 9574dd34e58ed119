"""``zhikong render``: any template — a shipped one by name, or a user's .docx — filled from a data file.

The 通知 and 请示 templates need generated paragraphs (body headings, the closing block), so they go
through ``render_notice``; so does a user's copy of them (recognised by its ``body`` and ``closing``
tags). Every other template goes through ``render_template``. Problems are named before anything is
written.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from zhikong.errors import InputFileError, Problem, TemplateError
from zhikong.generator.docnumber import check_serial
from zhikong.generator.notice import KINDS, NoticeSpec, normalise_to, render_notice, with_attachment_files
from zhikong.generator.render import (
    TEMPLATES_DIR,
    check_data_doc_number,
    load_data,
    render_template,
    shipped_templates,
    template_variables,
)

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


def render_document(template: str, data_file: Path, out: Path) -> str:
    """Render ``template`` with ``data_file`` into ``out``; returns the kind of document made."""
    path = resolve_template(template)
    data = with_attachment_files(load_data(data_file), data_file.parent)
    kind = _notice_kind(template, path)
    if kind is not None:
        spec = spec_from_data(data, kind)
        render_notice(spec, out, template=path)
        return KINDS[kind] + ("送审稿" if spec.draft else "")
    render_template(path, data, out)
    return LABELS.get(template, path.name)


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
    """A 通知/请示 from a ``zhikong render notice DATA.json`` file; every missing key named at once.

    ``date`` and ``issue_date`` are YYYY-MM-DD; ``number`` absent or null makes a 送审稿. Types are
    checked, not converted: ``number = true`` or ``year = "26"`` is a mistake to report.
    """
    required = ["organ_mark", "doc_prefix", "title", "to", "body", "signer", "date"]
    if kind == "request":
        required.append("signed_by")
    problems = [
        Problem("template.missing_variable", f"缺少变量“{key}”") for key in required if key not in data
    ]
    dates: dict[str, datetime.date | None] = {"date": None, "issue_date": None}
    for key in dates:
        value = data.get(key)
        if value is None:
            continue
        try:
            dates[key] = datetime.date.fromisoformat(str(value))
        except ValueError:
            problems.append(
                Problem("notice.date_form", f"“{key}”应写成 YYYY-MM-DD，例如 2026-03-05：{value}")
            )
    number = data.get("number")
    if number is not None:
        problems += check_serial(number)
    year = data.get("year")
    if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
        problems.append(Problem("notice.year_type", f"“year”应为四位数字的年份（如 2026）：{year!r}"))
    text_keys = ("organ_mark", "doc_prefix", "title", "to", "body", "signer", "issuer", "signed_by")
    for key in (*text_keys, *LAYOUT_KEYS):
        if key in data and not isinstance(data[key], str):
            problems.append(Problem("notice.text_type", f"“{key}”应为文字（加引号）：{data[key]!r}"))
    problems += check_data_doc_number(data)
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
        number=number,
        title=str(data["title"]),
        to=normalise_to(str(data["to"])),
        body=str(data["body"]),
        signer=str(data["signer"]),
        date=day,
        attachments=tuple(str(a) for a in lists["attachments"]),
        cc=tuple(str(c) for c in lists["cc"]),
        issuer=str(data.get("issuer", "")),
        issue_date=dates["issue_date"],
        draft=number is None,
        kind=kind,
        signed_by=str(data.get("signed_by", "")),
        attachment_texts=tuple(str(text) for text in lists["attachment_texts"]),
        **{key: str(data[key]) for key in LAYOUT_KEYS if key in data},
    )


def example_data(kind: str) -> Path:
    """The shipped example data file for a template (installed with the package, .toml or .json)."""
    found = sorted((TEMPLATES_DIR / "examples").glob(f"{kind}.*"))
    return found[0] if found else TEMPLATES_DIR / "examples"
