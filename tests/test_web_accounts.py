"""The accounts of zhikong serve through their commands (`user`, `token`): storage, checks, the audit chain,
and that a handover never carries them."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from webtools import PASSWORD, Zk

from zhikong.app import Archive
from zhikong.cli import cli


@pytest.fixture
def site(root: Path, runner: CliRunner) -> Zk:
    return Zk(root, runner)


def test_user_commands_store_argon2_hashes_and_audit_every_change(site: Zk) -> None:
    site.add("管理员甲", "admin")
    site.add("刘敏", "secretary", "护理质控中心", "院感质控中心")
    listed = json.loads(site.zk("user", "list", "--json").stdout)
    assert [(u["name"], u["role"], u["centers"], u["active"]) for u in listed] == [
        ("管理员甲", "admin", [], True),
        ("刘敏", "secretary", ["护理质控中心", "院感质控中心"], True),
    ]
    assert "password" not in json.dumps(listed)
    # Checked against zhikong.toml and the role; nothing is written when refused.
    stdin = PASSWORD + "\n"
    refused = site.zk(
        "user",
        "add",
        "赵",
        "--role",
        "secretary",
        "--center",
        "口腔质控中心",
        "--password-stdin",
        input=stdin,
        expect=3,
    )
    assert "未登记的质控中心：口腔质控中心" in refused.output
    assert (
        "须用 --center"
        in site.zk(
            "user", "add", "赵", "--role", "director", "--password-stdin", input=stdin, expect=4
        ).output
    )
    assert (
        "不用指定 --center"
        in site.zk(
            "user",
            "add",
            "赵",
            "--role",
            "bureau",
            "--center",
            "护理质控中心",
            "--password-stdin",
            input=stdin,
            expect=4,
        ).output
    )
    assert (
        "太短"
        in site.zk(
            "user", "add", "赵", "--role", "bureau", "--password-stdin", input="short\n", expect=4
        ).output
    )
    assert (
        "已存在"
        in site.zk(
            "user", "add", "刘敏", "--role", "bureau", "--password-stdin", input=stdin, expect=9
        ).output
    )
    assert len(json.loads(site.zk("user", "list", "--json").stdout)) == 2
    # Without --password-stdin the password is asked twice, in Chinese.
    asked = site.zk("--as", "管理员甲", "user", "passwd", "刘敏", input="新的密码12345\n新的密码12345\n")
    assert "新密码" in asked.output and "再输入一次" in asked.output and "已修改 刘敏 的密码" in asked.output
    assert (
        "不一致" in site.zk("user", "passwd", "刘敏", input="新的密码12345\n别的密码12345\n", expect=2).output
    )
    site.zk("--as", "管理员甲", "user", "disable", "刘敏")
    assert "【已停用】" in site.zk("user", "list").output
    assert "没有这个账户" in site.zk("user", "disable", "无名氏", expect=5).output

    db = site.root / ".zhikong" / "accounts.sqlite"
    if os.name == "posix":
        assert db.stat().st_mode & 0o777 == 0o600
    rows = sqlite3.connect(db).execute("SELECT name, password FROM users ORDER BY id").fetchall()
    assert all(h.startswith("$argon2id$") for _n, h in rows) and PASSWORD not in str(rows)
    log = site.zk("log").output
    for action in ("user.add", "user.passwd", "user.disable"):
        assert action in log
    assert "操作人：管理员甲" in log and "argon2" not in log
    site.zk("log", "verify")


def test_token_is_shown_once_and_only_its_hash_is_kept(site: Zk) -> None:
    site.add("医政科张", "bureau")
    token = site.token("医政科张")
    assert len(token) > 40
    assert token.encode() not in (site.root / ".zhikong" / "accounts.sqlite").read_bytes()
    assert "token.create" in site.zk("log").output
    arc = Archive.open(site.root)
    account = arc.token_account(token)
    assert account is not None and account.name == "医政科张"
    assert arc.token_account(token + "x") is None
    site.zk("user", "disable", "医政科张")
    assert arc.token_account(token) is None


def test_a_handover_bundle_carries_no_accounts(site: Zk, tmp_path: Path) -> None:
    """Accounts are the county server's: neither the database nor the account entries of the audit chain
    (names, roles, lockouts) go into a center's bundle; the chain still verifies at the receiver."""
    site.add("刘敏", "secretary", "护理质控中心")
    site.add("医政科张", "bureau")
    arc, now = Archive.open(site.root), datetime(2026, 6, 15, 10).timestamp()
    for _ in range(5):
        arc.login("刘敏", "不对的密码123", address="10.0.0.1", now=now)
    assert "user.lockout" in site.zk("log").output
    site.token("医政科张")
    bundle = tmp_path / "移交包"
    site.zk("handover", "create", "--center", "护理质控中心", "--to", "金乡县中医院", "--out", str(bundle))
    files = [p for p in bundle.rglob("*") if p.is_file()]
    assert files and not [p for p in files if "accounts" in p.name]
    blob = b"".join(p.read_bytes() for p in files)
    for secret in ("医政科张", "user.add", "user.lockout", "token.create", "$argon2", "10.0.0.1"):
        assert secret.encode() not in blob, secret
    new_root = tmp_path / "新档案库"
    imported = site.runner.invoke(cli, ["--root", str(new_root), "handover", "import", str(bundle)])
    assert imported.exit_code == 0, imported.output
    assert not (new_root / ".zhikong" / "accounts.sqlite").exists()
    verified = site.runner.invoke(cli, ["--root", str(new_root), "log", "verify"])
    assert verified.exit_code == 0, verified.output
