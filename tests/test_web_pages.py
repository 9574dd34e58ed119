"""zhikong serve's pages over HTTP (Django's test client on a real archive): the archive as folders, a
record's page with its details, versions, audit entries, download and preview, upload (with hostile input),
search with paging, the audit log with its verify button, the administrator's account pages, and the
JSON API's upload, download and check. Every permission rule is tried from the side that must be refused.

The files are real where the real-file corpus is present (tests/samples/real, see its README), else made
with python-docx and Pillow on the spot; either way they go through the whole ingest (extraction, index).
"""

from __future__ import annotations

import io
import json
import re
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from conftest import photo_of_paper
from django.test import Client
from webtools import PASSWORD, Site, page

from zhikong.archive.samplefiles import make_docx, make_pdf

NURSING, INFECTION = "护理质控中心", "院感质控中心"
MEETING = f"{NURSING}/2026/2026-03-15 第一次工作会议"
INSPECTION = f"{INFECTION}/2026/2026-04-02 院感防控督查"
REAL = Path(__file__).parent / "samples" / "real"


def docx_bytes(tmp: Path, title: str, text: str) -> bytes:
    return make_docx(tmp / f"{title}.docx", title, [text]).read_bytes()


@pytest.fixture
def web(site: Site, tmp_path: Path) -> Site:
    """Two centers with files, scanned; a secretary and a director of 护理, the bureau, an administrator."""
    make_docx(site.root / MEETING / "会议通知.docx", "关于召开第一次护理质控工作会议的通知",
              ["请各成员单位质控护士参加。联系人电话 13912345678。"])  # fmt: skip
    make_pdf(site.root / MEETING / "会议纪要.pdf", [["第一次护理质控工作会议纪要", "讨论跌倒评估表的使用。"]])
    make_docx(site.root / INSPECTION / "督查记录.docx", "院感防控督查记录", ["手卫生依从性抽查。"])
    site.zk("scan")
    site.add("刘敏", "secretary", NURSING)
    site.add("王秀英", "director", NURSING)
    site.add("医政科张", "bureau")
    site.add("管理员甲", "admin")
    return site


def _id(site: Site, path_end: str) -> int:
    rows = json.loads(site.zk("ls", "--json").stdout)
    return int(next(r["id"] for r in rows if r["path"].endswith(path_end)))


# -- the archive as folders ------------------------------------------------------------------------------


def test_secretary_browses_her_center_by_year_and_activity_only(web: Site) -> None:
    c = web.login("刘敏")
    centers = page(c.get("/archive/"))
    assert NURSING in centers and INFECTION not in centers
    year = page(c.get(f"/archive/{NURSING}/"))
    assert "2026 年度" in year
    listing = c.get(f"/archive/{NURSING}/2026/")
    body = page(listing)
    assert listing.status_code == 200 and "2026-03-15 第一次工作会议" in body
    assert "会议通知.docx" in body and "会议纪要.pdf" in body and "按文件名" in body  # category and why
    assert "13912345678" not in body  # the title is masked
    for url in (f"/archive/{INFECTION}/", f"/archive/{INFECTION}/2026/"):
        refused = c.get(url)
        assert refused.status_code == 403 and "无权" in page(refused)
    assert c.get("/archive/没有这个中心/").status_code == 404


def test_bureau_browses_every_center(web: Site) -> None:
    c = web.login("医政科张")
    assert NURSING in page(c.get("/archive/")) and INFECTION in page(c.get("/archive/"))
    assert "督查记录.docx" in page(c.get(f"/archive/{INFECTION}/2026/"))


# -- one record -------------------------------------------------------------------------------------------


def test_record_page_shows_details_versions_audit_and_a_pdf_preview(web: Site) -> None:
    rid = _id(web, "会议纪要.pdf")
    c = web.login("王秀英")  # a director reads
    body = page(c.get(f"/records/{rid}/"))
    assert "会议纪要" in body and "第 1 版" in body and "登记文件" in body  # its audit entry, in words
    assert f'src="/records/{rid}/preview#' in body
    assert 'name="title"' not in body  # no edit form for a director
    preview = c.get(f"/records/{rid}/preview")
    assert preview.status_code == 200 and preview["Content-Type"] == "application/pdf"
    assert preview["Content-Disposition"].startswith("inline")
    assert "frame-ancestors 'self'" in preview["Content-Security-Policy"]
    assert preview["X-Frame-Options"] == "SAMEORIGIN"
    assert b"".join(preview.streaming_content).startswith(b"%PDF")


