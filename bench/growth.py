"""Growth benchmark (issue 19): how each operation's cost grows with the archive, beside its peer.

    python bench/growth.py [--sizes 1000,5000,20000,100000] [--runs 3] [--samples 5] [--work /tmp/zg]
    python bench/growth.py --sizes 1000,5000          # a quick run
    python bench/growth.py --only scan --work /tmp/zg --keep   # the scan rows; the archives kept for next time

For each size N it generates N small text files (2 centers × 3 years × activity folders, the shape of
bench/archive_speed.py) under --work (default: a temporary folder under /tmp, removed afterwards) and
catalogues them in-process without text extraction (setup, not measured). The records are then marked as
indexed, so every command below measures its own work, not a first indexing of N records (the index
holds only what the watcher adds). Sizes are in files, which are also records.

Rows (medians of --runs, or of --samples files for the watcher):
  watch event CPU     one new file reconciled the way `zhikong watch` does (Reconciler.reconcile of the
                      event's path, with extraction and the index), CPU of this process; target ≤ 20 ms
  watch latency       `zhikong watch --stable 1` as a process: last write → record in the catalogue,
                      wall time including the 1 s stability window; target ≤ 1.5 s
  scan unchanged      `zhikong scan --json` as a new process, against the peer: the same tree walked by
                      os.scandir with a stat per file in a new Python process; target ≤ 3× and ≤ 2 s
  scan in-process     Reconciler.reconcile() of the unchanged tree against the same walk in-process
  check               `zhikong check --json` as a new process (bench/check_speed.py --centers 100
                      gives the issue's 33.6k records in 300 center-years)
  search, new process `zhikong search 督查` as a new process (start-up, imports and one query); ≤ 0.45 s
  handover (--handover) `zhikong handover create` of one center against `tar -cf` + `sha256sum`: first
                      with no page layouts made (LibreOffice lays out each file for the PDF compilation,
                      once), then with them kept, and the compilation alone; `--only '' --handover`
                      measures nothing else

Each row prints wall time, CPU (user + system) and peak memory (max RSS) of the process measured.
The index side of the issue's table (reindex docs/s and memory, index size, search p95, with Whoosh and
jieba's ChineseAnalyzer as the peer) is measured by bench/index_growth.py, on documents with text (these
records carry none).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from archive_speed import build

from zhikong.app import Archive
from zhikong.archive import handoverdocs
from zhikong.archive.catalogue import Catalogue
from zhikong.archive.ingest import Reconciler
from zhikong.archive.preserve import ObjectStore
from zhikong.archive.settings import load_settings

ZHIKONG = [sys.executable, "-m", "zhikong.cli"]
ROWS = ("scan", "watch", "check", "search", "latency")
# Children run from compiled bytecode, as an installed package does (pip compiles it on install); kept out
# of the source tree. A shell with PYTHONDONTWRITEBYTECODE set would otherwise compile every zhikong module
# from source in every measured process: ~0.15 s of CPU that no user pays.
CHILD_ENV = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "PYTHONPYCACHEPREFIX": str(Path(tempfile.gettempdir()) / "zhikong-growth-pycache"),
}
WALK = """
import os, sys
def walk(top, skip):
    n = 0
    stack = [top]
    while stack:
        with os.scandir(stack.pop()) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    if e.name != skip:
                        stack.append(e.path)
                else:
                    e.stat(follow_symlinks=False)
                    n += 1
    return n
"""
WALK_MAIN = 'print(walk(sys.argv[1], ".zhikong"))\n'


@dataclass(frozen=True)
class Cost:
    wall: float  # seconds
    cpu: float  # seconds, user + system
    peak_mb: float | None  # max RSS of the measured process; None in-process

    def __str__(self) -> str:
        peak = f", {self.peak_mb:.0f} MB" if self.peak_mb is not None else ""
        return f"{_t(self.wall)} wall, {_t(self.cpu)} CPU{peak}"


@dataclass(frozen=True)
class Row:
    operation: str
    size: int
    cost: Cost
    peer: Cost | None = None
    peer_name: str = ""
    note: str = ""


def _t(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def child(cmd: list[str], *, ok: tuple[int, ...] = (0,), cwd: Path | None = None) -> Cost:
    """Run `cmd` as a new process; its wall time, CPU and peak memory.

    Through GNU time where there is one: the rusage that wait4 gives for a child forked from this
    process counts this process's own pages in its peak, which grows with the corpus held here."""
    timing = Path("/usr/bin/time").exists()
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        wrapped = ["/usr/bin/time", "-f", "%U %S %M", "-o", out.name, *cmd] if timing else cmd
        start = time.perf_counter()
        done = subprocess.run(
            wrapped, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd, env=CHILD_ENV, check=False
        )
        wall = time.perf_counter() - start
        if done.returncode not in ok:
            raise RuntimeError(
                f"{cmd} exited {done.returncode}: {done.stderr.decode(errors='replace')[-2000:]}"
            )
        if not timing:
            return Cost(wall, float("nan"), None)
        user, system, peak_kb = out.read().split()[-3:]
    return Cost(wall, float(user) + float(system), int(peak_kb) / 1024)


