"""Identical copies of one file in two places (收件箱 and an activity, two activities): found by content
(sha256), reported by `check` as `record.duplicate`, and removed one at a time by `zhikong dedupe PATH`.

A removal never loses content: it is refused unless another copy with the same checksum is still in the
folder, and the preserved copy under `.zhikong/` stays. It is audited (`dedupe`, with the copy kept)
before the file goes, so the disappearance that follows is not reported as a lost record.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from zhikong.archive import audit
from zhikong.archive.catalogue import Catalogue, Record, RecordState
from zhikong.archive.preserve import ObjectStore, sha256_file
from zhikong.archive.settings import INBOX, Settings
from zhikong.errors import ConflictError, InputFileError, NotFound

if TYPE_CHECKING:
    from zhikong.archive.ingest import Reconciler

ACTION = "dedupe"


def _keep_first(rec: Record) -> tuple[bool, str]:
    """Which copy to keep: one filed in its place before one in 收件箱, then the earlier path (an activity
    folder's name starts with its date, so the earlier activity's copy). Not the one registered first: a
    scan registers a folder's files in the order the file system lists them, which is no choice of the
    user's."""
    in_inbox = INBOX in PurePosixPath(rec.path).parts
    return (in_inbox, rec.path)


def duplicate_groups(records: Iterable[Record]) -> list[list[Record]]:
    """Active electronic records of one center and year sharing one checksum, two or more to a group, the
    copy to keep first; a copy in 收件箱 (no year yet) joins the group of the filed copies.

    Two centers each keeping the same county-wide notice is no duplicate (each archive needs it), nor is
    one standard kept in each year's 质控标准/ (each year's box holds its own copy)."""
    by_sha: dict[tuple[str | None, str], list[Record]] = defaultdict(list)
    for rec in records:
        if rec.state == RecordState.ACTIVE and rec.kind == "electronic" and rec.sha256 and rec.size:
            by_sha[(rec.center, rec.sha256)].append(rec)
    groups: list[list[Record]] = []
    for same in by_sha.values():
        by_year: dict[int, list[Record]] = defaultdict(list)
        loose: list[Record] = []  # in 收件箱, no year yet
        for rec in same:
            if rec.year is None:
                loose.append(rec)
            else:
                by_year[rec.year].append(rec)
        years = [by_year[y] for y in sorted(by_year)]
        if years:
            years[0].extend(loose)
        else:
            years = [loose]
        groups += [sorted(g, key=_keep_first) for g in years if len(g) > 1]
    return sorted(groups, key=lambda g: g[0].path)


def removed_copies(cat: Catalogue) -> set[tuple[str, str]]:
    """(path, sha256) of every copy removed as a duplicate, from the audit log."""
    deleted = tuple(r.path for r in cat.records(state=RecordState.DELETED.value))  # by SQL, not every record
    if not deleted:
        return set()
    return {
        (e.path or "", str(e.detail.get("sha256", "")))
        for e in audit.entries(cat, paths=deleted)
        if e.action == ACTION
    }


@dataclass(frozen=True)
class Deduplicated:
    removed: str
    kept: str
    sha256: str


def remove_copy(settings: Settings, cat: Catalogue, record: Record, reconciler: Reconciler) -> Deduplicated:
    """Remove `record`'s file, an identical copy of another file that stays in the folder."""
    if record.state != RecordState.ACTIVE or record.kind != "electronic" or not record.sha256:
        raise InputFileError(f"{record.path} 不是现存的电子文件，无法作为重复副本删除。")
    target = settings.root / record.path
    if not target.is_file() or sha256_file(target) != record.sha256:
        raise ConflictError(
            f"{record.path} 在文件夹中已变动，与登记的内容不同，没有删除。",
            hint="先运行 zhikong scan 再检查。",
        )
    kept = None
    for other in sorted(
        (r for r in cat.records() if r.sha256 == record.sha256 and r.id != record.id), key=_keep_first
    ):
        if other.state != RecordState.ACTIVE or other.kind != "electronic":
            continue
        path = settings.root / other.path
        if path.is_file() and sha256_file(path) == record.sha256:
            kept = other
            break
    if kept is None:
        raise ConflictError(
            f"{record.path} 是这份内容仅存的一份，不能作为重复副本删除。",
            hint="zhikong check 列出的重复文件中，保留的那一份不能删除。",
        )
    if not ObjectStore(settings.system_dir).has(record.sha256):
        raise NotFound(
            f"{record.path} 的保存副本不见了，没有删除。", hint="运行 zhikong log verify 检查档案库。"
        )
    with cat.transaction():
        audit.append(
            cat, ACTION, center=record.center, path=record.path, sha256=record.sha256, kept=kept.path
        )
    target.unlink()
    reconciler.reconcile([target])
    return Deduplicated(record.path, kept.path, record.sha256)
