"""The archive as folders (centers → years → activities → files) and the page of one record: its details
(editable by those allowed), its versions with download and restore, its audit entries, and a preview.

Every page, download and action checks the account's role and center here, including those addressed by
record number. What is shown is masked (`for_people`); a download is the file itself.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Callable
from functools import wraps
from pathlib import PurePosixPath
from urllib.parse import quote

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from zhikong.app import for_people
from zhikong.archive.catalogue import Record
from zhikong.archive.convention import CATEGORIES, Source
from zhikong.archive.manage import DetailsEdit, Reclassification
from zhikong.archive.meta import FIELD_LABELS, SOURCE_LABELS, RecordMeta
from zhikong.errors import InputFileError, NotFound, ZhikongError
from zhikong.web.accounts import Account
from zhikong.web.context import archive
from zhikong.web.logpage import ACTIONS
from zhikong.web.views import account, forbidden, local_time, login_required

SOURCE_LABEL = {
    Source.PATH: "按所在文件夹",
    Source.NAME: "按文件名",
    Source.CONTENT: "按文件内容",
    Source.TYPE: "按文件类型",
    Source.MANUAL: "人工指定",
}
NO_FOLDER = "（直接放在年度文件夹中）"


def why(record: Record) -> str:
    """How the record was classified, in words: "类别 通知（按文件名）；活动（按所在文件夹）"."""
    c = record.classification
    parts = [f"类别{SOURCE_LABEL.get(c.category_by, '')}" if c.category_by else "类别未能判断"]
    if c.activity:
        parts.append(f"活动{SOURCE_LABEL.get(c.activity_by, '') if c.activity_by else ''}")
    if c.suggestion:
        parts.append(f"建议：{c.suggestion}")
    return "；".join(parts)


@dataclasses.dataclass(frozen=True)
class Row:
    """One file in a folder listing."""

    id: int
    name: str
    title: str
    category: str
    why: str
    read: str  # 已读取 / 无法读取：原因 / 乱码 …
    paper: str


def _row(r: Record) -> Row:
    status = r.extract_status or ""
    read = {
        "ok": "已读取文字",
        "empty": "没有文字（可能需要 OCR）",
        "needs_ocr": "待 OCR",
        "garbled": "文字乱码",
        "unreadable": "无法读取",
        "unsupported": "不支持的格式",
    }.get(status, status or "—")
    if r.extract_reason and status != "ok":
        read += f"：{r.extract_reason}"
    paper = f"第 {r.paper_box} 盒" if r.paper_box else "未入盒"
    return Row(r.id, PurePosixPath(r.path).name, r.title or "", r.category, why(r), read, paper)


def _folder_of(r: Record) -> str:
    """The folder under the center's year folder (an activity, 工作计划 …), or where else the file is."""
    parts = PurePosixPath(r.path).parts
    if len(parts) >= 4 and parts[1].isdigit():
        return "/".join(parts[2:-1])
    if len(parts) == 3 and parts[1].isdigit():
        return NO_FOLDER
    return "/".join(parts[1:-1]) or NO_FOLDER


def _visible_center(me: Account, center: str) -> None:
    if center not in archive().settings().center_names():
        raise Http404(center)
    if not me.may_see(center):
        raise PermissionError(center)


@login_required
@require_GET
def centers(request: HttpRequest) -> HttpResponse:
    me = account(request)
    assert me is not None
    arc = archive()
    names = me.visible(arc.settings().center_names())
    counts: Counter[str] = Counter()
    years: defaultdict[str, set[int]] = defaultdict(set)
    for g in arc.status(me.name).groups:
        if g.center in names:
            counts[g.center] += sum(g.by_category.values())
            if g.year:
                years[g.center].add(g.year)
    rows = [(n, counts[n], sorted(years[n], reverse=True)) for n in names]
    return render(request, "centers.html", {"me": me, "rows": for_people(rows)})


