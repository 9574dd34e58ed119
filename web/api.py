"""The JSON API of `zhikong serve`, for scripts: `Authorization: Bearer <token>` (`zhikong token create`).

The objects are those of the command line's `--json` (`Archive.search(...).to_json()`, `Record.to_json()`):
real paths and titles, for scripts that open the files, with snippets masked — the documented exception to
masking. A missing, unknown or disabled account's token is 401; a center outside the account's is 403.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from zhikong.errors import NotFound
from zhikong.indexer.index import SearchFilters
from zhikong.web.accounts import Account
from zhikong.web.context import archive, today

ApiView = Callable[..., HttpResponse]
MAX_LIMIT = 200


class BadRequest(Exception):
    pass


def _error(status: int, message: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status, json_dumps_params={"ensure_ascii": False})
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="zhikong"'
    return response


def token_required(view: Callable[..., HttpResponse]) -> ApiView:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        account = archive().token_account(token.strip()) if scheme.lower() == "bearer" and token else None
        if account is None:
            return _error(
                401, "需要有效的 API 令牌：请求头 Authorization: Bearer 令牌（zhikong token create 生成）。"
            )
        try:
            return view(request, account, *args, **kwargs)
        except BadRequest as exc:
            return _error(400, str(exc))

    return wrapped


def _data(value: Any) -> JsonResponse:
    return JsonResponse(value, safe=False, json_dumps_params={"ensure_ascii": False})


def _int(request: HttpRequest, name: str, default: int | None = None) -> int | None:
    raw = request.GET.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"参数 {name} 应是整数：{raw}") from None


def _date(request: HttpRequest, name: str) -> date | None:
    raw = request.GET.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"参数 {name} 应写成 YYYY-MM-DD：{raw}") from None


def _centers(account: Account, asked: str | None) -> tuple[str, ...] | None:
    """The centers a request may cover: None for all (bureau, administrator, no center asked)."""
    if asked:
        return (asked,)
    return None if account.role.sees_all else account.centers


@require_GET
@token_required
def search(request: HttpRequest, account: Account) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    if not query:
        raise BadRequest("缺少检索词：?q=…")
    asked = request.GET.get("center") or None
    if asked and not account.may_see(asked):
        return _error(403, f"无权查看该质控中心：{asked}")
    limit = min(_int(request, "limit", 10) or 10, MAX_LIMIT)
    base = SearchFilters(
        year=_int(request, "year"),
        category=request.GET.get("category") or None,
        activity_type=request.GET.get("type") or None,
        date_from=_date(request, "from"),
        date_to=_date(request, "to"),
        include_deleted=request.GET.get("deleted") in ("1", "true"),
    )
    arc, day = archive(), today()
    scopes = _centers(account, asked)
    if scopes is None:
        return _data(arc.search(account.name, query, base, today=day, limit=limit).to_json())
    hits: list[dict[str, Any]] = []
    for center in scopes:  # one search per center of hers, merged by score
        found = arc.search(account.name, query, _with_center(base, center), today=day, limit=limit)
        hits += found.to_json()
    hits.sort(key=lambda h: -float(h["score"]))
    return _data(hits[:limit])


def _with_center(filters: SearchFilters, center: str) -> SearchFilters:
    return dataclasses.replace(filters, center=center)


@require_GET
@token_required
def records(request: HttpRequest, account: Account) -> HttpResponse:
    asked = request.GET.get("center") or None
    if asked and not account.may_see(asked):
        return _error(403, f"无权查看该质控中心：{asked}")
    state = request.GET.get("state") or None
    if state not in (None, "active", "deleted"):
        raise BadRequest(f"参数 state 只能是 active 或 deleted：{state}")
    found = archive().records(
        account.name,
        center=asked,
        year=_int(request, "year"),
        category=request.GET.get("category") or None,
        state=state,
    )
    return _data([r.to_json() for r in found.records if account.may_see(r.center)])


@require_GET
@token_required
def record(request: HttpRequest, account: Account, record_id: int) -> HttpResponse:
    try:
        found = archive().record(account.name, record_id)
    except NotFound as exc:
        return _error(404, exc.message)
    if not account.may_see(found.center):
        return _error(403, f"无权查看该记录：它属于{found.center or '未归类'}。")
    return _data(found.to_json())
