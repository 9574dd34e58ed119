"""What is approved is what is issued (issue 14): an edited 送审稿 uploaded back, checked for what it may not
change; the final made from the approved file itself; numbers the bureau enters; the refusals.

The edits are made the way a secretary makes them: in python-docx (a Word-like save) and through
LibreOffice's own .docx export (what WPS or LibreOffice write, with renamed style ids), then uploaded
with `zhikong draft upload`.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from conftest import Run, as_json
from docx import Document
from docx.shared import Cm

from zhikong.app import Archive
from zhikong.archive import draftfile
from zhikong.errors import ConflictError

TITLE = "关于召开2026年第一次护理质控工作会议的通知"
BODY = "为加强护理质量管理，决定召开会议。现将有关事项通知如下：\n一、会议时间\n3月15日上午。"
EDIT = "二、会议地点\n县人民医院三楼会议室。"


def make_draft(run: Run, tmp_path: Path, title: str = TITLE) -> dict[str, object]:
    body = tmp_path / f"{len(list(tmp_path.glob('body*')))}body.txt"
    body.write_text(BODY, encoding="utf-8")
    run(
        "draft",
        "notice",
        "--center",
        "护理质控中心",
        "--title",
        title,
        "--to",
        "各医疗机构",
        "--body",
        str(body),
    )
    return dict(as_json(run("draft", "list", "--json"))[-1])


def edited(root: Path, draft: dict[str, object], out: Path, change: str = "body") -> Path:
    """The 送审稿 edited in python-docx: `change` says what the secretary did."""
    doc = Document(str(root / str(draft["draft_path"])))
    paragraphs = doc.paragraphs
    if change == "body":
        last = next(p for p in reversed(paragraphs) if p.style is not None and p.style.name == "公文正文")
        last.add_run("另：" + EDIT.replace("\n", "；"))
    elif change == "red_head":
        paragraphs[0].runs[0].text = "金乡县人民医院文件"
    elif change == "number":
        paragraphs[1].runs[0].text = "金卫健字〔2026〕8号"
    elif change == "mark":
        for section in doc.sections:
            for p in section.header.paragraphs:
                for r in p.runs:
                    r.text = ""
    elif change == "margins":
        doc.sections[0].left_margin = Cm(2.0)
    elif change == "title":
        next(p for p in paragraphs if p.style is not None and p.style.name == "公文标题").runs[
            0
        ].text = "另一份通知"
    doc.save(str(out))
    return out


def texts(path: Path) -> tuple[list[str], list[str]]:
    f = draftfile.DraftFile.read(path.read_bytes())
    return f.paragraphs(), f.styled_texts(draftfile.MARK_STYLE, f.headers())


def test_edited_draft_is_approved_as_is_with_the_number_the_bureau_entered(
    run: Run, root: Path, tmp_path: Path
) -> None:
    d = make_draft(run, tmp_path)
    upload = edited(root, d, tmp_path / "修改稿.docx")
    said = run("draft", "upload", str(d["id"]), str(upload))
    assert "已保存修改稿" in said.output and "送审" in said.output
    draft_file = root / str(d["draft_path"])
    assert draft_file.read_bytes() == upload.read_bytes()
    approved = run("draft", "approve", str(d["id"]), "--by", "医政科", "--number", "12")
    assert "金卫健字〔2026〕12号" in approved.output
    final = root / str(as_json(run("draft", "list", "--json"))[0]["final_path"])
    draft_paragraphs, draft_marks = texts(upload)
    final_paragraphs, final_marks = texts(final)
    # The final's text is the uploaded draft's, line for line, with the number in its line, the mark gone.
    assert final_paragraphs == [
        p.replace("金卫健字〔2026〕  号", "金卫健字〔2026〕12号") for p in draft_paragraphs
    ]
    assert any("县人民医院三楼会议室" in p for p in final_paragraphs)
    assert draft_marks == ["送审稿", "送审稿"] and final_marks == ["", ""]
    arc = Archive.open(root)
    assert arc.draft_proof("秘书", int(str(d["id"]))) is True
    row = as_json(run("draft", "list", "--json"))[0]
    assert row["approved_sha256"] == draftfile.sha256(upload.read_bytes())
    assert row["final_sha256"] == draftfile.sha256(final.read_bytes())
    # The entered number raised the sequence: the next automatic one is 13, and 12 cannot be given again.
    d2 = make_draft(run, tmp_path, title="关于开展护理质量督查的通知")
    again = run("draft", "approve", str(d2["id"]), "--by", "医政科", "--number", "12", expect=None)
    assert again.exit_code != 0 and "已经用过" in again.output
    assert "〔2026〕13号" in run("draft", "approve", str(d2["id"]), "--by", "医政科").output


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ("red_head", "红头"),
        ("number", "发文字号一行被改动"),
        ("mark", "送审稿”标记"),
        ("margins", "页面设置"),
    ],
)
def test_an_edited_draft_that_changed_what_it_may_not_is_refused(
    run: Run, root: Path, tmp_path: Path, change: str, said: str
) -> None:
    d = make_draft(run, tmp_path)
    before = (root / str(d["draft_path"])).read_bytes()
    refused = run(
        "draft", "upload", str(d["id"]), str(edited(root, d, tmp_path / "改.docx", change)), expect=None
    )
    assert refused.exit_code != 0 and said in refused.output and "没有保存" in refused.output
    assert (root / str(d["draft_path"])).read_bytes() == before


def test_not_a_docx_and_another_drafts_file_are_refused(run: Run, root: Path, tmp_path: Path) -> None:
    d1 = make_draft(run, tmp_path)
    d2 = make_draft(run, tmp_path, title="关于开展护理质量督查的通知")
    text = tmp_path / "通知.docx"
    text.write_text("这不是 Word 文件", encoding="utf-8")
    assert "不是 .docx" in run("draft", "upload", str(d1["id"]), str(text), expect=None).output
    other = root / str(d2["draft_path"])
    refused = run("draft", "upload", str(d1["id"]), str(other), expect=None)
    assert refused.exit_code != 0 and f"另一份草稿（编号 {d2['id']}）" in refused.output


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) 未安装")
def test_a_draft_saved_by_libreoffice_is_accepted_and_finalised(run: Run, root: Path, tmp_path: Path) -> None:
    """LibreOffice (like WPS) renames the style ids (公文版头 becomes Style10) and rewrites every part; the
    draft is still recognised (its dc:identifier survives), its red head and marks found by style name,
    and the final is made from the file as LibreOffice wrote it."""
    d = make_draft(run, tmp_path)
    out = tmp_path / "lo"
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(out),
         str(root / str(d["draft_path"]))],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    (saved,) = out.glob("*.docx")
    written = draftfile.DraftFile.read(saved.read_bytes())
    assert written.identifier() == f"zhikong-draft:{d['id']}"
    assert draftfile.HEAD_STYLE not in written.parts[draftfile.DOCUMENT].decode()  # ids renamed
    run("draft", "upload", str(d["id"]), str(saved))
    run("draft", "approve", str(d["id"]), "--by", "医政科")
    final = root / str(as_json(run("draft", "list", "--json"))[0]["final_path"])
    paragraphs, marks = texts(final)
    assert "金卫健字〔2026〕1号" in paragraphs and set(marks) == {""}


def test_a_draft_changed_after_it_was_submitted_is_not_approved(run: Run, root: Path, tmp_path: Path) -> None:
    d = make_draft(run, tmp_path)
    edited(root, d, root / str(d["draft_path"]))  # edited in place, behind the system's back
    refused = run("draft", "approve", str(d["id"]), "--by", "医政科", expect=None)
    assert refused.exit_code != 0 and "送审后被改动过" in refused.output
    assert as_json(run("draft", "list", "--json"))[0]["state"] == "submitted"


def test_returned_fixed_and_resubmitted(run: Run, root: Path, tmp_path: Path) -> None:
    d = make_draft(run, tmp_path)
    run("draft", "reject", str(d["id"]), "--reason", "请补充会议地点")
    rejected = as_json(run("draft", "list", "--json"))[0]
    assert rejected["state"] == "rejected" and rejected["reason"] == "请补充会议地点"
    run("draft", "upload", str(d["id"]), str(edited(root, d, tmp_path / "补充.docx")))
    assert as_json(run("draft", "list", "--json"))[0]["state"] == "submitted"
    run("draft", "approve", str(d["id"]), "--by", "医政科")
    final = root / str(as_json(run("draft", "list", "--json"))[0]["final_path"])
    assert any("三楼会议室" in p for p in texts(final)[0])


def test_two_approvers_at_once_one_wins_the_other_is_told(root: Path, run: Run, tmp_path: Path) -> None:
    d = make_draft(run, tmp_path)
    arc = Archive.open(root)
    import datetime

    outcomes: list[str] = []

    def approve(who: str) -> None:
        try:
            arc.approve(who, int(str(d["id"])), by=who, today=datetime.date(2026, 3, 2))
            outcomes.append("approved")
        except ConflictError as exc:
            outcomes.append(exc.message)

    threads = [threading.Thread(target=approve, args=(name,)) for name in ("医政科张", "医政科李")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes)[0] == "approved" and "不能批准" in sorted(outcomes)[1], outcomes
    assert [x["doc_number"] for x in as_json(run("draft", "list", "--json"))] == ["金卫健字〔2026〕1号"]


def test_an_approver_who_saw_an_older_text_is_refused(root: Path, run: Run, tmp_path: Path) -> None:
    d = make_draft(run, tmp_path)
    seen = str(as_json(run("draft", "list", "--json"))[0]["submitted_sha256"])
    run("draft", "upload", str(d["id"]), str(edited(root, d, tmp_path / "新.docx")))
    arc = Archive.open(root)
    import datetime

    with pytest.raises(ConflictError, match="在你查看之后重新送审"):
        arc.approve(
            "医政科张", int(str(d["id"])), by="医政科", today=datetime.date(2026, 3, 2), seen_sha256=seen
        )


def test_attachment_files_travel_with_the_draft_and_are_filed_beside_the_final(
    run: Run, root: Path, tmp_path: Path
) -> None:
    from zhikong.archive.samplefiles import make_xlsx

    receipt = make_xlsx(tmp_path / "回执.xlsx", "参会回执", ["单位", "姓名"], [["县人民医院", "刘敏"]])
    body = tmp_path / "body.txt"
    body.write_text(BODY, encoding="utf-8")
    base = (
        "draft",
        "notice",
        "--center",
        "护理质控中心",
        "--title",
        TITLE,
        "--to",
        "各医疗机构",
        "--body",
        str(body),
    )
    too_many = run(*base, "--attach-file", str(receipt), expect=None)
    assert too_many.exit_code != 0 and "附件文件有 1 个，附件名称只有 0 个" in too_many.output
    program = tmp_path / "setup.exe"
    program.write_bytes(b"MZ" + b"\0" * 64)
    refused = run(*base, "--attach", "安装程序", "--attach-file", str(program), expect=None)
    assert refused.exit_code != 0 and "不能是程序" in refused.output
    assert not as_json(run("draft", "list", "--json"))  # nothing drafted
    run(*base, "--attach", "参会回执", "--attach-file", str(receipt))
    run("draft", "approve", "1", "--by", "医政科")
    final = root / str(as_json(run("draft", "list", "--json"))[0]["final_path"])
    filed = final.with_name("金卫健字〔2026〕1号 附件1 参会回执.xlsx")
    assert filed.read_bytes() == receipt.read_bytes()
    paths = {r["path"] for r in as_json(run("ls", "--json"))}
    assert filed.relative_to(root).as_posix() in paths and final.relative_to(root).as_posix() in paths
