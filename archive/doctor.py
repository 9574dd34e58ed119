"""`zhikong doctor`: the catalogue, the preserved copies, the search index, the folder and the audit chain
checked against each other, and (with `repair`) brought back in step.

Each is rebuildable from the others (DOMAIN §3), so after a crash, a full disk or a restore from backup
this is the one place that says whether they agree: every version has its copy and no copy is left that
nothing references (a batch that failed on a full disk), every record is in the index as the catalogue has
it and the index holds nothing else, every active record's file is in the folder, and the chain verifies
and replays against the catalogue.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from zhikong.archive import audit
from zhikong.archive.catalogue import Catalogue, RecordState
from zhikong.archive.ingest import Reconciler
from zhikong.archive.preserve import ObjectStore
from zhikong.archive.settings import Settings
from zhikong.errors import Problem

# A temporary copy older than this belongs to no running process: nothing copies a file for an hour.
STALE_TEMPORARY_S = 3600.0


@dataclass(frozen=True)
class DoctorReport:
    problems: tuple[Problem, ...]  # what is (still) wrong
    repaired: tuple[str, ...]  # what `repair` put right
    freed_bytes: int

    def to_json(self) -> dict[str, object]:
        return {
            "problems": [vars(p) for p in self.problems],
            "repaired": list(self.repaired),
            "freed_bytes": self.freed_bytes,
        }


def examine(
    settings: Settings,
    cat: Catalogue,
    reconciler: Reconciler,
    index_documents: Callable[[], dict[int, tuple[str, str]]],
    *,
    repair: bool,
) -> DoctorReport:
    problems: list[Problem] = []
    repaired: list[str] = []
    freed = 0
    store = ObjectStore(settings.system_dir)

    # copies: every version has one; none is left that nothing references
    versions = cat.version_facts()
    referenced = {sha for _rid, _v, sha, _kind in versions} | _replaced(cat)
    held = store.hashes()
    for record_id, version, sha, _kind in versions:
        if sha not in held:
            problems.append(
                Problem(
                    "doctor.copy_missing", f"记录 {record_id} 第 {version} 版的保存副本缺失（{sha[:12]}…）"
                )
            )
    orphans = sorted(held - referenced)
    if orphans and repair:
        with cat.transaction():  # the write lock: no ingest can start referencing one of them meanwhile
            still = held - ({sha for _r, _v, sha, _k in cat.version_facts()} | _replaced(cat))
            for sha in orphans:
                if sha in still:
                    freed += store.remove(sha)
        repaired.append(f"删除了 {len(orphans)} 个没有记录引用的副本（多为磁盘满时中断的批次留下的）")
    elif orphans:
        problems.append(
            Problem(
                "doctor.copy_orphan",
                f"{len(orphans)} 个保存副本没有记录引用（zhikong doctor --repair 可清理）",
            )
        )
    stale = store.stale_temporaries(STALE_TEMPORARY_S)
    if stale and repair:
        for path in stale:
            freed += path.stat().st_size
            path.unlink(missing_ok=True)
        repaired.append(f"删除了 {len(stale)} 个中断时留下的临时文件")
    elif stale:
        problems.append(
            Problem("doctor.temporary", f"{len(stale)} 个中断时留下的临时文件（--repair 可清理）")
        )

    # the index: every electronic record as the catalogue has it, and nothing else
    documents = index_documents()
    records = {r.id: r for r in cat.records() if r.kind == "electronic"}
    differing = sorted(rid for rid, r in records.items() if documents.get(rid) != (r.path, r.state.value))
    ghosts = sorted(set(documents) - set(records))
    if (differing or ghosts) and repair:
        reconciler.index_records(differing)
        if ghosts and reconciler.sink is not None:
            reconciler.sink.delete(ghosts)
        repaired.append(f"检索索引：补上或更正 {len(differing)} 条，删除 {len(ghosts)} 条目录中没有的记录")
    else:
        problems += [
            Problem("doctor.index", f"检索索引与目录不一致：{records[rid].path}", path=records[rid].path)
            for rid in differing
        ]
        if ghosts:
            problems.append(Problem("doctor.index", f"检索索引中有 {len(ghosts)} 条目录中没有的记录"))

    # the folder: every active record's file is there (a missing one is a deletion a scan has not seen)
    for r in records.values():
        if r.state == RecordState.ACTIVE and not os.path.lexists(
            settings.root / (r.raw_path.decode("utf-8", "surrogateescape") if r.raw_path else r.path)
        ):
            problems.append(
                Problem(
                    "doctor.folder", "文件已不在文件夹中，尚未登记为删除（运行 zhikong scan）", path=r.path
                )
            )

    # the chain, and the chain against the catalogue
    problems += audit.verify(cat) + audit.replay(cat)
    return DoctorReport(tuple(problems), tuple(repaired), freed)


def _replaced(cat: Catalogue) -> set[str]:
    """Content kept on purpose though no version references it: what a restore replaced (its audit entry
    names it) and the 送审稿 files drafts submitted and approvals were given to (archive.draftfile)."""
    found = cat.draft_hashes()
    for e in audit.entries(cat):
        sha = e.detail.get("replaced_sha256")
        if e.action == "restore" and sha:
            found.add(str(sha))
    return found
