"""Evidence for the scoring items the archive can only show by content (核心制度, 重点领域, 基层指导, 数据分析).

The source is a parameter (`EvidenceFinder`): `cli.py` passes one backed by the search index, so the
synonym list applies (院感 finds 医院感染); `text_evidence` searches the catalogue's stored text and is
the fallback when no index is available (and what the library uses on its own).
"""

from __future__ import annotations

from collections.abc import Callable

from zhikong.archive.catalogue import Catalogue, Record

# (catalogue, center, year, keywords) -> the active records that evidence any of the keywords
EvidenceFinder = Callable[[Catalogue, str, int, list[str]], list[Record]]


def text_evidence(cat: Catalogue, center: str, year: int, keywords: list[str]) -> list[Record]:
    """Active records of a center-year whose file name, title or text contains any of `keywords`.

    The file name, not the whole path: "护理" in the folder "护理质控中心" is no evidence.
    """
    if not keywords:
        return []
    return cat.records_mentioning(center, year, keywords)
