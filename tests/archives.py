"""Sample archives for the paper-register, check and score tests: a complete year of 护理质控中心, and the
same year with the planted gaps of issue 5. Real files, real `zhikong` commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from conftest import as_json, invoke

from zhikong.archive.samplefiles import make_docx, make_xlsx

HL = "护理质控中心"
Y = 2026
YEAR_END = "2027-01-15"  # the whole of 2026 has passed, grace periods included

Runner = Callable[..., Result]


def new_archive(
    tmp: Path, runner: CliRunner, *, deputies: int = 2, centers: tuple[str, ...] = (HL,)
) -> Runner:
    root = tmp / "档案库"
    invoke(runner, "init", str(root), "--county", "金乡县", "--bureau", "金乡县卫生健康局",
           "--doc-prefix", "金卫健字", "--fonds", "Z109")  # fmt: skip
    codes = {HL: "HL"}
    for i, name in enumerate(centers):
        args = ["--root", str(root), "center", "add", name, "--code", codes.get(name, "ZX" + "ABCDEFGH"[i]),
                "--host", "金乡县人民医院", "--director", "王秀英", "--secretary", "刘敏",
                "--member", "孙丽", "--member", "周芳", "--term-start", "2025-01-01"]  # fmt: skip
        for d in ("李红梅", "赵静", "马俊", "高峰")[:deputies]:
            args += ["--deputy", d]
        invoke(runner, *args)

    def run(*args: str, expect: int | None = 0) -> Result:
        return invoke(runner, "--root", str(root), *args, expect=expect)

    run.root = root  # type: ignore[attr-defined]
    return run


def docx(path: Path, title: str, *paras: str) -> None:
    make_docx(path, title, list(paras))


def signin(path: Path) -> None:
    make_xlsx(  # each activity's own sheet: identical files would be duplicates (record.duplicate)
        path, f"{path.parent.name} 签到表", ["序号", "姓名", "单位"],
        [[1, "张伟", "鸡黍镇卫生院"], [2, "王芳", "羊山镇卫生院"]],
    )  # fmt: skip


def write_year(root: Path, *, gaps: bool = False, work_rules: bool = False) -> None:
    """A complete 2026 for 护理质控中心; with `gaps`, the planted gaps (see tests/test_checks.py); with
    `work_rules`, the center's 工作制度 too (item 2 of the scoring form wants it beside the standards)."""
    base = root / HL / str(Y)
    if work_rules:
        docx(base / "质控标准" / "护理质控中心工作制度.docx", "护理质控中心工作制度",
             "一、例会制度", "二、督查与反馈制度", "三、资料归档制度")  # fmt: skip
    docx(base / "工作计划" / f"{Y}年护理质控工作计划.docx", f"{Y}年护理质控工作计划",
         "落实护理核心制度，开展基层卫生院护理质控督查。", "金乡县护理质控中心", f"{Y}年1月10日")  # fmt: skip
    docx(base / "工作计划" / f"{Y}年护理核心指标提升计划.docx", f"{Y}年护理核心指标提升计划",
         "核心指标：跌倒发生率；重点指标：压力性损伤发生率、非计划拔管率。", f"{Y}年2月1日")  # fmt: skip
    half_date = f"{Y}年8月20日" if gaps else f"{Y}年7月5日"
    docx(base / "工作总结" / f"{Y}年上半年护理质控工作总结.docx", "上半年护理质控工作总结",
         "上半年开展督查与数据分析。", "金乡县护理质控中心", half_date)  # fmt: skip
    docx(base / "工作总结" / f"{Y}年护理质控工作总结.docx", f"{Y}年护理质控工作总结",
         "全年工作总结。", f"{Y}年12月20日")  # fmt: skip
    docx(base / "质控标准" / "护理质量控制标准.docx", "护理质量控制标准", "护理核心制度执行检查标准。")

    for when, name in ((f"{Y}-03-15", "第一次工作会议"), (f"{Y}-07-10", "第二次工作会议")):
        folder = base / f"{when} {name}"
        docx(folder / "会议通知.docx", f"关于召开{name}的通知", "请各单位参加。")
        if not (gaps and name == "第二次工作会议"):  # gap: a missing sign-in sheet
            signin(folder / "签到表.xlsx")
        docx(folder / "会议纪要.docx", f"{name}纪要", "会议部署护理质控工作。")

    quarters = ((f"{Y}-03-20", "一季度病例抽查"), (f"{Y}-06-15", "二季度病例抽查"),
                (f"{Y}-09-15", "三季度病例抽查"), (f"{Y}-12-05", "四季度病例抽查"))  # fmt: skip
    for when, name in quarters:
        if gaps and name.startswith("三季度"):  # gap: a quarter without a case review
            continue
        folder = base / f"{when} {name}"
        docx(folder / "病例抽查记录.docx", f"{name}记录", "抽查护理病历40份，甲级率92%。")
        docx(folder / "反馈意见.docx", f"{name}反馈意见", "请限期整改。")

    insp = base / f"{Y}-05-10 护理质量督查"
    docx(
        insp / "督查记录.docx",
        "护理质量督查记录",
        "督查羊山镇卫生院护理质量及分级护理、查对制度等核心制度落实情况。",
    )
    docx(insp / "反馈意见.docx", "护理质量督查反馈意见", "核心制度落实的问题清单、责任清单、整改清单。")
    if not gaps:  # gap: feedback but no rectification report (and so no follow-up either)
        docx(insp / "整改报告.docx", "羊山镇卫生院整改报告", "已完成整改。")
        docx(insp / "回头看记录.docx", "护理质量督查回头看记录", "复查整改到位。")

    comp = base / f"{Y}-06-20 护理技能竞赛"
    docx(comp / "竞赛通知.docx", "关于举办护理技能竞赛的通知", "竞赛项目：心肺复苏。")
    signin(comp / "签到表.xlsx")
    docx(comp / "竞赛总结.docx", "护理技能竞赛总结", "18家单位参赛。")