@login_required
@require_GET
def center(request: HttpRequest, center: str) -> HttpResponse:
    me = account(request)
    assert me is not None
    try:
        _visible_center(me, center)
    except PermissionError:
        return forbidden(request, f"你的账户无权查看{center}。")
    records = archive().records(me.name, center=center, state="active").records
    by_year: defaultdict[int | None, list[Record]] = defaultdict(list)
    for r in records:
        by_year[r.year].append(r)
    years = [
        (y, len(rs), len({_folder_of(r) for r in rs}))
        for y, rs in sorted(by_year.items(), key=lambda kv: -(kv[0] or 0))
        if y is not None
    ]
    undated = [_row(r) for r in by_year.get(None, [])]
    context = {"me": me, "center": center, "years": years, "undated": for_people(undated)}
    return render(request, "center.html", context)


@login_required
@require_GET
def year(request: HttpRequest, center: str, year: int) -> HttpResponse:
    me = account(request)
    assert me is not None
    try:
        _visible_center(me, center)
    except PermissionError:
        return forbidden(request, f"你的账户无权查看{center}。")
    records = archive().records(me.name, center=center, year=year, state="active").records
    folders: defaultdict[str, list[Record]] = defaultdict(list)
    for r in records:
        folders[_folder_of(r)].append(r)
    groups = [
        (name, [_row(r) for r in sorted(rs, key=lambda r: r.path)], Counter(r.category for r in rs))
        for name, rs in sorted(folders.items())
    ]
    context = {
        "me": me,
        "center": center,
        "year": year,
        "groups": for_people([(n, rows, sorted(c.items())) for n, rows, c in groups]),
        "may_write": me.may_write(center),
    }
    return render(request, "year.html", context)


# -- one record --------------------------------------------------------------------------------------------


def _record_for(request: HttpRequest, record_id: int) -> tuple[Account, Record] | HttpResponse:
    me = account(request)
    assert me is not None
    try:
        record = archive().record(me.name, record_id)
    except NotFound:
        raise Http404(str(record_id)) from None
    if not me.may_see(record.center):
        return forbidden(request, f"你的账户无权查看这条记录（它属于{record.center or '未归类'}）。")
    return me, record


RecordView = Callable[[HttpRequest, Account, Record], HttpResponse]


def with_record(refusal: str | None = None) -> Callable[[RecordView], Callable[..., HttpResponse]]:
    """A view of one record: logged in, the record exists (404), the account may see its center (403),
    and, given `refusal` (the page's message), may change it (403)."""

    def decorate(view: RecordView) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, record_id: int) -> HttpResponse:
            found = _record_for(request, record_id)
            if isinstance(found, HttpResponse):
                return found
            me, record = found
            if refusal is not None and not me.may_write(record.center):
                return forbidden(request, refusal)
            return view(request, me, record)

        return wrapped

    return decorate


@require_GET
@with_record()
def record(request: HttpRequest, me: Account, r: Record) -> HttpResponse:
    record_id = r.id
    done = {
        "edit": "已保存修改（已记入审计日志）。",
        "restore": "已恢复所选版本（作为新的一版，已记入审计日志）。",
    }
    return _record_page(request, me, record_id, done=done.get(request.GET.get("done", ""), ""))


def _record_page(
    request: HttpRequest, me: Account, record_id: int, *, error: str = "", done: str = "", status: int = 200
) -> HttpResponse:
    arc = archive()
    detail = arc.record_detail(me.name, record_id)
    r = detail.record
    preview = None
    if r.sha256:
        try:
            _, preview = arc.preview(me.name, record_id, convert=False)
        except NotFound as exc:
            error = error or exc.message
    issued = arc.draft_of_record(me.name, r.id)
    context = {
        "me": me,
        "issued": for_people(issued),
        "proof": arc.draft_proof(me.name, issued.id) if issued else None,
        "r": for_people(r),
        "row": for_people(_row(r)),
        "why": for_people(why(r)),
        "versions": [(v, local_time(v.ingested_at)) for v in for_people(list(reversed(detail.versions)))],
        "entries": [
            (e, local_time(e.ts), ACTIONS.get(e.action, e.action))
            for e in for_people(list(reversed(detail.entries)))
        ],
        "preview": preview,
        "is_image": bool(preview and preview.media_type and preview.media_type.startswith("image/")),
        "may_write": me.may_write(r.center),
        "categories": CATEGORIES,
        "error": for_people(error),
        "done": done,
        "activity_text": for_people(_activity_text(r)),
        "meta_rows": for_people(_meta_rows(detail.meta)),
        "meta_read": detail.meta_read,
    }
    return render(request, "record.html", context, status=status)


