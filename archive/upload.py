"""Files put into the archive from elsewhere than its folder (the web page, the API): where they go, under
which name, and how they arrive without ever leaving half a file where the watcher or a scan could see it.

An upload is received into `.zhikong/tmp/` (never watched, never scanned), checked (size, empty,
executable), then moved into its folder by the folder convention (`center/YEAR/YYYY-MM-DD 名称/`, or a
standing folder) with one `os.replace`, and catalogued by the same reconcile as any other file. Uploads to
one file name are taken one at a time, so two at once become two versions of one record: none is lost.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from zhikong.archive.convention import STANDING_CATEGORY, is_ignored, parse_activity
from zhikong.archive.filenames import clean_title, fit_file_name
from zhikong.archive.settings import Settings
from zhikong.errors import InputFileError, StorageError

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
STANDING_FOLDERS = tuple(STANDING_CATEGORY)  # 工作计划, 工作总结, 质控标准

# Programs and scripts: never records of a center, and a risk on the Windows PCs that open the archive.
EXECUTABLE_SUFFIXES = frozenset(
    [
        ".exe",
        ".com",
        ".bat",
        ".cmd",
        ".scr",
        ".pif",
        ".msi",
        ".msp",
        ".dll",
        ".sys",
        ".cpl",
        ".ps1",
        ".psm1",
        ".vbs",
        ".vbe",
        ".js",
        ".jse",
        ".wsf",
        ".wsh",
        ".hta",
        ".lnk",
        ".jar",
        ".sh",
        ".bin",
        ".run",
        ".elf",
        ".apk",
        ".app",
        ".reg",
        ".inf",
    ]
)
_EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"#!")
_WINDOWS_DEVICE = re.compile(r"^(CON|PRN|AUX|NUL|COM[0-9¹²³]|LPT[0-9¹²³])$", re.IGNORECASE)


@dataclass(frozen=True)
class UploadTarget:
    """Where an upload goes: a center and a year, and an activity ("YYYY-MM-DD 名称") or a standing folder
    (工作计划/工作总结/质控标准); with neither, the center's 收件箱 of that year's work."""

    center: str
    year: int | None = None
    activity: str | None = None
    folder: str | None = None

    def folder_of(self, settings: Settings) -> Path:
        if self.center not in settings.center_names():
            raise InputFileError(
                f"没有这个质控中心：{self.center}", hint="可选：" + "、".join(settings.center_names())
            )
        if self.activity and self.folder:
            raise InputFileError("活动和固定文件夹只能选一个。")
        base = settings.root / self.center
        if self.activity:
            name, when = parse_activity(self.activity)
            clean = clean_title(name)
            if not clean:
                raise InputFileError(f"活动名称不能用作文件夹名：{self.activity}")
            if self.year is not None and self.year != when.year:
                raise InputFileError(f"活动日期 {when.isoformat()} 不在 {self.year} 年。")
            return base / str(when.year) / f"{when.isoformat()} {clean}"
        year = self.year or date.today().year
        if not 1990 <= year <= 2100:
            raise InputFileError(f"年度不对：{year}")
        if self.folder:
            if self.folder not in STANDING_FOLDERS:
                raise InputFileError(
                    f"没有这个固定文件夹：{self.folder}", hint="可选：" + "、".join(STANDING_FOLDERS)
                )
            return base / str(year) / self.folder
        from zhikong.archive.settings import INBOX

        return base / INBOX


def safe_name(name: str) -> str:
    """The file name an upload is stored under: its last part only (a browser or a script may send
    "..\\..\\etc\\passwd" or "C:\\Users\\…\\通知.docx"), without control, bidi or Windows-reserved characters,
    not a Windows device name (CON.docx), not ignored as litter (~$…), within the length limits."""
    base = re.split(r"[/\\]", name)[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot or not stem:
        stem, suffix = base, ""
    suffix = re.sub(r"[^0-9A-Za-z]", "", suffix)[:10].lower()
    title = clean_title(stem).lstrip(".~$ ") or "未命名文件"
    if _WINDOWS_DEVICE.match(title.split(".")[0].strip()):
        title = "文件_" + title
    result = fit_file_name(title, tail=f".{suffix}" if suffix else "")
    if is_ignored(PurePosixPath(result)):
        result = "文件_" + result
    return result


def refuse_executable(name: str, head: bytes) -> None:
    suffix = Path(name).suffix.lower()
    if suffix in EXECUTABLE_SUFFIXES or head.startswith(_EXECUTABLE_MAGIC):
        raise InputFileError(
            f"不接收程序或脚本文件：{name}",
            hint="档案库只保存质控工作的文档、表格、课件、图片和扫描件；如确需归档，请压缩成 .zip 后上传。",
        )


_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


@contextlib.contextmanager
def one_at_a_time(path: Path) -> Iterator[None]:
    """Uploads to one file name wait for each other (in this server process)."""
    with _locks_guard:
        lock = _locks.setdefault(path, threading.Lock())
    with lock:
        yield


def receive(settings: Settings, source: BinaryIO, name: str, *, max_bytes: int) -> Path:
    """`source` copied into a private temporary file of the archive's system folder, checked as it goes.
    The caller moves it into place (`place`) or it is removed when anything fails."""
    tmp_dir = settings.system_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            head = source.read(64 * 1024)
            refuse_executable(name, head)
            size = 0
            chunk = head
            while chunk:
                size += len(chunk)
                if size > max_bytes:
                    raise InputFileError(
                        f"文件太大：超过上传上限 {max_bytes // (1024 * 1024)} MB（{name}）",
                        hint="请压缩后再传，或请管理员在 zhikong.toml 的 [web] upload_max_mb 调高上限。",
                    )
                out.write(chunk)
                chunk = source.read(1024 * 1024)
            if size == 0:
                raise InputFileError(f"文件是空的（0 字节），没有保存：{name}", hint="请检查后重新选择文件。")
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"上传的文件没能写入服务器的磁盘：{exc.strerror or exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def place(received: Path, dest: Path) -> None:
    """The received file into its folder in one step (a reader sees the old file or the new, never half)."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(received, dest)
    except OSError as exc:
        received.unlink(missing_ok=True)
        raise StorageError(f"上传的文件没能放入档案库文件夹：{exc.strerror or exc}") from exc


def clear_stale(settings: Settings) -> int:
    """Half-received uploads a stopped server left in .zhikong/tmp/: removed (they were never catalogued)."""
    removed = 0
    tmp = settings.system_dir / "tmp"
    # ours (receive) and Django's spooled request bodies (FILE_UPLOAD_TEMP_DIR: tmpXXXX.upload.ext)
    for part in [*tmp.glob("upload-*.part"), *tmp.glob("tmp*.upload*")]:
        with contextlib.suppress(OSError):
            part.unlink()
            removed += 1
    return removed
