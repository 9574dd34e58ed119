"""Helpers of the browser tests (test_browser.py, test_browser_drafts.py, …): Debian's Chromium driven by
Selenium through Debian's chromedriver at 1366×768, a real `zhikong serve` process, screenshots."""

from __future__ import annotations

import importlib.util
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import invoke
from webtools import PASSWORD

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
needs_browser = pytest.mark.skipif(
    not (CHROMIUM and DRIVER and importlib.util.find_spec("selenium")),
    reason="需要 Chromium、chromedriver（apt-get install chromium chromium-driver）和 selenium",
)
ARTIFACTS = Path(__file__).parent / "artifacts" / "browser"
NURSING, INFECTION = "护理质控中心", "院感质控中心"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def new_archive(root: Path, runner: CliRunner) -> None:
    """An archive with the two centers (护理 at 县人民医院, 院感 at 县中医院)."""
    invoke(runner, "init", str(root), "--county", "金乡县", "--bureau", "金乡县卫生健康局",
           "--doc-prefix", "金卫健字", "--fonds", "Z109")  # fmt: skip
    invoke(runner, "--root", str(root), "center", "add", NURSING, "--code", "HL", "--host", "金乡县人民医院")
    invoke(runner, "--root", str(root), "center", "add", INFECTION, "--code", "GR", "--host", "金乡县中医院")


@contextmanager
def serving(root: Path) -> Iterator[str]:
    """`zhikong serve` on a free port for the time of the block; yields its address."""
    port = free_port()
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
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


@contextmanager
def chromium() -> Iterator[Any]:
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


def shot(driver: Any, name: str) -> Path:
    """The visible page (1366×768) and, beside it, the whole page, for people to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    height = driver.execute_script("return document.documentElement.scrollHeight")
    if height > 768:
        driver.set_window_size(1366, min(int(height), 4000))
        driver.save_screenshot(str(ARTIFACTS / f"{name}-整页.png"))
        driver.set_window_size(1366, 768)
    assert path.stat().st_size > 5000
    return path


def log_in(driver: Any, base: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/login/")
    driver.find_element(By.NAME, "name").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()


def log_out(driver: Any) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, "header form.inline button").click()


def wait_for(driver: Any, condition: Callable[[Any], Any], seconds: float = 60) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(condition)


def main_text(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.TAG_NAME, "main").text)
