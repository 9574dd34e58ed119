"""Handover (H39): every value a bundle carries is checked before any other check or an import uses it.

A bundle comes from another institution and may have been made by hand: its machine-readable files
(data/移交资料/zhikong/*.json) are untrusted input like its file names. `check_meta` checks them all —
types, names, references between them, duplicates — so that the later checks can index rows without a
traceback, and an import can write names into the receiving archive without leaving it:

- the center's name becomes a folder of the receiving archive and a `[[center]]` of its zhikong.toml: one
  plain folder name, not a system folder (.zhikong, 送审稿, 纸质件, 收件箱), nothing Windows refuses;
- every path (records, versions, drafts) is relative, stays inside the bag and, where an import writes
  it, inside the center's folder;
- every row an import inserts has the columns the catalogue's constraints need, of the right type, and
  no two rows collide where the catalogue has a unique index (record ids, active paths, 档号, 件号,
  versions, 发文字号): such a collision would otherwise surface half-way through an import.

Problems are collected, at most `_PER_FILE` a file (a hostile bundle may carry millions of bad rows).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from zhikong.archive import bag
from zhikong.archive.handover_model import (
    BAG_PATH,
    MACHINE,
    BundleMeta,
    bag_path,
    center_prefix,
    paper_prefix,
)
from zhikong.archive.paper import PAPER_ROOT
from zhikong.archive.settings import DRAFTS_FOLDER, INBOX, REQUEST_HEADS, SETTINGS_FILE, SYSTEM_DIR
from zhikong.errors import Problem
from zhikong.generator.docnumber import check_prefix

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_HEAD = re.compile(r"^[1-9][0-9]*:[0-9a-f]{64}$")
_CODE = re.compile(r"^[A-Z]{1,6}$")
_PER_FILE = 20
_NAME_MAX = 100  # a center's or host's name: a folder name and a line of the 交接书
RESERVED_FOLDERS = (SYSTEM_DIR, DRAFTS_FOLDER, PAPER_ROOT, INBOX, SETTINGS_FILE)
RECORD_STATES = ("active", "deleted")
RECORD_KINDS = ("electronic", "paper")
RETENTIONS = ("Y", "D30", "D10")
DRAFT_STATES = ("draft", "submitted", "approved", "rejected", "issued")

Check = Callable[[Any], bool]


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _opt(check: Check) -> Check:
    return lambda v: v is None or check(v)


def _str(v: Any) -> bool:
    return isinstance(v, str)


def _text(v: Any) -> bool:
    """A single-line text: no control characters (it goes into zhikong.toml, bag-info.txt, a .docx)."""
    return isinstance(v, str) and bool(v.strip()) and len(v) <= 200 and not any(ord(c) < 32 for c in v)


def _sha(v: Any) -> bool:
    return isinstance(v, str) and bool(_SHA256.match(v))


def _one_of(*values: str) -> Check:
    return lambda v: v in values


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, str | int | float | bool)


_TYPE_WORDS: dict[Check, str] = {
    _int: "整数",
    _str: "文字",
    _text: "单行文字",
    _sha: "64 位小写十六进制校验和",
}


def center_name_reason(name: Any) -> str | None:
    """Why `name` cannot be a center of the receiving archive (a folder under its root), or None."""
    if not isinstance(name, str) or not name.strip():
        return "中心名称为空"
    if name != name.strip() or len(name) > _NAME_MAX:
        return "中心名称首尾有空格或过长"
    if name.startswith(".") or name in RESERVED_FOLDERS:
        return f"“{name}”是系统保留的名称，不能作中心文件夹"
    return bag.name_reason(name)


class _Collector:
    """Problems of one machine file, at most `_PER_FILE` of them, then a count of the rest."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.more = 0

    def add(self, message: str, code: str = "integrity.metadata") -> None:
        if len(self.problems) < _PER_FILE:
            self.problems.append(Problem(code, message, path=f"data/{MACHINE}/{self.file}"))
        else:
            self.more += 1

    def fields(self, n: int, row: dict[str, Any], spec: Mapping[str, Check], *, scalars: bool = True) -> bool:
        """Does `row` (the n-th of the file) have each field of `spec` passing its check?"""
        ok = True
        for key, check in spec.items():
            if key not in row:
                self.add(f"第 {n} 条缺少字段 {key}")
                ok = False
            elif not check(row[key]):
                word = _TYPE_WORDS.get(check, "允许的值")
                self.add(f"第 {n} 条字段 {key} 的值不对（应为{word}）：{str(row[key])[:60]!r}")
                ok = False
        if scalars:
            for key, value in row.items():
                if not _scalar(value):
                    self.add(f"第 {n} 条字段 {key} 不是单个值")
                    ok = False
        return ok

    def duplicates(self, what: str, keys: Iterable[Any], code: str = "integrity.duplicate") -> None:
        for key, count in Counter(keys).items():
            if count > 1:
                self.add(f"{what}重复 {count} 次：{key}", code)

    def done(self) -> list[Problem]:
        if self.more:
            self.problems.append(
                Problem(
                    "integrity.metadata", f"另有 {self.more} 处问题未列出", path=f"data/{MACHINE}/{self.file}"
                )
            )
        return self.problems


