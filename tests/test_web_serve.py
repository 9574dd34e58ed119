"""Running the server: `zhikong demo --serve`, the `[web]` settings of zhikong.toml, the client's address
behind a reverse proxy, and what `serve` tidies on start.

Two tests start a real process on a free port (the demo, and `serve` on an archive made with the
commands) and talk HTTP to it; the rest use CliRunner, `django_settings` and Django's RequestFactory.
"""

from __future__ import annotations

import http.cookiejar
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import django
import pytest
from click.testing import CliRunner
from django.conf import settings
from django.test import Client, RequestFactory, override_settings
from webtools import PASSWORD, Zk

from zhikong.cli import cli
from zhikong.errors import SettingsError
from zhikong.web.config import WebSettings, django_settings, load_web_settings
from zhikong.web.context import client_address, upload_max_bytes


@pytest.fixture(scope="module", autouse=True)
def _django() -> None:
    """Django's settings are per process: configured once (as in test_web.py), then swapped per test."""
    if not settings.configured:
        settings.configure(**django_settings(Path("/nonexistent"), secret_key="unused-" + "x" * 50))
        django.setup(set_prefix=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _with_web(root: Path, table: str) -> None:
    """Append a `[web]` table to the archive's zhikong.toml."""
    path = root / "zhikong.toml"
    path.write_text(path.read_text(encoding="utf-8") + "\n[web]\n" + table + "\n", encoding="utf-8")


class Lines:
    """A process's output read line by line in a thread, so a test can wait for a line with a deadline."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc, self.seen, self._q = proc, [], queue.Queue[str | None]()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._q.put(line)
        self._q.put(None)

    def until(self, pattern: str, timeout: float = 120) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._q.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                break
            self.seen.append(line.rstrip("\n"))
            if re.search(pattern, line):
                return self.seen
        raise AssertionError(f"没有等到 {pattern!r}：\n" + "\n".join(self.seen))

    def rest(self, timeout: float = 30) -> str:
        self.proc.wait(timeout=timeout)
        while (line := self._q.get(timeout=timeout)) is not None:
            self.seen.append(line.rstrip("\n"))
        return "\n".join(self.seen)


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; any still running at the end are killed."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def _start(started: list[subprocess.Popen[str]], *args: str) -> Lines:
    proc = subprocess.Popen(
        [sys.executable, "-m", "zhikong.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
    )
    started.append(proc)
    return Lines(proc)


def _stop(lines: Lines) -> str:
    lines.proc.send_signal(signal.SIGTERM)
    output = lines.rest()
    assert lines.proc.returncode == 0, output
    assert "网页端已停止" in output and "Traceback" not in output
    return output


# -- zhikong demo --serve ------------------------------------------------------------------------------------

_ROW = re.compile(r"^\s*(http://\S+)\s+(\S+)\s+(管理员|医政科|主任|秘书)\s+(\S+)\s+(\S+)$")


def test_demo_serve_prints_one_account_per_role_and_the_secretary_logs_in(
    tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    port = _free_port()
    lines = _start(started, "demo", "--serve", "--port", str(port), "--dir", str(tmp_path))
    seen = lines.until(r"\s秘书\s")
    table = {m.group(3): m.groups() for line in seen if (m := _ROW.match(line))}
    assert set(table) == {"管理员", "医政科", "主任", "秘书"}, "\n".join(seen)
    url, name, _role, center, password = table["秘书"]
    assert url == f"http://127.0.0.1:{port}/" and (name, center) == ("黄丽", "院感质控中心")
    assert table["主任"][1:4] == ("王秀英", "主任", "护理质控中心")
    assert table["医政科"][3] == table["管理员"][3] == "全部中心"
    passwords = [row[4] for row in table.values()]
    assert len(set(passwords)) == 4
    for pw in passwords:  # 16 random symbols of 57
        assert (
            re.fullmatch(r"[A-Za-z2-9]{4}(-[A-Za-z2-9]{4}){3}", pw) and pw != pw.lower() and pw != pw.upper()
        )
    assert any("网页端已启动" in line for line in seen)

    # A browser's log-in: the CSRF cookie and the form's hidden token from GET /login/, then a real POST.
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with browser.open(f"{url}login/", timeout=10) as r:
        form = r.read().decode("utf-8")
    assert "zhikong_csrf" in {c.name for c in jar}
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert token is not None, form
    wrong = urllib.parse.urlencode(
        {"name": name, "password": password + "x", "csrfmiddlewaretoken": token.group(1)}
    ).encode()
    with browser.open(f"{url}login/", data=wrong, timeout=10) as r:
        assert "不正确" in r.read().decode("utf-8")
    body = urllib.parse.urlencode(
        {"name": name, "password": password, "csrfmiddlewaretoken": token.group(1)}
    ).encode()
    with browser.open(f"{url}login/", data=body, timeout=30) as r:  # 302 to the home page, followed
        home, landed = r.read().decode("utf-8"), r.geturl()
    assert landed == url, landed
    assert "zhikong_session" in {c.name for c in jar}
    assert "院感质控中心" in home and "护理质控中心" not in home and "黄丽" in home

    output = _stop(lines)
    log = (tmp_path / "档案库" / ".zhikong" / "logs" / "serve.log").read_text(encoding="utf-8")
    assert "网页端已启动" in log and "网页端已停止" in log
    assert "user.add" in Zk(tmp_path / "档案库", CliRunner()).zk("log", "--limit", "10").output
    assert password not in log and password not in output.split("按 Ctrl-C 停止")[-1]


def test_demo_serve_says_so_when_the_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "zhikong.cli",
                "demo",
                "--serve",
                "--port",
                str(port),
                "--dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=180,
            check=False,
        )
    assert done.returncode == 9, done.stdout + done.stderr
    assert f"网页端无法在 127.0.0.1:{port} 上启动" in done.stderr and "Traceback" not in done.stderr


def test_demo_takes_its_folder_as_dir_or_argument_not_both(tmp_path: Path, runner: CliRunner) -> None:
    both = runner.invoke(cli, ["demo", str(tmp_path / "a"), "--dir", str(tmp_path / "b")])
    assert both.exit_code == 2 and "只能指定一个" in both.output


# -- serve on start: the settings, the stale uploads -----------------------------------------------------------


def test_serve_reads_web_settings_and_clears_half_received_uploads(
    root: Path, runner: CliRunner, started: list[subprocess.Popen[str]]
) -> None:
    Zk(root, runner).add("管理员甲", "admin")
    _with_web(root, 'upload_max_mb = 1\ntrusted_proxies = ["127.0.0.1"]')
    tmp = root / ".zhikong" / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    for stale in ("upload-a1.part", "upload-b2.part"):
        (tmp / stale).write_bytes(b"half a file")
    (tmp / "other.bin").write_bytes(b"not an upload")
    port = _free_port()
    lines = _start(started, "--root", str(root), "serve", "--port", str(port))
    lines.until("网页端已启动")
    assert sorted(p.name for p in tmp.iterdir()) == ["other.bin"]
    _stop(lines)
    log = (root / ".zhikong" / "logs" / "serve.log").read_text(encoding="utf-8")
    assert "未传完的上传临时文件 2 个" in log
    assert "上传上限 1 MB" in log and "可信代理 127.0.0.1" in log


def test_web_settings_become_django_settings(root: Path) -> None:
    assert load_web_settings(root) == WebSettings()  # no [web]: the defaults
    plain = django_settings(root, secret_key="k" * 50)
    assert plain["ALLOWED_HOSTS"] == ["*"] and plain["ZHIKONG_UPLOAD_MAX_BYTES"] == 200 * 1024 * 1024
    assert "SESSION_COOKIE_SECURE" not in plain and "SECURE_PROXY_SSL_HEADER" not in plain
    _with_web(
        root,
        "upload_max_mb = 3\n"
        'allowed_hosts = ["zhikong.jinxiang.gov.cn", ".wjw.jx.cn", "192.168.1.10"]\n'
        'trusted_proxies = ["127.0.0.1", "10.1.0.0/16"]\n'
        "https = true",
    )
    web = load_web_settings(root)
    assert web.trusted_proxies == ("127.0.0.1", "10.1.0.0/16")
    made = django_settings(root, secret_key="k" * 50, web=web)
    assert made["ALLOWED_HOSTS"] == ["zhikong.jinxiang.gov.cn", ".wjw.jx.cn", "192.168.1.10"]
    assert made["SESSION_COOKIE_SECURE"] is True and made["CSRF_COOKIE_SECURE"] is True
    assert made["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert made["CSRF_TRUSTED_ORIGINS"] == [
        "https://zhikong.jinxiang.gov.cn",
        "https://*.wjw.jx.cn",
        "https://192.168.1.10",
    ]
    del made["DATABASES"]
    with override_settings(**made):
        assert upload_max_bytes() == 3 * 1024 * 1024
        secure = RequestFactory().get(
            "/", HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="zhikong.jinxiang.gov.cn"
        )
        assert secure.is_secure()
        with pytest.raises(django.core.exceptions.DisallowedHost):
            RequestFactory().get("/", HTTP_HOST="evil.example").get_host()


@pytest.mark.parametrize(
    ("table", "says"),
    [
        (
            'upload_max_mb = "abc"',
            'upload_max_mb（上传文件大小上限，单位 MB）应是 1 到 102400 之间的整数，不加引号："abc"',
        ),
        (
            "upload_max_mb = -5",
            "upload_max_mb（上传文件大小上限，单位 MB）应是 1 到 102400 之间的整数，不加引号：-5",
        ),
        ("upload_max_mb = 0", "upload_max_mb"),
        ("upload_max_mb = 2.5", "upload_max_mb"),
        ("upload_max_mb = true", "upload_max_mb"),
        ('allowed_hosts = "*"', "allowed_hosts（浏览器用来访问服务器的名称或地址）应是加引号的文字列表"),
        ("allowed_hosts = []", "allowed_hosts"),
        (
            'allowed_hosts = ["https://zhikong.example/"]',
            "allowed_hosts 的每一项应是名称或地址，不带 http://",
        ),
        ('trusted_proxies = "127.0.0.1"', "trusted_proxies（反向代理的 IP 地址）应是加引号的地址列表"),
        (
            'trusted_proxies = ["nginx"]',
            'trusted_proxies 的每一项应是 IP 地址（如 127.0.0.1 或 10.0.0.0/24）："nginx"',
        ),
        ('https = "yes"', 'https 应是 true 或 false（不加引号）："yes"'),
        ("upload_max_MB = 10", "[web] 里没有这项设置：upload_max_MB"),
    ],
)
def test_serve_refuses_a_wrong_web_setting_in_chinese(
    root: Path, runner: CliRunner, table: str, says: str
) -> None:
    Zk(root, runner).add("管理员甲", "admin")
    _with_web(root, table)
    refused = Zk(root, runner).zk("serve", "--port", "1", expect=3)
    assert "[web] 设置有误，网页端没有启动" in refused.output and says in refused.output, refused.output
    assert "Traceback" not in refused.output


def test_serve_refuses_web_that_is_not_a_table(root: Path, runner: CliRunner) -> None:
    path = root / "zhikong.toml"
    path.write_text("web = 5\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    refused = Zk(root, runner).zk("serve", "--port", "1", expect=3)
    assert "web 应写成一段 [web]" in refused.output and "Traceback" not in refused.output


def test_every_wrong_web_setting_is_named_at_once(root: Path) -> None:
    _with_web(root, 'upload_max_mb = "200MB"\nhttps = 1\ntrusted_proxies = ["1.2.3.4", "x"]')
    with pytest.raises(SettingsError) as refused:
        load_web_settings(root)
    message = str(refused.value)
    assert all(
        k in message
        for k in (
            "upload_max_mb",
            "https 应是",
            'trusted_proxies 的每一项应是 IP 地址（如 127.0.0.1 或 10.0.0.0/24）："x"',
        )
    )
    assert '"1.2.3.4"' not in message


# -- the client's address --------------------------------------------------------------------------------------


def _address(proxies: tuple[str, ...], remote: str, forwarded: str | None = None) -> str:
    extra = {} if forwarded is None else {"HTTP_X_FORWARDED_FOR": forwarded}
    with override_settings(ZHIKONG_TRUSTED_PROXIES=proxies):
        return client_address(RequestFactory().get("/login/", REMOTE_ADDR=remote, **extra))


def test_client_address_without_a_trusted_proxy_is_remote_addr() -> None:
    assert _address((), "10.0.0.5") == "10.0.0.5"
    assert _address((), "10.0.0.5", "1.2.3.4") == "10.0.0.5"  # anyone can write X-Forwarded-For
    assert _address((), "") == "未知地址"
    # A proxy that is not trusted is the client as far as the server knows.
    assert _address(("127.0.0.1",), "10.0.0.5", "1.2.3.4") == "10.0.0.5"


def test_client_address_behind_a_trusted_proxy() -> None:
    proxy = ("127.0.0.1",)
    assert _address(proxy, "127.0.0.1", "10.0.0.9") == "10.0.0.9"
    assert _address(proxy, "127.0.0.1") == "127.0.0.1"  # nothing forwarded: the proxy itself
    # A forged X-Forwarded-For: the client wrote 6.6.6.6, nginx appended the address it really saw.
    assert _address(proxy, "127.0.0.1", "6.6.6.6, 10.0.0.9") == "10.0.0.9"
    assert _address(proxy, "127.0.0.1", "127.0.0.1, 10.0.0.9") == "10.0.0.9"
    # Two proxies of ours (one by network): the right-most address that is not one of them.
    two = ("127.0.0.1", "10.1.0.0/16")
    assert _address(two, "127.0.0.1", "6.6.6.6, 192.168.5.5, 10.1.2.3") == "192.168.5.5"
    assert _address(two, "127.0.0.1", "10.1.2.3, 127.0.0.1") == "127.0.0.1"  # all ours
    # What is no address at all counts as the proxy's, never as a fresh identity.
    assert _address(proxy, "127.0.0.1", "10.0.0.9, <script>") == "127.0.0.1"
    assert _address(("::1",), "::1", "2001:DB8::0:1") == "2001:db8::1"


def test_a_forged_forwarded_address_does_not_dodge_the_lockout(root: Path, runner: CliRunner) -> None:
    Zk(root, runner).add("黄丽", "secretary", "院感质控中心")
    swapped = django_settings(
        root, secret_key="test-secret-" + "s" * 50, web=WebSettings(trusted_proxies=("127.0.0.1",))
    )
    del swapped["DATABASES"]
    with override_settings(**swapped):
        for forged in ("1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4", "5.5.5.5"):
            client = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"{forged}, 10.0.0.7")
            client.post("/login/", {"name": f"甲{forged}", "password": "不对的密码123"})
        again = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="9.9.9.9, 10.0.0.7")
        assert again.post("/login/", {"name": "黄丽", "password": PASSWORD}).status_code == 429
        other = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.0.0.8")
        assert other.post("/login/", {"name": "黄丽", "password": PASSWORD}).status_code == 302
    assert "操作人：网页登录（10.0.0.7）" in Zk(root, runner).zk("log").output
