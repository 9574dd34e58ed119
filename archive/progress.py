"""Progress of long work (a first scan, a reindex, a handover's checksums), for whoever shows it.

The library does not draw anything: it tells the reporter in `current()` — by default one that does
nothing — how far it is (`step(done, total, label)`). The command line sets a reporter that draws one
updating line on a terminal (`reporting(...)`), and only there: not under `--json`, `--quiet` or when
the output is not a terminal. A context variable carries the reporter, so the layers in between (the
application, the handover) pass nothing along and threads of a server each have their own.

Checksums are computed by bagit, in worker processes; bagit logs one line per file it reads.
`bagit_files(total)` counts those lines through a small file the workers append to (it works across
fork and spawn alike), and a thread turns the count into steps. LibreOffice, converting a batch, is
followed by the files appearing in its output folder (`files_appearing`).
"""

from __future__ import annotations

import contextvars
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Progress:
    """Does nothing; `step` before each unit of work (units done, units in all, what is being done),
    `saved` counts what a Ctrl-C would not lose."""

    verb = "处理"

    def __init__(self) -> None:
        self.saved = 0

    def step(self, done: int, total: int, label: str) -> None:
        pass

    def phase(self, verb: str) -> None:
        """A new stage of the work begins (登记, 重建索引, 计算校验和 …): the count starts again."""
        self.verb = verb


_SILENT = Progress()
_current: contextvars.ContextVar[Progress | None] = contextvars.ContextVar("zhikong_progress", default=None)


def current() -> Progress:
    return _current.get() or _SILENT


@contextmanager
def reporting(progress: Progress) -> Iterator[Progress]:
    token = _current.set(progress)
    try:
        yield progress
    finally:
        _current.reset(token)


class _LineCounter(logging.Handler):
    """In a worker process: one line per file bagit reads, appended to a shared file."""

    def __init__(self, path: str) -> None:
        super().__init__(logging.INFO)
        self.path = path

    def emit(self, record: logging.LogRecord) -> None:
        try:
            args = record.args if isinstance(record.args, tuple) else ()
            name = os.path.basename(str(args[0] if args else "")).replace("\n", " ")
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(name + "\n")
        except Exception:  # progress must never break the work it reports
            pass


_BAGIT_FILE_MESSAGES = ("Verifying checksum for file", "Generating manifest lines for file")


class _PerFile(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return str(record.msg).startswith(_BAGIT_FILE_MESSAGES)


@contextmanager
def counting_bagit_files(counter: str | None) -> Iterator[None]:
    """In the process that runs bagit (before it forks its workers): each file bagit reads adds a line
    to `counter` while this lasts. Nothing when `counter` is None."""
    if not counter:
        yield
        return
    logger = logging.getLogger("bagit")
    handler = _LineCounter(counter)
    handler.addFilter(_PerFile())
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    logger.propagate = False  # bagit's INFO lines are for the counter, not for the user's terminal
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


@contextmanager
def bagit_files(total: int, verb: str) -> Iterator[str | None]:
    """While bagit reads `total` files: yields the counter file's path
    (None when nobody shows progress) to hand to `counting_bagit_files`, and reports its line count to `current()` a few times a second."""
    progress = current()
    if type(progress) is Progress:
        yield None
        return
    progress.phase(verb)
    handle, counter = tempfile.mkstemp(prefix="zhikong-progress-", suffix=".txt")
    os.close(handle)
    stop = threading.Event()

    seen = {"done": 0, "offset": 0}

    def drain() -> None:
        try:
            with open(counter, "rb") as f:
                f.seek(seen["offset"])
                data = f.read()
        except OSError:
            return
        end = data.rfind(b"\n") + 1  # a line still being written waits for the next turn
        lines = data[:end].decode("utf-8", "replace").splitlines()
        seen["offset"] += end
        if lines:
            seen["done"] += len(lines)
            progress.step(min(seen["done"], total), total, lines[-1])

    def poll() -> None:
        while not stop.wait(0.25):
            drain()

    thread = threading.Thread(target=poll, name="zhikong-progress", daemon=True)
    thread.start()
    try:
        yield counter
    finally:
        stop.set()
        thread.join()
        drain()  # what the workers read since the last turn, so that short work is shown too
        Path(counter).unlink(missing_ok=True)


@contextmanager
def files_appearing(folder: Path, total: int, verb: str, label: str) -> Iterator[None]:
    """While another program writes `total` files into `folder` (LibreOffice converting a batch): reports
    how many are there to `current()` a few times a second."""
    progress = current()
    if type(progress) is Progress:
        yield
        return
    progress.phase(verb)
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(0.25):
            try:
                count = len(os.listdir(folder))
            except OSError:  # not made yet
                continue
            progress.step(min(count, total), total, label)

    thread = threading.Thread(target=poll, name="zhikong-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
