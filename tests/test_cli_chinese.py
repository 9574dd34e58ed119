"""The command line speaks Chinese (issue 18): click's own messages and help layout, every command's help
and usage errors, and dates written the ways people write them."""

from __future__ import annotations

import ast
import gettext
import os
import re
import string
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import Run, invoke

from zhikong import clitext, libreoffice
from zhikong.archive.convention import ActivityType
from zhikong.cli import _activity_type_option, _day_option, _day_text_option, cli

CLICK_DIR = Path(click.__file__).parent
COMMANDS = [path for path, _command in clitext.walk(cli)]


def _command(path: tuple[str, ...]) -> click.Command:
    return dict(clitext.walk(cli))[path]


# -- "no English sentence": no run of three ASCII words ------------------------------------------------

# Names a secretary meets as names (formats, programs, standards), not English to translate.
ALLOWED = {"docx", "xlsx", "pdf", "ocr", "libreoffice", "json", "zhikong", "bagit", "ofd", "wps", "api", "url",
           "https", "csv", "id", "utf", "gbk", "txt", "toml", "cli"}  # fmt: skip
# Words that are values a user types: command names, choices, activity types, template names.
VALUES = (
    {name for path in COMMANDS for name in path}
    | {str(c) for _path, cmd in clitext.walk(cli) for p in cmd.params if isinstance(p.type, click.Choice)
       for c in p.type.choices}
    | {t.value for t in ActivityType}
    | {p.stem for p in (Path(clitext.__file__).parent / "templates").glob("*.docx")}
)  # fmt: skip
_SEPARATOR = re.compile(r"""[\s,.;:!?'"()\[\]{}<>|=]+""")


def english_runs(text: str) -> list[str]:
    """Runs of three or more ASCII words (letters only) with only spaces or punctuation between them."""
    runs, run = [], []
    for token in re.split(rf"({_SEPARATOR.pattern})", text):
        if not token or _SEPARATOR.fullmatch(token):
            continue
        if re.fullmatch(r"[A-Za-z]+", token) and token.lower() not in ALLOWED and token not in VALUES:
            run.append(token)
            continue
        if len(run) >= 3:
            runs.append(" ".join(run))
        run = []
    if len(run) >= 3:
        runs.append(" ".join(run))
    return runs


def test_english_runs_finds_click_sentences() -> None:
    assert english_runs("Error: No such command 'serach'.") == ["Error No such command serach"]
    assert english_runs("  -h, --help  Show this message and exit.") == ["Show this message and exit"]
    assert english_runs("Error: Missing option '--center'.") == ["Error Missing option"]
    assert english_runs("'--year' 的值不对：“去年”不是有效的整数。") == []
    assert english_runs("写入交接书和 bag-info.txt；用 LibreOffice 转 PDF 和 OFD") == []
    assert english_runs("zhikong draft notice --json 用法") == []


def _clean(result_output: str, what: str) -> None:
    assert not english_runs(result_output), f"{what}:\n{result_output}"


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "zhikong")
def test_every_command_speaks_chinese(path: tuple[str, ...]) -> None:
    runner = CliRunner()
    command = _command(path)
    words = " ".join(("zhikong", *path))

    helped = invoke(runner, *path, "--help")
    assert "用法：" in helped.output and "选项：" in helped.output and "显示本帮助并退出" in helped.output
    assert "Usage" not in helped.output and "[OPTIONS]" not in helped.output
    _clean(helped.output, f"{words} --help")
    for param in command.params:
        if isinstance(param, click.Argument):  # the argument names in the usage line are Chinese
            assert not re.search(r"[A-Za-z]", param.make_metavar(click.Context(command))), (words, param.name)

    unknown = invoke(runner, *path, "--nosuch", expect=2)
    assert "错误：没有选项“--nosuch”。" in unknown.output and "查看帮助" in unknown.output
    _clean(unknown.output, f"{words} --nosuch")

    required = [p for p in command.params if p.required]
    if required or (isinstance(command, click.Group) and not command.invoke_without_command):
        bare = invoke(runner, *path, expect=None)
        if required:
            assert bare.exit_code == 2 and "错误：缺少" in bare.output, f"{words}:\n{bare.output}"
        else:  # a group without its subcommand shows its help
            assert "命令：" in bare.output, f"{words}:\n{bare.output}"
        _clean(bare.output, words)


