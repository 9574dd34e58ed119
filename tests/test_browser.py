"""zhikong serve in a real browser: Debian's Chromium, driven by Selenium through Debian's chromedriver, at
1366×768 (a county office's laptop), against a real `zhikong serve` process.

A secretary logs in, uploads a .docx and a photo of a sign-in sheet onto a new activity, sees them
classified, finds the .docx by its text, opens its preview, and is refused another center's record; the
bureau logs in and sees every center. A screenshot of each page is kept in tests/artifacts/browser/
(looked at by the people who change the pages). Skipped, with the reason, where Chromium, chromedriver or
selenium is missing (.ci/run installs them).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browsertools import (
    INFECTION,
    NURSING,
    log_in,
    needs_browser,
    new_archive,
    serving,
    shot,
    wait_for,
)
from click.testing import CliRunner
from conftest import invoke, photo_of_paper
from webtools import Zk

from zhikong.archive.samplefiles import make_docx

pytestmark = needs_browser
REAL = Path(__file__).parent / "samples" / "real"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Zk]]:
    """A real archive with files in two centers and an account per role, served by `zhikong serve`."""
    root = tmp_path_factory.mktemp("浏览器") / "档案库"
    runner = CliRunner()
    new_archive(root, runner)
    meeting = root / NURSING / "2026" / "2026-03-15 第一次工作会议"
    make_docx(
        meeting / "会议通知.docx", "关于召开第一次护理质控工作会议的通知", ["请各成员单位质控护士参加。"]
    )
    inspection = root / INFECTION / "2026" / "2026-04-02 院感防控督查"
    make_docx(inspection / "督查记录.docx", "院感防控督查记录", ["手卫生依从性抽查，联系人 13912345678。"])
    invoke(runner, "--root", str(root), "scan")
    site = Zk(root, runner)
    site.add("管理员甲", "admin")
    site.add("刘敏", "secretary", NURSING)
    site.add("医政科张", "bureau")
    with serving(root) as base:
        yield base, site


def test_secretary_uploads_finds_previews_and_is_kept_to_her_center(
    server: tuple[str, Zk], browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    base, site = server
    d = browser
    log_in(d, base, "刘敏")
    wait_for(d, ec.title_contains("首页"))
    body = d.find_element(By.TAG_NAME, "body").text
    assert "我的质控中心" in body and NURSING in body and INFECTION not in body
    shot(d, "01-秘书首页")

    notice = make_docx(tmp_path / "压疮护理培训通知.docx", "关于举办压疮护理培训班的通知",
                       ["定于六月二十日举办压疮护理培训班，请各病区护士长参加。"])  # fmt: skip
    # A phone photo: RapidOCR's real test photo of a certificate (Apache-2.0, tests/samples/real/SOURCES.csv)
    # when the corpus is here, else one drawn on the spot; named as a secretary would name a sign-in sheet.
    real_photo = REAL / "image" / "check_return_word_len.jpeg"
    photo = tmp_path / "签到表-IMG_20260610.jpg"
    if real_photo.is_file():
        shutil.copyfile(real_photo, photo)
    else:
        photo_of_paper(photo, ["压疮护理培训班签到表", "张建国 李红梅 王芳"])
    d.get(f"{base}/upload/?center={NURSING}&year=2026")
    d.find_element(By.CSS_SELECTOR, "input[name=where][value=new]").click()
    date_box = d.find_element(By.NAME, "new_date")
    d.execute_script("arguments[0].value = '2026-06-10'", date_box)
    d.find_element(By.NAME, "new_name").send_keys("压疮护理培训")
    files = d.find_element(By.ID, "files")
    files.send_keys(f"{notice}\n{photo}")
    queued = d.find_elements(By.CSS_SELECTOR, "#queue li")
    assert len(queued) == 2
    shot(d, "02-上传-待上传")
    d.find_element(By.ID, "send").click()
    wait_for(
        d, lambda drv: len(drv.find_elements(By.CSS_SELECTOR, "#queue li.ok, #queue li.error")) == 2, 120
    )
    lines = [li.text for li in d.find_elements(By.CSS_SELECTOR, "#queue li")]
    assert all("已登记" in line for line in lines), lines
    assert "归为“通知”" in lines[0] and "归为“签到表”" in lines[1]
    assert all("文字已读取" in line for line in lines), lines  # the photo's text read by OCR
    shot(d, "03-上传-结果")

    d.get(f"{base}/archive/{NURSING}/2026/")
    listing = d.find_element(By.TAG_NAME, "main").text
    assert "2026-06-10 压疮护理培训" in listing and "压疮护理培训通知.docx" in listing and "签到表" in listing
    shot(d, "04-年度文件夹")

    d.get(f"{base}/search/")
    box = d.find_element(By.NAME, "q")
    box.send_keys("压疮 培训班")
    box.submit()
    wait_for(d, ec.presence_of_element_located((By.CSS_SELECTOR, "ol.hits li")))
    first = d.find_element(By.CSS_SELECTOR, "ol.hits li a.title")
    assert "压疮护理培训班" in first.text
    assert d.find_elements(By.CSS_SELECTOR, "ol.hits mark")
    shot(d, "05-检索结果")

    first.click()
    wait_for(d, ec.presence_of_element_located((By.CSS_SELECTOR, ".preview iframe")))
    frame_src = d.find_element(By.CSS_SELECTOR, ".preview iframe").get_attribute("src")
    kind = d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => done(r.status + ' ' + r.headers.get('content-type')));",
        frame_src,
    )
    assert kind == "200 application/pdf"  # LibreOffice's PDF of the .docx, shown in the frame
    time.sleep(2)  # let the PDF viewer draw before the picture
    shot(d, "06-记录页-预览")

    records = json.loads(site.zk("ls", "--json").stdout)
    other = next(r["id"] for r in records if r["center"] == INFECTION)
    d.get(f"{base}/records/{other}/")
    refused = d.find_element(By.TAG_NAME, "main").text
    assert "无权" in refused and "督查记录" not in refused and "13912345678" not in refused
    shot(d, "07-他中心记录-拒绝")


def test_bureau_sees_every_center(server: tuple[str, Zk], browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    base, _site = server
    d = browser
    log_in(d, base, "医政科张")
    wait_for(d, ec.title_contains("首页"))
    body = d.find_element(By.TAG_NAME, "main").text
    assert "全县各中心概况" in body and NURSING in body and INFECTION in body
    shot(d, "08-医政科首页")
    d.get(f"{base}/log/")
    assert "审计日志" in d.find_element(By.TAG_NAME, "h1").text
    d.find_element(By.CSS_SELECTOR, "form.verify button").click()
    wait_for(d, ec.presence_of_element_located((By.CSS_SELECTOR, "p.ok")))
    assert "校验通过" in d.find_element(By.CSS_SELECTOR, "p.ok").text
    shot(d, "09-审计日志-校验")
    d.get(f"{base}/archive/")
    shot(d, "10-档案-各中心")


def test_login_page_and_administrator_pages(server: tuple[str, Zk], browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    base, _site = server
    d = browser
    d.get(f"{base}/login/")
    assert d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"
    shot(d, "00-登录")
    log_in(d, base, "管理员甲")
    wait_for(d, ec.title_contains("首页"))
    d.get(f"{base}/accounts/")
    assert "刘敏" in d.find_element(By.TAG_NAME, "main").text
    shot(d, "11-账户管理")


def test_bureau_checks_assessment_ranking_and_handover_pages(server: tuple[str, Zk], browser: Any) -> None:
    """The assessment page in the browser shows the scores `zhikong score` computes; the checks, ranking
    and handover pages render for the bureau (screenshots kept)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    base, site = server
    d = browser
    log_in(d, base, "医政科张")
    wait_for(d, ec.title_contains("首页"))
    d.get(f"{base}/checks/{NURSING}/2026/")
    assert "J" in d.find_element(By.TAG_NAME, "main").text
    shot(d, "12-检查")
    year = time.localtime().tm_year
    sheet = json.loads(site.zk("score", "--center", NURSING, "--year", str(year), "--json").stdout)
    d.get(f"{base}/assess/{NURSING}/{year}/")
    shown = float(d.find_element(By.ID, "self-total").text)
    assert shown == sheet["self_total"]
    rows = d.find_elements(By.CSS_SELECTOR, "table tbody tr")
    assert len(rows) >= 21
    shot(d, "13-考核表")
    d.get(f"{base}/assess/ranking/{year}/")
    assert d.find_elements(By.CSS_SELECTOR, "svg")
    shot(d, "14-全县排名")
    d.get(f"{base}/handover/")
    assert NURSING in d.find_element(By.TAG_NAME, "main").text
    shot(d, "15-移交")
