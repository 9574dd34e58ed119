"""zhikong serve: the pages' permissions and security, the JSON API, and the server process itself
(the accounts' commands are in test_web_accounts.py).

The archive is made with the real commands (conftest's `root`); accounts with `zhikong user add`; pages
are requested through Django's test client against the same archive, with a clock the tests move forward
(the 15-minute lockout). One test starts `zhikong serve` as a real process on a free port.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.test import Client
from webtools import PASSWORD, Site, page

MEETING = "护理质控中心/2026/2026-03-15 第一次工作会议（联系人13912345678）"


@pytest.fixture
def filled(site: Site) -> Site:
    """Two centers with files (one naming a patient's mobile), scanned; a secretary, a director, the bureau."""
    folder = site.root / MEETING
    folder.mkdir(parents=True)
    (folder / "会议通知.txt").write_text(
        "关于召开第一次护理质控工作会议的通知\n联系人电话 13912345678\n", encoding="utf-8"
    )
    (folder / "签到表-联系13912345678.txt").write_text("签到表\n刘敏\n", encoding="utf-8")
    other = site.root / "院感质控中心/2026/2026-04-02 院感防控督查"
    other.mkdir(parents=True)
    (other / "督查记录.txt").write_text("院感防控督查记录\n", encoding="utf-8")
    site.zk("scan")
    site.add("刘敏", "secretary", "护理质控中心")
    site.add("王秀英", "director", "护理质控中心")
    site.add("医政科张", "bureau")
    return site


# -- the server process ---------------------------------------------------------------------------------------


def test_serve_refuses_to_start_without_an_administrator(site: Site) -> None:
    site.add("刘敏", "secretary", "护理质控中心")
    refused = site.zk("serve", "--port", "1", expect=3)
    assert "还没有管理员账户" in refused.output and "zhikong user add 姓名 --role admin" in refused.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_the_login_page_and_stops_on_sigterm(site: Site) -> None:
    site.add("管理员甲", "admin")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "zhikong.cli", "--root", str(site.root), "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline, body, headers = time.monotonic() + 30, "", {}
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2) as r:
                    body, headers = r.read().decode("utf-8"), dict(r.headers)
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                time.sleep(0.1)
        assert '<html lang="zh-CN">' in body and "登录" in body
        assert headers["Server"] == "zhikong" and headers["X-Frame-Options"] == "DENY"
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output
    assert "网页端已启动" in output and "网页端已停止" in output
    log = (site.root / ".zhikong" / "logs" / "serve.log").read_text(encoding="utf-8")
    assert "网页端已启动" in log and "网页端已停止" in log


def test_serve_says_so_when_the_port_is_taken(site: Site) -> None:
    site.add("管理员甲", "admin")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "zhikong.cli", "--root", str(site.root), "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 9, done.stdout + done.stderr
    assert f"网页端无法在 127.0.0.1:{port} 上启动" in done.stderr and "换一个 --port" in done.stderr


# -- security of every page --------------------------------------------------------------------------------