def test_a_misspelled_command_is_named_and_the_right_one_suggested() -> None:
    result = invoke(CliRunner(), "serach", expect=2)
    assert "错误：没有命令“serach”。" in result.output
    assert "是不是要输入" in result.output and "'search'" in result.output
    assert "用法： cli [选项] 命令 [参数]..." in result.output
    _clean(result.output, "serach")


def test_bad_values_are_refused_in_chinese(run: Run, tmp_path: Path) -> None:
    for args, said in (
        (("paper", "catalog", "--center", "护理质控中心", "--year", "去年", "--box", "1", "--out", "x.docx"),
         "'--year' 的值不对：“去年”不是有效的整数。"),
        (("serve", "--host", "127.0.0.1", "--port", "x"), "“x”不是有效的整数。"),
        (("serve", "--port", "0"), "0 不在 1<=x<=65535 的范围内"),
        (("draft", "upload", "1", str(tmp_path)), "是文件夹，这里要的是文件。"),
        (("draft", "approve", "一"), "“一”不是有效的整数。"),
        (("status", "多余"), "多余的参数：多余"),
    ):  # fmt: skip
        result = run(*args, expect=2)
        assert said in result.output, result.output
        _clean(result.output, " ".join(args))


def test_the_values_in_help_are_named_in_chinese() -> None:
    text = invoke(CliRunner(), "watch", "--help").output
    assert "--rescan 数字" in text and "[默认：300.0]" in text
    text = invoke(CliRunner(), "paper", "catalog", "--help").output
    assert (
        "--year 整数" in text
        and "[必填]" in text
        and "--out 文件" in text
        and "--retention [Y|D30|D10]" in text
    )
    assert "--root 文件夹" in invoke(CliRunner(), "--help").output
    assert "用法： cli log [选项] [命令] [参数]..." in invoke(CliRunner(), "log", "--help").output
    assert "用法： cli search [选项] 检索词..." in invoke(CliRunner(), "search", "--help").output
    assert "用法： cli demo [选项] [目录]" in invoke(CliRunner(), "demo", "--help").output


# -- how the catalogue is activated -------------------------------------------------------------------


def test_main_speaks_chinese_whatever_the_locale() -> None:
    """`zhikong` as installed (main()), with an English locale, none at all, or a Windows-like one."""
    code = "import sys; from zhikong.cli import main; sys.argv[0] = 'zhikong'; main()"
    base = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")}
    base["PYTHONIOENCODING"] = "utf-8"
    for extra in ({"LANGUAGE": "en", "LC_ALL": "en_US.UTF-8", "LANG": "en_US.UTF-8"}, {}, {"LANG": "C"}):
        done = subprocess.run(
            [sys.executable, "-c", code, "serach"], env=base | extra, capture_output=True, text=True,
            encoding="utf-8", cwd=Path(clitext.__file__).parent.parent, timeout=120,
        )  # fmt: skip
        assert done.returncode == 2
        assert "用法： zhikong [选项] 命令 [参数]..." in done.stderr, done.stderr
        assert "错误：没有命令“serach”。" in done.stderr and "'search'" in done.stderr
        assert not english_runs(done.stderr)
    helped = subprocess.run(
        [sys.executable, "-c", code, "draft", "notice", "--help"], env=base | {"LANGUAGE": "en"},
        capture_output=True, text=True, encoding="utf-8", timeout=120,
    )  # fmt: skip
    assert helped.returncode == 0 and "显示本帮助并退出。" in helped.stdout and "[必填]" in helped.stdout


def test_the_group_callback_activates_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should something rebind click's messages to gettext after import, the top-level group puts the
    Chinese back before a subcommand's line is parsed."""
    for name in ("click.core", "click.exceptions", "click.parser", "click.types"):
        module = sys.modules[name]
        monkeypatch.setattr(module, "_", gettext.gettext)
        if hasattr(module, "ngettext"):
            monkeypatch.setattr(module, "ngettext", gettext.ngettext)
    result = invoke(CliRunner(), "center", "add", expect=2)
    assert "错误：缺少参数 '名称'" in result.output, result.output


def test_only_click_is_translated() -> None:
    """The process-wide gettext domain is untouched: other users of gettext (argparse) stay as they were."""
    assert gettext.gettext("Usage:") == "Usage:"
    assert gettext.textdomain() == "messages"
    assert click.core._("Usage:") == "用法："  # type: ignore[attr-defined]
    assert (
        click.exceptions.ngettext("Did you mean {possibility}?", "x", 1) == "是不是要输入 {possibilities}？"
    )


