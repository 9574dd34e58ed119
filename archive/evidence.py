"""Evidence for the scoring items the archive can only show by content (核心制度, 重点领域, 基层指导, 数据分析).

One function, so the source can change: today it searches the catalogue's stored text (the `texts`
table) and titles; the search index (`indexer/`) can take its place without touching the scoring.
"""

from __future__ import annotations

from archive.catalogue import Catalogue, Record


def find_evidence(cat: Catalogue, center: str, year: int, keywords: list[str]) -> list[Record]:
    """Active records of a center-year whose path, title or text contains any of `keywords`."""
    if not keywords:
        return []
    like = " OR ".join(["r.path LIKE ? OR r.title LIKE ? OR t.text LIKE ?"] * len(keywords))
    args: list[object] = [center, year]
    for word in keywords:
        args += [f"%{word}%"] * 3
    rows = cat.conn.execute(
        f"""SELECT r.id FROM records r LEFT JOIN texts t ON t.record_id = r.id
            WHERE r.state = 'active' AND r.center = ? AND r.year = ? AND ({like}) ORDER BY r.path""",
        args,
    ).fetchall()
    return [cat.get(int(row[0])) for row in rows]
