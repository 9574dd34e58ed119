"""What the views share: the archive this server serves and its clock, both from Django's settings."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Sequence
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest

from zhikong.app import Archive

_archives: dict[Path, Archive] = {}
_archives_lock = threading.Lock()


def archive() -> Archive:
    """The archive this server serves: one `Archive` per process (it keeps its settings and an open
    searcher between requests; it is safe to share between threads)."""
    root = Path(settings.ZHIKONG_ROOT)
    with _archives_lock:
        found = _archives.get(root)
        if found is None:
            found = _archives[root] = Archive(root)
        return found


def now() -> float:
    return float(settings.ZHIKONG_CLOCK())


def today() -> date:
    return datetime.fromtimestamp(now()).date()


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)  # checked by load_web_settings


def _is_trusted(address: str, proxies: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in proxies)


def client_address(request: HttpRequest) -> str:
    """The address a request came from: what the log-in lockout counts per address.

    REMOTE_ADDR, unless it is one of the reverse proxies of zhikong.toml's `[web] trusted_proxies`: then the
    right-most address of X-Forwarded-For that is not a trusted proxy. Each proxy appends the address it was
    reached from, so that one is what our own proxy saw; anything left of it is what the client wrote and
    could be forged to dodge the lockout. An entry there that is no address at all counts as the proxy's.
    """
    remote = str(request.META.get("REMOTE_ADDR") or "").strip()
    if not remote:
        return "未知地址"
    proxies = _networks(tuple(getattr(settings, "ZHIKONG_TRUSTED_PROXIES", ())))
    if not proxies or not _is_trusted(remote, proxies):
        return remote
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
        if _is_trusted(hop, proxies):
            continue
        try:
            return str(ipaddress.ip_address(hop))
        except ValueError:
            return remote
    return remote


def upload_max_bytes() -> int:
    """The largest file an upload may be (answered with a Chinese message above it)."""
    return int(settings.ZHIKONG_UPLOAD_MAX_BYTES)