# -- the catalogue -------------------------------------------------------------------------------------


def _click_messages() -> Iterator[tuple[str, str | None]]:
    """Every literal message the installed click passes to _() or ngettext(), and the one it passes
    through a name (`_(extra["required"])`)."""
    for source in sorted(CLICK_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "ngettext")
            ):
                args = [
                    a.value for a in node.args[:2] if isinstance(a, ast.Constant) and isinstance(a.value, str)
                ]
                if node.func.id == "_" and args:
                    yield args[0], None
                elif node.func.id == "ngettext" and len(args) == 2:
                    yield args[0], args[1]
    yield "required", None


def _fields(text: str) -> set[str]:
    names = {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}
    return {re.split(r"[.\[!]", n)[0] for n in names} | set(re.findall(r"%\((\w+)\)", text))


def test_every_click_message_has_a_chinese_translation() -> None:
    entries = {
        (msgid, plural): forms for msgid, plural, forms in clitext.read_po(clitext.PO_FILE.read_text("utf-8"))
    }
    messages = set(_click_messages())
    assert len(messages) > 60
    missing = [m for m in messages if not any(entries.get(m, []))]
    assert not missing, f"click messages without a translation in {clitext.PO_FILE.name}: {missing}"
    for (msgid, plural), forms in entries.items():
        if not msgid:
            continue
        allowed = _fields(msgid) | _fields(plural or "")
        for form in forms:  # a placeholder click does not pass would raise KeyError in .format()
            assert _fields(form) <= allowed, (msgid, form)
            assert form and not english_runs(form.replace("{", " ").replace("}", " ")), (msgid, form)
    assert entries[("", None)][0].count("nplurals=1")


def test_the_shipped_mo_is_the_compiled_po() -> None:
    assert clitext.MO_FILE.read_bytes() == clitext.build(), "run: python -m zhikong.clitext"
    with clitext.MO_FILE.open("rb") as f:
        catalogue = gettext.GNUTranslations(f)
    assert catalogue.gettext("Show this message and exit.") == "显示本帮助并退出。"
    assert catalogue.ngettext("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})", 5) == "多余的参数：{args}"  # fmt: skip
    assert catalogue.gettext("not in the catalogue") == "not in the catalogue"
    pyproject = (Path(clitext.__file__).parent / "pyproject.toml").read_text(encoding="utf-8")
    assert '"locale/*/LC_MESSAGES/*.mo"' in pyproject  # installed with the package


def test_compile_mo_reads_back_with_gettext(tmp_path: Path) -> None:
    po = 'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\nPlural-Forms: nplurals=1; plural=0;\\n"\n\n'
    po += '# a comment\nmsgid "a"\n"b"\nmsgstr "甲"\n"乙"\n\nmsgid "one"\nmsgid_plural "many"\nmsgstr[0] "多"\n\n'
    po += 'msgid "empty"\nmsgstr ""\n\nmsgid "tab\\tquote\\"\\n"\nmsgstr "制表\\t引号\\"\\n"\n'
    (tmp_path / "x.mo").write_bytes(clitext.compile_mo(clitext.read_po(po)))
    with (tmp_path / "x.mo").open("rb") as f:
        catalogue = gettext.GNUTranslations(f)
    assert catalogue.gettext("ab") == "甲乙"
    assert catalogue.ngettext("one", "many", 1) == catalogue.ngettext("one", "many", 7) == "多"
    assert catalogue.gettext("empty") == "empty"
    assert catalogue.gettext('tab\tquote"\n') == '制表\t引号"\n'


def test_every_click_module_using_gettext_is_routed() -> None:
    using = {
        f"click.{p.stem}" for p in CLICK_DIR.glob("*.py") if "from gettext import" in p.read_text("utf-8")
    }
    assert using <= set(clitext.CLICK_MODULES)
    for name in using - {"click._winconsole"}:
        assert sys.modules[name]._("path") == "路径", name  # type: ignore[attr-defined]


# -- dates ---------------------------------------------------------------------------------------------

FORMS = ["2026-03-05", "2026-3-5", "2026/3/5", "2026.3.5", "2026年3月5日", "2026年3月5号", "２０２６－０３－０５",
         "２０２６年３月５日", "２０２６/３/５", " 2026 年 3 月 5 日 ", "2026年03月05日"]  # fmt: skip
