"""The accounts of `zhikong serve`: who may log in, with which role, for which centers.

They live in `.zhikong/accounts.sqlite`, a database of their own beside the catalogue: `zhikong backup`
copies every *.sqlite of `.zhikong/` (so accounts are backed up and restored), while a handover carries
only the center's catalogue rows and files — accounts are the county server's, never a bundle's.

- Passwords are stored as Argon2id hashes (argon2-cffi, the hasher Django recommends); API tokens only as
  their SHA-256 (a token is 256 random bits, so a slow hash adds nothing), shown once when created.
- Five wrong passwords lock the account *and* the client address for 15 minutes: a guesser cannot go on by
  switching accounts or machines. The clock is passed in (`now`, seconds), never read here.
- Sessions of the web pages are kept here too (`zhikong.web.sessions`), so logging out or a password change
  ends them on the server, not only in the browser.
- Each account carries a generation, raised by a password change or a disabling: a session made before
  holds the old one and is refused.

This module keeps the rules of accounts and their storage; the application layer (`zhikong.app.Archive`)
records every change in the audit chain, with who made it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from zhikong.archive.catalogue import now_iso, open_database, storage_error
from zhikong.errors import ConflictError, InputFileError, NotFound, SettingsError

DB_NAME = "accounts.sqlite"
MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60
MIN_PASSWORD = 8
TOKEN_PREFIX = "zk_"
SCHEMA_VERSION = 1  # PRAGMA user_version: a later change of the tables is a migration from this number

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'bureau', 'director', 'secretary')),
    centers TEXT NOT NULL DEFAULT '[]',
    password TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    generation INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    digest TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS failures (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    count INTEGER NOT NULL,
    locked_until REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, key)
);
CREATE TABLE IF NOT EXISTS sessions (key TEXT PRIMARY KEY, data TEXT NOT NULL, expires REAL NOT NULL);
"""

_hasher = PasswordHasher()  # Argon2id with argon2-cffi's RFC 9106 "low memory" profile
# Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class Role(StrEnum):
    ADMIN = "admin"
    BUREAU = "bureau"
    DIRECTOR = "director"
    SECRETARY = "secretary"

    @property
    def label(self) -> str:
        return {"admin": "管理员", "bureau": "医政科", "director": "主任", "secretary": "秘书"}[self.value]

    @property
    def sees_all(self) -> bool:
        """The bureau and the administrator see every center; a director or secretary only hers."""
        return self in (Role.ADMIN, Role.BUREAU)


@dataclasses.dataclass(frozen=True)
class Account:
    id: int
    name: str
    role: Role
    centers: tuple[str, ...]
    active: bool
    generation: int
    created: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role.value,
            "centers": list(self.centers),
            "active": self.active,
            "created": self.created,
        }

    def may_see(self, center: str | None) -> bool:
        return self.role.sees_all or (center is not None and center in self.centers)

    def may_write(self, center: str | None) -> bool:
        """Upload, edit a record's details, restore a version: a secretary in her centers, an administrator
        anywhere. Directors and the bureau read (they review and approve, in the drafts' workflow)."""
        if self.role is Role.ADMIN:
            return True
        return self.role is Role.SECRETARY and center is not None and center in self.centers

    def visible(self, all_centers: Sequence[str]) -> tuple[str, ...]:
        return (
            tuple(all_centers) if self.role.sees_all else tuple(c for c in all_centers if c in self.centers)
        )


@dataclasses.dataclass(frozen=True)
class Lockout:
    """A lock set by the fifth wrong password in a row, for the account or for the client address."""

    kind: str  # "account" or "address"
    key: str
    until: float


@dataclasses.dataclass(frozen=True)
class LoginOutcome:
    account: Account | None  # set when the name and password were right and the account may log in
    locked: bool = False  # refused without looking at the password: a lock is in force
    new_locks: tuple[Lockout, ...] = ()  # locks this attempt set (each is audited)


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InputFileError(f"密码太短：至少 {MIN_PASSWORD} 个字符。")
    if password.strip() != password:
        raise InputFileError("密码的开头和结尾不能是空格。")
    return password


