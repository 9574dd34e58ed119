"""Drafting and approval through the pages (Django's test client on a real archive): the form with its
problems next to their fields, the 送审稿's download and preview, an edited 送审稿 uploaded back, submit,
the bureau's queue, return with a reason, resubmit, approval with an entered number, the final filed as a
record with its proof — and who may not: a director approving, a secretary of another center looking."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from docx import Document
from webtools import Site, page

from zhikong.archive import draftfile

NURSING, INFECTION = "护理质控中心", "院感质控中心"
FORM = {
    "center": NURSING,
    "kind": "notice",
    "title": "关于召开2026年第一次护理质控工作会议的通知",
    "to": "各镇街卫生院、县直各医疗机构：",
    "body": "为加强护理质量管理，决定召开会议。\n一、会议时间\n3月15日上午。\n二、参会人员\n各院护理部主任。",
    "attachments": "参会回执",
    "cc": "县人民医院",
    "day": "2026-03-01",
    "activity": "",
    "signed_by": "",
}


@pytest.fixture
def web(site: Site) -> Site:
    site.add("刘敏", "secretary", NURSING)
    site.add("赵静", "secretary", INFECTION)
    site.add("王秀英", "director", NURSING)
    site.add("医政科张", "bureau")
    return site


def _upload(name: str, data: bytes) -> io.BytesIO:
    f = io.BytesIO(data)
    f.name = name
    return f


def _edited(data: bytes) -> bytes:
    """The 送审稿 with a sentence added to its last body paragraph, as Word would save it."""
    doc = Document(io.BytesIO(data))
    body = [p for p in doc.paragraphs if p.style is not None and p.style.name == "公文正文"]
    body[-1].add_run("请于3月10日前报送参会回执。")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def test_the_form_puts_each_problem_next_to_its_field_and_writes_nothing(web: Site) -> None:
    c = web.login("刘敏")
    bad = c.post("/drafts/new/", FORM | {"title": "护理会议", "to": "", "body": ""})
    html = page(bad)
    assert bad.status_code == 400 and "有 3 处需要修改" in html
    for said in ("应写成“关于……的通知”", "主送机关为空", "正文为空"):
        assert said in html
    assert FORM["cc"] in html  # what she typed is kept
    assert not list((web.root / "送审稿").rglob("*.docx"))


def test_draft_upload_submit_return_resubmit_approve_with_a_number(web: Site) -> None:
    secretary, bureau = web.login("刘敏"), web.login("医政科张")
    made = secretary.post("/drafts/new/", FORM)
    assert made.status_code == 302
    url = made["Location"].split("?")[0]
    draft_id = int(url.strip("/").split("/")[-1])
    shown = page(secretary.get(made["Location"]))
    assert "已生成送审稿" in shown and "草稿" in shown and "送审</button>" in shown
    assert "待审批（0）" in page(bureau.get("/drafts/"))  # not submitted yet: not in the queue

    original = b"".join(secretary.get(f"{url}file").streaming_content)
    assert draftfile.DraftFile.read(original).identifier() == f"zhikong-draft:{draft_id}"
    first_edit = _edited(original)
    up = secretary.post(f"{url}upload", {"file": _upload("修改稿.docx", first_edit)})
    assert up.status_code == 302 and "已保存修改稿" in page(secretary.get(up["Location"]))
    assert secretary.post(f"{url}submit").status_code == 302

    queue = page(bureau.get("/drafts/"))
    assert "待审批（1）" in queue and FORM["title"] in queue
    director = web.login("王秀英")
    assert FORM["title"] in page(director.get("/drafts/"))  # the director reads his center's drafts
    assert director.post(f"{url}decide", {"action": "approve"}).status_code == 403
    returned = bureau.post(f"{url}decide", {"action": "reject", "reason": "请写明会议地点"})
    assert returned.status_code == 302
    assert "请写明会议地点" in page(secretary.get(url))

    fixed = _edited(first_edit)
    secretary.post(f"{url}upload", {"file": _upload("再改.docx", fixed)})
    detail = page(bureau.get(url))
    assert "送审" in detail and "批准并编号" in detail
    seen = draftfile.sha256(fixed)
    approved = bureau.post(f"{url}decide", {"action": "approve", "number": "7", "seen": seen})
    assert approved.status_code == 302, page(approved)
    final_page = page(bureau.get(url))
    assert "金卫健字〔2026〕7号" in final_page and "其余一字未改" in final_page
    record_id = int(final_page.split('href="/records/')[1].split("/")[0])
    final = b"".join(secretary.get(f"/records/{record_id}/file").streaming_content)
    before = draftfile.DraftFile.read(fixed).paragraphs()
    after = draftfile.DraftFile.read(final).paragraphs()
    assert after == [p.replace("金卫健字〔2026〕  号", "金卫健字〔2026〕7号") for p in before]
    record_page = page(secretary.get(f"/records/{record_id}/"))
    assert "通知" in record_page and "金卫健字〔2026〕7号" in record_page  # filed as a record of the center
    assert "核对无误" in record_page  # the record page shows the proof too


def test_refusals_other_center_wrong_file_used_number_and_stale_view(web: Site, tmp_path: Path) -> None:
    secretary, bureau = web.login("刘敏"), web.login("医政科张")
    url = secretary.post("/drafts/new/", FORM)["Location"].split("?")[0]
    other = web.login("赵静")
    assert other.get(url).status_code == 403 and other.get(f"{url}file").status_code == 403
    assert FORM["title"] not in page(other.get("/drafts/"))
    assert other.post("/drafts/new/", FORM).status_code == 403  # not her center
    assert bureau.post("/drafts/new/", FORM).status_code == 403  # the bureau does not draft
    not_docx = secretary.post(f"{url}upload", {"file": _upload("通知.docx", "纯文本".encode())})
    assert not_docx.status_code == 400 and "不是 .docx" in page(not_docx)
    original = b"".join(secretary.get(f"{url}file").streaming_content)
    doc = Document(io.BytesIO(original))
    doc.paragraphs[1].runs[0].text = "金卫健字〔2026〕3号"
    out = io.BytesIO()
    doc.save(out)
    numbered = secretary.post(f"{url}upload", {"file": _upload("改了字号.docx", out.getvalue())})
    assert numbered.status_code == 400 and "发文字号一行被改动" in page(numbered)
    secretary.post(f"{url}submit")
    stale = bureau.post(f"{url}decide", {"action": "approve", "seen": "0" * 64})
    assert stale.status_code == 409 and "在你查看之后重新送审" in page(stale)
    url2 = secretary.post("/drafts/new/", FORM | {"title": "关于开展护理质量督查的通知"})["Location"].split(
        "?"
    )[0]
    secretary.post(f"{url2}submit")
    assert bureau.post(f"{url}decide", {"action": "approve", "number": "5"}).status_code == 302
    used = bureau.post(f"{url2}decide", {"action": "approve", "number": "5"})
    assert used.status_code == 409 and "已经用过" in page(used)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) 未安装")
def test_the_draft_preview_is_the_rendered_pages(web: Site) -> None:
    secretary = web.login("刘敏")
    url = secretary.post("/drafts/new/", FORM)["Location"].split("?")[0]
    shown = secretary.get(f"{url}preview")
    assert shown.status_code == 200 and shown["Content-Type"] == "application/pdf"
    assert b"".join(shown.streaming_content).startswith(b"%PDF")


def test_attachment_files_in_the_form_are_listed_downloaded_and_filed(web: Site, tmp_path: Path) -> None:
    from zhikong.archive.samplefiles import make_xlsx

    receipt = make_xlsx(
        tmp_path / "回执.xlsx", "参会回执", ["单位", "姓名"], [["县人民医院", "刘敏"]]
    ).read_bytes()
    secretary, bureau = web.login("刘敏"), web.login("医政科张")
    made = secretary.post("/drafts/new/", FORM | {"attachment_files": [_upload("回执.xlsx", receipt)]})
    assert made.status_code == 302, page(made)
    url = made["Location"].split("?")[0]
    shown = page(secretary.get(url))
    assert "附件1 参会回执.xlsx" in shown
    assert b"".join(secretary.get(f"{url}attachment/1").streaming_content) == receipt
    assert secretary.get(f"{url}attachment/2").status_code == 404
    assert web.login("赵静").get(f"{url}attachment/1").status_code == 403
    extra = secretary.post("/drafts/new/", FORM | {"attachment_files": [_upload("a.xlsx", receipt)] * 2})
    assert extra.status_code == 400 and "附件文件有 2 个" in page(extra)
    secretary.post(f"{url}submit")
    assert bureau.post(f"{url}decide", {"action": "approve"}).status_code == 302
    assert "附件1 参会回执.xlsx" in page(secretary.get(f"/archive/{NURSING}/2026/"))
