"""BagIt bundles (RFC 8493) for a handover: built atomically, opened as untrusted input, verified with bagit.

Building and checksumming are the Library of Congress `bagit` package's job (`make_bag`, `Bag`); this module
adds what a handover needs around it:

- atomicity: the bag is built in a temporary folder beside the destination and renamed only when complete
  (a .zip is written to a temporary name and renamed too), so an interrupted run leaves nothing behind;
- safety: a bundle from another institution is untrusted. Links, paths that leave the bag, absolute paths
  and names that collide once case and Unicode normalisation are ignored are refused *before* bagit (which
  would follow a link) or an extraction touches them;
- completeness of the report: `Bag.validate()` stops at the first failing stage (Payload-Oxum, then
  completeness, then checksums). A receiver must see every problem at once, so the stages are run one by
  one and their details collected.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import shutil
import stat
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import bagit

from zhikong.errors import ConflictError, InputFileError, Problem

# bagit logs every mismatch as a warning; with no handler Python would print them on stderr, and the
# library never prints. Its findings reach the user through the problems we collect instead.
logging.getLogger("bagit").addHandler(logging.NullHandler())

CHECKSUMS = ("sha256", "sha512")
_MANIFEST = re.compile(r"^(tag)?manifest-[a-z0-9]+\.txt$")
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class BuiltBag:
    path: Path
    files: int  # payload files
    bytes: int  # payload bytes
    fingerprint: str  # sha256 of tagmanifest-sha256.txt: names the whole bag in one value


def build(
    out: Path,
    fill: Callable[[Path], None],
    info: dict[str, str],
    *,
    processes: int = 1,
    after_bag: Callable[[Path], None] | None = None,
) -> BuiltBag:
    """Write a bag at `out` (a folder, or a .zip when `out` ends in .zip).

    `fill(folder)` writes the payload into an empty folder; bagit then moves it under `data/` and writes
    the manifests. Nothing appears at `out` until the bag is complete.
    """
    out = out.expanduser().resolve()
    if out.exists():
        raise ConflictError(f"{out} 已经存在，没有覆盖。", hint="换一个输出位置，或先移走旧的移交包。")
    if not out.parent.is_dir():
        raise InputFileError(f"输出位置的上级目录不存在：{out.parent}")
    as_zip = out.suffix.lower() == ".zip"
    work = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.building-"))
    part = out.with_name(f".{out.name}.part")
    try:
        bag_dir = work / (out.stem if as_zip else out.name)
        bag_dir.mkdir()
        fill(bag_dir)
        bag = _make_bag_isolated(bag_dir, dict(info), processes)
        if after_bag is not None:
            after_bag(bag_dir)
        oxum = str(bag.info.get("Payload-Oxum", "0.0"))
        size, _, count = oxum.partition(".")
        fingerprint = _sha256_file(bag_dir / "tagmanifest-sha256.txt")
        if as_zip:
            _write_zip(bag_dir, part)
            os.replace(part, out)
        else:
            os.replace(bag_dir, out)
        return BuiltBag(out, int(count), int(size), fingerprint)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if part.exists():
            part.unlink()


def _make_bag(bag_dir: str, info: dict[str, str], processes: int) -> None:
    bagit.make_bag(bag_dir, info, processes=processes, checksums=list(CHECKSUMS))


def _make_bag_isolated(bag_dir: Path, info: dict[str, str], processes: int) -> bagit.Bag:
    """bagit.make_bag changes the process's working directory while it works (os.chdir, restored in its
    `finally`): in a server, every other thread would resolve relative paths against the bag meanwhile.
    So it runs in a process of its own ("spawn": the same on Windows and Linux); the bag is then read
    back here, which reads only its small tag files."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        pool.submit(_make_bag, str(bag_dir), info, processes).result()
    return bagit.Bag(str(bag_dir))


def _write_zip(bag_dir: Path, target: Path) -> None:
    # Stored, not deflated: office files and PDFs are compressed already, and deflating a gigabyte would
    # cost more than the whole rest of the handover.
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for folder, dirs, files in os.walk(bag_dir):
            dirs.sort()
            for name in sorted(files):
                full = Path(folder) / name
                zf.write(full, (Path(bag_dir.name) / full.relative_to(bag_dir)).as_posix())
        zf.testzip()


