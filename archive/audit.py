"""The tamper-evident audit log (J25(2): falsified records revoke a center).

Entries live in the catalogue's `audit` table, written in the same transaction as the change they
describe. Each entry's hash covers its own fields and the previous entry's hash, and the head (last
sequence number and hash) is kept in `meta`, so an edited entry, a deleted entry in the middle and a
cut-off tail are all detected and named by `verify`.

Every entry names its actor — who did it: the operating-system user or `--as NAME` on the command line,
the logged-in user on the web — taken from the catalogue connection the change was made through. Entries
written before actors were recorded (schema version 6 and older) have none; their hash covers the seven
old fields, so archives made then keep verifying, while a recorded actor is covered by the hash like
every other field (blanking it breaks the chain).
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
    actor: str | None = None


# The stored fields of one entry, in hash order: seq, ts, action, center, path, detail (JSON), prev, hash,
# actor (None for entries written before actors were recorded).
AuditRow = tuple[int, str, str, str | None, str | None, str, str, str, str | None]


def _digest(
    seq: int,
    ts: str,
    action: str,
    center: str | None,
    path: str | None,
    detail: str,
    prev: str,
    actor: str | None = None,
) -> str:
    fields: list[Any] = [seq, ts, action, center, path, detail, prev]
    if actor is not None:
        fields.append(actor)
    payload = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append(
    cat: Catalogue, action: str, *, center: str | None = None, path: str | None = None, **detail: Any
) -> AuditEntry:
    """Add one entry, by the catalogue connection's actor; call inside the transaction of the change."""
    actor = cat.actor
    with cat.transaction():
        last = cat.audit_last()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        ts = now_iso()
        body = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
        digest = _digest(seq, ts, action, center, path, body, prev, actor)
        cat.audit_insert((seq, ts, action, center, path, body, prev, digest, actor))
        cat.set_meta("audit_head", f"{seq}:{digest}")
    return AuditEntry(seq, ts, action, center, path, detail, prev, digest, actor)


def entries(cat: Catalogue, *, center: str | None = None, limit: int | None = None) -> list[AuditEntry]:
    rows = cat.audit_rows(center=center)
    if limit is not None:
        rows = rows[-limit:]
    return [_entry(r) for r in rows]


def _entry(r: AuditRow) -> AuditEntry:
    seq, ts, action, center, path, body, prev, digest, actor = r
    try:
        detail = json.loads(body)
    except (TypeError, ValueError):
        detail = {"_raw": body}
    return AuditEntry(seq, ts, action, center, path, detail, prev, digest, actor)


def verify(cat: Catalogue) -> list[Problem]:
    """Every problem in the chain, in order; an empty list means the log is intact."""
    return verify_rows(cat.audit_rows(), head=cat.get_meta("audit_head"))


def verify_rows(rows: Iterable[AuditRow], *, head: str | None) -> list[Problem]:
    problems: list[Problem] = []
    expected_seq, prev_hash = 1, GENESIS
    last: tuple[int, str] | None = None
    for seq, ts, action, center, path, detail, prev, digest, actor in rows:
        if seq != expected_seq:
            problems.append(Problem("audit.gap", f"第 {expected_seq}–{seq - 1} 条记录缺失（被删除）"))
        elif prev != prev_hash:
            problems.append(Problem("audit.link", f"第 {seq} 条记录与前一条不衔接（前一条被改动或删除）"))
        if _digest(seq, ts, action, center, path, detail, prev, actor) != digest:
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
