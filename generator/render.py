"""Render any .docx template (a shipped one or a user's own) with docxtpl.

The template is checked before anything is written: every variable it uses must be in the data,
and all missing ones are named together. A template is untrusted (centers share them and edit them in
Word): it is rendered in the sandbox of ``generator.sandbox``, with limits on time and size, and the
template and data files are size-checked before they are read. Rendering autoescapes (an ``&`` or
``<`` in the data must not corrupt the XML), the result is checked to be well-formed, and it replaces
``out`` atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from docxtpl import DocxTemplate
from jinja2.exceptions import SecurityError
from lxml import etree

from zhikong.errors import InputFileError, Problem, TemplateError
from zhikong.generator import gbt9704
from zhikong.generator.docnumber import check_doc_number, is_unnumbered
from zhikong.generator.ooxml import xml_safe
from zhikong.generator.sandbox import DEFAULT_LIMITS, GuardedEnvironment, Refused, RenderLimits, time_limit

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
TEMPLATE_NAMES = (
    "notice",
    "request",
    "letter",
    "minutes",
    "annual_plan",
    "summary",
    "inspection_feedback",
    "rectification_notice",
    "sign_in",
)


def shipped_templates() -> dict[str, Path]:
    """Name → path of the templates that ship in ``templates/`` (see templates/README.md)."""
    return {name: TEMPLATES_DIR / f"{name}.docx" for name in TEMPLATE_NAMES}


def open_template(template: Path, limits: RenderLimits = DEFAULT_LIMITS) -> DocxTemplate:
    """Load a .docx template, with a Chinese error if it is missing, not a Word document or too large."""
    if not template.is_file():
        raise InputFileError(f"模板文件不存在：{template}")
    if not zipfile.is_zipfile(template):
        raise InputFileError(
            f"模板不是 .docx 文件：{template}",
            hint=".doc/.wps 请先在 Word/WPS 中“另存为” .docx 格式。",
        )
    _check_template_size(template, limits)
    try:
        tpl = DocxTemplate(template)
        tpl.init_docx()
    except Exception as exc:  # python-docx raises several unrelated types for a broken package
        raise InputFileError(
            f"模板无法打开：{template}（{exc}）", hint="请在 Word/WPS 中打开并另存为 .docx。"
        ) from exc
    return tpl


def template_variables(template: Path, limits: RenderLimits = DEFAULT_LIMITS) -> set[str]:
    """The names a template uses and expects from the data (docxtpl's undeclared variables)."""
    return undeclared_variables(open_template(template, limits), template, limits)


def undeclared_variables(
    tpl: DocxTemplate, template: Path, limits: RenderLimits = DEFAULT_LIMITS
) -> set[str]:
    """docxtpl's undeclared variables, found with the sandbox's environment and time limit.

    Finding them compiles the template, and jinja's optimiser evaluates constant expressions while
    compiling: with a plain environment ``{{ 'x' * 10**10 }}`` would be computed right here.
    """
    try:
        with time_limit(limits.seconds):
            return set(tpl.get_undeclared_template_variables(GuardedEnvironment(limits)))
    except jinja2.TemplateSyntaxError as exc:
        raise _syntax_error(template, exc) from exc
    except SecurityError as exc:
        raise _refused(template, exc) from exc


def render_template(
    template: Path,
    data: Mapping[str, Any],
    out: Path,
    limits: RenderLimits = DEFAULT_LIMITS,
    *,
    finish: Callable[[Any], None] | None = None,
    fonts: str = gbt9704.DEFAULT_FONT_PROFILE,
) -> Path:
    """Render ``template`` with ``data`` into ``out`` (replaced atomically); returns ``out``.

    Strings that contain line breaks become one paragraph per line. Raises TemplateError naming
    every missing variable and malformed 发文字号 together, a template syntax/runtime error with its
    surrounding text, or what the sandbox refused. ``finish`` is given the rendered python-docx
    document before it is saved (``generator.documents`` sets heading styles and the 送审稿 mark there).
    """
    tpl = open_template(template, limits)
    missing = sorted(undeclared_variables(tpl, template, limits) - set(data))
    problems = [
        Problem("template.missing_variable", f"缺少变量“{name}”", path=str(template)) for name in missing
    ]
    problems += check_data_doc_number(data)
    if problems:
        raise TemplateError(
            f"模板“{template.name}”的数据有 {len(problems)} 处问题，没有生成文件：",
            problems,
            hint="缺少的变量在数据文件中补上（JSON 的键或 TOML 的键）；"
            "发文字号写成“代字〔年份〕序号号”，例如“金卫健字〔2026〕3号”。",
        )
    render_into(tpl, template, _clean(dict(data)), limits)
    # GB/T 9704 layout that depends on the text (title lines, organ mark, signature kept with the body)
    # and the font profile ``fonts``; a user's template without our styles is left as it is.
    gbt9704.finish(tpl.docx, fonts=fonts, title=_text(data.get("title")), organ=_text(data.get("signer")))
    if finish is not None:
        finish(tpl.docx)
    return save_atomic(tpl, out)


def _text(value: Any) -> str:
    return xml_safe(value.strip()) if isinstance(value, str) else ""


def red_head(template: Path, organ_style: str, limits: RenderLimits = DEFAULT_LIMITS) -> bool:
    """Does the template open with a red head (版头)? A paragraph in the organ-mark style ``organ_style``
    (公文版头: our templates and copies of them), or red text among its first paragraphs (a user's own
    red head, formatted by hand in Word)."""
    document = open_template(template, limits).docx
    paragraphs = document.paragraphs
    if any(p.style is not None and p.style.name == organ_style for p in paragraphs):
        return True
    return any(_red(run.font.color) for p in paragraphs[:5] for run in p.runs if run.text.strip())


def _red(color: Any) -> bool:
    """Red as a red head is printed: a strong red (FF0000, C00000 …), not a dark or pinkish one."""
    rgb = color.rgb if color is not None and color.type is not None else None
    if not isinstance(rgb, tuple):  # no colour, or a theme colour
        return False
    red, green, blue = rgb
    return red >= 0xB0 and green <= 0x40 and blue <= 0x40


def check_data_doc_number(data: Mapping[str, Any]) -> list[Problem]:
    """A ``doc_number`` in template data (函, 整改通知书 …) must be a 发文字号 of GB/T 9704 form, or empty,
    or a 送审稿's unnumbered line (金护质控函〔2026〕  号)."""
    value = data.get("doc_number")
    if value is None or value == "" or (isinstance(value, str) and is_unnumbered(value)):
        return []
    if not isinstance(value, str):
        return [Problem("template.doc_number", f"“doc_number”应为文字，例如“金卫健字〔2026〕3号”：{value!r}")]
    return check_doc_number(value.strip())


def render_into(
    tpl: DocxTemplate, template: Path, context: dict[str, Any], limits: RenderLimits = DEFAULT_LIMITS
) -> None:
    """``tpl.render`` in the sandbox with autoescape, within the time limit; jinja errors and refusals
    become a TemplateError with context."""
    try:
        with time_limit(limits.seconds):
            tpl.render(context, GuardedEnvironment(limits), autoescape=True)
    except jinja2.TemplateSyntaxError as exc:
        raise _syntax_error(template, exc) from exc
    except SecurityError as exc:
        raise _refused(template, exc) from exc
    except (RecursionError, MemoryError, OverflowError) as exc:
        raise TemplateError(
            f"模板“{template.name}”已拒绝生成（没有写入文件）：",
            [Problem("template.refused", _RESOURCE_ERRORS[type(exc)], path=str(template))],
            hint="检查模板中的宏是否调用自身、数字或重复是否过大。",
        ) from exc
    except jinja2.TemplateError as exc:
        raise TemplateError(
            f"模板“{template.name}”渲染失败：{exc.message or exc}",
            [Problem("template.render", _context_text(exc) or str(exc), path=str(template))],
            hint="检查数据的类型是否与模板一致（例如列表、数字）。",
        ) from exc


_RESOURCE_ERRORS: dict[type[BaseException], str] = {
    RecursionError: "模板中的宏或循环嵌套过深（可能在调用自身）",
    MemoryError: "模板生成的内容超出了可用内存",
    OverflowError: "模板中的数字过大",
}


def save_atomic(tpl: DocxTemplate, out: Path) -> Path:
    """Save next to ``out``, check every XML part parses, then rename over ``out``."""
    if not out.parent.is_dir():
        raise InputFileError(f"输出目录不存在：{out.parent}")
    handle, temp_name = tempfile.mkstemp(prefix=f".{out.stem}-", suffix=".docx.tmp", dir=out.parent)
    os.close(handle)
    temp = Path(temp_name)
    try:
        tpl.save(temp)
        broken = _broken_parts(temp)
        if broken:
            raise TemplateError(
                "生成的文件结构不完整，已放弃写入（原文件未改动）：",
                [Problem("template.corrupt", f"{part}：{error}", path=str(out)) for part, error in broken],
                hint="多半是模板中的标签跨越了段落或表格；请在 Word 中重新输入该标签。",
            )
        os.replace(temp, out)
    finally:
        temp.unlink(missing_ok=True)
    return out


def load_data(path: Path, limits: RenderLimits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Template data from a .json or .toml file (UTF-8, a BOM from Notepad is accepted)."""
    if not path.is_file():
        raise InputFileError(f"数据文件不存在：{path}")
    suffix = path.suffix.lower()
    if suffix not in (".json", ".toml"):
        raise InputFileError(f"数据文件应为 .json 或 .toml：{path.name}")
    size = path.stat().st_size
    if size > limits.data_bytes:
        raise InputFileError(
            f"数据文件 {path.name} 过大（{_mb(size)}），上限为 {_mb(limits.data_bytes)}，没有读取。",
            hint="数据文件只写要填入模板的文字；大段材料请作为附件单独归档。",
        )
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"数据文件不是 UTF-8 编码：{path.name}", hint="请用 UTF-8 编码另存。") from exc
    try:
        data = json.loads(text) if suffix == ".json" else tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(
            f"数据文件 {path.name} 第 {exc.lineno} 行第 {exc.colno} 列有误：{exc.msg}"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(f"数据文件 {path.name} 格式有误：{exc}") from exc
    if not isinstance(data, dict):
        raise InputFileError(f"数据文件 {path.name} 的最外层应是键值对（JSON 对象）")
    return data


def _check_template_size(template: Path, limits: RenderLimits) -> None:
    """Refuse a template too large to render safely, by its file size and by what it unpacks to.

    The sizes a .docx declares for its parts are checked before anything is decompressed, so a zip
    bomb is refused without being unpacked (python-docx reads every part into memory).
    """
    size = template.stat().st_size
    problems = []
    if size > limits.template_bytes:
        problems.append(f"文件大小 {_mb(size)}，上限 {_mb(limits.template_bytes)}")
    try:
        with zipfile.ZipFile(template) as package:
            infos = package.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputFileError(
            f"模板无法打开：{template}（{exc}）", hint="请在 Word/WPS 中打开并另存为 .docx。"
        ) from exc
    unpacked = sum(info.file_size for info in infos)
    xml = sum(info.file_size for info in infos if info.filename.endswith((".xml", ".rels")))
    if xml > limits.template_xml_bytes:
        problems.append(f"文字部分（XML）解压后 {_mb(xml)}，上限 {_mb(limits.template_xml_bytes)}")
    if unpacked > limits.template_unpacked_bytes:
        problems.append(f"解压后 {_mb(unpacked)}，上限 {_mb(limits.template_unpacked_bytes)}")
    if problems:
        raise TemplateError(
            f"模板“{template.name}”过大，已拒绝生成：",
            [Problem("template.too_large", text, path=str(template)) for text in problems],
            hint="公文模板通常只有几十 KB；请删去模板中的大图片，或核实模板来源。",
        )


def _mb(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def _clean(value: Any) -> Any:
    """Make data safe for WordprocessingML: drop XML-illegal characters, lines → paragraphs.

    docxtpl turns ``\\a`` into a new paragraph with the same formatting; a bare ``\\n`` would only be
    a line break inside one paragraph, which breaks first-line indents.
    """
    if isinstance(value, str):
        return xml_safe(value.replace("\r\n", "\n").replace("\r", "\n")).replace("\n", "\a")
    if isinstance(value, Mapping):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    return value


def _broken_parts(docx: Path) -> list[tuple[str, str]]:
    broken = []
    with zipfile.ZipFile(docx) as package:
        for name in package.namelist():
            if name.endswith((".xml", ".rels")):
                try:
                    etree.fromstring(package.read(name))
                except etree.XMLSyntaxError as exc:
                    broken.append((name, str(exc)))
    return broken


def _context_text(exc: Exception) -> str:
    lines = [line.strip() for line in getattr(exc, "docx_context", []) or [] if line.strip()]
    return " … ".join(lines)[:300]


def _refused(template: Path, exc: SecurityError) -> TemplateError:
    reason = str(exc) if isinstance(exc, Refused) else f"模板中有不允许的操作（{exc}）"
    return TemplateError(
        f"模板“{template.name}”含有不允许的内容，已拒绝生成（没有写入文件）：",
        [Problem("template.refused", reason, path=str(template))],
        hint="模板只用来填写数据：可以用 {{ 名称 }}、{% if %}、{% for %} 等标签，但不能访问内部属性、"
        "调用系统功能，循环次数和生成的内容也有上限。请核实模板来源，删去可疑的标签后重试。",
    )


def _syntax_error(template: Path, exc: jinja2.TemplateSyntaxError) -> TemplateError:
    context = _context_text(exc)
    return TemplateError(
        f"模板“{template.name}”中的标签写法有误：{exc.message}",
        [
            Problem(
                "template.syntax",
                f"出错位置附近的文字：{context}" if context else str(exc),
                path=str(template),
            )
        ],
        hint="标签应写成 {{ 名称 }} 或 {% if … %}…{% endif %}，括号须成对；可在 Word 中删除后整段重新输入。",
    )
