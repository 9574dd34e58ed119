"""Red-header drafts through the real commands: draft → list → approve/reject, numbering, filing, render."""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from conftest import Run, as_json
from docx import Document
from lxml import etree

from zhikong import libreoffice
from zhikong.app import Archive
from zhikong.archive.drafts import DraftRequest
from zhikong.generator.render import TEMPLATE_NAMES

REPO = Path(__file__).resolve().parent.parent
TITLE = "关于召开2026年第一次护理质控工作会议的通知"
TO = "各镇街卫生院、县直各医疗机构"
BODY = "为加强护理质量管理，决定召开会议。现将有关事项通知如下：\n一、会议时间\n（一）时间。3月15日上午。\n二、参会人员\n1. 护理部主任"


def body_file(tmp_path: Path, text: str = BODY, encoding: str = "utf-8", name: str = "body.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def draft(
    run: Run, body: Path, *extra: str, title: str = TITLE, to: str = TO, expect: int | None = 0
) -> Result:
    return run(
        "draft",
        "notice",
        "--center",
        "护理质控中心",
        "--title",
        title,
        "--to",
        to,
        "--body",
        str(body),
        *extra,
        expect=expect,
    )


def docx_text(path: Path) -> tuple[str, str]:
    """(body text incl. tables, header text) of a .docx, read with python-docx."""
    document = Document(str(path))
    # A title broken into balanced lines (GB/T 9704 §7.3.1) holds line breaks: read it as one line.
    body = "\n".join(p.text.replace("\n", "") for p in document.paragraphs)
    headers = "\n".join(
        p.text
        for section in document.sections
        for part in (section.header, section.first_page_header, section.even_page_header)
        for p in part.paragraphs
    )
    return body, headers


def assert_valid_docx(path: Path) -> None:
    with zipfile.ZipFile(path) as package:
        for name in package.namelist():
            if name.endswith((".xml", ".rels")):
                etree.fromstring(package.read(name))


def drafts_json(run: Run) -> list[dict[str, Any]]:
    return list(as_json(run("draft", "list", "--json")))


# -- drafting -------------------------------------------------------------------------------------


def test_draft_writes_a_marked_unnumbered_draft_that_is_not_a_record(
    run: Run, root: Path, tmp_path: Path
) -> None:
    result = draft(
        run, body_file(tmp_path), "--attach", "会议议程", "--cc", "县护理质控中心", "--date", "2026-03-05"
    )
    assert "已生成送审稿" in result.output
    [d] = drafts_json(run)
    assert d["state"] == "submitted" and d["state_label"] == "送审" and d["doc_number"] is None
    path = root / str(d["draft_path"])
    assert path.parent == root / "送审稿" / "护理质控中心" and path.is_file()
    body, headers = docx_text(path)
    assert "送审稿" in headers
    assert "金乡县卫生健康局文件" in body and "金卫健字〔2026〕  号" in body
    assert TITLE in body and TO + "：" in body and "附件：会议议程" in body and "2026年3月5日" in body
    # The 送审稿 folder belongs to the system: a scan does not catalogue a draft as a 通知.
    run("scan")
    assert as_json(run("ls", "--json")) == []
    assert "送审" in run("draft", "list").output


def test_awkward_characters_in_title_and_body_render(run: Run, root: Path, tmp_path: Path) -> None:
    title = "关于“护理<质控>”&‘安全’工作😀的通知"
    body = 'R&D <b>粗体</b> "引号" 😀 \x07 结束。'
    draft(run, body_file(tmp_path, body), title=title)
    [d] = drafts_json(run)
    path = root / str(d["draft_path"])
    assert_valid_docx(path)
    text, _ = docx_text(path)
    assert title in text and 'R&D <b>粗体</b> "引号" 😀' in text


