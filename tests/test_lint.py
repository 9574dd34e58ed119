"""Lint, format and types are part of the test suite: ruff and mypy run exactly as a developer runs them.

Also: the wheel installs one name, ``zhikong``, and carries the data files the product reads at run time.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, check=False)


def test_ruff_lint_is_clean() -> None:
    result = _run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = _run("ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_forbids_the_old_bare_imports(tmp_path: Path) -> None:
    """`from archive… import` would load a second copy of a module (or another project's `archive`)."""
    bad = ROOT / "tests" / "_bare_import_probe.py"
    bad.write_text("from archive.catalogue import Catalogue\nimport cli\n\nprint(Catalogue, cli)\n")
    try:
        result = _run("ruff", "check", "--no-cache", str(bad))
    finally:
        bad.unlink()
    assert result.returncode == 1
    assert "`archive` is banned" in result.stdout and "`cli` is banned" in result.stdout


def test_mypy_is_clean(tmp_path: Path) -> None:
    """mypy names modules after their folder, and the package's folder is the repository itself, so it
    checks the package through a link named `zhikong` (the same files, under their installed names)."""
    link = tmp_path / "zhikong"
    link.symlink_to(ROOT, target_is_directory=True)
    result = _run("mypy", "--config-file", str(ROOT / "pyproject.toml"), "-p", "zhikong", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cli.py" not in result.stdout  # sanity: errors would be listed per file


@pytest.mark.slow
def test_wheel_installs_one_name_with_its_data(tmp_path: Path) -> None:
    result = _run("pip", "wheel", "--no-deps", "-w", str(tmp_path), str(ROOT))
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = tmp_path.glob("zhikong-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"zhikong"}
    for needed in (
        "zhikong/__init__.py",
        "zhikong/cli.py",
        "zhikong/errors.py",
        "zhikong/archive/catalogue.py",
        "zhikong/archive/rules/jinxiang-2026.toml",
        "zhikong/archive/rules/hebei-province.toml",
        "zhikong/indexer/synonyms.txt",
        "zhikong/indexer/extractors/pdf.py",
        "zhikong/templates/notice.docx",
        "zhikong/templates/examples/notice.toml",
        "zhikong/templates/examples/sign_in.json",
        "zhikong/templates/README.md",
        "zhikong/web/templates/base.html",
        "zhikong/web/static/zhikong.css",
    ):
        assert needed in names, needed
    assert not any(n.startswith(("zhikong/tests/", "zhikong/bench/")) for n in names)
