"""`zhikong demo --serve` is the README's first command: the demo must run the main job end to end on a fresh
folder (its `--serve` half, the accounts and the server, is tested in test_web_serve.py)."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from conftest import as_json, invoke


def test_demo_runs_every_stage_and_leaves_a_working_archive(tmp_path: Path, runner: CliRunner) -> None:
    out = invoke(runner, "demo", str(tmp_path)).output
    for stage in (
        "zhikong scan",
        "zhikong search",
        "zhikong paper / check / score",
        "zhikong draft",
        "zhikong handover",
    ):
        assert stage in out, stage
    assert re.search(r"发文字号 金卫健字〔\d{4}〕1号", out)
    assert "路径与 sha256 完全一致" in out
    assert "哈希链校验通过" in out
    root = tmp_path / "档案库"
    records = as_json(invoke(runner, "--root", str(root), "ls", "--json"))
    assert len(records) >= 30 and all(r["sha256"] for r in records if r["kind"] == "electronic")
    assert (tmp_path / "新挂靠单位档案库" / "zhikong.toml").is_file()
    assert "zhikong demo --serve" in out  # where to look next: the browser
    again = invoke(runner, "demo", "--dir", str(tmp_path), expect=2)
    assert "已存在" in again.output


def test_readme_starts_with_the_demo_in_the_browser_and_the_tests() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", readme, re.S)
    assert block is not None and readme.index(block.group(0)) < readme.index("## ")
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert commands == [
        "pip install -e . && zhikong demo --serve",
        'pip install -e ".[test,ocr]" && python -m pytest',
    ]
    top = readme[: readme.index("## ")]
    assert "http://127.0.0.1:8000/" in top and "密码" in top
    english = readme[readme.index("# English") :]
    assert "zhikong demo --serve" in english and "http://127.0.0.1:8000/" in english
    assert "## 在县里的服务器上运行" in readme and "在县里的服务器上运行)" in english
