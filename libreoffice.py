"""The one place that runs LibreOffice (``soffice --headless --convert-to``).

Each call gets its own throw-away user profile (``-env:UserInstallation``): two conversions sharing a
profile block on its lock, or fail silently, so parallel runs (tests, a CLI beside the watcher) must
not share one. A timeout kills the whole process group, since soffice forks ``soffice.bin``.

On Linux the fonts official documents name (仿宋_GB2312, 楷体, 方正小标宋简体 …) are usually missing;
``fonts.conf`` beside this module maps them to free Song/Kai stand-ins (FONTCONFIG_FILE), so previews
and the layout tests show serif body text instead of LibreOffice's sans fallback. A FONTCONFIG_FILE the
user set is kept.

LibreOffice's DOCX import reads ``w:overflowPunct`` inverted (writerfilter DomainMapper:
ParaIsHangingPunctuation = (value == 0)), so a document that turns Word's 允许标点溢出边界 off would be
shown with hanging punctuation. A .docx converted to PDF is given to LibreOffice with the value flipped
(in a temporary copy; the original is not touched), so the PDF shows what Word prints.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from zhikong.errors import InputFileError, MissingDependency

DEFAULT_TIMEOUT = 180.0
FONTS_CONF = Path(__file__).resolve().parent / "fonts.conf"
_INSTALL_HINT = (
    "请安装 LibreOffice（Debian/Ubuntu：apt-get install libreoffice-writer-nogui；Windows：libreoffice.org）"
)


def executable() -> str | None:
    """Path of ``soffice`` (or ``libreoffice``) on PATH, or None."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    if "FONTCONFIG_FILE" not in env and FONTS_CONF.is_file() and os.name != "nt":
        env["FONTCONFIG_FILE"] = str(FONTS_CONF)
    return env


_OVERFLOW_PUNCT = re.compile(rb'<w:overflowPunct w:val="(0|1|false|true|off|on)"/>')
_FLIPPED = {b"0": b"1", b"false": b"1", b"off": b"1", b"1": b"0", b"true": b"0", b"on": b"0"}


def _as_word_reads_it(src: Path, folder: Path) -> Path:
    """``src``, or for a .docx with explicit ``w:overflowPunct`` values a copy with them flipped."""
    if src.suffix.lower() != ".docx" or not zipfile.is_zipfile(src):
        return src
    try:
        with zipfile.ZipFile(src) as package:
            parts = {info.filename: package.read(info.filename) for info in package.infolist()}
    except (zipfile.BadZipFile, OSError, KeyError):
        return src  # LibreOffice reports what is wrong with it
    names = ("word/styles.xml", "word/document.xml")
    if not any(_OVERFLOW_PUNCT.search(parts.get(name, b"")) for name in names):
        return src
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / src.name
    with zipfile.ZipFile(copy, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            if name in names:
                data = _OVERFLOW_PUNCT.sub(
                    lambda m: b'<w:overflowPunct w:val="' + _FLIPPED[m.group(1)] + b'"/>', data
                )
            out.writestr(name, data)
    return copy


def available() -> bool:
    return executable() is not None


def convert(src: Path, fmt: str, outdir: Path, *, timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Convert ``src`` to ``fmt`` (``pdf``, ``docx`` …) into ``outdir``; returns the new file's path."""
    return convert_many([src], fmt, outdir, timeout=timeout)[0]


# soffice silently ignores the files after its first ~243 on one command line (LibreOffice 7.4: 243 of 500
# converted, exit status 0): a batch goes in runs of at most this many.
FILES_PER_RUN = 200


def convert_many(
    sources: Sequence[Path],
    fmt: str,
    outdir: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    at_once: int | None = None,
) -> list[Path]:
    """Convert several files in as few soffice runs as it takes (start-up costs a second or more; a run
    takes at most FILES_PER_RUN files). A batch of more than one run is split among `at_once` soffice
    processes side by side (default: two on a machine with two cores or more), each with its own profile;
    `timeout` is for the whole batch. When some files could not be converted, the others are converted
    all the same and the error names the missing ones."""
    program = executable()
    if program is None:
        raise MissingDependency("没有找到 LibreOffice（soffice），无法转换文件。", hint=_INSTALL_HINT)
    for src in sources:
        if not src.is_file():
            raise InputFileError(f"要转换的文件不存在：{src}")
    outdir.mkdir(parents=True, exist_ok=True)
    extension = fmt.split(":", 1)[0]
    targets = [outdir / f"{src.stem}.{extension}" for src in sources]
    deadline = time.monotonic() + timeout
    runs = -(-len(sources) // FILES_PER_RUN)
    lanes = max(1, min(runs, at_once if at_once is not None else min(2, os.cpu_count() or 1)))
    runs = -(-runs // lanes) * lanes  # runs of equal size, the same number in each lane
    size = -(-len(sources) // runs) if sources else 0
    with tempfile.TemporaryDirectory(prefix="zhikong-lo-") as scratch:
        if extension == "pdf":
            sources = [
                _as_word_reads_it(src, Path(scratch) / f"src{index}") for index, src in enumerate(sources)
            ]
        chunks = [
            list(range(start, min(start + size, len(sources)))) for start in range(0, len(sources), size or 1)
        ]

        def lane(n: int) -> list[tuple[int, str]]:
            """The lane's runs one after another, in one profile (a profile is not shared while in use)."""
            profile = Path(scratch) / f"profile{n}"
            failed = []
            for chunk in chunks[n::lanes]:
                returncode, stderr = _run(
                    program, profile, [sources[i] for i in chunk], fmt, outdir, deadline - time.monotonic()
                )
                if returncode != 0 or not all(targets[i].is_file() for i in chunk):
                    failed.append((returncode, stderr.decode("utf-8", "replace").strip()[-500:]))
            return failed

        with ThreadPoolExecutor(max_workers=lanes) as pool:
            done = [pool.submit(lane, n) for n in range(lanes)]
            failed = [f for future in done for f in future.result()]
    missing = [src.name for src, target in zip(sources, targets, strict=True) if not target.is_file()]
    if failed:
        returncode, detail = failed[-1]
        raise InputFileError(
            f"LibreOffice 无法转换：{'、'.join(missing) or f'（返回码 {returncode}）'}"
            + (f"\n{detail}" if detail else ""),
            hint="文件可能已损坏或格式不受支持；可在 Word/WPS 中打开后另存再试。",
        )
    return targets


def _run(
    program: str, profile: Path, sources: Sequence[Path], fmt: str, outdir: Path, timeout: float
) -> tuple[int, bytes]:
    """One soffice run over `sources`: its exit status and what it wrote on stderr."""
    command = [
        program,
        f"-env:UserInstallation={profile.as_uri()}",
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
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=_environment(),
    )
    try:
        _, stderr = process.communicate(timeout=max(timeout, 0.001))
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise InputFileError(
            f"LibreOffice 转换超时（{timeout:.0f} 秒）：{', '.join(s.name for s in sources)}",
            hint="文件可能过大或已损坏；可在 Word/WPS 中打开后另存再试。",
        ) from None
    return process.returncode, stderr
