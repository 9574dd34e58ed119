"""The one place that runs LibreOffice (``soffice --headless --convert-to``).

Each call gets its own throw-away user profile (``-env:UserInstallation``): two conversions sharing a
profile block on its lock, or fail silently, so parallel runs (tests, a CLI beside the watcher) must
not share one. A timeout kills the whole process group, since soffice forks ``soffice.bin``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from zhikong.errors import InputFileError, MissingDependency

DEFAULT_TIMEOUT = 180.0
_INSTALL_HINT = (
    "请安装 LibreOffice（Debian/Ubuntu：apt-get install libreoffice-writer-nogui；Windows：libreoffice.org）"
)


def executable() -> str | None:
    """Path of ``soffice`` (or ``libreoffice``) on PATH, or None."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def available() -> bool:
    return executable() is not None


def convert(src: Path, fmt: str, outdir: Path, *, timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Convert ``src`` to ``fmt`` (``pdf``, ``docx`` …) into ``outdir``; returns the new file's path."""
    return convert_many([src], fmt, outdir, timeout=timeout)[0]


def convert_many(
    sources: Sequence[Path], fmt: str, outdir: Path, *, timeout: float = DEFAULT_TIMEOUT
) -> list[Path]:
    """Convert several files in one soffice run (start-up dominates the cost of a conversion)."""
    program = executable()
    if program is None:
        raise MissingDependency("没有找到 LibreOffice（soffice），无法转换文件。", hint=_INSTALL_HINT)
    for src in sources:
        if not src.is_file():
            raise InputFileError(f"要转换的文件不存在：{src}")
    outdir.mkdir(parents=True, exist_ok=True)
    extension = fmt.split(":", 1)[0]
    targets = [outdir / f"{src.stem}.{extension}" for src in sources]
    with tempfile.TemporaryDirectory(prefix="zhikong-lo-") as profile:
        command = [
            program,
            f"-env:UserInstallation={Path(profile).as_uri()}",
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--nodefault",
            "--nologo",
            "--convert-to",
            fmt,
            "--outdir",
            str(outdir),
            *[str(src) for src in sources],
        ]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise InputFileError(
                f"LibreOffice 转换超时（{timeout:.0f} 秒）：{', '.join(s.name for s in sources)}",
                hint="文件可能过大或已损坏；可在 Word/WPS 中打开后另存再试。",
            ) from None
    missing = [src.name for src, target in zip(sources, targets, strict=True) if not target.is_file()]
    if process.returncode != 0 or missing:
        detail = stderr.decode("utf-8", "replace").strip()[-500:]
        raise InputFileError(
            f"LibreOffice 无法转换：{'、'.join(missing) or f'（返回码 {process.returncode}）'}"
            + (f"\n{detail}" if detail else ""),
            hint="文件可能已损坏或格式不受支持；可在 Word/WPS 中打开后另存再试。",
        )
    return targets
