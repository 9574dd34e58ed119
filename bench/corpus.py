"""A deterministic evaluation corpus: Chinese QC-center documents and judged queries (DOMAIN §5).

Documents are generated from each center's real work (meetings, inspections with feedback, rectification
and follow-up, quarterly case reviews, summaries, plans, 述职), for varied hospitals, people and topics.
The wording varies the way real files do: one file writes 院感, the next 医院感染 or 感控; 质控中心 or
质量控制中心; ICU or 重症医学科; 抗菌药物 or 抗生素.

Relevance is judged from what each document *is* (its center, kind, topic, hospital, people, year),
recorded when it is generated — the way a person reading it would judge — never from any search
engine's output.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

SEED = 20260315
YEARS = (2025, 2026)


@dataclass(frozen=True)
class Center:
    key: str
    name: str  # as in zhikong.toml
    surfaces: tuple[str, ...]  # how files refer to the field
    topics: dict[str, tuple[str, ...]]  # topic → its surface forms in text


CENTERS = (
    Center("院感", "院感质控中心", ("院感", "医院感染管理", "感控"), {
        "手卫生": ("手卫生", "手部卫生"), "多重耐药菌": ("多重耐药菌", "MDRO"),
        "消毒隔离": ("消毒隔离",), "导管相关血流感染": ("导管相关血流感染", "CRBSI"),
    }),
    Center("病案", "病案质控中心", ("病案", "病历"), {
        "病案首页": ("病案首页", "住院病案首页"), "运行病历": ("运行病历",), "病历书写": ("病历书写",),
    }),
    Center("药事", "药事质控中心", ("药事", "药事管理"), {
        "抗菌药物": ("抗菌药物", "抗生素"), "处方点评": ("处方点评",), "麻精药品": ("麻精药品",),
    }),
    Center("护理", "护理质控中心", ("护理",), {
        "压力性损伤": ("压力性损伤",), "跌倒坠床": ("跌倒坠床",), "护理文书": ("护理文书",),
    }),
    Center("麻醉", "麻醉质控中心", ("麻醉",), {
        "术前访视": ("术前访视",), "麻醉复苏": ("麻醉复苏", "麻醉恢复室"), "麻醉记录单": ("麻醉记录单",),
    }),
    Center("检验", "检验质控中心", ("检验", "临床检验"), {
        "危急值": ("危急值",), "室内质控": ("室内质控",), "标本采集": ("标本采集",),
    }),
    Center("输血", "输血质控中心", ("输血", "临床用血"), {
        "输血不良反应": ("输血不良反应",), "用血评价": ("用血评价",),
    }),
    Center("重症", "重症医学质控中心", ("重症医学", "ICU", "重症医学科"), {
        "VTE预防": ("VTE预防", "静脉血栓栓塞症预防"), "呼吸机相关肺炎": ("呼吸机相关肺炎", "VAP"),
        "镇静镇痛": ("镇静镇痛",),
    }),
    Center("急诊", "急诊质控中心", ("急诊",), {
        "胸痛救治": ("胸痛救治",), "预检分诊": ("预检分诊",),
    }),
)  # fmt: skip

HOSPITALS = (
    "金乡县人民医院", "金乡县中医院", "金乡县妇幼保健院", "金乡县第二人民医院",
    "鸡黍镇卫生院", "羊山镇卫生院", "胡集镇卫生院", "化雨镇卫生院",
)  # fmt: skip
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段漕钱汤尹黎易常武乔贺赖龚文"
GIVEN = ("建国", "丽", "卫东", "秀英", "海燕", "志强", "晓明", "红梅", "立新", "静", "国庆", "春兰",
         "文博", "雪梅", "振华", "桂英", "俊杰", "玉兰", "德胜", "淑珍", "宏伟", "慧敏", "永强", "亚楠")  # fmt: skip
DEPTS = ("内科", "外科", "妇产科", "儿科", "手术室", "检验科", "药剂科", "急诊科", "病案室", "感染管理科")
ISSUES = (
    "部分记录填写不完整", "制度执行不到位", "培训覆盖率偏低", "台账资料归档不及时", "自查频次不足",
    "交接班记录缺项", "质控指标上报延迟", "部分人员对流程不熟悉",
)  # fmt: skip
FILLER = (
    "各单位要高度重视，明确专人负责，确保各项工作落到实处。",
    "本次工作得到了各成员单位的大力支持和积极配合。",
    "下一步将继续加强同质化管理，持续提升医疗质量和安全水平。",
    "请各成员单位结合实际，认真对照标准开展自查自纠。",
    "会后各单位需将相关资料报送中心秘书处存档。",
)


@dataclass(frozen=True)
class Doc:
    doc_id: int
    center: str  # Center.key
    kind: (
        str  # notice, minutes, record, feedback, rectification, followup, case_review, summary, plan, report
    )
    year: int
    date: dt.date
    topic: str | None
    hospital: str | None
    people: tuple[str, ...]
    title: str
    activity: str
    category: str
    activity_type: str
    path: str
    text: str


@dataclass(frozen=True)
class Query:
    text: str
    relevant: frozenset[int]


class _Writer:
    """Builds the documents of one center-year."""

    def __init__(
        self, rng: random.Random, center: Center, year: int, staff: list[str], start_id: int
    ) -> None:
        self.rng, self.c, self.year, self.staff = rng, center, year, staff
        self.next_id = start_id
        self.docs: list[Doc] = []

    def field(self) -> str:
        return self.rng.choice(self.c.surfaces)

    def center_name(self) -> str:
        return f"{self.field()}{self.rng.choice(('质控中心', '质量控制中心'))}"

    def filler(self, n: int = 2) -> str:
        return "".join(self.rng.sample(FILLER, n))

    def add(self, kind: str, title: str, activity: str, category: str, atype: str, date: dt.date, text: str,
            *, topic: str | None = None, hospital: str | None = None, people: tuple[str, ...] = ()) -> None:  # fmt: skip
        folder = activity or {"summary": "工作总结", "plan": "工作计划", "report": "工作总结"}.get(kind, "")
        path = f"{self.c.name}/{self.year}/{folder}/{category}.docx"
        self.docs.append(Doc(self.next_id, self.c.key, kind, self.year, date, topic, hospital, people,
                             title, activity, category, atype, path, text))  # fmt: skip
        self.next_id += 1

    def meeting(self) -> None:
        rng = self.rng
        date = dt.date(self.year, rng.choice((2, 3)), rng.randint(1, 28))
        activity = f"{date.isoformat()} 第一次工作会议"
        secretary, director = self.staff[0], self.staff[1]
        name = self.center_name()
        when = f"{date.year}年{date.month}月{date.day}日"
        self.add("notice", f"关于召开{name}{self.year}年第一次工作会议的通知", activity, "通知", "meeting", date,
                 f"各成员单位：经研究，定于{when}在{rng.choice(HOSPITALS)}三楼会议室召开{name}年度工作会议，"
                 f"部署全年{self.field()}质量控制重点工作。请各单位分管院长及科室负责人参加。联系人：{secretary}，"
                 f"电话138{rng.randint(10_000_000, 99_999_999)}。{self.filler(1)}", people=(secretary,))  # fmt: skip
        self.add("minutes", f"{name}{self.year}年第一次工作会议纪要", activity, "会议纪要", "meeting", date,
                 f"{when}，{name}召开年度工作会议，主任{director}主持。会议总结了上年度工作，部署了本年度"
                 f"{self.field()}质控重点任务，明确了{'、'.join(self.c.topics)}等专项工作。{self.filler(2)}",
                 people=(director,))  # fmt: skip

    def inspection(self) -> None:
        rng = self.rng
        topic = rng.choice(list(self.c.topics))
        surface = lambda: rng.choice(self.c.topics[topic])  # noqa: E731
        hospital = rng.choice(HOSPITALS)
        date = dt.date(self.year, rng.randint(4, 9), rng.randint(1, 28))
        activity = f"{date.isoformat()} {self.field()}{topic}督查"
        team = tuple(rng.sample(self.staff[1:], 2))
        issues = rng.sample(ISSUES, 2)
        dept = rng.choice(DEPTS)
        when = f"{date.year}年{date.month}月{date.day}日"
        self.add("record", f"{hospital}{surface()}专项督查记录", activity, "督查记录", "inspection", date,
                 f"{when}，{self.center_name()}督查组（{team[0]}、{team[1]}）对{hospital}开展{surface()}专项督查，"
                 f"重点检查{dept}。发现问题：{issues[0]}；{issues[1]}。{self.filler(1)}",
                 topic=topic, hospital=hospital, people=team)  # fmt: skip
        self.add("feedback", f"关于{hospital}{surface()}督查情况的反馈意见", activity, "反馈意见", "inspection",
                 date + dt.timedelta(days=3),
                 f"{hospital}：{self.center_name()}于{when}对你院{surface()}工作进行了督查，现将发现的问题反馈如下："
                 f"一、{issues[0]}；二、{issues[1]}。请于30日内完成整改并报送整改报告。{self.filler(1)}",
                 topic=topic, hospital=hospital)  # fmt: skip
        self.add("rectification", f"{hospital}关于{surface()}督查问题的整改报告", activity, "整改报告",
                 "inspection", date + dt.timedelta(days=25),
                 f"{self.center_name()}：针对{surface()}督查反馈的{issues[0]}、{issues[1]}等问题，我院{dept}"
                 f"制定了问题清单、责任清单和整改清单，逐项落实整改措施，现已全部整改到位。{self.filler(1)}",
                 topic=topic, hospital=hospital)  # fmt: skip
        self.add("followup", f"{hospital}{surface()}整改回头看记录", activity, "督查记录", "inspection",
                 date + dt.timedelta(days=45),
                 f"{self.center_name()}对{hospital}{surface()}问题整改情况开展回头看，复查组成员{team[0]}。"
                 f"经现场核查，{issues[0]}已整改，{issues[1]}基本整改。{self.filler(1)}",
                 topic=topic, hospital=hospital, people=(team[0],))  # fmt: skip

    def case_review(self) -> None:
        rng = self.rng
        quarter = rng.randint(1, 4)
        qname = "一二三四"[quarter - 1]
        date = dt.date(self.year, quarter * 3 - 1, rng.randint(1, 28))
        hospital = rng.choice(HOSPITALS)
        activity = f"{date.isoformat()} {qname}季度病例抽查"
        expert = rng.choice(self.staff[1:])
        self.add("case_review", f"{self.year}年第{qname}季度{self.field()}重点病例抽查与质量评价", activity,
                 "督查记录", "case_review", date,
                 f"本季度{self.center_name()}组织专家{expert}等对{hospital}抽查重点病例{rng.randint(10, 40)}份，"
                 f"开展质量评价。甲级率{rng.randint(85, 98)}%，主要问题为{rng.choice(ISSUES)}。{self.filler(1)}",
                 hospital=hospital, people=(expert,))  # fmt: skip

    def summary(self) -> None:
        half = self.rng.random() < 0.5
        date = dt.date(self.year, 7 if half else 12, 20)
        kind = "半年工作总结" if half else "年度工作总结"
        self.add("summary", f"{self.center_name()}{self.year}年{kind}", "", "总结", "", date,
                 f"{self.year}年，{self.center_name()}在县卫生健康局领导下，围绕{'、'.join(self.c.topics)}开展督查"
                 f"{self.rng.randint(2, 6)}次、培训{self.rng.randint(1, 4)}次、季度病例抽查。{self.filler(2)}",
                 people=(self.staff[0],))  # fmt: skip

    def plan_or_report(self) -> None:
        date = dt.date(self.year, 1, self.rng.randint(5, 28))
        if self.year % 2:
            self.add("plan", f"{self.center_name()}{self.year}年核心指标提升计划", "", "工作计划", "", date,
                     f"为落实核心指标提升要求，{self.center_name()}确定{self.year}年重点改进指标："
                     f"{'、'.join(self.c.topics)}相关指标，采用PDCA循环持续改进。{self.filler(1)}")  # fmt: skip
        else:
            director = self.staff[1]
            self.add("report", f"{self.center_name()}主任{director}{self.year}年述职报告", "", "总结", "", date,
                     f"本人{director}，任{self.center_name()}主任。现将{self.year - 1}年度履职情况报告如下："
                     f"组织工作会议、督查和病例抽查，推进{'、'.join(self.c.topics)}等工作。{self.filler(1)}",
                     people=(director,))  # fmt: skip


def _staff(rng: random.Random, used: set[str]) -> list[str]:
    staff: list[str] = []
    while len(staff) < 5:
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        if name not in used:
            used.add(name)
            staff.append(name)
    return staff


def documents() -> list[Doc]:
    """The corpus (about 180 documents), the same on every run."""
    rng = random.Random(SEED)
    used: set[str] = set()
    docs: list[Doc] = []
    staff = {c.key: _staff(rng, used) for c in CENTERS}  # [secretary, director, experts…]
    for year in YEARS:
        for center in CENTERS:
            w = _Writer(rng, center, year, staff[center.key], len(docs) + 1)
            w.meeting()
            w.inspection()
            w.case_review()
            w.summary()
            w.plan_or_report()
            docs += w.docs
    return docs


def _judge(docs: list[Doc], pred: Callable[[Doc], bool]) -> frozenset[int]:
    return frozenset(d.doc_id for d in docs if pred(d))


def queries(docs: list[Doc]) -> list[Query]:
    """Queries of the kinds in DOMAIN §5, each with the documents a person would judge relevant."""
    people = sorted({p for d in docs if d.kind == "record" for p in d.people})
    rng = random.Random(SEED + 1)
    picked_people = rng.sample(people, 3)
    specs: list[tuple[str, Callable[[Doc], bool]]] = [
        ("去年院感督查的反馈意见", lambda d: d.center == "院感" and d.kind == "feedback" and d.year == 2025),
        ("院感 督查 反馈", lambda d: d.center == "院感" and d.kind == "feedback"),
        ("感控督查整改", lambda d: d.center == "院感" and d.kind == "rectification"),
        ("医院感染 回头看", lambda d: d.center == "院感" and d.kind == "followup"),
        ("病历质量 整改", lambda d: d.center == "病案" and d.kind == "rectification"),
        ("病案首页督查", lambda d: d.topic == "病案首页" and d.kind in ("record", "feedback", "followup")),
        ("手卫生", lambda d: d.topic == "手卫生"),
        ("危急值", lambda d: d.topic == "危急值"),
        ("重症医学科 VTE", lambda d: d.topic == "VTE预防"),
        ("ICU 质控 工作会议", lambda d: d.center == "重症" and d.kind in ("notice", "minutes")),
        ("麻醉 会议通知", lambda d: d.center == "麻醉" and d.kind == "notice"),
        ("护理质量控制中心 工作会议纪要", lambda d: d.center == "护理" and d.kind == "minutes"),
        (
            "检验质控中心 年度工作总结",
            lambda d: d.center == "检验" and d.kind == "summary" and d.date.month == 12,
        ),
        ("半年工作总结", lambda d: d.kind == "summary" and d.date.month == 7),
        ("2025年 述职", lambda d: d.kind == "report" and d.year == 2025),
        ("核心指标提升计划", lambda d: d.kind == "plan"),
        ("一季度病例抽查", lambda d: d.kind == "case_review" and d.date.month == 2),
        ("病例抽查 质量评价 输血", lambda d: d.kind == "case_review" and d.center == "输血"),
        ("急诊 胸痛救治 督查", lambda d: d.topic == "胸痛救治"),
        ("输血不良反应", lambda d: d.topic == "输血不良反应"),
        ("呼吸机相关肺炎 反馈意见", lambda d: d.topic == "呼吸机相关肺炎" and d.kind == "feedback"),
        ("多重耐药菌 整改报告", lambda d: d.topic == "多重耐药菌" and d.kind == "rectification"),
        ("药事质控 处方点评", lambda d: d.topic == "处方点评"),
        ("压力性损伤", lambda d: d.topic == "压力性损伤"),
        ("麻醉复苏 回头看", lambda d: d.topic == "麻醉复苏" and d.kind == "followup"),
    ]
    for hospital in ("羊山镇卫生院", "金乡县中医院"):
        specs.append(
            (f"{hospital} 整改报告", lambda d, h=hospital: d.hospital == h and d.kind == "rectification")
        )
    specs.append(("鸡黍镇卫生院", lambda d: d.hospital == "鸡黍镇卫生院"))
    for person in picked_people:
        specs.append((person, lambda d, p=person: p in d.people))
    specs.append(
        (f"{picked_people[0]} 督查记录", lambda d, p=picked_people[0]: p in d.people and d.kind == "record")
    )
    specs += [
        ("质控中心 第一次工作会议 通知", lambda d: d.kind == "notice"),
        ("药事 会议纪要", lambda d: d.center == "药事" and d.kind == "minutes"),
        ("急诊质量控制中心 核心指标", lambda d: d.center == "急诊" and d.kind == "plan"),
        ("病案质控中心 述职报告", lambda d: d.center == "病案" and d.kind == "report"),
    ]
    # The other name of each inspected topic (MDRO for 多重耐药菌, 抗生素 for 抗菌药物 …), as people type it.
    inspected = sorted({(d.center, d.topic) for d in docs if d.kind == "record" and d.topic})
    for key, topic in inspected:
        forms = next(c for c in CENTERS if c.key == key).topics[topic]
        if len(forms) > 1:
            specs.append((f"{forms[1]} 督查", lambda d, t=topic: d.topic == t))
    result = [Query(text, _judge(docs, pred)) for text, pred in specs]
    return [q for q in result if q.relevant]
