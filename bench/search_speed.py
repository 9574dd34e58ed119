"""Indexing throughput, index size and search latency at archive scale.

    python -m bench.search_speed [--docs 5000] [--chars 3000] [--engine whoosh|tantivy]

Documents of about `--chars` Chinese characters are assembled deterministically from the evaluation
corpus (bench/corpus.py) with varied hospitals, people and numbers. Prints documents per second, the
index size on disk, search latency over the judged queries (each one's first run, when its posting lists
are still to be decoded, then warm p50/p95), and the end-to-end cost of a search in a fresh Python process
(import, index open, dictionary load, query).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.corpus import HOSPITALS, documents, queries
from bench.search_eval import index_doc
from zhikong.indexer.index import ENGINES, IndexDoc, SearchIndex


def big_docs(n: int, chars: int) -> Iterator[IndexDoc]:
    base = documents()
    rng = random.Random(7)
    for i in range(n):
        seed = base[i % len(base)]
        parts = [seed.text]
        while sum(map(len, parts)) < chars:
            other = rng.choice(base)
            parts.append(other.text.replace(other.hospital or "金乡县人民医院", rng.choice(HOSPITALS)))
            parts.append(f"抽查病历{rng.randint(1, 400)}份，合格{rng.randint(1, 400)}份。")
        doc = index_doc(seed)
        yield IndexDoc(i + 1, f"{seed.path}#{i}", doc.center, doc.year, doc.category, doc.activity,
                       doc.activity_type, doc.date, doc.title, "".join(parts)[:chars])  # fmt: skip


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def fresh_process_search(index_dir: Path, query: str, engine: str) -> float:
    code = (
        "from pathlib import Path; from zhikong.indexer.index import SearchIndex; "
        f"ix = SearchIndex.open(Path({str(index_dir)!r}), engine={engine!r}); ix.search({query!r})"
    )
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parent.parent)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--chars", type=int, default=3000)
    parser.add_argument("--engine", choices=ENGINES, default="whoosh")
    args = parser.parse_args()
    qs = [q.text for q in queries(documents())]
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, load {os.getloadavg()[0]:.2f}; "
          f"engine: {args.engine}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp_dir:
        index_dir = Path(tmp_dir) / "index"
        ix = SearchIndex.open(index_dir, engine=args.engine)
        docs = list(big_docs(args.docs, args.chars))
        total_chars = sum(len(d.text) for d in docs)
        start = time.perf_counter()
        ix.rebuild(docs)
        elapsed = time.perf_counter() - start
        print(f"corpus: {len(docs)} documents, {total_chars / len(docs):,.0f} characters each, "
              f"{total_chars / 1e6:.1f} M characters")  # fmt: skip
        print(f"indexing: {elapsed:.1f} s, {len(docs) / elapsed:,.1f} docs/s")
        print(f"index size on disk: {dir_size(index_dir) / 1e6:.1f} MB")
        ix.close()
        ix = SearchIndex.open(index_dir, engine=args.engine)
        ix.search("院感督查反馈")  # opens the searcher and loads the segmenter
        first = []
        for q in qs:  # each query's first run: its posting lists are read from disk and decoded
            t = time.perf_counter()
            ix.search(q)
            first.append((time.perf_counter() - t) * 1000)
        first.sort()
        print(f"first search of each query ({len(first)} queries, searcher open, posting lists not yet decoded): "
              f"p50 {statistics.median(first):.1f} ms, p95 {first[int(len(first) * 0.95) - 1]:.1f} ms, "
              f"max {first[-1]:.1f} ms")  # fmt: skip
        latencies = []
        for _round in range(5):
            for q in qs:
                t = time.perf_counter()
                ix.search(q)
                latencies.append((time.perf_counter() - t) * 1000)
        latencies.sort()
        p95 = latencies[int(len(latencies) * 0.95) - 1]
        print(f"warm search latency over {len(latencies)} searches ({len(qs)} queries × 5): "
              f"p50 {statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms, max {latencies[-1]:.1f} ms")  # fmt: skip
        ix.close()
        runs = sorted(
            fresh_process_search(index_dir, "去年院感督查的反馈意见", args.engine) for _ in range(3)
        )
        print(f"fresh process (python -c: import + open + dictionary + search): median {runs[1]:.2f} s")


if __name__ == "__main__":
    main()