def test_long_title_and_forty_page_body(run: Run, root: Path, tmp_path: Path) -> None:
    title = "关于" + "开展护理质量持续改进" * 5 + "工作的通知"
    assert len(title) >= 55
    lines = ["一、总体要求"] + [
        f"{n}. " + "请各单位认真落实护理质量控制各项工作要求。" * 2 for n in range(1, 900)
    ]
    draft(run, body_file(tmp_path, "\n".join(lines)), title=title)
    [d] = drafts_json(run)
    path = root / str(d["draft_path"])
    assert_valid_docx(path)
    document = Document(str(path))
    assert len(document.paragraphs) > 900
    assert any(p.text.replace("\n", "") == title for p in document.paragraphs)


def test_gbk_body_file_from_windows_notepad(run: Run, root: Path, tmp_path: Path) -> None:
    draft(run, body_file(tmp_path, BODY, encoding="gbk"))
    [d] = drafts_json(run)
    text, _ = docx_text(root / str(d["draft_path"]))
    assert "为加强护理质量管理" in text and "（一）时间。3月15日上午。" in text


def test_every_problem_is_reported_together_and_nothing_is_written(
    run: Run, root: Path, tmp_path: Path
) -> None:
    result = draft(
        run, body_file(tmp_path, "  \n\n"), title="护理质控工作会议通知。", to="各医疗机构:", expect=8
    )
    out = result.output
    assert "4 处问题" in out
    assert "关于……的通知" in out and "全角冒号" in out and "正文为空" in out and "末尾不加标点" in out
    assert drafts_json(run) == []
    assert not (root / "送审稿" / "护理质控中心").exists() or not any(
        (root / "送审稿" / "护理质控中心").iterdir()
    )


@pytest.mark.parametrize(
    ("title", "to", "message"),
    [
        ("护理质控工作会议", TO, "应写成“关于……的通知”"),
        (TITLE, "各医疗机构。", "应以全角冒号“：”结尾"),
        (TITLE, "各医疗机构:", "而不是半角"),
    ],
)
def test_single_problems(run: Run, tmp_path: Path, title: str, to: str, message: str) -> None:
    result = draft(run, body_file(tmp_path), title=title, to=to, expect=8)
    assert message in result.output


def test_empty_and_missing_body_and_unknown_center(run: Run, tmp_path: Path) -> None:
    assert "正文为空" in draft(run, body_file(tmp_path, ""), expect=8).output
    assert "正文文件不存在" in draft(run, tmp_path / "nope.txt", expect=4).output
    result = run(
        "draft",
        "notice",
        "--center",
        "不存在中心",
        "--title",
        TITLE,
        "--to",
        TO,
        "--body",
        str(body_file(tmp_path)),
        expect=3,
    )
    assert "未知的质控中心：不存在中心" in result.output
    assert "日期可以写成" in draft(run, body_file(tmp_path), "--date", "2026-02-30", expect=2).output


# -- approval -------------------------------------------------------------------------------------


def test_approve_numbers_in_sequence_per_year_and_files_a_notice(
    run: Run, root: Path, tmp_path: Path
) -> None:
    body = body_file(tmp_path)
    for day in ("2026-03-05", "2026-03-06", "2025-12-30", "2026-03-07"):
        draft(run, body, "--date", day)
    numbers = []
    for draft_id in (1, 2, 3, 4):
        result = run(
            "draft", "approve", str(draft_id), "--by", "县卫生健康局医政科", "--ref", f"批件{draft_id}"
        )
        assert "已批准" in result.output
    for d in drafts_json(run):
        numbers.append(d["doc_number"])
        assert d["state"] == "approved" and d["decided_by"] == "县卫生健康局医政科"
    assert numbers == [
        "金卫健字〔2026〕1号",
        "金卫健字〔2026〕2号",
        "金卫健字〔2025〕1号",
        "金卫健字〔2026〕3号",
    ]

    records = as_json(run("ls", "--json"))
    assert len(records) == 4
    assert {r["category"] for r in records} == {"通知"}
    assert {r["doc_number"] for r in records} == set(numbers)
    first = next(r for r in records if r["doc_number"] == "金卫健字〔2026〕1号")
    assert first["path"] == f"护理质控中心/2026/发文/金卫健字〔2026〕1号 {TITLE}.docx"
    assert first["center"] == "护理质控中心" and first["year"] == 2026
    body_text, headers = docx_text(root / first["path"])
    assert "金卫健字〔2026〕1号" in body_text
    assert "送审稿" not in body_text and "送审稿" not in headers

    log = run("log", "--limit", "200").output
    assert log.count("draft.approve") == 4 and "by=县卫生健康局医政科" in log and "ref=批件1" in log
    assert "哈希链校验通过" in run("log", "verify").output
    run("scan")  # the filed finals are already catalogued: nothing new
    assert len(as_json(run("ls", "--json"))) == 4


