"""BagIt bundles (RFC 8493) for a handover: built atomically, opened as untrusted input, verified with bagit.

Building and checksumming are the Library of Congress `bagit` package's job (`make_bag`, `Bag`); this module
adds what a handover needs around it:

- atomicity: the bag is built in a temporary folder beside the destination and renamed only when complete
  (a .zip is written to a temporary name and renamed too), so an interrupted run leaves nothing behind;
- safety: a bundle from another institution is untrusted. Links (symbolic and hard), paths that leave the
  bag, absolute paths, names Windows cannot hold (CON, aux.txt, a:b.txt, a trailing dot) and names that
  collide once case and Unicode normalisation are ignored are refused *before* bagit (which would follow a
  link) or an extraction touches them;
- resource limits: a tag file is never read past its size limit (bagit joins folded bag-info.txt lines by
  repeated string concatenation: a 200 MB bag-info.txt keeps it busy for many minutes), and a zip is never
  extracted past a total uncompressed size bounded both relative to the zip and absolutely (`Limits`);
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
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import bagit

from zhikong.archive import progress
from zhikong.archive.preserve import sha256_file
from zhikong.errors import ConflictError, InputFileError, Problem

# bagit logs every mismatch as a warning; with no handler Python would print them on stderr, and the
# library never prints. Its findings reach the user through the problems we collect instead.
logging.getLogger("bagit").addHandler(logging.NullHandler())

CHECKSUMS = ("sha256", "sha512")
_MANIFEST = re.compile(r"^(tag)?manifest-[a-z0-9]+\.txt$")
_DRIVE = re.compile(r"^[A-Za-z]:")
# Names Windows reserves for devices, with or without an extension (aux.txt is the device AUX too), and
# the characters it forbids in a name: a file so named cannot be created, or silently means something
# else, on the receiving host's Windows PC.
_WINDOWS_DEVICES = re.compile(r"^(CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|COM[0-9¹²³]|LPT[0-9¹²³])$", re.IGNORECASE)
_WINDOWS_FORBIDDEN = set('<>:"|?*')


@dataclass(frozen=True)
class Limits:
    """How much of an untrusted bundle is read or extracted before it is refused.

    Generous for a real center's archive (thousands of files, a few gigabytes): our own bundles have a
    bag-info.txt of about 1 KB, manifests of about 250 bytes a file, and are zipped stored (ratio 1).
    """

    tag_file_bytes: int = 1 << 20  # bagit.txt, bag-info.txt, fetch.txt, any other tag file
    manifest_bytes: int = 64 << 20  # each (tag)manifest-*.txt: about 250,000 files
    machine_file_bytes: int = 512 << 20  # each data/移交资料/zhikong/*.json(l), parsed in memory
    zip_members: int = 500_000
    zip_ratio: int = 20  # total uncompressed size ≤ 20 × the zip's size …
    zip_floor_bytes: int = 256 << 20  # … unless it is below this (small bundles of text compress well)
    zip_total_bytes: int = 64 << 30  # and never more than this in absolute terms


LIMITS = Limits()


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
    tags: Callable[[], dict[str, str]] | None = None,
    after_bag: Callable[[bagit.Bag], None] | None = None,
) -> BuiltBag:
    """Write a bag at `out` (a folder, or a .zip when `out` ends in .zip).

    `fill(folder)` writes the payload into an empty folder; bagit then moves it under `data/` and writes
    the manifests. `tags()`, called after `fill`, gives extra tag files (name → text) to add beside
    bagit.txt, listed in the tag manifests. `after_bag(bag)` may refuse the finished bag (read once, its
    manifests loaded) by raising. Nothing appears at `out` until the bag is complete.
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
        bag = _make_bag_isolated(bag_dir, dict(info), processes, tags() if tags else {})
        if after_bag is not None:
            after_bag(bag)
        oxum = str(bag.info.get("Payload-Oxum", "0.0"))
        size, _, count = oxum.partition(".")
        fingerprint = sha256_file(bag_dir / "tagmanifest-sha256.txt")
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


