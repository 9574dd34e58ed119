"""Where a user looks at a record, its register values (题名, 日期, 责任者, 页数, 文号) show with where each came
from (issue 17): `zhikong ls --json` gives what the catalogue holds — nothing is read from a file while
listing — and the record's web page has a 著录 table with each value's source in Chinese, and its edit form
takes the 文号 too."""

from __future__ import annotations

import json
import re

from webtools import Site, page

from zhikong.archive.samplefiles import make_docx

NURSING = "护理质控中心"
INSPECTION = f"{NURSING}/2026/2026-05-10 护理质量督查"
REPORT = f"{INSPECTION}/整改报告.docx"


def _report(site: Site) -> None:
    make_docx(site.root / REPORT, "羊山镇卫生院整改报告",
              ["已完成整改。", "羊山镇卫生院", "2026年6月2日"])  # fmt: skip
    site.zk("scan")


def _listed(site: Site, path: str) -> dict:  # type: ignore[type-arg]
    rows = json.loads(site.zk("ls", "--json").stdout)
    return next(r for r in rows if r["path"] == path)


def _meta_table(body: str) -> dict[str, tuple[str, str]]:
    """The record page's 著录 table: label → (value, source)."""
    table = body.split('<table class="kv meta">', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r"<tr><th>(.+?)</th><td>(.*?)</td><td class=\"note\">(.*?)</td></tr>", table)
    return {label: (value, source) for label, value, source in cells}


def test_ls_json_shows_stored_values_and_their_sources(site: Site) -> None:
    _report(site)
    before = _listed(site, REPORT)
    # not read yet: listing reads no file, and says so
    assert before["meta_read"] is False and before["meta_sources"] == {}
    assert before["doc_date"] is None

    site.zk("edit", REPORT)  # reads the document's values
    read = _listed(site, REPORT)
    assert read["meta_read"] is True
    assert read["doc_date"] == "2026-06-02" and read["meta_sources"]["doc_date"] == "document"
    assert read["responsible"] == "羊山镇卫生院" and read["meta_sources"]["responsible"] == "document"
    assert read["pages"] and read["meta_sources"]["pages"] == "document"

    site.zk("edit", REPORT, "--doc-number", "羊卫〔2026〕7号", "--title", "整改报告（人工）")
    edited = _listed(site, REPORT)
    assert edited["doc_number"] == "羊卫〔2026〕7号" and edited["meta_sources"]["doc_number"] == "user"
    assert edited["title"] == "整改报告（人工）" and edited["meta_sources"]["title"] == "user"
    assert edited["meta_sources"]["doc_date"] == "document"  # the others keep theirs

    # a new version of the file: the stored values are no longer those of the current version
    make_docx(site.root / REPORT, "羊山镇卫生院整改报告（修订）", ["已完成整改。", "2026年6月9日"])
    site.zk("scan")
    assert _listed(site, REPORT)["meta_read"] is False


def test_record_page_shows_the_register_values_with_their_sources(site: Site) -> None:
    _report(site)
    site.add("刘敏", "secretary", NURSING)
    site.add("王秀英", "director", NURSING)
    rid = _listed(site, REPORT)["id"]

    reader = site.login("王秀英")
    unread = page(reader.get(f"/records/{rid}/"))
    assert "还没有从文件的当前版本读出著录项" in unread
    assert _meta_table(unread)["文号"] == ("—", "—")

    site.zk("edit", REPORT)
    body = page(reader.get(f"/records/{rid}/"))
    table = _meta_table(body)
    assert table["日期"] == ("2026-06-02", "文件内容")
    assert table["责任者"] == ("羊山镇卫生院", "文件内容")
    assert table["页数"][1] == "文件内容"
    assert "还没有从文件的当前版本读出著录项" not in body
    assert 'name="doc_number"' not in body  # a director only reads

    # the secretary's form takes the 文号; the page then shows it as set by hand
    c = site.login("刘敏")
    form = page(c.get(f"/records/{rid}/"))
    assert 'name="doc_number"' in form
    edit = {"title": "羊山镇卫生院整改报告", "doc_date": "2026-06-02", "responsible": "羊山镇卫生院",
            "pages": str(_listed(site, REPORT)["pages"]), "category": _listed(site, REPORT)["category"],
            "activity": "2026-05-10 护理质量督查", "doc_number": "羊卫〔2026〕7号"}  # fmt: skip
    bad = c.post(f"/records/{rid}/edit", edit | {"doc_number": "羊卫[2026]7号"})
    assert bad.status_code == 400 and "文号不对" in page(bad)
    done = c.post(f"/records/{rid}/edit", edit)
    assert done.status_code == 302
    table = _meta_table(page(c.get(done["Location"])))
    assert table["文号"] == ("羊卫〔2026〕7号", "人工修改")
    assert table["日期"] == ("2026-06-02", "文件内容")  # unchanged fields keep their source
    assert _listed(site, REPORT)["meta_sources"]["doc_number"] == "user"
    # the API's record list is `ls --json`'s, sources included
    auth = {"HTTP_AUTHORIZATION": f"Bearer {site.token('刘敏')}"}
    listed = site.client().get("/api/v1/records", **auth).json()
    mine = next(r for r in listed if r["path"] == REPORT)
    assert mine["meta_sources"]["doc_number"] == "user" and mine["meta_read"] is True
