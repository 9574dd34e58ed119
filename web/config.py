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
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

WEB_DIR = Path(__file__).resolve().parent
Clock = Callable[[], float]


def django_settings(root: Path, *, secret_key: str, clock: Clock = time.time) -> dict[str, Any]:
    """Django's settings for the archive at `root`. `clock` (seconds since the epoch) is what the log-in
    lockout and the sessions count time with, so a test can move it forward 15 minutes."""
    return {
        "DEBUG": False,
        "SECRET_KEY": secret_key,
        # The server is reached by the county network under whatever name or address it has there.
        "ALLOWED_HOSTS": ["*"],
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
    }
