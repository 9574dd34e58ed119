"""Helpers of the web tests (test_web_accounts.py, test_web.py): zhikong commands against one archive."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import django
from click.testing import CliRunner, Result
from django.conf import settings
from django.http import HttpResponse
from django.test import Client, override_settings

from zhikong.cli import cli
from zhikong.web.config import django_settings

PASSWORD = "正确的密码-2026"


@dataclass
class Zk:
    root: Path
    runner: CliRunner

    def zk(self, *args: str, input: str | None = None, expect: int | None = 0) -> Result:
        """`zhikong --root ROOT ARGS…`, with `input` on stdin; checks the exit code unless `expect` is None."""
        result = self.runner.invoke(
            cli, ["--root", str(self.root), *args], input=input, catch_exceptions=False
        )
        if expect is not None:
            assert result.exit_code == expect, f"exit {result.exit_code}:\n{result.output}"
        return result

    def add(self, name: str, role: str, *centers: str, password: str = PASSWORD) -> None:
        """`zhikong --as 管理员甲 user add NAME --role ROLE [--center C]… --password-stdin`."""
        options = [x for c in centers for x in ("--center", c)]
        self.zk(
            "--as",
            "管理员甲",
            "user",
            "add",
            name,
            "--role",
            role,
            *options,
            "--password-stdin",
            input=password + "\n",
        )

    def token(self, name: str) -> str:
        """`zhikong token create NAME`: the token it prints once."""
        (token,) = re.findall(r"^zk_\S+$", self.zk("--as", "管理员甲", "token", "create", name).stdout, re.M)
        return str(token)


NOW = datetime(2026, 6, 15, 10, 0).timestamp()


class FakeClock:
    def __init__(self, start: float) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t


@dataclass
class Site(Zk):
    """An archive served by Django's test client, with a clock the tests move forward."""

    clock: FakeClock

    def client(self, address: str = "10.0.0.1") -> Client:
        return Client(REMOTE_ADDR=address)

    def login(self, name: str, password: str = PASSWORD, address: str = "10.0.0.1") -> Client:
        client = self.client(address)
        response = client.post("/login/", {"name": name, "password": password})
        assert response.status_code == 302, response.content.decode()
        return client


def configure_django() -> None:
    """Django's settings are per process: configured once, then swapped per test (`served`)."""
    if not settings.configured:
        settings.configure(**django_settings(Path("/nonexistent"), secret_key="unused-" + "x" * 50))
        django.setup(set_prefix=False)


@contextmanager
def served(root: Path, runner: CliRunner) -> Iterator[Site]:
    """The archive at `root` as the site Django's test client talks to, for the time of the block."""
    configure_django()
    clock = FakeClock(NOW)
    swapped = django_settings(root, secret_key="test-secret-" + "s" * 50, clock=clock)
    del swapped["DATABASES"]  # none either way; Django warns when it is overridden
    with override_settings(**swapped):
        yield Site(root, runner, clock)


def page(response: HttpResponse) -> str:
    return response.content.decode("utf-8")
