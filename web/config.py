"""The Django project of `zhikong serve`, configured in code: no manage.py, no settings module to edit.

`django_settings(root, …)` is the whole configuration for one archive. Django keeps one configuration per
process, so a server process serves one archive (`wsgi_application`); tests swap archives with Django's
`override_settings`. The security choices, each for a reason of the county network:

- Nothing loads from the internet (the server often has none): the one stylesheet is served from
  `web/static/`, pages carry no scripts, and a Content-Security-Policy without 'unsafe-inline' makes the
  browser refuse anything else (`zhikong.web.middleware`).
- The session cookie is HttpOnly and SameSite=Lax, sessions live in the accounts database (a log-out ends
  them on the server) and last one working day; CSRF is checked on every form; pages may not be framed.
- Messages of Django itself (form errors, the CSRF refusal) are Chinese: LANGUAGE_CODE zh-hans.

What differs from one county to the next is the `[web]` table of zhikong.toml (`load_web_settings`), read
when the server starts and checked value by value: a wrong one stops `zhikong serve` with a Chinese message
naming it, never a half-configured server.
"""

from __future__ import annotations

import ipaddress
import re
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zhikong.errors import SettingsError

WEB_DIR = Path(__file__).resolve().parent
Clock = Callable[[], float]
SETTINGS_FILE = "zhikong.toml"
MAX_UPLOAD_MB = 100 * 1024  # 100 GB: anything above is a typo, not a county's scans


@dataclass(frozen=True)
class WebSettings:
    """The `[web]` table of zhikong.toml; every key may be left out."""

    upload_max_mb: int = 200
    allowed_hosts: tuple[str, ...] = ("*",)
    trusted_proxies: tuple[str, ...] = ()  # addresses (or networks such as 10.0.0.0/24) of reverse proxies
    https: bool = False


_WEB_KEYS = ("upload_max_mb", "allowed_hosts", "trusted_proxies", "https")


def load_web_settings(root: Path) -> WebSettings:
    """The `[web]` table of `root`/zhikong.toml, each value checked; SettingsError names every wrong one."""
    from zhikong.archive.settings import read_settings_text, toml_problem

    path = Path(root) / SETTINGS_FILE
    text = read_settings_text(path)  # UTF-8 with or without a BOM, or GBK, as Notepad saves it
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)  # Python 3.14; before, only in the message
        found = re.search(r"line (\d+)", str(exc))
        line = line if isinstance(line, int) else int(found.group(1)) if found else None
        raise SettingsError(
            f"{path} 格式有误，{toml_problem(text, line)}",
            hint="用记事本打开 zhikong.toml 改正这一行后重试。",
        ) from exc
    return web_settings_from(data.get("web", {}), path)


def web_settings_from(table: Any, path: Path | str = SETTINGS_FILE) -> WebSettings:
    """WebSettings from the parsed `[web]` table (a dict), or SettingsError listing each wrong value."""
    if not isinstance(table, dict):
        raise SettingsError(
            f"{path} 有误：web 应写成一段 [web]（方括号里写 web，下面每行一项设置）。",
            hint="参照 README“在县里的服务器上运行”一节的示例。",
        )
    problems: list[str] = []
    unknown = [k for k in table if k not in _WEB_KEYS]
    if unknown:
        problems.append(f"[web] 里没有这项设置：{'、'.join(unknown)}（可用的设置：{'、'.join(_WEB_KEYS)}）")
    defaults = WebSettings()

    mb = table.get("upload_max_mb", defaults.upload_max_mb)
    if isinstance(mb, bool) or not isinstance(mb, int) or not 1 <= mb <= MAX_UPLOAD_MB:
        problems.append(
            f"upload_max_mb（上传文件大小上限，单位 MB）应是 1 到 {MAX_UPLOAD_MB} 之间的整数，不加引号：{_shown(mb)}"
        )
        mb = defaults.upload_max_mb

    hosts = table.get("allowed_hosts", list(defaults.allowed_hosts))
    if not _is_text_list(hosts) or not hosts:
        problems.append(
            "allowed_hosts（浏览器用来访问服务器的名称或地址）应是加引号的文字列表，"
            f'例如 allowed_hosts = ["192.168.1.10", "zhikong.jinxiang.gov.cn"]：{_shown(hosts)}'
        )
        hosts = list(defaults.allowed_hosts)
    else:
        for h in hosts:
            if not h.strip() or "/" in h or " " in h or "\\" in h:
                problems.append(f"allowed_hosts 的每一项应是名称或地址，不带 http:// 和路径：{_shown(h)}")

    proxies = table.get("trusted_proxies", list(defaults.trusted_proxies))
    if not _is_text_list(proxies):
        problems.append(
            "trusted_proxies（反向代理的 IP 地址）应是加引号的地址列表，"
            f'例如 trusted_proxies = ["127.0.0.1"]：{_shown(proxies)}'
        )
        proxies = []
    else:
        for p in proxies:
            try:
                ipaddress.ip_network(p.strip(), strict=False)
            except ValueError:
                problems.append(
                    f"trusted_proxies 的每一项应是 IP 地址（如 127.0.0.1 或 10.0.0.0/24）：{_shown(p)}"
                )

    https = table.get("https", defaults.https)
    if not isinstance(https, bool):
        problems.append(f"https 应是 true 或 false（不加引号）：{_shown(https)}")
        https = defaults.https

    if problems:
        raise SettingsError(
            f"{path} 的 [web] 设置有误，网页端没有启动：\n  - " + "\n  - ".join(problems),
            hint="用记事本打开该文件改正，参照 README“在县里的服务器上运行”一节的示例。",
        )
    return WebSettings(
        upload_max_mb=mb,
        allowed_hosts=tuple(h.strip() for h in hosts),
        trusted_proxies=tuple(p.strip() for p in proxies),
        https=https,
    )


