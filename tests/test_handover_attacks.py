"""Handover bundles made by an adversary (issue 11): each attack is reproduced on a real bundle made with
`zhikong handover create`, tampered with and its manifests recomputed with the bagit package — as anyone
changing a bundle would — and the outcome asserted: refused by `handover verify` with a Chinese message
and exit code 7, never a traceback; `handover import` writes, deletes and records nothing anywhere."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
import zipfile
import zlib
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import bagit
import docx
import pytest
from click.testing import CliRunner, Result
from test_handover import CENTER, NEW_HOST, _zk, build_source

from zhikong.app import Archive
from zhikong.archive import handover
from zhikong.archive.drafts import DraftRequest

YEAR = date.today().year
PREFIX = "金卫健字"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """test_handover's source archive, plus a notice the bureau approved (金卫健字〔YEAR〕1号)."""
    root = build_source(tmp_path_factory.mktemp("old") / "档案库")
    arc = Archive.open(root)
    request = DraftRequest(CENTER, "关于召开护理质控工作会议的通知", "各医疗机构", "经研究，决定召开会议。")
    drafted = arc.draft("刘敏", request, today=date.today())
    approved = arc.approve("医政科", drafted.id, by="县卫生健康局医政科", today=date.today())
    assert approved.doc_number == f"{PREFIX}〔{YEAR}〕1号"
    return root


@pytest.fixture(scope="module")
def bundle(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out") / "护理移交包"
    _zk(CliRunner(), source, "handover", "create", "--center", CENTER, "--to", NEW_HOST, "--out", str(out))
    return out


@pytest.fixture(scope="module")
def paper_fingerprint(bundle: Path) -> str:
    """The fingerprint as the receiver reads it off the signed 交接书 (groups of eight, spaces and all)."""
    certificate = docx.Document(str(bundle / "data" / "移交资料" / "交接书.docx"))
    text = "\n".join(p.text for p in certificate.paragraphs)
    found = re.search(r"移交包指纹（SHA-256）：([0-9a-f ]{71})", text)
    assert found, text
    listing = docx.Document(str(bundle / "data" / "移交资料" / "移交清单.docx"))
    assert found.group(1) in "\n".join(p.text for p in listing.paragraphs)
    assert re.search(r"原挂靠单位审计日志链头：第 \d+ 条", text)
    return found.group(1)


# -- tampering tools: what a forger does -------------------------------------------------------------


def _copy(bundle: Path, tmp_path: Path) -> Path:
    target = tmp_path / "包"
    shutil.copytree(bundle, target, symlinks=True)
    return target


def _rebag(bag: Path, **info: str) -> None:
    """Recompute every manifest, the tag manifests and Payload-Oxum: the bag is consistent again."""
    made = bagit.Bag(str(bag))
    made.info.update(info)
    made.save(manifests=True)
    assert bagit.Bag(str(bag)).is_valid()


def _path(bag: Path, name: str) -> Path:
    return bag / "data" / handover.MACHINE / name


def _load(bag: Path, name: str) -> Any:
    if name.endswith(".jsonl"):
        lines = _path(bag, name).read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    return json.loads(_path(bag, name).read_text(encoding="utf-8"))


def _dump(bag: Path, name: str, data: Any) -> None:
    if name.endswith(".jsonl"):
        text = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in data)
    else:
        text = json.dumps(data, ensure_ascii=False, indent=1)
    _path(bag, name).write_text(text, encoding="utf-8")


def _edit(bag: Path, name: str, change: Callable[[Any], Any]) -> None:
    data = _load(bag, name)
    _dump(bag, name, change(data) or data)


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under `folder` with its content's sha256: "changes nothing anywhere"."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "/"
        for p in sorted(folder.rglob("*"))
    }


def _refused(runner: CliRunner, bag: Path, *options: str) -> Result:
    result = _zk(runner, None, "handover", "verify", str(bag), *options, expect=7)
    assert "核验未通过" in result.output and "Traceback" not in result.output
    return result


