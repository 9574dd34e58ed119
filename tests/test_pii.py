"""Personal data (J15(3), H27–H30): found in every form people write it, masked in every human-readable
output — the commands' printed lines and the handover bundle's lists and documents — flagged by a file's
name as well as its text, and the catalogue and index readable by the archive's owner only."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import Run, as_json, invoke
from docx import Document
from pypdf import PdfReader

from zhikong.archive.catalogue import Catalogue
from zhikong.archive.samplefiles import make_docx, make_pdf
from zhikong.indexer.pii import PiiKind, find_pii, has_pii, mask_pii
from zhikong.indexer.snippet import make_snippet

ID18 = "370828200002290049"  # 2000-02-29 (a leap day), GB 11643 check digit 9
ID15 = "370828850315123"  # first generation: area 370828, born 1985-03-15, no check digit
MOBILE = "13912345678"
NAME = f"反馈意见-患者{ID18}-电话{MOBILE}.txt"
INSPECTION = "护理质控中心/2026/2026-05-10 院感防控督查"
# The text of the planted files: every form of the three numbers that must be masked.
BODY = [
    f"患者身份证号 {ID18}，又写作 370828 20000229 0049 或 ３７０８２８２００００２２９００４９。",
    f"旧身份证 {ID15}（370828 850315 123）。",
    "家属电话 139-1234-5678、139 1234 5678、8613912345678、+86 139 1234 5678、１３９１２３４５６７８。",
    "请于 2026-06-10 前整改，联系医院办公室 0537-8721234。",
]
SECRETS = (ID18, ID15, MOBILE)
MASKED = ("3708**********0049", "139****5678")


def leaked(text: str) -> list[str]:
    """The planted numbers that `text` shows unmasked, in any of the ways they can be written."""
    folded = text.translate({0xFF10 + i: str(i) for i in range(10)})
    joined = re.sub(r"(?<=[0-9])[ \u00a0\u3000-](?=[0-9])", "", folded)
    return [s for s in SECRETS if s in joined]


# -- detection -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "masked"),
    [
        (ID18, PiiKind.ID_CARD, "3708**********0049"),
        ("11010519491231002X", PiiKind.ID_CARD, "1101**********002X"),
        ("370828 20000229 0049", PiiKind.ID_CARD, "3708** ******** 0049"),
        ("3708 2820 0002 2900 49", PiiKind.ID_CARD, "3708 **** **** **00 49"),
        ("３７０８２８２００００２２９００４９", PiiKind.ID_CARD, "３７０８**********００４９"),
        (ID15, PiiKind.ID_CARD, "3708********123"),
        ("370828 850315 123", PiiKind.ID_CARD, "3708** ****** 123"),
        (MOBILE, PiiKind.MOBILE, "139****5678"),
        ("139-1234-5678", PiiKind.MOBILE, "139-****-5678"),
        ("139 1234 5678", PiiKind.MOBILE, "139 **** 5678"),
        ("139 12345678", PiiKind.MOBILE, "139 ****5678"),
        ("8613912345678", PiiKind.MOBILE, "86139****5678"),
        ("+8613912345678", PiiKind.MOBILE, "+86139****5678"),
        ("+86 139 1234 5678", PiiKind.MOBILE, "+86 139 **** 5678"),
        ("0086-139-1234-5678", PiiKind.MOBILE, "0086-139-****-5678"),
        ("１３９１２３４５６７８", PiiKind.MOBILE, "１３９****５６７８"),
        ("１３９－１２３４－５６７８", PiiKind.MOBILE, "１３９－****－５６７８"),
    ],
)
def test_every_written_form_is_found_and_masked_in_place(text: str, kind: PiiKind, masked: str) -> None:
    sentence = f"患者{text}，"
    (match,) = find_pii(sentence)
    assert (match.kind, match.text, match.masked) == (kind, text, masked)
    assert mask_pii(sentence) == f"患者{masked}，"
    assert len(mask_pii(sentence)) == len(sentence)


@pytest.mark.parametrize(
    "text",
    [
        "金卫健字〔2026〕5号、金护质控〔2026〕12号",
        "2026-03-15、2026年3月15日、20260315、2026.03.15、2026/3/15 09:30",
        "电话 0537-8721234、(0537)8721234、0537 872 1234、010-12345678、400-123-4567",
        "经费 1,234,567.89 元、12345678.90 元、13900000 元、￥13,912,345",
        "档号 Z109-WS·2026-D30-HL-0001 至 Z109-WS·2026-D30-HL-0020，邮编 272200",
        "第 1391 号文件共 2345 页，1391 2345 678 份",
        "统一社会信用代码 12370828MB1234567X，档号 Z109-2026-0012，订单 2013912345678999",
        "身份证号 370828200002290048（校验位错），370828200002300049（2 月 30 日），"
        "990828200002290049（无此省份）",
        "旧证 370828850229123（1985 年无 2 月 29 日），370028850315123（市代码 00）",
        "银行账号 6222 0212 3456 7890 123，数字 13 456 789 012",
        "手机 12812345678（无 12 号段）",
    ],
)
def test_ordinary_numbers_are_not_personal_data(text: str) -> None:
    assert find_pii(text) == []
    assert mask_pii(text) == text


def test_checksums_and_fingerprints_stay_exact() -> None:
    """A digest printed whole or in groups of eight must survive masking: it is typed in to compare."""
    rng = random.Random(11)
    for _ in range(3000):
        digest = hashlib.sha256(rng.randbytes(16)).hexdigest()
        grouped = " ".join(digest[i : i + 8] for i in range(0, 64, 8))
        for shown in (digest, f"锚点 {rng.randint(1, 99999)}:{digest}", f"指纹：{grouped}", grouped[:17]):
            assert mask_pii(shown) == shown
    assert mask_pii(f"sha256 a{MOBILE}b0c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1") == (
        f"sha256 a{MOBILE}b0c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1"
    )
    assert mask_pii(f"tel{MOBILE}") == "tel139****5678"  # one run glued to letters still counts


def test_numbers_inside_longer_runs_are_not_matched() -> None:
    assert [m.text for m in find_pii(f"单号{MOBILE}0，单号2{MOBILE}，{ID18}1")] == []
    assert [m.text for m in find_pii(f"2026-03-15 {MOBILE}")] == [MOBILE]


def test_snippets_mask_every_form_anywhere_in_a_long_text() -> None:
    text = "院感督查。" * 300 + "".join(BODY) + "院感督查整改。" * 300
    snippet = make_snippet(text, ["家属电话"], width=160)
    assert "家属电话" in snippet and not leaked(snippet)
    assert "139-****-5678" in snippet and "+86 139 **** 5678" in snippet


def test_has_pii_takes_several_texts() -> None:
    assert has_pii("", None, NAME) and not has_pii("会议纪要", None, "")


# -- the commands ----------------------------------------------------------------------------------


@pytest.fixture
def planted(root: Path, run: Run) -> Path:
    """The file of the issue (a real .txt) beside a .docx and a .pdf of the same name, a clean-text file
    named after a patient, and a patient's file in the inbox; scanned."""
    folder = root / INSPECTION
    folder.mkdir(parents=True)
    (folder / NAME).write_text("\n".join(["院感防控督查反馈意见", *BODY]), encoding="utf-8")
    stem = NAME.removesuffix(".txt")
    make_docx(folder / f"{stem}.docx", f"反馈意见（患者{ID18}）", BODY)
    make_pdf(folder / f"{stem}.pdf", [["院感防控督查反馈意见", *BODY]])
    (folder / f"督查记录-联系人{MOBILE}.txt").write_text("检查手卫生。", encoding="utf-8")
    (root / "护理质控中心" / "收件箱").mkdir(parents=True, exist_ok=True)
    (root / "护理质控中心" / "收件箱" / f"患者{ID15}.txt").write_text("待归类。", encoding="utf-8")
    run("scan")
    return root