def box_everything(run: Runner, center: str = HL, year: int = Y) -> list[int]:
    """Print a catalogue for every retention period still waiting and file the boxes."""
    boxes = []
    for box in range(1, 10):
        result = run("paper", "catalog", "--center", center, "--year", str(year), "--box", str(box),
                     "--out", str(Path(run.root).parent / f"盒{box}.docx"), expect=None)  # type: ignore[attr-defined]  # fmt: skip
        if result.exit_code != 0:
            break
        run("paper", "mark", "--catalog", "--center", center, "--year", str(year), "--box", str(box))
        boxes.append(box)
    return boxes


def complete_archive(tmp: Path, runner: CliRunner) -> Runner:
    run = new_archive(tmp, runner)
    write_year(run.root, work_rules=True)  # type: ignore[attr-defined]
    run("scan")
    box_everything(run)
    return run


def gapped_archive(tmp: Path, runner: CliRunner) -> Runner:
    """Every planted gap of issue 5, once each."""
    run = new_archive(tmp, runner, deputies=4)  # gap: four deputies (J12 allows 2–3)
    root: Path = run.root  # type: ignore[attr-defined]
    write_year(root, gaps=True, work_rules=True)
    run("scan")
    box_everything(run)
    # gap: a paper-only item that is boxed but never scanned
    run("paper", "add", "--center", HL, "--title", "护理技能竞赛评分表", "--category", "其他",
        "--activity", f"{Y}-06-20 护理技能竞赛", "--box", "9")  # fmt: skip
    # gap: a record that arrives after the boxes were filed and is never boxed
    docx(root / HL / str(Y) / f"{Y}-06-20 护理技能竞赛" / "竞赛获奖名单.docx", "获奖名单", "一等奖2名。")
    run("scan")
    return run


def assert_agree(run: Runner, as_of: str, center: str = HL, year: int = Y) -> dict[str, Any]:
    """`score` is `check`: each archive item scores its maximum, less the cost of every finding `check`
    reports on it, less the points of what is still missing before its deadline; returns the sheet."""
    report = as_json(
        run("check", "--json", "--within", "366", "--center", center, "--year", str(year),
            "--as-of", as_of, expect=None)
    )  # fmt: skip
    sheet = as_json(run("score", "--json", "--center", center, "--year", str(year), "--as-of", as_of))
    archive_items = set()
    for item in sheet["items"]:
        if item["by_bureau"]:
            continue
        archive_items.add(item["no"])
        lost = sum(f["cost"] for f in report["findings"] if f["item"] == item["no"])
        waiting = sum(u["points"] for u in report["reminders"] if u["item"] == item["no"])
        ceiling = max(0.0, item["max"] - lost)
        assert item["score"] == round(max(0.0, ceiling - waiting), 1), (item, lost, waiting)
        assert item["to_earn"] == round(ceiling - item["score"], 1), item
        assert [f["rule"] for f in item["findings"]] == [
            f["rule"] for f in report["findings"] if f["item"] == item["no"]
        ]
    for f in report["findings"]:
        assert f["cost"] > 0 and f["item"] in archive_items, f  # every finding costs points somewhere
    return sheet
