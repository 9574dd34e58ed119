"""Interrupted work is finished or undone, never left half-way: an approval killed at any point, and (below)
scans, watchers, approvals and imports killed at random moments while the catalogue, the index, the
preserved copies and the audit chain are checked after every kill."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Run, as_json

from zhikong.archive import drafts

BODY = "经研究，决定召开会议。"


def _draft(run: Run, tmp_path: Path) -> None:
    body = tmp_path / "正文.txt"
    body.write_text(BODY, encoding="utf-8")
    run("draft", "notice", "--center", "护理质控中心", "--title", "关于召开会议的通知", "--to", "各医疗机构",
        "--body", str(body), "--date", "2026-03-05")  # fmt: skip


def _finals(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("金卫健字*") if ".zhikong" not in p.parts)


@pytest.mark.parametrize("killed_at", ["rename", "catalogue"])
def test_an_approval_killed_after_it_committed_is_finished_by_the_next_scan(
    root: Path, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, killed_at: str
) -> None:
    _draft(run, tmp_path)

    def killed(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt  # the process dies here: nothing after this line runs

    # "rename": killed after COMMIT, before the final is put in place; "catalogue": after that
    monkeypatch.setattr(drafts, "file_final" if killed_at == "rename" else "_catalogue_final", killed)
    run("draft", "approve", "1", "--by", "医政科", expect=130)
    monkeypatch.undo()
    state = as_json(run("draft", "list", "--json"))[0]
    assert state["state"] == "approved" and state["doc_number"] == "金卫健字〔2026〕1号"
    # killed before the rename: no numbered final may exist yet; after it: it is there, uncatalogued
    assert len(_finals(root)) == (0 if killed_at == "rename" else 1)

    run("scan")
    (final,) = _finals(root)
    record = next(r for r in as_json(run("ls", "--json")) if r["path"] == state["final_path"])
    assert final.relative_to(root).as_posix() == state["final_path"]
    assert record["category"] == "通知" and record["doc_number"] == "金卫健字〔2026〕1号"
    assert as_json(run("draft", "list", "--json"))[0]["record_id"] == record["id"]
    assert "与档案目录逐条对照一致" in run("log", "verify").output
    # the next approval takes the next number: nothing was given twice, nothing skipped
    _draft(run, tmp_path)
    run("draft", "approve", "2", "--by", "医政科")
    assert [d["number"] for d in as_json(run("draft", "list", "--json"))] == [1, 2]


def test_an_approval_killed_before_it_committed_leaves_nothing(
    root: Path, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _draft(run, tmp_path)

    def killed(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(drafts.audit, "append", killed)
    run("draft", "approve", "1", "--by", "医政科", expect=130)
    monkeypatch.undo()
    assert as_json(run("draft", "list", "--json"))[0]["state"] == "submitted"
    assert _finals(root) == [] and not list(root.rglob("*.docx.tmp"))
    run("draft", "approve", "1", "--by", "医政科")
    assert as_json(run("draft", "list", "--json"))[0]["number"] == 1
