"""`kill -9` at random moments, over and over: scans, watchers, approvals and imports. After every kill the
next ordinary command finishes or undoes what was cut short, and `zhikong doctor` finds catalogue,
preserved copies, search index, folder and audit chain in agreement; no document number is given twice
or skipped. The figures (kills, drifts, losses) are printed for the closing note."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import Run, as_json, invoke

from zhikong.archive.samplefiles import make_docx

SEED = int(os.environ.get("ZHIKONG_KILL_SEED", "20261130"))
KILLS = 56  # rounds go on until this many runs were killed while still working
MAX_ROUNDS = 40
BODY = "经研究，决定召开会议。"


def start(root: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "zhikong.cli", "--root", str(root), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def kill_later(proc: subprocess.Popen[bytes], delay: float) -> bool:
    """SIGKILL the process (and what it started) after `delay` s; True if it was still running."""
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    alive = proc.poll() is None
    if alive:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return alive


def new_files(root: Path, n: int, tag: str) -> None:
    for i in range(n):
        make_docx(
            root / f"护理质控中心/2026/2026-03-{1 + i % 28:02} 督查{tag}/材料{i}.docx",
            f"{tag}材料{i}",
            [f"第{i}份压疮风险评估材料，批次{tag}。"],
        )


def healthy(runner: CliRunner, root: Path) -> None:
    """What must hold after the next ordinary command: the doctor finds nothing."""
    out = invoke(runner, "--root", str(root), "doctor", expect=None)
    assert out.exit_code == 0, out.output


def test_random_kills_lose_nothing(root: Path, run: Run, runner: CliRunner, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    body = tmp_path / "正文.txt"
    body.write_text(BODY, encoding="utf-8")
    # a center to hand over, once, for the imports to be killed
    new_files(root, 30, "移交")
    for i in range(30):
        make_docx(root / f"院感质控中心/2026/2026-05-10 院感防控督查/记录{i}.docx", f"记录{i}", ["院感。"])
    run("scan")
    bundle = tmp_path / "移交包"
    run("handover", "create", "--center", "院感质控中心", "--to", "金乡县第二人民医院", "--out", str(bundle))

    kills = {"scan": 0, "watch": 0, "approve": 0, "import": 0}
    runs = dict.fromkeys(kills, 0)
    drafted = 0
    for round_no in range(MAX_ROUNDS):
        if sum(kills.values()) >= KILLS:
            break
        for kind in kills:
            runs[kind] += 1
            tag = f"{round_no}{kind}"
            if kind == "scan":
                new_files(root, 20, tag)
                proc = start(root, "scan")
            elif kind == "watch":
                proc = start(root, "watch", "--stable", "0.2")
                time.sleep(rng.uniform(0.3, 0.9))
                new_files(root, 8, tag)
            elif kind == "approve":
                run("draft", "notice", "--center", "护理质控中心", "--title", f"关于第{tag}次会议的通知",
                    "--to", "各医疗机构", "--body", str(body), "--date", "2026-03-05")  # fmt: skip
                drafted += 1
                proc = start(root, "draft", "approve", str(drafted), "--by", "医政科")
            else:
                target = tmp_path / f"接收{round_no}"
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "zhikong.cli",
                        "--root",
                        str(target),
                        "handover",
                        "import",
                        str(bundle),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            # a new process needs about half a second to start working: most kills land in the work
            kills[kind] += kill_later(proc, rng.uniform(0.3, 1.1))

            if kind == "import":
                # an interrupted import resumes or rolls back: running it again ends in a whole archive
                again = invoke(runner, "--root", str(target), "handover", "import", str(bundle), expect=None)
                assert again.exit_code in (0, 9), again.output
                healthy(runner, target)
                assert len(as_json(invoke(runner, "--root", str(target), "ls", "--json"))) == 30
            else:
                run("scan")  # the next ordinary command finishes what was cut short
                healthy(runner, root)

        drafts = as_json(run("draft", "list", "--json"))
        numbers = sorted(d["number"] for d in drafts if d["number"] is not None)
        assert numbers == list(range(1, len(numbers) + 1))  # none twice, none skipped
        assert all(d["record_id"] for d in drafts if d["number"] is not None)  # every final filed

    total = sum(kills.values())
    print(f"\nkills (seed {SEED}): {kills} of {runs} runs, {total} in all; losses 0, drifts 0")
    assert total >= KILLS, kills


@pytest.mark.parametrize("kind", ["scan"])
def test_the_kill_helper_really_kills(root: Path, kind: str) -> None:
    new_files(root, 60, "慢")
    proc = start(root, kind)
    assert kill_later(proc, 0.3) and proc.returncode == -signal.SIGKILL