def check_grant(role: str, centers: Sequence[str], known: Sequence[str]) -> tuple[Role, tuple[str, ...]]:
    """The role and centers of an account, checked against zhikong.toml's centers."""
    try:
        chosen = Role(role)
    except ValueError:
        raise InputFileError(
            f"未知的角色：{role}（可选 admin 管理员、bureau 医政科、director 主任、secretary 秘书）"
        ) from None
    unknown = [c for c in centers if c not in known]
    if unknown:
        raise SettingsError(
            f"未登记的质控中心：{'、'.join(unknown)}",
            hint=f"已登记的中心：{'、'.join(known) or '（尚无）'}；先用 zhikong center add 登记。",
        )
    if chosen.sees_all and centers:
        raise InputFileError(f"{chosen.label}能看到全部中心，不用指定 --center。")
    if not chosen.sees_all and not centers:
        raise InputFileError(f"{chosen.label}账户须用 --center 指定所属的质控中心（可多次）。")
    return chosen, tuple(dict.fromkeys(centers))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Accounts:
    """One connection to `.zhikong/accounts.sqlite`. Open with `Accounts.open(system_dir)`; close when done."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, system_dir: Path) -> Accounts:
        path = system_dir / DB_NAME  # owner only, like the catalogue: it holds password hashes and sessions

        def setup(conn: sqlite3.Connection) -> Accounts:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise SettingsError(
                    f"账户数据库的格式（版本 {version}）比本程序新（支持到 {SCHEMA_VERSION}）。",
                    hint="请升级 zhikong 后再运行（pip install -U zhikong）。",
                )
            if version < SCHEMA_VERSION:
                conn.executescript(_SCHEMA + f"PRAGMA user_version = {SCHEMA_VERSION};")
            return cls(conn, path)

        return open_database(path, setup)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Accounts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path) from exc
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path) from exc

    # -- accounts --------------------------------------------------------------------------------------

    @staticmethod
    def _account(row: sqlite3.Row) -> Account:
        return Account(
            row["id"],
            row["name"],
            Role(row["role"]),
            tuple(json.loads(row["centers"])),
            bool(row["active"]),
            row["generation"],
            row["created"],
        )

    def get(self, name: str) -> Account:
        row = self.conn.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"没有这个账户：{name}", hint="用 zhikong user list 查看已有账户。")
        return self._account(row)

    def by_id(self, account_id: int) -> Account | None:
        row = self.conn.execute("SELECT * FROM users WHERE id = ?", (account_id,)).fetchone()
        return self._account(row) if row else None

    def all(self) -> list[Account]:
        return [self._account(r) for r in self.conn.execute("SELECT * FROM users ORDER BY id")]

    def has_admin(self) -> bool:
        row = self.conn.execute("SELECT 1 FROM users WHERE role = 'admin' AND active = 1").fetchone()
        return row is not None

    def add(self, name: str, role: Role, centers: tuple[str, ...], password: str) -> Account:
        name = name.strip()
        if not name or any(ch.isspace() or not ch.isprintable() for ch in name) or len(name) > 64:
            raise InputFileError(f"账户名不能为空，不能含空格或控制字符，最长 64 个字符：{name!r}")
        hashed = _hasher.hash(check_password(password))
        with self.transaction():
            if self.conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise ConflictError(f"账户已存在：{name}", hint="改密码用 zhikong user passwd。")
            self.conn.execute(
                "INSERT INTO users (name, role, centers, password, created) VALUES (?,?,?,?,?)",
                (name, role.value, json.dumps(list(centers), ensure_ascii=False), hashed, now_iso()),
            )
        return self.get(name)

    def set_password(self, name: str, password: str) -> Account:
        hashed = _hasher.hash(check_password(password))
        account = self.get(name)
        with self.transaction():
            self.conn.execute(
                "UPDATE users SET password = ?, generation = generation + 1 WHERE id = ?",
                (hashed, account.id),
            )
        return self.get(name)

    def disable(self, name: str) -> Account:
        account = self.get(name)
        with self.transaction():
            self.conn.execute(
                "UPDATE users SET active = 0, generation = generation + 1 WHERE id = ?", (account.id,)
            )
        return self.get(name)

    def password_matches(self, name: str, password: str) -> bool:
        row = self.conn.execute("SELECT password FROM users WHERE name = ?", (name,)).fetchone()
        try:
            return _hasher.verify(row["password"] if row else _DUMMY_HASH, password) and row is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    # -- logging in, with the lockout --------------------------------------------------------------------

    def login(self, name: str, password: str, *, address: str, now: float) -> LoginOutcome:
        """Check a password unless the account or the address is locked; count failures, lock on the fifth."""
        keys = (("account", name), ("address", address))
        if any(self._locked_until(kind, key) > now for kind, key in keys):
            return LoginOutcome(None, locked=True)
        ok = self.password_matches(name, password)
        account = self.get(name) if ok else None
        if account is not None and account.active:
            with self.transaction():
                self.conn.executemany("DELETE FROM failures WHERE kind = ? AND key = ?", keys)
            return LoginOutcome(account)
        if account is not None:  # a disabled account: refused like a wrong password, and counted
            account = None
        locks = []
        with self.transaction():
            for kind, key in keys:
                row = self.conn.execute(
                    "SELECT count FROM failures WHERE kind = ? AND key = ?", (kind, key)
                ).fetchone()
                count = (row["count"] if row else 0) + 1
                until = 0.0
                if count >= MAX_FAILURES:
                    count, until = 0, now + LOCK_SECONDS
                    locks.append(Lockout(kind, key, until))
                self.conn.execute(
                    "INSERT OR REPLACE INTO failures (kind, key, count, locked_until) VALUES (?,?,?,?)",
                    (kind, key, count, until),
                )
        return LoginOutcome(None, locked=bool(locks), new_locks=tuple(locks))

    def _locked_until(self, kind: str, key: str) -> float:
        row = self.conn.execute(
            "SELECT locked_until FROM failures WHERE kind = ? AND key = ?", (kind, key)
        ).fetchone()
        return float(row["locked_until"]) if row else 0.0

    # -- API tokens --------------------------------------------------------------------------------------

    def create_token(self, name: str) -> str:
        account = self.get(name)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.transaction():
            self.conn.execute(
                "INSERT INTO tokens (user_id, digest, created) VALUES (?,?,?)",
                (account.id, token_digest(token), now_iso()),
            )
        return token

    def token_account(self, token: str) -> Account | None:
        """The active account a token belongs to; None for an unknown token or a disabled account."""
        row = self.conn.execute(
            "SELECT users.* FROM tokens JOIN users ON users.id = tokens.user_id WHERE tokens.digest = ?",
            (token_digest(token),),
        ).fetchone()
        account = self._account(row) if row else None
        return account if account is not None and account.active else None

    # -- the server's secret and the pages' sessions -------------------------------------------------------

    def secret_key(self) -> str:
        """Django's SECRET_KEY (signs the CSRF and session cookies): made once per archive, kept here."""
        with self.transaction():
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'secret_key'").fetchone()
            if row:
                return str(row["value"])
            key = secrets.token_urlsafe(50)
            self.conn.execute("INSERT INTO meta (key, value) VALUES ('secret_key', ?)", (key,))
            return key

    def session_load(self, key: str, now: float) -> str | None:
        row = self.conn.execute("SELECT data, expires FROM sessions WHERE key = ?", (key,)).fetchone()
        return str(row["data"]) if row and row["expires"] > now else None

    def session_save(self, key: str, data: str, expires: float, *, must_create: bool) -> bool:
        """Store a session; False when `must_create` and the key is taken."""
        with self.transaction():
            if must_create and self.conn.execute("SELECT 1 FROM sessions WHERE key = ?", (key,)).fetchone():
                return False
            self.conn.execute(
                "INSERT OR REPLACE INTO sessions (key, data, expires) VALUES (?,?,?)", (key, data, expires)
            )
        return True

    def session_delete(self, key: str) -> None:
        self.conn.execute("DELETE FROM sessions WHERE key = ?", (key,))

    def sessions_expire(self, now: float) -> None:
        self.conn.execute("DELETE FROM sessions WHERE expires <= ?", (now,))
