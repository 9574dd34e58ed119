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
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from zhikong.archive.upload import UploadTarget
from zhikong.errors import NotFound, StorageError, ZhikongError
from zhikong.indexer.index import SearchFilters
from zhikong.web.accounts import Account
from zhikong.web.context import archive, today, upload_max_bytes

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
    """Bearer token, not the session: the API is for scripts, and CSRF (a browser's cookie riding along)
    does not apply to a header the browser never adds by itself — hence csrf_exempt."""

    @csrf_exempt
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
    mine = tuple(r for r in found.records if account.may_see(r.center))
    return _data(dataclasses.replace(found, records=mine).to_json())  # as `zhikong ls --json`


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


@require_GET
@token_required
def record_file(request: HttpRequest, account: Account, record_id: int) -> HttpResponse:
    """The file of the record's current version (or ?version=N), as a download."""
    arc = archive()
    try:
        found = arc.record(account.name, record_id)
    except NotFound as exc:
        return _error(404, exc.message)
    if not account.may_see(found.center):
        return _error(403, f"无权下载该记录的文件：它属于{found.center or '未归类'}。")
    try:
        record, path = arc.record_file(account.name, record_id, version=_int(request, "version"))
    except NotFound as exc:
        return _error(404, exc.message)
    response = FileResponse(path.open("rb"), content_type="application/octet-stream")
    name = quote(PurePosixPath(record.path).name)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{name}"
    response["X-Zhikong-Sha256"] = record.sha256 or ""
    return response


@require_POST
@token_required
def upload(request: HttpRequest, account: Account) -> HttpResponse:
    """POST /api/v1/records (multipart): `file`, `center`, and `activity` ("YYYY-MM-DD 名称") or `folder`
    (工作计划/工作总结/质控标准), `year`. 201 with the record."""
    center = request.POST.get("center", "")
    if not account.may_write(center):
        return _error(403, f"无权向该质控中心上传：{center or '（未给出 center）'}")
    limit = upload_max_bytes()
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit + 1024 * 1024:
        return _error(413, f"文件太大：超过上传上限 {limit // (1024 * 1024)} MB。")
    file = request.FILES.get("file")
    if file is None:
        raise BadRequest("缺少文件：multipart 字段 file")
    year = _post_int(request, "year")
    target = UploadTarget(
        center, year, activity=request.POST.get("activity") or None, folder=request.POST.get("folder") or None
    )
    try:
        done = archive().upload(account.name, target, file.name or "未命名文件", file, max_bytes=limit)
    except StorageError as exc:
        return _error(507, exc.message)
    except ZhikongError as exc:
        return _error(400, exc.message + (f"（{exc.hint}）" if exc.hint else ""))
    finally:
        file.close()
    body = done.record.to_json() | {"outcome": done.outcome, "given_name": done.given_name}
    return JsonResponse(body, status=201, json_dumps_params={"ensure_ascii": False})


def _post_int(request: HttpRequest, name: str) -> int | None:
    raw = request.POST.get(name)
    if raw in (None, ""):
        return None
    if not raw.isdigit():
        raise BadRequest(f"参数 {name} 应是整数：{raw}")
    return int(raw)


@csrf_exempt
def records_endpoint(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """/api/v1/records: GET lists, POST uploads."""
    if request.method == "POST":
        return upload(request)
    return records(request)


@require_GET
@token_required
def check(request: HttpRequest, account: Account) -> HttpResponse:
    """The rules' findings as of today (or ?as_of=), for the account's centers: the objects under
    "findings" in `zhikong check --json`."""
    asked = request.GET.get("center") or None
    if asked and not account.may_see(asked):
        return _error(403, f"无权查看该质控中心：{asked}")
    as_of = _date(request, "as_of") or today()
    report = archive().check(account.name, as_of=as_of, center=asked, year=_int(request, "year"))
    return _data([f.to_json() for f in report.findings if account.may_see(f.center)])


@require_GET
def openapi(request: HttpRequest) -> HttpResponse:
    """The API described for tools (OpenAPI 3.1); the README has the same as a table."""
    return _data(OPENAPI)


def _op(summary: str, params: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "summary": summary,
        "security": [{"bearer": []}],
        "parameters": [{"name": p, "in": "query", "schema": {"type": "string"}} for p in params],
        "responses": {
            "200": {"description": "成功"},
            "401": {"description": "缺少或无效的令牌、账户已停用"},
            "403": {"description": "不在账户的质控中心之内"},
        },
        **extra,
    }


_FILTERS = ["center", "year", "category", "type", "from", "to", "deleted", "limit"]
OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "zhikong 质控档案 API", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "paths": {
        "/api/v1/search": {"get": _op("全文检索（与 zhikong search --json 相同的对象）", ["q", *_FILTERS])},
        "/api/v1/records": {
            "get": _op("档案记录列表", ["center", "year", "category", "state"]),
            "post": _op(
                "上传一个文件（multipart：file、center、activity 或 folder、year），答复 201 和记录",
                [],
                requestBody={
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file", "center"],
                                "properties": {
                                    "file": {"type": "string", "format": "binary"},
                                    "center": {"type": "string"},
                                    "activity": {"type": "string", "description": "YYYY-MM-DD 名称"},
                                    "folder": {
                                        "type": "string",
                                        "enum": ["工作计划", "工作总结", "质控标准"],
                                    },
                                    "year": {"type": "integer"},
                                },
                            }
                        }
                    }
                },
            ),
        },
        "/api/v1/records/{id}": {"get": _op("一条记录", [])},
        "/api/v1/records/{id}/file": {"get": _op("下载记录的文件（当前版本或 ?version=N）", ["version"])},
        "/api/v1/check": {
            "get": _op(
                "规则检查结果（与 zhikong check --json 的 findings 相同）", ["center", "year", "as_of"]
            )
        },
    },
}