def _is_text_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(x, str) for x in value)


def _shown(value: Any) -> str:
    """A wrong value as the user wrote it in TOML (text in quotes), cut short."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = f'"{value}"'
    else:
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "…"


def csrf_trusted_origins(hosts: tuple[str, ...]) -> list[str]:
    """The https:// origins of the allowed hosts ("*" trusts none: Django then compares with the Host)."""
    origins = []
    for h in hosts:
        if h == "*":
            continue
        origins.append(f"https://*{h}" if h.startswith(".") else f"https://{h}")
    return origins


def django_settings(
    root: Path, *, secret_key: str, clock: Clock = time.time, web: WebSettings | None = None
) -> dict[str, Any]:
    """Django's settings for the archive at `root`. `clock` (seconds since the epoch) is what the log-in
    lockout and the sessions count time with, so a test can move it forward 15 minutes. `web` is the `[web]`
    table of zhikong.toml (`load_web_settings`; the defaults when left out)."""
    if web is None:
        web = WebSettings()
    secure: dict[str, Any] = {}
    if web.https:  # behind a reverse proxy that speaks HTTPS and says so in X-Forwarded-Proto
        secure = {
            "SESSION_COOKIE_SECURE": True,
            "CSRF_COOKIE_SECURE": True,
            "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
            "CSRF_TRUSTED_ORIGINS": csrf_trusted_origins(web.allowed_hosts),
        }
    return {
        "DEBUG": False,
        "SECRET_KEY": secret_key,
        # By default the server is reached under whatever name or address it has on the county network.
        "ALLOWED_HOSTS": list(web.allowed_hosts),
        "ROOT_URLCONF": "zhikong.web.urls",
        "INSTALLED_APPS": [],
        "DATABASES": {},  # accounts and sessions are in .zhikong/accounts.sqlite (zhikong.web.accounts)
        "MIDDLEWARE": [
            "django.middleware.security.SecurityMiddleware",
            "zhikong.web.middleware.security_headers",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.locale.LocaleMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
            "zhikong.web.middleware.current_account",
        ],
        "TEMPLATES": [
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "DIRS": [WEB_DIR / "templates"],
                "APP_DIRS": False,
                "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
            }
        ],
        "LANGUAGE_CODE": "zh-hans",
        "LANGUAGES": [("zh-hans", "简体中文")],
        "USE_I18N": True,
        "USE_TZ": True,
        "TIME_ZONE": "Asia/Shanghai",
        "SESSION_ENGINE": "zhikong.web.sessions",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "zhikong_session",
        "SESSION_COOKIE_AGE": 10 * 3600,
        "SESSION_EXPIRE_AT_BROWSER_CLOSE": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_NAME": "zhikong_csrf",
        "CSRF_FAILURE_VIEW": "zhikong.web.views.csrf_failure",
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "SECURE_CROSS_ORIGIN_OPENER_POLICY": "same-origin",
        "STATIC_URL": "/static/",
        "LOGGING_CONFIG": None,  # the server sets up its own log (.zhikong/logs/serve.log)
        "ZHIKONG_ROOT": Path(root),
        "ZHIKONG_CLOCK": clock,
        "ZHIKONG_UPLOAD_MAX_BYTES": web.upload_max_mb * 1024 * 1024,
        "ZHIKONG_TRUSTED_PROXIES": web.trusted_proxies,
        # Uploads Django spools to disk go to the archive's own tmp folder (never watched, never scanned)
        "FILE_UPLOAD_TEMP_DIR": str(Path(root) / ".zhikong" / "tmp"),
        "FILE_UPLOAD_PERMISSIONS": 0o600,
        **secure,
    }
