"""Backups through the real commands: `zhikong backup DEST`, `backup verify DEST`, `backup restore DEST TARGET`.

A backup is consistent while a scan writes, incremental, never complete by accident (an interrupted one
leaves the previous backup whole), checked object by object, and restores a working archive: records,
folders with their contents, search, the audit chain.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import Run, as_json, invoke

from zhikong.app import Archive
from zhikong.archive import backup as backup_module
from zhikong.archive.ingest import BATCH
from zhikong.archive.samplefiles import make_docx
from zhikong.errors import ExitCode

MEETING = "护理质控中心/2026/2026-03-15 第一次工作会议"
INSPECTION = "院感质控中心/2026/2026-05-10 院感防控督查"


def folder_contents(root: Path) -> dict[str, str]:
    """sha256 of every file of the archive's folders (what the secretaries see), by relative path."""
    found = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if path.is_file() and rel.parts[0] != ".zhikong":
            found[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def records(run: Run) -> list[tuple[str, str, str, int]]:
    return sorted((r["path"], r["state"], r["sha256"], r["version"]) for r in as_json(run("ls", "--json")))


def objects_in(dest: Path) -> set[str]:
    return {p.name for p in (dest / "objects").glob("??/*")}


def fill(root: Path) -> None:
    make_docx(root / MEETING / "会议通知.docx", "关于召开第一次工作会议的通知", ["请携带跌倒风险评估表。"])
    make_docx(root / MEETING / "会议纪要.docx", "第一次工作会议纪要", ["会议部署压疮防控工作。"])
    make_docx(root / INSPECTION / "督查记录.docx", "院感防控督查记录", ["手卫生依从性不足。"])
    make_docx(root / INSPECTION / "反馈意见.docx", "院感防控督查反馈意见", ["请限期整改手卫生问题。"])


@pytest.fixture
def filled(root: Path, run: Run, tmp_path: Path) -> Path:
    """The fixture archive with files, a changed version, a deletion and a 送审稿 (not a record)."""
    fill(root)
    run("scan")
    make_docx(root / MEETING / "会议纪要.docx", "第一次工作会议纪要", ["会议部署压疮与跌倒防控工作。"])
    (root / INSPECTION / "反馈意见.docx").unlink()
    run("scan")
    body = tmp_path / "正文.txt"
    body.write_text(
        "经研究，决定召开会议。现将有关事项通知如下：\n一、会议时间\n3月15日上午。", encoding="utf-8"
    )
    run("draft", "notice", "--center", "护理质控中心", "--title", "关于召开第二次工作会议的通知",
        "--to", "各医疗机构", "--body", str(body), "--date", "2026-03-05")  # fmt: skip
    return root


# -- backup, change, restore ------------------------------------------------------------------------------


def test_restore_gives_back_the_archive_as_it_was_backed_up(
    filled: Path, run: Run, runner: CliRunner, tmp_path: Path
) -> None:
    root, dest = filled, tmp_path / "备份"
    before_files, before_records = folder_contents(root), records(run)
    assert any(p.startswith("送审稿/") for p in before_files)  # a draft: no record, still the center's work
    made = run("--as", "管理员", "backup", str(dest), expect=None)
    assert made.exit_code == 0, made.output
    assert "已备份到" in made.output and "审计日志链头" in made.output
    assert "核对通过" in run("backup", "verify", str(dest)).output

    # the original moves on: a file changed, one deleted, one added
    make_docx(root / MEETING / "会议通知.docx", "关于召开第一次工作会议的通知（更正）", ["时间改为下午。"])
    (root / INSPECTION / "督查记录.docx").unlink()
    make_docx(root / MEETING / "签到表.docx", "签到表", ["张伟"])
    run("scan")
    assert records(run) != before_records

    target = tmp_path / "恢复的档案库"
    restored = invoke(runner, "--as", "管理员", "backup", "restore", str(dest), str(target))
    assert "已恢复到" in restored.output and "检索索引已重建" in restored.output

    def on_target(*args: str, expect: int | None = 0) -> Any:
        return invoke(runner, "--root", str(target), *args, expect=expect)

    assert folder_contents(target) == before_files
    assert records(on_target) == before_records
    assert "审计日志完整" in on_target("log", "verify").output
    hits = as_json(on_target("search", "跌倒", "--json"))
    assert {h["path"] for h in hits} == {f"{MEETING}/会议纪要.docx", f"{MEETING}/会议通知.docx"}
    assert [h["path"] for h in as_json(on_target("search", "手卫生", "--json"))] == [
        f"{INSPECTION}/督查记录.docx"
    ]
    scan = as_json(on_target("scan", "--json"))  # folders and catalogue agree: nothing read again
    assert (scan["added"], scan["changed"], scan["deleted"], scan["moved"]) == (0, 0, 0, 0)
    assert "体检通过" in on_target("doctor").output
    # every version survives, and a restored archive restores files like any other
    on_target("restore", f"{MEETING}/会议纪要.docx", "--version", "1")
    assert folder_contents(target)[f"{MEETING}/会议纪要.docx"] != before_files[f"{MEETING}/会议纪要.docx"]
    log = on_target("log").output
    assert "从备份恢复" in log and "管理员" in log


def test_every_backup_is_an_audit_entry_with_its_actor(filled: Path, run: Run, tmp_path: Path) -> None:
    run("--as", "信息科王工", "backup", str(tmp_path / "备份"))
    entry = [line for line in run("log").output.splitlines() if "备份（backup）" in line]
    assert len(entry) == 1 and "操作人：信息科王工" in entry[0]
    assert "审计日志完整" in run("log", "verify").output


def test_a_second_backup_copies_only_what_is_new(filled: Path, run: Run, tmp_path: Path) -> None:
    dest = tmp_path / "备份"
    first = as_json(run("backup", str(dest), "--json"))
    held = objects_in(dest)
    assert first["objects_copied"] == first["objects"] == len(held) > 4
    again = as_json(run("backup", str(dest), "--json"))
    assert again["objects_copied"] == 0 and again["bytes_copied"] == 0 and objects_in(dest) == held

    make_docx(filled / MEETING / "课件.docx", "压疮防控培训课件", ["分期与处理。"])
    make_docx(filled / MEETING / "签到表.docx", "签到表", ["张伟", "王芳"])
    run("scan")
    third = as_json(run("backup", str(dest), "--json"))
    assert third["objects_copied"] == 2 and len(objects_in(dest) - held) == 2
    assert len(list((dest / "snapshots").iterdir())) == 1  # the older snapshots are gone, the objects shared
    assert "核对通过" in run("backup", "verify", str(dest)).output


def test_a_backup_taken_while_a_scan_writes_is_consistent(
    root: Path, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scan runs in a thread, its extraction slowed so that its batches of 200 commit one after another
    while backups are taken: each backup holds whole batches — records, versions and audit entries that
    verify and replay — and at least one was taken half-way."""
    total = 600
    folder = root / "护理质控中心/2026/2026-04-20 一季度病例抽查"
    folder.mkdir(parents=True)
    for i in range(total):
        (folder / f"抽查记录{i:03}.txt").write_text(f"第{i}份病历抽查记录，甲级病历。", encoding="utf-8")

    from zhikong.archive.ingest import TextResult

    def slow_extract(path: Path) -> TextResult:
        time.sleep(0.004)
        return TextResult(status="ok", text=path.read_text(encoding="utf-8"))

    monkeypatch.setattr("zhikong.app.EXTRACT_IN_WORKER", False)
    monkeypatch.setattr("zhikong.app.extract_for_catalogue", slow_extract)
    arc = Archive.open(root)
    errors: list[BaseException] = []

    def scan() -> None:
        try:
            arc.scan("刘敏")
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    scanner = threading.Thread(target=scan)
    scanner.start()
    seen: list[int] = []
    dest = tmp_path / "备份"
    while scanner.is_alive() or not seen:
        result = arc.backup("管理员", dest)
        check = Archive.backup_verify("管理员", dest)
        assert check.ok, [p.message for p in check.problems]
        seen.append(result.records)
    scanner.join()
    assert errors == []
    assert any(0 < n < total for n in seen), seen  # at least one backup taken half-way through the scan
    assert all(n % BATCH == 0 for n in seen), seen  # a batch is in a backup whole or not at all
    assert seen == sorted(seen)
    final = arc.backup("管理员", dest)
    assert final.records == total and Archive.backup_verify("管理员", dest).ok


# -- what verify finds ----------------------------------------------------------------------------------


def test_a_damaged_object_is_found_by_verify_and_refused_by_restore(
    filled: Path, run: Run, runner: CliRunner, tmp_path: Path
) -> None:
    dest = tmp_path / "备份"
    run("backup", str(dest))
    victim = sorted((dest / "objects").glob("??/*"))[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte, size unchanged
    victim.write_bytes(bytes(data))
    failed = run("backup", "verify", str(dest), expect=int(ExitCode.VERIFY_FAILED))
    assert "备份核对未通过" in failed.output and "已损坏" in failed.output and victim.name in failed.output
    assert "Traceback" not in failed.output

    target = tmp_path / "恢复"
    refused = invoke(runner, "backup", "restore", str(dest), str(target), expect=int(ExitCode.VERIFY_FAILED))
    assert "没有恢复" in refused.output and not target.exists()


def test_verify_finds_a_changed_catalogue_copy_and_a_missing_object(
    filled: Path, run: Run, tmp_path: Path
) -> None:
    import sqlite3

    dest = tmp_path / "备份"
    run("backup", str(dest))
    manifest = json.loads((dest / "manifest.json").read_text(encoding="utf-8"))
    copy = dest / manifest["snapshot"] / "catalogue.sqlite"
    conn = sqlite3.connect(copy)
    conn.execute("UPDATE audit SET actor = '别人' WHERE seq = 2")
    conn.commit()
    conn.close()
    sorted((dest / "objects").glob("??/*"))[-1].unlink()
    report = as_json(run("backup", "verify", str(dest), "--json", expect=int(ExitCode.VERIFY_FAILED)))
    messages = " ".join(p["message"] for p in report["problems"])
    assert "数据库副本与清单不符" in messages and "文件副本缺失" in messages

    # the same copy with its manifest entry updated: now the audit chain itself gives it away
    digest = hashlib.sha256(copy.read_bytes()).hexdigest()
    manifest["databases"][0].update(sha256=digest, size=copy.stat().st_size)
    (dest / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    report = as_json(run("backup", "verify", str(dest), "--json", expect=int(ExitCode.VERIFY_FAILED)))
    assert any("第 2 条记录" in p["message"] and "被改动" in p["message"] for p in report["problems"])


def test_a_folder_that_is_not_a_backup(filled: Path, run: Run, tmp_path: Path) -> None:
    other = tmp_path / "别的文件"
    other.mkdir()
    (other / "工资表.xlsx").write_bytes(b"not ours")
    refused = run("backup", str(other), expect=int(ExitCode.CONFLICT))
    assert "不是 zhikong 备份" in refused.output and sorted(os.listdir(other)) == ["工资表.xlsx"]
    assert "不是 zhikong 备份" in run("backup", "verify", str(other), expect=int(ExitCode.INPUT)).output
    assert "不是文件夹" in run("backup", str(other / "工资表.xlsx"), expect=int(ExitCode.INPUT)).output
    inside = run("backup", str(filled / "备份"), expect=int(ExitCode.INPUT))
    assert "不能在档案库之内" in inside.output and not (filled / "备份").exists()


def test_restore_writes_only_into_a_new_or_empty_folder(
    filled: Path, run: Run, runner: CliRunner, tmp_path: Path
) -> None:
    dest, target = tmp_path / "备份", tmp_path / "已有内容"
    run("backup", str(dest))
    target.mkdir()
    (target / "重要.docx").write_bytes(b"keep me")
    refused = invoke(runner, "backup", "restore", str(dest), str(target), expect=int(ExitCode.CONFLICT))
    assert "不是空文件夹" in refused.output and os.listdir(target) == ["重要.docx"]
    empty = tmp_path / "空文件夹"
    empty.mkdir()
    invoke(runner, "backup", "restore", str(dest), str(empty))
    assert (empty / "zhikong.toml").is_file()


# -- never complete by accident -----------------------------------------------------------------------------


def test_an_interrupted_backup_leaves_the_previous_one_whole(
    filled: Path, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "备份"
    first = as_json(run("backup", str(dest), "--json"))
    make_docx(filled / MEETING / "课件.docx", "压疮防控培训课件", ["分期与处理。"])
    make_docx(filled / MEETING / "签到表.docx", "签到表", ["张伟", "王芳"])
    run("scan")

    real_add = backup_module._DestStore.add
    calls = []

    def add_then_fill_up(self: Any, source: Path) -> Any:
        calls.append(source)
        if len(calls) == 2:  # the disk fills while the second new copy is written
            raise OSError(errno.ENOSPC, "No space left on device", str(source))
        return real_add(self, source)

    monkeypatch.setattr(backup_module._DestStore, "add", add_then_fill_up)
    failed = run("backup", str(dest), expect=int(ExitCode.STORAGE))
    assert "磁盘已满" in failed.output and "原有的完整备份没有改动" in failed.output
    monkeypatch.undo()

    check = as_json(run("backup", "verify", str(dest), "--json"))
    assert check["created_at"] == first["created_at"] and check["problems"] == []
    assert [p.name for p in (dest / "snapshots").iterdir()] == [first["snapshot"].split("/")[1]]
    assert not any((dest / "tmp").iterdir())
    again = as_json(run("backup", str(dest), "--json"))
    assert again["objects_copied"] == 1  # the copy finished before the failure is kept and not made again
    assert "核对通过" in run("backup", "verify", str(dest)).output


def test_a_first_backup_that_never_finished_is_not_a_backup(
    filled: Path, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "备份"

    def killed(*_args: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(backup_module, "_write_manifest", killed)
    run("backup", str(dest), expect=int(ExitCode.INTERRUPTED))
    monkeypatch.undo()
    unfinished = run("backup", "verify", str(dest), expect=int(ExitCode.VERIFY_FAILED))
    assert "备份没有完成" in unfinished.output
    run("backup", str(dest))  # the same folder, finished this time
    assert "核对通过" in run("backup", "verify", str(dest)).output


@pytest.fixture
def small_disk(tmpfs: Callable[[int], Path]) -> Path:
    """A real 8 MB file system (tmpfs), so the disk really fills; needs root, as CI has."""
    return tmpfs(8)


def test_a_backup_disk_too_small_is_a_chinese_storage_error(
    root: Path, run: Run, small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = small_disk / "备份"
    make_docx(root / MEETING / "会议通知.docx", "关于召开会议的通知", ["请准时参加。"])
    run("scan")
    run("backup", str(dest))
    for i in range(3):  # 12 MB of new copies for an 8 MB disk
        (root / MEETING / f"录像{i}.mp4").write_bytes(os.urandom(4 * 2**20))
    run("scan")
    seen_first = as_json(run("backup", "verify", str(dest), "--json"))["created_at"]

    refused = run("backup", str(dest), expect=int(ExitCode.STORAGE))  # found before anything is copied
    assert "空间不足" in refused.output and "MB" in refused.output and "Traceback" not in refused.output
    monkeypatch.setattr(backup_module, "_free_bytes", lambda _path: 2**40)  # the estimate misses it …
    failed = run("backup", str(dest), expect=int(ExitCode.STORAGE))  # … and the disk really fills
    assert "磁盘已满" in failed.output and "Traceback" not in failed.output
    monkeypatch.undo()
    assert as_json(run("backup", "verify", str(dest), "--json"))["created_at"] == seen_first


def test_a_read_only_backup_disk_is_a_chinese_storage_error(root: Path, run: Run, tmp_path: Path) -> None:
    mount = tmp_path / "只读盘"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mount)], check=False)
    if made.returncode != 0:
        pytest.skip("cannot mount a read-only tmpfs here (needs root)")
    try:
        failed = run("backup", str(mount / "备份"), expect=int(ExitCode.STORAGE))
        assert "不能写入" in failed.output and "Traceback" not in failed.output
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


# -- what else a backup holds ---------------------------------------------------------------------------------


def test_other_databases_unusual_names_and_outside_settings_are_kept(
    filled: Path, run: Run, runner: CliRunner, tmp_path: Path
) -> None:
    """Every *.sqlite of .zhikong/ (the web server's accounts, when it comes), a file name that is not
    UTF-8, and a synonym list that zhikong.toml names outside the archive."""
    import sqlite3

    accounts = sqlite3.connect(filled / ".zhikong" / "accounts.sqlite")
    accounts.execute("CREATE TABLE users (name TEXT)")
    accounts.execute("INSERT INTO users VALUES ('刘敏')")
    accounts.commit()
    accounts.close()
    odd = os.fsencode(filled / MEETING) + b"/\xb7\xd6\xce\xf6.docx"  # GBK bytes, as an old zip leaves them
    with open(odd, "wb") as f:
        f.write(b"GBK name")
    words = tmp_path / "共享词表" / "同义词.txt"
    words.parent.mkdir()
    words.write_text("压疮 压力性损伤\n", encoding="utf-8")
    settings = filled / "zhikong.toml"
    settings.write_text(
        settings.read_text(encoding="utf-8").replace('synonyms = ""', 'synonyms = "../共享词表/同义词.txt"'),
        encoding="utf-8",
    )
    run("scan")
    dest = tmp_path / "备份"
    made = as_json(run("backup", str(dest), "--json"))
    assert made["databases"] == ["catalogue.sqlite", "accounts.sqlite"] and made["warnings"] == []

    words.unlink()
    target = tmp_path / "恢复"
    restored = invoke(runner, "backup", "restore", str(dest), str(target))
    assert "在档案库之外，已恢复到" in restored.output
    assert words.read_text(encoding="utf-8") == "压疮 压力性损伤\n"
    back = sqlite3.connect(target / ".zhikong" / "accounts.sqlite")
    assert back.execute("SELECT name FROM users").fetchall() == [("刘敏",)]
    back.close()
    assert (target / os.fsdecode(odd).removeprefix(str(filled) + "/")).read_bytes() == b"GBK name"
    found = as_json(invoke(runner, "--root", str(target), "search", "压力性损伤", "--json"))
    assert f"{MEETING}/会议纪要.docx" in {h["path"] for h in found}  # the restored synonym list at work


def test_every_result_is_plain_json(filled: Path, tmp_path: Path) -> None:
    arc = Archive.open(filled)
    results: list[Any] = [
        arc.backup("管理员", tmp_path / "备份"),
        Archive.backup_verify("管理员", tmp_path / "备份"),
        Archive.backup_restore("管理员", tmp_path / "备份", tmp_path / "恢复"),
    ]
    for result in results:
        json.dumps(result.to_json(), ensure_ascii=False)
