"""Checks and the annual assessment in the browser (issue 14).

- `/checks/` and `/checks/<center>/<year>/?as_of=…`: what the rules find missing as of a date, each finding
  with its article and scoring item, what to do about it and the files looked at; deadlines still ahead as
  reminders with the days left.
- `/assess/<center>/<year>/`: the 21-item form with the self-assessed score and the bureau's score beside
  it (only the bureau edits, audited), the totals both ways, the .docx form and the county .xlsx.
- `/assess/ranking/<year>/`: the county ranking with the forced distribution, item 19 and charts drawn as
  inline SVG on the server (no script), each with its table.

Views parse the request, check role and center, call `zhikong.app.Archive` and render masked copies.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import quote

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from zhikong.app import Archive, for_people
from zhikong.archive.assessment import AssessedItem, Assessment, parse_score
from zhikong.archive.checks import Finding
from zhikong.archive.rules import RuleSet
from zhikong.archive.score import Ranking
from zhikong.errors import ZhikongError
from zhikong.web.accounts import Account, Role
from zhikong.web.context import archive, today
from zhikong.web.views import account, forbidden, local_time, login_required

# What to do about a finding, by its rule id (exact) or the rule id's prefix (before the dot).
ACTIONS: dict[str, str] = {
    "meetings": "在年度文件夹中建“YYYY-MM-DD 名称”活动文件夹（如“2026-03-15 第一次工作会议”），放入会议通知、签到表、会议纪要；上半年至少召开一次。",
    "competition": "组织一次技能竞赛、学术交流或培训，建“YYYY-MM-DD 名称”活动文件夹，放入通知、签到表和课件或总结。",
    "case_review": "每季度开展一次病例抽查，建“YYYY-MM-DD 一季度病例抽查”之类的活动文件夹，放入督查记录和反馈意见。",
    "indicator_plan": "制定核心指标提升计划，放入年度文件夹下的“工作计划”文件夹。",
    "plan": "把年度工作计划放入年度文件夹下的“工作计划”文件夹。",
    "summary.half_year": "7月31日前完成半年工作总结，放入年度文件夹下的“工作总结”文件夹。",
    "summary.annual": "12月31日前完成年度工作总结，放入年度文件夹下的“工作总结”文件夹。",
    "summary": "写好工作总结，放入年度文件夹下的“工作总结”文件夹。",
    "standards": "把本专业的质控标准、制度文件放入年度文件夹下的“质控标准”文件夹。",
    "activity": "补齐该活动文件夹中缺少的材料（通知、签到表、纪要或课件等，见左栏）；纸质件请扫描后放入。",
    "inspection": "按“督查记录→反馈意见→整改报告→回头看”补齐闭环材料，放入该督查的活动文件夹；回头看也可单建“回头看”活动文件夹。",
    "record.paper": "打印该盒的归档文件目录，把纸质原件装盒，并登记入盒（纸质件入盒）。",
    "record.electronic": "扫描纸质件，把电子件放入相应活动文件夹，并与纸质件关联。",
    "record.deleted": "在记录页面恢复被删除的文件；确属误放的，请说明情况并报医政科。",
    "record.unreadable": "用 Word/WPS 打开后另存为 .docx 或 .pdf（去掉密码），放回原处替换。",
    "record.unclassified": "把文件移到“中心/年度/活动文件夹”中，或在记录页面人工指定中心、年度和类别。",
    "record.after_seal": "封存后不应再改动文件夹：请核实这次变动并报告医政科。",
    "roster": "在 zhikong.toml 中补全主任、副主任（2—3 名）、秘书和委员名单（不超过 20 人），并核对任期。",
    "system.parts": "把年度工作计划放入“工作计划”，把本中心的工作制度（标题写明“制度”）和质控标准放入“质控标准”；纸质原件装盒登记即有台账。",
    "core_systems": "围绕核心制度开展督查：督查记录和反馈意见（或通报）中写明所查的核心制度，放入该督查的活动文件夹。",
    "key_areas": "对院感、用药、病历等重点领域的督查补齐整改报告或回头看记录；病例抽查补齐反馈意见。",
    "grassroots": "到卫生院等基层机构督查、指导或培训，把记录、反馈意见或总结放入该活动文件夹，写明所到单位。",
    "data": "在督查记录或总结中写明指标数据（发生率、甲级率、依从性等），并有数据分析或质量通报。",
    "record.duplicate": "同一文件放了两处：确认保留的一份后，用 zhikong dedupe 删去多余的一份（仅存的一份不能删）。",
    "folder.name": "把文件夹改名为“日期 名称”（如“2026-09-18 三季度病例抽查”），其中的文件才会计入活动。",
    "folder.year": "把活动文件夹移到与其日期同年的年度文件夹，或改正文件夹名中的日期。",
}
GENERIC_ACTION = "按左栏所缺内容补齐材料，放入该中心对应年度的文件夹；如有疑问请联系医政科。"


def action_for(rule: str) -> str:
    """The short Chinese action for a rule id: the exact rule, else its prefix, else a generic one."""
    return ACTIONS.get(rule) or ACTIONS.get(rule.split(".", 1)[0]) or GENERIC_ACTION


@dataclass(frozen=True)
class FileLink:
    path: str
    record: int | None  # the record page to link to, when the path is a catalogued file
    label: str = ""  # the path as shown: without the center's folder when the page is about one center

    @property
    def shown(self) -> str:
        return self.label or self.path


@dataclass(frozen=True)
class FindingRow:
    rule: str
    center: str
    year: int | None
    article: str
    item: int
    item_name: str
    message: str
    action: str
    files: tuple[FileLink, ...]
    cost: float = 0.0  # the points the finding(s) of this row cost on `item`


def _links(paths: Iterable[str], ids: dict[str, int], center: str | None = None) -> tuple[FileLink, ...]:
    prefix = f"{center}/" if center else None
    return tuple(
        FileLink(p, ids.get(p), p[len(prefix) :] if prefix and p.startswith(prefix) else "") for p in paths
    )


def _record_ids(arc: Archive, me: Account, centers: Iterable[str | None]) -> dict[str, int]:
    """Path → record number for the centers shown (active records win over deleted ones at a path)."""
    ids: dict[str, int] = {}
    for c in centers:
        for r in sorted(arc.records(me.name, center=c).records, key=lambda r: r.state == "active"):
            ids[r.path] = r.id
    return ids


def _as_of(request: HttpRequest) -> tuple[date, str]:
    raw = request.GET.get("as_of", "").strip()
    if not raw:
        return today(), ""
    try:
        return date.fromisoformat(raw), ""
    except ValueError:
        return today(), f"日期格式应为 YYYY-MM-DD：{raw[:20]}；已按今天检查。"


def _known(arc: Archive, center: str) -> None:
    if center not in arc.settings().center_names():
        raise Http404(center)


# -- checks ----------------------------------------------------------------------------------------------


@login_required
@require_GET
def checks_index(request: HttpRequest) -> HttpResponse:
    """Every center the account may see, for one year (?year=, default this year), as of ?as_of=."""
    me = account(request)
    assert me is not None
    center = request.GET.get("center", "").strip()
    raw_year = request.GET.get("year", "").strip()
    as_of, error = _as_of(request)
    year = int(raw_year) if raw_year.isdigit() and 2000 <= int(raw_year) <= 2100 else as_of.year
    names = me.visible(archive().settings().center_names())
    if not center and len(names) == 1:  # a secretary or director of one center: her center's page
        center = names[0]
    if center:
        query = f"?as_of={as_of.isoformat()}" if request.GET.get("as_of") and not error else ""
        return HttpResponseRedirect(f"/checks/{quote(center)}/{year}/{query}")
    return _checks_page(request, me, None, year, as_of, error)


@login_required
@require_GET
def checks(request: HttpRequest, center: str, year: int) -> HttpResponse:
    me = account(request)
    assert me is not None
    _known(archive(), center)
    if not me.may_see(center):
        return forbidden(request, f"你的账户无权查看{center}的检查结果。")
    as_of, error = _as_of(request)
    return _checks_page(request, me, center, year, as_of, error)


def _checks_page(
    request: HttpRequest, me: Account, center: str | None, year: int, as_of: date, error: str
) -> HttpResponse:
    arc = archive()
    names = me.visible(arc.settings().center_names())
    shown = (center,) if center else names
    scope = center or (names[0] if len(names) == 1 else None)
    findings: list[Finding] = []
    reminders = []
    loops = []
    if shown:
        report = arc.check(me.name, as_of=as_of, center=scope, year=year)
        findings = [
            f
            for f in report.findings
            if (f.center in shown) or (f.center is None and me.role.sees_all and center is None)
        ]
        reminders = [u for u in report.upcoming if u.center in shown]
        loops = [lp for y in report.years if y.center in shown for lp in y.loops]
    items = {i.no: i.name for i in arc.rule_set(me.name).items}
    ids = _record_ids(arc, me, shown if not (me.role.sees_all and center is None) else (None,))
    merged: dict[tuple[str | None, int | None, str, str], list[str]] = {}
    costs: dict[tuple[str | None, int | None, str, str], float] = {}
    for f in findings:  # the same finding for many files (21 unreadable files …) is one row with every file
        key = (f.center, f.year, f.rule, f.message)
        merged.setdefault(key, []).extend(f.paths)
        costs[key] = costs.get(key, 0.0) + f.cost
    first = {(f.center, f.year, f.rule, f.message): f for f in reversed(findings)}
    rows = [
        FindingRow(
            f.rule,
            f.center or "未归类",
            f.year,
            f.article,
            f.item,
            items.get(f.item, ""),
            f.message,
            action_for(f.rule),
            _links(dict.fromkeys(paths), ids, f.center),
            round(costs[key], 1),
        )
        for key, paths in merged.items()
        for f in (first[key],)
    ]
    groups = [(c, [r for r in rows if r.center == c]) for c in (*shown, "未归类")]
    groups = [(c, rs) for c, rs in groups if rs or c in shown]
    loop_rows = [(lp, _links(lp.paths + lp.follow_up, ids, lp.center)) for lp in loops]
    overview = [
        (c, len(rs), sum(1 for u in reminders if u.center == c), sum(1 for lp in loops if lp.center == c))
        for c, rs in groups
    ]
    context = {
        "me": me,
        "center": center,
        "year": year,
        "as_of": as_of.isoformat(),
        "today": today().isoformat(),
        "error": error,
        "centers": names,
        "years": list(range(as_of.year, as_of.year - 5, -1)),
        "groups": for_people(groups),
        "reminders": for_people(reminders),
        "loops": for_people(loop_rows),
        "total": len(rows),
        "overview": for_people(overview) if center is None and len(groups) > 1 else [],
        "future": year > as_of.year,
    }
    return render(request, "checks.html", context)


# -- the assessment of one center-year ----------------------------------------------------------------------


@dataclass(frozen=True)
class FormRow:
    line: AssessedItem
    files: tuple[FileLink, ...]
    typed_score: str  # what the bureau typed (or the stored score) for the input
    typed_note: str
    error: str
    when: str  # when the bureau's score was given, in local time


def _fmt(value: float) -> str:
    return f"{value:g}"


@login_required
@require_http_methods(["GET", "POST"])
def assess(request: HttpRequest, center: str, year: int) -> HttpResponse:
    me = account(request)
    assert me is not None
    arc = archive()
    _known(arc, center)
    if not me.may_see(center):
        return forbidden(request, f"你的账户无权查看{center}的考核评分。")
    as_of, error = _as_of(request)
    if year > as_of.year:
        return forbidden(
            request, f"{year} 年度还没有开始，无法评分（检查日期 {as_of.isoformat()}）。", status=404,
            title="年度未开始",
        )  # fmt: skip
    typed: dict[int, tuple[str, str]] = {}
    errors: dict[int, str] = {}
    if request.method == "POST":
        if me.role is not Role.BUREAU:
            return forbidden(request, "只有卫健局医政科可以填写考核得分；其他账户只能查看。")
        current = arc.assessment(me.name, center=center, year=year, as_of=as_of)
        changes: list[tuple[int, float, str]] = []
        for line in current.items:
            no = line.item.no
            raw = request.POST.get(f"score_{no}", "").strip()
            note = request.POST.get(f"note_{no}", "").strip()
            typed[no] = (raw, note)
            if line.bureau is not None and note == for_people(line.bureau.note):
                # The page shows the stored note masked (a mobile number as 139****5678): an unchanged
                # note comes back masked and must not overwrite the real one.
                note = line.bureau.note
            if not raw:
                if note and line.bureau is None:
                    errors[no] = "填写说明时请同时填写分数。"
                continue
            try:
                value = parse_score(raw)
                if value < 0 or value > line.item.max:
                    raise ZhikongError(f"得分应在 0 到 {_fmt(line.item.max)} 分之间：{raw}")
            except ZhikongError as exc:
                errors[no] = exc.message
                continue
            if line.bureau is None or line.bureau.score != value or line.bureau.note != note:
                changes.append((no, value, note))
        if not errors:
            try:
                for no, value, note in changes:
                    arc.set_assessor_score(me.name, center=center, year=year, item=no, score=value, note=note)
            except ZhikongError as exc:
                return _assess_page(request, me, center, year, as_of, exc.message, typed, errors, status=400)
            query = f"&as_of={as_of.isoformat()}" if request.GET.get("as_of") else ""
            return HttpResponseRedirect(f"/assess/{quote(center)}/{year}/?saved={len(changes)}{query}")
        message = f"有 {len(errors)} 项得分不符合要求，均未保存；请按提示改正后再保存。"
        return _assess_page(request, me, center, year, as_of, message, typed, errors, status=400)
    return _assess_page(request, me, center, year, as_of, error, typed, errors)


def _assess_page(
    request: HttpRequest,
    me: Account,
    center: str,
    year: int,
    as_of: date,
    error: str,
    typed: dict[int, tuple[str, str]],
    errors: dict[int, str],
    *,
    status: int = 200,
) -> HttpResponse:
    arc = archive()
    result = arc.assessment(me.name, center=center, year=year, as_of=as_of)
    ids = _record_ids(arc, me, (center,))
    rows = []
    for line in result.items:
        stored = line.bureau
        score, note = typed.get(
            line.item.no, (_fmt(stored.score) if stored else "", stored.note if stored else "")
        )
        when = local_time(stored.at)[:16] if stored else ""
        files = _links(line.item.paths, ids, center)
        rows.append(FormRow(line, files, score, note, errors.get(line.item.no, ""), when))
    saved = request.GET.get("saved", "")
    rules = arc.rule_set(me.name)
    context = {
        "me": me,
        "center": center,
        "year": year,
        "as_of": as_of.isoformat(),
        "as_of_query": f"?as_of={as_of.isoformat()}" if request.GET.get("as_of") else "",
        "a": for_people(result),
        "sheet": for_people(result.sheet),
        "rows": for_people(rows),
        "may_grade": me.role is Role.BUREAU,
        "may_rank": me.role.sees_all,
        "error": error,
        "saved": int(saved) if saved.isdigit() else None,
        "tiers": [(t.name, _fmt(t.min)) for t in rules.tiers],
        "self_total": _fmt(result.sheet.self_total),
        "self_max": _fmt(result.sheet.self_max),
        "projected": _fmt(result.sheet.projected),
        "bureau_total": _fmt(result.bureau_total),
        "total_max": _fmt(result.sheet.total_max),
        "pending": sum(1 for i in result.items if i.item.score is None and i.bureau is None),
    }
    return render(request, "assess.html", context, status=status)


def _attachment(data: bytes, name: str, media_type: str) -> HttpResponse:
    response = HttpResponse(data, content_type=media_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    response["Cache-Control"] = "no-store"
    return response


def _written(arc: Archive, suffix: str, write: object) -> bytes:
    """Run `write(path)` on a fresh file under the archive's .zhikong/tmp/ and return its bytes."""
    folder = arc.settings().system_dir / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(suffix=suffix, dir=folder)
    os.close(handle)
    path = Path(name)
    try:
        assert callable(write)
        write(path)
        return path.read_bytes()
    finally:
        path.unlink(missing_ok=True)


