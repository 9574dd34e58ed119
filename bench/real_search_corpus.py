"""The real-text search evaluation set: build it from its captures, validate it, and help judge it.

    python -m bench.real_search_corpus build        # raw/*.txt captures + OCR → docs.jsonl, SOURCES.csv
    python -m bench.real_search_corpus validate     # counts, ids, judgements, provenance
    python -m bench.real_search_corpus candidates 院感 督查   # judging aid: every document with a word

The set lives in bench/real_search/ and stays out of git: its texts are other people's web pages, not
ours to redistribute. What is in it:

- raw/*.txt: the texts as gathered from stored public web pages (the search tool's `pages` corpus), one
  capture a record, `@@@ <address>` then the page text as the corpus gave it (its excerpt of the page,
  navigation remnants, mojibake, pinyin glosses and all; long pages cut to their first part). A record
  whose corpus answer had no address says so in place of the address.
- docs.jsonl: one document a line (id, title, text, source, script, kind, center/year/category guesses).
  Web documents keep the raw text; OCR documents are the text that zhikong's own OCR path
  (`zhikong.indexer.ocr.recognize`) read from a picture of a web document's text drawn with Pillow in a
  CJK font, errors included, and name the document they were drawn from.
- queries.json: written by hand, each judged by reading the candidate documents (see `candidates`);
  never from a search engine's output.
- SOURCES.csv: id, source, title, retrieved date, licence/terms note.

`build` is deterministic: the same captures give the same documents and ids (OCR output is cached in
ocr_cache.json, keyed by the text drawn, so a rebuild does not depend on the OCR engine's version).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent / "real_search"
RAW = ROOT / "raw"
DOCS = ROOT / "docs.jsonl"
QUERIES = ROOT / "queries.json"
SOURCES = ROOT / "SOURCES.csv"
OCR_CACHE = ROOT / "ocr_cache.json"
RETRIEVED = "2026-11-30"
TERMS = "third-party public web page (stored copy); text not ours to redistribute: local evaluation only"
QUERY_KINDS = ("topic", "abbreviation", "name", "year_topic", "single_term", "traditional")
OCR_DOCS = 30  # web documents drawn and read back by OCR
MIN_DOCS, MIN_TRADITIONAL, MIN_OCR, MIN_QUERIES = 300, 30, 15, 80

# Characters OpenCC's t2s keeps but which a simplified query writes otherwise (衞 is Hong Kong's 衛).
_EXTRA_T2S = {"鑑": "鉴", "衞": "卫", "爲": "为", "綫": "线", "麽": "么", "着": "着"}


@dataclass
class Doc:
    id: int
    title: str
    text: str
    source: str
    script: str  # simplified / traditional / mixed
    kind: str  # web / ocr
    center: str = ""
    year: int | None = None
    category: str = ""
    note: str = ""
    extra: dict[str, str] = field(default_factory=dict)


# ---- script conversion (for detection and for judging in both scripts) ---------------------------------


@cache
def _converters() -> tuple[Any, Any]:
    import opencc  # a dependency of zhikong (its search folds traditional to simplified)

    return opencc.OpenCC("t2s"), opencc.OpenCC("s2t")


def to_simplified(text: str) -> str:
    return "".join(_EXTRA_T2S.get(c, c) for c in _converters()[0].convert(text))


def script_of(text: str) -> str:
    """simplified / traditional / mixed, from how many characters have a form of the other script."""
    chars = set(text)
    trad = sum(1 for c in chars if to_simplified(c) != c)
    simp = sum(1 for c in chars if _converters()[1].convert(c) != c)
    if min(trad, simp) >= 3 and min(trad, simp) > max(trad, simp) // 4:
        return "mixed"
    return "traditional" if trad > simp else "simplified"


# ---- guesses of where a record would be filed -------------------------------------------------------------

_CENTERS = (
    ("院感", ("院感", "感染", "感控", "手卫生", "手衛生", "手部衞生", "手部衛生", "消毒", "医疗废物")),
    ("护理", ("护理", "護理", "护士", "跌倒", "压疮")),
    ("病案", ("病案", "病历", "病歷", "编码")),
    ("药事", ("抗菌药物", "处方", "药事", "药学", "藥", "用药")),
    ("麻醉", ("麻醉",)),
    ("检验", ("检验", "檢驗", "室内质控", "实验室", "危急值")),
    ("输血", ("输血", "用血", "血液")),
    ("重症", ("重症", "ICU")),
    ("急诊", ("急诊", "胸痛", "卒中")),
    ("影像", ("影像", "放射")),
    ("病理", ("病理",)),
)
_CATEGORIES = (
    ("会议", ("会议", "會議", "年会", "座谈会", "述职")),
    ("培训", ("培训", "培訓", "讲座", "竞赛", "竞賽", "競賽", "大赛", "考试")),
    ("督查", ("督导", "督查", "检查", "巡查", "查核", "稽查", "评审", "評鑑", "认证", "認證")),
    ("制度", ("制度", "办法", "標準", "标准", "规范", "指标", "指標", "细则")),
    ("通知", ("通知", "公示", "通报", "通報", "公告")),
)


def guess_center(text: str) -> str:
    simp = to_simplified(text)
    scores = [(sum(simp.count(w) for w in words), name) for name, words in _CENTERS]
    best = max(scores)
    return best[1] if best[0] else "医务"


def guess_category(text: str) -> str:
    for name, words in _CATEGORIES:
        if any(w in text for w in words):
            return name
    return "其他"


def guess_year(text: str) -> int | None:
    m = re.search(r"(20[0-2]\d)\s*年", text) or re.search(r"\b(20[0-2]\d)[-/.]\d", text)
    return int(m.group(1)) if m else None


def guess_title(text: str) -> str:
    """The page's first line that reads like a heading or sentence (four CJK characters or more)."""
    for line in text.splitlines():
        line = line.strip()
        if len(re.findall(r"[\u4e00-\u9fff]", line)) >= 4:
            return line[:60]
    return text.strip().splitlines()[0][:60] if text.strip() else ""


