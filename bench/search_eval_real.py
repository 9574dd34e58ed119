"""Search quality on REAL texts: recall@10, nDCG@10 and MRR@10 per query kind, ours against four baselines.

    python -m bench.search_eval_real [--verbose] [--engine whoosh|tantivy]

The set (bench/real_search/, kept out of git; `python -m bench.real_search_corpus build` rebuilds it
from its captures): documents from public web pages about medical quality control in both scripts,
noisy as they came, plus text read back by zhikong's own OCR; queries of the kinds people type (topic,
abbreviation, name, year_topic, single_term, traditional = a simplified query whose answers are partly
in traditional script), each judged by reading, never from a search engine's output.

Every system indexes the same text for a document (title, path, center, category, body; as
bench.search_eval). Baselines: Whoosh's default StandardAnalyzer with its default AND parser, jieba's
ChineseAnalyzer with AND and with OR, and overlapping character bigrams (Whoosh NgramAnalyzer(2)) with OR.
recall@10 counts relevant documents in the top 10 out of min(|relevant|, 10); nDCG@10 uses binary gains;
MRR@10 is 1/rank of the first relevant document in the top 10 (0 when none is there).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from whoosh import index as windex
from whoosh.analysis import NgramAnalyzer, StandardAnalyzer
from whoosh.fields import ID, TEXT, Schema
from whoosh.qparser import OrGroup, QueryParser

from bench.search_eval import K, ndcg_at_k, recall_at_k
from zhikong.indexer.index import ENGINES, IndexDoc, SearchIndex

ROOT = Path(__file__).resolve().parent / "real_search"
KINDS = ("topic", "abbreviation", "name", "year_topic", "single_term", "traditional")
Searcher = Callable[[str], list[int]]


@dataclass(frozen=True)
class RealDoc:
    doc_id: int
    title: str
    text: str
    kind: str  # web / ocr
    year: int | None
    path: str
    center: str
    category: str


@dataclass(frozen=True)
class RealQuery:
    qid: int
    text: str
    kind: str
    relevant: frozenset[int]


def load() -> tuple[list[RealDoc], list[RealQuery]]:
    docs = []
    for line in (ROOT / "docs.jsonl").read_text("utf-8").splitlines():
        if not line.strip():
            continue
        d = json.loads(line)
        # A neutral, plausible filing: the words of the path, center and category occur in no query, so
        # no system is helped or hurt by our guesses of where a page would be filed.
        category = "扫描件" if d["kind"] == "ocr" else "网页资料"
        docs.append(RealDoc(d["id"], d["title"], d["text"], d["kind"], d.get("year"),
                            f"评测资料/{category}/{d['id']:04d}.txt", "评测", category))  # fmt: skip
    queries = [RealQuery(q["id"], q["text"], q["kind"], frozenset(q["relevant"]))
               for q in json.loads((ROOT / "queries.json").read_text("utf-8"))]  # fmt: skip
    return docs, queries


def index_doc(d: RealDoc) -> IndexDoc:
    return IndexDoc(d.doc_id, d.path, d.center, d.year, d.category, "", "", None, d.title, d.text)


def full_text(d: RealDoc) -> str:
    return "\n".join([d.title, d.path, d.center, d.category, d.text])


def ours(docs: list[RealDoc], tmp: Path, engine: str = "whoosh") -> Searcher:
    ix = SearchIndex.open(tmp / "ours", engine=engine)
    ix.rebuild(index_doc(d) for d in docs)
    return lambda q: [h.record_id for h in ix.search(q, limit=K)]


def whoosh_baseline(docs: list[RealDoc], tmp: Path, analyzer: object, name: str, any_word: bool) -> Searcher:
    schema = Schema(doc_id=ID(stored=True), content=TEXT(analyzer=analyzer))
    (tmp / name).mkdir()
    ix = windex.create_in(str(tmp / name), schema)
    with ix.writer() as w:
        for d in docs:
            w.add_document(doc_id=str(d.doc_id), content=full_text(d))
    parser = QueryParser("content", schema, group=OrGroup) if any_word else QueryParser("content", schema)
    searcher = ix.searcher()
    return lambda q: [int(hit["doc_id"]) for hit in searcher.search(parser.parse(q), limit=K)]


def mrr_at_k(ranked: list[int], relevant: frozenset[int]) -> float:
    return next((1 / (i + 1) for i, r in enumerate(ranked[:K]) if r in relevant), 0.0)


Scores = dict[int, tuple[float, float, float]]  # query id → (recall, nDCG, MRR)


def evaluate(search: Searcher, qs: list[RealQuery]) -> tuple[Scores, dict[int, list[int]]]:
    scores, runs = {}, {}
    for q in qs:
        ranked = search(q.text)
        runs[q.qid] = ranked
        scores[q.qid] = (
            recall_at_k(ranked, q.relevant),
            ndcg_at_k(ranked, q.relevant),
            mrr_at_k(ranked, q.relevant),
        )
    return scores, runs


def mean(rows: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    n = len(rows) or 1
    return tuple(sum(r[i] for r in rows) / n for i in range(3))  # type: ignore[return-value]


def _marked(ids: list[int], relevant: frozenset[int]) -> str:
    return " ".join(f"{i}{'*' if i in relevant else ''}" for i in ids)


def report(
    systems: dict[str, tuple[Scores, dict[int, list[int]]]], qs: list[RealQuery], verbose: bool
) -> None:
    groups = [(k, [q for q in qs if q.kind == k]) for k in KINDS] + [("overall", qs)]
    width = max(len(name) for name in systems)
    for label, group in groups:
        if not group:
            continue
        print(f"\n{label} ({len(group)} queries)")
        print(f"  {'system':<{width}} {'recall@10':>9} {'nDCG@10':>8} {'MRR@10':>7}")
        for name, (scores, _) in systems.items():
            r, n, m = mean([scores[q.qid] for q in group])
            print(f"  {name:<{width}} {r:>9.3f} {n:>8.3f} {m:>7.3f}")
    if not verbose:
        return
    names = list(systems)
    ours_scores, ours_runs = systems[names[0]]
    print("\nqueries where ours scores a lower nDCG@10 than the best baseline (rel = relevant ids;"
          " ours/best = their top 10, * relevant)")  # fmt: skip
    for q in qs:
        best_name = max(names[1:], key=lambda s: systems[s][0][q.qid][1])
        best = systems[best_name][0][q.qid]
        if ours_scores[q.qid][1] + 1e-9 < best[1]:
            print(f"  [{q.kind}] {q.text!r}: ours nDCG {ours_scores[q.qid][1]:.2f} R {ours_scores[q.qid][0]:.2f}"
                  f" < {best_name.split(':')[-1].strip()} nDCG {best[1]:.2f} R {best[0]:.2f}")  # fmt: skip
            print(f"      rel={sorted(q.relevant)}")
            print(f"      ours: {_marked(ours_runs[q.qid], q.relevant)}")
            print(f"      best: {_marked(systems[best_name][1][q.qid], q.relevant)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list the queries ours loses on")
    parser.add_argument("--engine", choices=ENGINES, default="whoosh", help="the engine ours runs on")
    args = parser.parse_args()
    if not (ROOT / "docs.jsonl").exists() or not (ROOT / "queries.json").exists():
        print(f"{ROOT} has no docs.jsonl/queries.json: the set is kept out of git;"
              " build it with python -m bench.real_search_corpus build", file=sys.stderr)  # fmt: skip
        sys.exit(2)
    import jieba
    from jieba.analyse import ChineseAnalyzer

    jieba.setLogLevel(logging.WARNING)
    docs, qs = load()
    kinds = {k: sum(q.kind == k for q in qs) for k in KINDS}
    print(f"real evaluation set: {len(docs)} documents ({sum(d.kind == 'ocr' for d in docs)} OCR), "
          f"{len(qs)} judged queries ({', '.join(f'{k} {v}' for k, v in kinds.items())}), "
          f"{sum(len(q.relevant) for q in qs)} relevant judgements")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        builders: dict[str, Callable[[], Searcher]] = {
            f"ours (zhikong SearchIndex, {args.engine})": lambda: ours(docs, tmp, args.engine),
            "baseline: Whoosh StandardAnalyzer, AND": lambda: whoosh_baseline(
                docs, tmp, StandardAnalyzer(), "std", any_word=False
            ),
            "baseline: jieba ChineseAnalyzer, AND": lambda: whoosh_baseline(
                docs, tmp, ChineseAnalyzer(), "jieba_and", any_word=False
            ),
            "baseline: jieba ChineseAnalyzer, OR": lambda: whoosh_baseline(
                docs, tmp, ChineseAnalyzer(), "jieba_or", any_word=True
            ),
            "baseline: character bigrams, OR": lambda: whoosh_baseline(
                docs, tmp, NgramAnalyzer(2, 2), "bigram_or", any_word=True
            ),
        }
        systems = {name: evaluate(build(), qs) for name, build in builders.items()}
        report(systems, qs, args.verbose)


if __name__ == "__main__":
    main()
