"""`zhikong watch` as a real process: stability, bursts, bad files, polling, clean stop, kill -9."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import Run, as_json, invoke, watch_started

from zhikong.archive.samplefiles import make_docx

MEETING = "护理质控中心/2026/2026-03-15 第一次工作会议"


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def active_count(root: Path) -> int:
    db = sqlite3.connect(root / ".zhikong" / "catalogue.sqlite", timeout=30)
    try:
        return int(db.execute("SELECT COUNT(*) FROM records WHERE state = 'active'").fetchone()[0])
    finally:
        db.close()


def start_watch(root: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zhikong.cli",
            "--root",
            str(root),
            "watch",
            "--stable",
            "0.5",
            "--rescan",
            "30",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def watching(root: Path) -> Iterator[subprocess.Popen[bytes]]:
    proc = start_watch(root)
    wait_for(lambda: watch_started(root), what="watcher start")
    yield proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)


def test_file_copied_slowly_is_taken_once_complete(
    root: Path, run: Run, watching: subprocess.Popen[bytes]
) -> None:
    target = root / MEETING / "课件.pptx"
    target.parent.mkdir(parents=True)
    chunks = [os.urandom(64 * 1024) for _ in range(8)]
    with target.open("wb") as fh:
        for chunk in chunks:  # a slow copy: 8 pieces over ~2.4 s, longer than the 0.5 s stability window
            fh.write(chunk)
            fh.flush()
            time.sleep(0.3)
    expected = hashlib.sha256(b"".join(chunks)).hexdigest()
    wait_for(lambda: active_count(root) == 1, what="the copied file")
    rec = as_json(run("ls", "--json"))[0]
    assert rec["sha256"] == expected and rec["version"] == 1 and rec["size"] == 8 * 64 * 1024


def test_burst_of_500_files_and_a_bad_file_do_not_stop_the_watcher(
    root: Path, run: Run, watching: subprocess.Popen[bytes]
) -> None:
    inbox = root / "护理质控中心" / "收件箱"
    (inbox / "损坏.docx").write_bytes(b"PK\x03\x04 not really a zip")
    (inbox / "加密.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Encrypt 2 0 R >>\n%%EOF")
    for i in range(500):
        (inbox / f"签到表{i:03d}.txt").write_text(f"第{i}份签到表 张三", encoding="utf-8")
    wait_for(lambda: active_count(root) == 502, timeout=60, what="502 records")
    assert watching.poll() is None
    bad = {r["path"]: r for r in as_json(run("ls", "--json"))}["护理质控中心/收件箱/损坏.docx"]
    assert bad["extract_status"] == "unreadable" and bad["extract_reason"]
    make_docx(root / MEETING / "会议通知.docx", "关于召开会议的通知", ["各单位："])
    wait_for(lambda: active_count(root) == 503, what="a file after the bad ones")


def test_moves_and_deletes_under_watch(root: Path, run: Run, watching: subprocess.Popen[bytes]) -> None:
    folder = root / "护理质控中心/2026/2026-05-10 护理督查"
    folder.mkdir(parents=True)
    for i in range(20):
        (folder / f"督查记录{i}.txt").write_text(f"记录{i}", encoding="utf-8")
    wait_for(lambda: active_count(root) == 20, what="20 records")
    ids = {r["sha256"]: r["id"] for r in as_json(run("ls", "--json"))}
    folder.rename(folder.with_name("2026-05-11 护理质量督查"))
    (root / "护理质控中心/收件箱/临时.txt").write_text("临时", encoding="utf-8")

    def moved() -> bool:
        recs = [r for r in as_json(run("ls", "--json", "--state", "active")) if "督查记录" in r["path"]]
        return len(recs) == 20 and all("2026-05-11 护理质量督查" in r["path"] for r in recs)

    wait_for(moved, what="the renamed folder")
    after = {
        r["sha256"]: r["id"] for r in as_json(run("ls", "--json", "--state", "active")) if "督查" in r["path"]
    }
    assert after == ids
    wait_for(lambda: active_count(root) == 21, what="the new file beside the move")
    (root / "护理质控中心/收件箱/临时.txt").unlink()
    wait_for(lambda: len(as_json(run("ls", "--json", "--state", "deleted"))) == 1, what="the deletion")


def test_sigterm_stops_cleanly_and_logs(root: Path, watching: subprocess.Popen[bytes]) -> None:
    (root / "护理质控中心/收件箱/a.txt").write_text("a", encoding="utf-8")
    wait_for(lambda: active_count(root) == 1, what="one record")
    watching.send_signal(signal.SIGTERM)
    out, _ = watching.communicate(timeout=15)
    assert watching.returncode == 0
    assert "已停止监视" in out.decode("utf-8")
    log = (root / ".zhikong" / "logs" / "watch.log").read_text(encoding="utf-8")
    assert "开始监视" in log and "停止监视" in log


def test_poll_mode_catches_files(root: Path) -> None:
    proc = start_watch(root, "--poll")
    try:
        (root / "护理质控中心/收件箱/共享盘.txt").write_text("网络共享盘上的文件", encoding="utf-8")
        wait_for(lambda: active_count(root) == 1, what="polled file")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    assert proc.returncode == 0


def test_kill_9_mid_ingest_then_restart_leaves_a_consistent_catalogue(root: Path, runner: CliRunner) -> None:
    inbox = root / "护理质控中心" / "2026" / "2026-06-01 院感培训"
    files = [make_docx(inbox / f"培训课件{i:03d}.docx", f"培训{i}", [f"第{i}讲 " * 200]) for i in range(300)]
    proc = start_watch(root)
    try:
        wait_for(lambda: active_count(root) > 0, timeout=60, what="the first committed batch")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        at_kill = active_count(root)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert 0 < at_kill < 300, f"kill landed outside the ingest ({at_kill} records)"
    data = as_json(invoke(runner, "--root", str(root), "scan", "--json"))
    assert data["added"] == 300 - at_kill and data["errors"] == 0
    db = sqlite3.connect(root / ".zhikong" / "catalogue.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    paths = [r[0] for r in db.execute("SELECT path FROM records WHERE state = 'active'")]
    db.close()
    assert len(paths) == len(set(paths)) == 300
    assert sorted(paths) == sorted(p.relative_to(root).as_posix() for p in files)
    assert "哈希链校验通过" in invoke(runner, "--root", str(root), "log", "verify").output
