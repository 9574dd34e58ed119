"""Shared fixtures: a fresh archive made through the real commands, and a runner bound to it."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from zhikong.cli import cli

Run = Callable[..., Result]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def invoke(runner: CliRunner, *args: str, expect: int | None = 0) -> Result:
    result = runner.invoke(cli, list(args), catch_exceptions=False)
    if expect is not None:
        assert result.exit_code == expect, f"exit {result.exit_code}:\n{result.output}"
    return result


@pytest.fixture
def root(tmp_path: Path, runner: CliRunner) -> Path:
    """An archive with two centers, made by `zhikong init` and `zhikong center add`."""
    root = tmp_path / "档案库"
    invoke(
        runner,
        "init",
        str(root),
        "--county",
        "金乡县",
        "--bureau",
        "金乡县卫生健康局",
        "--doc-prefix",
        "金卫健字",
        "--fonds",
        "Z109",
    )
    invoke(
        runner,
        "--root",
        str(root),
        "center",
        "add",
        "护理质控中心",
        "--code",
        "HL",
        "--host",
        "金乡县人民医院",
        "--director",
        "王秀英",
        "--deputy",
        "李红梅",
        "--deputy",
        "赵静",
        "--secretary",
        "刘敏",
    )
    invoke(
        runner, "--root", str(root), "center", "add", "院感质控中心", "--code", "GR", "--host", "金乡县中医院"
    )
    return root


@pytest.fixture
def run(runner: CliRunner, root: Path) -> Run:
    """`run("scan", "--json")` runs zhikong against the fixture archive; `expect=None` skips the exit check."""

    def _run(*args: str, expect: int | None = 0) -> Result:
        return invoke(runner, "--root", str(root), *args, expect=expect)

    return _run


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


def watch_started(root: Path) -> bool:
    """True once `zhikong watch` has logged that it follows events (after its start-up reconcile)."""
    log = root / ".zhikong" / "logs" / "watch.log"
    return log.exists() and "开始监视" in log.read_text(encoding="utf-8")


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """`tmpfs(20)` mounts a real 20 MB file system and returns it, so a disk really fills. Needs root
    (as CI has); skips the test elsewhere. Unmounted when the test ends."""
    mounted: list[Path] = []

    def mount(size_mb: int) -> Path:
        point = tmp_path / f"小磁盘{len(mounted)}"
        point.mkdir()
        made = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(point)],
            capture_output=True,
            check=False,
        )
        if made.returncode != 0:
            pytest.skip("cannot mount a small tmpfs here (needs root)")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


@pytest.fixture
def site(root: Path, runner: CliRunner) -> Iterator[Any]:
    """The fixture archive served to Django's test client (webtools.Site)."""
    from webtools import served

    with served(root, runner) as s:
        yield s


def cjk_font() -> str:
    """A CJK font file of this machine (fc-list); the test is skipped without one."""
    try:
        out = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, check=False
        ).stdout
    except FileNotFoundError:
        out = ""
    fonts = sorted(
        line.split(":")[0] for line in out.splitlines() if "Regular" in line or "zenhei" in line.lower()
    )
    if not fonts:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    return fonts[0]


def photo_of_paper(path: Path, lines: list[str]) -> Path:
    """A picture of a paper with `lines` on it, drawn with Pillow in a CJK font (what OCR must find is
    known exactly)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(cjk_font(), 40)
    img = Image.new("RGB", (1000, 80 + 70 * len(lines)), "white")
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((40, 40 + 70 * i), line, fill="black", font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)  # the suffix decides: .jpg is a phone photo, .pdf a scan with no text layer
    return path


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's Chromium under Selenium at 1366×768 (tests/browsertools.py)."""
    from browsertools import chromium

    with chromium() as driver:
        yield driver
