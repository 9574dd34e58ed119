"""A handover bundle re-zipped on Chinese Windows ("发送到 → 压缩(zipped)文件夹"): entry names in GBK without
the UTF-8 flag (general-purpose bit 11), which zipfile reads as CP437 mojibake. archive/bag.py takes such
names back to their bytes and reads them as UTF-8 when valid (tools that omit the flag), else GB18030: the
bundle verifies and imports with every Chinese name byte for byte, and a name that decodes to a path out
of the bag is refused as before."""

from __future__ import annotations

import os
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import invoke
from test_handover import CENTER, NEW_HOST, build_source

from zhikong.archive import bag


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real bundle folder: `zhikong handover create` of the demo archive."""
    source = build_source(tmp_path_factory.mktemp("old") / "档案库")
    out = tmp_path_factory.mktemp("out") / "护理移交包"
    invoke(CliRunner(), "--root", str(source), "handover", "create", "--center", CENTER, "--to", NEW_HOST,
           "--out", str(out))  # fmt: skip
    return out


def windows_zip(entries: list[tuple[bytes, bytes | None]], target: Path) -> Path:
    """A zip as Windows' built-in compressed folders write it: each name in the raw bytes given (the
    system's code page), flag bit 11 clear, made by MS-DOS, deflated; `None` content is a folder entry.
    Written by hand: zipfile itself would set the UTF-8 flag on any name that is not ASCII."""
    body, central = bytearray(), bytearray()
    dos_time, dos_date = (10 << 11) | (30 << 5), ((2026 - 1980) << 9) | (6 << 5) | 15
    for name, data in entries:
        is_dir = data is None
        raw = b"" if data is None else data
        packed = b"" if is_dir else zlib.compress(raw, 6)[2:-4]  # raw deflate, no zlib header/trailer
        method = 0 if is_dir else 8
        crc = zlib.crc32(raw)
        offset = len(body)
        body += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, method, dos_time, dos_date, crc, len(packed), len(raw),
            len(name), 0,
        )  # fmt: skip
        body += name + packed
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, dos_time, dos_date, crc, len(packed),
            len(raw), len(name), 0, 0, 0, 0, 0x10 if is_dir else 0x20, offset,
        )  # fmt: skip
        central += name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), len(body), 0)
    target.write_bytes(bytes(body + central + end))
    return target


def rezip(folder: Path, target: Path, encoding: str) -> Path:
    """The bag folder re-zipped with its names in `encoding`, folders listed first as Windows does."""
    entries: list[tuple[bytes, bytes | None]] = []
    for here, dirs, files in os.walk(folder):
        dirs.sort()
        rel = Path(here).relative_to(folder.parent).as_posix()
        entries.append(((rel + "/").encode(encoding), None))
        entries += [
            (f"{rel}/{name}".encode(encoding), (Path(here) / name).read_bytes()) for name in sorted(files)
        ]
    return windows_zip(entries, target)


def _files(folder: Path) -> dict[bytes, bytes]:
    """Every file under `folder`: its relative name as the file system holds it → its content."""
    return {
        os.fsencode(p.relative_to(folder).as_posix()): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file()
    }


@pytest.mark.parametrize("encoding", ["gbk", "utf-8"])
def test_a_bundle_rezipped_without_the_utf8_flag_verifies_and_imports_name_for_name(
    bundle: Path, tmp_path: Path, runner: CliRunner, encoding: str
) -> None:
    zipped = rezip(bundle, tmp_path / "护理移交包.zip", encoding)
    with zipfile.ZipFile(zipped) as zf:
        infos = zf.infolist()
    chinese = [i for i in infos if not i.filename.isascii()]
    assert len(chinese) > 50 and all(not i.flag_bits & 0x800 for i in infos)
    if encoding == "gbk":
        assert all(i.filename.encode("cp437") != i.filename.encode("utf-8") for i in chinese)
        assert not any(CENTER in i.filename for i in infos)  # what zipfile alone makes of them: mojibake
    assert {bag.member_name(i) for i in infos} == {
        (Path(h).relative_to(bundle.parent).as_posix() + "/") for h, _d, _f in os.walk(bundle)
    } | {p.relative_to(bundle.parent).as_posix() for p in bundle.rglob("*") if p.is_file()}

    verified = invoke(runner, "handover", "verify", str(zipped))
    assert "核验通过" in verified.output and "安全性：通过" in verified.output

    new_root = tmp_path / "新挂靠单位"
    invoke(runner, "--root", str(new_root), "handover", "import", str(zipped))
    carried = _files(bundle / "data" / CENTER)
    assert len(carried) > 20 and any(not name.isascii() for name in carried)
    assert _files(new_root / CENTER) == carried  # every file, its Chinese name and its bytes


@pytest.mark.parametrize(
    "name",
    [
        "护理移交包/../逃逸.txt",
        "护理移交包/data/../../逃逸.txt",
        "../护理移交包/逃逸.txt",
        "护理移交包\\..\\逃逸.txt",
        "C:/护理移交包/逃逸.txt",
    ],
)
def test_a_gbk_name_that_leaves_the_bag_is_refused_before_extraction(
    bundle: Path, tmp_path: Path, runner: CliRunner, name: str
) -> None:
    entries = [
        (f"护理移交包/{p.relative_to(bundle).as_posix()}".encode("gbk"), p.read_bytes())
        for p in sorted(bundle.glob("*.txt"))
    ]
    entries.append((name.encode("gbk"), "逃出包外的内容".encode()))
    zipped = windows_zip(entries, tmp_path / "恶意移交包.zip")
    result = invoke(runner, "handover", "verify", str(zipped), expect=7)
    assert "安全性" in result.output and "逃逸.txt" in result.output  # named in Chinese, not as mojibake
    assert not list(tmp_path.parent.rglob("逃逸.txt"))
    result = invoke(runner, "--root", str(tmp_path / "新库"), "handover", "import", str(zipped), expect=7)
    assert not (tmp_path / "新库").exists() or not list((tmp_path / "新库").rglob("逃逸.txt"))


def test_names_that_are_neither_utf8_nor_gb18030_keep_zipfiles_reading_and_are_checked() -> None:
    info = zipfile.ZipInfo("x")
    info.filename = b"\xff\xfe/\x80.txt".decode("cp437")
    info.flag_bits = 0
    assert bag.member_name(info) == info.filename  # undecodable: the CP437 reading, checked as it is
    flagged = zipfile.ZipInfo("护理/会议.docx")
    flagged.flag_bits = 0x800
    assert bag.member_name(flagged) == "护理/会议.docx"
