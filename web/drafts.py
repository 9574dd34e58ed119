"""Drafting and approval in the browser: a secretary drafts a 通知 or 请示 in a form (every problem next to its
field) or a 函 or 纪要 from a data file in ``zhikong render``'s format, previews the rendered pages, downloads the 送审稿, uploads an edited one back, submits it; the
bureau's queue lists what waits, oldest first, and approves (the next number, or the number its own
document system gave) or returns it with a reason; the approved final is the approved file itself.

Who may do what: a secretary drafts, uploads and submits in her centers; a director reads his center's
drafts; the bureau reads every center's and alone approves or returns; an administrator reads.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from functools import wraps
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zhikong.app import for_people
from zhikong.archive.drafts import Draft, DraftRequest, DraftState
from zhikong.archive.preview import preview_of
from zhikong.errors import MultiProblemError, NotFound, Problem, ZhikongError
from zhikong.generator.notice import KINDS
from zhikong.web.accounts import Account, Role
from zhikong.web.context import archive, today
from zhikong.web.views import account, forbidden, local_time, login_required

FIELDS = ("center", "kind", "title", "to", "body", "attachments", "cc", "day", "activity", "signed_by")
MAX_UPLOAD = 50 * 1024 * 1024


def field_of(problem: Problem) -> str:
    """Which form field a problem of `check_notice` (or the draft's checks) belongs next to."""
    code = problem.code.split(".", 1)[-1]
    for prefix, field in (
        ("attachment_files", "attachment_files"),
        ("attachment_empty", "attachment_files"),
        ("attachment_size", "attachment_files"),
        ("attachment_program", "attachment_files"),
        ("title", "title"),
        ("to", "to"),
        ("request_to", "to"),
        ("request_subject", "title"),
        ("body", "body"),
        ("attachment", "attachments"),
        ("cc", "cc"),
        ("signed_by", "signed_by"),
        ("year", "day"),
        ("issue_date", "day"),
        ("activity", "activity"),
        ("kind", "kind"),
    ):
        if code.startswith(prefix):
            return field
    return "general"


def may_draft(me: Account, center: str) -> bool:
    return me.role is Role.SECRETARY and center in me.centers


def may_decide(me: Account) -> bool:
    return me.role is Role.BUREAU


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """The drafts an account may see: the bureau's queue first (送审, oldest first), then the rest."""
    me = account(request)
    assert me is not None
    drafts = [d for d in archive().drafts(me.name).drafts if me.may_see(d.center)]
    waiting = sorted((d for d in drafts if d.state is DraftState.SUBMITTED), key=lambda d: d.id)
    others = sorted((d for d in drafts if d.state is not DraftState.SUBMITTED), key=lambda d: -d.id)
    writable = [c for c in me.centers if may_draft(me, c)]
    context = {
        "me": me,
        "waiting": for_people(waiting),
        "others": for_people(others),
        "may_draft": bool(writable),
        "may_decide": may_decide(me),
        "kinds": KINDS,
    }
    return render(request, "drafts.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    me = account(request)
    assert me is not None
    centers = [c for c in me.centers if may_draft(me, c)]
    if not centers:
        return forbidden(request, "只有质控中心的秘书可以起草公文。")
    form = (
        {f: request.POST.get(f, "") for f in FIELDS} if request.method == "POST" else {"center": centers[0]}
    )
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if form["center"] not in centers:
            return forbidden(request, f"你的账户不能为{form['center']}起草公文。")
        try:
            day = datetime.date.fromisoformat(form["day"]) if form["day"] else None
        except ValueError:
            errors["day"] = [f"成文日期应写成 YYYY-MM-DD：{form['day']}"]
            day = None
        if not errors:
            try:
                made = archive().draft(
                    me.name,
                    DraftRequest(
                        center=form["center"],
                        title=form["title"],
                        to=form["to"],
                        body=form["body"],
                        kind=form["kind"] or "notice",
                        day=day,
                        attachments=_lines(form["attachments"]),
                        cc=_lines(form["cc"].replace("，", "\n").replace("、", "\n")),
                        signed_by=form["signed_by"],
                        activity=form["activity"].strip() or None,
                        attachment_files=[
                            (f.name or "附件", f.read()) for f in request.FILES.getlist("attachment_files")
                        ],
                    ),
                    today=today(),
                    submit=False,
                )
            except MultiProblemError as exc:
                for p in exc.problems:
                    errors.setdefault(field_of(p), []).append(p.message)
            except ZhikongError as exc:
                errors.setdefault("general", []).append(exc.message)
            else:
                return HttpResponseRedirect(f"/drafts/{made.id}/?done=new")
    context = {
        "me": me,
        "centers": centers,
        "form": form,
        "errors": errors,
        "error_count": sum(len(v) for v in errors.values()),
        "kinds": KINDS,
        "activities": archive().activities(me.name, form.get("center") or centers[0]),
    }
    return render(request, "draft_new.html", context, status=400 if errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def new_from_data(request: HttpRequest) -> HttpResponse:
    """A 函 or 纪要 from a data file in ``zhikong render``'s format (``archive.drafts.create_template_draft``),
    made as a 草稿 like the form's: previewed, edited, submitted on its page."""
    import tempfile
    from pathlib import Path

    from zhikong.archive.drafts import TEMPLATE_KINDS
    from zhikong.generator.render import load_data

    me = account(request)
    assert me is not None
    centers = [c for c in me.centers if may_draft(me, c)]
    if not centers:
        return forbidden(request, "只有质控中心的秘书可以起草公文。")
    form: dict[str, Any] = {"center": centers[0], "kind": "letter"}
    problems: list[str] = []
    if request.method == "POST":
        form = {k: request.POST.get(k, "") for k in ("center", "kind", "activity", "bureau")}
        if form["center"] not in centers:
            return forbidden(request, f"你的账户不能为{form['center']}起草公文。")
        upload = request.FILES.get("data")
        suffix = PurePosixPath(upload.name or "").suffix.lower() if upload else ""
        if form["kind"] not in TEMPLATE_KINDS:
            problems.append("请选择文种：函或会议纪要。")
        elif upload is None or suffix not in (".json", ".toml"):
            problems.append("请选择数据文件（.json 或 .toml）。")
        else:
            try:
                with tempfile.TemporaryDirectory() as folder:
                    path = Path(folder) / f"data{suffix}"
                    path.write_bytes(upload.read(MAX_UPLOAD))
                    data = load_data(path)
                made = archive().draft_template(
                    me.name,
                    form["kind"],
                    data,
                    center=form["center"],
                    activity=form["activity"].strip() or None,
                    bureau=bool(form["bureau"]) and form["kind"] == "letter",
                    today=today(),
                    submit=False,
                )
            except MultiProblemError as exc:
                problems += [p.message for p in exc.problems]
            except ZhikongError as exc:
                problems.append(exc.message)
            else:
                return HttpResponseRedirect(f"/drafts/{made.id}/?done=new")
    context = {"me": me, "centers": centers, "form": form, "problems": problems, "kinds": TEMPLATE_KINDS}
    return render(request, "draft_new_data.html", context, status=400 if problems else 200)


def _draft_for(request: HttpRequest, draft_id: int) -> tuple[Account, Draft] | HttpResponse:
    me = account(request)
    assert me is not None
    try:
        draft = archive().draft_detail(me.name, draft_id)
    except NotFound:
        raise Http404(str(draft_id)) from None
    if not me.may_see(draft.center):
        return forbidden(request, f"你的账户无权查看这份草稿（它属于{draft.center}）。")
    return me, draft


DraftView = Callable[..., HttpResponse]


def with_draft(view: DraftView) -> DraftView:
    """A view of one draft: logged in, the draft exists (404), the account may see its center (403);
    the view gets the account and the draft."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, draft_id: int, **kwargs: Any) -> HttpResponse:
        found = _draft_for(request, draft_id)
        if isinstance(found, HttpResponse):
            return found
        me, draft = found
        return view(request, me, draft, **kwargs)

    return wrapped


DONE = {
    "new": "已生成送审稿。请预览、下载核对（可在 Word/WPS 中修改后上传），确认无误后送审。",
    "upload": "已保存修改稿。",
    "submit": "已送审，等待卫健局医政科审批。",
    "approve": "已批准：正式文件已编号归档。",
    "reject": "已退回，秘书会看到退回原因。",
}


@require_GET
@with_draft
def detail(request: HttpRequest, me: Account, draft: Draft) -> HttpResponse:
    return _detail(request, me, draft, done=DONE.get(request.GET.get("done", ""), ""))


def _detail(
    request: HttpRequest, me: Account, draft: Draft, *, done: str = "", problems: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:  # fmt: skip
    arc = archive()
    proof = arc.draft_proof(me.name, draft.id) if draft.final_sha256 else None
    context = {
        "me": me,
        "attachments": [p.name for p in arc.draft_attachments(me.name, draft.id)],
        "d": for_people(draft),
        "created": local_time(draft.created_at),
        "decided": local_time(draft.decided_at),
        "may_edit": may_draft(me, draft.center)
        and draft.state in (DraftState.DRAFT, DraftState.SUBMITTED, DraftState.REJECTED),
        "may_submit": may_draft(me, draft.center) and draft.state in (DraftState.DRAFT, DraftState.REJECTED),
        "may_decide": may_decide(me) and draft.state is DraftState.SUBMITTED,
        "proof": proof,
        "done": done,
        "problems": for_people(problems or []),
        "next_number_hint": f"{draft.content.spec.doc_prefix}〔{draft.content.spec.year}〕",
    }
    return render(request, "draft.html", context, status=status)


def _file_response(
    draft: Draft, data_path: object, *, inline: bool, media_type: str, name: str
) -> FileResponse:
    response = FileResponse(data_path, content_type=media_type)
    response["Content-Disposition"] = (
        f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(name)}"
    )
    return response


@require_GET
@with_draft
def draft_file(request: HttpRequest, me: Account, draft: Draft) -> HttpResponse:
    """The 送审稿 .docx as it is now (to print, or to edit in Word/WPS and upload back)."""
    if not draft.draft_path:
        raise Http404(str(draft.id))
    path = archive().settings().root / draft.draft_path
    if not path.is_file():
        return forbidden(request, "送审稿文件不见了，请秘书重新上传。", status=404, title="找不到文件")
    name = PurePosixPath(draft.draft_path).name
    return _file_response(
        draft, path.open("rb"), inline=False, media_type="application/octet-stream", name=name
    )


@xframe_options_sameorigin
@require_GET
@with_draft
def draft_preview(request: HttpRequest, me: Account, draft: Draft) -> HttpResponse:
    """The 送审稿's pages as LibreOffice renders them (cached by content), for the page's frame."""
    if not draft.draft_path:
        raise Http404(str(draft.id))
    settings = archive().settings()
    path = settings.root / draft.draft_path
    if not path.is_file():
        return forbidden(request, "送审稿文件不见了。", status=404, title="找不到文件")
    import hashlib

    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    shown = preview_of(path, ".docx", sha, settings.system_dir / "previews")
    if shown.path is None:
        return forbidden(request, shown.reason or "不能预览。", status=404, title="不能预览")
    response = _file_response(
        draft, shown.path.open("rb"), inline=True, media_type="application/pdf", name="送审稿.pdf"
    )
    response["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'self'; object-src 'self'"
    return response


@require_POST
@with_draft
def upload(request: HttpRequest, me: Account, draft: Draft) -> HttpResponse:
    if not may_draft(me, draft.center):
        return forbidden(request, "只有本中心的秘书可以上传修改稿。")
    file = request.FILES.get("file")
    if file is None:
        return _detail(request, me, draft, problems=["请选择修改后的送审稿（.docx）。"], status=400)
    if file.size and file.size > MAX_UPLOAD:
        return _detail(request, me, draft, problems=["文件太大，不像一份送审稿。"], status=400)
    try:
        arc = archive()
        arc.draft_upload(me.name, draft.id, file.read(), name=file.name or "送审稿.docx")
    except MultiProblemError as exc:
        return _detail(request, me, draft, problems=[p.message for p in exc.problems], status=400)
    except ZhikongError as exc:
        return _detail(request, me, draft, problems=[exc.message], status=400)
    return HttpResponseRedirect(f"/drafts/{draft.id}/?done=upload")


@require_POST
@with_draft
def submit(request: HttpRequest, me: Account, draft: Draft) -> HttpResponse:
    if not may_draft(me, draft.center):
        return forbidden(request, "只有本中心的秘书可以送审。")
    try:
        archive().draft_submit(me.name, draft.id)
    except ZhikongError as exc:
        return _detail(request, me, draft, problems=[exc.message], status=409)
    return HttpResponseRedirect(f"/drafts/{draft.id}/?done=submit")


@require_POST
@with_draft
def decide(request: HttpRequest, me: Account, draft: Draft) -> HttpResponse:
    """The bureau approves (with the next number, or the one entered) or returns with a reason."""
    if not may_decide(me):
        return forbidden(request, "只有卫健局医政科可以批准或退回公文。")
    arc = archive()
    try:
        if request.POST.get("action") == "reject":
            arc.reject(me.name, draft.id, reason=request.POST.get("reason", ""), by=me.name)
            return HttpResponseRedirect(f"/drafts/{draft.id}/?done=reject")
        raw = request.POST.get("number", "").strip()
        if raw and not raw.isdigit():
            raise ZhikongError(f"发文字号的序号应是整数（如 12）：{raw}")
        arc.approve(
            me.name,
            draft.id,
            by=request.POST.get("by", "").strip() or f"{arc.settings().bureau}（{me.name}）",
            ref=request.POST.get("ref", ""),
            today=today(),
            number=int(raw) if raw else None,
            seen_sha256=request.POST.get("seen") or None,
        )
    except ZhikongError as exc:
        message = exc.message + (f"（{exc.hint}）" if exc.hint else "")
        current = arc.draft_detail(me.name, draft.id)
        return _detail(request, me, current, problems=[message], status=409)
    return HttpResponseRedirect(f"/drafts/{draft.id}/?done=approve")


@require_GET
@with_draft
def attachment(request: HttpRequest, me: Account, draft: Draft, number: int) -> HttpResponse:
    """One of the draft's attachment files (附件N), as a download."""
    files = archive().draft_attachments(me.name, draft.id)
    if not 1 <= number <= len(files):
        raise Http404(str(number))
    path = files[number - 1]
    return _file_response(
        draft, path.open("rb"), inline=False, media_type="application/octet-stream", name=path.name
    )
