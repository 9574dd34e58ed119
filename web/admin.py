"""The administrator's pages: the accounts of this server (add, reset a password, disable, issue an API
token), through the same application layer as `zhikong user …`; every change audited with the
administrator's name. Only an administrator reaches them."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from zhikong.app import for_people
from zhikong.errors import NotFound, ZhikongError
from zhikong.web.accounts import Account, Role
from zhikong.web.context import archive
from zhikong.web.views import account, forbidden, login_required

ROLES = [(r.value, r.label) for r in (Role.SECRETARY, Role.DIRECTOR, Role.BUREAU, Role.ADMIN)]


def _admin(request: HttpRequest) -> Account | HttpResponse:
    me = account(request)
    assert me is not None
    if me.role is not Role.ADMIN:
        return forbidden(request, "只有管理员可以管理账户。")
    return me


@login_required
@require_http_methods(["GET", "POST"])
def accounts(request: HttpRequest) -> HttpResponse:
    me = _admin(request)
    if isinstance(me, HttpResponse):
        return me
    arc = archive()
    error, done, status = "", "", 200
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        password, again = request.POST.get("password", ""), request.POST.get("again", "")
        try:
            if password != again:
                raise ZhikongError("两次输入的密码不一致。")
            added = arc.user_add(
                me.name,
                name,
                role=request.POST.get("role", ""),
                centers=request.POST.getlist("centers"),
                password=password,
            )
        except ZhikongError as exc:
            error, status = exc.message + (f"（{exc.hint}）" if exc.hint else ""), 400
        else:
            done = f"已新建账户：{added.name}（{added.role.label}）。"
    context = {
        "me": me,
        "accounts": arc.users(me.name).accounts,
        "roles": ROLES,
        "centers": arc.settings().center_names(),
        "error": for_people(error),
        "done": done,
        "form": request.POST if error else {},
    }
    return render(request, "accounts.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def account_page(request: HttpRequest, name: str) -> HttpResponse:
    me = _admin(request)
    if isinstance(me, HttpResponse):
        return me
    arc = archive()
    try:
        target = arc.user(me.name, name)
    except NotFound:
        return forbidden(request, f"没有这个账户：{name}", status=404, title="找不到账户")
    error, done, token, status = "", "", "", 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "passwd":
                if request.POST.get("password", "") != request.POST.get("again", ""):
                    raise ZhikongError("两次输入的密码不一致。")
                target = arc.user_passwd(me.name, name, request.POST.get("password", ""))
                done = "已重设密码；该账户已登录的会话随之结束。"
            elif action == "disable":
                if target.name == me.name:
                    raise ZhikongError("不能停用自己的账户。")
                target = arc.user_disable(me.name, name)
                done = "已停用：不能再登录，会话和 API 令牌随之失效。"
            elif action == "token":
                token = arc.token_create(me.name, name).token
                done = "已生成 API 令牌。它只显示这一次，请立即复制保存。"
            else:
                raise ZhikongError("不认识的操作。")
        except ZhikongError as exc:
            error, status = exc.message + (f"（{exc.hint}）" if exc.hint else ""), 400
    context = {"me": me, "target": target, "error": error, "done": done, "token": token}
    return render(request, "account.html", context, status=status)
