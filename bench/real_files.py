"""Real files from the wild (issue 12): scan the corpus in tests/samples/real/ and say, per format, what
was read correctly, what came out garbled or empty, what could not be read and why, and what the scan cost.

    python bench/real_files.py [--corpus tests/samples/real] [--format pdf --format ofd …] [--mixed-only]
    python bench/real_files.py --gather /work/.mirror      # bring the corpus back from fetched repositories

For each format, the files of that format are put in a fresh archive and `zhikong scan` runs over them
as a subprocess (so the figures include the extraction worker, LibreOffice, poppler and OCR processes);
then one scan of all files together (the "mixed" row) checks the 600 MB budget. Printed per format:

- files; ok / garbled / empty / needs OCR / unreadable-or-unsupported, as the catalogue stores them;
- read correctly: of the files a reference reader could read, how many we read correctly. A reference
  reader is independent of our extractors: pdftotext for PDF; LibreOffice's text export
  (`soffice --convert-to txt`) for .doc .docx .odt .rtf .wps; LibreOffice → .xlsx, then openpyxl, for
  .xls .ods, openpyxl for .xlsx; python-pptx for .pptx, LibreOffice → .pptx then python-pptx for .ppt
  .odp; for OFD every TextCode of every page and template, by a regular expression; for text files the
  encoding the source repository labels them with (chardet's test folders); for .zip/.rar the member
  names. Images have no reference (OCR output is only counted).
  **The rule**: whitespace (and a BOM) removed from both texts, a file is read correctly when its status
  is ok and the characters we stored cover at least 90 % of the reference's characters (multiset overlap
  |ours ∩ ref| / |ref| ≥ 0.9). Files whose reference reads no text at all (scans, which we OCR; empty
  files) are not counted: there is nothing to compare with;
- the reasons given for files not read, counted;
- peak memory: the largest sum of resident memory (RSS, /proc) of the scan process and all its
  descendants, polled every 20 ms; and the scan's wall time.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "samples" / "real"
CENTER = "护理质控中心"
# chardet's test folder names, as this corpus keeps them, and the encoding each means.
TEXT_ENCODINGS = {"big5": "big5hkscs", "gb2312": "gb18030", "euc-tw": "EUC-TW", "utf-8": "utf-8"}
_WS = re.compile(r"[\s\ufeff\u200b]+")  # whitespace, and the BOM LibreOffice's text export starts with
BIGGEST: dict[str, int] = {}  # program → largest RSS seen, over the whole run (printed with -v)
PSS_PEAK = [0]  # the largest proportional set size of a scan's tree, over the whole run


# -- the corpus ----------------------------------------------------------------------------------------


def corpus_files(corpus: Path) -> list[tuple[str, Path]]:
    """(format, path) of every file listed in SOURCES.csv that is present."""
    out = []
    with (corpus / "SOURCES.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            path = corpus / row["file"]
            if path.is_file():
                out.append((row["file"].split("/", 1)[0], path))
    return out


def gather(corpus: Path, mirror: Path) -> None:
    """Restore missing corpus files from repositories fetched into `mirror` (owner+name/repo, as the
    search tool's fetch leaves them), at the commit SOURCES.csv names."""
    missing = 0
    with (corpus / "SOURCES.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            target = corpus / row["file"]
            if target.is_file():
                continue
            git_dir = mirror / row["repository"].replace("/", "+") / "repo"
            done = subprocess.run(
                ["git", f"--git-dir={git_dir}", "show", f"{row['commit']}:{row['path']}"],
                capture_output=True,
                check=False,
            )
            if done.returncode != 0:
                missing += 1
                print(f"missing: {row['file']} ({row['repository']} {row['path']})", file=sys.stderr)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(done.stdout)
    print(f"gathered; {missing} still missing")


# -- reference readers -----------------------------------------------------------------------------------


def _soffice(src: Path, fmt: str, out: Path) -> Path | None:
    profile = out / "lo-profile"
    subprocess.run(
        ["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", fmt,
         "--outdir", str(out), str(src)],
        capture_output=True, timeout=180, check=False,
    )  # fmt: skip
    target = out / f"{src.stem}.{fmt.split(':')[0]}"
    return target if target.is_file() else None


def _openpyxl_text(path: Path) -> str:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        return "\n".join(
            str(v)
            for ws in wb.worksheets
            for row in ws.iter_rows(values_only=True)
            for v in row
            if v is not None
        )
    finally:
        wb.close()


def _pptx_text(path: Path) -> str:
    from pptx import Presentation

    parts = []

    def walk(shapes: object) -> None:
        for shape in shapes:  # type: ignore[attr-defined]
            if hasattr(shape, "shapes"):
                walk(shape.shapes)
            if getattr(shape, "has_text_frame", False):
                parts.append(shape.text_frame.text)
            if getattr(shape, "has_table", False):
                parts.extend(cell.text for row in shape.table.rows for cell in row.cells)

    for slide in Presentation(str(path)).slides:
        walk(slide.shapes)
    return "\n".join(parts)


def _ofd_text(path: Path) -> str:
    """Every TextCode of the pages the documents list, and of the templates those pages name (an OFD may
    carry templates or pages nothing refers to: they are not part of what a reader sees)."""
    import html

    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        xml = {n: zf.read(n).decode("utf-8", "replace") for n in names if n.endswith(".xml")}
    # The pages a Document.xml lists (a zip may hold an orphan page no viewer shows), else every page.
    listed = {
        f"{name.rsplit('/', 1)[0]}/{loc}".lstrip("/")
        for name, body in xml.items()
        if name.endswith("Document.xml")
        for loc in re.findall(r'<(?:\w+:)?Page\b[^>]*BaseLoc="([^"]+)"', body)
    }
    pages = [
        n for n in names if re.search(r"Pages/Page_\d+/Content\.xml$", n) and (not listed or n in listed)
    ]
    used = {i for n in pages for i in re.findall(r'TemplateID="([^"]+)"', xml[n])}
    templates = []
    for name, body in xml.items():
        if name.endswith("Document.xml"):
            for tid, loc in re.findall(
                r'<(?:\w+:)?TemplatePage\b[^>]*ID="([^"]+)"[^>]*BaseLoc="([^"]+)"', body
            ):
                if tid in used:
                    folder = name.rsplit("/", 1)[0]
                    templates.append(
                        f"{folder}/{loc.lstrip('/')}" if not loc.startswith("/") else loc.lstrip("/")
                    )
    parts = []
    for name in pages + [t for t in templates if t in xml]:
        parts += re.findall(r"<(?:\w+:)?TextCode\b[^>]*>([^<]*)</", xml[name])
    return "\n".join(html.unescape(p) for p in parts)


def reference(fmt: str, path: Path, work: Path) -> str | None:
    """The reference text, or None when no reference reader applies or it fails."""
    try:
        if fmt == "pdf":
            done = subprocess.run(["pdftotext", "-q", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                                  timeout=120, check=False)  # fmt: skip
            return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else None
        if fmt in ("doc", "docx", "odt", "rtf", "wps"):
            out = _soffice(path, "txt:Text (encoded):UTF8", work)
            return out.read_text("utf-8", "replace") if out else None
        if fmt == "xlsx":
            return _openpyxl_text(path)
        if fmt in ("xls", "ods"):
            out = _soffice(path, "xlsx", work)
            return _openpyxl_text(out) if out else None
        if fmt == "pptx":
            return _pptx_text(path)
        if fmt in ("ppt", "odp"):
            out = _soffice(path, "pptx", work)
            return _pptx_text(out) if out else None
        if fmt == "ofd":
            return _ofd_text(path)
        if fmt == "text":
            return _reference_text(path)
        if fmt == "zip":
            with zipfile.ZipFile(path) as zf:
                return "\n".join(n for n in zf.namelist() if not n.endswith("/"))  # files, not folders
    except Exception:  # a reference reader failing means: no reference for this file
        return None
    return None


def _reference_text(path: Path) -> str | None:
    label = path.parent.name
    data = path.read_bytes()
    if label == "utf-16":
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return data.decode("utf-16")
        return data.decode("utf-16-be" if "be" in path.name.lower() else "utf-16-le")
    encoding = TEXT_ENCODINGS.get(label)
    if encoding == "EUC-TW":
        done = subprocess.run(
            ["iconv", "-f", "EUC-TW", "-t", "UTF-8"], input=data, capture_output=True, check=False
        )
        return done.stdout.decode("utf-8") if done.returncode == 0 else None
    if encoding:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            return data.decode("cp1252", "replace") if label == "utf-8" else None
    return None


def overlap(ours: str, ref: str) -> float:
    a, b = Counter(_WS.sub("", ours)), Counter(_WS.sub("", ref))
    total = sum(b.values())
    return sum((a & b).values()) / total if total else 1.0


# -- scanning and measuring ----------------------------------------------------------------------------


def _pss(pid: int) -> int:
    """Proportional set size: resident bytes with each shared page divided among the processes sharing it
    (the extraction worker shares its imported libraries with the forkserver it was forked from)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _tree_rss(pid: int, biggest: dict[str, int] | None = None, pss: list[int] | None = None) -> int:
    """Resident bytes of `pid` and all its descendants; `biggest` collects each program's largest RSS,
    `pss` (one element) receives the tree's proportional set size."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            with open(f"/proc/{p}/statm", "rb") as fh:
                rss = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            total += rss
            if pss is not None:
                pss[0] += _pss(p)
            if biggest is not None:
                with open(f"/proc/{p}/cmdline", "rb") as fh:
                    argv = fh.read().split(b"\0")
                name = _program(argv)
                biggest[name] = max(biggest.get(name, 0), rss)
        except (OSError, IndexError, ValueError):
            continue
    return total


def _program(argv: list[bytes]) -> str:
    text = " ".join(a.decode("utf-8", "replace") for a in argv)
    if "forkserver" in text:
        return "forkserver / extraction worker"
    if "zhikong" in text and " scan" in text:
        return "zhikong scan"
    return Path(argv[0].decode("utf-8", "replace")).name or "?"


def scan(files: list[tuple[str, Path]], workdir: Path) -> tuple[Path, float, int, str]:
    """A fresh archive holding `files`, scanned once: (root, seconds, peak RSS bytes, scan's stderr)."""
    root = workdir / "archive"
    zhikong = [shutil.which("zhikong") or str(Path(sys.executable).parent / "zhikong")]
    subprocess.run([*zhikong, "init", str(root), "--county", "金乡县", "--bureau", "金乡县卫生健康局",
                    "--doc-prefix", "金卫健字", "--fonds", "Z109"], check=True, capture_output=True)  # fmt: skip
    subprocess.run([*zhikong, "--root", str(root), "center", "add", CENTER, "--code", "HL",
                    "--host", "金乡县人民医院"], check=True, capture_output=True)  # fmt: skip
    folder = root / CENTER / "2026" / "2026-03-15 真实文件"
    for _fmt, path in files:
        target = folder / _rel(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    start = time.monotonic()
    process = subprocess.Popen([*zhikong, "--root", str(root), "scan"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)  # fmt: skip
    peak = 0
    while process.poll() is None:
        pss = [0]
        peak = max(peak, _tree_rss(process.pid, BIGGEST, pss))
        PSS_PEAK[0] = max(PSS_PEAK[0], pss[0])
        time.sleep(0.02)
    seconds = time.monotonic() - start
    stderr = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
    if process.returncode not in (0, 1):
        print(f"scan exited {process.returncode}:\n{stderr[-2000:]}", file=sys.stderr)
    return root, seconds, peak, stderr


def stored(root: Path) -> dict[str, tuple[str, str, str]]:
    """path within the format folder → (status, reason, text)."""
    db = root / ".zhikong" / "catalogue.sqlite"
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT r.path, r.extract_status, r.extract_reason, t.text FROM records r "
            "LEFT JOIN texts t ON t.record_id = r.id"
        ).fetchall()
    return {p.split("真实文件/", 1)[1]: (s or "", r or "", t or "") for p, s, r, t in rows}


@dataclass
class Row:
    fmt: str
    files: int = 0
    status: Counter[str] = field(default_factory=Counter)
    with_ref: int = 0
    correct: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    peak: int = 0
    wrong: list[str] = field(default_factory=list)


def measure(fmt: str, files: list[tuple[str, Path]], check: bool) -> Row:
    row = Row(fmt, files=len(files))
    with tempfile.TemporaryDirectory(prefix="zhikong-real-") as tmp:
        root, row.seconds, row.peak, _ = scan(files, Path(tmp))
        results = stored(root)
        for f, path in files:
            key = _rel(path)
            status, reason, text = results.get(key, ("missing", "not catalogued", ""))
            row.status[status] += 1
            if status not in ("ok",):
                row.reasons[_short(reason) if reason else status] += 1
            if not check:
                continue
            ref = reference(f, path, Path(tmp))
            if ref is None:
                continue
            if _WS.sub("", ref) == "":
                continue  # the reference read nothing (a scan, an empty file): nothing to compare with
            row.with_ref += 1
            good = status == "ok" and overlap(text, ref) >= 0.9
            row.correct += good
            if not good:
                row.wrong.append(f"{key} [{status}] {overlap(text, ref):.2f}")
    return row


def _rel(path: Path) -> str:
    """The file's path inside the corpus (format folder first), which is also its path in the archive."""
    parts = path.parts
    return "/".join(parts[parts.index("real") + 1 :]) if "real" in parts else path.name


def _short(reason: str) -> str:
    return re.sub(r"\d[\d,]*", "N", reason.split("；")[0])[:60]


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


def report(rows: list[Row], verbose: bool) -> None:
    print(f"{'format':<7}{'files':>6}{'ok':>5}{'correct':>10}{'garbled':>8}{'empty':>6}{'ocr?':>5}"
          f"{'unread':>7}{'peak':>9}{'time':>8}")  # fmt: skip
    for r in rows:
        s = r.status
        unread = s["unreadable"] + s["unsupported"] + s["missing"]
        correct = f"{r.correct}/{r.with_ref}" if r.with_ref else "—"
        print(f"{r.fmt:<7}{r.files:>6}{s['ok']:>5}{correct:>10}{s['garbled']:>8}{s['empty']:>6}"
              f"{s['needs_ocr']:>5}{unread:>7}{_mb(r.peak):>9}{r.seconds:>7.1f}s")  # fmt: skip
    print("\nreasons given for files not read (ok):")
    total: Counter[str] = Counter()
    for r in rows:
        if r.fmt != "mixed":
            total.update({f"[{r.fmt}] {k}": v for k, v in r.reasons.items()})
    for reason, n in total.most_common():
        print(f"  {n:>4}  {reason}")
    print(
        "\npeak is the sum of resident sizes (RSS) over the scan's process tree, which counts the pages the"
    )
    print(
        f"worker shares with its forkserver twice; the largest proportional set size (PSS) was {_mb(PSS_PEAK[0])}."
    )
    if verbose:
        print("\nlargest resident size per program:")
        for name, rss in sorted(BIGGEST.items(), key=lambda kv: -kv[1])[:8]:
            print(f"  {_mb(rss):>9}  {name}")
        for r in rows:
            for w in r.wrong:
                print(f"  not correct: {w}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--format", action="append", dest="formats")
    parser.add_argument("--mixed-only", action="store_true")
    parser.add_argument("--no-mixed", action="store_true")
    parser.add_argument("--gather", type=Path, metavar="MIRROR")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    if args.gather:
        gather(args.corpus, args.gather)
        return
    files = corpus_files(args.corpus)
    if not files:
        sys.exit(f"no corpus files under {args.corpus}: run with --gather MIRROR first (see its README.md)")
    formats = sorted({f for f, _ in files}) if not args.formats else args.formats
    rows = []
    if not args.mixed_only:
        for fmt in formats:
            rows.append(measure(fmt, [(f, p) for f, p in files if f == fmt], check=True))
            print(f"… {fmt} done", file=sys.stderr)
    if not args.no_mixed:
        mixed = measure("mixed", [(f, p) for f, p in files if f in formats], check=False)
        rows.append(mixed)
    report(rows, args.verbose)


if __name__ == "__main__":
    main()