def _make_bag(
    bag_dir: str, info: dict[str, str], processes: int, tags: dict[str, str], counter: str | None = None
) -> None:
    if "fork" in multiprocessing.get_all_start_methods():
        # This process was spawned, so bagit's pool would spawn its workers too: fork them instead (this
        # process has one thread), which starts them faster and lets them count for the progress line.
        multiprocessing.set_start_method("fork", force=True)
    with progress.counting_bagit_files(counter):
        made = bagit.make_bag(bag_dir, info, processes=processes, checksums=list(CHECKSUMS))
    if tags:
        for name, text in tags.items():
            Path(bag_dir, name).write_text(text, encoding="utf-8")
        made.save()  # rewrites the tag manifests over every tag file, ours included; payload untouched


def _make_bag_isolated(
    bag_dir: Path, info: dict[str, str], processes: int, tags: dict[str, str]
) -> bagit.Bag:
    """bagit.make_bag changes the process's working directory while it works (os.chdir, restored in its
    `finally`): in a server, every other thread would resolve relative paths against the bag meanwhile.
    So it runs in a process of its own ("spawn": the same on Windows and Linux); the bag is then read
    back here, which reads only its small tag files."""
    context = multiprocessing.get_context("spawn")
    files = sum(len(names) for _folder, _dirs, names in os.walk(bag_dir))
    with (
        progress.bagit_files(files, "计算校验和") as counter,
        ProcessPoolExecutor(max_workers=1, mp_context=context) as pool,
    ):
        pool.submit(_make_bag, str(bag_dir), info, processes, tags, counter).result()
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
    for part in name.split("/"):
        reason = name_reason(part) if part not in ("", ".") else None
        if reason:
            return reason
    return None


def name_reason(part: str) -> str | None:
    """Why one file or folder name from a bundle cannot be used on the receiver's PC, or None."""
    if not part or part in (".", ".."):
        return "名称为空或为 . / .."
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in part):
        return "名称含控制字符"
    if "/" in part or "\\" in part:
        return "名称含 / 或 \\"
    bad = sorted(set(part) & _WINDOWS_FORBIDDEN)
    if bad:
        return f"名称含 Windows 不允许的字符 {' '.join(bad)}"
    if part.endswith((".", " ")):
        return "名称以句点或空格结尾（Windows 会去掉，导致指向另一个文件）"
    if _WINDOWS_DEVICES.match(part.split(".")[0].rstrip(" ")):
        return f"名称 {part} 是 Windows 的设备名（CON、AUX、NUL、COM1、LPT1 等），不能作文件名"
    return None


def fold(name: str) -> str:
    """The form under which two names collide on Windows or macOS: NFC, case-folded."""
    return unicodedata.normalize("NFC", name).casefold()


def inspect_folder(bag_dir: Path, limits: Limits = LIMITS) -> list[Problem]:
    """安全性 checks of a bag folder, reading nothing but names, sizes and link bits: run before bagit."""
    problems: list[Problem] = []
    if not (bag_dir / "bagit.txt").is_file() or (bag_dir / "bagit.txt").is_symlink():
        return [Problem("security.structure", "不是 BagIt 包：缺少 bagit.txt", path=bag_dir.name)]
    seen: dict[str, str] = {}
    for folder, dirs, files in os.walk(bag_dir, followlinks=False):
        for name in [*dirs, *files]:
            full = Path(folder) / name
            rel = full.relative_to(bag_dir).as_posix()
            problems += _inspect_entry(full, rel, os.lstat(full), limits)
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
    if problems:
        return problems  # a manifest is read only once every tag file is known to be of a sane size
    for manifest in sorted(bag_dir.iterdir()):
        if _MANIFEST.match(manifest.name) and manifest.is_file() and not manifest.is_symlink():
            problems += _inspect_manifest(manifest)
    return problems


