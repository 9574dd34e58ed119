"""份号, 密级, 紧急程度 and seal-mode values are checked before a notice is written (GB/T 9704 §7.2, §7.3.5)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_layout import spec

from zhikong.errors import TemplateError
from zhikong.generator.notice import check_notice, render_notice


def codes(**changes: object) -> list[str]:
    return [problem.code for problem in check_notice(spec(**changes))]


def test_valid_marks_pass() -> None:
    assert codes(copy_number="000001", secrecy="机密", secrecy_term="1年", urgency="特急") == []
    assert codes(seal="none") == [] and codes(seal="signature", signer_title="主任") == []


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"copy_number": "12"}, "notice.copy_number"),
        ({"copy_number": "00000A"}, "notice.copy_number"),
        ({"secrecy": "内部"}, "notice.secrecy"),
        ({"secrecy_term": "1年"}, "notice.secrecy_term"),
        ({"urgency": "急件"}, "notice.urgency"),
        ({"seal": "stamp"}, "notice.seal"),
        ({"seal": "signature"}, "notice.signer_title"),
    ],
)
def test_bad_marks_are_named(changes: dict[str, object], code: str) -> None:
    assert code in codes(**changes)


def test_all_mark_problems_reported_together_and_nothing_written(tmp_path: Path) -> None:
    out = tmp_path / "notice.docx"
    with pytest.raises(TemplateError) as caught:
        render_notice(spec(copy_number="1", secrecy="内部", urgency="急"), out)
    assert {"notice.copy_number", "notice.secrecy", "notice.urgency"} <= {
        p.code for p in caught.value.problems
    }
    assert all("\n" not in p.message and p.message for p in caught.value.problems)
    assert not out.exists()