def _import_changes_nothing(runner: CliRunner, bag: Path, tmp_path: Path, *options: str) -> Result:
    """Import into a new folder beside the bag, and into an existing archive: both refused (exit 7) with
    nothing anywhere under tmp_path written, moved or deleted, and the new folder never made."""
    existing = tmp_path / "现有档案库"
    if not existing.exists():
        Archive.init(
            "管理员", existing, county="金乡县", bureau="金乡县卫生健康局", doc_prefix=PREFIX, fonds="Z109"
        )
    before = _snapshot(tmp_path)
    result = _zk(runner, tmp_path / "新库", "handover", "import", str(bag), *options, expect=7)
    assert "Traceback" not in result.output and "没有" in result.output
    _zk(runner, existing, "handover", "import", str(bag), *options, expect=7)
    assert _snapshot(tmp_path) == before
    assert not (tmp_path / "新库").exists()
    return result


# -- 1. every name a bundle carries is checked in verify --------------------------------------------


def _retarget(bag: Path, center: str, *, tag_folder: bool = False) -> None:
    """The bundle rewritten to name another center, its data emptied so every count agrees; with
    `tag_folder`, a tag folder named after the center holds a script."""
    _edit(
        bag,
        "handover.json",
        lambda h: h.update(center=center, records=0, record_files=0, record_bytes=0),
    )
    _edit(bag, "settings.json", lambda s: s["center"].update(name=center))
    for name in ("records.json", "versions.json", "boxes.json", "drafts.json", "doc_numbers.json"):
        _dump(bag, name, [])
    _dump(bag, "texts.jsonl", [])
    shutil.rmtree(bag / "data" / CENTER)
    if tag_folder:
        (bag / "逃逸").mkdir()
        (bag / "逃逸" / "payload.sh").write_text("#!/bin/sh\nrm -rf ~\n", encoding="utf-8")
    _rebag(bag, **{"QC-Center": center})


def test_a_center_named_after_a_sibling_folder_is_refused_and_the_sibling_kept(
    bundle: Path, tmp_path: Path, runner: CliRunner
) -> None:
    sibling = tmp_path / "现有档案库"
    Archive.init(
        "管理员", sibling, county="金乡县", bureau="金乡县卫生健康局", doc_prefix=PREFIX, fonds="Z109"
    )
    (sibling / "重要文件.txt").write_text("不能被删除", encoding="utf-8")
    bag = _copy(bundle, tmp_path)
    _retarget(bag, "../现有档案库")
    result = _refused(runner, bag)
    assert "中心名称不能用作文件夹" in result.output and "../现有档案库" in result.output
    _import_changes_nothing(runner, bag, tmp_path)
    assert (sibling / "重要文件.txt").read_text(encoding="utf-8") == "不能被删除"


def test_a_tag_folder_named_after_the_center_is_never_copied_out(
    bundle: Path, tmp_path: Path, runner: CliRunner
) -> None:
    bag = _copy(bundle, tmp_path)
    _retarget(bag, "../逃逸", tag_folder=True)
    _refused(runner, bag)
    _import_changes_nothing(runner, bag, tmp_path)
    assert not (tmp_path / "逃逸").exists()
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("payload.sh")] == [
        "包/逃逸/payload.sh"
    ]


@pytest.mark.parametrize("center", [".zhikong", "", "   ", "/tmp/绝对路径", "CON", "送审稿", "中心.", "a:b"])
def test_a_center_name_that_is_no_folder_name_is_refused(
    bundle: Path, tmp_path: Path, runner: CliRunner, center: str
) -> None:
    bag = _copy(bundle, tmp_path)
    _retarget(bag, center)
    result = _refused(runner, bag)
    assert "中心名称" in result.output
    _import_changes_nothing(runner, bag, tmp_path)


def _active(records: list[dict[str, Any]]) -> dict[str, Any]:
    return next(r for r in records if r["state"] == "active" and r["sha256"])


def _duplicate_row(bag: Path) -> str:
    _edit(bag, "records.json", lambda rs: rs.append(dict(_active(rs))))
    return "记录编号 id 重复"


def _unknown_version(bag: Path) -> str:
    _edit(bag, "versions.json", lambda vs: vs[0].update(record_id=987654))
    return "属于不存在的记录 987654"


def _records_not_a_list(bag: Path) -> str:
    _edit(bag, "records.json", lambda rs: {"records": rs})
    return "应为由对象组成的列表"


