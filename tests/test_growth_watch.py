"""Costs that grow with the change, not the archive (issue 19): the watcher's reconcile of a few paths,
the unclassified total kept by the catalogue, the scan's one compiled ignore pattern, and the index
segments merged when the folder is quiet. Behaviour only: the timings are in bench/growth.py."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path, PurePosixPath

from conftest import Run, as_json

from zhikong.app import Archive, open_index
from zhikong.archive.convention import IGNORED_NAMES, is_ignored
from zhikong.archive.settings import load_settings
from zhikong.archive.watcher import WatchOptions

ACTOR = "刘敏"
MEETING = "护理质控中心/2026/2026-03-15 第一次工作会议"


def recount(root: Path) -> int:
    """The unclassified count the slow way: every record looked at."""
    db = sqlite3.connect(root / ".zhikong" / "catalogue.sqlite")
    try:
        row = db.execute(
            """SELECT COUNT(*) FROM records WHERE state = 'active'
               AND (center IS NULL OR year IS NULL OR category = '未归类')"""
        ).fetchone()
        return int(row[0])
    finally:
        db.close()


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_unclassified_total_follows_adds_moves_deletes_and_hand_classification(root: Path, run: Run) -> None:
    arc = Archive.open(root)

    def scanned(*paths: Path) -> None:
        report = arc.scan(ACTOR, list(paths)) if paths else arc.scan(ACTOR)
        assert report.unclassified == recount(root), report.to_json()

    loose = [write(root, f"杂项/散件{i}.txt", f"散件{i}") for i in range(3)]  # no center, no year
    scanned()
    assert recount(root) == 3
    filed = write(root, f"{MEETING}/会议纪要.txt", "第一次工作会议纪要")
    scanned(filed)  # as the watcher does: only the event's path
    odd = write(root, "护理质控中心/说明.txt", "说明")  # a center but no year: unclassified
    scanned(odd.parent)
    assert recount(root) == 4

    target = root / MEETING / "签到表.txt"
    loose[0].rename(target)  # unclassified → classified, seen as a move by its two paths
    scanned(loose[0], target)
    assert recount(root) == 3
    moved_back = root / "杂项/签到表.txt"
    target.rename(moved_back)  # and back: unclassified again
    scanned(target, moved_back)
    assert recount(root) == 4

    loose[1].unlink()
    scanned(loose[1])
    assert recount(root) == 3
    run("classify", str(loose[2]), "--center", "护理质控中心", "--year", "2026", "--category", "总结")
    scanned(loose[2])
    assert recount(root) == 2
    moved_back.unlink()
    filed.unlink()
    scanned()  # a whole pass sees both deletions
    assert recount(root) == 1
    assert as_json(run("scan", "--json"))["unclassified"] == 1


def test_an_event_compares_only_its_own_paths(root: Path) -> None:
    """A file gone from elsewhere in the folder is not taken as deleted by an event that does not name
    it (the next whole pass or its own event does), and a file moved into the event's folder keeps its
    record."""
    arc = Archive.open(root)
    kept = write(root, f"{MEETING}/课件.txt", "课件")
    other = write(root, "院感质控中心/2026/2026-04-01 院感督查/督查记录.txt", "督查记录")
    arc.scan(ACTOR)
    other.unlink()
    new = write(root, f"{MEETING}/通知.txt", "会议通知")
    report = arc.scan(ACTOR, [new])
    assert report.added == [f"{MEETING}/通知.txt"] and report.deleted == []
    report = arc.scan(ACTOR, [other])
    assert report.deleted == ["院感质控中心/2026/2026-04-01 院感督查/督查记录.txt"]

    folder = root / MEETING
    renamed = folder.with_name("2026-03-16 第一次工作会议")
    folder.rename(renamed)
    report = arc.scan(ACTOR, [folder, renamed])
    assert sorted(report.moved) == sorted(
        (f"{MEETING}/{p.name}", f"护理质控中心/2026/2026-03-16 第一次工作会议/{p.name}") for p in (kept, new)
    )
    assert report.added == [] and report.deleted == []


def test_an_event_naming_a_folder_and_files_in_it_sees_each_file_once(root: Path) -> None:
    """The watcher's batches may name a folder and files inside it: each file is compared once (a scan
    takes an unchanged file off its list as it goes, so a second look would take it for a new one)."""
    arc = Archive.open(root)
    old = write(root, f"{MEETING}/课件.txt", "课件")
    arc.scan(ACTOR)
    new = write(root, f"{MEETING}/通知.txt", "会议通知")
    report = arc.scan(ACTOR, [new, root / MEETING, old, new])
    assert report.added == [f"{MEETING}/通知.txt"] and report.unchanged == 1
    assert report.touched == 1
    report = arc.scan(ACTOR, [old, root / MEETING, root])
    assert report.unchanged == 2 and report.touched == 0
    assert {r.path for r in arc.records(ACTOR).records} == {f"{MEETING}/课件.txt", f"{MEETING}/通知.txt"}


LITTER = (
    "~$会议通知.docx",  # Word's lock file
    ".~lock.签到表.xlsx#",  # LibreOffice's
    "会议纪要.docx.tmp",
    "课件.pptx.part",  # partial downloads
    "总结.pdf.crdownload",
    "Thumbs.db",
    "desktop.ini",
    ".DS_Store",
    "._会议纪要.docx",  # macOS's resource forks
)


def test_scan_and_events_leave_out_every_ignored_name(root: Path, run: Run) -> None:
    assert all(is_ignored(PurePosixPath(name)) for name in LITTER)
    assert len(LITTER) == len(IGNORED_NAMES)  # one example for every pattern
    folder = root / MEETING
    for name in LITTER:
        write(root, f"{MEETING}/{name}", "litter")
    write(root, f"{MEETING}/__MACOSX/会议纪要.docx", "litter")
    write(root, "__MACOSX/护理质控中心/会议纪要.docx", "litter")
    write(root, "送审稿/护理质控中心/关于召开会议的通知.docx", "a draft is not yet a record")
    write(root, f"{MEETING}/会议纪要.tmp/纪要.txt", "a folder's name is not a file's: this one counts")
    write(root, f"{MEETING}/.隐藏说明.txt", "a hidden file that is no litter counts too")
    write(root, f"{MEETING}/会议纪要.txt", "纪要")

    expected = {
        f"{MEETING}/会议纪要.tmp/纪要.txt",
        f"{MEETING}/.隐藏说明.txt",
        f"{MEETING}/会议纪要.txt",
    }
    arc = Archive.open(root)
    litter_paths = [folder / name for name in LITTER] + [
        folder / "__MACOSX",
        root / "__MACOSX",
        root / "送审稿",
    ]
    assert arc.scan(ACTOR, litter_paths).added == []  # the watcher's way: events for the litter itself
    report = as_json(run("scan", "--json"))
    assert report["added"] == len(expected) and report["skipped"] == 0
    assert {r["path"] for r in as_json(run("ls", "--json"))} == expected
    assert arc.scan(ACTOR, [folder]).added == []


def wait_for(condition: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_watch_merges_its_segments_once_the_folder_is_quiet(root: Path) -> None:
    """Each watched file is committed to the index without a merge (one small segment each); once the
    folder is quiet the watcher merges them, and every file is still found."""
    arc = Archive.open(root)
    stop = threading.Event()
    reports: list[int] = []
    options = WatchOptions(stable_seconds=0.3, tick_seconds=0.05, idle_seconds=1.5)
    thread = threading.Thread(
        target=arc.watch,
        args=(ACTOR, options),
        kwargs={"stop": stop, "on_report": lambda r: reports.append(1)},
    )
    thread.start()
    try:
        wait_for(lambda: bool(reports), what="the start-up reconcile")
        for i in range(9):  # one at a time: each is its own reconcile and its own commit
            write(root, f"{MEETING}/督查记录{i}.txt", f"手卫生督查第{i}次记录")
            wait_for(lambda i=i: len(arc.records(ACTOR, state="active").records) == i + 1, what=f"file {i}")
        index = segments(root)
        assert index > 6, index  # no commit merged: the watcher never waited for a merge
        wait_for(lambda: segments(root) < index, what="the merge of a quiet folder")
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert len(arc.search(ACTOR, "手卫生督查", today=date.today(), limit=20).hits) == 9


def segments(root: Path) -> int:
    index = open_index(load_settings(root))
    try:
        return index.segment_count()
    finally:
        index.close()
