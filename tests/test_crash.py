"""Interrupted work is finished or undone, never left half-way: an approval killed at any point, and (below)
scans, watchers, approvals and imports killed at random moments while the catalogue, the index, the
preserved copies and the audit chain are checked after every kill."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import Run, as_json, invoke

from zhikong.archive import drafts
from zhikong.archive.samplefiles import make_docx
from zhikong.errors import ExitCode

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


# -- the index follows the catalogue whatever happened between them ------------------------------------


def test_an_index_left_behind_by_a_killed_scan_is_repaired_by_the_next(
    root: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zhikong.app import IndexSink

    folder = root / "护理质控中心/2026/2026-03-15 第一次工作会议"
    make_docx(folder / "会议纪要.docx", "会议纪要", ["讨论了压疮风险评估。"])
    run("scan")

    def killed(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt  # dies after the catalogue committed, before the index did

    monkeypatch.setattr(IndexSink, "upsert", killed)
    (folder / "会议纪要.docx").rename(folder / "第一次会议纪要.docx")  # a move: stale path in the index
    make_docx(folder / "签到表.docx", "签到表", ["压疮专项签到。"])  # a new file: missing from the index
    run("scan", expect=130)
    monkeypatch.undo()
    paths = {r["path"] for r in as_json(run("ls", "--json")) if r["state"] == "active"}
    assert paths == {
        f"护理质控中心/2026/2026-03-15 第一次工作会议/{n}" for n in ("第一次会议纪要.docx", "签到表.docx")
    }
    found = {h["path"] for h in as_json(run("search", "压疮", "--json"))}
    assert found != paths  # the kill left the index behind the catalogue

    run("scan")  # nothing changed in the folder: the repair alone
    assert {h["path"] for h in as_json(run("search", "压疮", "--json"))} == paths


def test_a_document_of_a_record_that_never_committed_is_removed(root: Path, run: Run) -> None:
    from zhikong.app import Archive, index_doc, open_index

    make_docx(root / "护理质控中心/收件箱/说明.docx", "说明", ["导管滑脱防范。"])
    run("scan")
    record = Archive.open(root).records("测试").records[0]
    ghost = index_doc(record, "导管滑脱防范的幽灵记录。")
    index = open_index(Archive.open(root).settings())
    with index.writer() as batch:  # as a killed transaction would leave it: indexed, never catalogued
        batch.upsert(type(ghost)(**{**ghost.__dict__, "record_id": 9999, "path": "幽灵.docx"}))
    index.close()
    assert "幽灵.docx" in {h["path"] for h in as_json(run("search", "导管滑脱", "--json"))}
    run("scan")
    assert {h["path"] for h in as_json(run("search", "导管滑脱", "--json"))} == {record.path}


def test_a_scan_of_unchanged_files_leaves_the_index_closed_yet_finds_a_document_left_behind(
    root: Path, run: Run, tmp_path: Path
) -> None:
    import shutil
    import subprocess
    import sys

    folder = root / "护理质控中心/2026/2026-03-15 第一次工作会议"
    make_docx(folder / "会议纪要.docx", "会议纪要", ["讨论了导管滑脱防范。"])
    run("scan")
    run("scan")  # looks at the index the first scan wrote, finds nothing left behind, and notes it
    catalogue = root / ".zhikong/catalogue.sqlite"
    shutil.copy(catalogue, tmp_path / "before.sqlite")  # the connection is closed: no write-ahead log
    probe = (
        "import sys\nfrom click.testing import CliRunner\nfrom zhikong.cli import cli\n"
        f"r = CliRunner().invoke(cli, ['--root', {str(root)!r}, 'scan', '--json'])\n"
        "print(r.exit_code, 'whoosh' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0 False"  # nothing changed: the search engine is never loaded

    make_docx(folder / "签到表.docx", "签到表", ["导管滑脱专项签到。"])
    run("scan")
    # A catalogue restored from before that scan, and the file gone again: the index still holds the
    # document of a record the catalogue never had.
    shutil.copy(tmp_path / "before.sqlite", catalogue)
    (folder / "签到表.docx").unlink()
    kept = f"{folder.relative_to(root).as_posix()}/会议纪要.docx"
    assert {h["path"] for h in as_json(run("search", "导管滑脱", "--json"))} == {
        kept,
        f"{folder.relative_to(root).as_posix()}/签到表.docx",
    }
    run("scan")
    assert {h["path"] for h in as_json(run("search", "导管滑脱", "--json"))} == {kept}


# -- one file can never stall a scan ----------------------------------------------------------------------


def _nested_paragraphs_docx(path: Path, depth: int) -> None:
    """A 1 KB .docx whose paragraphs nest `depth` deep: walking it costs time quadratic in the depth."""
    import zipfile

    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    body = "<w:p>" * depth + "<w:r><w:t>深</w:t></w:r>" + "</w:p>" * depth
    types = (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override '
        'PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'wordprocessingml.document.main+xml"/></Types>'
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", types)
        z.writestr("word/document.xml", f'<w:document xmlns:w="{w}"><w:body>{body}</w:body></w:document>')


def test_a_file_that_takes_too_long_to_read_is_stopped_and_the_scan_goes_on(
    root: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setattr("zhikong.app.EXTRACT_TIMEOUT_S", 3.0)
    folder = root / "护理质控中心/2026/2026-03-15 第一次工作会议"
    _nested_paragraphs_docx(folder / "畸形.docx", 12_000)  # about 20 s to walk without a budget
    make_docx(folder / "会议纪要.docx", "会议纪要", ["讨论了压疮风险评估。"])
    started = time.monotonic()
    data = as_json(run("scan", "--json"))
    assert time.monotonic() - started < 15
    assert data["added"] == 2
    records = {r["path"].rsplit("/", 1)[1]: r for r in as_json(run("ls", "--json"))}
    assert records["畸形.docx"]["extract_status"] == "unreadable"
    assert "超过 3 秒，已停止" in records["畸形.docx"]["extract_reason"]
    assert records["会议纪要.docx"]["extract_status"] == "ok"
    assert as_json(run("search", "压疮", "--json"))[0]["path"].endswith("会议纪要.docx")


def test_a_named_pipe_in_the_folder_never_blocks_the_watcher_or_a_scan(root: Path, run: Run) -> None:
    import os

    from zhikong.archive.watcher import StabilityTracker

    fifo = root / "护理质控中心/收件箱/管道"
    os.mkfifo(fifo)
    tracker = StabilityTracker(0.0)
    tracker.note(fifo)
    assert tracker.ready() == [fifo]  # returned at once: never opened
    data = as_json(run("scan", "--json"))
    assert data["skipped"] == 1 and data["added"] == 0


# -- a full disk ------------------------------------------------------------------------------------------


def test_a_full_disk_is_a_chinese_error_and_the_failed_batch_leaves_no_copies(
    tmpfs: Callable[[int], Path], runner: CliRunner
) -> None:
    import os

    root = tmpfs(20) / "档案库"
    invoke(runner, "init", str(root), "--county", "金乡县", "--bureau", "金乡县卫生健康局",
           "--doc-prefix", "金卫健字", "--fonds", "Z109")  # fmt: skip
    invoke(runner, "--root", str(root), "center", "add", "护理质控中心", "--code", "HL", "--host", "人民医院")
    folder = root / "护理质控中心/2026/2026-03-15 第一次工作会议"
    folder.mkdir(parents=True)
    for i in range(3):  # 12 MB of files on a 20 MB disk: their copies cannot all fit
        (folder / f"录像{i}.mp4").write_bytes(os.urandom(4 * 2**20))
    failed = invoke(runner, "--root", str(root), "scan", expect=int(ExitCode.STORAGE))
    assert "磁盘已满" in failed.output and "MB" in failed.output and "Traceback" not in failed.output
    objects = root / ".zhikong" / "objects"
    assert not objects.exists() or not any(objects.rglob("*")) or all(p.is_dir() for p in objects.rglob("*"))

    (folder / "录像2.mp4").unlink()  # the secretary frees space
    data = as_json(invoke(runner, "--root", str(root), "scan", "--json"))
    assert data["added"] == 2 and data["errors"] == 0
    assert "体检通过" in invoke(runner, "--root", str(root), "doctor").output


def test_doctor_finds_and_removes_copies_nothing_references(root: Path, run: Run) -> None:
    from zhikong.archive.preserve import ObjectStore

    make_docx(root / "护理质控中心/收件箱/说明.docx", "说明", ["内容。"])
    run("scan")
    store = ObjectStore(root / ".zhikong")
    left = root.parent / "中断的批次.bin"
    left.write_bytes(b"a copy left by a batch that was killed" * 30)
    orphan = store.add_file(left)  # as a killed scan leaves it: copied, never catalogued
    assert "没有记录引用" in run("doctor", expect=1).output
    repaired = run("doctor", "--repair").output
    assert "删除了 1 个" in repaired and not store.has(orphan.sha256)
    assert "体检通过" in run("doctor").output


def test_an_import_cut_short_after_its_catalogue_committed_is_finished_by_the_retry(
    root: Path, run: Run, runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zhikong.app import Archive

    make_docx(
        root / "院感质控中心/2026/2026-05-10 院感防控督查/督查记录.docx", "督查记录", ["手卫生依从性抽查。"]
    )
    run("scan")
    bundle = tmp_path / "移交包"
    run("handover", "create", "--center", "院感质控中心", "--to", "金乡县第二人民医院", "--out", str(bundle))
    target = tmp_path / "接收"

    def killed(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt  # dies after the import committed, before the index was rebuilt

    monkeypatch.setattr(Archive, "reindex", killed)
    invoke(runner, "--root", str(target), "handover", "import", str(bundle), expect=130)
    monkeypatch.undo()
    assert as_json(invoke(runner, "--root", str(target), "search", "手卫生", "--json")) == []

    again = invoke(runner, "--root", str(target), "handover", "import", str(bundle), expect=9)
    assert "已经导入过本库" in again.output and "已自动补完" in again.output
    assert len(as_json(invoke(runner, "--root", str(target), "search", "手卫生", "--json"))) == 1
    assert "体检通过" in invoke(runner, "--root", str(target), "doctor").output
