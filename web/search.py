"""The search page: the query box with the filters of `zhikong search`, ranked results with highlighted,
masked snippets, twenty to a page. A secretary's search covers her centers only."""

from __future__ import annotations

import dataclasses
from datetime import date
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET

from zhikong.app import for_people
from zhikong.archive.convention import CATEGORIES, ActivityType
from zhikong.indexer.index import Hit, SearchFilters
from zhikong.web.accounts import Account
from zhikong.web.context import archive, today
from zhikong.web.views import account, forbidden, login_required

PAGE = 20
MAX_PAGES = 50
TYPE_LABEL = {
    ActivityType.MEETING: "会议",
    ActivityType.COMPETITION: "竞赛",
    ActivityType.EXCHANGE: "学术交流",
    ActivityType.TRAINING: "培训",
    ActivityType.CASE_REVIEW: "病例抽查",
    ActivityType.INSPECTION: "督查",
    ActivityType.FOLLOW_UP: "回头看",
    ActivityType.CAMPAIGN: "专项行动",
    ActivityType.OTHER: "其他",
}


def search_as(account: Account, query: str, filters: SearchFilters, *, limit: int) -> tuple[str, list[Hit]]:
    """The search an account may make: every center for the bureau and the administrator, else one search
    per center of hers (or the one asked, if hers), merged by score. Returns the query as searched (a
    relative year such as 去年 becomes the year filter) and the hits."""
    arc, day = archive(), today()
    if account.role.sees_all or filters.center:
        found = arc.search(account.name, query, filters, today=day, limit=limit)
        return found.query, list(found.hits)
    hits: list[Hit] = []
    searched = query
    for center in account.centers:
        found = arc.search(
            account.name, query, dataclasses.replace(filters, center=center), today=day, limit=limit
        )
        searched, hits = found.query, hits + list(found.hits)
    hits.sort(key=lambda h: -h.score)
    return searched, hits[:limit]


def highlighted(snippet: str) -> SafeString:
    """The snippet (already masked) with the matches, which the index marks 【thus】, as <mark>."""
    return mark_safe(escape(snippet).replace("【", "<mark>").replace("】", "</mark>"))


class BadFilter(ValueError):
    pass


def _date(raw: str | None, label: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadFilter(f"{label}应写成 YYYY-MM-DD：{raw}") from None


def filters_from(get: dict[str, str]) -> SearchFilters:
    year = get.get("year", "").strip()
    if year and not (year.isdigit() and len(year) == 4):
        raise BadFilter(f"年度应是四位数字：{year}")
    category = get.get("category") or None
    if category and category not in CATEGORIES:
        raise BadFilter(f"没有这个类别：{category}")
    kind = get.get("type") or None
    if kind and kind not in {t.value for t in ActivityType}:
        raise BadFilter(f"没有这个活动类型：{kind}")
    return SearchFilters(
        center=get.get("center") or None,
        year=int(year) if year else None,
        category=category,
        activity_type=kind,
        date_from=_date(get.get("from"), "起始日期"),
        date_to=_date(get.get("to"), "截止日期"),
        include_deleted=get.get("deleted") == "1",
    )


@login_required
@require_GET
def page(request: HttpRequest) -> HttpResponse:
    me = account(request)
    assert me is not None
    get = {
        k: request.GET.get(k, "")
        for k in ("q", "center", "year", "category", "type", "from", "to", "deleted")
    }
    query = get["q"].strip()
    centers = me.visible(archive().settings().center_names())
    context: dict[str, object] = {
        "me": me,
        "get": get,
        "centers": centers,
        "categories": CATEGORIES,
        "types": [(t.value, label) for t, label in TYPE_LABEL.items()],
    }
    if get["center"] and not me.may_see(get["center"]):
        return forbidden(request, f"你的账户无权检索{get['center']}。")
    if not query:
        return render(request, "search.html", context)
    raw_page = request.GET.get("page", "1")
    number = min(int(raw_page), MAX_PAGES) if raw_page.isdigit() and int(raw_page) > 0 else 1
    try:
        filters = filters_from(get)
    except BadFilter as exc:
        context["error"] = str(exc)
        return render(request, "search.html", context, status=400)
    searched, hits = search_as(me, query, filters, limit=number * PAGE + 1)
    shown = hits[(number - 1) * PAGE : number * PAGE]
    people = for_people(shown)
    context.update(
        {
            "query": query,
            "searched": searched,
            "year": filters.year,
            "hits": [
                (
                    h,
                    highlighted(h.snippet),
                    TYPE_LABEL.get(ActivityType(h.activity_type), "")
                    if h.activity_type in {t.value for t in ActivityType}
                    else "",
                )
                for h in people
            ],
            "page": number,
            "first": (number - 1) * PAGE + 1,
            "last": (number - 1) * PAGE + len(shown),
            "has_next": len(hits) > number * PAGE and number < MAX_PAGES,
            "has_prev": number > 1,
            "params": urlencode({k: v for k, v in get.items() if v}),
        }
    )
    return render(request, "search.html", context)
