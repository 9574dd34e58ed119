"""How indexing and search grow with the archive, per engine, with a peer side by side (issue 19).

    python -m bench.index_growth [--sizes 1000,5000,20000] [--runs 3] [--max-runs-above 5000 1]

For each size (documents of about 3,000 Chinese characters, assembled deterministically from the
evaluation corpus as bench.search_speed does), and for each system:

- zhikong on Whoosh (the default engine) and on tantivy: `SearchIndex.rebuild` streaming the documents
  from an SQLite file one at a time (as `zhikong reindex` streams them from the catalogue); then warm
  search latency over 50 typed queries (each run once, then three rounds timed) with the index as the
  rebuild left it, and again after the idle merge (`compact`, repeated until it merges nothing);
- the peer: Whoosh with jieba's ChineseAnalyzer (a plain Chinese setup), one writer, default commit,
  queries parsed by Whoosh's parser with OR, the top 20 with their stored fields (no snippets, no
  coordination, no synonyms: less work per query than ours).

Each run is a fresh Python process, so its peak RSS (ru_maxrss: the whole process, Python included; when
the rebuild ends as `rebuild_rss_mb`, and at the end of the run, after searches and merges, as `peak_rss_mb`) is
its own. Prints medians over `--runs` (fewer above 5,000 documents when asked: those take minutes), the
machine and its load (other work on it inflates every figure alike), and ratios to the peer.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.corpus import documents, queries

SYSTEMS = ("whoosh", "tantivy", "peer")
# Typed queries beyond the generated set's judged ones, of the kinds DOMAIN §5 lists (50 in all).
EXTRA_QUERIES = (
    "院感督查反馈", "去年护理质控工作会议", "病历质量 整改", "手卫生依从性", "金乡县人民医院",
    "抗菌药物处方点评", "危急值报告", "2025 年度工作总结", "ICU 呼吸机相关肺炎", "回头看",
    "视频会议", "技能竞赛", "述职报告", "压力性损伤 护理", "输血不良反应 上报", "麻醉复苏室 管理",
)  # fmt: skip


def corpus_file(n: int, chars: int, folder: Path) -> Path:
    """The n documents in an SQLite file (made once per size), read back one at a time by each run."""
    from bench.search_speed import big_docs

    path = folder / f"docs-{n}.sqlite"
    if path.exists():
        return path
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE docs (id INTEGER PRIMARY KEY, doc TEXT)")
    with db:
        for d in big_docs(n, chars):
            fields = {**vars(d), "date": d.date.isoformat() if d.date else None}
            db.execute(
                "INSERT INTO docs VALUES (?, ?)", (d.record_id, json.dumps(fields, ensure_ascii=False))
            )
    db.close()
    return path


def stream(path: Path) -> Iterator[object]:
    import datetime as dt

    from zhikong.indexer.index import IndexDoc

    db = sqlite3.connect(path)
    try:
        for (raw,) in db.execute("SELECT doc FROM docs ORDER BY id"):
            fields = json.loads(raw)
            fields["date"] = dt.date.fromisoformat(fields["date"]) if fields["date"] else None
            yield IndexDoc(**fields)
    finally:
        db.close()


def all_queries() -> list[str]:
    return [q.text for q in queries(documents())] + list(EXTRA_QUERIES)


def p95(search: object, qs: list[str]) -> float:
    for q in qs:  # first run of each: posting lists read and decoded
        search(q)  # type: ignore[operator]
    times = []
    for _round in range(3):
        for q in qs:
            t = time.perf_counter()
            search(q)  # type: ignore[operator]
            times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return times[int(len(times) * 0.95) - 1]


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def one_run(system: str, corpus: Path, n: int) -> dict[str, float]:
    """One system at one size, in this process (called in a fresh one by `main`)."""
    qs = all_queries()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "index"
        result: dict[str, float] = {}
        if system == "peer":
            import logging

            import jieba
            from jieba.analyse import ChineseAnalyzer
            from whoosh import index as windex
            from whoosh.fields import ID, STORED, TEXT, Schema
            from whoosh.qparser import OrGroup, QueryParser

            jieba.setLogLevel(logging.WARNING)
            schema = Schema(doc_id=ID(stored=True), path=STORED, content=TEXT(analyzer=ChineseAnalyzer()))
            folder.mkdir()
            ix = windex.create_in(str(folder), schema)
            start = time.perf_counter()
            with ix.writer() as w:
                for d in stream(corpus):
                    text = "\n".join([d.title, d.activity, d.path, d.center, d.category, d.text])  # type: ignore[attr-defined]
                    w.add_document(doc_id=str(d.record_id), path=d.path, content=text)  # type: ignore[attr-defined]
            result["docs_per_s"] = n / (time.perf_counter() - start)
            result["rebuild_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            result["size_mb"] = dir_size(folder) / 1e6
            parser = QueryParser("content", schema, group=OrGroup)
            searcher = ix.searcher()
            result["p95_ms"] = p95(
                lambda q: [h.fields() for h in searcher.search(parser.parse(q), limit=20)], qs
            )
            result["segments"] = len(ix._segments())
        else:
            from zhikong.indexer.index import SearchIndex

            index = SearchIndex.open(folder, engine=system)
            start = time.perf_counter()
            index.rebuild(lambda: stream(corpus))  # type: ignore[arg-type,return-value]
            result["docs_per_s"] = n / (time.perf_counter() - start)
            result["rebuild_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            result["size_mb"] = dir_size(folder) / 1e6
            result["segments"] = index.segment_count()
            result["p95_ms"] = p95(index.search, qs)
            start = time.perf_counter()
            while index.compact():
                pass
            result["merge_s"] = time.perf_counter() - start
            result["merged_segments"] = index.segment_count()
            result["merged_size_mb"] = dir_size(folder) / 1e6
            index.close()
            index = SearchIndex.open(folder, engine=system)
            result["merged_p95_ms"] = p95(index.search, qs)
            index.close()
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return result


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,20000")
    parser.add_argument("--chars", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-runs-above", nargs=2, type=int, metavar=("DOCS", "RUNS"), default=(5000, 1))
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--one", nargs=3, metavar=("SYSTEM", "CORPUS", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        system, corpus, n = args.one
        print(json.dumps(one_run(system, Path(corpus), int(n))))
        return
    print(f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python {sys.version.split()[0]}, "
          f"{_load()} at start")  # fmt: skip
    print(f"corpus: documents of {args.chars:,} characters (bench.search_speed.big_docs), "
          f"{len(all_queries())} queries (search p95 warm: each once, then 3 rounds)")  # fmt: skip
    systems = args.systems.split(",")
    keys = ("docs_per_s", "rebuild_rss_mb", "peak_rss_mb", "size_mb", "segments", "p95_ms", "merge_s", "merged_segments",
            "merged_p95_ms")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            corpus = corpus_file(n, args.chars, Path(tmp))
            runs = args.runs if n <= args.max_runs_above[0] else min(args.runs, args.max_runs_above[1])
            medians: dict[str, dict[str, float]] = {}
            for system in systems:
                results = []
                for _run in range(runs):
                    out = subprocess.run(
                        [sys.executable, "-m", "bench.index_growth", "--one", system, str(corpus), str(n)],
                        check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent,
                    )  # fmt: skip
                    results.append(json.loads(out.stdout.strip().splitlines()[-1]))
                medians[system] = {k: statistics.median(r[k] for r in results) for k in results[0]}
            print(f"\n{n:,} documents ({runs} run{'s' if runs > 1 else ''} each, medians; {_load()} after)")
            print(f"  {'system':<9}" + "".join(f"{k:>16}" for k in keys))
            for system, m in medians.items():
                print(f"  {system:<9}" + "".join(f"{m[k]:>16.1f}" if k in m else f"{'–':>16}" for k in keys))
            if "peer" in medians:
                peer = medians["peer"]
                for system in (s for s in systems if s != "peer"):
                    m = medians[system]
                    print(f"  {system} vs peer: indexing {m['docs_per_s'] / peer['docs_per_s']:.1f}× as fast, "
                          f"peak RSS when built {m['rebuild_rss_mb'] / peer['rebuild_rss_mb']:.2f}×, "
                          f"index {m['size_mb'] / peer['size_mb']:.2f}× the size, "
                          f"p95 {m['p95_ms'] / peer['p95_ms']:.2f}× after rebuild, "
                          f"{m['merged_p95_ms'] / peer['p95_ms']:.2f}× after the idle merge")  # fmt: skip


if __name__ == "__main__":
    main()
