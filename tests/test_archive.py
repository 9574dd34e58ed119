"""The watched archive through its commands: init, centers, scan, ls, status, classify, restore, log."""

from __future__ import annotations

import os
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import Run, as_json, invoke

from zhikong.archive.preserve import ObjectStore
from zhikong.archive.samplefiles import make_docx, make_pdf, make_pptx, make_xlsx

MEETING = "护理质控中心/2026/2026-03-15 第一次工作会议"


def records(run: Run, *args: str) -> dict[str, dict]:
    return {r["path"]: r for r in as_json(run("ls", "--json", *args))}


def scan(run: Run) -> dict[str, int]:
    data: dict[str, int] = as_json(run("scan", "--json"))
    return data


# -- set-up and settings ---------------------------------------------------------------------------


def test_init_writes_commented_settings_and_system_folder(root: Path) -> None:
    text = (root / "zhikong.toml").read_text(encoding="utf-8")
    assert "# 质控中心档案库设置" in text
    assert 'doc_prefix = "金卫健字"' in text and 'fonds = "Z109"' in text
    assert (root / ".zhikong" / "catalogue.sqlite").is_file()
    year = date.today().year
    for folder in ("收件箱", f"{year}/工作计划", f"{year}/工作总结", f"{year}/质控标准"):
        assert (root / "护理质控中心" / folder).is_dir(), folder


def test_center_add_keeps_user_comments_and_lists(root: Path, run: Run) -> None:
    path = root / "zhikong.toml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# 秘书备注：2026年换届\n", encoding="utf-8")
    run(
        "center",
        "add",
        "病案质控中心",
        "--code",
        "BA",
        "--host",
        "金乡县人民医院",
        "--member",
        "甲",
        "--member",
        "乙",
    )
    text = path.read_text(encoding="utf-8")
    assert "# 秘书备注：2026年换届" in text and "病案质控中心" in text
    assert (root / "病案质控中心" / "收件箱").is_dir()
    listed = as_json(run("center", "list", "--json"))
    assert [c["name"] for c in listed] == ["护理质控中心", "院感质控中心", "病案质控中心"]
    assert listed[0]["roster"]["deputies"] == ["李红梅", "赵静"]
    assert listed[2]["roster"]["members"] == ["甲", "乙"]


def test_center_add_rejects_duplicates_and_bad_codes(run: Run) -> None:
    dup = run("center", "add", "护理质控中心", "--code", "HX", "--host", "某医院", expect=9)
    assert "已经登记" in dup.output
    reserved = run("center", "add", "送审稿", "--code", "SS", "--host", "某医院", expect=3)
    assert "系统保留" in reserved.output
    bad = run("center", "add", "药事质控中心", "--code", "yx1", "--host", "某医院", expect=3)
    assert "大写字母" in bad.output


def test_init_twice_and_missing_values_are_refused(root: Path, runner: CliRunner) -> None:
    again = invoke(
        runner,
        "init",
        str(root),
        "--county",
        "x",
        "--bureau",
        "y",
        "--doc-prefix",
        "z",
        "--fonds",
        "w",
        expect=9,
    )
    assert "已经是档案库" in again.output
    empty = invoke(
        runner,
        "init",
        str(root.parent / "new"),
        "--county",
        " ",
        "--bureau",
        "y",
        "--doc-prefix",
        "z",
        "--fonds",
        "w",
        expect=3,
    )
    assert "县名" in empty.output