def check_meta(meta: BundleMeta) -> list[Problem]:
    """Every problem with the values of the bundle's machine-readable files (see the module docstring)."""
    problems = _check_handover(meta)
    if problems:
        return problems  # the center's name is what every path below is checked against
    center = str(meta.handover["center"])
    problems += _check_settings(meta.settings, meta.handover)
    ids = {r["id"] for r in meta.records if _int(r.get("id"))}
    problems += _check_records(meta.records, center)
    problems += _check_versions(meta.versions, ids)
    problems += _check_texts(meta.texts, ids)
    problems += _check_boxes(meta.boxes, center)
    problems += _check_drafts(meta.drafts, center, ids)
    problems += _check_doc_numbers(meta.doc_numbers)
    problems += _check_audit_rows(meta.audit)
    return problems


def _check_handover(meta: BundleMeta) -> list[Problem]:
    c = _Collector("handover.json")
    h = meta.handover
    reason = center_name_reason(h.get("center"))
    if reason:
        c.add(f"中心名称不能用作文件夹：{reason}（{str(h.get('center'))[:60]!r}）", "security.name")
    c.fields(
        1,
        h,
        {
            "code": lambda v: isinstance(v, str) and bool(_CODE.match(v)),
            "from_host": _text,
            "to_host": _text,
            "bureau": _text,
            "seal_id": _int,
            "sealed_at": _text,
            "records": _int,
            "record_files": _int,
            "record_bytes": _int,
            "audit_head": _opt(lambda v: isinstance(v, str) and bool(_HEAD.match(v))),
        },
        scalars=False,
    )
    return c.done()


def _check_settings(s: dict[str, Any], h: dict[str, Any]) -> list[Problem]:
    c = _Collector("settings.json")
    c.fields(1, s, {"county": _text, "bureau": _text, "doc_prefix": _text, "fonds": _text}, scalars=False)
    sc = s.get("center")
    if not isinstance(sc, dict):
        c.add("缺少中心设置 center")
        return c.done()
    if sc.get("name") != h.get("center") or sc.get("code") != h.get("code"):
        c.add("中心名称或代码与 handover.json 不一致", "authenticity.metadata")
    roster = sc.get("roster", {})
    if not isinstance(roster, dict):
        c.add("成员名单 roster 格式不对")
        return c.done()
    for key in ("director", "secretary", "term_start"):
        if not isinstance(roster.get(key, ""), str):
            c.add(f"成员名单 {key} 应为文字")
    for key in ("deputies", "members"):
        value = roster.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            c.add(f"成员名单 {key} 应为文字列表")
    if not _int(roster.get("consecutive_terms", 1)):
        c.add("成员名单 consecutive_terms 应为整数")
    for key in ("full_name", "doc_prefix", "request_head"):
        if not isinstance(sc.get(key, ""), str):
            c.add(f"中心设置 {key} 应为文字")
    if sc.get("request_head", "center") not in REQUEST_HEADS:
        c.add(f"中心设置 request_head 应为 {' 或 '.join(REQUEST_HEADS)}")
    if isinstance(prefix := sc.get("doc_prefix", ""), str) and prefix and (wrong := check_prefix(prefix)):
        c.add(f"中心设置 doc_prefix 不对：{'；'.join(p.message for p in wrong)}")
    return c.done()