# ---- captures → documents ------------------------------------------------------------------------------------


def read_captures() -> list[tuple[str, str, str]]:
    """(capture file, source, text) in file order, duplicates of an address dropped."""
    out: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for path in sorted(RAW.glob("*.txt")):
        parts = re.split(r"^@@@ (.*)$", path.read_text(encoding="utf-8"), flags=re.M)
        for i in range(1, len(parts), 2):
            source, text = parts[i].strip(), parts[i + 1].strip("\n")
            key = source if source.startswith("http") else source + text[:40]
            if key in seen or not text.strip():
                continue
            seen.add(key)
            out.append((path.name, source, text))
    return out


def make_doc(doc_id: int, source: str, text: str, kind: str, note: str = "") -> Doc:
    return Doc(doc_id, guess_title(text), text, source, script_of(text), kind, guess_center(text),
               guess_year(text), guess_category(text), note)  # fmt: skip


# ---- OCR documents ----------------------------------------------------------------------------------------


def cjk_font() -> str:
    out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True).stdout
    fonts = sorted(line.split(":")[0] for line in out.splitlines() if line.strip())
    sans = [f for f in fonts if "Sans" in f and "Bold" not in f]
    if not (sans or fonts):
        raise SystemExit("no CJK font (fc-list :lang=zh finds none): apt-get install fonts-noto-cjk")
    return (sans or fonts)[0]


def _lines_for_paper(text: str, width: int = 22, max_lines: int = 14) -> list[str]:
    flat = re.sub(r"\s+", " ", text).strip()
    return [flat[i : i + width] for i in range(0, min(len(flat), width * max_lines), width)]