def _human_outputs(run: Run, tmp_path: Path) -> dict[str, str]:
    outputs = {
        "ls": run("ls").output,
        "status": run("status").output,
        "log": run("log").output,
        "check": run("check", "--as-of", "2026-12-31", expect=1).output,
        "score": run("score", "--center", "护理质控中心", "--year", "2026", "--as-of", "2026-12-31").output,
        "search": run("search", "家属电话").output,
        "search title": run("search", "反馈意见").output,
    }
    check_out = tmp_path / "检查报告.docx"
    run("check", "--as-of", "2026-12-31", "--out", str(check_out), expect=1)
    outputs["check --out"] = _docx_text(check_out)
    score_out = tmp_path / "考核评分表.docx"
    run(
        "score",
        "--center",
        "护理质控中心",
        "--year",
        "2026",
        "--as-of",
        "2026-12-31",
        "--out",
        str(score_out),
    )
    outputs["score --out"] = _docx_text(score_out)
    box_out = tmp_path / "归档文件目录.docx"
    outputs["paper catalog"] = run(
        "paper", "catalog", "--center", "护理质控中心", "--year", "2026", "--box", "1", "--out", str(box_out)
    ).output
    outputs["paper catalog --out"] = _docx_text(box_out)
    return outputs


def test_commands_print_names_and_text_masked(planted: Path, run: Run, tmp_path: Path) -> None:
    outputs = _human_outputs(run, tmp_path)
    for command, output in outputs.items():
        assert not leaked(output), (command, output)
    for command in ("ls", "log", "check", "search title"):
        assert all(m in outputs[command] for m in MASKED), (command, outputs[command])
    assert "收件箱/患者3708********123.txt" in outputs["status"]
    assert f"{INSPECTION}/{mask_pii(NAME)}" in outputs["check"]
    assert "139-****-5678" in outputs["search"] and "+86 139 **** 5678" in outputs["search"]
    assert "3708**********0049" in outputs["check --out"]
    assert all(m in outputs["paper catalog --out"] for m in MASKED)


