"""The pages: each view parses the request, checks permission, calls the application layer, renders.

No rule of the archive lives here (zhikong.app.Archive has them all); what is shown to people is masked
with `for_people` (the one masking function, as on the command line).
"""

from __future__ import annotations

import dataclasses
import mimetypes
from collections import Counter
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from django.conf import settings as django_settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from zhikong.app import for_people
from zhikong.archive import audit
from zhikong.archive.checks import Finding, Upcoming
from zhikong.errors import ZhikongError
from zhikong.web.accounts import Account
from zhikong.web.config import WEB_DIR
from zhikong.web.context import archive, client_address, now, today
from zhikong.web.forms import LoginForm, PasswordForm

View = Callable[..., HttpResponse]


def account(request: HttpRequest) -> Account | None:
    found: Account | None = getattr(request, "account", None)
    return found


def local_time(ts: str | None) -> str:
    """A stored ISO time as the county reads it: Beijing time (TIME_ZONE), to the second."""
    when = audit.to_local(ts, ZoneInfo(django_settings.TIME_ZONE))
    return when.strftime("%Y-%m-%d %H:%M:%S") if when is not None else (ts or "")[:19]


def login_required(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if account(request) is None:
            return HttpResponseRedirect("/login/?next=" + quote(request.get_full_path()))
        return view(request, *args, **kwargs)

    return wrapped


# -- logging in and out -----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    error, status = "", 200
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    if request.method == "POST" and form.is_valid():
        result = archive().login(
            form.cleaned_data["name"],
            form.cleaned_data["password"],
            address=client_address(request),
            now=now(),
        )
        if result.account is not None:
            request.session.cycle_key()  # a new session key at log-in: a planted one is worthless
            request.session["account"] = result.account.id
            request.session["gen"] = result.account.generation
            return HttpResponseRedirect(target)
        if result.locked:
            error, status = "登录失败次数过多：该账户或这台电脑已锁定 15 分钟，请稍后再试。", 429
        else:
            error = "账户名或密码不正确，或账户已停用。连续输错 5 次将锁定 15 分钟。"
    return render(request, "login.html", {"form": form, "error": error, "next": target}, status=status)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    request.session.flush()
    return HttpResponseRedirect("/login/")


@login_required
@require_http_methods(["GET", "POST"])
def password(request: HttpRequest) -> HttpResponse:
    me = account(request)
    assert me is not None
    form = PasswordForm(request.POST or None)
    error, done = "", False
    if request.method == "POST" and form.is_valid():
        try:
            changed = archive().change_password(me.name, form.cleaned_data["old"], form.cleaned_data["new"])
        except ZhikongError as exc:
            error = exc.message
        else:
            request.session.cycle_key()
            request.session["gen"] = changed.generation
            form, done = PasswordForm(), True
    return render(request, "password.html", {"form": form, "error": error, "done": done, "me": me})


# -- the home page ------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CenterSummary:
    name: str
    total: int  # active records of every year
    this_year: int
    by_category: tuple[tuple[str, int], ...]  # this year's records by category
    findings: tuple[Finding, ...]  # the checks of this year, as of today: the to-do list
    upcoming: tuple[Upcoming, ...] = ()  # what is still to be done before a deadline ahead


@login_required
def home(request: HttpRequest) -> HttpResponse:
    me = account(request)
    assert me is not None
    arc, day = archive(), today()
    names = me.visible(arc.settings().center_names())
    totals: Counter[str] = Counter()
    current: dict[str, Counter[str]] = {n: Counter() for n in names}
    for group in arc.status(me.name).groups:
        if group.center in current:
            totals[group.center] += sum(group.by_category.values())
            if group.year == day.year:
                current[group.center].update(group.by_category)
    findings: dict[str, list[Finding]] = {n: [] for n in names}
    upcoming: dict[str, list[Upcoming]] = {n: [] for n in names}
    if names:
        scope = names[0] if len(names) == 1 else None
        report = arc.check(me.name, as_of=day, year=day.year, center=scope)
        for f in report.findings:
            if f.center in findings:
                findings[f.center].append(f)
        for u in report.upcoming:
            if u.center in upcoming:
                upcoming[u.center].append(u)
    summaries = [
        CenterSummary(
            n,
            totals[n],
            sum(current[n].values()),
            tuple(sorted(current[n].items())),
            tuple(findings[n]),
            tuple(upcoming[n]),
        )
        for n in names
    ]
    context = {
        "me": me,
        "year": day.year,
        "today": day.isoformat(),
        "summaries": for_people(summaries),
        "overview": me.role.sees_all,
    }
    return render(request, "home.html", context)


# -- static files and errors ----------------------------------------------------------------------------------


def static(request: HttpRequest, name: str) -> HttpResponse:
    """The vendored assets of web/static/ (names without folders, so nothing outside can be reached)."""
    path = WEB_DIR / "static" / name
    if not path.is_file():
        raise Http404(name)
    response = FileResponse(path.open("rb"), content_type=mimetypes.guess_type(name)[0] or "text/plain")
    response["Cache-Control"] = "max-age=3600"
    return response


def forbidden(
    request: HttpRequest, message: str, *, status: int = 403, title: str = "无权访问"
) -> HttpResponse:
    """A refusal as a page in Chinese (403 by default): the role or center does not allow it."""
    context = {"title": title, "message": for_people(message), "me": account(request)}
    return render(request, "error.html", context, status=status)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(
        request,
        "error.html",
        {
            "title": "请求已拒绝",
            "message": "表单已过期或来源不明（CSRF 校验未通过）。请返回、刷新页面后重试。",
        },
        status=403,
    )


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "error.html", {"title": "找不到页面", "message": "没有这个页面。"}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "error.html",
        {
            "title": "出错了",
            "message": "程序内部错误，操作没有完成；详情已记入 .zhikong/logs/serve.log，请告诉管理员。",
        },
        status=500,
    )
