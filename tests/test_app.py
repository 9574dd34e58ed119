"""The application layer (zhikong.app) and what it guarantees every front end: who did it, the index kept
in step, a harmless restore, no English traceback, Chinese errors for a broken catalogue, threads."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import traceback
from datetime import date
from pathlib import Path

import pytest
from conftest import Run, as_json, invoke

from zhikong.app import Archive
from zhikong.archive import catalogue as catalogue_module
from zhikong.archive.catalogue import MIGRATIONS, Catalogue
from zhikong.archive.ingest import Reconciler
from zhikong.archive.preserve import ObjectStore
from zhikong.archive.samplefiles import make_docx
from zhikong.errors import ExitCode

MEETING = "护理质控中心/2026/2026-03-15 第一次工作会议"


def _docx(root: Path, rel: str, title: str, *paras: str) -> Path:
    path = root / rel
    make_docx(path, title, list(paras) or ["内容。"])
    return path


# -- who did it --------------------------------------------------------------------------------------


def test_every_audit_entry_names_its_actor(root: Path, run: Run) -> None:
    _docx(root, f"{MEETING}/会议通知.docx", "关于召开第一次工作会议的通知")
    run("--as", "刘敏", "scan")  # --as belongs to the group: before the command (run adds --root first)
    run("--as", "医政科张科长", "classify", f"{MEETING}/会议通知.docx", "--category", "通知")
    lines = run("log").output.splitlines()
    add = next(line for line in lines if "登记文件（add）" in line)  # actions in words for people
    classify = next(line for line in lines if "人工归类（classify）" in line)
    assert add.endswith("操作人：刘敏") and classify.endswith("操作人：医政科张科长")
    entries = as_json(run("log", "--json"))  # and by their codes for scripts
    assert {e["action"]: e["actor"] for e in entries}["classify"] == "医政科张科长"
    # init and center add, run without --as, carry the operating-system user
    assert all("操作人：" in line for line in lines)
    assert "审计日志完整" in run("log", "verify").output


def test_a_forged_actor_breaks_the_chain(root: Path, run: Run) -> None:
    _docx(root, f"{MEETING}/会议通知.docx", "关于召开第一次工作会议的通知")
    run("--as", "刘敏", "scan")
    with sqlite3.connect(root / ".zhikong" / "catalogue.sqlite") as conn:
        conn.execute("UPDATE audit SET actor = '王秀英' WHERE action = 'add'")
    out = run("log", "verify", expect=int(ExitCode.VERIFY_FAILED)).output
    assert "内容被改动" in out


def test_an_archive_made_before_actors_migrates_and_keeps_verifying(tmp_path: Path, runner: object) -> None:
    """A catalogue at schema 6 with a chain hashed the old way (seven fields, no actor)."""
    from click.testing import CliRunner

    from zhikong.archive import audit

    assert isinstance(runner, CliRunner)
    root = tmp_path / "旧档案库"
    invoke(runner, "init", str(root), "--county", "金乡县", "--bureau", "金乡县卫生健康局",
           "--doc-prefix", "金卫健字", "--fonds", "Z109")  # fmt: skip
    db = root / ".zhikong" / "catalogue.sqlite"
    db.unlink()
    conn = sqlite3.connect(db, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:6], 1):
        conn.executescript(script)
        conn.execute(f"PRAGMA user_version = {number}")
    prev = audit.GENESIS
    for seq, action in enumerate(("init", "center.add"), 1):
        ts, detail = f"2025-01-0{seq}T08:00:00+08:00", json.dumps({"n": seq})
        payload = json.dumps(
            [seq, ts, action, None, None, detail, prev], ensure_ascii=False, separators=(",", ":")
        )
        digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()
        conn.execute(
            "INSERT INTO audit (seq, ts, action, center, path, detail, prev, hash) VALUES (?,?,?,?,?,?,?,?)",
            (seq, ts, action, None, None, detail, prev, digest),
        )
        prev = digest
    conn.execute("INSERT INTO meta (key, value) VALUES ('audit_head', ?)", (f"2:{prev}",))
    conn.close()

    result = invoke(runner, "--root", str(root), "--as", "新秘书", "scan")
    assert "新增 0" in result.output
    with sqlite3.connect(db) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    invoke(runner, "--root", str(root), "--as", "新秘书", "center", "add", "护理质控中心", "--code", "HL",
           "--host", "金乡县人民医院")  # fmt: skip
    assert "共 3 条" in invoke(runner, "--root", str(root), "log", "verify").output
    lines = invoke(runner, "--root", str(root), "log").output.splitlines()
    assert "操作人：" not in lines[0] and lines[-1].endswith("操作人：新秘书")


# -- the index follows every metadata change -------------------------------------------------------


def test_classify_reaches_the_search_index_at_once(root: Path, run: Run) -> None:
    _docx(root, "护理质控中心/收件箱/扫描件说明.docx", "压疮防控培训记录", "压疮风险评估培训。")
    run("scan")
    assert as_json(run("search", "压疮", "--year", "2025", "--json")) == []
    run("classify", "护理质控中心/收件箱/扫描件说明.docx", "--year", "2025", "--category", "课件")
    hits = as_json(run("search", "压疮", "--year", "2025", "--json"))
    assert [(h["year"], h["category"]) for h in hits] == [(2025, "课件")]


def test_records_catalogued_without_reading_are_read_by_reindex_reread(root: Path, run: Run) -> None:
    """A front end that builds a Reconciler the library's own way (no extractor) leaves records without
    text; `reindex --reread` must read them, not skip them for having no failed status."""
    _docx(root, f"{MEETING}/会议纪要.docx", "第一次工作会议纪要", "会议研究了导管滑脱的防范措施。")
    settings = Archive.open(root).settings()
    with Catalogue.open(settings.system_dir, actor="脚本") as cat:
        Reconciler(settings, cat).reconcile()
    assert as_json(run("ls", "--json"))[0]["extract_status"] is None
    assert "重新读取了 1 个文件" in run("reindex", "--reread").output
    assert as_json(run("search", "导管滑脱", "--json"))[0]["path"].endswith("会议纪要.docx")


# -- restore does no harm ------------------------------------------------------------------------------


def test_restore_without_version_leaves_an_intact_file_alone(root: Path, run: Run) -> None:
    path = _docx(root, f"{MEETING}/会议通知.docx", "第一版通知")
    run("scan")
    _docx(root, f"{MEETING}/会议通知.docx", "第二版通知", "改过的内容。")
    run("scan")
    before = path.read_bytes()
    out = run("restore", str(path), expect=int(ExitCode.CONFLICT)).output
    assert "已经是最新登记的第 2 版" in out and "第 1 版" in out and "--version" in out
    assert path.read_bytes() == before


def test_restore_without_version_repairs_a_damaged_file_and_keeps_the_damage(root: Path, run: Run) -> None:
    path = _docx(root, f"{MEETING}/会议通知.docx", "通知")
    run("scan")
    good = path.read_bytes()
    path.write_bytes(b"\0" * 100)  # overwritten by accident, not yet scanned
    out = run("restore", str(path)).output
    assert "已恢复" in out and "另存" in out
    assert path.read_bytes() == good
    damaged = hashlib.sha256(b"\0" * 100).hexdigest()
    assert ObjectStore(root / ".zhikong").has(damaged)  # what the restore replaced is kept, not lost
    assert f"replaced_sha256={damaged}" in run("log").output


# -- failures a user can read -------------------------------------------------------------------------


def test_an_unexpected_error_is_chinese_names_its_log_and_has_its_own_exit_code(
    root: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr("zhikong.archive.manage.status", broken)
    result = run("status", expect=int(ExitCode.INTERNAL))
    assert "程序内部错误" in result.output and "Traceback" not in result.output
    log = root / ".zhikong" / "logs" / "errors.log"
    assert str(log) in result.output
    assert "RuntimeError: simulated bug" in log.read_text(encoding="utf-8")


def test_a_damaged_catalogue_says_how_to_recover(root: Path, run: Run) -> None:
    db = root / ".zhikong" / "catalogue.sqlite"
    for extra in ("-wal", "-shm"):
        Path(str(db) + extra).unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    out = run("scan", expect=int(ExitCode.STORAGE)).output
    assert "已损坏" in out and "备份" in out and "Traceback" not in out


def test_a_read_only_catalogue_says_so(root: Path, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    # As root, file permissions cannot make the disk read-only here: SQLite's own error is raised instead.
    def read_only(self: Catalogue) -> None:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(Catalogue, "_migrate", read_only)
    out = run("status", expect=int(ExitCode.STORAGE)).output
    assert "只读" in out and "写权限" in out and "readonly" not in out


def test_a_busy_catalogue_is_a_chinese_conflict_not_a_traceback(
    root: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalogue_module, "BUSY_TIMEOUT_S", 0.2)
    holder = sqlite3.connect(root / ".zhikong" / "catalogue.sqlite", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        _docx(root, f"{MEETING}/会议通知.docx", "通知")
        out = run("scan", expect=int(ExitCode.CONFLICT)).output
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "正被另一个 zhikong 进程写入" in out and "locked" not in out
    assert as_json(run("scan", "--json"))["added"] == 1


def test_render_hint_names_an_example_that_exists(tmp_path: Path, runner: object) -> None:
    from click.testing import CliRunner

    assert isinstance(runner, CliRunner)
    data = tmp_path / "通知.json"
    data.write_text("{}", encoding="utf-8")
    out = invoke(runner, "render", "notice", str(data), "--out", str(tmp_path / "x.docx"), expect=8).output
    hinted = out.split("参照示例数据文件填写：")[1].split()[0]
    assert Path(hinted).is_file() and Path(hinted).name == "notice.toml"


# -- one layer, many threads ----------------------------------------------------------------------------


def test_one_archive_serves_many_threads_and_never_changes_the_working_directory(
    root: Path, run: Run
) -> None:
    for i in range(12):
        _docx(root, f"{MEETING}/材料{i}.docx", f"材料{i}", f"第{i}份跌倒评估材料。")
    arc = Archive.open(root)
    cwd = os.getcwd()
    errors: list[str] = []
    seen_cwd: set[str] = set()
    stop = threading.Event()

    def watch_cwd() -> None:
        while not stop.is_set():
            seen_cwd.add(os.getcwd())

    def work(n: int) -> None:
        try:
            arc.scan(f"用户{n}")
            arc.search(f"用户{n}", "跌倒评估", today=date(2026, 11, 30))  # default filters
            arc.records(f"用户{n}", center="护理质控中心")
            if n == 0:
                arc.handover_create(
                    "医政科",
                    center="护理质控中心",
                    to_host="金乡县中医院",
                    out=root.parent / "包",
                    as_of=date(2026, 11, 30),
                )
        except BaseException:  # collected and asserted below, with where it happened
            errors.append(traceback.format_exc())

    observer = threading.Thread(target=watch_cwd)
    observer.start()
    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    observer.join()
    assert errors == []
    assert seen_cwd == {cwd}
    records = as_json(run("ls", "--json"))
    assert len(records) == 12 and len({r["path"] for r in records}) == 12
    assert "审计日志完整" in run("log", "verify").output


def test_every_result_of_the_layer_is_plain_json(tmp_path: Path) -> None:
    """What a JSON API will send: each method's result, through its to_json(), survives json.dumps."""
    from zhikong.archive.drafts import DraftRequest
    from zhikong.archive.manage import Reclassification
    from zhikong.archive.paper import PaperItem
    from zhikong.archive.settings import Center, Roster

    today = date(2026, 11, 30)
    arc = Archive.init(
        "管理员",
        tmp_path / "库",
        county="金乡县",
        bureau="金乡县卫生健康局",
        doc_prefix="金卫健字",
        fonds="Z109",
    )
    roster = Roster(director="王秀英", deputies=("李红梅", "赵静"), secretary="刘敏")
    results: list[object] = [
        arc.add_center("管理员", Center("护理质控中心", "HL", "金乡县人民医院", roster), today=today)
    ]
    _docx(arc.root, f"{MEETING}/会议通知.docx", "关于召开第一次工作会议的通知", "请携带跌倒评估表。")
    results += [
        arc.centers("刘敏"),
        arc.scan("刘敏"),
        arc.records("刘敏"),
        arc.status("刘敏"),
        arc.classify("刘敏", f"{MEETING}/会议通知.docx", Reclassification(category="通知"), cwd=arc.root),
        arc.search("刘敏", "跌倒评估", today=today),
        arc.reindex("刘敏"),
        arc.paper_add(
            "刘敏", PaperItem("护理质控中心", "签到表", "签到表", activity="2026-03-15 第一次工作会议")
        ),
        arc.paper_catalog("刘敏", "护理质控中心", 2026, 1, today=today),
        arc.check("刘敏", as_of=today),
        arc.score("刘敏", center="护理质控中心", year=2026, as_of=today),
        arc.rank("医政科", year=2026, as_of=today),
    ]
    body = "经研究，决定召开会议。"
    drafted = arc.draft(
        "刘敏", DraftRequest("护理质控中心", "关于召开会议的通知", "各医疗机构", body), today=today
    )
    results += [drafted, arc.drafts("刘敏"), arc.approve("医政科", drafted.id, by="医政科", today=today)]
    created = arc.handover_create(
        "医政科", center="护理质控中心", to_host="金乡县中医院", out=tmp_path / "包", as_of=today
    )
    results += [
        created,
        arc.handover_status("医政科"),
        Archive.handover_verify("新秘书", tmp_path / "包"),
        Archive.handover_import("新秘书", tmp_path / "新库", tmp_path / "包"),
        arc.handover_release("医政科", center="护理质控中心", reason="测试"),
        arc.log("刘敏"),
        arc.verify_log("刘敏"),
        Archive.open(tmp_path / "新库").imported_log("新秘书"),
    ]
    for result in results:
        to_json = getattr(result, "to_json", None)
        assert callable(to_json), type(result).__name__
        json.dumps(to_json(), ensure_ascii=False)
    assert created.bundle.records >= 2 and arc.verify_log("刘敏").entries > 5