def _record_without_sha256(bag: Path) -> str:
    _edit(bag, "records.json", lambda rs: _active(rs).__delitem__("sha256"))
    return "缺少字段 sha256"


def _record_path_outside(bag: Path) -> str:
    _edit(bag, "records.json", lambda rs: _active(rs).update(path=f"{CENTER}/../../逃逸.docx"))
    return "路径含 .."


def _bag_path_outside(bag: Path) -> str:
    _edit(bag, "records.json", lambda rs: _active(rs).update(bag_path="院感质控中心/别人的.docx"))
    return "包内路径不能使用"


def _two_records_one_file_in_the_bag(bag: Path) -> str:
    def point(rs: list[dict[str, Any]]) -> None:
        first, second = [r for r in rs if r["state"] == "active" and r["sha256"]][:2]
        second["bag_path"] = first["path"].upper() if first["path"].isascii() else first["path"]

    _edit(bag, "records.json", point)
    return "包内文件名（不计大小写和 Unicode 形式）重复"


def _box_of_another_center(bag: Path) -> str:
    _edit(
        bag,
        "boxes.json",
        lambda bs: bs.append({"center": "院感质控中心", "year": YEAR, "retention": "D30", "box": 9}),
    )
    return "字段 center 的值不对"


def _draft_filed_outside(bag: Path) -> str:
    _edit(bag, "drafts.json", lambda ds: ds[0].update(final_path="../桌面/红头.docx"))
    return "final_path 不能使用"


def _audit_row_without_hash(bag: Path) -> str:
    _edit(bag, "audit.jsonl", lambda rows: rows[3].__delitem__("hash"))
    return "缺少字段 hash"


@pytest.mark.parametrize(
    "tamper",
    [
        _duplicate_row,
        _unknown_version,
        _records_not_a_list,
        _record_without_sha256,
        _record_path_outside,
        _bag_path_outside,
        _two_records_one_file_in_the_bag,
        _box_of_another_center,
        _draft_filed_outside,
        _audit_row_without_hash,
    ],
)
def test_malformed_bundle_data_is_named_never_a_traceback(
    bundle: Path, tmp_path: Path, runner: CliRunner, tamper: Callable[[Path], str]
) -> None:
    bag = _copy(bundle, tmp_path)
    named = tamper(bag)
    _rebag(bag)
    assert named in _refused(runner, bag).output
    _import_changes_nothing(runner, bag, tmp_path)


# -- 2. forged bundles: authentic, not only consistent ----------------------------------------------


def _extra_record(bag: Path) -> None:
    """A record the old host never had, with its file, every count and manifest made to agree."""
    content = b"%PDF-1.4\n% forged\n"
    rel = f"{CENTER}/收件箱/后加的检查记录.pdf"
    (bag / "data" / rel).write_bytes(content)

    def add(records: list[dict[str, Any]]) -> None:
        row = dict(_active(records))
        row.update(
            id=max(r["id"] for r in records) + 1,
            path=rel,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            archival_code=None,
            item_no=None,
            paper_box=None,
            title="后加的检查记录",
        )
        records.append(row)

    _edit(bag, "records.json", add)
    _edit(
        bag,
        "handover.json",
        lambda h: h.update(
            records=h["records"] + 1,
            record_files=h["record_files"] + 1,
            record_bytes=h["record_bytes"] + len(content),
        ),
    )
    _rebag(bag)


def test_an_extra_record_is_caught_by_the_fingerprint_on_the_signed_paper(
    bundle: Path, tmp_path: Path, runner: CliRunner, paper_fingerprint: str
) -> None:
    _zk(runner, None, "handover", "verify", str(bundle), "--fingerprint", paper_fingerprint)
    bag = _copy(bundle, tmp_path)
    _extra_record(bag)
    consistent = _zk(runner, None, "handover", "verify", str(bag))  # consistent, and says so honestly
    assert "未核对来源" in consistent.output
    result = _refused(runner, bag, "--fingerprint", paper_fingerprint)
    assert "移交包指纹与交接书上的不符" in result.output
    _import_changes_nothing(runner, bag, tmp_path, "--fingerprint", paper_fingerprint)


