"""Each item of the 考核评分表 the archive can evidence, on a small archive of real .docx/.xlsx/.pptx/.pdf
files: complete (full marks), partly complete (the form's deduction) and wrongly evidenced (a file that
mentions the subject but is not the kind of evidence the criterion names: no points). Every archive is
also checked for the rule that `score` and `check` agree (`assert_agree`)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from archives import HL, YEAR_END, Y, assert_agree, box_everything, docx, new_archive, signin
from click.testing import CliRunner
from conftest import as_json

from zhikong.archive.samplefiles import make_pdf, make_pptx, make_xlsx

BASE = Path(HL) / str(Y)


def item_of(sheet: dict[str, Any], no: int) -> dict[str, Any]:
    return next(i for i in sheet["items"] if i["no"] == no)


# -- the files each case writes (root is the archive root) ------------------------------------------


def meeting(root: Path, when: str, name: str = "第一次工作会议", *, sign: bool = True) -> None:
    folder = root / BASE / f"{when} {name}"
    docx(folder / "会议通知.docx", f"关于召开{name}的通知", "请各单位参加。")
    if sign:
        signin(folder / "签到表.xlsx")
    docx(folder / "会议纪要.docx", f"{name}纪要", "部署全年质控工作。")


def case_review(root: Path, when: str, name: str) -> None:
    folder = root / BASE / f"{when} {name}"
    docx(folder / "病例抽查记录.docx", f"{name}记录", "抽查护理病历40份，甲级率92%。")
    docx(folder / "反馈意见.docx", f"{name}反馈意见", "请限期整改。")


def inspection(root: Path, when: str, name: str, subject: str, steps: tuple[str, ...]) -> None:
    folder = root / BASE / f"{when} {name}"
    texts = {
        "督查记录": f"督查羊山镇卫生院{subject}。问题清单：3项。",
        "反馈意见": f"{subject}督查反馈意见：问题清单、责任清单、整改清单。",
        "整改报告": "羊山镇卫生院整改报告：已全部整改。",
        "回头看记录": "回头看：整改到位。",
    }
    for step in steps:
        if step == "整改报告":
            make_pdf(folder / "整改报告.pdf", [[f"{name}整改报告", texts[step]]])
        else:
            docx(folder / f"{step}.docx", f"{name}{step}", texts[step])


def plan(root: Path, day: str = "1月10日") -> None:
    docx(root / BASE / "工作计划" / f"{Y}年护理质控工作计划.docx", f"{Y}年护理质控工作计划",
         "全年工作安排。", f"{Y}年{day}")  # fmt: skip


def summaries(root: Path, half: str = "7月5日", annual: bool = True) -> None:
    docx(root / BASE / "工作总结" / f"{Y}年上半年护理质控工作总结.docx", "上半年护理质控工作总结",
         "上半年工作。", f"{Y}年{half}")  # fmt: skip
    if annual:
        docx(root / BASE / "工作总结" / f"{Y}年护理质控工作总结.docx", f"{Y}年护理质控工作总结",
             "全年工作总结。", f"{Y}年12月20日")  # fmt: skip


def standard(root: Path, year: int = Y) -> None:
    docx(
        root / HL / str(year) / "质控标准" / "护理质量控制标准.docx", "护理质量控制标准", "护理质量评价标准。"
    )


def work_rules(root: Path) -> None:
    docx(root / BASE / "质控标准" / "护理质控中心工作制度.docx", "护理质控中心工作制度", "一、例会制度")


def ledger(root: Path) -> None:
    make_xlsx(root / BASE / "工作计划" / f"{Y}年质控工作台账.xlsx", "质控工作台账", ["日期", "事项"],
              [["3月15日", "第一次工作会议"]])  # fmt: skip


def training_slides(root: Path, text: str, name: str = "核心制度培训") -> None:
    folder = root / BASE / f"{Y}-04-01 {name}"
    docx(folder / "培训通知.docx", f"关于举办{name}的通知", "请各单位参加。")
    signin(folder / "签到表.xlsx")
    make_pptx(folder / f"{name}课件.pptx", name, [text, "18项核心制度落实要点"])


def copy_to_inbox(root: Path, rel: Path) -> None:
    """The same bytes again (a Word file written twice differs in its timestamps)."""
    (root / HL / "收件箱").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(root / rel, root / HL / "收件箱" / rel.name)


@dataclass(frozen=True)
class Case:
    item: int
    kind: str  # complete | partly | wrong
    write: Callable[[Path], None]
    score: float
    deputies: int = 2
    boxed: bool = False
    says: str = ""  # a phrase the item's basis (or a finding on it) must hold


def _all(*writers: Callable[[Path], None]) -> Callable[[Path], None]:
    def write(root: Path) -> None:
        for w in writers:
            w(root)

    return write


QUARTERS = ((f"{Y}-03-20", "一季度病例抽查"), (f"{Y}-06-15", "二季度病例抽查"),
            (f"{Y}-09-15", "三季度病例抽查"), (f"{Y}-12-05", "四季度病例抽查"))  # fmt: skip
FULL_LOOP = ("督查记录", "反馈意见", "整改报告", "回头看记录")

CASES = (
    Case(1, "complete", lambda r: None, 3),
    Case(1, "partly", lambda r: None, 2, deputies=4, says="副主任 4 名"),
    Case(1, "wrong", lambda r: None, 2, deputies=0, says="副主任 0 名"),
    Case(2, "complete", _all(plan, work_rules, standard, ledger), 3),
    Case(2, "partly", _all(plan, standard), 1, says="缺工作制度、台账管理"),
    # 制度 on slides inside a training is no 工作制度; the plan is there, the standard too, no ledger
    Case(2, "wrong", _all(plan, standard, lambda r: training_slides(r, "护理工作制度")), 1, says="缺工作制度"),
    Case(3, "complete", _all(lambda r: meeting(r, f"{Y}-03-15"), lambda r: meeting(r, f"{Y}-07-10", "第二次工作会议")), 3),
    Case(3, "partly", lambda r: meeting(r, f"{Y}-07-10", "第二次工作会议"), 1, says="上半年没有召开工作会议"),
    # meetings held, but the folder names do not say so: the finding says the folder name is the problem
    Case(3, "wrong", _all(lambda r: meeting(r, f"{Y}-03-15", "年初部署会"), lambda r: meeting(r, f"{Y}-07-10", "年中推进会")),
         0, says="文件夹名的问题"),
    Case(4, "complete", lambda r: meeting(r, f"{Y}-03-15"), 3, boxed=True),
    Case(4, "partly", lambda r: meeting(r, f"{Y}-03-15", sign=False), 2.5, boxed=True, says="缺少签到表"),
    # a copy of the notice left in 收件箱: a duplicate, and an unclassified file
    Case(4, "wrong", _all(lambda r: meeting(r, f"{Y}-03-15"),
                          lambda r: copy_to_inbox(r, BASE / f"{Y}-03-15 第一次工作会议" / "会议通知.docx")),
         2, boxed=True, says="内容相同，位置不同"),
    Case(5, "complete", _all(plan, summaries), 5),
    Case(5, "partly", _all(plan, lambda r: summaries(r, half="8月20日")), 3, says="迟报"),
    # an activity's 总结 is no annual summary
    Case(5, "wrong", _all(plan, lambda r: summaries(r, annual=False),
                          lambda r: docx(r / BASE / f"{Y}-06-20 护理技能竞赛" / "竞赛总结.docx", "护理技能竞赛总结", "18家单位参赛。")),
         0, says="没有年度工作总结"),
    Case(6, "complete", standard, 5),
    Case(6, "partly", lambda r: standard(r, Y - 1), 5),  # filed in an earlier year: still in force
    Case(6, "wrong", lambda r: training_slides(r, "护理质量控制标准解读", "质控标准培训"), 0, says="质控标准"),
    Case(7, "complete", _all(*(lambda r, q=q: case_review(r, *q) for q in QUARTERS)), 5),
    Case(7, "partly", _all(*(lambda r, q=q: case_review(r, *q) for q in QUARTERS if not q[1].startswith("三"))), 3,
         says="第三季度"),
    # the third quarter's review in a folder without a date: it counts for no quarter, and the finding says why
    Case(7, "wrong", _all(*(lambda r, q=q: case_review(r, *q) for q in QUARTERS if not q[1].startswith("三")),
                          lambda r: docx(r / BASE / "三季度病例抽查" / "病例抽查记录.docx", "三季度病例抽查记录", "抽查40份。")),
         3, says="文件夹名的问题"),
    Case(8, "complete", lambda r: training_slides(r, "院感防控", "院感知识培训"), 5),
    Case(8, "wrong", lambda r: docx(r / BASE / "工作计划" / "技能竞赛方案.docx", "护理技能竞赛方案", "计划9月举办。"), 0,
         says="没有开展技能竞赛"),
    Case(9, "complete", lambda r: docx(r / BASE / "工作计划" / "核心指标提升计划.docx", "核心指标提升计划",
                                       "核心指标：跌倒发生率。重点指标：压力性损伤发生率。"), 5),
    Case(9, "partly", lambda r: docx(r / BASE / "工作计划" / "核心指标提升计划.docx", "核心指标提升计划", "跌倒发生率。"), 3,
         says="未列出重点指标"),
    Case(9, "wrong", lambda r: training_slides(r, "核心指标解读", "指标培训"), 0, says="核心指标提升计划"),
    Case(11, "complete", lambda r: inspection(r, f"{Y}-05-10", "护理质量督查", "分级护理等核心制度落实情况", FULL_LOOP), 6),
    Case(11, "partly", lambda r: inspection(r, f"{Y}-05-10", "护理质量督查", "分级护理等核心制度落实情况", ("督查记录",)), 3,
         says="核心制度通报或反馈意见"),
    # issue 17: a slide bullet "核心制度落实" is not a core-system inspection
    Case(11, "wrong", _all(plan, lambda r: training_slides(r, "核心制度落实")), 0, says="核心制度督查记录"),
    Case(12, "complete", lambda r: inspection(r, f"{Y}-05-10", "护理质量督查", "护理质量", FULL_LOOP), 7),
    Case(12, "partly", lambda r: inspection(r, f"{Y}-05-10", "护理质量督查", "护理质量", FULL_LOOP[:3]), 4, says="回头看"),
    Case(12, "wrong", lambda r: inspection(r, f"{Y}-05-10", "护理质量督查", "护理质量", FULL_LOOP[:2]), 0, says="整改报告"),
    Case(14, "complete", lambda r: inspection(r, f"{Y}-05-10", "院感防控督查", "手卫生与院感防控", FULL_LOOP[:3]), 6),
    Case(14, "partly", _all(lambda r: inspection(r, f"{Y}-05-10", "院感防控督查", "手卫生与院感防控", FULL_LOOP[:3]),
                            lambda r: inspection(r, f"{Y}-06-10", "合理用药督查", "抗菌药物合理用药", FULL_LOOP[:2])),
         4, says="整改不力"),
    # issue 17: a sign-in sheet that contains 护理/院感 is no key-area quality control
    Case(14, "wrong", lambda r: make_xlsx(r / BASE / f"{Y}-03-15 第一次工作会议" / "签到表.xlsx", "院感护理会议签到表",
                                          ["姓名", "科室"], [["张伟", "院感科"], ["王芳", "护理部"]]),
         0, says="重点领域"),
    Case(15, "complete", lambda r: inspection(r, f"{Y}-05-10", "护理质量督查", "护理质量", FULL_LOOP[:1]), 5),
    Case(15, "wrong", lambda r: meeting(r, f"{Y}-03-15"), 0, says="基层指导"),  # 卫生院 only on the sign-in sheet
    Case(16, "complete", _all(lambda r: case_review(r, *QUARTERS[0]),
                              lambda r: docx(r / BASE / "工作总结" / "上半年工作总结.docx", "上半年工作总结", "开展数据分析。")), 5),
    Case(16, "partly", lambda r: case_review(r, *QUARTERS[0]), 0, says="数据分析或质量通报"),  # data, no analysis
    Case(16, "wrong", lambda r: training_slides(r, "跌倒发生率数据分析", "数据培训"), 0, says="指标数据"),
)  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[f"item{c.item}-{c.kind}" for c in CASES])
def test_each_item_scores_what_its_evidence_earns(case: Case, tmp_path: Path, runner: CliRunner) -> None:
    run = new_archive(tmp_path, runner, deputies=case.deputies)
    root: Path = run.root  # type: ignore[attr-defined]
    case.write(root)
    run("scan")
    if case.boxed:
        box_everything(run)
    sheet = assert_agree(run, YEAR_END)
    item = item_of(sheet, case.item)
    assert item["score"] == case.score, item
    if case.score == item["max"]:
        assert not item["findings"] and item["paths"], item  # full marks rest on cited files
    else:
        assert item["findings"], item
    if case.says:
        assert case.says in item["basis"], item["basis"]
    assert item["evidence"] and item["opens"]


def test_not_yet_due_is_not_done_and_check_reminds(tmp_path: Path, runner: CliRunner) -> None:
    run = new_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    meeting(root, f"{Y}-03-15")
    _all(*(lambda r, q=q: case_review(r, *q) for q in QUARTERS[:3]))(root)
    _all(plan, lambda r: summaries(r, annual=False), standard)(root)
    run("scan")

    # 30 November: nothing is late yet, but nothing not done is scored as done
    sheet = assert_agree(run, f"{Y}-11-30")
    items = {i["no"]: i for i in sheet["items"]}
    assert items[8]["score"] == 0 and items[8]["to_earn"] == 5 and items[8]["by"] == f"{Y}-12-31"
    assert items[6]["score"] == 5  # the standard is there
    assert items[3]["score"] == 1 and items[3]["to_earn"] == 2  # the second meeting is still to come
    assert items[7]["score"] == 3 and items[7]["to_earn"] == 2  # Q4's review, due 31 December
    assert items[5]["score"] == 0 and items[5]["to_earn"] == 5  # 缺报不得分: the annual summary is due
    assert sheet["to_earn"] > 0

    def reminders(day: str, *extra: str) -> list[dict[str, Any]]:
        report = as_json(run("check", "--json", "--as-of", day, *extra, expect=None))
        assert all("还剩" in r["message"] for r in report["reminders"])
        return report["reminders"]

    # 30 days ahead by default: on 1 December the year's end is 31 days away (the last day counted)
    assert reminders(f"{Y}-11-30") == []
    last = {r["rule"]: r for r in reminders(f"{Y}-12-31")}
    assert set(last) >= {"competition.count", "meetings.count", "case_review.quarterly", "summary.annual"}
    assert last["competition.count"]["days_left"] == 1
    assert "全年技能竞赛尚未开展" in last["competition.count"]["message"]
    text = run("check", "--as-of", f"{Y}-12-31", expect=None).output
    assert "全年技能竞赛尚未开展" in text and "还剩 1 天" in text and "提醒" in text
    # the half-year summary before July's end, and the window set in zhikong.toml
    (root / BASE / "工作总结" / f"{Y}年上半年护理质控工作总结.docx").unlink()
    run("scan")
    july = {r["rule"]: r for r in reminders(f"{Y}-07-20")}
    assert july["summary.half_year"]["days_left"] == 12
    assert "summary.half_year" not in {r["rule"] for r in reminders(f"{Y}-06-20")}  # 42 days ahead
    assert "summary.half_year" in {r["rule"] for r in reminders(f"{Y}-06-20", "--within", "60")}
    settings = root / "zhikong.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace("remind_days = 30", "remind_days = 60"),
                        encoding="utf-8")  # fmt: skip
    assert "summary.half_year" in {r["rule"] for r in reminders(f"{Y}-06-20")}
    # reminders are never findings: on 20 July with the summary missing, check still exits 0 for it
    report = as_json(run("check", "--json", "--as-of", f"{Y}-07-20", expect=None))
    assert "summary.half_year" not in {f["rule"] for f in report["findings"]}


def test_open_rectification_is_reminded_before_its_deadline(tmp_path: Path, runner: CliRunner) -> None:
    run = new_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    inspection(root, f"{Y}-05-10", "院感防控督查", "院感防控", FULL_LOOP[:2])
    run("scan")
    report = as_json(run("check", "--json", "--as-of", f"{Y}-06-25", expect=None))
    loop = next(r for r in report["reminders"] if r["rule"] == "inspection.closed_loop")
    assert loop["due"] == f"{Y}-07-09" and loop["days_left"] == 15 and "整改报告" in loop["message"]
    assert loop["points"] == 7
    assert_agree(run, f"{Y}-06-25")
    after = as_json(run("check", "--json", "--as-of", f"{Y}-07-10", expect=1))["findings"]
    assert "inspection.closed_loop" in {f["rule"] for f in after}


@pytest.mark.parametrize(
    "folder",
    [
        "2026.9.18 三季度病例抽查",
        "9月18日 三季度病例抽查",
        "2026年9月18日 三季度病例抽查",
        "2026-9-18 三季度病例抽查",
    ],
)
def test_folder_dates_as_people_type_them(folder: str, tmp_path: Path, runner: CliRunner) -> None:
    run = new_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    docx(root / BASE / folder / "病例抽查记录.docx", "三季度病例抽查记录", "抽查40份。")
    run("scan")
    rec = next(r for r in as_json(run("ls", "--json")) if r["path"].endswith("病例抽查记录.docx"))
    assert rec["activity"] == "三季度病例抽查" and rec["activity_date"] == f"{Y}-09-18", rec
    findings = as_json(run("check", "--json", "--as-of", f"{Y}-10-01", "--year", str(Y), expect=None))[
        "findings"
    ]
    assert not [f for f in findings if f["rule"] == "case_review.quarterly" and 3 in f["details"]["missing"]]


@pytest.mark.parametrize(
    "where",
    [
        f"{HL}/{Y}年/{Y}-09-18 三季度病例抽查",
        f"{HL}/{Y}年度/9月18日 三季度病例抽查",
        f"{HL}/{Y}.9.18 三季度病例抽查",
    ],
)
def test_year_folders_as_people_type_them(where: str, tmp_path: Path, runner: CliRunner) -> None:
    run = new_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    docx(root / where / "病例抽查记录.docx", "三季度病例抽查记录", "抽查40份。")
    run("scan")
    rec = next(r for r in as_json(run("ls", "--json")) if r["path"].endswith("病例抽查记录.docx"))
    assert (rec["year"], rec["activity"], rec["activity_date"]) == (Y, "三季度病例抽查", f"{Y}-09-18"), rec


def test_an_undated_folder_is_named_with_a_suggestion(tmp_path: Path, runner: CliRunner) -> None:
    run = new_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    docx(root / HL / f"{Y}年" / "院感督导" / "督查记录.docx", "院感督导记录", "督导手卫生。")
    run("scan")
    found = as_json(run("check", "--json", "--as-of", YEAR_END, "--year", str(Y), expect=1))["findings"]
    odd = next(f for f in found if f["rule"] == "folder.name")
    assert odd["paths"] == [f"{HL}/{Y}年/院感督导"] and f"{Y}-09-18 院感督导" in odd["message"]
    loop = next(f for f in found if f["rule"] == "inspection.closed_loop")
    assert "文件夹名的问题" in loop["message"] and "院感督导" in loop["message"]


def test_the_system_folders_are_no_unrecognised_activities() -> None:
    from zhikong.archive.checks import KNOWN_FOLDERS
    from zhikong.archive.drafts import FINAL_FOLDER

    assert FINAL_FOLDER in KNOWN_FOLDERS


def test_a_date_in_another_year_than_its_folder_is_a_finding(tmp_path: Path, runner: CliRunner) -> None:
    run = new_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    folder = root / HL / str(Y - 1) / f"{Y}-06-20 护理技能竞赛"
    docx(folder / "竞赛通知.docx", "关于举办护理技能竞赛的通知", "竞赛项目：心肺复苏。")
    run("scan")
    findings = as_json(run("check", "--json", "--as-of", f"{Y}-12-31", "--year", str(Y - 1), expect=1))[
        "findings"
    ]
    wrong = next(f for f in findings if f["rule"] == "folder.year")
    assert "文件夹名的问题" in wrong["message"] and f"{HL}/{Y}/{Y}-06-20 护理技能竞赛" in wrong["message"]
    assert wrong["item"] == 4 and wrong["cost"] == 0.5
    assert_agree(run, f"{Y}-12-31", year=Y - 1)


def test_a_duplicate_is_reported_and_one_copy_kept(tmp_path: Path, runner: CliRunner) -> None:
    run = new_archive(tmp_path, runner)
    root: Path = run.root  # type: ignore[attr-defined]
    meeting(root, f"{Y}-03-15")
    notice = root / BASE / f"{Y}-03-15 第一次工作会议" / "会议通知.docx"
    copy = root / BASE / f"{Y}-07-10 第二次工作会议" / "会议通知.docx"
    copy.parent.mkdir(parents=True)
    copy.write_bytes(notice.read_bytes())
    standard(root, Y - 1)  # one standard kept in each year's 质控标准/: each year's box holds its own copy
    kept_again = root / BASE / "质控标准" / "护理质量控制标准.docx"
    kept_again.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(root / HL / str(Y - 1) / "质控标准" / "护理质量控制标准.docx", kept_again)
    run("scan")
    findings = as_json(run("check", "--json", "--as-of", YEAR_END, "--year", str(Y), expect=1))["findings"]
    assert len([f for f in findings if f["rule"] == "record.duplicate"]) == 1
    dup = next(f for f in findings if f["rule"] == "record.duplicate")
    kept, extra = dup["details"]["keep"], dup["details"]["extra"]
    assert kept == notice.relative_to(root).as_posix() and extra == [copy.relative_to(root).as_posix()]
    assert "内容相同，位置不同" in dup["message"] and f'zhikong dedupe "{extra[0]}"' in dup["message"]
    # the copy kept can never go: it is the last one once the other is removed
    run("dedupe", extra[0])
    assert not copy.exists() and notice.exists()
    refused = run("dedupe", kept, expect=None)
    assert refused.exit_code != 0 and "仅存的一份" in refused.output and notice.exists()
    after = as_json(run("check", "--json", "--as-of", YEAR_END, "--year", str(Y), expect=None))["findings"]
    assert not {"record.duplicate", "record.deleted"} & {f["rule"] for f in after}
    log = [e for e in as_json(run("log", "--json")) if e["action"] == "dedupe"]
    assert len(log) == 1 and log[0]["path"] == extra[0] and log[0]["detail"]["kept"] == kept
