"""History that is rewritten consistently — a chain re-hashed after an edit, the catalogue edited behind the
log's back — is caught by `log verify`: the chain is replayed against the catalogue, and an anchor kept
outside the machine (`zhikong log anchor`) proves the chain still extends what was written down."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Run

from zhikong.archive import audit
from zhikong.archive.samplefiles import make_docx
from zhikong.errors import ExitCode

MEETING = "护理质控中心/2026/2026-03-15 第一次工作会议"
FAILED = int(ExitCode.VERIFY_FAILED)


@pytest.fixture
def history(root: Path, run: Run, tmp_path: Path) -> Path:
    """Three files, one changed and one deleted, one approved notice: a little of everything."""
    for name in ("会议通知", "签到表", "会议纪要"):
        make_docx(root / MEETING / f"{name}.docx", name, [f"{name}的内容。"])
    run("scan")
    make_docx(root / MEETING / "会议纪要.docx", "会议纪要（修订）", ["改过的内容。"])
    (root / MEETING / "签到表.docx").unlink()
    run("scan")
    body = tmp_path / "正文.txt"
    body.write_text("经研究，决定召开会议。", encoding="utf-8")
    run("draft", "notice", "--center", "护理质控中心", "--title", "关于召开会议的通知", "--to", "各医疗机构",
        "--body", str(body), "--date", "2026-03-05")  # fmt: skip
    run("draft", "approve", "1", "--by", "医政科")
    assert "与档案目录逐条对照一致" in run("log", "verify").output
    return root / ".zhikong" / "catalogue.sqlite"


def rewrite(db: Path, change: Callable[[list[list[object]]], list[list[object]]]) -> None:
    """Edit the log as a forger would, then re-hash the whole chain and move the head: the chain alone
    verifies again."""
    conn = sqlite3.connect(db, isolation_level=None)
    cols = "seq, ts, action, center, path, detail, prev, hash, actor"
    rows = [list(r) for r in conn.execute(f"SELECT {cols} FROM audit ORDER BY seq")]
    rows = change(rows)
    conn.execute("DELETE FROM audit")
    prev = audit.GENESIS
    for seq, row in enumerate(rows, 1):
        row[0], row[6] = seq, prev
        row[7] = prev = audit._digest(seq, *row[1:6], prev, row[8])  # type: ignore[arg-type]
        conn.execute(f"INSERT INTO audit ({cols}) VALUES (?,?,?,?,?,?,?,?,?)", row)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'", (f"{len(rows)}:{prev}",))
    if not rows:
        conn.execute("DELETE FROM meta WHERE key = 'audit_head'")
    conn.close()


def test_a_removed_entry_with_the_chain_rehashed_is_caught(history: Path, run: Run) -> None:
    anchor = run("log", "anchor").output.split("锚点：")[1].split()[0]
    rewrite(history, lambda rows: [r for r in rows if r[2] != "delete"])
    out = run("log", "verify", expect=FAILED).output
    assert "没有删除记录" in out
    out = run("log", "verify", "--anchor", anchor, expect=FAILED).output
    assert "锚点所记的第" in out or "与锚点不符" in out  # the anchor's entry is gone or different


def test_a_forged_approval_is_caught(history: Path, run: Run) -> None:
    def forge(rows: list[list[object]]) -> list[list[object]]:
        approval = next(r for r in rows if r[2] == "draft.approve")
        detail = json.loads(str(approval[5]))
        detail["doc_number"] = "金卫健字〔2026〕500号"
        return [
            *rows,
            [0, approval[1], "draft.approve", approval[3], approval[4], json.dumps(detail), "", "", "医政科"],
        ]

    rewrite(history, forge)
    assert "500号 在目录中没有对应公文" in run("log", "verify", expect=FAILED).output


def test_a_cut_tail_and_an_emptied_log_are_caught(history: Path, run: Run) -> None:
    anchor = run("log", "anchor").output.split("锚点：")[1].split()[0]
    rewrite(history, lambda rows: rows[:3])
    assert "没有登记" in run("log", "verify", expect=FAILED).output
    assert "截断或清空" in run("log", "verify", "--anchor", anchor, expect=FAILED).output
    rewrite(history, lambda rows: [])
    out = run("log", "verify", expect=FAILED).output
    assert "在审计日志中没有登记" in out and "没有批准记录" in out


GONE = "(SELECT id FROM records WHERE state = 'deleted')"
NOTICE = "(SELECT id FROM records WHERE path LIKE '%会议通知.docx')"


@pytest.mark.parametrize(
    ("edits", "said"),
    [
        ([f"DELETE FROM texts WHERE record_id = {NOTICE}", f"DELETE FROM versions WHERE record_id = {NOTICE}",
          f"DELETE FROM records WHERE id = {NOTICE}"], "在目录中不存在"),
        (["UPDATE versions SET sha256 = 'ab' || substr(sha256, 3) WHERE version = 1"], "没有登记"),
        ([f"DELETE FROM texts WHERE record_id IN {GONE}", f"DELETE FROM versions WHERE record_id IN {GONE}",
          "DELETE FROM records WHERE state = 'deleted'"], "在目录中不存在"),
    ],
    ids=["record-removed-with-its-file", "checksum-changed", "deleted-record-erased"],
)  # fmt: skip
def test_catalogue_edits_behind_the_logs_back_are_caught(
    history: Path, run: Run, edits: list[str], said: str
) -> None:
    conn = sqlite3.connect(history, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = OFF")
    for sql in edits:
        conn.execute(sql)
    conn.close()
    assert said in run("log", "verify", expect=FAILED).output


def test_the_anchor_is_written_for_the_bureau_and_verifies(history: Path, run: Run, tmp_path: Path) -> None:
    out = tmp_path / "锚点.txt"
    printed = run("log", "anchor", "--out", str(out)).output
    head = printed.split("锚点：")[1].split()[0]
    assert out.read_bytes().startswith(b"\xef\xbb\xbf") and head in out.read_text(encoding="utf-8-sig")
    make_docx(history.parent.parent / MEETING / "补充.docx", "补充材料", ["后来的文件。"])
    run("scan")  # the chain grows after the anchor: it still extends it
    assert "锚点之前没有被改写" in run("log", "verify", "--anchor", head).output
    assert "锚点应写成" in run("log", "verify", "--anchor", "12:abc", expect=FAILED).output


def test_the_check_report_and_the_score_form_carry_the_anchor(
    history: Path, run: Run, tmp_path: Path
) -> None:
    from docx import Document

    head = run("log", "verify").output.split("当前链头（锚点）：")[1].split()[0]
    run("check", "--out", str(tmp_path / "检查报告.docx"), expect=None)
    run("score", "--center", "护理质控中心", "--out", str(tmp_path / "评分表.docx"))
    for name in ("检查报告.docx", "评分表.docx"):
        text = "\n".join(p.text for p in Document(str(tmp_path / name)).paragraphs)
        assert f"zhikong log verify --anchor {head}" in text, name
