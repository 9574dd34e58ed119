"""A 函 through the draft workflow (issue 16 point 10): drafted from `render`'s data file, unnumbered until
approval, numbered in the center's own 函 sequence (or the bureau's), filed and catalogued."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import Run, as_json
from docx import Document

from zhikong import libreoffice

REPO = Path(__file__).resolve().parent.parent
LETTER = REPO / "templates" / "examples" / "letter.json"
TITLE = "关于商请派员参加护理质控培训的函"


def center_prefix(root: Path, prefix: str = "金护质控") -> None:
    """Give 护理质控中心 its own 代字 in zhikong.toml, as a secretary would in Notepad."""
    path = root / "zhikong.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace('code = "HL"\n', f'code = "HL"\ndoc_prefix = "{prefix}"\n', 1), encoding="utf-8"
    )


def letter_data(tmp_path: Path, name: str = "函.json", **changes: Any) -> Path:
    data = json.loads(LETTER.read_text(encoding="utf-8"))
    data.update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        del data[key]
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def draft_letter(run: Run, data: Path, *extra: str, expect: int | None = 0) -> Any:
    return run("draft", "letter", "--center", "护理质控中心", "--data", str(data), *extra, expect=expect)


def paragraphs(path: Path) -> list[tuple[str, str]]:
    return [(p.style.name, p.text) for p in Document(str(path)).paragraphs]


def headers(path: Path) -> str:
    document = Document(str(path))
    return "".join(
        p.text for s in document.sections for h in (s.header, s.first_page_header) for p in h.paragraphs
    )


def approve(run: Run, draft_id: int) -> str:
    out = run(
        "draft", "approve", str(draft_id), "--by", "县卫生健康局医政科", "--ref", "医政科审批单 7"
    ).output
    assert "已批准" in out
    return str(out)


def test_letter_drafted_from_the_example_approved_numbered_filed_and_logged(
    run: Run, root: Path, tmp_path: Path
) -> None:
    center_prefix(root)
    out = draft_letter(run, LETTER).output
    assert "批准后编号：金护质控函〔2026〕N号" in out
    [d] = as_json(run("draft", "list", "--json"))
    assert (d["kind"], d["kind_label"], d["state"], d["doc_number"]) == ("letter", "函", "submitted", None)
    listed = run("draft", "list").output
    assert "（未编号）" in listed and TITLE in listed
    draft_file = root / d["draft_path"]
    assert ("公文发文字号", "金护质控函〔2026〕  号") in paragraphs(draft_file)
    assert "送审稿" in headers(draft_file)

    approve(run, d["id"])
    [d] = as_json(run("draft", "list", "--json"))
    assert (d["state"], d["doc_number"], d["number"]) == ("approved", "金护质控函〔2026〕1号", 1)
    final = root / d["final_path"]
    assert d["final_path"].startswith("护理质控中心/2026/发文/金护质控函〔2026〕1号 ")
    text = paragraphs(final)
    assert ("公文发文字号", "金护质控函〔2026〕1号") in text and ("公文标题", TITLE) in text
    assert ("公文附注", "（联系人：张敏，电话0537-0000000）") in text
    assert "送审稿" not in headers(final)

    [record] = [r for r in as_json(run("ls", "--json")) if r["path"] == d["final_path"]]
    assert record["category"] == "其他" and record["doc_number"] == "金护质控函〔2026〕1号"
    entries = as_json(run("log", "--json"))
    approval = [e for e in entries if e["action"] == "draft.approve"]
    assert approval and approval[-1]["path"] == d["final_path"]
    assert approval[-1]["detail"]["doc_number"] == "金护质控函〔2026〕1号"


def test_letters_take_the_centers_letter_sequence_and_leave_notices_alone(
    run: Run, root: Path, tmp_path: Path
) -> None:
    center_prefix(root)
    body = tmp_path / "正文.txt"
    body.write_text("为加强护理质量管理，决定召开会议。", encoding="utf-8")
    run("draft", "notice", "--center", "护理质控中心", "--title", "关于召开护理质控工作会议的通知",
        "--to", "各镇街卫生院", "--body", str(body), "--date", "2026-03-01")  # fmt: skip
    draft_letter(run, LETTER)
    draft_letter(run, letter_data(tmp_path, title="关于商请提供护理质控数据的函"))
    ids = {d["title"]: d["id"] for d in as_json(run("draft", "list", "--json"))}
    for title in (TITLE, "关于商请提供护理质控数据的函", "关于召开护理质控工作会议的通知"):
        approve(run, ids[title])
    numbers = {d["title"]: d["doc_number"] for d in as_json(run("draft", "list", "--json"))}
    assert numbers == {
        TITLE: "金护质控函〔2026〕1号",
        "关于商请提供护理质控数据的函": "金护质控函〔2026〕2号",
        "关于召开护理质控工作会议的通知": "金卫健字〔2026〕1号",
    }


def test_bureau_letter_uses_the_bureaus_letter_sequence(run: Run, root: Path, tmp_path: Path) -> None:
    center_prefix(root)
    data = letter_data(tmp_path, organ_mark=None, signer=None, doc_prefix=None, to="县人民医院护理部：")
    activity = "2026-04-10 护理质控培训"
    draft_letter(run, data, "--bureau", "--activity", activity)
    [d] = as_json(run("draft", "list", "--json"))
    text = paragraphs(root / d["draft_path"])
    assert ("公文版头", "金乡县卫生健康局") in text and ("公文主送", "县人民医院护理部：") in text
    approve(run, d["id"])
    [d] = as_json(run("draft", "list", "--json"))
    assert d["doc_number"] == "金卫健函〔2026〕1号"
    assert d["final_path"].startswith(f"护理质控中心/2026/{activity}/金卫健函〔2026〕1号 ")


def test_letter_with_a_number_or_the_wrong_prefix_is_refused(run: Run, root: Path, tmp_path: Path) -> None:
    center_prefix(root)
    out = draft_letter(run, letter_data(tmp_path, doc_number="金护质控函〔2026〕5号"), expect=None).output
    assert "发文字号在批准时才分配" in out and "没有生成送审稿" in out
    out = draft_letter(run, letter_data(tmp_path, number=5), expect=None).output
    assert "发文字号在批准时才分配" in out
    out = draft_letter(run, letter_data(tmp_path, doc_prefix="金卫健函"), expect=None).output
    assert "不是护理质控中心的函的代字“金护质控函”" in out and "--bureau" in out
    # The bureau's 函 under a center's red head is refused too.
    out = draft_letter(run, LETTER, "--bureau", expect=None).output
    assert "发文机关标志（organ_mark）应是“金乡县卫生健康局”" in out
    assert as_json(run("draft", "list", "--json")) == []
    assert not list((root / "送审稿").rglob("*.docx")) if (root / "送审稿").exists() else True


def test_letter_without_a_center_prefix_names_the_setting(run: Run, tmp_path: Path) -> None:
    out = draft_letter(run, LETTER, expect=None).output
    assert "还没有 doc_prefix" in out
    assert as_json(run("draft", "list", "--json")) == []


@pytest.mark.skipif(
    not libreoffice.available() or shutil.which("pdftotext") is None, reason="no LibreOffice/pdftotext"
)
def test_final_letter_as_libreoffice_prints_it(run: Run, root: Path, tmp_path: Path) -> None:
    import subprocess

    center_prefix(root)
    draft_letter(run, LETTER)
    [d] = as_json(run("draft", "list", "--json"))
    approve(run, d["id"])
    [d] = as_json(run("draft", "list", "--json"))
    pdf = libreoffice.convert(root / d["final_path"], "pdf", tmp_path / "pdf")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True)
    lines = [line for line in text.stdout.splitlines() if line.strip()]
    assert "送审稿" not in text.stdout
    # 信函格式: the organ mark, then the 发文字号 flush right on its own line, then the title.
    head = [line.replace(" ", "") for line in lines[:3]]  # pdftotext spaces Latin digits from CJK
    assert head[0] == "金乡县护理质量控制中心" and head[1] == "金护质控函〔2026〕1号"
    assert lines[1].startswith(" " * 20)  # flush right, not at the left margin
    assert "关于商请派员参加护理质控培训的函" in lines[2]


# -- 纪要: numbered by 期 per center and year -------------------------------------------------------------

MINUTES = REPO / "templates" / "examples" / "minutes.json"


def draft_minutes(
    run: Run, data: Path, *extra: str, center: str = "护理质控中心", expect: int | None = 0
) -> Any:
    return run("draft", "minutes", "--center", center, "--data", str(data), *extra, expect=expect)


def test_minutes_numbered_by_issue_per_center_and_year_and_filed_as_minutes(
    run: Run, root: Path, tmp_path: Path
) -> None:
    activity = "2026-03-15 第一次护理质控工作会议"
    out = draft_minutes(run, MINUTES, "--activity", activity).output
    assert "批准后编号：2026年 第N期" in out
    draft_minutes(run, MINUTES, center="院感质控中心")
    second = json.loads(MINUTES.read_text(encoding="utf-8")) | {"title": "2026年第二次护理质控工作会议纪要"}
    (tmp_path / "纪要2.json").write_text(json.dumps(second, ensure_ascii=False), encoding="utf-8")
    draft_minutes(run, tmp_path / "纪要2.json")
    drafts = as_json(run("draft", "list", "--json"))
    assert [d["kind_label"] for d in drafts] == ["会议纪要"] * 3
    first = root / drafts[0]["draft_path"]
    assert ("公文发文字号", "第  期") in paragraphs(first) and "送审稿" in headers(first)
    for d in drafts:
        approve(run, d["id"])
    done = {(d["center"], d["title"]): d for d in as_json(run("draft", "list", "--json"))}
    mine = done[("护理质控中心", "2026年第一次护理质控工作会议纪要")]
    assert mine["doc_number"] == "护理质控中心纪要2026年第1期"
    assert (
        done[("护理质控中心", "2026年第二次护理质控工作会议纪要")]["doc_number"]
        == "护理质控中心纪要2026年第2期"
    )
    assert (
        done[("院感质控中心", "2026年第一次护理质控工作会议纪要")]["doc_number"]
        == "院感质控中心纪要2026年第1期"
    )
    final = root / mine["final_path"]
    assert mine["final_path"].startswith(f"护理质控中心/2026/{activity}/")
    assert ("公文发文字号", "第1期") in paragraphs(final) and "送审稿" not in headers(final)
    [record] = [r for r in as_json(run("ls", "--json")) if r["path"] == mine["final_path"]]
    assert record["category"] == "会议纪要" and record["doc_number"] == "护理质控中心纪要2026年第1期"


def test_minutes_with_an_issue_number_is_refused_by_draft_and_render(run: Run, tmp_path: Path) -> None:
    data = json.loads(MINUTES.read_text(encoding="utf-8")) | {"issue_no": "第3期"}
    path = tmp_path / "纪要.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    out = draft_minutes(run, path, expect=None).output
    assert "纪要期数“第3期”" in out and "发文字号在批准时才分配" in out
    out = run("render", "minutes", str(path), "--out", str(tmp_path / "o.docx"), expect=None).output
    assert "纪要期数“第3期”" in out and not (tmp_path / "o.docx").exists()
    assert as_json(run("draft", "list", "--json")) == []


def test_edited_letter_uploaded_back_is_what_is_numbered(run: Run, root: Path, tmp_path: Path) -> None:
    center_prefix(root)
    draft_letter(run, LETTER)
    [d] = as_json(run("draft", "list", "--json"))
    document = Document(str(root / d["draft_path"]))
    [line] = [p for p in document.paragraphs if p.text.startswith("请贵院选派")]
    line.runs[0].text = "请贵院选派3名护理骨干参加。"
    for run_ in line.runs[1:]:
        run_.text = ""
    edited = tmp_path / "修改稿.docx"
    document.save(str(edited))
    assert "已保存修改稿" in run("draft", "upload", str(d["id"]), str(edited)).output
    approve(run, d["id"])
    [d] = as_json(run("draft", "list", "--json"))
    text = paragraphs(root / d["final_path"])
    assert ("公文正文", "请贵院选派3名护理骨干参加。") in text
    assert ("公文发文字号", "金护质控函〔2026〕1号") in text
    # The number line of a letter cannot be edited: it is what approval fills in.
    draft_letter(run, letter_data(tmp_path, title="关于商请提供护理质控数据的函"))
    [d2] = [x for x in as_json(run("draft", "list", "--json")) if x["state"] == "submitted"]
    document = Document(str(root / d2["draft_path"]))
    [number] = [p for p in document.paragraphs if p.style.name == "公文发文字号"]
    number.runs[0].text = "金护质控函〔2026〕9号"
    document.save(str(edited))
    out = run("draft", "upload", str(d2["id"]), str(edited), expect=None).output
    assert "发文字号一行被改动了" in out


def test_bureau_approves_a_letter_and_a_minutes_on_the_pages_with_the_proof(
    run: Run, root: Path, site: Any
) -> None:
    from webtools import page

    center_prefix(root)
    site.add("医政科张", "bureau")
    draft_letter(run, LETTER)
    draft_minutes(run, MINUTES)
    bureau = site.login("医政科张")
    queue = page(bureau.get("/drafts/"))
    assert "待审批（2）" in queue and TITLE in queue
    for d, number, shown in (
        (1, "4", "金护质控函〔2026〕4号"),  # the number the bureau's system gave
        (2, "", "护理质控中心纪要2026年第1期"),
    ):
        url = f"/drafts/{d}/"
        approved = bureau.post(f"{url}decide", {"action": "approve", "number": number})
        assert approved.status_code == 302, page(approved)
        final_page = page(bureau.get(url))
        assert shown in final_page and "其余一字未改" in final_page
    numbers = {d["kind"]: d["doc_number"] for d in as_json(run("draft", "list", "--json"))}
    assert numbers == {"letter": "金护质控函〔2026〕4号", "minutes": "护理质控中心纪要2026年第1期"}


def test_secretary_drafts_a_letter_from_a_data_file_on_the_page(
    root: Path, site: Any, tmp_path: Path
) -> None:
    import io

    from webtools import page

    center_prefix(root)
    site.add("刘敏", "secretary", "护理质控中心")
    secretary = site.login("刘敏")
    assert "起草函或会议纪要" in page(secretary.get("/drafts/"))
    assert "数据文件" in page(secretary.get("/drafts/new-data/"))

    def post(data: bytes, kind: str = "letter", name: str = "函.json") -> Any:
        upload = io.BytesIO(data)
        upload.name = name
        return secretary.post("/drafts/new-data/", {"center": "护理质控中心", "kind": kind, "data": upload})

    numbered = letter_data(tmp_path, doc_number="金护质控函〔2026〕5号").read_bytes()
    refused = post(numbered)
    assert refused.status_code == 400 and "发文字号在批准时才分配" in page(refused)
    assert post(LETTER.read_bytes(), name="函.txt").status_code == 400
    made = post(LETTER.read_bytes())
    assert made.status_code == 302, page(made)
    shown = page(secretary.get(made["Location"]))
    assert TITLE in shown and "草稿" in shown  # prepared, not yet submitted, as from the form
    minutes = post(MINUTES.read_bytes(), kind="minutes", name="纪要.json")
    assert minutes.status_code == 302, page(minutes)