def test_the_fingerprint_is_typed_as_printed(bundle: Path, runner: CliRunner, paper_fingerprint: str) -> None:
    ok = _zk(runner, None, "handover", "verify", str(bundle), "--fingerprint", paper_fingerprint.upper())
    assert "指纹与交接书一致" in ok.output and "未核对来源" not in ok.output
    bad = _zk(runner, None, "handover", "verify", str(bundle), "--fingerprint", "12ab", expect=4)
    assert "64 位十六进制" in bad.output


def _forge_approval(bag: Path, number: int, *, with_audit_entry: bool) -> str:
    """An "approved" notice numbered `number` added to the drafts, its counter raised to match; with
    `with_audit_entry`, a matching draft.approve appended to the audit chain with correct hashes."""
    doc_number = f"{PREFIX}〔{YEAR}〕{number}号"
    final = f"{CENTER}/{YEAR}/发文/{doc_number} 伪造的通知.docx"
    drafts = _load(bag, "drafts.json")
    draft_id = max(d["id"] for d in drafts) + 1
    drafts.append(
        {
            **drafts[0],
            "id": draft_id,
            "title": "伪造的通知",
            "state": "approved",
            "draft_path": None,
            "final_path": final,
            "doc_number": doc_number,
            "year": YEAR,
            "number": number,
            "record_id": None,
        }
    )
    _dump(bag, "drafts.json", drafts)
    _edit(bag, "doc_numbers.json", lambda rows: [{**r, "last": max(r["last"], number)} for r in rows])
    if with_audit_entry:
        rows = _load(bag, "audit.jsonl")
        last = rows[-1]
        detail = json.dumps(
            {"by": "医政科", "doc_number": doc_number, "draft": draft_id, "ref": ""},
            ensure_ascii=False,
            sort_keys=True,
        )
        entry = {
            "seq": last["seq"] + 1,
            "ts": "2099-01-01T00:00:00",
            "action": "draft.approve",
            "center": CENTER,
            "path": final,
            "detail": detail,
            "prev": last["hash"],
            "actor": "医政科",
        }
        fields = [entry[k] for k in ("seq", "ts", "action", "center", "path", "detail", "prev", "actor")]
        payload = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        entry["hash"] = hashlib.sha256(payload).hexdigest()
        _dump(bag, "audit.jsonl", [*rows, entry])
        _edit(bag, "handover.json", lambda h: h.update(audit_head=f"{entry['seq']}:{entry['hash']}"))
    _rebag(bag)
    return doc_number


def test_a_forged_approval_without_its_audit_entry_is_refused(
    bundle: Path, tmp_path: Path, runner: CliRunner
) -> None:
    bag = _copy(bundle, tmp_path)
    number = _forge_approval(bag, 500, with_audit_entry=False)
    result = _refused(runner, bag)
    assert number in result.output and "没有相符的批准记录" in result.output
    _import_changes_nothing(runner, bag, tmp_path)


def test_a_consistently_forged_approval_is_caught_by_the_fingerprint(
    bundle: Path, tmp_path: Path, runner: CliRunner, paper_fingerprint: str
) -> None:
    """Audit entry, chain head, counter, manifests all forged to agree: only something outside the bag —
    the fingerprint the three parties signed — can tell. Without it, verify says the origin is unchecked."""
    bag = _copy(bundle, tmp_path)
    _forge_approval(bag, 500, with_audit_entry=True)
    assert "未核对来源" in _zk(runner, None, "handover", "verify", str(bag)).output
    _refused(runner, bag, "--fingerprint", paper_fingerprint)
    _import_changes_nothing(runner, bag, tmp_path, "--fingerprint", paper_fingerprint)


def test_a_redacted_approval_is_refused(bundle: Path, tmp_path: Path, runner: CliRunner) -> None:
    """The bundle's own draft.approve replaced by a "redacted" entry (seq, prev, hash only): the links
    still verify, but an approved notice of this center without its visible approval proves nothing."""
    bag = _copy(bundle, tmp_path)
    rows = _load(bag, "audit.jsonl")
    i = next(n for n, r in enumerate(rows) if r.get("action") == "draft.approve")
    rows[i] = {"seq": rows[i]["seq"], "prev": rows[i]["prev"], "hash": rows[i]["hash"], "redacted": True}
    _dump(bag, "audit.jsonl", rows)
    _rebag(bag)
    result = _refused(runner, bag)
    assert f"{PREFIX}〔{YEAR}〕1号" in result.output and "没有相符的批准记录" in result.output
    _import_changes_nothing(runner, bag, tmp_path)


