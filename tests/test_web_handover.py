"""Handover in the browser (web/handover.py): the bureau checks what is not ready, starts the handover, waits
for the background job, downloads the bundle and the 交接书; the new host uploads a bundle, reads the 四性
report and imports it; a tampered bundle is reported and cannot be imported; secretaries and directors are
refused everywhere; the audit log names the web user."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from django.test import Client, override_settings
from webtools import Site, page, served

from zhikong.app import Archive
from zhikong.archive.samplefiles import make_docx, make_pdf
from zhikong.cli import cli

NURSING = "护理质控中心"
MEETING = f"{NURSING}/2026/2026-03-15 第一次工作会议"
NEW_HOST = "金乡县中医院"


@pytest.fixture
def web(site: Site) -> Site:
    make_docx(
        site.root / MEETING / "会议通知.docx", "关于召开第一次护理质控工作会议的通知", ["请各成员单位参加。"]
    )
    make_pdf(site.root / MEETING / "会议纪要.pdf", [["第一次护理质控工作会议纪要", "讨论跌倒评估表的使用。"]])
    site.zk("scan")
    site.add("刘敏", "secretary", NURSING)
    site.add("王秀英", "director", NURSING)
    site.add("医政科张", "bureau")
    site.add("管理员甲", "admin")
    return site


def _wait_done(client: Client, url: str, timeout: float = 180) -> str:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(url)
        assert response.status_code == 200
        text = page(response)
        if "正在生成" not in text:
            return text
        assert response["Refresh"] == "3" and 'http-equiv="refresh"' in text
        assert time.monotonic() < deadline, "the handover did not finish in time"
        time.sleep(0.5)


def _zip_bytes(response: object) -> bytes:
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]


def test_bureau_checks_readiness_starts_handover_and_downloads_bundle_and_papers(
    web: Site, tmp_path: Path
) -> None:
    c = web.login("医政科张")
    overview = page(c.get("/handover/"))
    assert '<a href="/handover/">移交</a>' in overview and NURSING in overview and "未封存" in overview

    ready = c.get("/handover/start/", {"center": NURSING, "to": NEW_HOST, "as_of": "2026-06-30"})
    text = page(ready)
    assert ready.status_code == 200
    assert "以下事项尚未就绪" in text and "纸质原件尚未入盒" in text and "会议通知.docx" in text
    assert "确认封存并生成移交包" in text
    assert Archive(web.root).handover_status("测试").seals == ()  # looking seals nothing

    started = c.post("/handover/start/", {"center": NURSING, "to": NEW_HOST, "as_of": "2026-06-30"})
    assert started.status_code == 303
    job_url = started["Location"]
    assert re.fullmatch(r"/handover/jobs/\d{8}-\d{6}-[0-9a-f]{6}/", job_url)
    done = _wait_done(c, job_url)
    assert "已完成" in done, done
    fingerprint = re.search(r"<code>([0-9a-f ]{71})</code>", done)
    assert fingerprint, done
    assert "交接书.docx" in done and "bundle.zip" in done

    bundle = c.get(job_url + "bundle.zip")
    assert bundle.status_code == 200 and bundle["Content-Type"] == "application/zip"
    assert "filename*=UTF-8''" in bundle["Content-Disposition"]
    path = tmp_path / "下载的移交包.zip"
    path.write_bytes(_zip_bytes(bundle))
    report = Archive.handover_verify("接收方", path, fingerprint=fingerprint.group(1))
    assert report.problems == [] and report.center == NURSING and report.to_host == NEW_HOST
    assert report.origin.value == "fingerprint"
    with zipfile.ZipFile(path) as zf:
        assert any(n.endswith(f"data/{MEETING}/会议通知.docx") for n in zf.namelist())

    paper = c.get(job_url + "papers/交接书.docx")
    assert paper.status_code == 200
    body = b"".join(paper.streaming_content)  # type: ignore[attr-defined]
    with zipfile.ZipFile(io.BytesIO(body)) as docx:
        xml = docx.read("word/document.xml").decode("utf-8")
    assert fingerprint.group(1).split()[0] in xml and NEW_HOST in xml
    assert c.get(job_url + "papers/../../job.json").status_code == 404
    assert c.get(job_url + "papers/目录.csv").status_code == 404

    overview = page(c.get("/handover/"))
    assert "封存中" in overview and "已完成" in overview
    entries = Archive(web.root).log("测试").entries
    seals = [e for e in entries if e.action.startswith("handover.")]
    assert seals and {e.actor for e in seals} == {"医政科张"}


def test_wrong_start_input_is_answered_in_chinese(web: Site) -> None:
    c = web.login("管理员甲")
    r = c.get("/handover/start/", {"center": NURSING, "to": ""})
    assert r.status_code == 400 and "请填写新的挂靠单位" in page(r)
    r = c.get("/handover/start/", {"center": "不存在的中心", "to": NEW_HOST})
    assert r.status_code == 400 and "请选择一个质控中心" in page(r)
    r = c.get("/handover/start/", {"center": NURSING, "to": NEW_HOST, "as_of": "明天"})
    assert r.status_code == 400 and "年-月-日" in page(r)
    assert c.get("/handover/jobs/../").status_code == 404
    assert c.get("/handover/jobs/20260101-000000-abcdef/").status_code == 404


def test_secretary_and_director_are_refused_everywhere(web: Site) -> None:
    job = "20260615-100000-abcdef"
    for name in ("刘敏", "王秀英"):
        c = web.login(name)
        assert '<a href="/handover/">' not in page(c.get("/"))
        for url in (
            "/handover/",
            f"/handover/start/?center={NURSING}&to={NEW_HOST}",
            f"/handover/jobs/{job}/",
            f"/handover/jobs/{job}/bundle.zip",
            f"/handover/jobs/{job}/papers/交接书.docx",
            "/handover/receive/",
        ):
            r = c.get(url)
            assert r.status_code == 403 and "医政科或管理员" in page(r), (name, url)
        for url in (
            "/handover/start/",
            "/handover/release/",
            "/handover/receive/",
            "/handover/receive/0123456789abcdef/import",
        ):
            r = c.post(url, {"center": NURSING, "to": NEW_HOST})
            assert r.status_code == 403, (name, url)
    assert Archive(web.root).handover_status("测试").seals == ()


def _bundle(site: Site, tmp_path: Path) -> Path:
    out = tmp_path / "护理移交包.zip"
    site.zk("handover", "create", "--center", NURSING, "--to", NEW_HOST, "--out", str(out))
    return out


def _tampered(bundle: Path, target: Path) -> Path:
    """The same zip with one record's bytes changed (its manifest lines left as they were)."""
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("会议纪要.pdf"):
                data = data.replace(b"%%EOF", b"%%EOF\n% changed after signing\n")
            dst.writestr(info, data)
    return target