def test_files_are_flagged_by_name_as_well_as_text(planted: Path, run: Run) -> None:
    records = {r["path"]: r for r in as_json(run("ls", "--json"))}
    # --json is for scripts: it keeps the real names (documented in the README)
    assert {f"{INSPECTION}/{NAME}", f"{INSPECTION}/督查记录-联系人{MOBILE}.txt"} <= set(records)
    assert records[f"{INSPECTION}/督查记录-联系人{MOBILE}.txt"]["pii"] is True  # its text is clean
    assert records[f"护理质控中心/收件箱/患者{ID15}.txt"]["pii"] is True
    assert all(r["pii"] for p, r in records.items() if NAME.removesuffix(".txt") in p)
    listed = run("ls").output
    assert "督查记录-联系人139****5678.txt【含个人信息】" in listed
    assert f"{mask_pii(NAME)}【含个人信息】" in listed
    hits = run("search", "手卫生").output
    assert "督查记录-联系人139****5678【含个人信息】" in hits


def test_a_file_renamed_to_a_patients_name_is_flagged(root: Path, run: Run) -> None:
    folder = root / INSPECTION
    folder.mkdir(parents=True)
    (folder / "反馈意见.txt").write_text("院感防控督查反馈意见：手卫生不规范。", encoding="utf-8")
    run("scan")
    assert as_json(run("ls", "--json"))[0]["pii"] is False
    (folder / "反馈意见.txt").rename(folder / NAME)
    scanned = run("scan").output
    assert "移动" in scanned and not leaked(scanned)
    (record,) = as_json(run("ls", "--json"))
    assert record["path"] == f"{INSPECTION}/{NAME}" and record["pii"] is True
    log = run("log").output
    assert "move" in log and not leaked(log)


def test_errors_are_masked_too(planted: Path, run: Run) -> None:
    result = run("classify", f"{INSPECTION}/不存在-{MOBILE}.txt", "--category", "其他", expect=None)
    assert result.exit_code != 0 and "139****5678" in result.output and not leaked(result.output)


