"""Issue 11, point 3: a template is untrusted input. It runs no code, and its time and size are bounded.

Each attack goes into a real .docx (the shipped 函 template with one paragraph added, or a tag in the
document's header or title property) and through `zhikong render`, the command a secretary runs on a
template another center sent her. A command the attack tries to run would create a marker file.
"""

from __future__ import annotations

import json
import threading
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import invoke
from docx import Document

from zhikong.errors import TemplateError
from zhikong.generator.render import render_template, shipped_templates
from zhikong.generator.sandbox import RenderLimits

LETTER_DATA = Path(__file__).resolve().parent.parent / "templates" / "examples" / "letter.json"


def letter_with(tmp_path: Path, tag: str, *, where: str = "body") -> Path:
    """The shipped 函 template with ``tag`` added to its body, its header or its title property."""
    doc = Document(str(shipped_templates()["letter"]))
    if where == "body":
        doc.add_paragraph(tag)
    elif where == "header":
        doc.sections[0].header.add_paragraph(tag)
    else:
        doc.core_properties.title = tag
    path = tmp_path / "共享模板.docx"
    doc.save(str(path))
    return path


def render(runner: CliRunner, template: Path, out: Path, data: Path = LETTER_DATA, expect: int = 8) -> str:
    result = invoke(runner, "render", str(template), str(data), "--out", str(out), expect=expect)
    return result.output


@pytest.mark.parametrize(
    ("tag", "where"),
    [
        ("{{ cycler.__init__.__globals__.os.popen('touch MARKER').read() }}", "body"),
        ("{{ joiner.__init__.__globals__.os.system('touch MARKER') }}", "body"),
        ("{{ namespace.__init__.__globals__['os'].system('touch MARKER') }}", "body"),
        ("{{ (title|attr('__class__')).__mro__[1].__subclasses__() }}", "body"),
        ("{{ '{0.__class__.__mro__}'.format(title) }}", "body"),
        ("{{ cycler.__init__.__globals__.os.popen('touch MARKER').read() }}", "header"),
        ("{{ cycler.__init__.__globals__.os.popen('touch MARKER').read() }}", "title"),
    ],
)
def test_a_template_cannot_run_commands(tmp_path: Path, runner: CliRunner, tag: str, where: str) -> None:
    marker = tmp_path / "MARKER"
    template = letter_with(tmp_path, tag.replace("MARKER", str(marker)), where=where)
    out = tmp_path / "函.docx"
    output = render(runner, template, out)
    assert not marker.exists(), "the template ran a command"
    assert not out.exists()
    assert "含有不允许的内容，已拒绝生成" in output
    assert "内部属性“__" in output  # names what was refused: __init__, __class__ …


@pytest.mark.parametrize(
    ("tag", "refused"),
    [
        ("{% for i in range(10**9) %}x{% endfor %}", "range 有 1,000,000,000 项"),
        ("{{ 'x' * 10**10 }}", "重复 10000000000 次"),
        ("{{ 10**100000 }}", "乘方 10**100000 结果过大"),
        ("{{ title|center(1000000000) }}", "“center”宽度或数量 1000000000"),
        ("{{ title.ljust(1000000000) }}", "“ljust”宽度或数量 1000000000"),
        ("{{ '{:>1000000000}'.format(1) }}", "format 格式"),
        ("{{ '%01000000000d' % 1 }}", "%格式"),
        (
            "{% set ns = namespace(s='xxxxxxxxxx') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
            "{% endfor %}{{ ns.s|length }}",
            "值“s”过大",
        ),
        ("{{ [range(10000)|list] * 10000 }}", "重复 10000 次"),
        ("{% for i in range(10000) %}{{ range(10000)|list }}{% endfor %}", "超过 50,000,000 个字符"),
        ("{% set l = [] %}{{ l.append(1) }}", "模板只能读取数据"),
        ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(1) }}", "嵌套过深"),
    ],
)
def test_templates_that_would_exhaust_the_machine_are_refused(
    tmp_path: Path, runner: CliRunner, tag: str, refused: str
) -> None:
    out = tmp_path / "函.docx"
    output = render(runner, letter_with(tmp_path, tag), out)
    assert "已拒绝生成" in output and refused in output
    assert not out.exists()


