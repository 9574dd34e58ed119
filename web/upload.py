"""The upload page: files (several, or a folder) dragged or chosen onto a center / year / activity, or a new
activity (date + name, named by the folder convention), or a standing folder. Each file goes through the same
ingest as the watched folder (`Archive.upload`), and the page shows each file's progress and result.

The page works without scripts (one form post, a result list); with /static/upload.js each file is sent
on its own request with a progress bar, and its answer (JSON) fills in its line.
"""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest, HttpResponse, JsonResponse, multipartparser
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from zhikong.app import UploadResult, for_people
from zhikong.archive.upload import STANDING_FOLDERS, UploadTarget
from zhikong.errors import InputFileError, ZhikongError
from zhikong.web.accounts import Account
from zhikong.web.browse import why
from zhikong.web.context import archive, today, upload_max_bytes
from zhikong.web.views import account, forbidden, login_required

# A part's headers may be 1 KB in Django; a Chinese file name of 300 characters is 900 bytes, sent twice by
# some clients (filename and filename*): allowed up to 8 KB, still bounded. Set when the pages are loaded,
# before any request is parsed.
multipartparser.MAX_TOTAL_HEADER_SIZE = max(multipartparser.MAX_TOTAL_HEADER_SIZE, 8 * 1024)

OUTCOME = {"new": "已登记", "version": "已登记为新版本", "unchanged": "内容与已登记的相同，未新增版本"}
READ = {
    "ok": "文字已读取，可检索",
    "empty": "没有读到文字（扫描件或图片：需要 OCR）",
    "needs_ocr": "等待 OCR 识别",
    "garbled": "文字乱码，未能可靠读取",
    "unreadable": "无法读取",
    "unsupported": "不支持读取此格式的文字",
}


def writable(me: Account) -> tuple[str, ...]:
    return tuple(c for c in archive().settings().center_names() if me.may_write(c))


def target_from(post: dict[str, str]) -> UploadTarget:
    kind = post.get("where", "activity")
    year = int(post["year"]) if post.get("year", "").isdigit() else None
    center = post.get("center", "")
    if kind == "new":
        when, name = post.get("new_date", "").strip(), post.get("new_name", "").strip()
        if not when or not name:
            raise InputFileError("新建活动需要填写日期和名称（例如 2026-03-15 第一次工作会议）。")
        return UploadTarget(center, year, activity=f"{when} {name}")
    if kind == "activity":
        if not post.get("activity"):
            raise InputFileError("请选择一个活动，或新建活动。")
        return UploadTarget(center, year, activity=post["activity"])
    if kind == "folder":
        return UploadTarget(center, year, folder=post.get("folder") or None)
    return UploadTarget(center, year)


def describe(done: UploadResult) -> dict[str, object]:
    """One file's result for people (masked): where it went, how it was classified and read."""
    r = done.record
    read = READ.get(r.extract_status or "", r.extract_status or "")
    if r.extract_reason and r.extract_status != "ok":
        read += f"：{r.extract_reason}"
    return for_people(
        {
            "ok": True,
            "name": done.given_name,
            "record_id": r.id,
            "path": r.path,
            "outcome": OUTCOME.get(done.outcome, done.outcome),
            "version": r.version,
            "category": r.category,
            "why": why(r),
            "read": read,
        }
    )


@login_required
@require_http_methods(["GET", "POST"])
def page(request: HttpRequest) -> HttpResponse:
    me = account(request)
    assert me is not None
    centers = writable(me)
    if not centers:
        return forbidden(request, "你的账户只能查看，不能上传文件（上传由各中心的秘书进行）。")
    wants_json = "application/json" in request.headers.get("Accept", "")
    if request.method == "POST":
        return _receive(request, me, centers, wants_json)
    center = request.GET.get("center") or centers[0]
    if center not in centers:
        return forbidden(request, f"你的账户不能向{center}上传文件。")
    year = int(request.GET["year"]) if request.GET.get("year", "").isdigit() else today().year
    return render(request, "upload.html", _context(me, centers, center, year))


def _context(me: Account, centers: tuple[str, ...], center: str, year: int) -> dict[str, object]:
    return {
        "me": me,
        "centers": centers,
        "center": center,
        "year": year,
        "years": list(range(today().year + 1, today().year - 6, -1)),
        "activities": for_people(archive().activities(me.name, center, year=year)),
        "folders": STANDING_FOLDERS,
        "max_mb": upload_max_bytes() // (1024 * 1024),
        "today": today().isoformat(),
    }


def _receive(request: HttpRequest, me: Account, centers: tuple[str, ...], wants_json: bool) -> HttpResponse:
    limit = upload_max_bytes()
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > limit + 1024 * 1024:  # the form fields and multipart framing besides the files
        message = f"上传的内容太大：超过上限 {limit // (1024 * 1024)} MB，没有保存。请分批上传或压缩后再传。"
        return _answer(request, me, centers, wants_json, [{"ok": False, "name": "", "error": message}], 413)
    try:
        post = {k: request.POST.get(k, "") for k in request.POST}
    except multipartparser.MultiPartParserError:
        message = "上传的请求不完整或格式不对（可能在传输中断开），没有保存。请重新上传。"
        return _answer(request, me, centers, wants_json, [{"ok": False, "name": "", "error": message}], 400)
    center = post.get("center", "")
    if center not in centers:
        return forbidden(request, f"你的账户不能向{center or '（未选择中心）'}上传文件。")
    files = request.FILES.getlist("files")
    if not files:
        result = [{"ok": False, "name": "", "error": "没有选择文件。"}]
        return _answer(request, me, centers, wants_json, result, 400)
    results: list[dict[str, object]] = []
    try:
        target = target_from(post)
    except ZhikongError as exc:
        return _answer(
            request, me, centers, wants_json, [{"ok": False, "name": "", "error": exc.message}], 400
        )
    for f in files:
        name = f.name or "未命名文件"
        try:
            done = archive().upload(me.name, target, name, f, max_bytes=limit)
        except ZhikongError as exc:
            message = exc.message + (f"（{exc.hint}）" if exc.hint else "")
            results.append(for_people({"ok": False, "name": name, "error": message}))
        else:
            results.append(describe(done))
        finally:
            f.close()
    status = 200 if all(r["ok"] for r in results) else 400 if len(results) == 1 else 207
    return _answer(request, me, centers, wants_json, results, status)


def _answer(
    request: HttpRequest,
    me: Account,
    centers: tuple[str, ...],
    wants_json: bool,
    results: list[dict[str, object]],
    status: int,
) -> HttpResponse:
    if wants_json:
        return JsonResponse({"results": results}, status=status, json_dumps_params={"ensure_ascii": False})
    center = request.POST.get("center") if request.POST.get("center") in centers else centers[0]
    year = int(request.POST["year"]) if request.POST.get("year", "").isdigit() else date.today().year
    context = _context(me, centers, str(center), year) | {"results": results}
    return render(request, "upload.html", context, status=status)
