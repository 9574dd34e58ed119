"""Search quality on the generated evaluation set: recall@10 and nDCG@10, ours against two baselines.

    python -m bench.search_eval [--verbose] [--engine whoosh|tantivy]

Baselines, on the same documents and the same indexed text (title, activity folder, path, center,
category, body): Whoosh's default StandardAnalyzer with its default AND query parser (what generic tools
do), and jieba's ChineseAnalyzer for Whoosh with the same default AND parser.
recall@10 counts relevant documents in the top 10 out of min(|relevant|, 10); nDCG@10 uses binary gains.
"""

from __future__ import annotations

import argparse
import logging
import math
import tempfile
from collections.abc import Callable
from pathlib import Path

from whoosh import index as windex
from whoosh.analysis import StandardAnalyzer
from whoosh.fields import ID, TEXT, Schema
from whoosh.qparser import QueryParser

from bench.corpus import Doc, Query, documents, queries
from zhikong.indexer.index import ENGINES, IndexDoc, SearchIndex

K = 10
Searcher = Callable[[str], list[int]]


def index_doc(d: Doc) -> IndexDoc:
    return IndexDoc(d.doc_id, d.path, d.center + "质控中心", d.year, d.category, d.activity, d.activity_type,
                    d.date, d.title, d.text)  # fmt: skip


def full_text(d: Doc) -> str:
    return "\n".join([d.title, d.activity, d.path, d.center + "质控中心", d.category, d.text])


def ours(docs: list[Doc], tmp: Path, engine: str = "whoosh") -> Searcher:
    ix = SearchIndex.open(tmp / "ours", engine=engine)
    ix.rebuild(index_doc(d) for d in docs)
    return lambda q: [h.record_id for h in ix.search(q, limit=K)]


def whoosh_baseline(docs: list[Doc], tmp: Path, analyzer: object, name: str) -> Searcher:
    schema = Schema(doc_id=ID(stored=True), content=TEXT(analyzer=analyzer))
    (tmp / name).mkdir()
    ix = windex.create_in(str(tmp / name), schema)
    with ix.writer() as w:
        for d in docs:
            w.add_document(doc_id=str(d.doc_id), content=full_text(d))
    parser = QueryParser("content", schema)  # default group: AND
    searcher = ix.searcher()
    return lambda q: [int(hit["doc_id"]) for hit in searcher.search(parser.parse(q), limit=K)]


def recall_at_k(ranked: list[int], relevant: frozenset[int]) -> float:
    return len(set(ranked[:K]) & relevant) / min(len(relevant), K)


def ndcg_at_k(ranked: list[int], relevant: frozenset[int]) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, r in enumerate(ranked[:K]) if r in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), K)))
    return dcg / ideal


def evaluate(search: Searcher, qs: list[Query], verbose: bool) -> tuple[float, float]:
    recalls, ndcgs = [], []
    for q in qs:
        ranked = search(q.text)
        recalls.append(recall_at_k(ranked, q.relevant))
        ndcgs.append(ndcg_at_k(ranked, q.relevant))
        if verbose and recalls[-1] < 1:
            print(f"    R@10={recalls[-1]:.2f} {q.text!r} relevant={sorted(q.relevant)} got={ranked}")
    return sum(recalls) / len(qs), sum(ndcgs) / len(qs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list queries with recall below 1")
    parser.add_argument("--engine", choices=ENGINES, default="whoosh", help="the engine ours runs on")
    args = parser.parse_args()
    import jieba
    from jieba.analyse import ChineseAnalyzer

    jieba.setLogLevel(logging.WARNING)
    docs = documents()
    qs = queries(docs)
    print(f"evaluation set: {len(docs)} documents, {len(qs)} judged queries, "
          f"{sum(len(q.relevant) for q in qs)} relevant judgements")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        systems = {
            f"ours (bigrams + rjieba query words + synonyms, OR + coordination, {args.engine})": ours(
                docs, tmp, args.engine
            ),
            "baseline: Whoosh StandardAnalyzer, default AND": whoosh_baseline(
                docs, tmp, StandardAnalyzer(), "std"
            ),
            "baseline: jieba ChineseAnalyzer, default AND": whoosh_baseline(
                docs, tmp, ChineseAnalyzer(), "jieba"
            ),
        }
        print(f"{'system':<68} {'recall@10':>9} {'nDCG@10':>8}")
        for name, search in systems.items():
            recall, ndcg = evaluate(search, qs, args.verbose)
            print(f"{name:<68} {recall:>9.3f} {ndcg:>8.3f}")


if __name__ == "__main__":
    main()
