"""First import of new Word files at growing sizes (issue 19): `zhikong scan` reading and indexing them.

    python -m bench.import_growth [--sizes 1000,5000,20000] [--chars 3000] [--engine whoosh] [--work DIR]

For each size N it writes N .docx files of about `--chars` Chinese characters each (the texts of
bench.search_speed.big_docs, assembled deterministically from the evaluation corpus, one paragraph per
sentence) in the folder shape of bench/archive_speed.py (2 centers × 3 years × activity folders), then
runs `zhikong scan --json` once as a new process: every file is read by the extraction workers, catalogued
and indexed in batches. Prints wall time, CPU (the scan and its workers) and the scan process's peak memory,
files a second and CPU per file, so the growth from size to size shows whether the cost per file stays flat.
One run per size (each is a first import); the machine's load is printed before and after.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from bench.archive_speed import place
from bench.growth import ZHIKONG, child
from bench.search_speed import big_docs
from zhikong.archive.settings import Center, add_center, init_archive


def _template() -> tuple[dict[str, bytes], str]:
    """A blank document from python-docx: its parts, and its document.xml with a place for the body."""
    import docx

    buffer = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("@BODY@")
    document.save(buffer)
    with zipfile.ZipFile(buffer) as z:
        parts = {name: z.read(name) for name in z.namelist()}
    xml = parts.pop("word/document.xml").decode("utf-8")
    return parts, re.sub(r"<w:p>(?:(?!<w:p>).)*?@BODY@.*?</w:p>", "@BODY@", xml, flags=re.S)


def write_docx(path: Path, text: str, parts: dict[str, bytes], xml: str) -> None:
    body = "".join(
        f'<w:p><w:r><w:t xml:space="preserve">{escape(sentence)}</w:t></w:r></w:p>'
        for sentence in re.split(r"(?<=[。；！？])", text)
        if sentence
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
        z.writestr("word/document.xml", xml.replace("@BODY@", body))


def build(root: Path, files: int, chars: int, engine: str) -> None:
    settings = init_archive(
        root, county="金乡县", bureau="金乡县卫生健康局", doc_prefix="金卫健字", fonds="Z109"
    )
    for name, code in (("护理质控中心", "HL"), ("院感质控中心", "GR")):
        settings = add_center(settings, Center(name, code, "金乡县人民医院"), year=2026)
    if engine != "whoosh":
        toml = root / "zhikong.toml"
        toml.write_text(
            toml.read_text(encoding="utf-8") + f'\n[search]\nengine = "{engine}"\n', encoding="utf-8"
        )
    parts, xml = _template()
    for i, doc in enumerate(big_docs(files, chars)):
        write_docx(place(root, i, ".docx"), doc.text, parts, xml)


def _load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,5000,20000")
    ap.add_argument("--chars", type=int, default=3000)
    ap.add_argument("--engine", default="whoosh", choices=("whoosh", "tantivy"))
    ap.add_argument("--work", type=Path, help="folder for the generated archives (default: a temporary one)")
    args = ap.parse_args()
    print(
        f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}, {_load()}"
    )
    print(
        f"corpus: .docx files of {args.chars:,} characters (bench.search_speed.big_docs), engine {args.engine}"
    )
    work = Path(tempfile.mkdtemp(prefix="zhikong-import-", dir=args.work))
    try:
        for n in (int(s) for s in args.sizes.split(",")):
            root = work / f"archive-{n}"
            build(root, n, args.chars, args.engine)
            cost = child([*ZHIKONG, "--root", str(root), "scan", "--json"])
            print(
                f"  {n:>7,} files: {cost}; {n / cost.wall:.0f} files/s, {cost.cpu / n * 1000:.1f} ms CPU a file"
                f" ({_load()})",
                flush=True,
            )
            shutil.rmtree(root, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
