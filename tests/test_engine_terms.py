"""The fast term builder both engines index with (indexer.termtext) holds exactly the analyser's terms."""

from __future__ import annotations

from collections import Counter

import pytest

from zhikong.indexer import termtext
from zhikong.indexer.analysis import tokens

TEXTS = [
    "5月10日开展院感防控督查，抽查病历40份。",
    "回头\n看 工作\r\n  部署；视频会议（第2次）",  # a word wrapped across lines is one run
    "醫院感染管理委員會 ＡＢＣ１２３ 病案号：A0012345",  # traditional script, full-width letters and digits
    "单",
    "甲 乙\n丙",
    "",
    "abc中文def 12,345 x",
    "İstanbul 中",  # lower() lengthens İ: offsets kept in analysis.normalize
]


@pytest.mark.parametrize("text", TEXTS)
def test_term_counts_are_the_analysers_terms(text: str) -> None:
    assert termtext.term_counts(text) == Counter(term for term, _start, _end in tokens(text))