def test_an_absurd_document_counter_is_refused(bundle: Path, tmp_path: Path, runner: CliRunner) -> None:
    bag = _copy(bundle, tmp_path)
    _edit(bag, "doc_numbers.json", lambda rows: [{**r, "last": 10**12} for r in rows])
    _rebag(bag)
    result = _refused(runner, bag)
    assert "1000000000000" in result.output and "不予接收" in result.output
    _import_changes_nothing(runner, bag, tmp_path)


def test_the_receiver_numbers_on_from_what_the_approved_drafts_prove(
    bundle: Path, tmp_path: Path, runner: CliRunner
) -> None:
    """A counter of 50 where the bundle's approved notices prove 1: reported, and not taken."""
    bag = _copy(bundle, tmp_path)
    _edit(bag, "doc_numbers.json", lambda rows: [{**r, "last": 50} for r in rows])
    _rebag(bag)
    verified = _zk(runner, None, "handover", "verify", str(bag))
    assert "只证明到 1" in verified.output
    new_root = tmp_path / "新库"
    imported = _zk(runner, new_root, "handover", "import", str(bag))
    assert f"{PREFIX}〔{YEAR}〕计数至少为 1" in imported.output
    arc = Archive.open(new_root)
    drafted = arc.draft(
        "新秘书",
        DraftRequest(CENTER, "关于开展护理质控督查的通知", "各医疗机构", "经研究，决定开展督查。"),
        today=date.today(),
    )
    approved = arc.approve("医政科", drafted.id, by="县卫生健康局医政科", today=date.today())
    assert approved.doc_number == f"{PREFIX}〔{YEAR}〕2号"
    _zk(runner, new_root, "log", "verify")


def test_a_hardlinked_file_is_refused(bundle: Path, tmp_path: Path, runner: CliRunner) -> None:
    """A file of the bag that is a hard link to a file outside it: its content is not the sender's."""
    secret = tmp_path / "院外" / "机密.txt"
    secret.parent.mkdir()
    secret.write_text("接收单位电脑上的机密", encoding="utf-8")
    bag = _copy(bundle, tmp_path)
    os.link(secret, bag / "data" / CENTER / "收件箱" / "机密.txt")
    _rebag(bag)
    result = _refused(runner, bag)
    assert "硬链接" in result.output and "机密.txt" in result.output
    _import_changes_nothing(runner, bag, tmp_path)


WINDOWS_NAMES = [
    "CON",
    "aux.txt",
    "NUL.docx",
    "LPT1.pdf",
    "com9.xlsx",
    "a:b.txt",
    "结尾是句点.",
    "Prn.Doc",
]


@pytest.mark.parametrize("name", WINDOWS_NAMES)
def test_a_name_windows_cannot_hold_is_refused(
    bundle: Path, tmp_path: Path, runner: CliRunner, name: str
) -> None:
    bag = _copy(bundle, tmp_path)
    (bag / "data" / CENTER / "收件箱" / name).write_text("x", encoding="utf-8")
    _rebag(bag)
    result = _refused(runner, bag)
    assert "不安全" in result.output or "Windows" in result.output
    assert name.strip() in result.output
    _import_changes_nothing(runner, bag, tmp_path)


def test_a_windows_device_name_in_a_zip_is_refused_before_extraction(
    bundle: Path, tmp_path: Path, runner: CliRunner
) -> None:
    out = tmp_path / "坏包.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for path in sorted(bundle.rglob("*")):
            if path.is_file():
                zf.write(path, f"包/{path.relative_to(bundle).as_posix()}")
        zf.writestr(f"包/data/{CENTER}/收件箱/aux.txt", "x")
    result = _refused(runner, out)
    assert "设备名" in result.output


