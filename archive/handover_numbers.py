"""Handover (H39): 发文字号 are the bureau's to give (J15(1), H29). A bundle's numbers are claims.

A bundle carries the center's drafts, their approvals and the old archive's counters (doc_numbers.json).
The receiver takes none of them on trust:

- every approved draft must be *proven*: its number well-formed and matching its year and serial, and
  the carried audit chain holding the approval (a visible ``draft.approve`` entry of this center naming
  the draft, the number and the final's path) — or, for a draft the old host itself received by an earlier
  handover, a visible ``handover.import`` of this center after its decision. A "redacted" entry proves
  nothing: redaction is for other centers' entries, never for the approval of one of this center's;
- every visible approval of this center must have its draft (an approval whose document was removed
  from the bundle is a gap);
- an import raises the receiver's counter for (代字, year) to the highest *proven* number, never to the
  counter a bundle states: a counter beyond it (numbers the old archive gave to other centers) is reported
  and not taken, a counter below it is an inconsistency, and a number beyond `MAX_NUMBER` is refused;
- against the receiver: a carried number the receiver already gave to a different document is a clash.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from zhikong.archive.catalogue import Catalogue
from zhikong.archive.handover_model import BundleMeta, NumberClaim
from zhikong.errors import Problem

# A county bureau numbers a few hundred documents a year in one sequence; four digits is the form its
# document system prints. A larger serial is refused rather than taken (it would become the receiver's
# counter, and every later approval's number after it).
MAX_NUMBER = 9999
_NUMBER = re.compile(r"^(?P<prefix>[^\s\d〔〕]+)〔(?P<year>\d{4})〕(?P<number>[1-9]\d*)号$")
_NUMBERED_STATES = ("approved", "issued")


def _detail(entry: dict[str, Any]) -> dict[str, Any]:
    try:
        detail = json.loads(entry["detail"])
    except (TypeError, ValueError):
        return {}
    return detail if isinstance(detail, dict) else {}


def check(meta: BundleMeta) -> tuple[list[NumberClaim], list[Problem], list[Problem]]:
    """The sequences the bundle speaks of, with the problems and warnings about its numbers."""
    center = str(meta.handover["center"])
    visible = [e for e in meta.audit if not e.get("redacted") and e.get("center") == center]
    approvals = {
        (d.get("draft"), d.get("doc_number")): e
        for e in visible
        if e["action"] == "draft.approve"
        for d in [_detail(e)]
    }
    imported_at = [str(e["ts"]) for e in visible if e["action"] == "handover.import"]
    problems: list[Problem] = []
    proven: dict[tuple[str, int], int] = {}
    matched: set[tuple[Any, Any]] = set()
    for d in meta.drafts:
        number = d["doc_number"]
        if number is None:
            if d["state"] in _NUMBERED_STATES:
                problems.append(_problem(f"已批准的公文《{d['title'][:40]}》没有发文字号"))
            continue
        m = _NUMBER.match(number)
        if m is None or int(m["year"]) != d["year"] or int(m["number"]) != d["number"]:
            problems.append(_problem(f"发文字号 {number} 的格式或年度、序号与草稿记载不符"))
            continue
        if d["state"] not in _NUMBERED_STATES:
            problems.append(_problem(f"未批准的草稿带有发文字号 {number}"))
            continue
        if d["number"] > MAX_NUMBER:
            problems.append(_problem(f"发文字号 {number} 的序号超过 {MAX_NUMBER}，不予接收"))
            continue
        entry = approvals.get((d["id"], number))
        decided = d.get("decided_at")
        carried_in = isinstance(decided, str) and any(decided < ts for ts in imported_at)
        if entry is not None and entry.get("path") == d["final_path"]:
            matched.add((d["id"], number))
        elif not carried_in:
            problems.append(
                _problem(
                    f"已批准的公文 {number}《{d['title'][:40]}》在审计日志中没有相符的批准记录"
                    "（批准记录缺失、被隐去或与公文不符），发文字号不能证明"
                )
            )
            continue
        key = (m["prefix"], d["year"])
        proven[key] = max(proven.get(key, 0), d["number"])
    for key, entry in approvals.items():
        if key not in matched:
            problems.append(
                _problem(f"审计日志第 {entry['seq']} 条记载批准了 {key[1]}，移交数据中没有相符的公文")
            )
    claims, more, warnings = _counters(meta.doc_numbers, proven)
    return claims, problems + more, warnings


def _counters(
    rows: Iterable[dict[str, Any]], proven: dict[tuple[str, int], int]
) -> tuple[list[NumberClaim], list[Problem], list[Problem]]:
    claims: list[NumberClaim] = []
    problems: list[Problem] = []
    warnings: list[Problem] = []
    stated = {(r["prefix"], r["year"]): r["last"] for r in rows}
    for (prefix, year), last in sorted(stated.items()):
        got = proven.get((prefix, year), 0)
        label = f"{prefix}〔{year}〕"
        if last > MAX_NUMBER or last < 0:
            problems.append(_problem(f"{label} 的发文字号计数为 {last}，超出 0–{MAX_NUMBER}，不予接收"))
            continue
        if last < got:
            problems.append(_problem(f"{label} 的发文字号计数 {last} 小于已批准公文的序号 {got}，前后矛盾"))
            continue
        if last > got:
            warnings.append(
                Problem(
                    "authenticity.doc_number",
                    f"{label} 的计数为 {last}，本包的已批准公文只证明到 {got} 号："
                    f"导入只把本库的计数提高到 {got}（其余序号是原档案库给其他中心的，由卫健局核定）",
                )
            )
        claims.append(NumberClaim(prefix, year, got, last))
    for (prefix, year), got in sorted(proven.items()):
        if (prefix, year) not in stated:
            problems.append(_problem(f"{prefix}〔{year}〕有已批准的公文（到 {got} 号），却没有发文字号计数"))
    return claims, problems, warnings


def _problem(message: str) -> Problem:
    return Problem("authenticity.doc_number", message, path="data/移交资料/zhikong/drafts.json")


def receiver_conflicts(cat: Catalogue, meta: BundleMeta) -> list[Problem]:
    """Carried 发文字号 the receiving archive already gave to a different document."""
    problems: list[Problem] = []
    for d in meta.drafts:
        if d["doc_number"] is None:
            continue
        held = cat.draft_by_doc_number(d["doc_number"])
        if held is not None and (held["center"], held["title"]) != (d["center"], d["title"]):
            problems.append(
                Problem(
                    "conflict.doc_number",
                    f"发文字号 {d['doc_number']} 在本库已用于《{held['title']}》（{held['center']}），"
                    f"移交包里是《{d['title']}》",
                )
            )
    return problems


def already_held(cat: Catalogue, draft: dict[str, Any]) -> bool:
    """Is this carried approved document already in the receiving archive (same number, center, title)?"""
    if draft["doc_number"] is None:
        return False
    held = cat.draft_by_doc_number(draft["doc_number"])
    return held is not None and (held["center"], held["title"]) == (draft["center"], draft["title"])
