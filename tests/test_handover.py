"""Handover (H39) through its commands: create → verify (ours and bagit's) → import, tampering, faults,
malicious bundles, and the after-seal rule."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import bagit
import pytest
from click.testing import CliRunner, Result
from conftest import Run, as_json, invoke

from zhikong.app import Archive
from zhikong.archive import bag, handover, handoverdocs
from zhikong.archive.demo import DEMO_CENTERS, build_sample_archive
from zhikong.archive.samplefiles import make_docx

CENTER = "护理质控中心"
NEW_HOST = "金乡县中医院"


def _zk(runner: CliRunner, root: Path | None, *args: str, expect: int | None = 0) -> Result:
    return invoke(runner, *(("--root", str(root)) if root else ()), *args, expect=expect)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_source(tmp_path_factory.mktemp("old") / "档案库")


def build_source(root: Path) -> Path:
    """The demo archive, scanned, with one file changed (two versions) and one deleted (history)."""
    arc = Archive.init(
        "管理员", root, county="金乡县", bureau="金乡县卫生健康局", doc_prefix="金卫健字", fonds="Z109"
    )
    for c in DEMO_CENTERS:
        arc.add_center("管理员", c, today=date.today())
    made = build_sample_archive(root, date.today().year)
    runner = CliRunner()
    _zk(runner, root, "scan")
    plan = next(p for p in made if p.name.endswith("护理质控工作计划.docx"))
    make_docx(plan, "工作计划（修订）", ["第二版：增加院感协同督查。"])
    os.utime(plan, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    next(p for p in made if p.name == "竞赛总结.docx").unlink()
    _zk(runner, root, "scan")
    return root


@pytest.fixture(scope="module")
def bundle(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out") / "护理移交包"
    _zk(CliRunner(), source, "handover", "create", "--center", CENTER, "--to", NEW_HOST, "--out", str(out))
    return out


def _copy(bundle: Path, tmp_path: Path) -> Path:
    target = tmp_path / "包"
    shutil.copytree(bundle, target, symlinks=True)
    return target


def _new_archive(runner: CliRunner, root: Path) -> None:
    """An empty archive with the one center."""
    _zk(runner, None, "init", str(root), "--county", "金乡县", "--bureau", "金乡县卫生健康局",
        "--doc-prefix", "金卫健字", "--fonds", "Z109")  # fmt: skip
    _zk(runner, root, "center", "add", CENTER, "--code", "HL", "--host", "金乡县人民医院")


def _create(runner: CliRunner, root: Path, out: Path) -> Result:
    return _zk(runner, root, "handover", "create", "--center", CENTER, "--to", NEW_HOST, "--out", str(out))


def _center_records(runner: CliRunner, root: Path) -> dict[str, tuple[str, str, int]]:
    rows = as_json(_zk(runner, root, "ls", "--json", "--center", CENTER))
    return {r["path"]: (r["sha256"], r["state"], r["version"]) for r in rows}


# -- the round trip --------------------------------------------------------------------------------


def test_round_trip_keeps_records_checksums_history_audit_and_search(
    source: Path, bundle: Path, tmp_path: Path, runner: CliRunner
) -> None:
    verified = _zk(runner, None, "handover", "verify", str(bundle))
    assert "核验通过" in verified.output and "安全性：通过" in verified.output
    assert bagit.Bag(str(bundle)).validate(processes=1)
    info = bagit.Bag(str(bundle)).info
    assert info["Source-Organization"] == "金乡县人民医院" and info["Receiving-Organization"] == NEW_HOST
    assert info["QC-Center"] == CENTER and info["Payload-Oxum"]
    for name in ("移交清单.docx", "交接书.docx", "封存记录.docx", f"{CENTER}PDF汇编.pdf", "目录.csv"):
        assert (bundle / "data" / "移交资料" / name).is_file(), name

    new_root = tmp_path / "新挂靠单位"
    imported = _zk(runner, new_root, "handover", "import", str(bundle))
    assert "文件夹与目录一致" in imported.output

    before, after = _center_records(runner, source), _center_records(runner, new_root)
    assert after == before  # same paths, sha256, states (the deleted record too) and version numbers
    assert any(state == "deleted" for _sha, state, _v in after.values())
    assert any(version == 2 for _sha, _state, version in after.values())
    for path, (sha, state, _v) in after.items():
        if state == "active":
            assert hashlib.sha256((new_root / path).read_bytes()).hexdigest() == sha
    log = _zk(runner, new_root, "log", "verify")
    assert "哈希链校验通过" in log.output and "移交带来的审计日志：1 条链" in log.output
    assert "金乡县中医院" in (new_root / "zhikong.toml").read_text(encoding="utf-8")
    new_arc = Archive.open(new_root)
    changes = new_arc.handover_status("新秘书").host_changes
    assert [(h.center, h.from_host, h.to_host) for h in changes] == [(CENTER, "金乡县人民医院", NEW_HOST)]
    assert len(new_arc.imported_log("新秘书").entries) > 10
    old_plan = next(r for r in new_arc.records("新秘书", center=CENTER).records if r.version == 2)
    hits = _zk(runner, new_root, "search", "跌倒", "评估")
    assert "督查记录" in hits.output
    restored = _zk(runner, new_root, "restore", old_plan.path, "--version", "1")
    assert "第 3 版" in restored.output  # the first version's preserved copy travelled with the bundle


def test_zip_bundle_round_trip(source: Path, tmp_path: Path, runner: CliRunner) -> None:
    out = tmp_path / "移交包.zip"
    _zk(runner, source, "handover", "create", "--center", CENTER, "--to", NEW_HOST, "--out", str(out))
    assert zipfile.is_zipfile(out)
    assert [p.name for p in tmp_path.iterdir()] == ["移交包.zip"]  # no temporary leftovers
    _zk(runner, None, "handover", "verify", str(out))
    _zk(runner, tmp_path / "新库", "handover", "import", str(out))
    assert _center_records(runner, tmp_path / "新库") == _center_records(runner, source)


# -- tampering -------------------------------------------------------------------------------------

PLAN = f"data/{CENTER}/{date.today().year}/工作计划/{date.today().year}年护理核心指标提升计划.docx"
SCAN = f"data/{CENTER}/收件箱/扫描件20260905.pdf"


def _flip_byte(bag: Path) -> str:
    path = bag / PLAN
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return PLAN


def _remove(bag: Path) -> str:
    (bag / SCAN).unlink()
    return SCAN


def _add(bag: Path) -> str:
    extra = bag / "data" / CENTER / "多出来的文件.txt"
    extra.write_text("后加的", encoding="utf-8")
    return "多出来的文件.txt"


def _edit_manifest(bag: Path) -> str:
    manifest = bag / "manifest-sha256.txt"
    lines = manifest.read_text(encoding="utf-8").splitlines()
    i = next(n for n, line in enumerate(lines) if line.endswith(SCAN))
    digest, name = lines[i].split(None, 1)
    lines[i] = ("0" if digest[0] != "0" else "1") + digest[1:] + "  " + name
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return "manifest-sha256.txt"


@pytest.mark.parametrize("tamper", [_flip_byte, _remove, _add, _edit_manifest])
def test_tampering_is_caught_and_named(
    bundle: Path, tmp_path: Path, runner: CliRunner, tamper: Callable[[Path], str]
) -> None:
    bag = _copy(bundle, tmp_path)
    named = tamper(bag)
    result = _zk(runner, None, "handover", "verify", str(bag), expect=7)
    assert "核验未通过" in result.output and named in result.output
    new_root = tmp_path / "新库"
    _zk(runner, new_root, "handover", "import", str(bag), expect=7)
    assert not new_root.exists()


def test_every_tampering_is_listed_at_once(bundle: Path, tmp_path: Path, runner: CliRunner) -> None:
    bag = _copy(bundle, tmp_path)
    named = [_flip_byte(bag), _remove(bag), _add(bag)]
    result = _zk(runner, None, "handover", "verify", "--json", str(bag), expect=7)
    report = as_json(result)
    paths = " ".join(str(p["path"]) for p in report["problems"])
    for name in named:
        assert name.removeprefix("data/") in paths
    codes = {p["code"] for p in report["problems"]}
    assert {"authenticity.checksum", "integrity.missing", "integrity.unexpected"} <= codes


# -- interruption ----------------------------------------------------------------------------------


def test_interrupted_create_leaves_nothing_behind(
    source: Path, tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C half-way through the payload

    monkeypatch.setattr(handoverdocs, "compile_pdfs", fail)
    out_dir = tmp_path / "输出"
    out_dir.mkdir()
    for out in (out_dir / "移交包", out_dir / "移交包.zip"):
        result = _zk(
            runner,
            source,
            "handover",
            "create",
            "--center",
            CENTER,
            "--to",
            NEW_HOST,
            "--out",
            str(out),
            expect=130,
        )
        assert "已中断" in result.output
    assert list(out_dir.iterdir()) == []


# -- untrusted bundles -----------------------------------------------------------------------------


def _symlink(bag: Path) -> str:
    os.symlink("/etc/passwd", bag / "data" / CENTER / "链接.txt")
    return "链接.txt"


def _dotdot(bag: Path) -> str:
    with open(bag / "manifest-sha256.txt", "a", encoding="utf-8") as fh:
        fh.write("0" * 64 + "  data/../../evil.txt\n")
    return "evil.txt"


def _absolute(bag: Path) -> str:
    with open(bag / "manifest-sha512.txt", "a", encoding="utf-8") as fh:
        fh.write("0" * 128 + "  /etc/passwd\n")
    return "/etc/passwd"


def _case_duplicate(bag: Path) -> str:
    folder = bag / "data" / CENTER / "收件箱"
    (folder / "Readme.txt").write_text("a", encoding="utf-8")
    (folder / "README.txt").write_text("b", encoding="utf-8")
    return "README.txt"


def _nfd_duplicate(bag: Path) -> str:
    import unicodedata

    folder = bag / "data" / CENTER / "收件箱"
    (folder / unicodedata.normalize("NFC", "café.txt")).write_text("a", encoding="utf-8")
    (folder / unicodedata.normalize("NFD", "café.txt")).write_text("b", encoding="utf-8")
    return "café.txt"


@pytest.mark.parametrize("attack", [_symlink, _dotdot, _absolute, _case_duplicate, _nfd_duplicate])
def test_malicious_bundle_is_refused_before_anything_is_written(
    bundle: Path, tmp_path: Path, runner: CliRunner, attack: Callable[[Path], str]
) -> None:
    bag = _copy(bundle, tmp_path)
    named = attack(bag)
    existing = tmp_path / "新库"
    Archive.init(
        "管理员", existing, county="金乡县", bureau="金乡县卫生健康局", doc_prefix="金卫健字", fonds="Z109"
    )
    before = sorted(p.relative_to(existing) for p in existing.rglob("*"))
    result = _zk(runner, existing, "handover", "import", str(bag), expect=7)
    assert "不安全" in result.output and named in result.output
    assert sorted(p.relative_to(existing) for p in existing.rglob("*")) == before
    assert not (existing / CENTER).exists()
    _zk(runner, None, "handover", "verify", str(bag), expect=7)


def _zip_with(tmp_path: Path, bundle: Path, extra: Callable[[zipfile.ZipFile], None]) -> Path:
    out = tmp_path / "坏包.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for path in sorted(bundle.rglob("*")):
            if path.is_file():
                zf.write(path, f"包/{path.relative_to(bundle).as_posix()}")
        extra(zf)
    return out


@pytest.mark.parametrize(
    ("member", "symlink"),
    [("包/data/../../../evil.txt", False), ("/etc/evil.txt", False), ("包/data/护理质控中心/链接", True)],
)
def test_malicious_zip_is_refused_before_extraction(
    bundle: Path, tmp_path: Path, runner: CliRunner, member: str, symlink: bool
) -> None:
    def add(zf: zipfile.ZipFile) -> None:
        info = zipfile.ZipInfo(member)
        if symlink:
            info.external_attr = (0o120777 << 16) | 0
        zf.writestr(info, "/etc/passwd" if symlink else "x")

    bad = _zip_with(tmp_path, bundle, add)
    new_root = tmp_path / "新库"
    result = _zk(runner, new_root, "handover", "import", str(bad), expect=7)
    assert "不安全" in result.output
    assert not new_root.exists() and not (tmp_path.parent / "evil.txt").exists()


# -- the new archive's side ------------------------------------------------------------------------


def test_import_refuses_an_archive_that_already_holds_the_center(
    source: Path, bundle: Path, runner: CliRunner
) -> None:
    arc = Archive.open(source)
    before = arc.records("管理员").to_json()
    result = _zk(runner, source, "handover", "import", str(bundle), expect=9)
    assert "不能直接接收" in result.output
    assert arc.records("管理员").to_json() == before
    assert arc.imported_log("管理员").entries == ()


def test_edited_imported_audit_is_caught_by_log_verify(
    bundle: Path, tmp_path: Path, runner: CliRunner
) -> None:
    new_root = tmp_path / "新库"
    _zk(runner, new_root, "handover", "import", str(bundle))
    conn = sqlite3.connect(new_root / ".zhikong" / "catalogue.sqlite")
    conn.execute("UPDATE imported_audit SET path = '改过的路径' WHERE redacted = 0 AND path IS NOT NULL")
    conn.commit()
    conn.close()
    result = _zk(runner, new_root, "log", "verify", expect=7)
    assert "导入的审计日志" in result.output


def test_changes_after_the_seal_are_reported(source: Path, bundle: Path, runner: CliRunner) -> None:
    late = source / CENTER / "收件箱" / "封存后放入.docx"
    make_docx(late, "封存后放入的文件", ["不应再改动"])
    try:
        result = _zk(runner, source, "handover", "status", expect=1)
        assert "record.after_seal" in result.output and "封存后放入.docx" in result.output
        arc = Archive.open(source)
        findings = arc.handover_status("医政科", center=CENTER).findings
        assert [(f.action, f.path) for f in findings] == [("add", f"{CENTER}/收件箱/封存后放入.docx")]
        assert arc.handover_status("医政科", center="院感质控中心").findings == ()
        checked = json.loads(_zk(runner, source, "check", "--json", expect=1).stdout)["findings"]
        sealed = [f for f in checked if f["rule"] == "record.after_seal"]
        assert [(f["center"], f["paths"], f["article"]) for f in sealed] == [
            (CENTER, [f"{CENTER}/收件箱/封存后放入.docx"], "H39")
        ]
    finally:
        late.unlink()
        _zk(runner, source, "scan")


def test_zip_bomb_bundle_is_refused_before_extraction(
    bundle: Path, tmp_path: Path, runner: CliRunner
) -> None:
    def add(zf: zipfile.ZipFile) -> None:
        # 200 MB of zeros deflate to about 200 KB: a ratio no real bundle (stored, uncompressed) has.
        info = zipfile.ZipInfo("包/data/护理质控中心/炸弹.bin")
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as member:
            block = bytes(1 << 20)
            for _ in range(200):
                member.write(block)

    bad = _zip_with(tmp_path, bundle, add)
    assert bad.stat().st_size < 5 * 1024 * 1024
    new_root = tmp_path / "新库"
    result = _zk(runner, new_root, "handover", "import", str(bad), expect=7)
    assert "压缩炸弹" in result.output
    assert not new_root.exists()


def test_a_called_off_handover_releases_the_seal(root: Path, run: Run, tmp_path: Path) -> None:
    make_docx(root / CENTER / "2026" / "2026-03-15 第一次工作会议" / "会议通知.docx", "通知", ["正文"])
    run("scan")
    run("handover", "create", "--center", CENTER, "--to", NEW_HOST, "--out", str(tmp_path / "包"))
    make_docx(root / CENTER / "收件箱" / "封存后.docx", "封存后", ["x"])
    run("scan")
    assert any(
        f["rule"] == "record.after_seal"
        for f in json.loads(run("check", "--json", expect=1).stdout)["findings"]
    )
    assert run("handover", "release", "--center", CENTER, "--reason", " ", expect=4).exit_code == 4
    out = run("handover", "release", "--center", CENTER, "--reason", "移交取消，经医政科同意").output
    assert "已解除封存" in out
    assert not any(
        f["rule"] == "record.after_seal"
        for f in json.loads(run("check", "--json", expect=None).stdout)["findings"]
    )
    assert "已解除于" in run("handover", "status").output
    assert run("handover", "release", "--center", CENTER, "--reason", "再次", expect=9).exit_code == 9
    assert "handover.release" in run("log").output
    run("log", "verify")


def test_imported_audit_entries_are_listed(bundle: Path, tmp_path: Path, runner: CliRunner) -> None:
    new_root = tmp_path / "新库"
    _zk(runner, new_root, "handover", "import", str(bundle))
    listed = _zk(runner, new_root, "log", "--imported").output
    assert f"{CENTER}/" in listed and "add" in listed
    assert "仅保留哈希" in listed  # the other center's entries travel as hashes only
    assert "院感质控中心/" not in listed


# -- open rectification items ----------------------------------------------------------------------


def test_open_rectification_items_are_the_checks_closed_loop_findings(
    root: Path, run: Run, tmp_path: Path
) -> None:
    """One evaluation of the closed loop (J6(3), J19): the bundle lists as open exactly the inspections
    `zhikong check` reports under inspection.closed_loop, in the same words; an inspection still within
    its rectification period is listed as in progress, and a closed one not at all."""
    base = root / CENTER / "2026"
    closed = base / "2026-05-10 护理质量督查"
    for name in ("督查记录", "反馈意见", "整改报告", "回头看记录"):
        make_docx(closed / f"{name}.docx", f"护理质量{name}", ["正文"])
    still_open = base / "2026-09-01 院感防控督查"
    make_docx(still_open / "督查记录.docx", "院感防控督查记录", ["督查两家卫生院。"])
    make_docx(still_open / "反馈意见.docx", "院感防控督查反馈意见", ["问题清单、责任清单、整改清单。"])
    recent = base / "2026-12-20 护理安全督查"
    make_docx(recent / "督查记录.docx", "护理安全督查记录", ["督查一家卫生院。"])
    run("scan")
    as_of = "2027-01-15"  # 1 September is past its 60-day rectification period, 20 December is not

    findings = [
        f
        for f in as_json(run("check", "--json", "--as-of", as_of, expect=1))["findings"]
        if f["rule"] == "inspection.closed_loop" and f["center"] == CENTER
    ]
    out = tmp_path / "包"
    run("handover", "create", "--center", CENTER, "--to", NEW_HOST, "--as-of", as_of, "--out", str(out))
    items = json.loads((out / "data" / handover.MACHINE / "rectification.json").read_text(encoding="utf-8"))

    open_items = [i for i in items if i["state"] == "open"]
    assert [(i["activity"], i["message"], i["missing"], i["files"]) for i in open_items] == [
        (f["details"]["activity"], f["message"], f["details"]["missing"], f["paths"][1:]) for f in findings
    ]
    assert [i["activity"] for i in open_items] == ["2026-09-01 院感防控督查"]
    assert open_items[0]["missing"] == ["整改报告", "回头看"]
    assert [(i["activity"], i["state"]) for i in items] == [
        ("2026-09-01 院感防控督查", "open"),
        ("2026-12-20 护理安全督查", "in_progress"),
    ]


def test_paper_only_items_travel_with_their_center(tmp_path: Path, runner: CliRunner) -> None:
    """A paper original registered by `paper add` (no file, under 纸质件/<center>/) is part of the center's
    archive: it goes into the bundle's catalogue and arrives in the new host's paper register."""
    root = tmp_path / "旧库"
    _new_archive(runner, root)
    make_docx(root / CENTER / "2026/2026-03-15 第一次工作会议/会议通知.docx", "会议通知", ["内容。"])
    _zk(runner, root, "scan")
    _zk(runner, root, "paper", "add", "--center", CENTER, "--title", "第一次工作会议签到表", "--category", "签到表",
        "--activity", "2026-03-15 第一次工作会议", "--box", "1")  # fmt: skip
    _create(runner, root, tmp_path / "包")
    new_root = tmp_path / "新库"
    _zk(runner, new_root, "handover", "import", str(tmp_path / "包"))
    arrived = json.loads(_zk(runner, new_root, "ls", "--json").stdout)
    paper = [r for r in arrived if r["kind"] == "paper"]
    assert [(r["title"], r["paper_box"]) for r in paper] == [("第一次工作会议签到表", 1)]
    assert paper[0]["archival_code"] and paper[0]["path"].startswith(f"纸质件/{CENTER}/")
    assert "哈希链校验通过" in _zk(runner, new_root, "log", "verify").output


# -- names that collide on Windows or macOS --------------------------------------------------------


def colliding_names_round_trip(
    tmp_path: Path, runner: CliRunner, contents: dict[str, bytes]
) -> tuple[Path, Path, dict[str, Path]]:
    """An archive holding `contents` (paths under the center's activity folder), handed over and
    imported: returns (bundle, new root, each path → where the bag holds it)."""
    root = tmp_path / "旧库"
    _new_archive(runner, root)
    activity = root / CENTER / "2026" / "2026-03-15 第一次工作会议"
    for rel, data in contents.items():
        (activity / rel).parent.mkdir(parents=True, exist_ok=True)
        (activity / rel).write_bytes(data)
    _zk(runner, root, "scan")
    created = _create(runner, root, tmp_path / "包")
    assert "包内另存为" in created.output
    bundle = tmp_path / "包"
    records = json.loads((bundle / "data/移交资料/zhikong/records.json").read_text(encoding="utf-8"))
    prefix = f"{CENTER}/2026/2026-03-15 第一次工作会议/"
    in_bag = {r["path"][len(prefix) :]: bundle / "data" / (r.get("bag_path") or r["path"]) for r in records}
    assert set(in_bag) == set(contents)  # every original name is in the catalogue
    folded = [bag.fold(p.relative_to(bundle).as_posix()) for p in in_bag.values()]
    assert len(set(folded)) == len(folded)  # and no two names in the bag collide on Windows or macOS
    for rel, path in in_bag.items():
        assert path.read_bytes() == contents[rel]
    verified = _zk(runner, None, "handover", "verify", str(bundle))
    assert "核验通过" in verified.output and "安全性：通过" in verified.output
    assert bagit.Bag(str(bundle)).validate(processes=1)
    new_root = tmp_path / "新库"
    imported = _zk(runner, new_root, "handover", "import", str(bundle))
    assert "文件夹与目录一致" in imported.output
    for rel, data in contents.items():
        assert (new_root / prefix / rel).read_bytes() == data  # original names restored (Linux holds both)
    assert {r["path"][len(prefix) :] for r in as_json(_zk(runner, new_root, "ls", "--json"))} == set(contents)
    return bundle, new_root, in_bag


def test_names_differing_in_case_or_unicode_form_travel_under_distinct_names(
    tmp_path: Path, runner: CliRunner
) -> None:
    """Test.pdf and test.pdf, café in NFC and NFD, folders Plan and plan: two files each on Linux, one on
    Windows. The bag keeps them apart, verify accepts its own bundle, import restores the names."""
    docs = {}
    for i, rel in enumerate(
        [
            "Test.docx",
            "test.docx",
            "caf\u00e9.docx",
            "cafe\u0301.docx",
            "Plan/a.docx",
            "plan/a.docx",
            "plan/b.docx",
        ]
    ):
        make_docx(tmp_path / "src" / f"{i}.docx", f"文件{i}", [f"第 {i} 份内容。"])
        docs[rel] = (tmp_path / "src" / f"{i}.docx").read_bytes()
    _bundle, _new_root, in_bag = colliding_names_round_trip(tmp_path, runner, docs)
    assert in_bag["Test.docx"].name == "Test.docx" and in_bag["test.docx"].name == "test（同名2）.docx"
    assert in_bag["plan/b.docx"].parent.name == "Plan"  # folders that fold alike are merged in the bag


def test_a_receiver_that_cannot_hold_both_names_keeps_the_bags_name(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a case-insensitive file system (Windows, macOS) the second file keeps its name from the bag,
    nothing is overwritten, and the original name is told and audited."""
    from zhikong.archive import handover_import

    docs = {}
    for i, rel in enumerate(["Test.docx", "test.docx"]):
        make_docx(tmp_path / "src" / f"{i}.docx", f"文件{i}", [f"第 {i} 份内容。"])
        docs[rel] = (tmp_path / "src" / f"{i}.docx").read_bytes()
    root = tmp_path / "旧"
    _new_archive(runner, root)
    for rel, data in docs.items():
        (root / CENTER / "2026" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / CENTER / "2026" / rel).write_bytes(data)
    _zk(runner, root, "scan")
    _create(runner, root, tmp_path / "包")
    # a file system that answers to test.docx when Test.docx exists
    real = handover_import._holds_exactly
    monkeypatch.setattr(
        handover_import,
        "_holds_exactly",
        lambda base, rel: real(base, rel) and not (base / rel).with_name("Test.docx").exists(),
    )
    imported = _zk(runner, tmp_path / "新", "handover", "import", str(tmp_path / "包"))
    assert (
        "保留包内名称" in imported.output
        and f"{CENTER}/2026/test.docx → {CENTER}/2026/test（同名2）.docx" in (imported.output)
    )
    new = tmp_path / "新" / CENTER / "2026"
    assert (new / "Test.docx").read_bytes() == docs["Test.docx"]
    assert (new / "test（同名2）.docx").read_bytes() == docs["test.docx"]
    paths = {r["path"] for r in as_json(_zk(runner, tmp_path / "新", "ls", "--json"))}
    assert paths == {f"{CENTER}/2026/Test.docx", f"{CENTER}/2026/test（同名2）.docx"}
    entries = Archive.open(tmp_path / "新").log("新秘书").entries
    done = next(e for e in entries if e.action == "handover.import")
    assert any("test.docx → " in k for k in done.detail["kept_bag_names"])
    assert "文件夹与目录一致" in imported.output


def test_real_pdfs_named_test_pdf_and_test_pdf_round_trip(tmp_path: Path, runner: CliRunner) -> None:
    """The reported case on real files: two real PDFs (pdf.js's and pypdf's test files, sources in
    tests/samples/real/SOURCES.csv) named Test.pdf and test.pdf in one folder."""
    real = Path(__file__).parent / "samples" / "real" / "pdf"
    files = [real / "hello-world.pdf", real / "google-doc-document.pdf"]
    if not all(f.is_file() for f in files):
        pytest.skip("real-file corpus not here (tests/samples/real/README.md says how to gather it)")
    contents = {"Test.pdf": files[0].read_bytes(), "test.pdf": files[1].read_bytes()}
    _bundle, new_root, in_bag = colliding_names_round_trip(tmp_path, runner, contents)
    assert sorted(p.name for p in in_bag.values()) == ["Test.pdf", "test（同名2）.pdf"]
    hits = as_json(_zk(runner, new_root, "search", "Beautiful", "--json"))
    assert [h["path"].rsplit("/", 1)[-1] for h in hits] == ["test.pdf"]  # its text arrived under its name


def test_a_centers_own_issuing_keys_travel_with_it(tmp_path: Path, runner: CliRunner) -> None:
    """The center's full name, its own 发文代字 and whose name heads its 请示 (zhikong.toml) arrive with
    it: the new host drafts the center's 请示 without setting them again."""
    root = tmp_path / "旧"
    _zk(runner, None, "init", str(root), "--county", "金乡县", "--bureau", "金乡县卫生健康局",
        "--doc-prefix", "金卫健字", "--fonds", "Z109")  # fmt: skip
    _zk(runner, root, "center", "add", CENTER, "--code", "HL", "--host", "金乡县人民医院",
        "--director", "王秀英", "--full-name", "金乡县护理质量控制中心", "--doc-prefix", "金护质控")  # fmt: skip
    make_docx(root / CENTER / "2026" / "工作计划" / "护理质控工作计划.docx", "工作计划", ["全年安排。"])
    out = tmp_path / "包"
    _create(runner, root, out)
    new_root = tmp_path / "新"
    _zk(runner, new_root, "handover", "import", str(out))
    (center,) = [c for c in as_json(_zk(runner, new_root, "center", "list", "--json")) if c["name"] == CENTER]
    assert center["full_name"] == "金乡县护理质量控制中心" and center["doc_prefix"] == "金护质控"
    assert center["host"] == NEW_HOST and center["roster"]["director"] == "王秀英"