def render(lines: list[str], font_path: str, jpeg: bool) -> bytes:
    """A page with `lines` drawn in a CJK font (as tests/conftest.py photo_of_paper), as PNG or JPEG."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(font_path, 36)
    img = Image.new("RGB", (960, 80 + 56 * len(lines)), "white")
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((40, 40 + 56 * i), line, fill=(20, 20, 20), font=font)
    buf = io.BytesIO()
    if jpeg:  # a phone photo: slightly turned, grey paper, JPEG artefacts
        img = img.rotate(1.2, expand=True, fillcolor=(235, 235, 230))
        img.save(buf, "JPEG", quality=55)
    else:
        img.save(buf, "PNG")
    return buf.getvalue()


def ocr_documents(web: list[Doc], start_id: int) -> list[Doc]:
    from zhikong.indexer import ocr

    cache: dict[str, str] = json.loads(OCR_CACHE.read_text("utf-8")) if OCR_CACHE.exists() else {}
    pool = [d for d in web if len(d.text) >= 150]
    step = max(1, len(pool) // OCR_DOCS)
    chosen = pool[::step][:OCR_DOCS]
    font = ""
    docs = []
    for n, src in enumerate(chosen):
        lines = _lines_for_paper(src.text)
        jpeg = n % 2 == 1
        key = hashlib.sha256(("\n".join(lines) + f"|jpeg={jpeg}").encode()).hexdigest()[:16]
        if key not in cache:
            font = font or cjk_font()
            cache[key] = ocr.recognize(render(lines, font, jpeg))
        note = (f"OCR (zhikong.indexer.ocr) of doc {src.id}'s first {len(lines)} lines drawn in a CJK font"
                f" as {'a turned JPEG photo' if jpeg else 'a PNG scan'}")  # fmt: skip
        doc = make_doc(start_id + n, src.source, cache[key], "ocr", note)
        doc.extra = {"ocr_of": str(src.id)}
        docs.append(doc)
    OCR_CACHE.write_text(json.dumps(cache, ensure_ascii=False, indent=0, sort_keys=True), "utf-8")
    return docs


# ---- commands ------------------------------------------------------------------------------------------------


def load_docs() -> list[Doc]:
    return [Doc(**json.loads(line)) for line in DOCS.read_text("utf-8").splitlines() if line.strip()]


def load_queries() -> list[dict[str, object]]:
    return json.loads(QUERIES.read_text("utf-8")) if QUERIES.exists() else []


def build() -> None:
    web = [
        make_doc(i + 1, src, text, "web", f"capture {f}") for i, (f, src, text) in enumerate(read_captures())
    ]
    docs = web + ocr_documents(web, len(web) + 1)
    with DOCS.open("w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps(asdict(d), ensure_ascii=False) + "\n")
    with SOURCES.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "source", "title", "retrieved", "terms"])
        for d in docs:
            origin = d.source if d.kind == "web" else f"{d.note}; page {d.source}"
            w.writerow([d.id, origin, d.title, RETRIEVED, TERMS])
    summary(docs, load_queries())


def _counts(values: list[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(Counter(values).items()))


def summary(docs: list[Doc], queries: list[dict[str, object]]) -> None:
    print(f"{len(docs)} documents: {_counts([d.kind for d in docs])}; {_counts([d.script for d in docs])}")
    print(f"{len(queries)} queries: {_counts([str(q['kind']) for q in queries])}")


def validate() -> int:
    docs, queries = load_docs(), load_queries()
    problems = []
    ids = [d.id for d in docs]
    if ids != list(range(1, len(docs) + 1)):
        problems.append("document ids are not 1..N in order")
    if len(docs) < MIN_DOCS:
        problems.append(f"{len(docs)} documents, fewer than {MIN_DOCS}")
    if sum(d.script == "traditional" for d in docs) < MIN_TRADITIONAL:
        problems.append(f"fewer than {MIN_TRADITIONAL} traditional-script documents")
    if sum(d.kind == "ocr" for d in docs) < MIN_OCR:
        problems.append(f"fewer than {MIN_OCR} OCR documents")
    if any(not d.source for d in docs):
        problems.append("a document without its source")
    if len(queries) < MIN_QUERIES:
        problems.append(f"{len(queries)} queries, fewer than {MIN_QUERIES}")
    known = set(ids)
    for q in queries:
        if q.get("kind") not in QUERY_KINDS:
            problems.append(f"query {q.get('id')}: kind {q.get('kind')!r}")
        rel = q.get("relevant") or []
        if not rel or not set(rel) <= known:  # type: ignore[arg-type]
            problems.append(f"query {q.get('id')}: relevant ids missing or unknown")
        if q.get("judged_by") != "reading":
            problems.append(f"query {q.get('id')}: not judged by reading")
    if len({q.get("id") for q in queries}) != len(queries):
        problems.append("duplicate query ids")
    summary(docs, queries)
    for p in problems:
        print("PROBLEM:", p)
    return 1 if problems else 0


def candidates(words: list[str]) -> None:
    """Every document containing any of `words` (compared in simplified script, ignoring spaces), with
    the words it has and its title: the pool a judge reads."""
    docs = load_docs()
    want = [to_simplified(w) for w in words]
    for d in docs:
        simp = to_simplified(re.sub(r"\s+", "", d.text))
        hits = [w for w in want if w in simp]
        if hits:
            print(f"{d.id:4d} {d.kind:3s} {d.script[:4]} {'+'.join(hits):20s} {d.title[:50]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("build", "validate", "candidates"))
    parser.add_argument("words", nargs="*")
    args = parser.parse_args()
    if args.command == "build":
        build()
    elif args.command == "validate":
        sys.exit(validate())
    else:
        candidates(args.words)


if __name__ == "__main__":
    main()