def _meta_rows(shown: RecordMeta | None) -> list[tuple[str, str, str]]:
    """The 著录 table: each register value as stored, with where it came from (archive.meta)."""
    if shown is None:
        return []
    rows = []
    for key, label in FIELD_LABELS.items():
        value = getattr(shown.record, key)
        source = shown.sources.get(key)
        rows.append((label, "—" if value is None else str(value), SOURCE_LABELS[source] if source else "—"))
    return rows


def _download(path_name: str, source: object, *, inline: bool, media_type: str) -> FileResponse:
    response = FileResponse(source, content_type=media_type)
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(path_name)}"
    return response


@require_GET
@with_record()
def record_file(request: HttpRequest, me: Account, r: Record) -> HttpResponse:
    """The file of the current version, or of ?version=N, always as a download (never shown as a page of
    this site: an uploaded .html or .svg could otherwise run in it)."""
    record_id = r.id
    version = request.GET.get("version")
    try:
        record, path = archive().record_file(
            me.name, record_id, version=int(version) if version and version.isdigit() else None
        )
    except NotFound as exc:
        return forbidden(request, exc.message, status=404, title="找不到文件")
    return _download(
        PurePosixPath(record.path).name, path.open("rb"), inline=False, media_type="application/octet-stream"
    )


@xframe_options_sameorigin
@require_GET
@with_record()
def record_preview(request: HttpRequest, me: Account, r: Record) -> HttpResponse:
    """The preview the record page shows in a frame: a PDF (the file, or LibreOffice's conversion of an
    Office file) or an image; only these types are ever sent inline."""
    record_id = r.id
    try:
        record, preview = archive().preview(me.name, record_id)
    except NotFound as exc:
        return forbidden(request, exc.message, status=404, title="找不到文件")
    if preview.path is None or preview.media_type is None:
        return forbidden(request, preview.reason or "不能预览。", status=404, title="不能预览")
    response = _download(
        PurePosixPath(record.path).stem
        + (".pdf" if preview.converted else PurePosixPath(record.path).suffix),
        preview.path.open("rb"),
        inline=True,
        media_type=preview.media_type,
    )
    response["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'self'; object-src 'self'"
    response["Cache-Control"] = "private, max-age=300"
    return response


@require_POST
@with_record("你的账户只能查看这条记录，不能修改。")
def record_edit(request: HttpRequest, me: Account, record: Record) -> HttpResponse:
    record_id = record.id
    post = request.POST
    pages = post.get("pages", "").strip()
    try:
        if pages and not pages.isdigit():
            raise InputFileError(f"页数应是整数：{pages}")
        category = post.get("category") or None
        activity = post.get("activity", "").strip() or None
        change = Reclassification(
            category=category if category != record.category else None,
            activity=activity if activity and activity != _activity_text(record) else None,
        )
        archive().edit_record(
            me.name,
            record_id,
            DetailsEdit(
                title=post.get("title"),
                doc_date=post.get("doc_date"),
                responsible=post.get("responsible"),
                pages=int(pages) if pages else 0,
                doc_number=post.get("doc_number"),
            ),
            change,
        )
    except ZhikongError as exc:
        return _record_page(request, me, record_id, error=exc.message, status=400)
    return HttpResponseRedirect(f"/records/{record_id}/?done=edit")


@require_POST
@with_record("你的账户只能查看这条记录，不能恢复版本。")
def record_restore(request: HttpRequest, me: Account, record: Record) -> HttpResponse:
    record_id = record.id
    version = request.POST.get("version", "")
    try:
        archive().restore_record(me.name, record_id, version=int(version) if version.isdigit() else None)
    except ZhikongError as exc:
        return _record_page(request, me, record_id, error=exc.message, status=400)
    return HttpResponseRedirect(f"/records/{record_id}/?done=restore")


def _activity_text(r: Record) -> str:
    c = r.classification
    return f"{c.activity_date.isoformat()} {c.activity}" if c.activity and c.activity_date else ""