def test_tampered_bundle_is_reported_and_cannot_be_imported(web: Site, tmp_path: Path) -> None:
    bad = _tampered(_bundle(web, tmp_path), tmp_path / "被改过的移交包.zip")
    c = web.login("医政科张")
    with bad.open("rb") as f:
        r = c.post("/handover/receive/", {"bundle": f})
    text = page(r)
    assert r.status_code == 422
    assert "核验未通过" in text and "会议纪要.pdf" in text
    assert re.search(r"真实性：[0-9]+ 项问题", text) and "完整性：" in text
    assert "内容与清单校验和不符" in text and "不要导入" in text
    assert "实有" in text and "validation failed" not in text  # bagit's Payload-Oxum finding, in Chinese
    assert "/import" not in text
    assert not list((web.root / ".zhikong" / "tmp").glob("handover-*"))  # nothing left to import
    assert c.post("/handover/receive/0123456789abcdef/import").status_code == 404

    not_zip = tmp_path / "说明.zip"
    not_zip.write_bytes(b"not a zip at all")
    with not_zip.open("rb") as f:
        r = c.post("/handover/receive/", {"bundle": f})
    assert r.status_code == 400 and "不是 .zip 压缩包" in page(r)


def test_good_bundle_verifies_and_imports_into_an_empty_server_archive(
    web: Site, tmp_path: Path, runner: CliRunner
) -> None:
    bundle = _bundle(web, tmp_path)
    new_root = tmp_path / "新挂靠单位档案库"
    made = runner.invoke(
        cli,
        [
            "init",
            str(new_root),
            "--county",
            "金乡县",
            "--bureau",
            "金乡县卫生健康局",
            "--doc-prefix",
            "金卫健字",
            "--fonds",
            "Z109",
        ],
    )
    assert made.exit_code == 0, made.output
    with served(new_root, runner) as receiver:
        receiver.add("管理员甲", "admin")
        receiver.add("医政科李", "bureau")
        c = receiver.login("医政科李")
        assert NURSING not in page(c.get("/handover/"))
        (new_root / ".zhikong" / "tmp").mkdir(exist_ok=True)  # as zhikong serve makes it when it starts
        with bundle.open("rb") as f, override_settings(FILE_UPLOAD_MAX_MEMORY_SIZE=1024):
            r = c.post("/handover/receive/", {"bundle": f, "fingerprint": ""})  # spooled to .zhikong/tmp
        text = page(r)
        assert r.status_code == 200, text
        assert (
            "核验通过" in text and "真实性：通过" in text and "安全性：通过" in text and "未核对来源" in text
        )
        (rid,) = re.findall(r'action="/handover/receive/([0-9a-f]{16})/import"', text)
        kept = list((new_root / ".zhikong" / "tmp").glob("handover-*.zip"))
        assert len(kept) == 1 and not (new_root / NURSING).exists()  # kept aside, not in the archive

        wrong = c.post(f"/handover/receive/{rid}/import", {"fingerprint": "0" * 64})
        assert wrong.status_code == 409 and "已拒绝" in page(wrong) and not (new_root / NURSING).exists()

        done = c.post(f"/handover/receive/{rid}/import", {"name": "护理移交包.zip"})
        text = page(done)
        assert done.status_code == 200, text
        assert f"已导入{NURSING}" in text and "文件夹与目录一致" in text and NEW_HOST in text
        assert (new_root / MEETING / "会议通知.docx").read_bytes() == (
            web.root / MEETING / "会议通知.docx"
        ).read_bytes()
        assert not list((new_root / ".zhikong" / "tmp").glob("handover-*.zip"))
        assert NURSING in page(c.get("/handover/"))  # the host change is listed
        entries = Archive(new_root).log("测试").entries
        assert [e.actor for e in entries if e.action == "handover.import"] == ["医政科李"]
        again = c.post(f"/handover/receive/{rid}/import")
        assert again.status_code == 404


