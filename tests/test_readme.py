"""The README's examples are run (as sqlite-utils tests its documentation): every `zhikong …` line of its
code blocks — Linux and Windows, Chinese and English parts — is a command and options the program takes,
and the 快速上手 block runs from start to end on a fresh archive, as a new user would type it."""

from __future__ import annotations

import re
import shlex
import warnings
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import photo_of_paper

from zhikong.cli import cli

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"^ *```(\w*)\n(.*?)^ *```", re.M | re.S)


def readme_commands() -> list[tuple[str, list[str]]]:
    """(the line as written, its arguments) for every line of a code block that runs zhikong."""
    found = []
    for kind, body in _BLOCK.findall(README.read_text(encoding="utf-8")):
        if kind not in ("", "bash", "bat", "cmd", "powershell"):
            continue
        windows = kind in ("bat", "cmd", "powershell")
        continuation = "^" if kind in ("bat", "cmd") else "`" if kind == "powershell" else "\\"
        text = body.replace(f"{continuation}\n", " ")
        for line in text.splitlines():
            line = line.strip()
            if not line.startswith("zhikong "):
                continue
            words = shlex.split(line.replace("\\", "\\\\") if windows else line, comments=not windows)
            # `[--date 2026-03-05]` marks an option one may leave out: checked as if given.
            args = [w.strip("[]") for w in words[1:] if w.strip("[]")]
            found.append((line, args))
    return found


def parse(args: list[str]) -> None:
    """Parse `zhikong ARGS` as click would before running anything: the commands exist, the options and
    their values (dates, choices, activities) are accepted. Raises click.UsageError otherwise."""
    command: click.Command = cli
    ctx = command.make_context("zhikong", list(args))
    while isinstance(command, click.Group) and _unparsed(ctx):
        rest = _unparsed(ctx)
        name, sub, rest = command.resolve_command(ctx, rest)
        assert sub is not None and name is not None
        command, ctx = sub, sub.make_context(name, rest, parent=ctx)


def _unparsed(ctx: click.Context) -> list[str]:
    """What a group leaves for its subcommand (click 8.2 keeps the subcommand's name apart and warns when
    `protected_args` is read; 9.0 will put everything in `args`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return [*ctx.protected_args, *ctx.args]


COMMANDS = readme_commands()


def test_the_readme_has_examples_for_most_commands() -> None:
    """The collector finds the blocks (a README rewritten into another layout must not make the test
    below check nothing)."""
    first_words = {args[0] for _line, args in COMMANDS if args and not args[0].startswith("-")}
    assert len(COMMANDS) >= 40
    assert {"init", "center", "scan", "search", "draft", "handover", "backup", "serve", "user"} <= first_words


@pytest.mark.parametrize(("line", "args"), COMMANDS, ids=[line[:60] for line, _args in COMMANDS])
def test_every_readme_command_is_accepted(line: str, args: list[str]) -> None:
    try:
        parse(args)
    except click.UsageError as exc:
        pytest.fail(f"README 里的命令用法不对：{line}\n{exc.format_message()}")


def _quick_start() -> list[tuple[str, list[str]]]:
    text = README.read_text(encoding="utf-8")
    start = text.index("## 快速上手")
    kind, body = _BLOCK.search(text, start).groups()  # type: ignore[union-attr]
    assert kind == "bash"
    commands = []
    for line in body.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words:
            commands.append((line, words))
    return commands


def test_the_quick_start_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """快速上手, line by line: `~` is a fresh home folder, `cd` changes the folder, and where the block says
    to put files in, the files its later lines name are put there (a meeting's minutes, a photo of a
    sign-in sheet in the inbox). `watch` runs until stopped, so it is parsed, not run."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("ZHIKONG_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    ran = []
    for line, words in _quick_start():
        words = [str(home) + w[1:] if w.startswith("~") else w for w in words]
        if words[0] == "cd":
            monkeypatch.chdir(words[1])
            continue
        assert words[0] == "zhikong", line
        if words[1] == "watch":
            parse(words[1:])
            continue
        if words[1] == "scan":
            _put_in_files(Path.cwd())
        result = runner.invoke(cli, words[1:], catch_exceptions=False)
        assert result.exit_code == 0, f"{line}\n退出码 {result.exit_code}：\n{result.output}"
        ran.append(words[1])
    assert ran[:3] == ["init", "center", "scan"] and {"classify", "restore", "log"} <= set(ran)
    listed = runner.invoke(cli, ["ls", "--center", "护理质控中心", "--category", "签到表"])
    assert "IMG_0001.jpg" in listed.output  # the classify line filed the photo


def _put_in_files(root: Path) -> None:
    from docx import Document

    meeting = root / "护理质控中心" / "2026" / "2026-03-15 第一次工作会议"
    meeting.mkdir(parents=True, exist_ok=True)
    doc = Document()
    doc.add_paragraph("第一次护理质控工作会议纪要")
    doc.add_paragraph("2026年3月15日，护理质控中心召开第一次工作会议。")
    doc.save(str(meeting / "会议纪要.docx"))
    inbox = root / "护理质控中心" / "收件箱"
    inbox.mkdir(parents=True, exist_ok=True)
    photo_of_paper(inbox / "IMG_0001.jpg", ["第一次工作会议签到表", "姓名 单位 签名"])