def test_handover_output_and_bundle_papers_are_masked(planted: Path, run: Run, tmp_path: Path) -> None:
    bundle = tmp_path / "移交包"
    created = run(
        "handover", "create", "--center", "护理质控中心", "--to", "金乡县中医院", "--out", str(bundle)
    )
    assert not leaked(created.output), created.output
    assert "含个人信息的文件" in created.output and mask_pii(NAME) in created.output

    papers = bundle / "data" / "移交资料"
    readable = {name: _docx_text(papers / name) for name in ("移交清单.docx", "交接书.docx", "封存记录.docx")}
    with open(papers / "目录.csv", encoding="utf-8-sig", newline="") as fh:
        readable["目录.csv"] = "\n".join(",".join(row) for row in csv.reader(fh))
    readable["个人信息检查.txt"] = (papers / "个人信息检查.txt").read_text(encoding="utf-8")
    readable["PDF bookmarks"] = "\n".join(_outline_titles(papers / "护理质控中心PDF汇编.pdf"))
    for name, text in readable.items():
        assert not leaked(text), (name, text)
    assert mask_pii(NAME) in readable["移交清单.docx"]
    assert "3708**********0049" in readable["PDF bookmarks"]
    assert "督查记录-联系人139****5678.txt\t身份证号 0 处\t手机号 1 处" in readable["个人信息检查.txt"]
    assert mask_pii(NAME) in readable["目录.csv"] and mask_pii(NAME) in readable["个人信息检查.txt"]
    # the fingerprint printed on the papers is exact: the receiver types it in
    fingerprint = re.search(r"移交包指纹：([0-9a-f ]{71})", created.output)
    assert fingerprint and fingerprint[1] in readable["交接书.docx"]

    # machine-readable data keeps the real names: the payload, the manifests, records.json, pii.json
    assert (bundle / "data" / INSPECTION / NAME).is_file()
    assert f"data/{INSPECTION}/{NAME}" in (bundle / "manifest-sha256.txt").read_text(encoding="utf-8")
    machine = papers / "zhikong"
    assert any(
        r["path"] == f"{INSPECTION}/{NAME}" for r in json.loads((machine / "records.json").read_text())
    )
    assert any(p["path"] == f"{INSPECTION}/{NAME}" for p in json.loads((machine / "pii.json").read_text()))
    verified = invoke(CliRunner(), "handover", "verify", str(bundle), expect=None)
    assert not leaked(verified.output)


def _docx_text(path: Path) -> str:
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    parts += [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def _outline_titles(path: Path) -> list[str]:
    titles: list[str] = []

    def walk(items: list[object]) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                titles.append(str(item.title))  # type: ignore[attr-defined]

    walk(PdfReader(str(path)).outline)
    return titles


# -- owner-only files ------------------------------------------------------------------------------

posix_only = pytest.mark.skipif(os.name != "posix", reason="Windows relies on the folder's ACLs")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _private(system: Path) -> list[str]:
    """The catalogue, its WAL companions and the index that group or other could read."""
    index = system / "index"
    loose = [system, index] if _mode(system) & 0o077 or _mode(index) & 0o077 else []
    watched = [p for p in system.iterdir() if p.name.startswith("catalogue.sqlite")]
    watched += list(index.iterdir())
    return [str(p) for p in loose + watched if _mode(p) & 0o077]


@posix_only
def test_catalogue_and_index_are_readable_by_the_owner_only(planted: Path, run: Run) -> None:
    system = planted / ".zhikong"
    assert _mode(system) == 0o700 and _mode(system / "index") == 0o700
    assert _mode(system / "catalogue.sqlite") == 0o600
    assert _private(system) == []
    cat = Catalogue.open(system, actor="测试")  # while a connection writes, the WAL files exist
    try:
        with cat.transaction():
            cat.set_meta("probe", "1")
        companions = [system / f"catalogue.sqlite{s}" for s in ("-wal", "-shm")]
        assert all(p.exists() and _mode(p) == 0o600 for p in companions)
    finally:
        cat.close()
    run("reindex")
    assert _private(system) == [] and all(_mode(p) == 0o600 for p in (system / "index").iterdir())


@posix_only
def test_an_older_archive_is_tightened_when_opened(planted: Path, run: Run) -> None:
    system = planted / ".zhikong"
    for path in [system, system / "index", *system.glob("catalogue.sqlite*"), *(system / "index").iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    run("search", "家属电话")  # opens the index only
    assert _mode(system / "index") == 0o700 and all(_mode(p) == 0o600 for p in (system / "index").iterdir())
    run("ls")  # opens the catalogue
    assert _private(system) == []
    assert _mode(system) == 0o700 and _mode(system / "catalogue.sqlite") == 0o600


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("患者住院号：2023001234，跌倒评估漏评", "患者住院号：**********，跌倒评估漏评"),
        ("病案号 A-0012345 首页填写不全", "病案号 *-******* 首页填写不全"),
        ("病历号:２０２３０８８", "病历号:*******"),
        ("门诊号 88123456", "门诊号 ********"),
    ],
)
def test_a_patients_record_number_is_masked_after_its_label(text: str, masked: str) -> None:
    assert mask_pii(text) == masked and len(mask_pii(text)) == len(text)
    assert has_pii(text)


def test_numbers_that_are_no_record_number_are_left_alone() -> None:
    for text in ("病案首页合格率 98%", "住院病案首页质量控制（2023年第3季度）", "病案号码规则见附件1"):
        assert mask_pii(text) == text