def _sha256_file(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


# -- untrusted input -------------------------------------------------------------------------------


def unsafe_reason(name: str) -> str | None:
    """Why a path from a bundle must not be used, or None. `name` is as written in the bundle."""
    if not name or "\x00" in name or any(ord(ch) < 32 for ch in name):
        return "路径为空或含控制字符"
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "绝对路径"
    if "\\" in name:
        return "路径含反斜杠（可能在 Windows 上指向包外）"
    parts = PurePosixPath(name).parts
    if ".." in parts or ".." in name.split("/"):
        return "路径含 ..，指向包外"
    if name.startswith("~"):
        return "路径以 ~ 开头"
    return None


def fold(name: str) -> str:
    """The form under which two names collide on Windows or macOS: NFC, case-folded."""
    return unicodedata.normalize("NFC", name).casefold()


def inspect_folder(bag_dir: Path) -> list[Problem]:
    """安全性 checks of a bag folder, reading nothing but names and link bits: run before bagit."""
    problems: list[Problem] = []
    if not (bag_dir / "bagit.txt").is_file() or (bag_dir / "bagit.txt").is_symlink():
        return [Problem("security.structure", "不是 BagIt 包：缺少 bagit.txt", path=bag_dir.name)]
    seen: dict[str, str] = {}
    for folder, dirs, files in os.walk(bag_dir, followlinks=False):
        for name in [*dirs, *files]:
            full = Path(folder) / name
            rel = full.relative_to(bag_dir).as_posix()
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                problems.append(
                    Problem("security.link", "包内有符号链接（可能指向包外），拒绝处理", path=rel)
                )
            elif not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
                problems.append(Problem("security.special", "包内有非普通文件（设备、管道等）", path=rel))
            key = fold(rel)
            if key in seen:
                problems.append(
                    Problem("security.duplicate", f"文件名仅大小写或 Unicode 形式不同：{seen[key]}", path=rel)
                )
            seen[key] = rel
        dirs[:] = [d for d in dirs if not (Path(folder) / d).is_symlink()]
    if (bag_dir / "fetch.txt").exists():
        problems.append(
            Problem("security.fetch", "包要求从网络下载文件（fetch.txt），拒绝处理", path="fetch.txt")
        )
    for manifest in sorted(bag_dir.iterdir()):
        if _MANIFEST.match(manifest.name) and manifest.is_file() and not manifest.is_symlink():
            problems += _inspect_manifest(manifest)
    return problems


def _inspect_manifest(manifest: Path) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    try:
        lines = manifest.read_text(encoding="utf-8").splitlines()
    except (UnicodeDecodeError, OSError) as exc:
        return [Problem("security.manifest", f"清单无法读取：{exc}", path=manifest.name)]
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        parts = line.strip().split(None, 1)
        if len(parts) != 2:
            problems.append(Problem("security.manifest", f"清单第 {number} 行格式不对", path=manifest.name))
            continue
        name = parts[1].lstrip("*")
        reason = unsafe_reason(name)
        if reason:
            problems.append(Problem("security.path", f"{manifest.name} 第 {number} 行：{reason}", path=name))
            continue
        key = fold(name)
        if key in seen:
            problems.append(
                Problem(
                    "security.duplicate",
                    f"{manifest.name} 重复列出（或仅大小写不同）：{seen[key]}",
                    path=name,
                )
            )
        seen[key] = name
    return problems


ZIP_BOMB_RATIO = 100
ZIP_BOMB_MIN_BYTES = 50 * 1024 * 1024


def inspect_zip(zf: zipfile.ZipFile) -> list[Problem]:
    """安全性 checks of a zipped bag's member names and types, before anything is extracted."""
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for info in zf.infolist():
        name = info.filename
        reason = unsafe_reason(name.rstrip("/") if info.is_dir() else name)
        if reason:
            problems.append(Problem("security.path", reason, path=name))
            continue
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            problems.append(Problem("security.link", "压缩包内有符号链接，拒绝处理", path=name))
        if info.flag_bits & 0x1:
            problems.append(Problem("security.encrypted", "压缩包成员被加密，无法校验", path=name))
        # A zip bomb: a tiny member that claims to expand enormously. Our own bundles are stored
        # uncompressed, so any high ratio on a large member is refused before extraction.
        if info.file_size > ZIP_BOMB_MIN_BYTES and info.file_size > ZIP_BOMB_RATIO * max(
            info.compress_size, 1
        ):
            problems.append(
                Problem(
                    "security.zipbomb",
                    f"压缩比异常（{info.file_size:,} 字节压缩为 {info.compress_size:,} 字节），疑似压缩炸弹",
                    path=name,
                )
            )
        key = fold(name.rstrip("/"))
        if key in seen:
            problems.append(
                Problem("security.duplicate", f"文件名重复（或仅大小写不同）：{seen[key]}", path=name)
            )
        seen[key] = name
    return problems


@contextmanager
def opened(bundle: Path) -> Iterator[tuple[Path | None, list[Problem]]]:
    """The bag folder of `bundle` (a folder or a .zip), with the 安全性 problems found opening it.

    A zip is checked member by member and only then extracted into a temporary folder, removed on exit.
    When there are problems the folder is None: nothing about the bundle may be trusted further.
    """
    bundle = bundle.expanduser()
    if bundle.is_symlink():
        yield None, [Problem("security.link", "移交包本身是符号链接", path=str(bundle))]
        return
    if bundle.is_dir():
        problems = inspect_folder(bundle)
        yield (None if problems else bundle.resolve()), problems
        return
    if not bundle.is_file():
        raise InputFileError(f"找不到移交包：{bundle}", hint="给出移交包文件夹或 .zip 文件的路径。")
    if not zipfile.is_zipfile(bundle):
        raise InputFileError(f"{bundle} 既不是文件夹也不是 .zip 移交包。")
    with zipfile.ZipFile(bundle) as zf, tempfile.TemporaryDirectory(prefix="zhikong-bundle-") as tmp:
        problems = inspect_zip(zf)
        declared = sum(i.file_size for i in zf.infolist())
        if declared > shutil.disk_usage(tmp).free:
            problems.append(Problem("security.space", f"解压需要 {declared:,} 字节，临时目录空间不足"))
        if problems:
            yield None, problems
            return
        dest = Path(tmp)
        for info in zf.infolist():
            target = dest / info.filename
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "xb") as out:
                # zipfile checks each member's CRC and size on read: a member that lies about its
                # size raises BadZipFile instead of filling the disk.
                shutil.copyfileobj(src, out, 1 << 20)
        tops = [p for p in dest.iterdir()]
        bag_dir = tops[0] if len(tops) == 1 and tops[0].is_dir() else dest
        problems = inspect_folder(bag_dir)
        yield (None if problems else bag_dir), problems