def test_final_is_filed_into_its_activity_and_dated_on_approval(run: Run, root: Path, tmp_path: Path) -> None:
    # 计划 in the title would make the file name say 工作计划; the approval files it as a 通知 all the same.
    title = "关于印发2026年护理质控工作计划的通知"
    draft(run, body_file(tmp_path), "--activity", "2026-03-15 第一次工作会议", title=title)
    d = as_json(run("draft", "list", "--json"))[0]
    assert d["activity"] == "2026-03-15 第一次工作会议"
    run("draft", "approve", "1", "--by", "医政科")
    [record] = as_json(run("ls", "--json"))
    assert record["path"].startswith("护理质控中心/2026/2026-03-15 第一次工作会议/")
    assert record["category"] == "通知" and record["activity"] == "第一次工作会议"
    assert "--activity" in run("draft", "notice", "--help").output
    refused = draft(run, body_file(tmp_path), "--activity", "第一次会议", expect=2).output  # a usage error
    assert "看不懂的活动“第一次会议”" in refused and "2026-03-05 院感督导" in refused


def test_approve_twice_reject_and_unknown(run: Run, tmp_path: Path) -> None:
    body = body_file(tmp_path)
    draft(run, body, "--date", "2026-03-05")
    draft(run, body, "--date", "2026-03-05")
    run("draft", "approve", "1", "--by", "医政科")
    assert "不能批准" in run("draft", "approve", "1", "--by", "医政科", expect=9).output
    result = run("draft", "reject", "2", "--reason", "会议时间与全县培训冲突", "--by", "医政科")
    assert "已退回" in result.output
    assert "不能批准" in run("draft", "approve", "2", "--by", "医政科", expect=9).output
    assert "不能退回" in run("draft", "reject", "2", "--reason", "再退", expect=9).output
    assert run("draft", "approve", "99", "--by", "医政科", expect=5).exit_code == 5
    states = {d["id"]: (d["state_label"], d["doc_number"], d["reason"]) for d in drafts_json(run)}
    assert states == {
        1: ("已批准", "金卫健字〔2026〕1号", None),
        2: ("已退回", None, "会议时间与全县培训冲突"),
    }
    assert "退回原因：会议时间与全县培训冲突" in run("draft", "list").output
    run("draft", "issue", "1", "--date", "2026-03-08")
    assert drafts_json(run)[0]["state_label"] == "已印发"
    assert "draft.reject" in run("log").output


def test_a_failed_approval_consumes_no_number(run: Run, root: Path, tmp_path: Path) -> None:
    draft(run, body_file(tmp_path), "--date", "2026-03-05")
    # Someone already put a file where the final would go: the approval must fail before COMMIT.
    target = root / "护理质控中心" / "2026" / "发文" / f"金卫健字〔2026〕1号 {TITLE}.docx"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"not ours")
    assert "没有批准记录" in run("draft", "approve", "1", "--by", "医政科", expect=9).output
    assert target.read_bytes() == b"not ours"
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no staged leftovers
    assert drafts_json(run)[0]["state"] == "submitted"
    assert "draft.approve" not in run("log").output
    target.unlink()
    run("draft", "approve", "1", "--by", "医政科")
    assert drafts_json(run)[0]["doc_number"] == "金卫健字〔2026〕1号"


