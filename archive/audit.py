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
from datetime import datetime, tzinfo
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


# Each action in words, for people (the log page, `zhikong log`); the stored names never change.
ACTION_LABELS: dict[str, str] = {
    "init": "建立档案库",
    "center.add": "登记质控中心",
    "add": "登记文件",
    "change": "文件新版本",
    "move": "文件移动",
    "delete": "文件删除",
    "reappear": "文件重新出现",
    "restore": "恢复版本",
    "dedupe": "删去重复副本",
    "classify": "人工归类",
    "record.edit": "修改著录信息",
    "record.upload": "网页上传",
    "paper.add": "登记纸质件",
    "paper.mark": "纸质件入盒",
    "paper.link": "关联扫描件",
    "paper.catalog": "编制归档目录",
    "draft.create": "起草公文",
    "draft.approve": "批准公文",
    "draft.reject": "退回公文",
    "draft.issue": "印发公文",
    "handover.seal": "封存",
    "handover.create": "生成移交包",
    "handover.import": "导入移交包",
    "handover.release": "解除封存",
    "user.add": "新建账户",
    "user.passwd": "修改密码",
    "user.disable": "停用账户",
    "user.lockout": "登录锁定",
    "token.create": "生成 API 令牌",
    "assess.score": "考核评分",
    "draft.upload": "上传修改稿",
    "draft.submit": "送审",
    "handover.verify": "核验移交包",
    "backup": "备份",
    "backup.restore": "从备份恢复",
}


def label(action: str) -> str:
    """The action in words, its stored code after it (登记文件（add）): people read the words, and the
    code is what `zhikong log --json`, the rule ids and the README speak of."""
    words = ACTION_LABELS.get(action)
    return f"{words}（{action}）" if words else action


def to_local(ts: str | None, zone: tzinfo | None = None) -> datetime | None:
    """A stored time (ISO 8601) in `zone` (the machine's local time when None); None if empty or unreadable.
    A time stored without a zone is taken as it is."""
    if not ts:
        return None
    try:
        when = datetime.fromisoformat(ts)
    except ValueError:
        return None
    return when.astimezone(zone) if when.tzinfo is not None else when


def local_time(ts: str | None) -> str:
    """A stored time (ISO 8601) as people write it, in the machine's local time: 2026年3月5日 14:08:09."""
    when = to_local(ts)
    if when is None:
        return ts or ""
    return f"{when.year}年{when.month}月{when.day}日 {when:%H:%M:%S}"


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


def entries(
    cat: Catalogue, *, center: str | None = None, limit: int | None = None, paths: tuple[str, ...] = ()
) -> list[AuditEntry]:
    rows = cat.audit_rows(center=center, paths=paths)
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


# -- the chain replayed against the catalogue ----------------------------------------------------------

# Actions whose `sha256` names content the catalogue must hold as a version.
_CONTENT_ACTIONS = ("add", "change", "move", "reappear", "delete", "restore")


def replay(cat: Catalogue) -> list[Problem]:
    """Compare the chain with the catalogue, both ways: every version, deletion, approval and paper item
    has its entry, and every entry its row.

    A chain that verifies by itself can still have been rewritten consistently (an entry removed and the
    rest re-hashed, the whole log emptied); the catalogue can be edited without touching the chain (a
    record and its file removed, a checksum changed). Neither passes this: the two must tell the same
    story. Entries carried in by a handover count as announcements of the records they brought.
    """
    live = entries(cat)
    carried = [_imported_entry(r) for r in cat.imported_audit_rows() if not r["redacted"]]
    announced: dict[str, set[str]] = {}
    for e in live + carried:
        sha = e.detail.get("sha256")
        if sha and e.action in _CONTENT_ACTIONS:
            announced.setdefault(e.action, set()).add(str(sha))
        for key in ("doc_number", "archival_code"):
            value = e.detail.get(key)
            if value and e.action in ("draft.approve", "paper.add"):
                announced.setdefault(f"{e.action}:{key}", set()).add(str(value))
    added = announced.get("add", set()) | announced.get("change", set())
    problems: list[Problem] = []
    versions = cat.version_facts()
    held = {sha for _rid, _v, sha, _kind in versions}
    for record_id, version, sha, _kind in versions:
        if sha not in added:
            problems.append(
                Problem(
                    "audit.replay",
                    f"目录记录 {record_id} 的第 {version} 版（{sha[:12]}…）在审计日志中没有登记",
                )
            )
    for row in cat.record_rows():
        if (
            row["state"] == "deleted"
            and row["sha256"]
            and row["sha256"] not in announced.get("delete", set())
        ):
            problems.append(Problem("audit.replay", f"已删除的记录 {row['path']} 在审计日志中没有删除记录"))
        code = row["archival_code"]
        if row["kind"] == "paper" and code and code not in announced.get("paper.add:archival_code", set()):
            problems.append(Problem("audit.replay", f"纸质件 {code} 在审计日志中没有登记记录"))
    approved = announced.get("draft.approve:doc_number", set())
    numbered = {str(d["doc_number"]) for d in cat.drafts() if d["doc_number"]}
    for missing in sorted(numbered - approved):
        problems.append(Problem("audit.replay", f"发文字号 {missing} 的公文在审计日志中没有批准记录"))
    for e in live:
        sha = e.detail.get("sha256")
        if e.action in _CONTENT_ACTIONS and sha and str(sha) not in held:
            problems.append(
                Problem("audit.replay", f"日志第 {e.seq} 条（{e.action} {e.path}）所记的文件在目录中不存在")
            )
        number = e.detail.get("doc_number")
        if e.action == "draft.approve" and number and str(number) not in numbered:
            problems.append(Problem("audit.replay", f"日志第 {e.seq} 条批准的 {number} 在目录中没有对应公文"))
    return problems


def head(cat: Catalogue) -> tuple[int, str] | None:
    """The chain's head (last sequence number and hash): what the bureau writes down as an anchor."""
    return cat.audit_last()


def check_anchor(cat: Catalogue, anchor: str) -> list[Problem]:
    """Does the chain still extend the head written down earlier as `SEQ:HASH`?"""
    seq_text, _, digest = anchor.strip().partition(":")
    if not seq_text.isdigit() or len(digest) != 64:
        return [Problem("audit.anchor", f"锚点应写成“序号:哈希”（64 位十六进制），例如 12:3fa0…：{anchor}")]
    seq = int(seq_text)
    for e in entries(cat):
        if e.seq == seq:
            if e.hash != digest.lower():
                return [Problem("audit.anchor", f"第 {seq} 条记录与锚点不符：日志在锚点之前或当处被改写")]
            return []
    return [Problem("audit.anchor", f"日志中没有锚点所记的第 {seq} 条记录：日志被截断或清空")]


def _imported_entry(r: dict[str, Any]) -> AuditEntry:
    try:
        detail = json.loads(r["detail"] or "{}")
    except (TypeError, ValueError):
        detail = {}
    return AuditEntry(
        r["seq"],
        r["ts"] or "",
        r["action"] or "",
        r["center"],
        r["path"],
        detail,
        r["prev"],
        r["hash"],
        r["actor"],
    )