# -- bagit's own checks, every stage, every problem -------------------------------------------------


@dataclass(frozen=True)
class BagCheck:
    info: dict[str, str]
    sha256: dict[str, str]  # payload path (posix, under data/) -> sha256 in the manifest
    problems: list[Problem]


def check(bag_dir: Path, *, processes: int = 1) -> BagCheck:
    """Every problem bagit finds: Payload-Oxum, missing and unexpected files, every checksum (full read)."""
    try:
        bag = bagit.Bag(str(bag_dir))
    except bagit.BagError as exc:
        return BagCheck({}, {}, [Problem("integrity.structure", f"BagIt 结构无效：{exc}")])
    problems: list[Problem] = []
    info = {k: (v[0] if isinstance(v, list) else str(v)) for k, v in bag.info.items()}
    try:
        bag.validate(fast=True)  # structure, bagit.txt, fetch and Payload-Oxum only
    except bagit.BagError as exc:
        problems.append(Problem("integrity.oxum", f"文件数或总字节数与 bag-info.txt 不符：{exc}"))
    missing, unexpected = bag.compare_manifests_with_fs()
    problems += [
        Problem("integrity.missing", "清单中有、包中缺少的文件", path=_posix(p)) for p in sorted(missing)
    ]
    problems += [
        Problem("integrity.unexpected", "包中多出、清单中没有的文件", path=_posix(p))
        for p in sorted(unexpected)
    ]
    listed = {_posix(p) for p in bag.entries}
    for folder, _dirs, files in os.walk(bag_dir):
        for name in files:
            rel = (Path(folder) / name).relative_to(bag_dir).as_posix()
            if rel.startswith(("data/", "tagmanifest-")):
                continue
            if rel not in listed:
                problems.append(Problem("integrity.unexpected", "包中多出、标签清单中没有的文件", path=rel))
    gone = set(missing)
    mismatched: dict[str, list[str]] = {}
    try:
        # Not `validate()`: it would stop at the first failing stage above. `_validate_entries` is the
        # stage of bagit that re-reads every byte and compares every algorithm's checksum.
        bag._validate_entries(processes)
    except bagit.BagValidationError as exc:
        for detail in exc.details:
            if isinstance(detail, bagit.ChecksumMismatch) and detail.path not in gone:
                mismatched.setdefault(_posix(detail.path), []).append(str(detail.algorithm))
    for path, algorithms in sorted(mismatched.items()):
        problems.append(
            Problem(
                "authenticity.checksum",
                f"内容与清单校验和不符（{'、'.join(algorithms)}）：文件被改动",
                path=path,
            )
        )
    sha256 = {_posix(p): h["sha256"] for p, h in bag.payload_entries().items() if "sha256" in h}
    return BagCheck(info, sha256, problems)


def _posix(path: str) -> str:
    return path.replace(os.sep, "/")