def test_download_is_the_catalogued_file_and_refused_outside_her_center(web: Site) -> None:
    mine, other = _id(web, "会议通知.docx"), _id(web, "督查记录.docx")
    c = web.login("刘敏")
    got = c.get(f"/records/{mine}/file")
    assert got.status_code == 200 and got["Content-Disposition"].startswith("attachment")
    assert b"".join(got.streaming_content) == (web.root / MEETING / "会议通知.docx").read_bytes()
    for url in (f"/records/{other}/", f"/records/{other}/file", f"/records/{other}/preview"):
        refused = c.get(url)
        assert refused.status_code == 403, url
    assert c.get("/records/999999/").status_code == 404


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) 未安装")
def test_office_file_preview_is_converted_by_libreoffice_once(web: Site) -> None:
    rid = _id(web, "会议通知.docx")
    c = web.login("刘敏")
    assert "LibreOffice 转换" in page(c.get(f"/records/{rid}/"))
    first = c.get(f"/records/{rid}/preview")
    assert first.status_code == 200 and first["Content-Type"] == "application/pdf"
    assert b"".join(first.streaming_content).startswith(b"%PDF")
    cached = list((web.root / ".zhikong" / "previews").glob("*.pdf"))
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    assert c.get(f"/records/{rid}/preview").status_code == 200
    assert cached[0].stat().st_mtime_ns == stamp  # served from the cache, not converted again


