"""The tamper-evident audit log (J25(2): falsified records revoke a center).

Entries live in the catalogue's `audit` table, written in the same transaction as the change they
describe. Each entry's hash covers its own fields and the previous entry's hash, and the head (last
sequence number and hash) is kept in `meta`, so an edited entry, a deleted entry in the middle and a
cut-off tail are all detected and named by `verify`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from zhikong.archive.catalogue import Catalogue, now_iso
from zhikong.errors import Problem

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    ts: str
    action: str
    center: str | None
    path: str | None
    detail: dict[str, Any]
    prev: str
    hash: str


def _digest(
    seq: int, ts: str, action: str, center: str | None, path: str | None, detail: str, prev: str
) -> str:
    payload = json.dumps(
        [seq, ts, action, center, path, detail, prev], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append(
    cat: Catalogue, action: str, *, center: str | None = None, path: str | None = None, **detail: Any
) -> AuditEntry:
    """Add one entry; call inside the transaction of the change it records."""
    with cat.transaction():
        row = cat.conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
        ts = now_iso()
        body = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
        digest = _digest(seq, ts, action, center, path, body, prev)
        cat.conn.execute(
            "INSERT INTO audit (seq, ts, action, center, path, detail, prev, hash) VALUES (?,?,?,?,?,?,?,?)",
            (seq, ts, action, center, path, body, prev, digest),
        )
        cat.set_meta("audit_head", f"{seq}:{digest}")
    return AuditEntry(seq, ts, action, center, path, detail, prev, digest)


def entries(cat: Catalogue, *, center: str | None = None, limit: int | None = None) -> list[AuditEntry]:
    sql = "SELECT * FROM audit" + (" WHERE center = ?" if center else "") + " ORDER BY seq"
    rows = cat.conn.execute(sql, (center,) if center else ()).fetchall()
    if limit is not None:
        rows = rows[-limit:]
    return [_entry(r) for r in rows]


def _entry(r: Any) -> AuditEntry:
    try:
        detail = json.loads(r["detail"])
    except (TypeError, ValueError):
        detail = {"_raw": r["detail"]}
    return AuditEntry(r["seq"], r["ts"], r["action"], r["center"], r["path"], detail, r["prev"], r["hash"])


def verify(cat: Catalogue) -> list[Problem]:
    """Every problem in the chain, in order; an empty list means the log is intact."""
    rows = cat.conn.execute("SELECT * FROM audit ORDER BY seq").fetchall()
    return verify_rows(
        (
            (r["seq"], r["ts"], r["action"], r["center"], r["path"], r["detail"], r["prev"], r["hash"])
            for r in rows
        ),
        head=cat.get_meta("audit_head"),
    )


def verify_rows(
    rows: Iterable[tuple[int, str, str, str | None, str | None, str, str, str]], *, head: str | None
) -> list[Problem]:
    problems: list[Problem] = []
    expected_seq, prev_hash = 1, GENESIS
    last: tuple[int, str] | None = None
    for seq, ts, action, center, path, detail, prev, digest in rows:
        if seq != expected_seq:
            problems.append(Problem("audit.gap", f"第 {expected_seq}–{seq - 1} 条记录缺失（被删除）"))
        elif prev != prev_hash:
            problems.append(Problem("audit.link", f"第 {seq} 条记录与前一条不衔接（前一条被改动或删除）"))
        if _digest(seq, ts, action, center, path, detail, prev) != digest:
            problems.append(Problem("audit.altered", f"第 {seq} 条记录（{action}，{ts}）的内容被改动"))
        expected_seq, prev_hash = seq + 1, digest
        last = (seq, digest)
    if head is not None:
        head_seq, _, head_hash = head.partition(":")
        if last is None or last[0] < int(head_seq):
            problems.append(
                Problem(
                    "audit.truncated", f"日志末尾被截断：应有 {head_seq} 条，现存 {last[0] if last else 0} 条"
                )
            )
        elif last[0] == int(head_seq) and last[1] != head_hash:
            problems.append(Problem("audit.head", "最后一条记录与登记的链头不符"))
    return problems