@login_required
@require_GET
def assess_docx(request: HttpRequest, center: str, year: int) -> HttpResponse:
    me = account(request)
    assert me is not None
    arc = archive()
    _known(arc, center)
    if not me.may_see(center):
        return forbidden(request, f"你的账户无权下载{center}的考核评分表。")
    as_of, _ = _as_of(request)
    if year > as_of.year:
        raise Http404(str(year))
    data = _written(
        arc, ".docx", lambda out: arc.score(me.name, center=center, year=year, as_of=as_of, out=out)
    )
    media = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return _attachment(data, f"{center}{year}年度考核评分表.docx", media)


@login_required
@require_GET
def ranking_xlsx(request: HttpRequest, year: int) -> HttpResponse:
    me = account(request)
    assert me is not None
    if not me.role.sees_all:
        return forbidden(request, "全县排名只有卫健局医政科和管理员可以查看。")
    arc = archive()
    as_of, _ = _as_of(request)
    data = _written(arc, ".xlsx", lambda out: arc.rank(me.name, year=year, as_of=as_of, out=out))
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _attachment(data, f"{arc.settings().county}{year}年度质控中心考核排名.xlsx", media)


# -- the county ranking --------------------------------------------------------------------------------------

TIER_CLASS = ("t1", "t2", "t3", "t4")


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    label: str
    value: str
    label_x: float
    label_y: float
    value_x: float
    value_y: float