def test_without_libreoffice_the_page_says_so(web: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    from zhikong import libreoffice

    monkeypatch.setattr(libreoffice, "available", lambda: False)
    rid = _id(web, "会议通知.docx")
    c = web.login("刘敏")
    assert "没有安装 LibreOffice" in page(c.get(f"/records/{rid}/"))
    assert c.get(f"/records/{rid}/preview").status_code == 404


def test_secretary_edits_details_audited_and_others_cannot(web: Site) -> None:
    rid = _id(web, "会议纪要.pdf")
    c = web.login("刘敏")
    edit = {"title": "第一次工作会议纪要（定稿）", "doc_date": "2026-03-16", "responsible": "护理质控中心",
            "pages": "2", "category": "会议纪要", "activity": "2026-03-15 第一次工作会议"}  # fmt: skip
    done = c.post(f"/records/{rid}/edit", edit)
    assert done.status_code == 302
    body = page(c.get(done["Location"]))
    assert "已保存修改" in body and "第一次工作会议纪要（定稿）" in body and "2026-03-16" in body
    log = page(c.get("/log/?action=record.edit"))
    assert "修改著录信息" in log and "刘敏" in log and "定稿" in log
    bad = c.post(f"/records/{rid}/edit", edit | {"doc_date": "3月16日"})
    assert bad.status_code == 400 and "YYYY-MM-DD" in page(bad)
    director = web.login("王秀英")
    assert director.post(f"/records/{rid}/edit", edit | {"title": "改"}).status_code == 403
    strict = Client(enforce_csrf_checks=True, REMOTE_ADDR="10.0.0.9")
    strict.post("/login/", {"name": "刘敏", "password": PASSWORD})
    assert strict.post(f"/records/{rid}/edit", edit).status_code == 403  # no CSRF token


def test_restore_an_earlier_version_from_the_record_page(web: Site) -> None:
    path = web.root / MEETING / "会议通知.docx"
    first = path.read_bytes()
    make_docx(path, "关于召开第一次护理质控工作会议的通知（改期）", ["会议改到下午。"])
    web.zk("scan")
    rid = _id(web, "会议通知.docx")
    c = web.login("刘敏")
    assert "第 2 版（当前）" in page(c.get(f"/records/{rid}/"))
    assert b"".join(c.get(f"/records/{rid}/file?version=1").streaming_content) == first
    assert web.login("王秀英").post(f"/records/{rid}/restore", {"version": "1"}).status_code == 403
    done = c.post(f"/records/{rid}/restore", {"version": "1"})
    assert done.status_code == 302 and path.read_bytes() == first
    assert "第 3 版（当前）" in page(c.get(f"/records/{rid}/"))


# -- upload --------------------------------------------------------------------------------------------------


def _files(*named: tuple[str, bytes]) -> list[io.BytesIO]:
    out = []
    for name, data in named:
        f = io.BytesIO(data)
        f.name = name
        out.append(f)
    return out


def _photo(tmp: Path) -> tuple[str, bytes]:
    real = REAL / "image" / "ch_doc_server.png"
    if real.is_file():  # RapidOCR's test image (Apache-2.0), see tests/samples/real/SOURCES.csv
        return "签到表.png", real.read_bytes()
    return "签到表.jpg", photo_of_paper(
        tmp / "签到表.jpg", ["院感防控督查签到表", "张建国 李红梅"]
    ).read_bytes()


def test_upload_to_a_new_activity_is_catalogued_classified_and_searchable(web: Site, tmp_path: Path) -> None:
    c = web.login("刘敏")
    form = page(c.get(f"/upload/?center={NURSING}&year=2026"))
    assert "2026-03-15 第一次工作会议" in form and "把文件（或整个文件夹）拖到这里" in form
    photo = _photo(tmp_path)
    notice = ("质控培训通知.docx", docx_bytes(tmp_path, "质控培训通知", "定于六月二十日举办压疮护理培训班。"))
    sent = c.post(
        "/upload/",
        {"center": NURSING, "year": "2026", "where": "new", "new_date": "2026-06-10",
         "new_name": "压疮护理培训", "files": _files(notice, photo)},
        HTTP_ACCEPT="application/json",
    )  # fmt: skip
    assert sent.status_code == 200, sent.content.decode()
    results = sent.json()["results"]
    assert [r["ok"] for r in results] == [True, True]
    assert results[0]["path"] == f"{NURSING}/2026/2026-06-10 压疮护理培训/质控培训通知.docx"
    assert results[0]["category"] == "通知" and "文字已读取" in results[0]["read"]
    assert results[1]["category"] == "签到表"
    folder = web.root / NURSING / "2026" / "2026-06-10 压疮护理培训"
    assert (folder / "质控培训通知.docx").read_bytes() == notice[1]
    hits = page(c.get("/search/?q=压疮 培训班"))
    assert "质控培训通知" in hits and "<mark>" in hits
    log = page(web.login("医政科张").get("/log/?action=record.upload"))
    assert "网页上传" in log and "刘敏" in log


def test_upload_without_scripts_shows_a_result_page(web: Site, tmp_path: Path) -> None:
    c = web.login("刘敏")
    data = docx_bytes(tmp_path, "工作计划", "2026 年护理质控工作计划。")
    sent = c.post("/upload/", {"center": NURSING, "year": "2026", "where": "folder", "folder": "工作计划",
                               "files": _files(("2026年工作计划.docx", data))})  # fmt: skip
    body = page(sent)
    assert sent.status_code == 200 and "上传结果" in body and "已登记" in body and "工作计划" in body
    assert (web.root / NURSING / "2026" / "工作计划" / "2026年工作计划.docx").is_file()


def test_hostile_names_are_made_safe_and_nothing_escapes_the_folder(web: Site, tmp_path: Path) -> None:
    c = web.login("刘敏")
    data = docx_bytes(tmp_path, "x", "内容。")
    names = ["../../etc/passwd.docx", "..\\..\\Windows\\win.ini.docx", "CON.docx", "长" * 300 + ".docx",
             "~$临时.docx", "a\u202egnp.docx"]  # fmt: skip
    sent = c.post("/upload/", {"center": NURSING, "year": "2026", "where": "inbox",
                               "files": _files(*[(n, data) for n in names])},
                  HTTP_ACCEPT="application/json")  # fmt: skip
    results = sent.json()["results"]
    assert all(r["ok"] for r in results), results
    inbox = web.root / NURSING / "收件箱"
    stored = sorted(p.name for p in inbox.iterdir())
    assert len(stored) == len(names)  # none lost: each kept, under a safe name in the inbox
    for name in stored:
        assert "/" not in name and "\\" not in name and "\u202e" not in name and not name.startswith("~$")
        assert len(name.encode("utf-8")) <= 200 and not name.upper().startswith("CON.")
    assert not (web.root.parent / "etc").exists() and not (web.root / "etc").exists()


def test_empty_executable_and_oversized_uploads_are_refused_in_chinese(web: Site, tmp_path: Path) -> None:
    c = web.login("刘敏")
    base = {"center": NURSING, "year": "2026", "where": "inbox"}
    empty = c.post("/upload/", base | {"files": _files(("空.docx", b""))}, HTTP_ACCEPT="application/json")
    assert empty.status_code == 400 and "是空的" in empty.json()["results"][0]["error"]
    exe = c.post("/upload/", base | {"files": _files(("setup.exe", b"MZ\x90\x00" + b"\x00" * 100))},
                 HTTP_ACCEPT="application/json")  # fmt: skip
    assert exe.status_code == 400 and "不接收程序" in exe.json()["results"][0]["error"]
    disguised = c.post("/upload/", base | {"files": _files(("通知.docx", b"MZ\x90\x00" + b"\x00" * 100))},
                       HTTP_ACCEPT="application/json")  # fmt: skip
    assert disguised.status_code == 400  # an executable by its content, whatever its name
    from django.test import override_settings

    with override_settings(ZHIKONG_UPLOAD_MAX_BYTES=1024 * 1024):
        big = c.post("/upload/", base | {"files": _files(("大.pdf", b"%PDF" + b"0" * 3 * 1024 * 1024))},
                     HTTP_ACCEPT="application/json")  # fmt: skip
    assert big.status_code == 413 and "超过上限 1 MB" in big.json()["results"][0]["error"]
    assert not [p for p in (web.root / NURSING).rglob("*") if p.is_file() and "收件箱" in p.parts]
    assert not list((web.root / ".zhikong" / "tmp").glob("upload-*"))


def test_two_uploads_of_one_name_at_once_become_two_versions(web: Site, tmp_path: Path) -> None:
    a = docx_bytes(tmp_path, "甲", "第一份：签到表甲。")
    b = docx_bytes(tmp_path, "乙", "第二份：签到表乙。")
    clients = [web.login("刘敏", address=f"10.0.1.{i}") for i in (1, 2)]
    answers: list[int] = []

    def send(client: Client, data: bytes) -> None:
        r = client.post("/upload/", {"center": NURSING, "year": "2026", "where": "activity",
                                     "activity": "2026-03-15 第一次工作会议",
                                     "files": _files(("签到表.docx", data))},
                        HTTP_ACCEPT="application/json")  # fmt: skip
        answers.append(r.status_code)

    threads = [threading.Thread(target=send, args=(cl, d)) for cl, d in zip(clients, (a, b), strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert answers == [200, 200]
    rid = _id(web, "第一次工作会议/签到表.docx")
    body = page(clients[0].get(f"/records/{rid}/"))
    assert "第 2 版（当前）" in body and "第 1 版" in body
    versions = {
        b"".join(clients[0].get(f"/records/{rid}/file?version={v}").streaming_content) for v in (1, 2)
    }
    assert versions == {a, b}  # both kept, none lost


def test_an_upload_cut_off_midway_leaves_nothing_catalogued(web: Site, tmp_path: Path) -> None:
    """The server stopped (or the connection dropped) while a file was arriving: the application layer's
    reading fails; nothing is in the folder or the catalogue, and the partial file is gone."""
    from zhikong.app import Archive
    from zhikong.archive.upload import UploadTarget, clear_stale

    class CutOff(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            if self.tell() > 100_000:
                raise OSError(104, "Connection reset by peer")
            return super().read(size if size and size > 0 else 65536)

    arc = Archive.open(web.root)
    before = json.loads(web.zk("ls", "--json").stdout)
    with pytest.raises(Exception) as raised:
        arc.upload("刘敏", UploadTarget(NURSING, 2026), "大文件.pdf", CutOff(b"%PDF" + b"1" * 500_000))
    assert "没能写入" in str(raised.value)
    assert json.loads(web.zk("ls", "--json").stdout) == before
    assert not [p for p in (web.root / NURSING).rglob("*") if p.is_file() and "收件箱" in p.parts]
    leftover = web.root / ".zhikong" / "tmp" / "upload-killed.part"  # what a killed process leaves
    leftover.write_bytes(b"half")
    assert clear_stale(arc.settings()) == 1 and not leftover.exists()


def test_who_may_upload(web: Site, tmp_path: Path) -> None:
    data = docx_bytes(tmp_path, "x", "内容。")
    director = web.login("王秀英")
    assert director.get("/upload/").status_code == 403
    assert (
        director.post("/upload/", {"center": NURSING, "files": _files(("a.docx", data))}).status_code == 403
    )
    secretary = web.login("刘敏")
    other = secretary.post("/upload/", {"center": INFECTION, "year": "2026", "where": "inbox",
                                        "files": _files(("a.docx", data))})  # fmt: skip
    assert other.status_code == 403 and not list((web.root / INFECTION / "收件箱").glob("*"))


# -- search ---------------------------------------------------------------------------------------------------


def test_search_page_pages_highlights_masks_and_keeps_to_her_center(web: Site) -> None:
    folder = web.root / NURSING / "2026" / "2026-05-20 护理质量督查"
    for i in range(23):
        make_docx(folder / f"督查反馈{i:02d}.docx", f"护理质量督查反馈意见{i:02d}",
                  [f"第{i}病区：交接班记录不全，联系电话 13912345678。"])  # fmt: skip
    web.zk("scan")
    c = web.login("刘敏")
    first = page(c.get("/search/?q=交接班 记录"))
    assert first.count('class="title"') == 20 and "下一页" in first and "<mark>" in first
    assert "13912345678" not in first and "139****5678" in first
    second = page(c.get("/search/?q=交接班 记录&page=2"))
    assert second.count('class="title"') == 3 and "上一页" in second
    assert "院感防控督查记录" not in page(c.get("/search/?q=手卫生"))  # the other center's file is not hers
    assert c.get(f"/search/?q=手卫生&center={INFECTION}").status_code == 403
    assert "院感防控督查记录" in page(web.login("医政科张").get("/search/?q=手卫生"))
    bad = c.get("/search/?q=督查&from=去年")
    assert bad.status_code == 400 and "YYYY-MM-DD" in page(bad)
    assert "护理质量督查反馈意见" in page(c.get("/search/?q=交接班&category=反馈意见&year=2026"))


# -- the audit log -----------------------------------------------------------------------------------------


def test_log_page_filters_and_verify_finds_an_edited_entry(web: Site) -> None:
    secretary = web.login("刘敏")
    mine = page(secretary.get("/log/"))
    assert "会议通知.docx" in mine and "督查记录.docx" not in mine  # her center's entries only
    bureau = web.login("医政科张")
    assert "督查记录.docx" in page(bureau.get("/log/"))
    ok = bureau.post("/log/verify")
    assert ok.status_code == 200 and "校验通过" in page(ok)
    with sqlite3.connect(web.root / ".zhikong" / "catalogue.sqlite") as db:
        db.execute("UPDATE audit SET actor = '别人' WHERE action = 'add'")
    broken = bureau.post("/log/verify")
    assert broken.status_code == 409 and "校验未通过" in page(broken)


# -- the administrator's pages ------------------------------------------------------------------------------


def test_administrator_manages_accounts_in_the_browser(web: Site) -> None:
    admin = web.login("管理员甲")
    assert "刘敏" in page(admin.get("/accounts/"))
    made = admin.post("/accounts/", {"name": "赵静", "role": "secretary", "centers": [INFECTION],
                                     "password": "赵静的密码-2026", "again": "赵静的密码-2026"})  # fmt: skip
    assert made.status_code == 200 and "已新建账户：赵静" in page(made)
    assert INFECTION in page(web.login("赵静", password="赵静的密码-2026").get("/archive/"))
    mismatch = admin.post(
        "/accounts/", {"name": "钱", "role": "bureau", "password": "a" * 12, "again": "b" * 12}
    )
    assert mismatch.status_code == 400 and "不一致" in page(mismatch)
    token = page(admin.post("/accounts/赵静/", {"action": "token"}))
    assert "只显示这一次" in token and "zk_" in token
    assert "已停用" in page(admin.post("/accounts/赵静/", {"action": "disable"}))
    assert web.client().post("/login/", {"name": "赵静", "password": "赵静的密码-2026"}).status_code == 200
    assert "管理员甲" in page(admin.get("/log/?action=user.disable"))
    for name in ("刘敏", "医政科张"):
        assert web.login(name).get("/accounts/").status_code == 403


# -- the JSON API: upload, download, check --------------------------------------------------------------------


def _auth(site: Site, name: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {site.token(name)}"}


def test_api_upload_download_and_check(web: Site, tmp_path: Path) -> None:
    auth, client = _auth(web, "刘敏"), web.client()
    data = docx_bytes(tmp_path, "反馈", "督查反馈意见：病历书写不规范。")
    f = _files(("督查反馈意见.docx", data))[0]
    made = client.post("/api/v1/records", {"file": f, "center": NURSING, "activity": "2026-05-10 病历质量督查"},
                       **auth)  # fmt: skip
    assert made.status_code == 201, made.content.decode()
    record = made.json()
    assert record["path"] == f"{NURSING}/2026/2026-05-10 病历质量督查/督查反馈意见.docx"
    assert record["category"] == "反馈意见" and record["outcome"] == "new"
    got = client.get(f"/api/v1/records/{record['id']}/file", **auth)
    assert b"".join(got.streaming_content) == data and got["X-Zhikong-Sha256"] == record["sha256"]
    hits = client.get("/api/v1/search?q=病历书写", **auth).json()
    assert [h["record_id"] for h in hits] == [record["id"]]
    findings = client.get("/api/v1/check?year=2026&as_of=2026-06-30", **auth).json()
    assert findings and {f["center"] for f in findings} == {NURSING}
    assert client.get(f"/api/v1/check?center={INFECTION}", **auth).status_code == 403
    f2 = _files(("x.docx", data))[0]
    refused = client.post("/api/v1/records", {"file": f2, "center": INFECTION}, **auth)
    assert refused.status_code == 403
    director = client.post("/api/v1/records", {"file": _files(("y.docx", data))[0], "center": NURSING},
                           **_auth(web, "王秀英"))  # fmt: skip
    assert director.status_code == 403
    assert client.post("/api/v1/records", {"center": NURSING}).status_code == 401
    other = _id(web, "督查记录.docx")
    assert client.get(f"/api/v1/records/{other}/file", **auth).status_code == 403
    spec = client.get("/api/v1/openapi.json").json()
    assert set(spec["paths"]) >= {
        "/api/v1/search",
        "/api/v1/records",
        "/api/v1/records/{id}/file",
        "/api/v1/check",
    }


# -- the home page's reminders ---------------------------------------------------------------------------


def test_home_reminds_the_secretary_of_deadlines_ahead_with_the_days_left(web: Site) -> None:
    """On 2026-06-15 (the site's clock) the half-year summary (due 07-31) is 46 days ahead, outside the
    30-day reminder window: nothing yet. On 07-05 it is a reminder with the days left, not a finding (the
    annual summary, 180 days ahead, is not); on 12-10 the bureau sees the annual one in the overview."""
    body = page(web.login("刘敏").get("/"))
    assert "半年工作总结" not in body and "还剩 46 天" not in body
    web.clock.t += 20 * 86400  # 2026-07-05
    body = page(web.login("刘敏", address="10.0.0.6").get("/"))
    assert re.search(r"半年工作总结[^<]{0,30}还剩 27 天", body), body  # 7月31日 counts: 27 days with today
    assert "还剩 180 天" not in body and "没有半年工作总结" not in body
    web.clock.t += 30 * 86400  # 2026-08-04: now it is missed, a finding
    later = page(web.login("刘敏", address="10.0.0.7").get("/"))
    assert "没有半年工作总结" in later and "半年工作总结还剩" not in later
    web.clock.t += 128 * 86400  # 2026-12-10
    overview = page(web.login("医政科张", address="10.0.0.8").get("/"))
    assert re.search(r"年度工作总结[^<]{0,30}还剩 22 天", overview), overview
