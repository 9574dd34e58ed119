"""Helpers of the web tests (test_web_accounts.py, test_web.py): zhikong commands against one archive."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner, Result

from zhikong.cli import cli

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