def median_cost(costs: list[Cost]) -> Cost:
    peaks = [c.peak_mb for c in costs if c.peak_mb is not None]
    return Cost(
        statistics.median(c.wall for c in costs),
        statistics.median(c.cpu for c in costs),
        max(peaks) if peaks else None,
    )


def repeat(runs: int, measure: Callable[[], Cost]) -> Cost:
    return median_cost([measure() for _ in range(runs)])


def prepare(root: Path, files: int) -> float:
    """Generate and catalogue `files` files; the seconds it took (setup, not measured)."""
    start = time.perf_counter()
    build(root, files)
    settings = load_settings(root)
    with Catalogue.open(settings.system_dir) as cat:
        report = Reconciler(settings, cat).reconcile()
        assert len(report.added) == files, report.counts()
    db = sqlite3.connect(settings.system_dir / "catalogue.sqlite")
    with db:
        db.execute("UPDATE records SET indexed_revision = revision")
    db.close()
    return time.perf_counter() - start


# -- the rows -------------------------------------------------------------------------------------------


def watch_event(root: Path, size: int, samples: int) -> Row:
    """One new file through the watcher's own reconcile (the event's path only), in this process."""
    arc = Archive.open(root)
    inbox = root / "护理质控中心" / "2026" / "2026-11-02 growth"
    inbox.mkdir(parents=True, exist_ok=True)
    costs = []
    with arc.session("bench") as s:
        warm = inbox / "会议纪要-warm.txt"  # the first file starts the extraction worker and opens the index
        warm.write_text("督查会议纪要", encoding="utf-8")
        s.reconciler.reconcile([warm])
        for i in range(samples):
            path = inbox / f"会议纪要-event{i}.txt"
            path.write_text(f"第{i}次督查会议纪要 " * 30, encoding="utf-8")
            wall, cpu = time.perf_counter(), time.process_time()
            report = s.reconciler.reconcile([path])
            costs.append(Cost(time.perf_counter() - wall, time.process_time() - cpu, None))
            assert report.added == [path.relative_to(root).as_posix()], report.counts()
    return Row(
        "watch: reconcile one new file", size, median_cost(costs), note="CPU of this process; target ≤ 20 ms"
    )


def active_count(root: Path) -> int:
    db = sqlite3.connect(root / ".zhikong" / "catalogue.sqlite", timeout=30)
    try:
        return int(db.execute("SELECT COUNT(*) FROM records WHERE state = 'active'").fetchone()[0])
    finally:
        db.close()


def watch_latency(root: Path, size: int, samples: int) -> Row:
    stable = 1.0
    log = root / ".zhikong" / "logs" / "watch.log"
    log.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [*ZHIKONG, "--root", str(root), "watch", "--stable", str(stable)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=CHILD_ENV,
    )
    latencies = []
    try:
        while not (log.exists() and "开始监视" in log.read_text(encoding="utf-8")):
            time.sleep(0.05)  # the start-up reconcile (a whole pass) is done once this line is logged
        base = active_count(root)
        inbox = root / "护理质控中心" / "2026" / "2026-11-03 latency"
        inbox.mkdir(parents=True, exist_ok=True)
        for i in range(samples):
            (inbox / f"会议纪要-latency{i}.txt").write_text(f"latency sample {i}", encoding="utf-8")
            written = time.perf_counter()
            while active_count(root) < base + i + 1:
                time.sleep(0.01)
            latencies.append(time.perf_counter() - written)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    med = statistics.median(latencies)
    return Row(
        "watch: stable → catalogued",
        size,
        Cost(med, float("nan"), None),
        note=f"wall incl. the {stable:.0f} s window; target ≤ 1.5 s",
    )


