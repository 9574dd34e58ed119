"""`zhikong demo` is the README's first command: it must run the main job end to end on a fresh folder."""

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
    again = invoke(runner, "demo", str(tmp_path), expect=2)
    assert "已存在" in again.output