def _inspect_entry(full: Path, rel: str, st: os.stat_result, limits: Limits) -> list[Problem]:
    """One file or folder of a bag folder: its name, its type, its links, and (tag files) its size."""
    problems: list[Problem] = []
    reason = name_reason(full.name)
    if reason:
        problems.append(Problem("security.name", reason, path=rel))
    if stat.S_ISLNK(st.st_mode):
        problems.append(Problem("security.link", "包内有符号链接（可能指向包外），拒绝处理", path=rel))
    elif not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
        problems.append(Problem("security.special", "包内有非普通文件（设备、管道等）", path=rel))
    elif stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
        # A hard link is indistinguishable from a file of the bag except by its link count: its content
        # is another file's, possibly one outside the bag that the sender chose.
        problems.append(
            Problem("security.hardlink", "包内文件是硬链接（内容可能来自包外的文件），拒绝处理", path=rel)
        )
    elif stat.S_ISREG(st.st_mode) and not rel.startswith("data/"):
        cap = limits.manifest_bytes if _MANIFEST.match(rel) else limits.tag_file_bytes
        if st.st_size > cap:
            problems.append(
                Problem(
                    "security.size",
                    f"标签文件过大（{st.st_size:,} 字节，上限 {cap:,} 字节），未读取",
                    path=rel,
                )
            )
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
_UTF8_FLAG = 0x800  # general-purpose bit 11: the entry's name is UTF-8


def member_name(info: zipfile.ZipInfo) -> str:
    """The name a zip member was given, as its author's system wrote it.

    A zip re-made on Chinese Windows ("发送到 → 压缩(zipped)文件夹", older WinRAR, 360压缩) writes names
    in the system's code page, GBK, without the UTF-8 flag; zipfile then decodes the bytes as CP437 and the
    bundle's Chinese names become mojibake (every file "unexpected"). Without the flag, names that are not
    pure ASCII are taken back to their raw bytes and decoded as UTF-8 when they are valid UTF-8 (some tools
    write UTF-8 and omit the flag), else as GB18030 (a superset of GBK; it decodes any byte sequence that is
    not valid UTF-8 only when it is well-formed, otherwise the CP437 reading is kept and the checks refuse
    whatever it names). Every check and the extraction use this one name.
    """
    name = info.filename
    if info.flag_bits & _UTF8_FLAG or name.isascii():
        return name
    try:
        raw = name.encode("cp437")
    except UnicodeEncodeError:  # not a name zipfile decoded as CP437: keep it
        return name
    for encoding in ("utf-8", "gb18030"):
        try:
            decoded = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        return decoded
    return name


def inspect_zip(zf: zipfile.ZipFile, zip_size: int, limits: Limits = LIMITS) -> list[Problem]:
    """安全性 checks of a zipped bag's member names, types and sizes, before anything is extracted."""
    infos = zf.infolist()
    if len(infos) > limits.zip_members:
        return [Problem("security.size", f"压缩包成员过多（{len(infos):,} 个，上限 {limits.zip_members:,}）")]
    names = [member_name(i) for i in infos]
    # The bag is either the zip's root or its one top folder (what `opened` extracts it as).
    root = "" if "bagit.txt" in names else names[0].split("/")[0] + "/" if names else ""
    problems = [
        p for info, name in zip(infos, names, strict=True) for p in _inspect_member(info, name, root, limits)
    ]
    seen: dict[str, str] = {}
    for name in names:
        key = fold(name.rstrip("/"))
        if key in seen:
            problems.append(
                Problem("security.duplicate", f"文件名重复（或仅大小写不同）：{seen[key]}", path=name)
            )
        seen[key] = name
    # Many members each below the per-member bomb threshold add up just the same (80 × 47 MB of zeros
    # is 3.78 GB from a 4 MB zip): the total is bounded relative to the zip, and absolutely.
    total = sum(i.file_size for i in infos)
    allowed = min(max(limits.zip_ratio * zip_size, limits.zip_floor_bytes), limits.zip_total_bytes)
    if total > allowed:
        problems.append(
            Problem(
                "security.zipbomb",
                f"解压后总大小 {total:,} 字节，超过上限 {allowed:,} 字节"
                f"（压缩包 {zip_size:,} 字节的 {limits.zip_ratio} 倍，且不超过 {limits.zip_total_bytes:,} 字节），"
                "疑似压缩炸弹",
            )
        )
    return problems