def scan_unchanged(root: Path, size: int, runs: int) -> list[Row]:
    def scan() -> Cost:
        return child([*ZHIKONG, "--root", str(root), "scan", "--json"])

    def walk() -> Cost:
        return child([sys.executable, "-c", WALK + WALK_MAIN, str(root)])

    # Unmeasured first: the bytecode cache and the page cache warm for both, and the scan's look into the
    # index for documents of records that never committed (which an unchanged archive does not repeat) is
    # made — twice for a new archive: the first look creates the index, so the second finds it changed.
    scan(), scan(), walk()
    scans, walks = [], []
    for _ in range(runs):  # alternating, so the page cache favours neither
        scans.append(scan())
        walks.append(walk())
    rows = [
        Row(
            "scan: unchanged files (new process)",
            size,
            median_cost(scans),
            median_cost(walks),
            "scandir walk",
        )
    ]

    settings = load_settings(root)
    inproc, floor = [], []
    for _ in range(runs):
        with Catalogue.open(settings.system_dir) as cat:
            start, cpu = time.perf_counter(), time.process_time()
            report = Reconciler(settings, cat).reconcile()
            inproc.append(Cost(time.perf_counter() - start, time.process_time() - cpu, None))
            assert report.unchanged >= size, report.counts()
        namespace: dict[str, object] = {}
        exec(WALK, namespace)  # the peer's own code, in this process
        start, cpu = time.perf_counter(), time.process_time()
        namespace["walk"](str(root), ".zhikong")  # type: ignore[operator]
        floor.append(Cost(time.perf_counter() - start, time.process_time() - cpu, None))
    rows.append(
        Row(
            "scan: unchanged files (in-process)",
            size,
            median_cost(inproc),
            median_cost(floor),
            "scandir walk",
        )
    )
    return rows


def check(root: Path, size: int, runs: int) -> Row:
    cmd = [*ZHIKONG, "--root", str(root), "check", "--json", "--as-of", "2026-11-24"]
    return Row("zhikong check (new process)", size, repeat(runs, lambda: child(cmd, ok=(0, 1))))


def search_process(root: Path, size: int, runs: int) -> Row:
    cmd = [*ZHIKONG, "--root", str(root), "search", "督查"]
    return Row("zhikong search (new process)", size, repeat(runs, lambda: child(cmd)), note="target ≤ 0.45 s")


def handover(root: Path, size: int, runs: int, work: Path) -> list[Row]:
    """`handover create` of one center (half the files) as a new process, beside tar + sha256sum of the
    same files: first with no page layouts made yet (LibreOffice lays out every Office or text file for
    the PDF compilation; the previews cache is emptied before each run), then again with them kept (as
    after a first handover, or once the web pages have shown the files); and, in this process, the
    compilation alone from the kept layouts (pypdf joining one PDF per file)."""
    center = "护理质控中心"
    listing = work / "files.txt"
    listing.write_bytes(b"\0".join(os.fsencode(p) for p in sorted((root / center).rglob("*")) if p.is_file()))
    previews = root / ".zhikong" / "previews"

    def create(run: int) -> Cost:
        bundle = work / f"bundle-{run}"
        cmd = [*ZHIKONG, "--root", str(root), "handover", "create", "--center", center]
        try:
            return child([*cmd, "--to", "金乡县中医院", "--out", str(bundle), "--processes", "2"])
        finally:
            shutil.rmtree(bundle, ignore_errors=True)

    def peer(run: int) -> Cost:
        tarball = work / f"peer-{run}.tar"
        script = f'tar -cf "{tarball}" -C "{root}" "{center}" && xargs -0 sha256sum < "{listing}" > "{tarball}.sha256"'
        try:
            return child(["sh", "-c", script])
        finally:
            tarball.unlink(missing_ok=True)
            Path(f"{tarball}.sha256").unlink(missing_ok=True)

    firsts, agains, peers = [], [], []
    for run in range(runs):
        shutil.rmtree(previews, ignore_errors=True)
        firsts.append(create(run))
        peers.append(peer(run))
    for run in range(runs):
        agains.append(create(run))
        peers.append(peer(run))
    files = size // 2
    tar = median_cost(peers)
    return [
        Row("handover create, first (layouts made)", files, median_cost(firsts), tar, "tar + sha256sum"),
        Row("handover create, layouts kept", files, median_cost(agains), tar, "tar + sha256sum"),
        Row("  of which the PDF compilation", files, repeat(runs, lambda: compilation(root, center, work))),
    ]


