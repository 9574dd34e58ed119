"""Drafting and approval end to end in Debian's Chromium (Selenium, 1366×768) against a real `zhikong serve`:
a secretary drafts a notice in the form, uploads an edited 送审稿 and submits; the bureau returns it with a
reason; she fixes it and uploads again (resubmitted); the bureau approves with the number its own system
gave; the final's text is the uploaded draft's with the number in place, filed as a record of the center.
A director cannot approve; another center's secretary cannot see the draft. Screenshots in
tests/artifacts/browser/.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browsertools import (
    INFECTION,
    NURSING,
    log_in,
    log_out,
    needs_browser,
    new_archive,
    serving,
    shot,
    wait_for,
)
from click.testing import CliRunner
from docx import Document
from webtools import Zk

from zhikong.archive import draftfile

pytestmark = needs_browser
TITLE = "关于召开2026年第一次护理质控工作会议的通知"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Zk]]:
    root = tmp_path_factory.mktemp("公文浏览器") / "档案库"
    runner = CliRunner()
    new_archive(root, runner)
    site = Zk(root, runner)
    site.add("管理员甲", "admin")
    site.add("刘敏", "secretary", NURSING)
    site.add("赵静", "secretary", INFECTION)
    site.add("王秀英", "director", NURSING)
    site.add("医政科张", "bureau")
    with serving(root) as base:
        yield base, site


def _edited(data: bytes, sentence: str) -> bytes:
    doc = Document(io.BytesIO(data))
    body = [p for p in doc.paragraphs if p.style is not None and p.style.name == "公文正文"]
    body[-1].add_run(sentence)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def test_draft_return_fix_approve_in_the_browser(
    server: tuple[str, Zk], browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    base, site = server
    d = browser
    log_in(d, base, "刘敏")
    wait_for(d, ec.title_contains("首页"))
    d.get(f"{base}/drafts/new/")
    d.find_element(By.ID, "title").send_keys(TITLE)
    d.find_element(By.ID, "to").send_keys("各镇街卫生院、县直各医疗机构")
    d.find_element(By.ID, "body").send_keys(
        "为加强护理质量管理，决定召开会议。\n一、会议时间\n3月15日上午。\n二、参会人员\n各院护理部主任。"
    )
    d.find_element(By.ID, "attachments").send_keys("参会回执")
    shot(d, "20-起草公文-表单")
    d.find_element(By.CSS_SELECTOR, "form.draftform button[type=submit]").click()
    wait_for(d, ec.presence_of_element_located((By.CSS_SELECTOR, "p.ok")))
    url = d.current_url.split("?")[0]
    draft_id = int(url.rstrip("/").split("/")[-1])
    assert "已生成送审稿" in d.find_element(By.CSS_SELECTOR, "p.ok").text
    time.sleep(2)
    shot(d, "21-送审稿-预览")

    draft_path = json.loads(site.zk("draft", "list", "--json").stdout)[0]["draft_path"]
    original = (site.root / draft_path).read_bytes()
    first = tmp_path / "修改稿.docx"
    first.write_bytes(_edited(original, "请于3月10日前报送参会回执。"))
    d.find_element(By.CSS_SELECTOR, "input[name=file]").send_keys(str(first))
    d.find_element(By.CSS_SELECTOR, "form[action$='/upload'] button").click()
    wait_for(d, ec.text_to_be_present_in_element((By.CSS_SELECTOR, "p.ok"), "已保存修改稿"))
    d.find_element(By.CSS_SELECTOR, "form[action$='/submit'] button").click()
    wait_for(d, ec.text_to_be_present_in_element((By.CSS_SELECTOR, "p.ok"), "已送审"))
    log_out(d)

    log_in(d, base, "赵静")  # another center's secretary
    wait_for(d, ec.title_contains("首页"))
    d.get(f"{base}/drafts/")
    assert TITLE not in d.find_element(By.TAG_NAME, "main").text
    d.get(url)
    assert "无权" in d.find_element(By.TAG_NAME, "main").text
    log_out(d)

    log_in(d, base, "王秀英")  # the director reads, cannot decide
    wait_for(d, ec.title_contains("首页"))
    d.get(url)
    assert TITLE in d.find_element(By.TAG_NAME, "h1").text
    assert not d.find_elements(By.CSS_SELECTOR, "form[action$='/decide']")
    log_out(d)

    log_in(d, base, "医政科张")
    wait_for(d, ec.title_contains("首页"))
    d.get(f"{base}/drafts/")
    assert "待审批（1）" in d.find_element(By.TAG_NAME, "main").text
    shot(d, "22-医政科-待审批")
    d.get(url)
    d.find_element(By.ID, "reason").send_keys("请写明会议地点")
    d.find_element(By.CSS_SELECTOR, "button.danger").click()
    wait_for(d, ec.text_to_be_present_in_element((By.CSS_SELECTOR, "p.ok"), "已退回"))
    log_out(d)

    log_in(d, base, "刘敏")
    wait_for(d, ec.title_contains("首页"))
    d.get(url)
    assert "请写明会议地点" in d.find_element(By.TAG_NAME, "main").text
    shot(d, "23-秘书-看到退回原因")
    fixed = tmp_path / "再改.docx"
    fixed.write_bytes(_edited(first.read_bytes(), "会议地点：县人民医院三楼会议室。"))
    d.find_element(By.CSS_SELECTOR, "input[name=file]").send_keys(str(fixed))
    d.find_element(By.CSS_SELECTOR, "form[action$='/upload'] button").click()
    wait_for(d, ec.text_to_be_present_in_element((By.CSS_SELECTOR, "p.ok"), "已保存修改稿"))
    log_out(d)

    log_in(d, base, "医政科张")
    wait_for(d, ec.title_contains("首页"))
    d.get(url)
    d.find_element(By.ID, "number").send_keys("7")
    shot(d, "24-医政科-审批")
    d.find_element(By.CSS_SELECTOR, "form[action$='/decide'] button[type=submit]").click()
    wait_for(d, ec.text_to_be_present_in_element((By.CSS_SELECTOR, "p.ok"), "已批准"))
    page = d.find_element(By.TAG_NAME, "main").text
    assert "金卫健字〔2026〕7号" in page and "其余一字未改" in page
    shot(d, "25-已批准-核对")

    row = json.loads(site.zk("draft", "list", "--json").stdout)[0]
    assert row["id"] == draft_id and row["record_id"]
    final = (site.root / row["final_path"]).read_bytes()
    before = draftfile.DraftFile.read(fixed.read_bytes()).paragraphs()
    after = draftfile.DraftFile.read(final).paragraphs()
    assert after == [p.replace("金卫健字〔2026〕  号", "金卫健字〔2026〕7号") for p in before]
    records = json.loads(site.zk("ls", "--json", "--center", NURSING).stdout)
    assert any(r["id"] == row["record_id"] and r["category"] == "通知" for r in records)
