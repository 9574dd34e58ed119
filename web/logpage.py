"""The audit log as a page: newest first, filtered by center, action, person and date, fifty to a page, and
a button that verifies the whole chain (`zhikong log verify`). A secretary or director sees the entries of
her centers; the bureau and the administrator see every entry."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from zhikong.app import for_people
from zhikong.archive import audit
from zhikong.archive.audit import AuditEntry
from zhikong.errors import VerificationError
from zhikong.web.accounts import Account
from zhikong.web.context import archive
from zhikong.web.views import account, forbidden, local_time, login_required

PAGE = 50
ACTIONS = audit.ACTION_LABELS


def _visible(me: Account, e: AuditEntry) -> bool:
    return me.role.sees_all or (e.center is not None and e.center in me.centers)


def _detail(e: AuditEntry) -> str:
    """The entry's details in one line (masked later with the rest of the page)."""
    items = [
        f"{k}：{json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v}"
        for k, v in e.detail.items()
    ]
    return "；".join(items)[:300]


@login_required
@require_GET
def page(request: HttpRequest) -> HttpResponse:
    me = account(request)
    assert me is not None
    return _page(request, me)


def _page(
    request: HttpRequest, me: Account, *, verified: object = None, problems: tuple[str, ...] = ()
) -> HttpResponse:
    get = {k: request.GET.get(k, "").strip() for k in ("center", "action", "actor", "from", "to")}
    if get["center"] and not me.may_see(get["center"]):
        return forbidden(request, f"你的账户无权查看{get['center']}的审计日志。")
    entries = [e for e in archive().log(me.name, center=get["center"] or None).entries if _visible(me, e)]
    if get["action"]:
        entries = [
            e for e in entries if e.action == get["action"] or e.action.startswith(get["action"] + ".")
        ]
    if get["actor"]:
        entries = [e for e in entries if e.actor and get["actor"] in e.actor]
    if get["from"]:
        entries = [e for e in entries if e.ts[:10] >= get["from"]]
    if get["to"]:
        entries = [e for e in entries if e.ts[:10] <= get["to"]]
    entries.reverse()
    raw = request.GET.get("page", "1")
    number = int(raw) if raw.isdigit() and int(raw) > 0 else 1
    shown = entries[(number - 1) * PAGE : number * PAGE]
    rows = [(e.seq, local_time(e.ts), ACTIONS.get(e.action, e.action), e.action, e.center or "",
             e.path or "", e.actor or "—", _detail(e)) for e in shown]  # fmt: skip
    context = {
        "me": me,
        "get": get,
        "rows": for_people(rows),
        "total": len(entries),
        "page": number,
        "has_prev": number > 1,
        "has_next": len(entries) > number * PAGE,
        "params": urlencode({k: v for k, v in get.items() if v}),
        "centers": me.visible(archive().settings().center_names()),
        "actions": sorted(ACTIONS.items(), key=lambda kv: kv[0]),
        "verified": verified,
        "problems": for_people(list(problems)),
    }
    return render(request, "log.html", context, status=409 if problems else 200)


@login_required
@require_POST
def verify(request: HttpRequest) -> HttpResponse:
    """Verify the chain (every entry, the chains handovers carried in, the replay against the catalogue)."""
    me = account(request)
    assert me is not None
    try:
        result = archive().verify_log(me.name)
    except VerificationError as exc:
        return _page(request, me, problems=tuple(p.message for p in exc.problems) or (exc.message,))
    return _page(request, me, verified=result)