def test_a_job_cut_short_by_a_restart_is_shown_as_interrupted(web: Site) -> None:
    folder = web.root / ".zhikong" / "handovers" / "20260615-100000-abcdef"
    folder.mkdir(parents=True)
    (folder / "job.json").write_text(
        json.dumps({"center": NURSING, "to_host": NEW_HOST, "as_of": "2026-06-30", "actor": "医政科张",
                    "started": "2026-06-15T02:00:00+00:00", "state": "running", "bundle": "护理质控中心移交包"}),
        encoding="utf-8",
    )  # fmt: skip
    c = web.login("医政科张")
    shown = c.get(f"/handover/jobs/{folder.name}/")
    text = page(shown)
    assert "已中断" in text and "重新启动" in text and "2026-06-15 10:00:00" in text  # Beijing time
    assert "Refresh" not in shown and 'http-equiv="refresh"' not in text
    assert c.get(f"/handover/jobs/{folder.name}/bundle.zip").status_code == 404
    assert "已中断" in page(c.get("/handover/"))


def test_importing_a_center_this_archive_already_holds_is_refused_in_chinese(
    web: Site, tmp_path: Path
) -> None:
    bundle = _bundle(web, tmp_path)  # made from this very archive: its center is here already
    c = web.login("管理员甲")
    with bundle.open("rb") as f:
        checked = c.post("/handover/receive/", {"bundle": f})
    assert checked.status_code == 200, page(checked)
    (rid,) = re.findall(r'action="/handover/receive/([0-9a-f]{16})/import"', page(checked))
    before = sorted(p.relative_to(web.root) for p in (web.root / NURSING).rglob("*"))
    refused = c.post(f"/handover/receive/{rid}/import")
    text = page(refused)
    assert refused.status_code == 409 and "已拒绝" in text and "不能直接接收这个中心" in text, text
    assert "没有导入：<br>" in text  # the command line's refusal, one problem a line
    assert "Traceback" not in text and "Error" not in text
    assert sorted(p.relative_to(web.root) for p in (web.root / NURSING).rglob("*")) == before


def test_the_bureau_lifts_a_seal_when_the_handover_is_called_off(web: Site, tmp_path: Path) -> None:
    _bundle(web, tmp_path)  # sealed by the command line
    assert "封存中" in page(web.login("医政科张").get("/handover/"))
    assert (
        web.login("刘敏").post("/handover/release/", {"center": NURSING, "reason": "不移交了"}).status_code
        == 403
    )
    c = web.login("医政科张")
    empty = c.post("/handover/release/", {"center": NURSING, "reason": " "})
    assert empty.status_code == 400 and "须写明原因" in page(empty)
    unknown = c.post("/handover/release/", {"center": "不存在的中心", "reason": "移交取消"})
    assert unknown.status_code == 400 and "Traceback" not in page(unknown)
    done = c.post("/handover/release/", {"center": NURSING, "reason": "移交取消，经医政科同意"})
    assert done.status_code == 303 and done["Location"] == "/handover/"
    assert "已解除封存" in page(c.get("/handover/"))
    (seal,) = Archive(web.root).handover_status("测试").seals
    assert seal.released_at
    released = [e for e in Archive(web.root).log("测试").entries if e.action == "handover.release"]
    assert [e.actor for e in released] == ["医政科张"]
