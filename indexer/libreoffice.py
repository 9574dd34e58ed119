"""LibreOffice headless conversion of legacy office formats (.doc .wps .xls .et .ppt .dps), behind one module.

Each conversion runs with its own throw-away user profile so it neither collides with a LibreOffice the
secretary has open nor leaves lock files behind, and is killed when it exceeds its time budget.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from archive.errors import InputFileError, MissingDependency

MISSING_REASON = "需要 LibreOffice 才能读取旧版 Office/WPS 文件，当前未安装；安装后运行 zhikong reindex"


def executable() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def available() -> bool:
    return executable() is not None


class ConversionError(InputFileError):
    pass


def convert(source: Path, target_ext: str, out_dir: Path, *, timeout_s: float) -> Path:
    """Convert `source` to `target_ext` (e.g. "docx") inside `out_dir`; the path of the converted file."""
    exe = executable()
    if exe is None:
        raise MissingDependency(MISSING_REASON, hint="安装 LibreOffice（apt install libreoffice 或官网下载）")
    with tempfile.TemporaryDirectory(prefix="zhikong-lo-") as profile:
        cmd = [
            exe,
            f"-env:UserInstallation={Path(profile).as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            target_ext,
            "--outdir",
            str(out_dir),
            str(source),
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            _out, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            # soffice forks helpers: kill the whole session we started, not just the launcher.
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise ConversionError(f"LibreOffice 转换超时（超过 {timeout_s:.0f} 秒）") from None
    result = out_dir / f"{source.stem}.{target_ext}"
    if proc.returncode != 0 or not result.exists():
        detail = err.decode("utf-8", "replace").strip()[:200]
        raise ConversionError(f"LibreOffice 无法转换该文件（{detail or proc.returncode}）")
    return result
