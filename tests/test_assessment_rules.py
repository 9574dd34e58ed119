"""The rule set writes down, for every item of the form, what counts as evidence, how points are lost and
what the assessor will open; every check rule costs points on an item that lists it (so `score` can be
read from `check`), and a rule set that breaks this is refused in Chinese before anything is scored."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomlkit
from archives import complete_archive
from click.testing import CliRunner

from zhikong.archive.evidence import kinds_of
from zhikong.archive.rules import load_rules, shipped_rules


@pytest.mark.parametrize("name", shipped_rules())
def test_every_item_says_what_counts_and_how_points_are_lost(name: str) -> None:
    rules = load_rules(name)
    assert len(rules.items) == 21 and sum(i.max for i in rules.items) == rules.total == 100
    for item in rules.items:
        assert item.evidence and item.deduct and item.opens, item.no
        assert bool(item.rules) == (item.method == "archive"), item.no
    listed = [r for i in rules.items for r in i.rules]
    assert sorted(listed) == sorted(rules.checks)  # each check rule belongs to exactly one item
    for rule in rules.checks.values():
        assert float(rule.params["cost"]) > 0, rule.rule
        for kind in kinds_of(rule.params):
            assert kind.categories or kind.title_words or kind.subjects or kind.paper_register, kind
    # the content items name the kinds of evidence, not bare keywords
    for rule in ("core_systems.evidence", "key_areas.quality", "grassroots.guidance", "data.analysis"):
        kinds = kinds_of(rules.check(rule).params)
        assert kinds and all(k.categories for k in kinds), rule
        assert "签到表" not in {c for k in kinds for c in k.categories} and "课件" not in {
            c for k in kinds for c in k.categories
        }


def test_a_rule_set_that_scores_a_check_nowhere_is_refused(tmp_path: Path, runner: CliRunner) -> None:
    run = complete_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    (root / "本县规则.toml").write_text(
        'extends = "jinxiang-2026"\nname = "某县"\n[checks."meetings.count"]\nitem = 8\n', encoding="utf-8"
    )
    doc = tomlkit.parse((root / "zhikong.toml").read_text(encoding="utf-8"))
    doc["rules"] = "本县规则.toml"
    (root / "zhikong.toml").write_text(tomlkit.dumps(doc), encoding="utf-8")
    for command in ("check", "score"):
        args = ["--center", "护理质控中心"] if command == "score" else []
        refused = run(command, *args, expect=3)
        assert "考核规则集" in refused.output and "meetings.count" in refused.output
        assert "Traceback" not in refused.output


def test_subjects_expand_as_the_search_expands_them() -> None:
    from zhikong.archive.evidence import Subjects
    from zhikong.indexer.analysis import Synonyms

    ours, search = Subjects(), Synonyms.load()
    rules = load_rules("jinxiang-2026")
    words = {w for r in rules.checks.values() for k in kinds_of(r.params) for w in k.subjects}
    assert {"院感", "病历", "核心制度"} <= words
    for word in sorted(words | {"院感督查", "质控中心"}):
        assert {v.lower() for v in ours.of(word)} == set(search.variants(word, limit=100)), word
    assert "感控" in ours.of("院感") and "病案" in ours.of("病历")


def test_check_starts_without_the_search_index(tmp_path: Path, runner: CliRunner) -> None:
    import subprocess
    import sys

    run = complete_archive(tmp_path, runner)
    probe = (
        "import sys\nfrom click.testing import CliRunner\nfrom zhikong.cli import cli\n"
        f"CliRunner().invoke(cli, ['--root', {str(run.root)!r}, 'check', '--json'])\n"  # type: ignore[attr-defined]
        "print('whoosh' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
