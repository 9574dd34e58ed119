"""Check benchmark (issues 5 and 19): `zhikong check` over 30 centers × 3 years ≈ 10,000 records (target
≤ 2 s); with --centers 100, 33,600 records in 300 center-years (issue 19's target: ≤ 1.5 s).

    python bench/check_speed.py [--centers 30] [--runs 5]

The catalogue is filled through the real ingest path (`Reconciler.reconcile` over real files on disk, the
same code `zhikong scan` runs) with small text files laid out in the folder convention, without text
extraction — the checks read the catalogue, and extraction speed is measured by the indexer's own
benchmark. Half of each center-year's records are then boxed with the register's own `mark`, so
`record.paper` has real work to do. Prints the median wall time of `zhikong check --json` as a new
process (start-up included) and of `run_checks` in-process.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from zhikong.archive.catalogue import Catalogue
from zhikong.archive.checks import run_checks
from zhikong.archive.ingest import Reconciler
from zhikong.archive.paper import mark
from zhikong.archive.rules import load_rules
from zhikong.archive.settings import Center, Roster, add_center, init_archive, load_settings

YEARS = (2024, 2025, 2026)
ACTIVITIES = (
    ("01-20", "第一次工作会议"),
    ("03-10", "一季度病例抽查"),
    ("04-15", "院感防控督查"),
    ("05-20", "院感防控督查回头看"),
    ("05-25", "护理技能竞赛"),
    ("06-10", "二季度病例抽查"),
    ("07-08", "第二次工作会议"),
    ("08-18", "业务培训"),
    ("09-12", "三季度病例抽查"),
    ("10-20", "学术交流"),
    ("11-10", "专项督导"),
    ("12-01", "四季度病例抽查"),
)
FILES = ("通知", "签到表", "会议纪要", "课件", "督查记录", "反馈意见", "整改报告", "总结", "照片说明")
STANDING = (
    ("工作计划", "年度工作计划"),
    ("工作计划", "核心指标提升计划"),
    ("工作总结", "上半年工作总结"),
    ("质控标准", "质控标准"),
)


def build(root: Path, centers: int) -> int:
    settings = init_archive(
        root, county="金乡县", bureau="金乡县卫生健康局", doc_prefix="金卫健字", fonds="Z109"
    )
    roster = Roster("甲", ("乙", "丙"), "丁", ("戊",), "2025-01-01")
    for i in range(centers):
        code = "Q" + chr(65 + i // 26) + chr(65 + i % 26)
        settings = add_center(
            settings, Center(f"第{i + 1:02d}质控中心", code, "金乡县人民医院", roster), year=2026
        )
    count = 0
    for c in settings.centers:
        for y in YEARS:
            base = root / c.name / str(y)
            for folder, name in STANDING:
                (base / folder).mkdir(parents=True, exist_ok=True)
                (base / folder / f"{y}年{name}.txt").write_text(f"{y}年{name}\n{c.name}", encoding="utf-8")
                count += 1
            for md, name in ACTIVITIES:
                folder = base / f"{y}-{md} {name}"
                folder.mkdir(parents=True, exist_ok=True)
                for f in FILES:
                    (folder / f"{f}.txt").write_text(f"{name}{f}\n{c.name}", encoding="utf-8")
                    count += 1
    return count


def fill(root: Path) -> int:
    settings = load_settings(root)
    with Catalogue.open(settings.system_dir) as cat:
        report = Reconciler(settings, cat).reconcile()
        for c in settings.centers:
            for y in YEARS:
                recs = [r for r in cat.records(center=c.name, year=y) if r.retention is None]
                by_ret: dict[str, list] = {}
                for r in recs[: len(recs) // 2]:
                    by_ret.setdefault(settings.retention.get(r.category, "D10"), []).append(r)
                for box, group in enumerate(by_ret.values(), start=1):
                    mark(settings, cat, group, box=box)
        return len(report.added)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--centers", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "档案库"
        t0 = time.perf_counter()
        files = build(root, args.centers)
        added = fill(root)
        print(f"built {files} files, catalogued {added} records in {time.perf_counter() - t0:.1f} s")
        settings = load_settings(root)
        rules = load_rules(settings.rules)
        inproc, cli = [], []
        findings = 0
        for _ in range(args.runs):
            with Catalogue.open(settings.system_dir) as cat:
                t = time.perf_counter()
                report = run_checks(settings, cat, rules, as_of=date(2026, 11, 24))
                inproc.append(time.perf_counter() - t)
                findings = len(report.findings)
            t = time.perf_counter()
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "zhikong.cli",
                    "--root",
                    str(root),
                    "check",
                    "--json",
                    "--as-of",
                    "2026-11-24",
                ],
                capture_output=True,
                check=False,
            )
            cli.append(time.perf_counter() - t)
            assert done.returncode == 1, done.stderr.decode()
        print(f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}")
        print(f"findings: {findings}")
        print(f"run_checks in-process: median {statistics.median(inproc):.3f} s over {args.runs} runs")
        print(
            f"zhikong check --json (new process): median {statistics.median(cli):.3f} s over {args.runs} runs"
            f" (target ≤ 2 s at 10k records, ≤ 1.5 s at 33.6k)"
        )


if __name__ == "__main__":
    main()