def test_security_headers_and_session_cookie(filled: Site) -> None:
    response = filled.client().get("/login/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    assert '<html lang="zh-CN">' in page(response)
    client = filled.login("刘敏")
    cookie = client.cookies["zhikong_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_every_form_needs_its_csrf_token(filled: Site) -> None:
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR="10.0.0.9")
    refused = client.post("/login/", {"name": "刘敏", "password": PASSWORD})
    assert refused.status_code == 403 and "CSRF" in page(refused) and "请求已拒绝" in page(refused)
    form = client.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page(form))
    assert token is not None
    accepted = client.post(
        "/login/", {"name": "刘敏", "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)}
    )
    assert accepted.status_code == 302
    assert client.post("/logout/").status_code == 403  # logged in, but the form came without its token
    assert client.post("/password/", {"old": PASSWORD, "new": "x" * 9, "again": "x" * 9}).status_code == 403


def test_no_page_loads_anything_from_elsewhere(filled: Site) -> None:
    pages = [page(filled.client().get("/login/")), page(filled.client().get("/nothing-here/"))]
    for name in ("刘敏", "王秀英", "医政科张"):
        client = filled.login(name)
        pages += [page(client.get("/")), page(client.get("/password/"))]
    for html in pages:
        assert '<html lang="zh-CN">' in html
        assert not re.search(r"""(src|href|action)\s*=\s*["']?\s*(https?:)?//""", html, re.I), html
        assert (
            "<script" not in html.lower() and " style=" not in html.lower() and "<style" not in html.lower()
        )
        assert "url(" not in html
    css = filled.client().get("/static/zhikong.css")
    assert css.status_code == 200 and "//" not in b"".join(css.streaming_content).decode().replace(
        "/*", ""
    ).replace("*/", "")
    assert filled.client().get("/static/..%2Fviews.py").status_code == 404


# -- who sees what ---------------------------------------------------------------------------------------------


def test_pages_need_a_login(filled: Site) -> None:
    for url in ("/", "/password/"):
        response = filled.client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_login_returns_to_the_page_asked_for_and_never_elsewhere(filled: Site) -> None:
    asked = filled.client().post("/login/?next=/password/", {"name": "刘敏", "password": PASSWORD})
    assert asked.status_code == 302 and asked["Location"] == "/password/"
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = filled.client().post("/login/", {"name": "刘敏", "password": PASSWORD, "next": target})
        assert response.status_code == 302 and response["Location"] == "/", target


def test_secretary_sees_her_center_and_its_to_do_list_only(filled: Site) -> None:
    html = page(filled.login("刘敏").get("/"))
    assert "护理质控中心" in html and "院感质控中心" not in html
    assert "档案共 2 件，2026 年度 2 件：签到表 1，通知 1" in html
    # The checks of 2026 as of the clock's day (15 June) are her to-do list.
    assert "没有年度工作计划（应于 3月31日 前完成）" in html and "第一季度没有重点病例抽查" in html
    # Personal data is masked like on the command line (the activity's folder names a mobile number).
    assert "联系人139****5678）：缺少会议纪要" in html and "13912345678" not in html
    director = page(filled.login("王秀英").get("/"))
    assert "护理质控中心" in director and "院感质控中心" not in director


def test_bureau_sees_every_center_at_a_glance(filled: Site) -> None:
    html = page(filled.login("医政科张").get("/"))
    assert "全县各中心概况" in html
    assert re.search(r"护理质控中心</a></td><td class=\"num\">2</td>", html)
    assert re.search(r"院感质控中心</a></td><td class=\"num\">1</td>", html)


# -- logging in: lockout, disabled accounts, passwords ------------------------------------------------------


def test_five_wrong_passwords_lock_the_account_for_15_minutes(filled: Site) -> None:
    client = filled.client()
    for _ in range(4):
        wrong = client.post("/login/", {"name": "刘敏", "password": "不对的密码123"})
        assert wrong.status_code == 200 and "不正确" in page(wrong)
    locked = client.post("/login/", {"name": "刘敏", "password": "不对的密码123"})
    assert locked.status_code == 429 and "锁定 15 分钟" in page(locked)
    # Locked: the right password from another machine is refused too.
    again = filled.client("10.0.0.2").post("/login/", {"name": "刘敏", "password": PASSWORD})
    assert again.status_code == 429
    log = filled.zk("log").output
    assert log.count("user.lockout") == 2  # the account and the address, each audited
    assert "操作人：网页登录（10.0.0.1）" in log
    filled.clock.t += 14 * 60
    assert (
        filled.client("10.0.0.2").post("/login/", {"name": "刘敏", "password": PASSWORD}).status_code == 429
    )
    filled.clock.t += 61
    filled.login("刘敏", address="10.0.0.2")


def test_five_failures_from_one_address_lock_that_address(filled: Site) -> None:
    client = filled.client("10.0.0.7")
    for name in ("甲", "乙", "丙", "丁", "戊"):
        client.post("/login/", {"name": name, "password": "不对的密码123"})
    assert client.post("/login/", {"name": "王秀英", "password": PASSWORD}).status_code == 429
    filled.login("王秀英", address="10.0.0.8")  # another machine is not locked
    filled.clock.t += 15 * 60 + 1
    filled.login("王秀英", address="10.0.0.7")


def test_a_disabled_account_cannot_log_in_and_its_session_ends(filled: Site) -> None:
    client = filled.login("刘敏")
    assert client.get("/").status_code == 200
    filled.zk("--as", "管理员甲", "user", "disable", "刘敏")
    assert client.get("/").status_code == 302
    refused = filled.client().post("/login/", {"name": "刘敏", "password": PASSWORD})
    assert refused.status_code == 200 and "已停用" in page(refused)


def test_changing_the_password_ends_other_sessions(filled: Site) -> None:
    mine, elsewhere = filled.login("刘敏"), filled.login("刘敏", address="10.0.0.3")
    wrong = mine.post(
        "/password/", {"old": "不对的密码123", "new": "新密码新密码123", "again": "新密码新密码123"}
    )
    assert "原密码不正确" in page(wrong)
    differ = mine.post("/password/", {"old": PASSWORD, "new": "新密码新密码123", "again": "另一个密码123"})
    assert "不一致" in page(differ)
    done = mine.post("/password/", {"old": PASSWORD, "new": "新密码新密码123", "again": "新密码新密码123"})
    assert "密码已修改" in page(done)
    assert mine.get("/").status_code == 200 and elsewhere.get("/").status_code == 302
    filled.login("刘敏", "新密码新密码123", address="10.0.0.4")
    assert (
        filled.client("10.0.0.5").post("/login/", {"name": "刘敏", "password": PASSWORD}).status_code == 200
    )
    assert "操作人：刘敏" in filled.zk("log").output


def test_logging_out_ends_the_session_on_the_server(filled: Site) -> None:
    client = filled.login("刘敏")
    stolen = client.cookies["zhikong_session"].value
    assert client.post("/logout/").status_code == 302
    replay = filled.client()
    replay.cookies["zhikong_session"] = stolen
    assert replay.get("/").status_code == 302


# -- the JSON API ------------------------------------------------------------------------------------------------


def _token(site: Site, name: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {site.token(name)}"}


def test_api_needs_a_valid_token(filled: Site) -> None:
    client = filled.client()
    for url in ("/api/v1/search?q=会议", "/api/v1/records", "/api/v1/records/1"):
        assert client.get(url).status_code == 401
        assert client.get(url, HTTP_AUTHORIZATION="Bearer zk_forged").status_code == 401
    logged_in = filled.login("医政科张")  # a session is no API credential
    assert logged_in.get("/api/v1/records").status_code == 401
    auth = _token(filled, "刘敏")
    assert client.get("/api/v1/records", **auth).status_code == 200
    filled.zk("--as", "管理员甲", "user", "disable", "刘敏")
    refused = client.get("/api/v1/records", **auth)
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")


def test_api_search_and_records_keep_a_secretary_to_her_center(filled: Site) -> None:
    client, auth = filled.client(), _token(filled, "刘敏")
    records = client.get("/api/v1/records", **auth).json()
    assert {r["center"] for r in records} == {"护理质控中心"} and len(records) == 2
    assert client.get("/api/v1/records?center=院感质控中心", **auth).status_code == 403
    assert client.get("/api/v1/search?q=督查&center=院感质控中心", **auth).status_code == 403
    hits = client.get("/api/v1/search?q=督查 会议 通知", **auth).json()
    assert hits and {h["center"] for h in hits} == {"护理质控中心"}
    # The same objects as `zhikong search --json`: real paths for scripts, masked snippets.
    cli_hits = json.loads(filled.zk("search", "会议", "通知", "--center", "护理质控中心", "--json").stdout)
    api_hits = client.get("/api/v1/search?q=会议 通知", **auth).json()
    assert [h["path"] for h in api_hits] == [h["path"] for h in cli_hits]
    assert "13912345678" in json.dumps(api_hits, ensure_ascii=False)  # the path, as in --json
    assert all("13912345678" not in h["snippet"] for h in api_hits)
    other = next(
        r
        for r in filled.client().get("/api/v1/records", **_token(filled, "医政科张")).json()
        if r["center"] == "院感质控中心"
    )
    assert client.get(f"/api/v1/records/{other['id']}", **auth).status_code == 403
    mine = client.get(f"/api/v1/records/{records[0]['id']}", **auth)
    assert mine.status_code == 200 and mine.json()["path"] == records[0]["path"]
    assert client.get("/api/v1/records/99999", **auth).status_code == 404
    assert client.get("/api/v1/search", **auth).status_code == 400


def test_api_bureau_sees_every_center(filled: Site) -> None:
    auth = _token(filled, "医政科张")
    records = filled.client().get("/api/v1/records", **auth).json()
    assert {r["center"] for r in records} == {"护理质控中心", "院感质控中心"}
    hits = filled.client().get("/api/v1/search?q=督查", **auth).json()
    assert "院感质控中心" in {h["center"] for h in hits}
