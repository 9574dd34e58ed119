"""Checks and the annual assessment in the browser (web/assess.py): the checks page as of a date with what to
do and the reminders ahead, the 21-item form with the bureau's score beside the self-assessment (audited,
validated, only the bureau edits), the .docx and .xlsx exports, and the county ranking with its SVG charts.
The site's clock is 2026-06-15 (webtools.NOW)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from urllib.parse import quote

import pytest
from webtools import Site, page

from zhikong.app import Archive
from zhikong.archive.samplefiles import make_docx, make_pdf

NURSING, INFECTION = "护理质控中心", "院感质控中心"
MEETING = f"{NURSING}/2026/2026-03-15 第一次工作会议"
INSPECTION = f"{INFECTION}/2026/2026-04-02 院感防控督查"
TODAY = "2026-06-15"


@pytest.fixture
def web(site: Site) -> Site:
    make_docx(
        site.root / MEETING / "会议通知.docx", "关于召开第一次护理质控工作会议的通知", ["请各成员单位参加。"]
    )
    make_pdf(site.root / MEETING / "会议纪要.pdf", [["第一次护理质控工作会议纪要", "讨论跌倒评估表的使用。"]])
    make_docx(site.root / f"{NURSING}/2026/工作计划/2026年度工作计划.docx", "护理质控中心2026年度工作计划",
              ["全年召开两次工作会议。"])  # fmt: skip
    make_docx(site.root / INSPECTION / "督查记录.docx", "院感防控督查记录", ["手卫生依从性抽查。"])
    site.zk("scan")
    site.add("刘敏", "secretary", NURSING)
    site.add("王秀英", "director", NURSING)
    site.add("医政科张", "bureau")
    site.add("管理员甲", "admin")
    return site


def _rid(site: Site, path_end: str) -> int:
    rows = json.loads(site.zk("ls", "--json").stdout)
    return int(next(r["id"] for r in rows if r["path"].endswith(path_end)))


def _number(body: str, element_id: str) -> float:
    found = re.search(rf'id="{element_id}">([^<]+)<', body)
    assert found, element_id
    return float(found.group(1))


# -- checks ----------------------------------------------------------------------------------------------


def test_checks_page_gives_each_findings_cost_and_the_reminders_points(web: Site) -> None:
    """Each finding row says what it costs (as `check` counts it); a reminder says what it will cost at its
    deadline, under a heading that says it is not a finding."""
    c = web.login("刘敏")
    body = page(c.get(f"/checks/{NURSING}/2026/"))
    report = json.loads(web.zk("check", "--json", "--as-of", TODAY, "--center", NURSING, "--year", "2026",
                               expect=None).stdout)  # fmt: skip
    for f in report["findings"]:
        row = next(r for r in body.split("<tr>") if f["message"] in r)
        assert (f"扣 {f['cost']:g} 分" if f["cost"] else "不扣分") in row, f["rule"]
    assert any(f["cost"] for f in report["findings"])
    section = body.split("即将到期（截至", 1)[1].split("</section>", 1)[0]
    assert "不算问题" in section.split("</h2>", 1)[0]
    assert report["reminders"]
    for u in report["reminders"]:
        assert f"到期未完成，第 {u['item']} 项扣 {u['points']:g} 分" in section, u["rule"]
    tables = "".join(t.split("</table>", 1)[0] for t in body.split('<table class="list findings">')[1:])
    assert tables and not any(u["what"] in tables for u in report["reminders"])  # never among the findings


def test_checks_page_shows_findings_with_article_action_files_and_reminders(web: Site) -> None:
    c = web.login("刘敏")
    body = page(c.get(f"/checks/{NURSING}/2026/"))
    # Q1 has ended on 2026-06-15 with no case review: a finding, with the article, item and what to do
    assert "case_review.quarterly" in body and "J14(3)" in body and "考核第 7 项" in body
    assert "每季度开展一次病例抽查" in body
    # the meeting lacks its sign-in sheet: the finding links the files it looked at to their record pages
    assert "activity.materials" in body and "签到表" in body
    assert f'href="/records/{_rid(web, "会议通知.docx")}/"' in body
    # Q2's case review is due 30 June: a reminder with the days left (the last day counted), not a finding;
    # the half-year summary, due 31 July, is 47 days away: beyond the 30-day window (remind_days), not shown
    assert "第二季度重点病例抽查尚未开展，还剩 16 天" in body
    assert "summary.half_year" not in body and "半年工作总结" not in body
    # the nav link and the index page
    assert 'href="/checks/"' in body
    index = c.get("/checks/?as_of=2026-05-01")  # one center of hers: her center's page
    assert (
        index.status_code == 302 and index["Location"] == f"/checks/{quote(NURSING)}/2026/?as_of=2026-05-01"
    )
    overview = page(web.login("医政科张").get("/checks/"))
    assert 'class="list overview"' in overview and NURSING in overview and INFECTION in overview


def test_as_of_changes_the_findings(web: Site) -> None:
    c = web.login("刘敏")
    early = page(c.get(f"/checks/{NURSING}/2026/?as_of=2026-03-01"))
    late = page(c.get(f"/checks/{NURSING}/2026/?as_of=2026-08-15"))
    assert "case_review.quarterly" not in early  # no quarter has ended on 1 March
    assert "case_review.quarterly" in late
    assert "summary.half_year" in late and "summary.half_year" not in early  # 31 July has passed
    assert 'value="2026-08-15"' in late
    bad = c.get(f"/checks/{NURSING}/2026/?as_of=2026-13-40")
    assert bad.status_code == 200 and "日期格式应为 YYYY-MM-DD" in page(bad)


def test_secretary_refused_another_centers_checks_and_assessment(web: Site) -> None:
    c = web.login("刘敏")
    for url in (
        f"/checks/{INFECTION}/2026/",
        f"/assess/{INFECTION}/2026/",
        f"/assess/{INFECTION}/2026/form.docx",
    ):
        refused = c.get(url)
        assert refused.status_code == 403 and "无权" in page(refused), url
    assert INFECTION not in page(c.get("/checks/", follow=True))
    assert c.get("/checks/没有这个中心/2026/").status_code == 404
    bureau = page(web.login("医政科张").get(f"/checks/{INFECTION}/2026/"))
    assert "inspection.closed_loop" in bureau or "整改期内" in bureau


# -- the assessment form ------------------------------------------------------------------------------------


def test_assessment_totals_equal_the_score_command(web: Site) -> None:
    sheet = json.loads(
        web.zk("score", "--center", NURSING, "--year", "2026", "--as-of", TODAY, "--json").stdout
    )
    body = page(web.login("王秀英").get(f"/assess/{NURSING}/2026/"))
    assert _number(body, "self-total") == sheet["self_total"]
    assert _number(body, "projected") == sheet["projected"]
    assert _number(body, "bureau-total") == sheet["projected"]  # nothing graded yet
    assert sheet["tier"] in body
    for item in sheet["items"]:
        row = body.split(f'id="item-{item["no"]}"', 1)[1].split("</tr>", 1)[0]
        assert item["name"] in row
        shown = re.search(r'class="num selfscore">(.*?)</td>', row, re.S)
        assert shown is not None
        if item["score"] is None:
            assert "局评" in shown.group(1)
        else:
            assert float(re.sub(r"<[^>]+>", "", shown.group(1))) == item["score"]
    assert 'name="score_1"' not in body  # a director reads only


def test_bureau_grades_an_item_audited_and_the_total_follows(web: Site) -> None:
    sheet = json.loads(
        web.zk("score", "--center", NURSING, "--year", "2026", "--as-of", TODAY, "--json").stdout
    )
    item3 = next(i for i in sheet["items"] if i["no"] == 3)
    c = web.login("医政科张")
    saved = c.post(f"/assess/{NURSING}/2026/", {"score_3": "1.5", "note_3": "只开了一次工作会议"})
    assert saved.status_code == 302 and "saved=1" in saved["Location"]
    body = page(c.get(saved["Location"]))
    assert "已保存 1 项评分" in body and 'value="1.5"' in body and "只开了一次工作会议" in body
    assert _number(body, "bureau-total") == pytest.approx(
        sheet["projected"] - (item3["score"] or item3["max"]) + 1.5
    )
    assert _number(body, "self-total") == sheet["self_total"]  # the self-assessment is unchanged
    log = page(c.get("/log/?action=assess.score"))
    assert "考核评分" in log and "医政科张" in log and "只开了一次工作会议" in log
    entries = [e for e in Archive(web.root).log("测试").entries if e.action == "assess.score"]
    assert len(entries) == 1 and entries[0].detail["item"] == 3 and entries[0].detail["score"] == 1.5
    assert entries[0].actor == "医政科张" and entries[0].center == NURSING
    # the secretary reads the bureau's score, and saving the same values again records nothing new
    mine = page(web.login("刘敏").get(f"/assess/{NURSING}/2026/"))
    assert "只开了一次工作会议" in mine and 'name="score_3"' not in mine
    again = c.post(f"/assess/{NURSING}/2026/", {"score_3": "1.5", "note_3": "只开了一次工作会议"})
    assert "saved=0" in again["Location"]
    assert Archive(web.root).assessor_scores("测试", center=NURSING, year=2026)[3].score == 1.5
    assert Archive(web.root).verify_log("测试").entries > 0  # the chain still verifies


def test_only_the_bureau_edits(web: Site) -> None:
    for name in ("刘敏", "王秀英", "管理员甲"):
        refused = web.login(name).post(f"/assess/{NURSING}/2026/", {"score_3": "1"})
        assert refused.status_code == 403 and "只有卫健局医政科" in page(refused), name
    assert not Archive(web.root).assessor_scores("测试", center=NURSING, year=2026)


def test_invalid_scores_are_refused_in_chinese_and_nothing_is_saved(web: Site) -> None:
    c = web.login("医政科张")
    for value, message in (("9", "得分应在 0 到"), ("-1", "得分应在 0 到"), ("三分", "分数应是数字"),
                           ("nan", "分数应是数字")):  # fmt: skip
        got = c.post(f"/assess/{NURSING}/2026/", {"score_3": value, "score_1": "1"})
        body = page(got)
        assert got.status_code == 400 and message in body and "均未保存" in body, value
        assert f'value="{value}"' in body  # what was typed is kept
    assert not Archive(web.root).assessor_scores("测试", center=NURSING, year=2026)
    assert not [e for e in Archive(web.root).log("测试").entries if e.action == "assess.score"]


def test_exports_are_a_real_docx_and_xlsx(web: Site) -> None:
    c = web.login("医政科张")
    docx = c.get(f"/assess/{NURSING}/2026/form.docx")
    assert docx.status_code == 200 and docx["Content-Disposition"].startswith("attachment")
    with zipfile.ZipFile(io.BytesIO(docx.content)) as z:
        assert "考核评分表" in z.read("word/document.xml").decode("utf-8")
    xlsx = c.get("/assess/ranking/2026/ranking.xlsx")
    assert xlsx.status_code == 200 and xlsx["Content-Disposition"].startswith("attachment")
    with zipfile.ZipFile(io.BytesIO(xlsx.content)) as z:
        assert "xl/workbook.xml" in z.namelist()
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert {sheet.cell(row=r, column=2).value for r in range(2, 4)} == {NURSING, INFECTION}
    assert not list((web.root / ".zhikong" / "tmp").glob("*"))  # the temporary files are gone
    assert web.login("刘敏").get(f"/assess/{NURSING}/2026/form.docx").status_code == 200
    assert web.login("刘敏").get("/assess/ranking/2026/ranking.xlsx").status_code == 403


# -- the county ranking -----------------------------------------------------------------------------------


def test_ranking_page_has_the_table_and_svg_charts(web: Site) -> None:
    ranking = json.loads(web.zk("score", "--all", "--year", "2026", "--as-of", TODAY, "--json").stdout)
    body = page(web.login("医政科张").get("/assess/ranking/2026/"))
    assert body.count("<svg") == 2 and "<rect" in body and "<script" not in body and 'style="' not in body
    assert "预计总分分布" in body and "2026 年与 2025 年预计总分对比" in body
    table = body.split('class="list ranking"', 1)[1].split("</table>", 1)[0]
    for row in ranking:
        assert row["center"] in table and f"{row['total']:g}" in table and row["tier"] in table
    assert 'class="heat"' in body and "局评" in body  # the items of every center
    assert "2025 年总分" in body  # year against year, as a table too
    assert "（1 项）" not in table  # nothing graded yet
    Archive(web.root).set_assessor_score("医政科张", center=NURSING, year=2026, item=10, score=2, note="迟报")
    graded = page(web.login("医政科张").get("/assess/ranking/2026/"))
    nursing = next(r for r in ranking if r["center"] == NURSING)
    row = graded.split(f">{NURSING}</a>", 1)[1].split("</tr>", 1)[0]
    assert f'title="已评 1 项，其余按自查得分">{nursing["total"] - 3:g}<' in row  # item 10: 2 of 5
    heat = graded.split('class="heat"', 1)[1].split(f"<th>{NURSING}</th>", 1)[1].split("</tr>", 1)[0]
    assert '<td class="h1 graded" title="第10项' in heat and "卫健局评分 2 / 5" in heat


def test_ranking_refused_to_a_secretary_and_a_director(web: Site) -> None:
    for name in ("刘敏", "王秀英"):
        refused = web.login(name).get("/assess/ranking/2026/")
        assert refused.status_code == 403 and "全县排名" in page(refused)
    assert web.login("管理员甲").get("/assess/ranking/2026/").status_code == 200


def test_saving_the_form_again_keeps_a_notes_personal_data(web: Site) -> None:
    """The page shows a note masked (139****5678); submitting the page unchanged must not store the mask."""
    c = web.login("医政科张")
    c.post(f"/assess/{NURSING}/2026/", {"score_3": "1.5", "note_3": "联系人电话 13912345678"})
    body = page(c.get(f"/assess/{NURSING}/2026/"))
    assert "13912345678" not in body and "139****5678" in body
    again = c.post(f"/assess/{NURSING}/2026/", {"score_3": "1.5", "note_3": "联系人电话 139****5678"})
    assert "saved=0" in again["Location"]
    assert (
        Archive(web.root).assessor_scores("测试", center=NURSING, year=2026)[3].note
        == "联系人电话 13912345678"
    )