def _inspect_member(info: zipfile.ZipInfo, name: str, root: str, limits: Limits) -> list[Problem]:
    reason = unsafe_reason(name.rstrip("/") if info.is_dir() else name)
    if reason:
        return [Problem("security.path", reason, path=name)]
    problems: list[Problem] = []
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        problems.append(Problem("security.link", "压缩包内有符号链接，拒绝处理", path=name))
    if info.flag_bits & 0x1:
        problems.append(Problem("security.encrypted", "压缩包成员被加密，无法校验", path=name))
    # A zip bomb: a tiny member that claims to expand enormously. Our own bundles are stored
    # uncompressed, so any high ratio on a large member is refused before extraction.
    if info.file_size > ZIP_BOMB_MIN_BYTES and info.file_size > ZIP_BOMB_RATIO * max(info.compress_size, 1):
        problems.append(
            Problem(
                "security.zipbomb",
                f"压缩比异常（{info.file_size:,} 字节压缩为 {info.compress_size:,} 字节），疑似压缩炸弹",
                path=name,
            )
        )
    inside = name[len(root) :] if name.startswith(root) else name
    if not info.is_dir() and not inside.startswith("data/"):  # a tag file: read whole, by bagit or by us
        cap = limits.manifest_bytes if _MANIFEST.match(inside) else limits.tag_file_bytes
        if info.file_size > cap:
            problems.append(
                Problem(
                    "security.size",
                    f"标签文件过大（{info.file_size:,} 字节，上限 {cap:,} 字节），未解压",
                    path=name,
                )
            )
    return problems


@contextmanager
def opened(bundle: Path, limits: Limits = LIMITS) -> Iterator[tuple[Path | None, list[Problem]]]:
    """The bag folder of `bundle` (a folder or a .zip), with the 安全性 problems found opening it.

    A zip is checked member by member and only then extracted into a temporary folder, removed on exit.
    When there are problems the folder is None: nothing about the bundle may be trusted further.
    """
    bundle = bundle.expanduser()
    if bundle.is_symlink():
        yield None, [Problem("security.link", "移交包本身是符号链接", path=str(bundle))]
        return
    if bundle.is_dir():
        problems = inspect_folder(bundle, limits)
        yield (None if problems else bundle.resolve()), problems
        return
    if not bundle.is_file():
        raise InputFileError(f"找不到移交包：{bundle}", hint="给出移交包文件夹或 .zip 文件的路径。")
    if not zipfile.is_zipfile(bundle):
        raise InputFileError(f"{bundle} 既不是文件夹也不是 .zip 移交包。")
    with tempfile.TemporaryDirectory(prefix="zhikong-bundle-") as tmp:
        dest = Path(tmp)
        try:
            problems = _extract(bundle, dest, limits)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, zlib.error) as exc:
            # zipfile checks each member's CRC and size on read: a member that lies about its size or is
            # damaged stops the extraction here, with what was extracted removed with the folder.
            problems = [Problem("security.zip", f"压缩包损坏或与其目录不符，无法解压：{exc}")]
        if problems:
            yield None, problems
            return
        tops = [p for p in dest.iterdir()]
        bag_dir = tops[0] if len(tops) == 1 and tops[0].is_dir() else dest
        problems = inspect_folder(bag_dir, limits)
        yield (None if problems else bag_dir), problems