def test_a_render_that_runs_too_long_is_stopped(tmp_path: Path) -> None:
    """Loops over plain values pass no sandbox hook: the watchdog stops them at the time limit."""
    body = "{% for a in range(10000) %}{% for b in range(10000) %}{% for c in range(10000) %}"
    template = letter_with(tmp_path, body + "{% endfor %}{% endfor %}{% endfor %}")
    data = json.loads(LETTER_DATA.read_text(encoding="utf-8"))
    started = time.monotonic()
    with pytest.raises(TemplateError) as caught:
        render_template(template, data, tmp_path / "o.docx", RenderLimits(seconds=0.5))
    assert time.monotonic() - started < 10
    assert "模板渲染超过 0.5 秒，已停止" in str(caught.value)
    assert not (tmp_path / "o.docx").exists()
    # The thread is left clean: nothing pending surfaces in later work, and rendering still works.
    time.sleep(0.2)
    out = render_template(shipped_templates()["letter"], data, tmp_path / "good.docx")
    assert "关于商请派员参加护理质控培训的函" in "".join(p.text for p in Document(str(out)).paragraphs)


def test_the_time_limit_holds_in_a_worker_thread_too(tmp_path: Path) -> None:
    """`zhikong serve` renders in its request threads: the watchdog stops that thread, not the main one."""
    template = letter_with(
        tmp_path, "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}"
    )
    data = json.loads(LETTER_DATA.read_text(encoding="utf-8"))
    caught: list[BaseException] = []

    def work() -> None:
        try:
            render_template(template, data, tmp_path / "o.docx", RenderLimits(seconds=0.3))
        except TemplateError as exc:
            caught.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert caught and "超过 0.3 秒" in str(caught[0])


def test_oversized_data_and_template_files_are_not_read(tmp_path: Path, runner: CliRunner) -> None:
    data = tmp_path / "大数据.json"
    payload = json.loads(LETTER_DATA.read_text(encoding="utf-8"))
    payload["body"] = "很长的正文" * (2 * 2**20)  # 10 M characters, 30 MB of UTF-8
    data.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    output = render(runner, shipped_templates()["letter"], tmp_path / "o.docx", data=data, expect=4)
    assert "数据文件 大数据.json 过大" in output and "上限为 5.0 MB" in output

    # A zip bomb: a small .docx whose parts unpack to more than the limit is refused before unpacking.
    bomb = tmp_path / "炸弹.docx"
    bomb.write_bytes(shipped_templates()["letter"].read_bytes())
    with zipfile.ZipFile(bomb, "a", zipfile.ZIP_DEFLATED) as package:
        package.writestr("word/media/zeros.bin", b"\0" * (3 * 2**20))
    limits = RenderLimits(template_unpacked_bytes=2 * 2**20)
    with pytest.raises(TemplateError) as caught:
        render_template(bomb, payload | {"body": "正文"}, tmp_path / "o.docx", limits)
    assert "过大，已拒绝生成" in caught.value.message
    assert "上限 2.0 MB" in str(caught.value)


def test_ordinary_template_features_still_work(tmp_path: Path) -> None:
    """The sandbox refuses only what a document does not need: loops, conditions, filters, formats."""
    tag = (
        "{% for p in problems %}{{ loop.index }}. {{ p.problem|upper }}{% if not loop.last %}；{% endif %}"
        "{% endfor %} {{ '%03d' % 7 }} {{ '{:>4}'.format(count) }} {{ names|join('、') }}"
        " {{ range(3)|list|length }} {{ title|replace('函', '信') }}"
    )
    doc = Document()
    doc.add_paragraph(tag)
    template = tmp_path / "ok.docx"
    doc.save(str(template))
    data = {
        "problems": [{"problem": "a&b"}, {"problem": "c"}],
        "count": 12,
        "names": ["甲", "乙"],
        "title": "函",
    }
    out = render_template(template, data, tmp_path / "o.docx")
    assert Document(str(out)).paragraphs[0].text == "1. A&B；2. C 007   12 甲、乙 3 信"
