""".zip and .rar: the attachments a notice arrives with. Their contents are listed as part of the record,
and the documents inside are read when that is safe.

Safe means: the archive passes the zip-bomb checks (member count, compression ratio, total size), each
member read is at most `MAX_MEMBER` bytes and is read through `extract_text` like any file (so a damaged
or encrypted member is that member's reason, never the archive's), an archive inside an archive is only
listed (no recursion), and the time budget is shared. A .rar's list is read in pure Python (rarfile);
its compressed members need an unpacking program (unrar, unar, 7z or bsdtar), without one they are
listed only and the reason says what to install. Names in zips made on Chinese Windows are GBK without
the UTF-8 flag: zipfile shows them as cp437 mojibake, so they are read again as GBK.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from zhikong.indexer.extractors.base import (
    Extraction,
    ExtractStatus,
    Limits,
    TextSink,
    unreadable,
    zip_problem,
)

MAX_MEMBER = 50 * 1024 * 1024
MAX_LISTED = 2000
_DOCUMENTS = {
    ".docx", ".doc", ".wps", ".xlsx", ".xls", ".et", ".pptx", ".ppt", ".dps", ".pdf", ".ofd", ".txt", ".csv",
    ".odt", ".ods", ".odp", ".rtf", ".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp",
}  # fmt: skip
_TOOL_HINT = (
    "需要解压程序才能读取，只列出了文件名；安装 unar（apt-get install unar）后运行 zhikong reindex --reread"
)
_ENCRYPTED = "压缩包已加密（设有密码），只能列出文件名；请取得不加密的压缩包，或解压后把文件放入"


@dataclass(frozen=True)
class _Member:
    name: str
    size: int
    encrypted: bool
    read: Callable[[], bytes]


def zip_name(info: zipfile.ZipInfo) -> str:
    """The member's real name: zipfile decodes names without the UTF-8 flag as cp437, but Chinese
    Windows (and WinRAR, 7-Zip there) writes them in GBK."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gb18030")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _zip_members(path: Path) -> tuple[list[_Member], str | None, object]:
    zf = zipfile.ZipFile(path)
    problem = zip_problem(zf)
    if problem:
        zf.close()
        return [], problem, None
    members = [
        _Member(zip_name(i), i.file_size, bool(i.flag_bits & 0x1), lambda i=i: zf.read(i))  # type: ignore[misc]
        for i in zf.infolist()
        if not i.is_dir()
    ]
    return members, None, zf


def _rar_members(path: Path) -> tuple[list[_Member], str | None, object]:
    import rarfile

    rf = rarfile.RarFile(str(path))
    if rf.needs_password():
        names = [_Member(i.filename, i.file_size, True, lambda: b"") for i in rf.infolist() if not i.is_dir()]
        return names, _ENCRYPTED, rf
    members = [
        _Member(i.filename, i.file_size, i.needs_password(), lambda i=i: rf.read(i))  # type: ignore[misc]
        for i in rf.infolist()
        if not i.is_dir()
    ]
    return members, None, rf


class ArchiveExtractor:
    kinds: tuple[str, ...] = ("zip", "rar")

    def extract(self, path: Path, limits: Limits) -> Extraction:
        try:
            opened = _zip_members(path) if _is_zip(path) else _rar_members(path)
        except (
            Exception
        ) as exc:  # zipfile/rarfile on a damaged archive: BadZipFile, BadRarFile, struct errors …
            kind = type(exc).__name__
            if kind == "NeedFirstVolume":
                return unreadable(
                    "这是分卷压缩包的后续一卷，单独无法打开；请把各卷（从第一卷起）一起放入，或解压后放入"
                )
            if kind in ("RarCannotExec", "RarExecError"):
                return unreadable(
                    "压缩包需要解压程序才能打开；安装 unar（apt-get install unar）后运行 zhikong reindex --reread"
                )
            return unreadable("压缩包已损坏，无法打开；请重新下载或重新压缩后放入")
        members, problem, handle = opened
        try:
            if problem and not members:
                return unreadable(problem)
            return self._read(members, problem, limits)
        finally:
            close = getattr(handle, "close", None)
            if close is not None:
                close()

    def _read(self, members: list[_Member], problem: str | None, limits: Limits) -> Extraction:
        from zhikong.indexer.extract import extract_text, sniff  # the registry holds this extractor

        sink = TextSink(limits)
        listing = [f"压缩包内共 {len(members)} 个文件："] + [m.name for m in members[:MAX_LISTED]]
        if len(members) > MAX_LISTED:
            listing.append(f"……（其余 {len(members) - MAX_LISTED} 个未列出）")
        sink.add("\n".join(listing))
        notes: list[str] = [problem] if problem else []
        skipped: dict[str, int] = {}
        tool_missing = False
        with tempfile.TemporaryDirectory(prefix="zhikong-unpack-") as tmp:
            for n, member in enumerate(members):
                suffix = PurePosixPath(member.name).suffix.lower()
                if suffix not in _DOCUMENTS or problem:
                    continue
                if sink.full or limits.expired():
                    skipped["时间或字数已到上限"] = skipped.get("时间或字数已到上限", 0) + 1
                    continue
                if member.encrypted:
                    skipped["已加密"] = skipped.get("已加密", 0) + 1
                    continue
                if member.size > MAX_MEMBER:
                    skipped["过大"] = skipped.get("过大", 0) + 1
                    continue
                try:
                    data = member.read()
                except Exception as exc:
                    tool_missing = tool_missing or type(exc).__name__ in ("RarCannotExec", "RarExecError")
                    skipped["无法解压"] = skipped.get("无法解压", 0) + 1
                    continue
                target = Path(tmp) / f"{n}{suffix}"
                target.write_bytes(data)
                if sniff(target) in ("zip", "rar"):
                    continue  # an archive in an archive: listed above, not opened
                remaining = max(limits.deadline - _now(), 1.0)
                inner = extract_text(
                    target, max_chars=max(limits.max_chars - sink.size, 1), timeout_s=remaining
                )
                target.unlink()
                if inner.status is ExtractStatus.OK and inner.text:
                    sink.add(f"【{member.name}】\n{inner.text}")
                elif inner.status is not ExtractStatus.EMPTY:
                    skipped["读不出文字"] = skipped.get("读不出文字", 0) + 1
        if tool_missing:
            notes.append(f"压缩包里的文件{_TOOL_HINT}")
        if skipped:
            notes.append("未读取的文件：" + "，".join(f"{why} {n} 个" for why, n in skipped.items()))
        result = sink.result()
        reason = "；".join(x for x in (*notes, result.reason) if x) or None
        return Extraction(result.status, result.text, reason=reason, truncated=result.truncated)


def _is_zip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def _now() -> float:
    import time

    return time.monotonic()
