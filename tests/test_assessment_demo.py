"""The demo's self-assessment loses exactly what its planted gaps cost (archive/demo.PLANTED), plus what is
not yet due on the day it runs; `check` and `score` agree on it (issue 17: it printed 97 优秀 while `check`
listed four problems)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from archives import assert_agree
from click.testing import CliRunner
from conftest import as_json, invoke

from zhikong.archive.demo import PLANTED


def test_the_demo_scores_what_its_planted_gaps_allow(tmp_path: Path, runner: CliRunner) -> None:
    invoke(runner, "demo", str(tmp_path))
    root = tmp_path / "档案库"
    year = date.today().year

    def run(*args: str, expect: int | None = 0):  # type: ignore[no-untyped-def]
        return invoke(runner, "--root", str(root), *args, expect=expect)

    for center, planted in PLANTED.items():
        for day in (date.today().isoformat(), f"{year + 1}-01-15"):
            sheet = assert_agree(run, day, center=center, year=year)
            found = as_json(run("check", "--json", "--center", center, "--year", str(year), "--as-of", day,
                                expect=None))["findings"]  # fmt: skip
            assert {f["rule"] for f in found} <= set(planted), (center, day)
            for item in sheet["items"]:
                if item["by_bureau"]:
                    continue
                clean = not item["findings"] and not item["pending"]
                assert clean == (item["score"] == item["max"]), (center, day, item)
        # once the year is over every planted gap is a finding, and nothing else is
        assert {f["rule"] for f in found} == set(planted), center