def test_root_is_found_from_option_env_and_parent_folders(
    root: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    nested = root / "护理质控中心" / "2026"
    monkeypatch.chdir(nested)
    monkeypatch.delenv("ZHIKONG_ROOT", raising=False)
    assert "护理质控中心" in invoke(runner, "center", "list").output
    monkeypatch.chdir(root.parent)
    missing = invoke(runner, "center", "list", expect=3)
    assert "没有找到档案库" in missing.output and "ZHIKONG_ROOT" in missing.output
    monkeypatch.setenv("ZHIKONG_ROOT", str(root))
    assert "院感质控中心" in invoke(runner, "center", "list").output
    wrong = invoke(runner, "--root", str(root.parent), "center", "list", expect=3)
    assert "不是档案库" in wrong.output


def test_broken_settings_file_gives_chinese_error(root: Path, run: Run) -> None:
    (root / "zhikong.toml").write_text('county = "金乡县\n[[center]\n', encoding="utf-8")
    result = run("scan", expect=3)
    assert "格式有误" in result.output


def test_newer_catalogue_schema_is_refused(root: Path, run: Run) -> None:
    conn = sqlite3.connect(root / ".zhikong" / "catalogue.sqlite")
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    assert "请升级 zhikong" in run("scan", expect=3).output


# -- scan ------------------------------------------------------------------------------------------


def test_scan_catalogues_preserves_and_classifies_real_files(root: Path, run: Run) -> None:
    meeting = root / MEETING
    make_docx(meeting / "会议通知.docx", "关于召开第一次工作会议的通知", ["各单位："])
    make_xlsx(meeting / "签到表.xlsx", "签到表", ["姓名"], [["张三"]])
    make_pptx(meeting / "护理核心制度.pptx", "护理核心制度", ["交接班"])
    make_pdf(meeting / "会议纪要.pdf", [["会议纪要"]])
    make_docx(root / "护理质控中心/2026/工作计划/年度安排.docx", "年度安排", ["全年工作"])
    (root / "护理质控中心/收件箱/随手拍.jpg").write_bytes(b"\xff\xd8\xff\xe0 fake jpeg")
    counts = scan(run)
    assert counts["added"] == 6 and counts["errors"] == 0
    assert counts["unclassified"] == 1
    recs = records(run)
    notice = recs[f"{MEETING}/会议通知.docx"]
    assert notice["center"] == "护理质控中心" and notice["year"] == 2026
    assert notice["activity"] == "第一次工作会议" and notice["activity_type"] == "meeting"
    assert notice["category"] == "通知" and notice["classified_by"]["category"] == "name"
    assert recs[f"{MEETING}/护理核心制度.pptx"]["category"] == "课件"
    assert recs[f"{MEETING}/护理核心制度.pptx"]["classified_by"]["category"] == "type"
    plan = recs["护理质控中心/2026/工作计划/年度安排.docx"]
    assert plan["category"] == "工作计划" and plan["classified_by"]["category"] == "path"
    photo = recs["护理质控中心/收件箱/随手拍.jpg"]
    assert photo["category"] == "未归类" and photo["year"] is None and "年度" in photo["suggestion"]
    store = ObjectStore(root / ".zhikong")
    for r in recs.values():
        assert store.path_of(r["sha256"]).read_bytes() == (root / r["path"]).read_bytes()
    assert scan(run)["unchanged"] == 6


def test_activity_types_follow_the_folder_convention(root: Path, run: Run) -> None:
    cases = {
        "2026-04-01 护理技能竞赛": "competition",
        "2026-04-02 学术交流会": "exchange",
        "2026-04-03 新护士培训": "training",
        "2026-04-04 一季度病例抽查": "case_review",
        "2026-04-05 院感防控督查": "inspection",
        "2026-04-06 督查回头看": "follow_up",
        "2026-04-07 护理安全专项行动": "campaign",
        "2026-04-08 季度例会": "meeting",
    }
    for folder in cases:
        make_docx(root / "护理质控中心/2026" / folder / "记录.docx", folder, ["内容"])
    scan(run)
    recs = records(run)
    for folder, kind in cases.items():
        assert recs[f"护理质控中心/2026/{folder}/记录.docx"]["activity_type"] == kind, folder


def test_category_from_content_when_the_name_says_nothing(root: Path, run: Run) -> None:
    path = root / "院感质控中心/2026/2026-05-10 院感防控督查/扫描001.txt"
    path.parent.mkdir(parents=True)
    path.write_text("院感防控督查反馈意见\n请各单位限期整改。", encoding="utf-8")
    scan(run)
    rec = records(run)["院感质控中心/2026/2026-05-10 院感防控督查/扫描001.txt"]
    assert rec["activity_type"] == "inspection"
    assert rec["category"] == "反馈意见" and rec["classified_by"]["category"] == "content"


def test_lock_and_temporary_files_are_ignored(root: Path, run: Run) -> None:
    meeting = root / MEETING
    meeting.mkdir(parents=True)
    for name in (
        "~$会议通知.docx",
        ".~lock.会议通知.docx#",
        "下载.part",
        "x.tmp",
        "a.crdownload",
        "Thumbs.db",
        "desktop.ini",
        ".DS_Store",
        "._会议通知.docx",
    ):
        (meeting / name).write_bytes(b"lock")
    (meeting / "__MACOSX").mkdir()
    (meeting / "__MACOSX" / "会议通知.docx").write_bytes(b"mac")
    (meeting / "会议通知.docx").write_bytes(b"real")
    counts = scan(run)
    assert counts["added"] == 1
    assert list(records(run)) == [f"{MEETING}/会议通知.docx"]


def test_changed_file_gets_a_new_version_and_the_old_one_is_kept(root: Path, run: Run) -> None:
    path = make_docx(root / MEETING / "会议纪要.docx", "会议纪要", ["初稿"])
    first = path.read_bytes()
    scan(run)
    make_docx(path, "会议纪要", ["定稿：增加了整改要求"])
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5_000_000_000))
    counts = scan(run)
    assert counts["changed"] == 1 and counts["added"] == 0
    rec = records(run)[f"{MEETING}/会议纪要.docx"]
    assert rec["version"] == 2
    run("restore", f"{MEETING}/会议纪要.docx", "--version", "1")
    assert path.read_bytes() == first
    assert records(run)[f"{MEETING}/会议纪要.docx"]["version"] == 3


