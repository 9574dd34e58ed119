"""Commands racing each other as real processes, the way a county server and a secretary's own
command line will: each one completes, waits its turn, or refuses in Chinese with exit code 9 — never a
traceback, never "database is locked", never a number given twice or a file catalogued twice."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from conftest import Run, as_json, watch_started

from zhikong.archive.samplefiles import make_docx

MEETING = "护理质控中心/2026/2026-03-15 第一次工作会议"
BODY = "为加强护理质量管理，决定召开会议。现将有关事项通知如下：\n一、会议时间\n（一）时间。3月15日上午。"


def start(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "zhikong.cli", "--root", str(root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(procs: list[subprocess.Popen[str]], timeout: float = 240) -> list[tuple[int, str]]:
    done = []
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        done.append((p.returncode, out + err))
    return done


def assert_clean(results: list[tuple[int, str]], allowed: frozenset[int] = frozenset({0, 9})) -> None:
    for code, output in results:
        assert code in allowed, output
        assert "Traceback" not in output and "database is locked" not in output, output
        if code == 9:
            assert "错误：" in output, output


def files(root: Path, n: int, folder: str = MEETING, stem: str = "材料") -> None:
    for i in range(n):
        make_docx(root / folder / f"{stem}{i:03}.docx", f"{stem}{i}", [f"第{i}份压疮风险评估材料。"])


def assert_catalogued_once(run: Run, expected: int) -> None:
    records = as_json(run("ls", "--json"))
    paths = Counter(r["path"] for r in records if r["state"] == "active")
    assert len(paths) == expected and set(paths.values()) == {1}
    adds = [e for e in as_json(run("log", "--limit", "100000", "--json")) if e["action"] == "add"]
    assert len(adds) == expected
    assert "审计日志完整" in run("log", "verify").output


def test_two_scans_at_once(root: Path, run: Run) -> None:
    files(root, 80)
    results = finish([start(root, "scan", "--json") for _ in range(3)])
    assert_clean(results)
    assert sum(as_json_text(out)["added"] for code, out in results if code == 0) == 80
    assert_catalogued_once(run, 80)
    assert len(as_json(run("search", "压疮风险评估", "--limit", "100", "--json"))) == 80


def as_json_text(output: str) -> dict[str, int]:
    import json

    return json.loads(output[output.index("{") : output.rindex("}") + 1])


def test_scan_reindex_and_handover_while_watch_ingests(root: Path, run: Run, tmp_path: Path) -> None:
    watcher = start(root, "watch", "--stable", "0.3")
    try:
        deadline = time.monotonic() + 60
        while not watch_started(root):
            assert time.monotonic() < deadline, "watch did not start"
            time.sleep(0.05)
        files(root, 60)
        files(root, 20, folder="院感质控中心/2026/2026-05-10 院感防控督查", stem="督查")
        racing = [
            start(root, "scan"),
            start(root, "reindex"),
            start(
                root,
                "handover",
                "create",
                "--center",
                "院感质控中心",
                "--to",
                "金乡县中医院",
                "--out",
                str(tmp_path / "移交包"),
            ),
            start(root, "scan"),
        ]
        assert_clean(finish(racing))
        deadline = time.monotonic() + 90
        while len(as_json(run("ls", "--json"))) < 80:
            assert time.monotonic() < deadline, "watch did not catalogue every file"
            time.sleep(0.2)
    finally:
        watcher.send_signal(signal.SIGTERM)
        out, err = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, out + err
    assert "Traceback" not in out + err and "database is locked" not in out + err
    run("scan")
    assert_catalogued_once(run, 80)
    assert len(as_json(run("search", "压疮风险评估", "--limit", "100", "--json"))) == 80


def test_parallel_approvals_never_share_a_number(root: Path, run: Run, tmp_path: Path) -> None:
    body = tmp_path / "正文.txt"
    body.write_text(BODY, encoding="utf-8")
    for i in range(20):
        run("draft", "notice", "--center", "护理质控中心", "--title", f"关于召开第{i + 1}次护理质控会议的通知",
            "--to", "各医疗机构", "--body", str(body), "--date", "2026-03-05")  # fmt: skip
    # drafts 1–20 once each, and draft 1 four times more: 25 processes at once
    ids = [*range(1, 21), 1, 1, 1, 1]
    results = finish([start(root, "draft", "approve", str(i), "--by", "医政科") for i in ids])
    assert_clean(results)
    assert sorted(code for code, _ in results) == [0] * 20 + [9] * 4
    drafts = as_json(run("draft", "list", "--json"))
    assert sorted(d["number"] for d in drafts) == list(range(1, 21))
    assert len({d["doc_number"] for d in drafts}) == 20
    assert len({d["final_path"] for d in drafts}) == 20
    assert_catalogued_once(run, 20)