@dataclass(frozen=True)
class Tick:
    x1: float
    y1: float
    x2: float
    y2: float
    label: str
    lx: float
    ly: float
    css: str = "grid"


def _tier_class(rules: RuleSet, tier: str) -> str:
    names = [t.name for t in rules.tiers]
    return TIER_CLASS[min(names.index(tier), 3)] if tier in names else "t4"


def _histogram(rules: RuleSet, totals: list[float]) -> dict[str, object]:
    """Centers per five-point band of the projected total (below 60 in one band): a column chart."""
    bands = [(0.0, 60.0, "<60")] + [(float(lo), float(lo + 5), f"{lo}–{lo + 4}") for lo in range(60, 100, 5)]
    bands[-1] = (95.0, 1000.0, "95–100")
    counts = [sum(1 for t in totals if lo <= t < hi) for lo, hi, _ in bands]
    width, height, left, bottom, top = 560.0, 220.0, 34.0, 30.0, 14.0
    plot_h = height - bottom - top
    peak = max([*counts, 1])
    step = (width - left - 8) / len(bands)
    bars = []
    for i, ((lo, _hi, label), n) in enumerate(zip(bands, counts, strict=True)):
        h = plot_h * n / peak
        x = left + i * step + 4
        bars.append(
            Bar(x, top + plot_h - h, step - 8, h, _tier_class(rules, rules.tier_of(lo)), label, str(n) if n else "",
                x + (step - 8) / 2, height - bottom + 16, x + (step - 8) / 2, top + plot_h - h - 4)
        )  # fmt: skip
    ticks = [
        Tick(left, top + plot_h - plot_h * k / peak, width - 4, top + plot_h - plot_h * k / peak, str(k),
             left - 6, top + plot_h - plot_h * k / peak + 4)
        for k in range(0, peak + 1, max(1, peak // 4))
    ]  # fmt: skip
    rows = [(label, n) for (_lo, _hi, label), n in zip(bands, counts, strict=True)]
    return {"width": int(width), "height": int(height), "bars": bars, "ticks": ticks, "rows": rows}


def _years_chart(rows: list[tuple[str, float | None, float]]) -> dict[str, object]:
    """This year's projected total against last year's, per center: paired horizontal bars on 0–100."""
    left, right, row_h, top = 130.0, 60.0, 34.0, 24.0
    width = 560.0
    plot_w = width - left - right
    height = top + row_h * len(rows) + 26
    bars: list[Bar] = []
    names = []
    for i, (center, last, this) in enumerate(rows):
        y = top + i * row_h
        names.append((center, left - 8, y + 16))
        for j, (value, css) in enumerate(((last, "last"), (this, "this"))):
            if value is None:
                continue
            w = plot_w * max(0.0, min(value, 100.0)) / 100
            by = y + 3 + j * 13
            bars.append(Bar(left, by, w, 11, css, "", _fmt(value), 0, 0, left + w + 4, by + 10))
    ticks = [
        Tick(left + plot_w * v / 100, top - 6, left + plot_w * v / 100, height - 22, str(v),
             left + plot_w * v / 100, height - 8, "grid line" if v in (75, 90) else "grid")
        for v in (0, 25, 50, 75, 90, 100)
    ]  # fmt: skip
    return {"width": int(width), "height": int(height), "bars": bars, "ticks": ticks, "names": names}


HEAT = ("h0", "h1", "h2", "h3", "h4")


@dataclass(frozen=True)
class HeatCell:
    value: str
    css: str
    title: str


def _heat(
    ranking: Ranking, graded: dict[str, Assessment]
) -> tuple[list[tuple[int, str, str]], list[tuple[str, list[HeatCell]]]]:
    """Centers × items: each cell the item's score — the bureau's where it graded the item (outlined), else
    the self-assessed one, 局评 when the bureau still has to judge — and a class by the share of the item's
    maximum it got."""
    if not ranking.sheets:
        return [], []
    head = [(i.no, i.name, _fmt(i.max)) for i in ranking.sheets[0].items]
    body = []
    for sheet in ranking.sheets:
        given = (
            {line.item.no: line.bureau for line in graded[sheet.center].items}
            if sheet.center in graded
            else {}
        )
        cells = []
        for i in sheet.items:
            bureau = given.get(i.no)
            score = bureau.score if bureau is not None else i.score
            if score is None:
                cells.append(
                    HeatCell("局评", "hb", f"第{i.no}项 {i.name}：待卫健局评分（满分 {_fmt(i.max)}）")
                )
                continue
            share = score / i.max if i.max else 1.0
            level = (
                4 if share >= 0.999 else 3 if share >= 0.75 else 2 if share >= 0.5 else 1 if share > 0 else 0
            )
            who = "卫健局评分" if bureau is not None else "自查"
            css = HEAT[level] + (" graded" if bureau is not None else "")
            cells.append(
                HeatCell(_fmt(score), css, f"第{i.no}项 {i.name}：{who} {_fmt(score)} / {_fmt(i.max)}")
            )
        body.append((sheet.center, cells))
    return head, body


@login_required
@require_GET
def ranking(request: HttpRequest, year: int) -> HttpResponse:
    me = account(request)
    assert me is not None
    if not me.role.sees_all:
        return forbidden(request, "全县排名只有卫健局医政科和管理员可以查看。")
    arc = archive()
    as_of, error = _as_of(request)
    rules = arc.rule_set(me.name)
    this = arc.rank(me.name, year=year, as_of=as_of)
    last = arc.rank(me.name, year=year - 1, as_of=as_of)
    last_total = {r.center: r.total for r in last.rows}
    last_rank = {r.center: r.rank for r in last.rows}
    graded = arc.ranked_assessments(me.name, this)
    n = len(this.rows)
    shares = []
    for t, share in zip(rules.tiers, rules.distribution or (), strict=False):
        got = sum(1 for r in this.rows if r.tier == t.name)
        by_score = sum(1 for r in this.rows if r.tier_by_score == t.name)
        shares.append((t.name, f"{share * 100:.0f}%", got, f"{(got / n * 100) if n else 0:.0f}%", by_score,
                       _tier_class(rules, t.name)))  # fmt: skip
    table = [
        (
            r,
            _tier_class(rules, r.tier),
            _fmt(r.self_total),
            "—" if r.ranking_points is None else _fmt(r.ranking_points),
            _fmt(r.total),
            "—" if r.center not in last_total else _fmt(last_total[r.center]),
            "" if r.center not in last_total else f"{r.total - last_total[r.center]:+g}",
            last_rank.get(r.center),
            _fmt(graded[r.center].bureau_total) if r.center in graded and graded[r.center].graded else "",
            graded[r.center].graded if r.center in graded else 0,
        )
        for r in this.rows
    ]
    head, heat = _heat(this, graded)
    pairs = [(r.center, last_total.get(r.center), r.total) for r in this.rows]
    context = {
        "me": me,
        "year": year,
        "as_of": as_of.isoformat(),
        "as_of_query": f"?as_of={as_of.isoformat()}" if request.GET.get("as_of") else "",
        "error": error,
        "rules": rules,
        "ranking_item": rules.ranking_item,
        "table": for_people(table),
        "shares": shares,
        "histogram": _histogram(rules, [r.total for r in this.rows]),
        "years_chart": for_people(_years_chart(pairs)),
        "heat_head": head,
        "heat": for_people(heat),
        "n": n,
        "tiers": [(t.name, _fmt(t.min), _tier_class(rules, t.name)) for t in rules.tiers],
    }
    return render(request, "ranking.html", context)
