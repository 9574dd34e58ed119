"""Handover benchmark (issue 6): `zhikong handover create` (+ `verify`) against `tar` + `sha256sum`.

    python bench/handover_speed.py [--files 5000] [--mb 1000] [--runs 3] [--processes 2]

Generates one center's archive of --files files totalling about --mb MB (default 5,000 files ≈ 1 GB):
.docx/.xlsx/.pptx (real OOXML packages carrying an incompressible stored part, as scans and photos
inside office files are) and .pdf (a real PDF with an attached scan-sized stream). The files are
catalogued in-process without text extraction (setup, not measured). Then, in the same run and over the
same files, alternating so the page cache favours neither:

  - `zhikong handover create` as a new process (bundle folder: copy, sha256 + sha512 manifests, papers);
  - `zhikong handover verify` of that bundle as a new process (every checksum recomputed);
  - the baseline: `tar -cf` of the center's folder, then `sha256sum` over the same files.

It prints the medians of --runs and the ratios create/baseline and (create + verify)/baseline; the
target is create/baseline ≤ 1.5.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from pypdf import PdfWriter

from zhikong.archive.catalogue import Catalogue
from zhikong.archive.demo import NURSING
from zhikong.archive.ingest import Reconciler
from zhikong.archive.samplefiles import make_docx
from zhikong.archive.settings import add_center, init_archive

ACTIVITIES = (
    "第一次工作会议",
    "一季度病例抽查",
    "护理质量督查",
    "护理技能竞赛",
    "第二次工作会议",
    "业务培训",
)
NAMES = ("会议通知", "签到表", "会议纪要", "督查记录", "反馈意见", "整改报告", "课件", "总结")


def _ooxml(template: bytes, payload: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(template)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        dst.writestr(zipfile.ZipInfo("word/media/image1.bin"), payload, compress_type=zipfile.ZIP_STORED)
    return out.getvalue()


def _pdf(payload: bytes) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_attachment("scan.bin", payload)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def generate(root: Path, files: int, total_mb: float, seed: int = 6) -> tuple[int, int]:
    """An archive with one center holding `files` files of about `total_mb` MB in all."""
    rng = random.Random(seed)
    settings = init_archive(
        root, county="金乡县", bureau="金乡县卫生健康局", doc_prefix="金卫健字", fonds="Z109"
    )
    settings = add_center(settings, NURSING, year=2026)
    template_path = root.parent / "template.docx"
    make_docx(template_path, "模板", ["正文"])
    template = template_path.read_bytes()
    template_path.unlink()
    mean = total_mb * 1_000_000 / files
    made = size = 0
    for i in range(files):
        year = 2024 + i % 3
        month, day = 1 + (i // 3) % 12, 1 + i % 28
        activity = f"{year}-{month:02d}-{day:02d} {ACTIVITIES[i % len(ACTIVITIES)]}"
        folder = root / NURSING.name / str(year) / activity
        folder.mkdir(parents=True, exist_ok=True)
        payload = rng.randbytes(max(1024, int(rng.uniform(0.5, 1.5) * mean) - 4000))
        kind = i % 5
        if kind == 4:
            data, suffix = _pdf(payload), ".pdf"
        else:
            data, suffix = _ooxml(template, payload), (".docx", ".xlsx", ".pptx", ".docx")[kind]
        (folder / f"{NAMES[i % len(NAMES)]}-{i:05d}{suffix}").write_bytes(data)
        made += 1
        size += len(data)
    with Catalogue.open(settings.system_dir) as cat:
        Reconciler(settings, cat).reconcile()
    return made, size


def _timed(cmd: list[str], **kwargs: object) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--mb", type=float, default=1000.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--dir", type=Path, help="work folder (default: a new temporary folder, removed after)"
    )
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="zhikong-handover-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    root = work / "archive"
    zhikong = [sys.executable, "-c", "from zhikong.cli import main; main()"]
    try:
        t0 = time.perf_counter()
        files, size = generate(root, args.files, args.mb)
        print(
            f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        )
        print(
            f"corpus: {files} files, {size / 1e6:,.0f} MB, generated and catalogued in {time.perf_counter() - t0:.1f} s"
        )
        center = root / NURSING.name
        listing = work / "files.txt"
        listing.write_bytes(b"\0".join(os.fsencode(p) for p in sorted(center.rglob("*")) if p.is_file()))
        creates: list[float] = []
        verifies: list[float] = []
        baselines: list[float] = []
        for run in range(args.runs):
            bundle = work / f"bundle-{run}"
            tarball = work / f"baseline-{run}.tar"
            steps = [
                (
                    "create",
                    lambda b=bundle: creates.append(
                        _timed(
                            [
                                *zhikong,
                                "--root",
                                str(root),
                                "handover",
                                "create",
                                "--center",
                                NURSING.name,
                                "--to",
                                "金乡县中医院",
                                "--out",
                                str(b),
                                "--processes",
                                str(args.processes),
                            ]
                        )
                    ),
                ),
                (
                    "baseline",
                    lambda t=tarball: baselines.append(
                        _timed(
                            [
                                "sh",
                                "-c",
                                f'tar -cf "{t}" -C "{root}" "{NURSING.name}" && '
                                f'xargs -0 sha256sum < "{listing}" > "{t}.sha256"',
                            ]
                        )
                    ),
                ),
            ]
            for _name, step in steps if run % 2 == 0 else reversed(steps):
                step()
            verifies.append(
                _timed([*zhikong, "handover", "verify", str(bundle), "--processes", str(args.processes)])
            )
            shutil.rmtree(bundle)
            tarball.unlink()
            Path(f"{tarball}.sha256").unlink()
            print(
                f"run {run + 1}: create {creates[-1]:.2f} s, verify {verifies[-1]:.2f} s, tar+sha256sum {baselines[-1]:.2f} s"
            )
        create, verify, baseline = (statistics.median(x) for x in (creates, verifies, baselines))
        print(
            f"median of {args.runs}: handover create {create:.2f} s, handover verify {verify:.2f} s, tar + sha256sum {baseline:.2f} s"
        )
        print(f"ratio create / (tar + sha256sum) = {create / baseline:.2f}  (target ≤ 1.5)")
        print(f"ratio (create + verify) / (tar + sha256sum) = {(create + verify) / baseline:.2f}")
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
