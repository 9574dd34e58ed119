"""Text extraction in a worker process of its own, under a time and a memory budget.

A hostile or broken file — a 1 KB .docx whose paragraphs nest 40,000 deep takes minutes to walk, a
decompression or image bomb can take gigabytes — must not stall a scan or the watcher, nor take the
server down with it. So each file is read in a long-lived child process ("spawn": the same on Windows and
Linux; forked from a clean server where the platform allows); the parent waits at most `timeout` seconds for the answer, and a child that overruns, or dies
(its address space is capped where the platform allows it), is stopped and replaced, while the file is
catalogued with a Chinese reason and the scan goes on. The child stays up between files, so the
extractors' imports and the OCR engine load once per worker, not once per file.
"""

from __future__ import annotations

import multiprocessing
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from zhikong.indexer.extractors.base import Extraction, ExtractStatus

DEFAULT_TIMEOUT_S = 120.0
DEFAULT_MEMORY_MB = 4096  # address space, not resident memory: the OCR runtime maps a lot it never touches


class ExtractionWorker:
    """Callable like `extract_text(path)`; not thread-safe (one per reconciler)."""

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT_S, memory_mb: int = DEFAULT_MEMORY_MB) -> None:
        self.timeout = timeout
        self.memory_mb = memory_mb
        self._context = _context()
        self._process: Any = None
        self._conn: Connection | None = None

    def __call__(self, path: Path) -> Extraction:
        conn = self._connection()
        try:
            conn.send(str(path))
            if not conn.poll(self.timeout):
                self.close()
                return Extraction(
                    ExtractStatus.UNREADABLE,
                    reason=f"读取文字超过 {self.timeout:g} 秒，已停止（文件结构异常或过于复杂）；"
                    "文件本身已登记保存，可检查后用 zhikong reindex --reread 重试",
                )
            result = conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            self.close()
            return Extraction(
                ExtractStatus.UNREADABLE,
                reason=f"读取文字时占用内存超过 {self.memory_mb} MB 或读取程序异常退出，已停止；"
                "文件本身已登记保存，可检查后用 zhikong reindex --reread 重试",
            )
        assert isinstance(result, Extraction)
        return result

    def close(self) -> None:
        """Stop the worker (a new one starts on the next file)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(timeout=10)
            self._process = None

    def _connection(self) -> Connection:
        if self._conn is None or self._process is None or not self._process.is_alive():
            self.close()
            parent, child = self._context.Pipe()
            self._process = self._context.Process(
                target=_serve, args=(child, self.memory_mb), name="zhikong-extract", daemon=True
            )
            self._process.start()
            child.close()
            self._conn = parent
        return self._conn


def _context() -> Any:
    """forkserver where the platform has it (a clean single-threaded server forks each worker, warm with
    the extractors already imported: safe beside a server's threads, and cheap); spawn elsewhere."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["zhikong.indexer.extract"])
        return context
    return multiprocessing.get_context("spawn")


def _serve(conn: Connection, memory_mb: int) -> None:
    """The worker's loop: a path in, an Extraction out, until the parent closes the pipe."""
    _cap_memory(memory_mb)
    from zhikong.indexer.extract import extract_text

    while True:
        try:
            path = conn.recv()
        except (EOFError, OSError):
            return
        try:
            result = extract_text(Path(path))
        except MemoryError:
            result = Extraction(
                ExtractStatus.UNREADABLE, reason=f"读取文字需要的内存超过 {memory_mb} MB，已停止"
            )
        except Exception:  # an extractor bug must cost this file its text, never the worker
            result = Extraction(
                ExtractStatus.UNREADABLE,
                reason="读取文字时程序出错；文件本身已登记保存，请把这个文件交给管理员检查，"
                "修复后用 zhikong reindex --reread 重试",
            )
        conn.send(result)
        _release_memory()


def _release_memory() -> None:
    """Give the heap freed by the last file back to the system. The OCR engine and pypdf free hundreds of
    megabytes after a large page, but glibc keeps them mapped, so the idle worker would hold its peak
    while LibreOffice or poppler runs beside it for the next file (measured: 830 MB idle after OCR)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl): nothing to trim
        return


def _cap_memory(memory_mb: int) -> None:
    if sys.platform == "win32":  # no RLIMIT on Windows: the time budget still applies
        return
    import resource

    limit = memory_mb * 2**20
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard == resource.RLIM_INFINITY or hard > limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
