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
from zhikong.archive.audit import AuditEntry
from zhikong.errors import VerificationError
from zhikong.web.accounts import Account
from zhikong.web.context import archive
from zhikong.web.views import account, forbidden, local_time, login_required

PAGE = 50
ACTIONS = {
    "init": "建立档案库",
    "center.add": "登记质控中心",
    "add": "登记文件",
    "change": "文件新版本",
    "move": "文件移动",
    "delete": "文件删除",
    "reappear": "文件重新出现",
    "restore": "恢复版本",
    "classify": "人工归类",
    "record.edit": "修改著录信息",
    "record.upload": "网页上传",
    "paper.add": "登记纸质件",
    "paper.mark": "纸质件入盒",
    "paper.link": "关联扫描件",
    "paper.catalog": "编制归档目录",
    "draft.create": "起草公文",
    "draft.approve": "批准公文",
    "draft.reject": "退回公文",
    "draft.issue": "印发公文",
    "handover.seal": "封存",
    "handover.create": "生成移交包",
    "handover.import": "导入移交包",
    "handover.release": "解除封存",
    "user.add": "新建账户",
    "user.passwd": "修改密码",
    "user.disable": "停用账户",
    "user.lockout": "登录锁定",
    "token.create": "生成 API 令牌",
    "assess.score": "考核评分",
    "draft.upload": "上传修改稿",
    "draft.submit": "送审",
    "handover.verify": "核验移交包",
    "backup": "备份",
    "backup.restore": "从备份恢复",
}


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
