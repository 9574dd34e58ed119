"""Following the folder: file-system events are hints, the folder is the truth.

The event handler only records paths. A stability tracker decides when a file is ready (size and mtime
unchanged for `stable_seconds` and it can be opened), so a file still being copied is taken once,
complete. A full reconcile runs at start and every `rescan_seconds`, catching whatever events missed
(network shares, a sleeping laptop, a burst that overflowed the kernel queue). Nothing here raises out
of the loop for one bad file: errors are logged and the loop goes on until `stop` is set.

An event costs what it touches, not what the archive holds: the reconcile of its paths reads only the
records at or under them, and the index takes them in a commit that never merges. Merging the small
segments those commits leave is `on_idle`'s work, done once the folder has been quiet for
`idle_seconds` — one bounded step at a time, so a file arriving meanwhile waits for at most one step.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from zhikong.archive.ingest import ScanReport
from zhikong.archive.settings import SETTINGS_FILE, SYSTEM_DIR

log = logging.getLogger("zhikong.watch")


class Reconcile(Protocol):
    def __call__(self, paths: list[Path] | None, *, settle_seconds: float = 0.0) -> ScanReport: ...


@dataclass(frozen=True)
class WatchOptions:
    poll: bool = False
    stable_seconds: float = 1.0
    rescan_seconds: float = 300.0
    tick_seconds: float = 0.2
    poll_interval: float = 1.0
    idle_seconds: float = 10.0


class _Hints(FileSystemEventHandler):
    """Collects the paths events mention; decides nothing."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.system = root / SYSTEM_DIR
        self.lock = threading.Lock()
        self.paths: set[Path] = set()

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if not raw:
                continue
            path = Path(os.fsdecode(raw))
            if path == self.system or self.system in path.parents or path.name == SETTINGS_FILE:
                continue
            with self.lock:
                self.paths.add(path)

    def take(self) -> set[Path]:
        with self.lock:
            taken, self.paths = self.paths, set()
        return taken


class StabilityTracker:
    """A path is ready when it has not changed for `stable_seconds` and can be opened (or is gone)."""

    def __init__(self, stable_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.stable_seconds = stable_seconds
        self.clock = clock
        self.pending: dict[Path, tuple[tuple[int, int] | None, float]] = {}

    def note(self, path: Path) -> None:
        self.pending[path] = (self._signature(path), self.clock())

    def ready(self) -> list[Path]:
        now = self.clock()
        done: list[Path] = []
        for path, (sig, since) in list(self.pending.items()):
            current = self._signature(path)
            if current != sig:
                self.pending[path] = (current, now)
                continue
            if current is None or (now - since >= self.stable_seconds and _openable(path)):
                done.append(path)
                del self.pending[path]
        return done

    @staticmethod
    def _signature(path: Path) -> tuple[int, int] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_size, st.st_mtime_ns)


def _openable(path: Path) -> bool:
    try:
        st = os.lstat(path)
    except OSError:
        return True  # gone: the reconcile notes that
    if not stat.S_ISREG(st.st_mode):
        return True  # only regular files are ever opened: a named pipe would block open() forever
    try:
        # On Windows a file still being copied is locked for reading; on Linux this always succeeds.
        with open(path, "rb"):
            return True
    except OSError:
        return False


class Watcher:
    def __init__(
        self,
        root: Path,
        reconcile: Reconcile,
        *,
        options: WatchOptions,
        stop: threading.Event,
        on_report: Callable[[ScanReport], None] = lambda r: None,
        on_idle: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`on_idle` does one step of deferred upkeep (merging index segments) and says whether there
        is more; it is called while no file is pending and none has been for `idle_seconds`."""
        self.root = root
        self.reconcile = reconcile
        self.options = options
        self.stop = stop
        self.on_report = on_report
        self.on_idle = on_idle
        self.clock = clock
        self.hints = _Hints(root)
        self.tracker = StabilityTracker(options.stable_seconds, clock)

    def _observer(self) -> BaseObserver:
        if self.options.poll:
            return PollingObserver(timeout=self.options.poll_interval)
        return Observer()

    def run(self) -> None:
        # Events first, then the full reconcile: a file dropped while the reconcile runs is then
        # still seen as an event, never lost in the gap between the two.
        observer = self._observer()
        observer.schedule(self.hints, str(self.root), recursive=True)
        observer.start()
        self._safe_reconcile(None)
        log.info("开始监视 %s（%s）", self.root, "轮询" if self.options.poll else "事件")
        last_rescan = last_busy = self.clock()
        upkeep_left = True
        try:
            while not self.stop.wait(self.options.tick_seconds):
                for path in self.hints.take():
                    self.tracker.note(path)
                ready = self.tracker.ready()
                if ready:
                    self._safe_reconcile(ready)
                if self.clock() - last_rescan >= self.options.rescan_seconds:
                    self._safe_reconcile(None)
                    last_rescan = self.clock()
                if ready or self.tracker.pending:
                    last_busy, upkeep_left = self.clock(), True
                elif upkeep_left and self.clock() - last_busy >= self.options.idle_seconds:
                    upkeep_left = self._safe_idle()
                if not observer.is_alive():
                    # The event source died (e.g. the share went away): keep going on rescans alone.
                    log.error("文件事件监听中断，改为仅靠定期全量核对")
                    observer = self._observer()
                    observer.schedule(self.hints, str(self.root), recursive=True)
                    observer.start()
        finally:
            observer.stop()
            observer.join(timeout=5)
            log.info("停止监视")

    def _safe_idle(self) -> bool:
        try:
            return self.on_idle()
        except Exception:
            log.exception("空闲时的索引整理失败，下次空闲时重试")
            return False

    def _safe_reconcile(self, paths: list[Path] | None) -> None:
        try:
            report = self.reconcile(paths, settle_seconds=self.options.stable_seconds)
        except Exception:
            # One bad batch must not end the watch; the next rescan retries everything.
            log.exception("核对失败，将在下次全量核对时重试：%s", [str(p) for p in paths or []][:5])
            return
        for path in report.deferred:
            self.tracker.note(path)
        for err in report.errors:
            log.warning("%s：%s", err.path, err.message)
        if report.touched or report.errors:
            log.info("核对：%s", report.counts())
        self.on_report(report)