def _path_problem(path: Any, *, inside: str | None) -> str | None:
    if not isinstance(path, str):
        return "路径不是文字"
    reason = bag.unsafe_reason(path)
    if reason:
        return reason
    if inside is not None and not path.startswith(inside):
        return f"不在 {inside} 之内"
    return None


def _check_records(records: list[dict[str, Any]], center: str) -> list[Problem]:
    c = _Collector("records.json")
    prefix = center_prefix(center)
    spec = {
        "id": _int,
        "path": _str,
        "state": _one_of(*RECORD_STATES),
        "sha256": _opt(_sha),
        "size": _opt(_int),
        "mtime_ns": _opt(_int),
        "version": _int,
        "category": _str,
        "center": _opt(lambda v: v == center),
        "year": _opt(_int),
        "retention": _opt(_one_of(*RETENTIONS)),
        "item_no": _opt(_int),
        "archival_code": _opt(_text),
        "paper_box": _opt(_int),
        "scan_of": _opt(_int),
    }
    good: list[dict[str, Any]] = []
    for n, r in enumerate(records, 1):
        if not c.fields(n, r, spec):
            continue
        kind = r.get("kind", "electronic")
        if kind not in RECORD_KINDS:
            c.add(f"第 {n} 条 kind 的值不对：{str(kind)[:20]!r}")
            continue
        problem = _path_problem(r["path"], inside=prefix if kind == "electronic" else paper_prefix(center))
        if problem:
            c.add(f"第 {n} 条的路径不能使用：{problem}（{r['path'][:80]}）", "security.path")
            continue
        if r.get(BAG_PATH) is not None:
            problem = _path_problem(r[BAG_PATH], inside=prefix)
            if problem:
                c.add(f"第 {n} 条的包内路径不能使用：{problem}（{str(r[BAG_PATH])[:80]}）", "security.path")
                continue
        if kind == "electronic" and r["state"] == "active" and (r["sha256"] is None or r["size"] is None):
            c.add(f"第 {n} 条（{r['path'][:80]}）是电子文件却没有 sha256 或大小")
            continue
        good.append(r)
    c.duplicates("记录编号 id ", (r["id"] for r in records if _int(r.get("id"))))
    c.duplicates("现存文件路径 ", (r["path"] for r in good if r["state"] == "active"))
    # Names that fold alike (Test.pdf, test.pdf) are two records, but never two files in the bag.
    c.duplicates(
        "包内文件名（不计大小写和 Unicode 形式）",
        (
            bag.fold(bag_path(r))
            for r in good
            if r["state"] == "active" and r.get("kind", "electronic") == "electronic"
        ),
        "security.duplicate",
    )
    c.duplicates("档号 ", (r["archival_code"] for r in good if r["archival_code"]))
    c.duplicates(
        "件号（年度、保管期限、件号）",
        ((r["year"], r["retention"], r["item_no"]) for r in good if r["item_no"] is not None),
    )
    ids = {r["id"] for r in records if _int(r.get("id"))}
    for r in good:
        if r["scan_of"] is not None and r["scan_of"] not in ids:
            c.add(f"记录 {r['id']} 关联的纸质件 {r['scan_of']} 不在移交包中", "integrity.reference")
    return c.done()


def _check_versions(versions: list[dict[str, Any]], ids: set[int]) -> list[Problem]:
    c = _Collector("versions.json")
    spec = {"record_id": _int, "version": _int, "sha256": _sha, "size": _int, "mtime_ns": _int, "path": _str}
    keys = []
    for n, v in enumerate(versions, 1):
        if not c.fields(n, v, spec):
            continue
        if v["record_id"] not in ids:
            c.add(f"第 {n} 条属于不存在的记录 {v['record_id']}", "integrity.reference")
        problem = _path_problem(v["path"], inside=None)
        if problem:
            c.add(f"第 {n} 条的路径不能使用：{problem}（{v['path'][:80]}）", "security.path")
        keys.append((v["record_id"], v["version"]))
    c.duplicates("版本（记录、版本号）", keys)
    return c.done()