def _extract(bundle: Path, dest: Path, limits: Limits) -> list[Problem]:
    """Check the zip's members and, only when none is refused, extract them into `dest`."""
    with zipfile.ZipFile(bundle) as zf:
        problems = inspect_zip(zf, bundle.stat().st_size, limits)
        declared = sum(i.file_size for i in zf.infolist())
        if not problems and declared > shutil.disk_usage(dest).free:
            problems.append(Problem("security.space", f"解压需要 {declared:,} 字节，临时目录空间不足"))
        if problems:
            return problems
        for info in zf.infolist():
            target = dest / member_name(info)  # the name inspect_zip checked
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "xb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
    return []


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
    except (bagit.BagError, UnicodeError, ValueError, LookupError, OSError) as exc:
        return BagCheck({}, {}, [Problem("integrity.structure", f"BagIt 结构无效：{exc}")])
    problems = _check_tag_files(bag_dir)
    if "sha256" not in bag.algorithms:
        # RFC 8493 lets a bag carry only md5 or sha1 manifests; such a bag proves nothing against a
        # deliberate change (both are broken for collisions), so a handover bundle needs sha256.
        problems.append(
            Problem(
                "integrity.algorithm",
                f"清单算法为 {'、'.join(bag.algorithms) or '无'}，缺少 manifest-sha256.txt：不能证明内容未被改动",
            )
        )
    info = {k: (v[0] if isinstance(v, list) else str(v)) for k, v in bag.info.items()}
    try:
        # The stages of `validate()` before the checksums, one by one (it stops at the first failure).
        bag._validate_structure()
        bag._validate_bagittxt()
        bag.validate_fetch()
    except bagit.BagError as exc:
        problems.append(Problem("integrity.structure", f"BagIt 结构无效：{exc}"))
    try:
        bag._validate_oxum()
    except (bagit.BagError, ValueError, OSError) as exc:
        problems.append(Problem("integrity.oxum", _oxum_message(exc)))
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
    for algorithm in bag.algorithms:
        unlisted = sorted(
            set(bag.payload_entries()) - {p for p, h in bag.payload_entries().items() if algorithm in h}
        )
        problems += [
            Problem("integrity.manifest", f"manifest-{algorithm}.txt 没有列出此文件", path=_posix(p))
            for p in unlisted
        ]
    gone = set(missing)
    mismatched: dict[str, list[str]] = {}
    try:
        # Not `validate()`: it would stop at the first failing stage above. `_validate_entries` is the
        # stage of bagit that re-reads every byte and compares every algorithm's checksum.
        with (
            progress.bagit_files(len(bag.entries), "核验校验和") as counter,
            progress.counting_bagit_files(counter),
        ):
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
    sha256 = {_posix(p): h["sha256"].lower() for p, h in bag.payload_entries().items() if "sha256" in h}
    return BagCheck(info, sha256, problems)


_BAGIT_TXT = re.compile(
    rb"BagIt-Version: [0-9]+\.[0-9]+\r?\nTag-File-Character-Encoding: UTF-8\r?\n?", re.IGNORECASE
)


def _check_tag_files(bag_dir: Path) -> list[Problem]:
    """What RFC 8493 demands of the tag files and bagit tolerates: bagit.txt exactly two lines in the
    prescribed form (no byte-order mark, no space before the colon, a MAJOR.MINOR version), UTF-8 tag
    files (a zhikong bundle's are), and the bag-info.txt a bundle's provenance is read from."""
    problems: list[Problem] = []
    if not _BAGIT_TXT.fullmatch((bag_dir / "bagit.txt").read_bytes()):
        problems.append(
            Problem(
                "integrity.structure",
                "bagit.txt 格式不对：应恰为两行“BagIt-Version: 主.次”和“Tag-File-Character-Encoding: UTF-8”"
                "（无 BOM、冒号前无空格）",
                path="bagit.txt",
            )
        )
    if not (bag_dir / "bag-info.txt").is_file():
        problems.append(
            Problem("integrity.structure", "缺少 bag-info.txt（移交单位、接收单位等）", path="bag-info.txt")
        )
    return problems


_OXUM = re.compile(r"Expected (\d+) files and (\d+) bytes but found (\d+) files and (\d+) bytes")


def _oxum_message(exc: Exception) -> str:
    """bagit's Payload-Oxum finding in Chinese (people read the report; bagit writes English)."""
    found = _OXUM.search(str(exc))
    if found is None:
        return f"文件数或总字节数与 bag-info.txt 不符：{exc}"
    files, size, now_files, now_size = (int(n) for n in found.groups())
    return (
        f"文件数或总字节数与 bag-info.txt 不符：应为 {files:,} 个文件、{size:,} 字节，"
        f"实有 {now_files:,} 个文件、{now_size:,} 字节"
    )


def _posix(path: str) -> str:
    return path.replace(os.sep, "/")