def test_a_signed_bundle_is_checked_with_the_registered_key(
    source: Path, tmp_path: Path, runner: CliRunner
) -> None:
    keys = tmp_path / "密钥"
    keys.mkdir()
    made = _zk(runner, None, "handover", "keygen", "--host", "金乡县人民医院", "--out", str(keys))
    assert "密钥编号" in made.output
    private, public = keys / "金乡县人民医院-私钥.pem", keys / "金乡县人民医院-公钥.pem"
    assert private.stat().st_mode & 0o077 == 0  # the private key is the owner's alone
    out = tmp_path / "签名移交包"
    created = _zk(
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
        "--sign-key",
        str(private),
    )
    assert "签名" in created.output
    assert bagit.Bag(str(out)).is_valid()  # the signature is a tag file listed in the tag manifests
    verified = _zk(runner, None, "handover", "verify", str(out), "--public-key", str(public))
    assert "签名有效" in verified.output

    other = tmp_path / "别的密钥"
    other.mkdir()
    _zk(runner, None, "handover", "keygen", "--host", "别的医院", "--out", str(other))
    wrong_key = _refused(runner, out, "--public-key", str(other / "别的医院-公钥.pem"))
    assert "不是给定的公钥" in wrong_key.output

    _extra_record(out)
    tampered = _refused(runner, out, "--public-key", str(public))
    assert "签名无效" in tampered.output
    _import_changes_nothing(runner, out, tmp_path, "--public-key", str(public))


def test_an_unsigned_bundle_fails_a_signature_check(bundle: Path, tmp_path: Path, runner: CliRunner) -> None:
    _zk(runner, None, "handover", "keygen", "--host", "金乡县人民医院", "--out", str(tmp_path))
    result = _refused(runner, bundle, "--public-key", str(tmp_path / "金乡县人民医院-公钥.pem"))
    assert "没有签名" in result.output


# -- 10. resource limits ------------------------------------------------------------------------------


def _raw_zero_members(zf: zipfile.ZipFile, count: int, size: int) -> None:
    """`count` deflated members of `size` zero bytes each, the deflate stream computed once and written
    raw: the same zip an attacker sends, without the test spending a minute compressing 3.8 GB."""
    assert zf.fp is not None
    block = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = b"".join(compressor.compress(block) for _ in range(size >> 20)) + compressor.flush()
    crc = 0
    for _ in range(size >> 20):
        crc = zlib.crc32(block, crc)
    for i in range(count):
        info = zipfile.ZipInfo(f"包/data/{CENTER}/收件箱/零{i:02d}.bin")
        info.compress_type = zipfile.ZIP_DEFLATED
        info.file_size, info.compress_size, info.CRC = size, len(data), crc
        info.header_offset = zf.fp.tell()
        zf.fp.write(info.FileHeader())
        zf.fp.write(data)
        zf.filelist.append(info)
        zf.NameToInfo[info.filename] = info
    zf.start_dir = zf.fp.tell()
    zf._didModify = True  # type: ignore[attr-defined]


def test_many_members_below_the_bomb_threshold_are_refused_by_their_total(
    bundle: Path, tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "零.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for path in sorted(bundle.rglob("*")):
            if path.is_file():
                zf.write(path, f"包/{path.relative_to(bundle).as_posix()}")
        _raw_zero_members(zf, 80, 45 << 20)  # 80 × 47 MB = 3.78 GB, each below the per-member check
    with zipfile.ZipFile(out) as zf:
        assert sum(i.file_size for i in zf.infolist()) > 3_770_000_000
    assert out.stat().st_size < 20 << 20

    def never(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a member was read")

    monkeypatch.setattr(zipfile.ZipFile, "open", never)
    result = _refused(runner, out)
    assert "解压后总大小" in result.output and "压缩炸弹" in result.output
    _import_changes_nothing(runner, out, tmp_path)


def test_a_huge_bag_info_is_refused_unread(bundle: Path, tmp_path: Path, runner: CliRunner) -> None:
    bag = _copy(bundle, tmp_path)
    with open(bag / "bag-info.txt", "r+b") as fh:  # 200 MB, sparse: nothing is written to disk
        fh.seek(0, os.SEEK_END)
        fh.write(b"Folded:")
        fh.truncate(200 << 20)
    started = time.monotonic()
    result = _refused(runner, bag)
    assert time.monotonic() - started < 30
    assert "标签文件过大" in result.output and "bag-info.txt" in result.output
    _import_changes_nothing(runner, bag, tmp_path)
