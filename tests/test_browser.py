"""zhikong serve in a real browser: Debian's Chromium, driven by Selenium through Debian's chromedriver, at
1366×768 (a county office's laptop), against a real `zhikong serve` process.

A secretary logs in, uploads a .docx and a photo of a sign-in sheet onto a new activity, sees them
classified, finds the .docx by its text, opens its preview, and is refused another center's record; the
bureau logs in and sees every center. A screenshot of each page is kept in tests/artifacts/browser/
(looked at by the people who change the pages). Skipped, with the reason, where Chromium, chromedriver or
selenium is missing (.ci/run installs them).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import invoke, photo_of_paper
from webtools import PASSWORD, Zk

from zhikong.archive.samplefiles import make_docx

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER and importlib.util.find_spec("selenium")),
    reason="需要 Chromium、chromedriver（apt-get install chromium chromium-driver）和 selenium",
)
ARTIFACTS = Path(__file__).parent / "artifacts" / "browser"
NURSING, INFECTION = "护理质控中心", "院感质控中心"
REAL = Path(__file__).parent / "samples" / "real"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Zk]]:
    """A real archive with files in two centers and an account per role, served by `zhikong serve`."""
    root = tmp_path_factory.mktemp("浏览器") / "档案库"
    runner = CliRunner()
    invoke(runner, "init", str(root), "--county", "金乡县", "--bureau", "金乡县卫生健康局",
           "--doc-prefix", "金卫健字", "--fonds", "Z109")  # fmt: skip
    invoke(runner, "--root", str(root), "center", "add", NURSING, "--code", "HL", "--host", "金乡县人民医院")
    invoke(runner, "--root", str(root), "center", "add", INFECTION, "--code", "GR", "--host", "金乡县中医院")
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
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "zhikong.cli", "--root", str(root), "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{base}/login/", timeout=2).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                time.sleep(0.2)
        yield base, site
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1366,768",
                "--lang=zh-CN", "--disable-gpu"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()


def shot(driver: object, name: str) -> Path:
    """The visible page (1366×768) and, beside it, the whole page, for people to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))  # type: ignore[attr-defined]
    height = driver.execute_script("return document.documentElement.scrollHeight")  # type: ignore[attr-defined]
    if height > 768:
        driver.set_window_size(1366, min(int(height), 4000))  # type: ignore[attr-defined]
        driver.save_screenshot(str(ARTIFACTS / f"{name}-整页.png"))  # type: ignore[attr-defined]
        driver.set_window_size(1366, 768)  # type: ignore[attr-defined]
    assert path.stat().st_size > 5000
    return path


