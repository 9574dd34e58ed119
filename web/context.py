"""What the views share: the archive this server serves and its clock, both from Django's settings."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from django.conf import settings

from zhikong.app import Archive


def archive() -> Archive:
    return Archive(Path(settings.ZHIKONG_ROOT))


def now() -> float:
    return float(settings.ZHIKONG_CLOCK())


def today() -> date:
    return datetime.fromtimestamp(now()).date()