def test_touched_but_identical_file_is_not_a_new_version(root: Path, run: Run) -> None:
    path = root / MEETING / "签到表.pdf"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"%PDF-1.4 same")
    scan(run)
    os.utime(path, ns=(1, 2_000_000_000_000_000_000))
    counts = scan(run)
    assert counts["changed"] == 0 and counts["unchanged"] == 1
    assert records(run)[f"{MEETING}/签到表.pdf"]["version"] == 1


def test_unchanged_files_are_not_read_again(root: Path, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(5):
        (root / "护理质控中心/收件箱" / f"文件{i}.txt").write_text(f"内容{i}", encoding="utf-8")
    scan(run)
    reads: list[object] = []
    original = ObjectStore.add_file

    def counting(self: ObjectStore, source: Path | bytes) -> object:
        reads.append(source)
        return original(self, source)

    monkeypatch.setattr(ObjectStore, "add_file", counting)
    assert scan(run)["unchanged"] == 5
    assert reads == []


def test_moved_file_and_renamed_folder_keep_their_records(root: Path, run: Run) -> None:
    folder = root / "护理质控中心/2026/2026-05-10 护理督查"
    for i in range(50):
        (folder / f"督查记录{i:02d}.txt").parent.mkdir(parents=True, exist_ok=True)
        (folder / f"督查记录{i:02d}.txt").write_text(f"第{i}份督查记录", encoding="utf-8")
    scan(run)
    before = {r["sha256"]: r["id"] for r in records(run).values()}
    folder.rename(folder.with_name("2026-05-12 护理质量督查"))
    counts = scan(run)
    assert (counts["moved"], counts["added"], counts["deleted"]) == (50, 0, 0)
    after = records(run, "--state", "active")
    assert {r["sha256"]: r["id"] for r in after.values()} == before
    assert all("2026-05-12 护理质量督查" in p for p in after)
    assert {r["activity_date"] for r in after.values()} == {"2026-05-12"}


def test_deleted_file_is_reported_never_forgotten_and_restorable(root: Path, run: Run) -> None:
    path = make_docx(root / MEETING / "会议通知.docx", "通知", ["正文"])
    content = path.read_bytes()
    scan(run)
    path.unlink()
    counts = scan(run)
    assert counts["deleted"] == 1
    rec = records(run)[f"{MEETING}/会议通知.docx"]
    assert rec["state"] == "deleted" and rec["deleted_at"]
    assert "已被删除" in run("status").output
    run("restore", f"{MEETING}/会议通知.docx")
    assert path.read_bytes() == content
    assert records(run)[f"{MEETING}/会议通知.docx"]["state"] == "active"
    actions = [e["action"] for e in as_json(run("log", "--json"))]
    assert actions[-3:] == ["delete", "restore", "reappear"]


def test_restore_refuses_to_overwrite_another_file(root: Path, run: Run) -> None:
    path = root / MEETING / "通知.txt"
    path.parent.mkdir(parents=True)
    path.write_text("旧通知", encoding="utf-8")
    scan(run)
    path.unlink()
    scan(run)
    path.write_text("另一份新通知", encoding="utf-8")
    scan(run)
    result = run("restore", f"{MEETING}/通知.txt", expect=None)
    # The path now names the new active record, which has only one version: nothing to restore over it.
    assert result.exit_code == 9
    assert path.read_text(encoding="utf-8") == "另一份新通知"
    missing = run("restore", "不存在.docx", expect=5)
    assert "没有这个文件" in missing.output


# -- bad input -------------------------------------------------------------------------------------


def test_odd_names_empty_and_huge_files(root: Path, run: Run) -> None:
    inbox = root / "护理质控中心/收件箱"
    (inbox / "空文件.docx").write_bytes(b"")
    (inbox / "带 空格 的 名字.txt").write_text("空格", encoding="utf-8")
    (inbox / "表情😀通知.txt").write_text("emoji", encoding="utf-8")
    long_name = "长" * 60 + ".txt"  # 180 bytes of UTF-8 + suffix, near the 255-byte limit
    (inbox / long_name).write_text("long", encoding="utf-8")
    bad = os.fsencode(inbox) + b"/\xff\xfe\xb2\xbb\xca\xc7utf8.txt"  # GBK bytes: not valid UTF-8
    with open(bad, "wb") as fh:
        fh.write(b"gbk name")
    huge = inbox / "巨大视频.mp4"
    with huge.open("wb") as fh:
        fh.truncate(200 * 1024 * 1024)
    counts = scan(run)
    assert counts["added"] == 6 and counts["errors"] == 0
    recs = records(run)
    assert recs["护理质控中心/收件箱/空文件.docx"]["size"] == 0
    assert recs["护理质控中心/收件箱/巨大视频.mp4"]["size"] == 200 * 1024 * 1024
    odd = [p for p in recs if "utf8.txt" in p]
    assert odd and "\\x" in odd[0]
    assert scan(run)["unchanged"] == 6
    os.unlink(bad)
    assert scan(run)["deleted"] == 1


def test_symlink_out_of_the_root_is_not_followed(root: Path, run: Run, tmp_path: Path) -> None:
    secret = tmp_path / "outside.txt"
    secret.write_text("不应进入档案", encoding="utf-8")
    link = root / "护理质控中心/收件箱/链接.txt"
    link.symlink_to(secret)
    (root / "护理质控中心/收件箱/外部目录").symlink_to(tmp_path, target_is_directory=True)
    result = run("scan", "--json")
    data = as_json(result)
    assert data["added"] == 0 and data["skipped"] == 2
    assert records(run) == {}


def test_vanishing_and_unreadable_files_are_reported_not_fatal(
    root: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = root / "护理质控中心/收件箱"
    for name in ("消失.txt", "无权限.txt", "正常.txt"):
        (inbox / name).write_text(name, encoding="utf-8")
    original = ObjectStore.add_file

    def faulty(self: ObjectStore, source: Path | bytes) -> object:
        name = Path(os.fsdecode(source)).name
        if name == "消失.txt":
            Path(os.fsdecode(source)).unlink()
        if name == "无权限.txt":
            raise PermissionError(13, "Permission denied")
        return original(self, source)

    monkeypatch.setattr(ObjectStore, "add_file", faulty)
    data = as_json(run("scan", "--json"))
    assert data["added"] == 1 and data["errors"] == 2
    messages = {e["path"].rsplit("/", 1)[-1]: e["message"] for e in data["error_details"]}
    assert "消失" in messages["消失.txt"] and "权限" in messages["无权限.txt"]
    assert "无权限.txt：没有读取权限" in run("status").output
    monkeypatch.setattr(ObjectStore, "add_file", original)
    assert scan(run)["added"] == 1
    assert "没有读取权限" not in run("status").output


# -- classification by hand ------------------------------------------------------------------------


def test_classify_overrides_and_survives_rescans_and_moves(root: Path, run: Run) -> None:
    path = root / "护理质控中心/收件箱/IMG_0001.jpg"
    path.write_bytes(b"\xff\xd8 photo of a paper sign-in sheet")
    scan(run)
    out = run(
        "classify",
        "护理质控中心/收件箱/IMG_0001.jpg",
        "--category",
        "签到表",
        "--activity",
        "2026-03-15 第一次工作会议",
    ).output
    assert "manual" in out
    rec = records(run)["护理质控中心/收件箱/IMG_0001.jpg"]
    assert rec["category"] == "签到表" and rec["classified_by"]["category"] == "manual"
    assert rec["year"] == 2026 and rec["activity_type"] == "meeting" and rec["suggestion"] is None
    target = root / MEETING / "IMG_0001.jpg"
    target.parent.mkdir(parents=True)
    path.rename(target)
    scan(run)
    moved = records(run)[f"{MEETING}/IMG_0001.jpg"]
    assert moved["category"] == "签到表" and moved["classified_by"]["category"] == "manual"
    bad = run("classify", f"{MEETING}/IMG_0001.jpg", "--category", "照片", expect=4)
    assert "未知的类别" in bad.output
    assert run("classify", f"{MEETING}/IMG_0001.jpg", expect=2).exit_code == 2


def test_ls_filters_and_json_fields(root: Path, run: Run) -> None:
    make_docx(root / MEETING / "会议通知.docx", "通知", ["x"])
    make_docx(root / "院感质控中心/2026/2026-04-20 院感防控督查/督查记录.docx", "督查记录", ["x"])
    scan(run)
    all_records = as_json(run("ls", "--json"))
    assert {
        "path",
        "center",
        "year",
        "activity",
        "activity_type",
        "category",
        "classified_by",
        "sha256",
        "size",
        "state",
    } <= set(all_records[0])
    only = as_json(run("ls", "--json", "--center", "院感质控中心", "--category", "督查记录"))
    assert [r["path"] for r in only] == ["院感质控中心/2026/2026-04-20 院感防控督查/督查记录.docx"]
    assert "共 2 条" in run("ls").output


# -- audit log -------------------------------------------------------------------------------------


def test_log_verify_detects_edited_and_deleted_entries(root: Path, run: Run) -> None:
    for i in range(3):
        (root / "护理质控中心/收件箱" / f"{i}.txt").write_text(str(i), encoding="utf-8")
    scan(run)
    assert "哈希链校验通过" in run("log", "verify").output
    db = sqlite3.connect(root / ".zhikong" / "catalogue.sqlite")
    db.execute("UPDATE audit SET path = '伪造.txt' WHERE seq = 4")
    db.commit()
    edited = run("log", "verify", expect=7)
    assert "第 4 条" in edited.output and "被改动" in edited.output
    db.execute("DELETE FROM audit WHERE seq = 5")
    db.commit()
    assert "缺失" in run("log", "verify", expect=7).output
    last = db.execute("SELECT MAX(seq) FROM audit").fetchone()[0]
    db.execute("DELETE FROM audit WHERE seq = ?", (last,))
    db.commit()
    assert "截断" in run("log", "verify", expect=7).output
    db.close()


def test_log_lists_entries_for_one_center(root: Path, run: Run) -> None:
    make_docx(root / MEETING / "会议通知.docx", "通知", ["x"])
    (root / "院感质控中心/收件箱/a.txt").write_text("a", encoding="utf-8")
    scan(run)
    out = run("log", "--center", "护理质控中心").output
    assert "会议通知.docx" in out and "a.txt" not in out


def test_every_command_has_help_text(runner: CliRunner) -> None:
    from zhikong.cli import cli as group

    def walk(cmd: object, prefix: list[str]) -> None:
        import click

        assert isinstance(cmd, click.Command)
        assert cmd.help and cmd.help.strip(), f"no help: {' '.join(prefix)}"
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, [*prefix, name])

    walk(group, ["zhikong"])