def log_in(driver: object, base: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    d = driver
    d.get(f"{base}/login/")  # type: ignore[attr-defined]
    d.find_element(By.NAME, "name").send_keys(name)  # type: ignore[attr-defined]
    d.find_element(By.NAME, "password").send_keys(PASSWORD)  # type: ignore[attr-defined]
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()  # type: ignore[attr-defined]


def wait_for(driver: object, condition: object, seconds: float = 60) -> object:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(condition)  # type: ignore[arg-type]


def test_secretary_uploads_finds_previews_and_is_kept_to_her_center(
    server: tuple[str, Zk], browser: object, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    base, site = server
    d = browser
    log_in(d, base, "刘敏")
    wait_for(d, ec.title_contains("首页"))
    body = d.find_element(By.TAG_NAME, "body").text  # type: ignore[attr-defined]
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
    d.get(f"{base}/upload/?center={NURSING}&year=2026")  # type: ignore[attr-defined]
    d.find_element(By.CSS_SELECTOR, "input[name=where][value=new]").click()  # type: ignore[attr-defined]
    date_box = d.find_element(By.NAME, "new_date")  # type: ignore[attr-defined]
    d.execute_script("arguments[0].value = '2026-06-10'", date_box)  # type: ignore[attr-defined]
    d.find_element(By.NAME, "new_name").send_keys("压疮护理培训")  # type: ignore[attr-defined]
    files = d.find_element(By.ID, "files")  # type: ignore[attr-defined]
    files.send_keys(f"{notice}\n{photo}")
    queued = d.find_elements(By.CSS_SELECTOR, "#queue li")  # type: ignore[attr-defined]
    assert len(queued) == 2
    shot(d, "02-上传-待上传")
    d.find_element(By.ID, "send").click()  # type: ignore[attr-defined]
    wait_for(
        d, lambda drv: len(drv.find_elements(By.CSS_SELECTOR, "#queue li.ok, #queue li.error")) == 2, 120
    )
    lines = [li.text for li in d.find_elements(By.CSS_SELECTOR, "#queue li")]  # type: ignore[attr-defined]
    assert all("已登记" in line for line in lines), lines
    assert "归为“通知”" in lines[0] and "归为“签到表”" in lines[1]
    assert all("文字已读取" in line for line in lines), lines  # the photo's text read by OCR
    shot(d, "03-上传-结果")

    d.get(f"{base}/archive/{NURSING}/2026/")  # type: ignore[attr-defined]
    listing = d.find_element(By.TAG_NAME, "main").text  # type: ignore[attr-defined]
    assert "2026-06-10 压疮护理培训" in listing and "压疮护理培训通知.docx" in listing and "签到表" in listing
    shot(d, "04-年度文件夹")

    d.get(f"{base}/search/")  # type: ignore[attr-defined]
    box = d.find_element(By.NAME, "q")  # type: ignore[attr-defined]
    box.send_keys("压疮 培训班")
    box.submit()
    wait_for(d, ec.presence_of_element_located((By.CSS_SELECTOR, "ol.hits li")))
    first = d.find_element(By.CSS_SELECTOR, "ol.hits li a.title")  # type: ignore[attr-defined]
    assert "压疮护理培训班" in first.text
    assert d.find_elements(By.CSS_SELECTOR, "ol.hits mark")  # type: ignore[attr-defined]
    shot(d, "05-检索结果")

    first.click()
    wait_for(d, ec.presence_of_element_located((By.CSS_SELECTOR, ".preview iframe")))
    frame_src = d.find_element(By.CSS_SELECTOR, ".preview iframe").get_attribute("src")  # type: ignore[attr-defined]
    kind = d.execute_async_script(  # type: ignore[attr-defined]
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => done(r.status + ' ' + r.headers.get('content-type')));",
        frame_src,
    )
    assert kind == "200 application/pdf"  # LibreOffice's PDF of the .docx, shown in the frame
    time.sleep(2)  # let the PDF viewer draw before the picture
    shot(d, "06-记录页-预览")

    records = json.loads(site.zk("ls", "--json").stdout)
    other = next(r["id"] for r in records if r["center"] == INFECTION)
    d.get(f"{base}/records/{other}/")  # type: ignore[attr-defined]
    refused = d.find_element(By.TAG_NAME, "main").text  # type: ignore[attr-defined]
    assert "无权" in refused and "督查记录" not in refused and "13912345678" not in refused
    shot(d, "07-他中心记录-拒绝")


def test_bureau_sees_every_center(server: tuple[str, Zk], browser: object) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    base, _site = server
    d = browser
    log_in(d, base, "医政科张")
    wait_for(d, ec.title_contains("首页"))
    body = d.find_element(By.TAG_NAME, "main").text  # type: ignore[attr-defined]
    assert "全县各中心概况" in body and NURSING in body and INFECTION in body
    shot(d, "08-医政科首页")
    d.get(f"{base}/log/")  # type: ignore[attr-defined]
    assert "审计日志" in d.find_element(By.TAG_NAME, "h1").text  # type: ignore[attr-defined]
    d.find_element(By.CSS_SELECTOR, "form.verify button").click()  # type: ignore[attr-defined]
    wait_for(d, ec.presence_of_element_located((By.CSS_SELECTOR, "p.ok")))
    assert "校验通过" in d.find_element(By.CSS_SELECTOR, "p.ok").text  # type: ignore[attr-defined]
    shot(d, "09-审计日志-校验")
    d.get(f"{base}/archive/")  # type: ignore[attr-defined]
    shot(d, "10-档案-各中心")


def test_login_page_and_administrator_pages(server: tuple[str, Zk], browser: object) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    base, _site = server
    d = browser
    d.get(f"{base}/login/")  # type: ignore[attr-defined]
    assert d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"  # type: ignore[attr-defined]
    shot(d, "00-登录")
    log_in(d, base, "管理员甲")
    wait_for(d, ec.title_contains("首页"))
    d.get(f"{base}/accounts/")  # type: ignore[attr-defined]
    assert "刘敏" in d.find_element(By.TAG_NAME, "main").text  # type: ignore[attr-defined]
    shot(d, "11-账户管理")