def compilation(root: Path, center: str, work: Path) -> Cost:
    """The handover's PDF compilation alone, in this process, from the layouts kept in the previews."""
    settings = load_settings(root)
    store = ObjectStore(settings.system_dir)
    with Catalogue.open(settings.system_dir) as cat:
        rows = [r for r in cat.record_rows() if r["center"] == center and r["state"] == "active"]
    entries = [
        handoverdocs.PdfEntry(
            r["year"],
            r["category"],
            r["title"] or Path(r["path"]).stem,
            store.path_of(r["sha256"]),
            Path(r["path"]).suffix,
            r["sha256"],
        )
        for r in sorted(rows, key=lambda r: (r["year"] or 0, r["category"], r["path"]))
    ]
    out = work / "compilation.pdf"
    start, before = time.perf_counter(), os.times()
    handoverdocs.compile_pdfs(out, entries, title=center, cache=settings.system_dir / "previews")
    after = os.times()  # with the children's: LibreOffice lays out a cover page when a file is left out
    cpu = sum(after[:4]) - sum(before[:4])
    cost = Cost(time.perf_counter() - start, cpu, None)
    out.unlink()
    return cost


# -- output ---------------------------------------------------------------------------------------------


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def show(row: Row) -> None:
    cost = row.cost
    text = f"{_t(cost.wall)} wall" if cost.cpu != cost.cpu else str(cost)  # nan: wall time only
    line = f"  {row.operation:<40} {row.size:>7,}  {text}"
    if row.peer is not None:
        line += f"  | {row.peer_name}: {row.peer}; ratio wall {cost.wall / row.peer.wall:.2f}×, CPU {cost.cpu / row.peer.cpu:.2f}×"
    if row.note:
        line += f"  ({row.note})"
    print(line, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,5000,20000,100000", help="files per size, comma-separated")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--samples", type=int, default=5, help="files per watcher measurement")
    ap.add_argument("--work", type=Path, help="work folder (default: a temporary one under /tmp, removed)")
    ap.add_argument(
        "--handover", action="store_true", help="also time handover create against tar + sha256sum"
    )
    ap.add_argument(
        "--only",
        help=f"comma-separated rows to measure (default: all): {', '.join(ROWS)}",
    )
    ap.add_argument(
        "--keep",
        action="store_true",
        help="keep each generated archive under --work, and measure one already there instead of making it again",
    )
    args = ap.parse_args()
    only = set(ROWS) if args.only is None else {r.strip() for r in args.only.split(",") if r.strip()}
    if only - set(ROWS):
        ap.error(f"--only: unknown rows {sorted(only - set(ROWS))}; rows: {', '.join(ROWS)}")
    if args.keep and args.work is None:
        ap.error("--keep needs --work")
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    work = args.work or Path(tempfile.mkdtemp(prefix="zhikong-growth-", dir="/tmp"))
    print(f"machine: {machine()}")
    print(f"at start: {load()} (other processes share the CPU); {date.today()}")
    print(f"medians of {args.runs} runs ({args.samples} files for the watcher); sizes in files (= records)")
    try:
        for size in sizes:
            root = work / f"archive-{size}"
            if args.keep and (root / ".zhikong" / "catalogue.sqlite").exists():
                print(f"\n{size:,} files: the archive kept from an earlier run; {load()}", flush=True)
            else:
                shutil.rmtree(root, ignore_errors=True)
                print(
                    f"\n{size:,} files: generated and catalogued in {prepare(root, size):.1f} s; {load()}",
                    flush=True,
                )
            # The watcher rows add files, so a kept archive grows by them: the scan rows come first.
            if "scan" in only:
                for row in scan_unchanged(root, size, args.runs):
                    show(row)
            if "watch" in only:
                show(watch_event(root, size, args.samples))
            if "check" in only:
                show(check(root, size, args.runs))
            if "search" in only:
                show(search_process(root, size, args.runs))
            if "latency" in only:
                show(watch_latency(root, size, args.samples))
            if args.handover:
                for row in handover(root, size, args.runs, work):
                    show(row)
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nat end: {load()}")


if __name__ == "__main__":
    main()