def test_a_final_left_by_an_interrupted_approval_blocks_its_number(
    run: Run, root: Path, tmp_path: Path
) -> None:
    # A hard kill between renaming the final into place and COMMIT rolls the number back but leaves the
    # file: the next approval must not silently issue a second document under the same number.
    draft(run, body_file(tmp_path), "--date", "2026-03-05")
    stray = root / "护理质控中心" / "2026" / "发文" / "金卫健字〔2026〕1号 关于另一件事的通知.docx"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"left by a killed approval")
    run("scan")
    out = run("draft", "approve", "1", "--by", "医政科", expect=9).output
    assert "金卫健字〔2026〕1号" in out and "没有批准记录" in out and stray.name in out
    assert drafts_json(run)[0]["state"] == "submitted"
    stray.unlink()
    run("scan")
    run("draft", "approve", "1", "--by", "医政科")
    assert drafts_json(run)[0]["doc_number"] == "金卫健字〔2026〕1号"


def _approve_in_process(root: Path, draft_id: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from zhikong.cli import main; main()",
            "--root",
            str(root),
            "draft",
            "approve",
            str(draft_id),
            "--by",
            "医政科",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_racing_approvals_in_separate_processes_never_share_a_number(
    run: Run, root: Path, tmp_path: Path
) -> None:
    body = body_file(tmp_path)
    for _ in range(4):
        draft(run, body, "--date", "2026-03-05")
    # Draft 1 is approved by two processes at once: exactly one of them may win.
    processes = [_approve_in_process(root, i) for i in (1, 2, 3, 4, 1)]
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    codes = sorted(p.returncode for p in processes)
    assert codes == [0, 0, 0, 0, 9], outputs
    drafts = drafts_json(run)
    assert sorted(d["number"] for d in drafts) == [1, 2, 3, 4]
    assert len({d["final_path"] for d in drafts}) == 4
    assert len(as_json(run("ls", "--json"))) == 4
    assert "哈希链校验通过" in run("log", "verify").output


def test_racing_approvals_in_threads_of_one_server(root: Path, tmp_path: Path) -> None:
    """One Archive shared by a server's threads: each approval on its own connection, numbers unique."""
    arc = Archive.open(root)
    request = DraftRequest("护理质控中心", TITLE, TO, BODY, day=_day())
    ids = [arc.draft("刘敏", request, today=_day()).id for _ in range(6)]
    start = threading.Barrier(len(ids))
    numbers: dict[int, int | None] = {}
    errors: list[BaseException] = []

    def worker(draft_id: int) -> None:
        start.wait()
        try:
            numbers[draft_id] = arc.approve("医政科", draft_id, by="医政科", today=_day()).number
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(n for n in numbers.values() if n is not None) == [1, 2, 3, 4, 5, 6]


def _day() -> datetime.date:
    return datetime.date(2026, 3, 5)


# -- render ---------------------------------------------------------------------------------------


def test_render_every_shipped_template_with_its_example(run: Run, tmp_path: Path) -> None:
    examples = REPO / "templates" / "examples"
    assert (
        len(TEMPLATE_NAMES) == 9
    )  # the list: notice, 请示, 函, 纪要, 计划, 总结, 反馈意见书, 整改通知书, 签到表
    for name in TEMPLATE_NAMES:
        data = (
            examples / f"{name}.toml" if (examples / f"{name}.toml").exists() else examples / f"{name}.json"
        )
        out = tmp_path / f"{name}.docx"
        assert "已生成" in run("render", name, str(data), "--out", str(out)).output
        assert_valid_docx(out)
    # Red-headed documents come out of render only as unnumbered 送审稿 (numbers come with approval).
    for name, number_line in (
        ("notice", "金卫健字〔2026〕  号"),
        ("request", "金护质控〔2026〕  号"),
        ("letter", "金护质控函〔2026〕  号"),
    ):
        text, headers = docx_text(tmp_path / f"{name}.docx")
        assert number_line in text and "送审稿" in headers, name
    assert "送审稿" in docx_text(tmp_path / "minutes.docx")[1]
    assert "签发人：王秀英" in docx_text(tmp_path / "request.docx")[0]
    assert "送审稿" not in docx_text(tmp_path / "sign_in.docx")[1]


def test_render_names_missing_variables_and_writes_nothing(run: Run, tmp_path: Path) -> None:
    data = tmp_path / "letter.json"
    data.write_text(
        json.dumps({"title": "关于商请派员的函", "to": "县人民医院"}, ensure_ascii=False), "utf-8"
    )
    out = tmp_path / "letter.docx"
    result = run("render", "letter", str(data), "--out", str(out), expect=8)
    assert "缺少变量“signer”" in result.output and "缺少变量“contact”" in result.output
    assert not out.exists()
    notice = tmp_path / "notice.toml"
    notice.write_text('title = "关于开会的通知"\n', "utf-8")
    result = run("render", "notice", str(notice), "--out", str(out), expect=8)
    assert "缺少变量“organ_mark”" in result.output and "缺少变量“body”" in result.output
    assert not out.exists()
    assert (
        "没有名为“nonesuch”的模板" in run("render", "nonesuch", str(data), "--out", str(out), expect=4).output
    )


def test_render_a_users_own_template(run: Run, tmp_path: Path) -> None:
    template = tmp_path / "我的模板.docx"
    document = Document()
    document.add_paragraph("致：{{ name }}")
    document.add_paragraph("地点：{{ place }}")
    document.save(str(template))
    data = tmp_path / "data.toml"
    data.write_text('name = "张三 & <李四>"\nplace = "县医院"\n', "utf-8")
    out = tmp_path / "out.docx"
    run("render", str(template), str(data), "--out", str(out))
    assert_valid_docx(out)
    assert "致：张三 & <李四>" in docx_text(out)[0]


# -- LibreOffice ----------------------------------------------------------------------------------


@pytest.mark.libreoffice
@pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice (soffice) 未安装")
def test_draft_and_final_open_in_libreoffice(run: Run, root: Path, tmp_path: Path) -> None:
    draft(run, body_file(tmp_path, BODY + "\n" + "“引号”&<尖括号>😀"), "--date", "2026-03-05")
    run("draft", "approve", "1", "--by", "医政科")
    [d] = drafts_json(run)
    sources = [root / str(d["draft_path"]), root / str(d["final_path"])]
    copies = []
    for index, source in enumerate(sources):  # ASCII names: soffice's --outdir naming is by stem
        copy = tmp_path / f"doc{index}.docx"
        shutil.copyfile(source, copy)
        copies.append(copy)
    pdfs = libreoffice.convert_many(copies, "pdf", tmp_path / "pdf")
    for pdf in pdfs:
        assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 5000
    if shutil.which("pdftotext"):
        draft_text, final_text = (
            subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
            for pdf in pdfs
        )
        assert "送审稿" in draft_text and "送审稿" not in final_text
        assert "金卫健字〔2026〕1号" in "".join(final_text.split())  # pdftotext spaces Latin from CJK


def test_a_word_document_as_the_body(run: Run, root: Path, tmp_path: Path) -> None:
    """`--body 正文.docx`: its paragraphs, a line each, so "一、" lines become headings as in a text body."""
    doc = Document()
    for line in ("为加强护理质量管理，决定召开会议。现将有关事项通知如下：", "一、会议时间", "3月15日上午。"):
        doc.add_paragraph(line)
    body = tmp_path / "正文.docx"
    doc.save(str(body))
    draft(run, body)
    made = root / drafts_json(run)[0]["draft_path"]
    styled = {p.text: p.style.name for p in Document(str(made)).paragraphs if p.style is not None}
    assert styled["一、会议时间"] == "公文一级标题" and styled["3月15日上午。"] == "公文正文"
    old_word = tmp_path / "旧版.docx"
    old_word.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    refused = draft(run, old_word, expect=None)
    assert refused.exit_code != 0 and "旧版 Word" in refused.output