def _check_texts(texts: list[dict[str, Any]], ids: set[int]) -> list[Problem]:
    c = _Collector("texts.jsonl")
    keys = []
    for n, t in enumerate(texts, 1):
        if not c.fields(n, t, {"record_id": _int, "sha256": _sha, "text": _str}):
            continue
        if t["record_id"] not in ids:
            c.add(f"第 {n} 条属于不存在的记录 {t['record_id']}", "integrity.reference")
        keys.append(t["record_id"])
    c.duplicates("文字记录 ", keys)
    return c.done()


def _check_boxes(boxes: list[dict[str, Any]], center: str) -> list[Problem]:
    c = _Collector("boxes.json")
    spec = {
        "center": lambda v: v == center,
        "year": _int,
        "retention": _one_of(*RETENTIONS),
        "box": lambda v: _int(v) and v >= 1,
    }
    keys = [(b["year"], b["retention"], b["box"]) for n, b in enumerate(boxes, 1) if c.fields(n, b, spec)]
    c.duplicates("档案盒（年度、保管期限、盒号）", keys)
    return c.done()


def _check_drafts(drafts: list[dict[str, Any]], center: str, ids: set[int]) -> list[Problem]:
    c = _Collector("drafts.json")
    spec = {
        "id": _int,
        "center": lambda v: v == center,
        "kind": _str,
        "title": _str,
        "state": _one_of(*DRAFT_STATES),
        "spec": _str,
        "created_at": _str,
        "doc_number": _opt(_text),
        "year": _opt(_int),
        "number": _opt(_int),
        "record_id": _opt(_int),
        "draft_path": _opt(_str),
        "final_path": _opt(_str),
    }
    for n, d in enumerate(drafts, 1):
        if not c.fields(n, d, spec):
            continue
        if d["record_id"] is not None and d["record_id"] not in ids:
            c.add(
                f"第 {n} 条（{d['title'][:40]}）的正式文件记录 {d['record_id']} 不在移交包中",
                "integrity.reference",
            )
        for key, inside in (
            ("final_path", center_prefix(center)),
            ("draft_path", f"{DRAFTS_FOLDER}/{center}/"),
        ):
            problem = None if d[key] is None else _path_problem(d[key], inside=inside)
            if problem:
                c.add(f"第 {n} 条的 {key} 不能使用：{problem}（{d[key][:80]}）", "security.path")
    c.duplicates("草稿编号 id ", (d["id"] for d in drafts if _int(d.get("id"))))
    c.duplicates("发文字号 ", (d["doc_number"] for d in drafts if isinstance(d.get("doc_number"), str)))
    return c.done()


def _check_doc_numbers(rows: list[dict[str, Any]]) -> list[Problem]:
    c = _Collector("doc_numbers.json")
    spec = {"prefix": _text, "year": _int, "last": _int}
    keys = [(r["prefix"], r["year"]) for n, r in enumerate(rows, 1) if c.fields(n, r, spec)]
    c.duplicates("发文字号计数（代字、年度）", keys)
    return c.done()


def _check_audit_rows(rows: list[dict[str, Any]]) -> list[Problem]:
    c = _Collector("audit.jsonl")
    base = {"seq": lambda v: _int(v) and v >= 1, "prev": _sha, "hash": _sha}
    full = {**base, "ts": _str, "action": _str, "center": _opt(_str), "path": _opt(_str), "detail": _str}
    for n, r in enumerate(rows, 1):
        redacted = r.get("redacted", False)
        if not isinstance(redacted, bool):
            c.add(f"第 {n} 条 redacted 应为 true 或 false")
            continue
        if redacted and set(r) - {"seq", "prev", "hash", "redacted"}:
            c.add(f"第 {n} 条标为仅保留哈希，却带有内容")
            continue
        if c.fields(n, r, base if redacted else full) and not _opt(_str)(r.get("actor")):
            c.add(f"第 {n} 条字段 actor 应为文字")  # absent in bundles from before actors were recorded
    return c.done()