REFUSED = ["2026-02-30", "2026-13-01", "2026年2月29日", "2026-3/5", "26-3-5", "2026年3月", "昨天", "2026-03-05x",
           "20260305", "2026-3-5日"]  # fmt: skip


@pytest.mark.parametrize("text", FORMS)
def test_parse_day_accepts_the_ways_people_write_a_date(text: str) -> None:
    assert clitext.parse_day(text) == date(2026, 3, 5)


@pytest.mark.parametrize("text", REFUSED)
def test_parse_day_refuses_in_chinese(text: str) -> None:
    with pytest.raises(
        ValueError, match=re.escape("日期可以写成 2026-03-05、2026-3-5、2026/3/5、2026.3.5、2026年3月5日")
    ):
        clitext.parse_day(text)


def test_parse_day_says_which_day_does_not_exist() -> None:
    with pytest.raises(ValueError, match="没有这一天：“2026-02-30”（2026 年 2 月没有 30 日）"):
        clitext.parse_day("2026-02-30")
    assert clitext.parse_day("2028年2月29日") == date(2028, 2, 29)


DATE_OPTIONS = {
    ("center", "add", "--term-start"),
    ("search", "--from"),
    ("search", "--to"),
    ("paper", "add", "--date"),
    ("draft", "notice", "--date"),
    ("draft", "request", "--date"),
    ("draft", "issue", "--date"),
    ("handover", "create", "--as-of"),
    ("check", "--as-of"),
    ("score", "--as-of"),
}


def _date_options() -> set[tuple[str, ...]]:
    found = set()
    for path, command in clitext.walk(cli):
        for p in command.params:
            if isinstance(p, click.Option) and p.callback in (_day_option, _day_text_option):
                found.add((*path, p.opts[0]))
            elif (
                isinstance(p, click.Option)
                and "YYYY-MM-DD" in (p.help or "")
                and "名称" not in (p.help or "")
            ):
                found.add((*path, p.opts[0], "is a date but not parsed as one"))
    return found


def test_every_option_that_takes_a_date_reads_it_the_same_way() -> None:
    assert _date_options() == DATE_OPTIONS
    for *path, option in DATE_OPTIONS:
        param = next(p for p in _command(tuple(path)).params if option in p.opts)
        assert param.metavar == "日期" and "2026年3月5日" in (param.help or ""), (path, option)


@pytest.mark.parametrize("option", sorted(DATE_OPTIONS), ids=" ".join)
def test_every_date_option_refuses_an_impossible_day_naming_itself(option: tuple[str, ...]) -> None:
    *path, name = option
    result = invoke(CliRunner(), *path, name, "2026-02-30", expect=2)
    assert f"错误：'{name}' 的值不对：没有这一天：“2026-02-30”" in result.output, result.output
    assert "日期可以写成 2026-03-05、2026-3-5、2026/3/5、2026.3.5、2026年3月5日" in result.output
    _clean(result.output, " ".join(option))


def test_dates_on_the_command_line(run: Run, root: Path) -> None:
    for text in FORMS:
        assert "检查日期 2026-03-05" in run("check", "--as-of", text, expect=None).output, text
    run(
        "center",
        "add",
        "急诊质控中心",
        "--code",
        "JZ",
        "--host",
        "金乡县人民医院",
        "--term-start",
        "２０２５年１月２号",
    )
    assert "2025-01-02" in (root / "zhikong.toml").read_text(encoding="utf-8")
    found = run("search", "院感", "--from", "2026年1月1日", "--to", "2026/12/31", "--json", expect=None)
    assert found.exit_code == 0, found.output


# -- help layout in terminal columns -------------------------------------------------------------------


