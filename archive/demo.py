"""The sample archive `zhikong demo` builds: two centers, a year of work, and a few realistic gaps.

Files are real .docx/.pdf/.pptx/.xlsx made on the spot, laid out in the folder convention of DOMAIN.md §3,
with the kinds of gaps a secretary really has (a missing 会议纪要, an inspection without its 整改报告, a
quarter without a case review, a photo dropped in the inbox). Everything else is there, so the demo's
self-assessment loses exactly what those gaps cost (`PLANTED`), plus what is not yet due on the day.

`zhikong demo --serve` then opens the sample archive in the browser with one account per role
(`DEMO_ACCOUNTS`), each with a password made on the spot (`strong_password`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from zhikong.archive.samplefiles import make_docx, make_pdf, make_pptx, make_xlsx
from zhikong.archive.settings import Center, Roster

HOSPITALS = (
    "金乡县人民医院",
    "金乡县中医院",
    "金乡县妇幼保健院",
    "金乡县第二人民医院",
    "鸡黍镇卫生院",
    "羊山镇卫生院",
)


NURSING = Center(
    name="护理质控中心",
    code="HL",
    host="金乡县人民医院",
    roster=Roster(
        director="王秀英",
        deputies=("李红梅", "赵静"),
        secretary="刘敏",
        members=("孙丽", "周芳", "吴霞", "郑燕", "冯娟", "陈洁"),
        term_start="2024-01-01",
    ),
)
INFECTION = Center(
    name="院感质控中心",
    code="GR",
    host="金乡县中医院",
    roster=Roster(
        director="张建国",
        deputies=("马俊", "高峰", "林涛", "何平"),  # four deputies: J12 allows 2–3, the demo's planted gap
        secretary="黄丽",
        members=("杨光", "朱明", "徐亮"),
        term_start="2023-01-01",
    ),
)


def _signin_rows(n: int, seed: int) -> list[list[object]]:
    names = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄丹", "周婷", "吴昊")
    rows: list[list[object]] = []
    for i in range(n):
        rows.append(
            [
                i + 1,
                names[(i + seed) % len(names)],
                HOSPITALS[(i + seed) % len(HOSPITALS)],
                f"1{3 + i % 6}8{seed:02d}{i:06d}"[:11],
            ]
        )
    return rows


def build_sample_archive(root: Path, year: int) -> list[Path]:
    """Write the sample files under `root` (an initialised archive with both demo centers added)."""
    y = year
    made: list[Path] = []
    hl = root / NURSING.name / str(y)
    gr = root / INFECTION.name / str(y)

    def docx(path: Path, title: str, *paras: str, table: list[list[str]] | None = None) -> None:
        made.append(make_docx(path, title, list(paras), table or []))

    # 护理质控中心: a nearly complete year.
    docx(
        hl / "工作计划" / f"{y}年护理质控工作计划.docx",
        f"{y}年护理质量控制中心工作计划",
        "一、指导思想",
        "以提升护理质量为核心，落实护理核心制度，开展护理质控督查与病历质量评价。",
        "二、重点工作",
        "（一）每季度开展一次护理病历抽查；（二）组织护理技能竞赛；（三）召开两次工作会议。",
    )
    docx(
        hl / "工作计划" / f"{y}年护理核心指标提升计划.docx",
        f"{y}年护理核心指标提升计划",
        "核心指标：住院患者跌倒发生率；重点指标：压力性损伤发生率、非计划拔管率。",
        "目标：跌倒发生率下降10%，非计划拔管率下降15%。",
    )
    docx(
        hl / "工作总结" / f"{y}年上半年护理质控工作总结.docx",
        f"{y}年上半年护理质量控制工作总结",
        "上半年共开展督查3次，病例抽查2次，召开工作会议1次，组织技能竞赛1次。",
        "数据分析：住院患者跌倒发生率较去年同期下降0.02‰，护理病历甲级率由86.7%升至91.7%。",
        "存在问题：部分卫生院护理文书书写不规范，整改落实不到位。",
        f"金乡县护理质量控制中心  {y}年7月8日",
    )
    docx(
        hl / "质控标准" / "护理质控中心工作制度.docx",
        "护理质量控制中心工作制度",
        "一、例会制度：每年召开两次工作会议。",
        "二、督查制度：督查—反馈—整改—回头看闭环管理。",
        "三、资料归档制度：纸质与电子双留存。",
    )
    made.append(
        make_pdf(
            hl / "质控标准" / "护理质量控制标准（2026版）.pdf",
            [
                [
                    "护理质量控制标准（2026版）",
                    "一、护理文书书写规范",
                    "二、危重患者护理质量评价标准",
                    "三、分级护理质量标准",
                ],
                ["四、护理安全管理制度", "五、手卫生与院感防控要求", "六、护理核心制度执行检查表"],
            ],
        )
    )

    meet1 = hl / f"{y}-03-15 第一次工作会议"
    docx(
        meet1 / "会议通知.docx",
        f"关于召开{y}年第一次护理质控工作会议的通知",
        "各镇街卫生院、县直各医疗机构：",
        f"定于{y}年3月15日在金乡县人民医院三楼会议室召开年初部署会议。",
        "请各单位护理部主任准时参加。联系人：刘敏，电话 13853712345。",
    )
    made.append(
        make_xlsx(
            meet1 / "签到表.xlsx",
            f"{y}年第一次护理质控工作会议签到表",
            ["序号", "姓名", "单位", "联系电话"],
            _signin_rows(12, 1),
        )
    )
    made.append(
        make_pptx(
            meet1 / "课件-护理质量管理新要求.pptx",
            "护理质量管理新要求",
            ["护理核心制度落实要点", "护理病历质量评价标准解读", "压力性损伤预防与上报"],
            ["强调交接班制度", "病历书写时限要求"],
        )
    )
    docx(
        meet1 / "会议纪要.docx",
        "第一次护理质控工作会议纪要",
        "会议部署了全年护理质控重点工作，明确了每季度病例抽查安排。",
        "与会人员：王秀英、李红梅、赵静、刘敏等。",
    )

    case1 = hl / f"{y}-03-28 一季度病例抽查"
    docx(
        case1 / "病例抽查记录.docx",
        "一季度护理病历抽查记录",
        "抽查各单位护理病历共60份，甲级病历52份。",
        "主要问题：护理记录与医嘱不符，体温单填写不全。",
        table=[["单位", "抽查份数", "甲级"], ["金乡县人民医院", "20", "18"], ["鸡黍镇卫生院", "10", "8"]],
    )
    docx(
        case1 / "反馈意见.docx", "一季度护理病历质量反馈意见", "请各单位针对护理记录与医嘱不符问题限期整改。"
    )

    case2 = hl / f"{y}-06-12 二季度病例抽查"
    docx(case2 / "病例抽查记录.docx", "二季度护理病历抽查记录", "抽查护理病历48份，甲级率91.7%。")
    docx(
        case2 / "反馈意见.docx",
        "二季度护理病历质量反馈意见",
        "整体较一季度有提升，危重患者护理记录仍需加强。",
    )

    insp = hl / f"{y}-05-10 护理质量督查"
    docx(
        insp / "督查记录.docx",
        "护理质量督查记录",
        "督查金乡县中医院、羊山镇卫生院护理质量及分级护理、查对制度等核心制度落实情况。",
        "问题清单：1. 高危患者跌倒评估不及时；2. 急救车药品过期。",
        "患者李某某，身份证号 370828198003151235，跌倒评估漏评。",
    )
    docx(
        insp / "反馈意见.docx",
        "护理质量督查反馈意见",
        "核心制度落实情况通报：分级护理巡视记录不全。责任清单：羊山镇卫生院护理部。整改时限：30日内。",
    )
    made.append(
        make_pdf(
            insp / "整改报告.pdf",
            [["羊山镇卫生院护理质量整改报告", "已完成跌倒评估培训，急救车药品全部更换。"]],
        )
    )
    docx(insp / "回头看记录.docx", "护理质量督查回头看记录", "6月20日复查，整改措施已落实到位。")

    comp = hl / f"{y}-06-20 护理技能竞赛"
    docx(comp / "竞赛通知.docx", f"关于举办{y}年全县护理技能竞赛的通知", "竞赛项目：心肺复苏、静脉输液。")
    made.append(
        make_xlsx(
            comp / "签到表.xlsx",
            "护理技能竞赛签到表",
            ["序号", "姓名", "单位", "联系电话"],
            _signin_rows(20, 3),
        )
    )
    docx(comp / "竞赛总结.docx", "护理技能竞赛总结", "共有18家单位40名选手参赛，评出一等奖2名。")

    meet2 = hl / f"{y}-07-10 第二次工作会议"
    docx(
        meet2 / "会议通知.docx",
        f"关于召开{y}年第二次护理质控工作会议的通知",
        "年中推进会议，通报上半年督查情况。",
    )
    made.append(
        make_xlsx(
            meet2 / "签到表.xlsx",
            "第二次工作会议签到表",
            ["序号", "姓名", "单位", "联系电话"],
            _signin_rows(10, 5),
        )
    )
    # no 会议纪要 here: a planted gap

    inbox = root / NURSING.name / "收件箱"
    made.append(make_pdf(inbox / "扫描件20260905.pdf", [["护理部关于加强夜班巡视的通知（扫描件）"]]))

    # 院感质控中心: a thinner year with real holes.
    docx(
        gr / "工作计划" / f"{y}年院感质控工作计划.docx",
        f"{y}年医院感染质量控制中心工作计划",
        "重点开展手卫生依从性督查、多重耐药菌防控、消毒供应质量评价。",
    )
    meet = gr / f"{y}-03-20 第一次工作会议"
    docx(
        meet / "会议通知.docx",
        f"关于召开{y}年院感质控工作会议的通知",
        "定于3月20日召开全县医院感染管理工作会议。",
    )
    made.append(
        make_pdf(
            meet / "签到表.pdf",
            [["院感质控工作会议签到表", "1 张伟 金乡县人民医院 13912345678", "2 王芳 金乡县中医院"]],
        )
    )
    docx(
        meet / "会议纪要.docx", "院感质控工作会议纪要", "会议通报了2025年医院感染监测数据，部署院感防控督查。"
    )
    insp2 = gr / f"{y}-04-20 院感防控督查"
    docx(
        insp2 / "督查记录.docx",
        "院感防控督查记录",
        "开展院感防控督查，检查手卫生、医疗废物处置、消毒隔离。",
        "问题：部分卫生院手卫生依从性低于60%。",
    )
    docx(insp2 / "反馈意见.docx", "院感防控督查反馈意见", "请各单位于5月20日前提交整改报告。")
    # no 整改报告 and no 回头看: the closed loop is open
    train = gr / f"{y}-09-18 院感知识培训"
    docx(train / "培训通知.docx", "关于举办医院感染防控知识培训的通知", "培训内容：多重耐药菌感染防控。")
    made.append(
        make_pptx(
            train / "多重耐药菌防控课件.pptx", "多重耐药菌感染防控", ["接触隔离措施", "抗菌药物合理使用"]
        )
    )
    return made


DEMO_CENTERS = (NURSING, INFECTION)

# The planted gaps, by center: the check rules they trip once the year is over (tests/test_demo.py holds
# the demo's score to exactly these). The nursing center's year is otherwise complete.
PLANTED: dict[str, tuple[str, ...]] = {
    NURSING.name: (
        "activity.materials",  # 第二次工作会议 without 会议纪要
        "case_review.quarterly",  # no case review in the third quarter (and none yet in the fourth)
        "record.unclassified",  # a scan dropped in 收件箱
        "record.paper",  # only box 1 is filed
        "summary.annual",  # the annual summary, not written yet
    ),
    INFECTION.name: (
        "roster.composition",  # four deputies
        "activity.materials",  # the training without its sign-in sheet
        "record.paper",
        "summary.half_year",
        "summary.annual",
        "case_review.quarterly",
        "indicator_plan.exists",
        "standards.exists",
        "system.parts",
        "meetings.count",  # one meeting only
        "inspection.closed_loop",  # no 整改报告, no 回头看
        "key_areas.quality",  # the same inspection: no rectification
        "core_systems.evidence",  # its inspection is about 手卫生, not the core systems
    ),
}


@dataclass(frozen=True)
class DemoAccount:
    name: str
    role: str  # admin | bureau | director | secretary (zhikong user add --role)
    centers: tuple[str, ...] = ()


# One account per role. The director and the secretary are the rosters' own people, of different centers,
# so logging in as each shows that a center's people see their center only. The secretary's center is the
# one the demo's handover leaves unsealed (the nursing center moves to its new host's archive).
DEMO_ACCOUNTS = (
    DemoAccount("韩志强", "admin"),  # 县卫生健康局信息科
    DemoAccount("孟庆华", "bureau"),  # 县卫生健康局医政科
    DemoAccount(NURSING.roster.director, "director", (NURSING.name,)),
    DemoAccount(INFECTION.roster.secretary, "secretary", (INFECTION.name,)),
)

# No 0/O, 1/l/I: the password is read off the screen and typed in.
_PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"


def strong_password(groups: int = 4, size: int = 4) -> str:
    """A random password such as `Hq7m-xK3p-9TfR-wa2N` (16 symbols of 57: about 93 bits)."""
    return "-".join("".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(size)) for _ in range(groups))