def test_wrap_counts_terminal_columns() -> None:
    assert clitext.width("a检索") == 5
    assert clitext.wrap("一二三四五", 4) == ["一二", "三四", "五"]
    assert clitext.wrap("检查 docx 和 libreoffice 文件", 12) == ["检查 docx 和", "libreoffice", "文件"]
    assert clitext.wrap("一二三，四五", 6) == ["一二", "三，四", "五"]  # a comma never starts a line
    assert clitext.wrap("标题  [必填]", 8) == ["标题", "[必填]"]


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "zhikong")
def test_help_lines_up_and_fits_80_columns(path: tuple[str, ...]) -> None:
    text = CliRunner().invoke(cli, [*path, "--help"], terminal_width=80).output
    assert all(clitext.width(line) <= 80 for line in text.splitlines()), text
    for section in re.split(r"\n(?=\S)", text):
        if not section.startswith(("选项：", "命令：")):
            continue
        columns = set()
        for line in section.splitlines()[1:]:
            m = re.match(r"(  \S(?:.*?\S)?)  +(?=\S)", line)
            if not line.startswith("   "):  # a term, and its description unless the term is too long
                if m:
                    columns.add(clitext.width(m[0]))
            elif line.strip():  # a continued description starts in the same column
                columns.add(clitext.width(line) - clitext.width(line.lstrip()))
        assert len(columns) <= 1, f"{columns}\n{section}"


# -- activity types in Chinese -------------------------------------------------------------------------


def test_search_type_takes_the_chinese_names(run: Run) -> None:
    from zhikong.cli import _TYPE_NAMES
    from zhikong.web.search import TYPE_LABEL

    assert {name: kind for kind, name in TYPE_LABEL.items()} == _TYPE_NAMES  # the web page's names
    for text, code in (("督查", "inspection"), ("督导", "inspection"), ("回头看", "follow_up"), ("例会", "meeting"),
                       ("inspection", "inspection"), ("Training", "training"), (" 培训 ", "training")):  # fmt: skip
        assert _activity_type_option(click.Context(cli), _command(("search",)).params[0], text) == code
    assert run("search", "院感", "--type", "督查", "--json").exit_code == 0
    refused = run("search", "院感", "--type", "开会吧", expect=2)
    assert "'--type' 的值不对：不认识的活动类型“开会吧”。可以写：会议、竞赛、学术交流、培训" in refused.output
    assert "--type 类型" in run("search", "--help").output


# -- settings files as Notepad saves them ------------------------------------------------------------------


def test_settings_saved_by_notepad_with_a_bom_or_in_gbk_are_read(root: Path, runner: CliRunner) -> None:
    settings = root / "zhikong.toml"
    text = settings.read_text(encoding="utf-8")
    for data in (b"\xef\xbb\xbf" + text.encode("utf-8"), text.encode("gbk")):
        settings.write_bytes(data)
        listed = runner.invoke(cli, ["--root", str(root), "center", "list"])
        assert listed.exit_code == 0, listed.output
        assert "护理质控中心" in listed.output


def test_a_toml_mistake_names_its_line_and_cause_in_chinese(root: Path, runner: CliRunner) -> None:
    settings = root / "zhikong.toml"
    lines = settings.read_text(encoding="utf-8").splitlines()
    county = next(i for i, line in enumerate(lines) if line.startswith("county"))
    lines[county] = "county = “金乡县”"
    settings.write_text("\n".join(lines) + "\n", encoding="utf-8")
    refused = runner.invoke(cli, ["--root", str(root), "center", "list"])
    assert refused.exit_code != 0
    assert f"第 {county + 1} 行：引号不能用中文引号" in refused.output and "Unexpected" not in refused.output


# -- filters in the secretary's words ------------------------------------------------------------------------


def test_ls_and_search_take_chinese_states_relative_years_and_name_a_misspelt_center(run: Run) -> None:
    this_year = date.today().year
    assert run("ls", "--state", "已删除", "--json").exit_code == 0
    assert run("ls", "--state", "现存").exit_code == 0
    assert run("ls", "--year", "去年", "--json").exit_code == 0
    assert run("ls", "--year", f"{this_year}年").exit_code == 0
    assert run("check", "--year", "今年", "--json", expect=None).exit_code in (0, 1)  # 1: findings
    bad_state = run("ls", "--state", "丢了", expect=2)
    assert "状态只能是 现存（active）或 已删除（deleted）" in bad_state.output
    bad_year = run("ls", "--year", "明年后", expect=2)
    assert "年度应写成四位数字" in bad_year.output
    misspelt = run("ls", "--center", "护理质控", expect=2)
    assert "没有登记这个质控中心：护理质控" in misspelt.output and "是不是：护理质控中心" in misspelt.output
    unknown = run("search", "督查", "--center", "未登记的中心", expect=2)
    assert "已登记：护理质控中心、院感质控中心" in unknown.output


# -- progress on long work -----------------------------------------------------------------------------------


def _on_a_terminal(root: Path, *args: str) -> str:
    """What `zhikong --root ROOT ARGS` shows on a pseudo-terminal (stdout and stderr together)."""
    import pty

    command = [sys.executable, "-m", "zhikong.cli", "--root", str(root), *args]
    leader, follower = pty.openpty()
    proc = subprocess.Popen(command, stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(120)
    os.close(leader)
    shown = seen.decode("utf-8", "replace")
    assert proc.returncode == 0, shown
    return shown


def test_long_work_shows_its_progress_on_a_terminal_only(root: Path, tmp_path: Path) -> None:
    """A pseudo-terminal gets a line that updates itself (登记 n/总数, 重建索引 n/总数, 计算校验和 and 核验校验和
    n/总数 for a handover); a pipe, --json or --quiet gets none."""
    folder = root / "护理质控中心" / "2026" / "2026-03-15 第一次工作会议"
    folder.mkdir(parents=True)
    for i in range(60):
        (folder / f"记录{i:02d}.txt").write_text(f"第 {i} 份会议记录。" * 50, encoding="utf-8")
    shown = _on_a_terminal(root, "scan")
    assert re.search(r"登记 \d+/60", shown) and "新增 60" in shown
    assert re.search(r"重建索引 \d+/60", _on_a_terminal(root, "reindex"))
    bundle = tmp_path / "移交包"
    created = _on_a_terminal(
        root,
        "handover",
        "create",
        "--center",
        "护理质控中心",
        "--to",
        "金乡县第二人民医院",
        "--out",
        str(bundle),
    )
    assert re.search(r"计算校验和 \d+/\d+", created) and "移交包指纹" in created
    if libreoffice.available():  # the PDF compilation's layouts, counted as LibreOffice writes them
        assert re.search(r"转换为 PDF \d+/60", created)
    assert re.search(r"自 \d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d:\d\d 起", created)  # not ISO 8601
    from docx import Document

    (seal_record,) = bundle.rglob("*封存记录*.docx")
    seal_text = "\n".join(p.text for p in Document(str(seal_record)).paragraphs)
    assert re.search(r"封存时间：\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d:\d\d", seal_text), seal_text
    verified = _on_a_terminal(root, "handover", "verify", str(bundle))
    assert re.search(r"核验校验和 \d+/\d+", verified) and "核验通过" in verified

    for i in range(30):
        (folder / f"补充{i:02d}.txt").write_text(f"补充记录 {i}。" * 50, encoding="utf-8")
    base = [sys.executable, "-m", "zhikong.cli", "--root", str(root)]
    piped = subprocess.run([*base, "scan"], capture_output=True, text=True, check=True)
    assert "新增 30" in piped.stdout and "登记 " not in piped.stderr  # no terminal: no progress line
    piped = subprocess.run(
        [*base, "handover", "verify", str(bundle)], capture_output=True, text=True, check=True
    )
    assert "核验通过" in piped.stdout and "核验校验和 " not in piped.stderr
    quiet = _on_a_terminal(root, "reindex", "--quiet")
    assert "索引已重建" in quiet and "重建索引 " not in quiet


def test_activities_take_the_day_as_people_write_it(run: Run, root: Path) -> None:
    """--activity "2026年3月15日 第一次工作会议" (or 2026/3/15, 2026.3.15, with or without a space) is the
    activity 2026-03-15 第一次工作会议; a name without a day is refused in Chinese."""
    inbox = root / "护理质控中心" / "收件箱"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "签到表.txt").write_text("第一次工作会议签到表", encoding="utf-8")
    run("scan")
    for written in (
        "2026年3月15日 第一次工作会议",
        "2026/3/15第一次工作会议",
        "２０２６.３.１５ 第一次工作会议",
    ):
        done = run("classify", "护理质控中心/收件箱/签到表.txt", "--activity", written)
        assert "2026-03-15 第一次工作会议" in done.output, done.output
    bad = run("classify", "护理质控中心/收件箱/签到表.txt", "--activity", "第一次工作会议", expect=2)
    assert "看不懂的活动“第一次工作会议”" in bad.output and "2026-03-05 院感督导" in bad.output
    assert clitext.parse_activity("2026年3月5日院感督导") == "2026-03-05 院感督导"
    with pytest.raises(ValueError, match="没有这一天"):
        clitext.parse_activity("2026-2-30 院感督导")
