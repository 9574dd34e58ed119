"""Handover in the browser (H39), for the bureau and the administrator only.

- /handover/: every center with its seal and host changes, the handovers started here, a form to start one;
- /handover/start/: what is not ready (`Archive.handover_readiness`, nothing sealed yet), then on
  confirmation `Archive.handover_create` runs in a thread of its own, writing the bag into
  .zhikong/handovers/<job>/; /handover/jobs/<job>/ reloads itself until it is done or failed, then offers
  the bundle as one .zip (streamed from the bag folder), the papers to sign and the fingerprint;
- /handover/receive/: the new host uploads a bundle (kept under .zhikong/tmp/, never in the archive's
  folder), it is verified (`Archive.handover_verify`) and, when it passed, imported into this archive
  (`Archive.handover_import`) with the refusals of the command line.

The application layer audits every action under the web user's name. A job's state lives in its folder's
job.json, so any thread of the server (and the server after a restart) reads the same state; a job whose
thread is gone while it says "running" was cut short by a restart.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import threading
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zhikong.app import Archive, for_people
from zhikong.errors import MultiProblemError, ZhikongError
from zhikong.web.accounts import Account
from zhikong.web.context import archive, now, today
from zhikong.web.views import account, forbidden, local_time, login_required

log = logging.getLogger("zhikong.serve")

PAPERS = ("移交清单.docx", "交接书.docx", "封存记录.docx")
_JOB = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
_RECEIVED = re.compile(r"^[0-9a-f]{16}$")
_RUNNING: set[str] = set()  # jobs with a live thread in this process
_LOCK = threading.Lock()
STATES = {"running": "正在生成", "done": "已完成", "failed": "失败", "interrupted": "已中断"}


def _allowed(request: HttpRequest) -> Account | HttpResponse:
    me = account(request)
    assert me is not None
    if not me.role.sees_all:
        return forbidden(request, "移交只由县卫生健康局医政科或管理员办理；你的账户不能查看或办理移交。")
    return me


def _grouped(value: str | None) -> str:
    value = value or ""
    return " ".join(value[i : i + 8] for i in range(0, len(value), 8))


def _message(exc: ZhikongError) -> str:
    return for_people(exc.message + (f"（{exc.hint}）" if exc.hint else ""))


# -- jobs: .zhikong/handovers/<job>/job.json ---------------------------------------------------------


def _jobs_dir(arc: Archive) -> Path:
    return arc.settings().system_dir / "handovers"


def _job_dir(arc: Archive, job: str) -> Path:
    if not _JOB.match(job):
        raise Http404(job)
    folder = _jobs_dir(arc) / job
    if not (folder / "job.json").is_file():
        raise Http404(job)
    return folder


def _write_job(folder: Path, data: dict[str, Any]) -> None:
    part = folder / "job.json.part"
    part.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(part, folder / "job.json")


def _read_job(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "job.json").read_text(encoding="utf-8"))
    data["id"] = folder.name
    with _LOCK:
        alive = folder.name in _RUNNING
    if data.get("state") == "running" and not alive:
        data["state"] = "interrupted"
        data["error"] = (
            "服务器在生成过程中重新启动，移交包没有生成完（不会留下半个包）。该中心可能已封存：请重新开始移交。"
        )
    data["state_label"] = STATES.get(str(data.get("state")), str(data.get("state")))
    return data


def _jobs(arc: Archive) -> list[dict[str, Any]]:
    folder = _jobs_dir(arc)
    if not folder.is_dir():
        return []
    found = [_read_job(f) for f in sorted(folder.iterdir(), reverse=True) if (f / "job.json").is_file()]
    for job in found:
        job["started"] = local_time(job.get("started"))
    return for_people(found)


def _run(root: Path, folder: Path, actor: str, center: str, to_host: str, as_of: date) -> None:
    """The background thread of one handover: create the bundle, record the outcome in job.json."""
    data = json.loads((folder / "job.json").read_text(encoding="utf-8"))
    try:
        done = Archive(root).handover_create(
            actor, center=center, to_host=to_host, out=folder / data["bundle"], as_of=as_of
        )
    except ZhikongError as exc:
        data.update(state="failed", error=exc.message + (f"（{exc.hint}）" if exc.hint else ""))
    except Exception:
        log.exception("handover create failed (job %s)", folder.name)
        data.update(
            state="failed",
            error="程序内部错误，移交包没有生成；详情已记入 .zhikong/logs/serve.log，请告诉管理员。",
        )
    else:
        made = done.bundle
        ready = made.readiness
        data.update(
            state="done",
            sealed_at=made.seal.sealed_at,
            from_host=made.from_host,
            fingerprint=made.fingerprint,
            audit_head=made.audit_head,
            records=made.records,
            record_files=made.record_files,
            files=made.files,
            bytes=made.bytes,
            pdf_pages=made.pdf_pages,
            pii=len(made.pii),
            not_ready=len(ready.unreadable + ready.unboxed + ready.open_drafts + ready.outside)
            + len(ready.untransferable),
        )
    finally:
        data["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        _write_job(folder, data)
        with _LOCK:
            _RUNNING.discard(folder.name)


# -- the overview -------------------------------------------------------------------------------------


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    me = _allowed(request)
    if isinstance(me, HttpResponse):
        return me
    arc = archive()
    settings = arc.settings()
    status = arc.handover_status(me.name)
    rows = []
    for c in settings.centers:
        seals = [s for s in status.seals if s.center == c.name]
        latest = max(seals, key=lambda s: s.id) if seals else None
        findings = sum(1 for f in status.findings if f.center == c.name)
        rows.append(
            {
                "name": c.name,
                "host": c.host,
                "seal": latest,
                "sealed_at": local_time(latest.sealed_at) if latest else "",
                "released_at": local_time(latest.released_at) if latest and latest.released_at else "",
                "findings": findings,
            }
        )
    changes = [
        {"center": h.center, "from": h.from_host, "to": h.to_host, "at": local_time(h.at), "note": h.note}
        for h in status.host_changes
    ]
    context = {
        "me": me,
        "rows": for_people(rows),
        "changes": for_people(changes),
        "findings": for_people(list(status.findings)),
        "jobs": _jobs(arc),
        "today": today().isoformat(),
    }
    return render(request, "handover.html", context)


# -- starting: readiness, then the background job -------------------------------------------------------


def _start_form(data: Any, arc: Archive) -> tuple[dict[str, Any], str]:
    """The center, the new host and the date of a start request, and what is wrong with them."""
    center = str(data.get("center", "")).strip()
    to_host = str(data.get("to", "")).strip()
    as_of_text = str(data.get("as_of", "")).strip()
    form: dict[str, Any] = {"center": center, "to": to_host, "as_of": as_of_text or today().isoformat()}
    if center not in arc.settings().center_names():
        return form, "请选择一个质控中心。"
    if not to_host:
        return form, "请填写新的挂靠单位（例如 金乡县中医院）。"
    if len(to_host) > 60 or any(ord(ch) < 32 for ch in to_host):
        return form, "新的挂靠单位名称过长或含控制字符。"
    if to_host == arc.settings().center(center).host:
        return form, f"{center}现在就挂靠在{to_host}，新的挂靠单位应是另一个单位。"
    try:
        form["as_of_date"] = date.fromisoformat(form["as_of"])
    except ValueError:
        return form, "交接日期应写成 年-月-日，例如 2026-06-30。"
    return form, ""


@login_required
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    me = _allowed(request)
    if isinstance(me, HttpResponse):
        return me
    arc = archive()
    form, error = _start_form(request.POST if request.method == "POST" else request.GET, arc)
    if error:
        context = {"me": me, "form": form, "error": error, "centers": arc.settings().center_names()}
        return render(request, "handover_start.html", context, status=400)
    busy = _busy(arc, form["center"])
    if busy:
        return HttpResponseRedirect(f"/handover/jobs/{busy}/")
    if request.method == "GET":
        try:
            ready = arc.handover_readiness(me.name, center=form["center"])
        except ZhikongError as exc:
            context = {
                "me": me,
                "form": form,
                "error": _message(exc),
                "centers": arc.settings().center_names(),
            }
            return render(request, "handover_start.html", context, status=400)
        groups = [
            ("无法读取的文件（乱码、损坏或读不出文字）", ready.unreadable, "移交时如实写入移交清单"),
            ("纸质原件尚未入盒", ready.unboxed, "移交清单中注明"),
            ("未决的公文送审稿", ready.open_drafts, "可先在“公文”中批准或退回"),
            ("归到本中心但不在中心文件夹内", ready.outside, "不会移交，请先移入中心文件夹"),
            ("文件名不是有效编码或 Windows 不允许", ready.untransferable, "不会移交，请改名后重做"),
        ]
        context = {
            "me": me,
            "form": form,
            "host": arc.settings().center(form["center"]).host,
            "groups": for_people([(t, items, what) for t, items, what in groups if items]),
            "renamed": for_people(ready.renamed),
            "ready": ready.empty,
        }
        return render(request, "handover_start.html", context)
    job = datetime.fromtimestamp(now()).strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
    with _LOCK:  # one handover of a center at a time: a second click finds the first one's job
        busy = _busy(arc, form["center"], locked=True)
        if busy:
            return HttpResponseRedirect(f"/handover/jobs/{busy}/", status=303)
        _RUNNING.add(job)
    folder = _jobs_dir(arc) / job
    folder.mkdir(parents=True)
    data = {
        "center": form["center"],
        "to_host": form["to"],
        "as_of": form["as_of"],
        "actor": me.name,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "state": "running",
        "bundle": f"{form['center']}移交包",
    }
    _write_job(folder, data)
    thread = threading.Thread(
        target=_run,
        args=(arc.root, folder, me.name, form["center"], form["to"], form["as_of_date"]),
        name=f"handover-{job}",
        daemon=True,
    )
    thread.start()
    return HttpResponseRedirect(f"/handover/jobs/{job}/", status=303)


def _busy(arc: Archive, center: str, *, locked: bool = False) -> str | None:
    """The job of this process now making `center`'s bundle, if any."""
    if not locked:
        with _LOCK:
            return _busy(arc, center, locked=True)
    return next((j for j in sorted(_RUNNING) if _read_center(arc, j) == center), None)


def _read_center(arc: Archive, job: str) -> str | None:
    try:
        return str(json.loads((_jobs_dir(arc) / job / "job.json").read_text(encoding="utf-8"))["center"])
    except (OSError, ValueError, KeyError):
        return None


@login_required
@require_POST
def release(request: HttpRequest) -> HttpResponse:
    """Lift a center's seal when its handover is called off (`Archive.handover_release`, audited)."""
    me = _allowed(request)
    if isinstance(me, HttpResponse):
        return me
    center = request.POST.get("center", "").strip()
    reason = request.POST.get("reason", "").strip()
    if not reason:
        return forbidden(
            request, "解除封存须写明原因（例如“移交取消，经医政科同意”）。", status=400, title="没有解除封存"
        )
    if _busy(archive(), center):
        message = f"{center}的移交包正在生成，生成结束后才能解除封存。"
        return forbidden(request, message, status=409, title="没有解除封存")
    try:
        archive().handover_release(me.name, center=center, reason=reason)
    except ZhikongError as exc:
        return forbidden(request, _message(exc), status=400, title="没有解除封存")
    return HttpResponseRedirect("/handover/", status=303)


# -- a job's page, its bundle and its papers ------------------------------------------------------------


@login_required
@require_GET
def job_page(request: HttpRequest, job: str) -> HttpResponse:
    me = _allowed(request)
    if isinstance(me, HttpResponse):
        return me
    arc = archive()
    data = _read_job(_job_dir(arc, job))
    papers = data["bundle"] + "/data/移交资料"
    data["papers"] = [p for p in PAPERS if (_job_dir(arc, job) / papers / p).is_file()]
    for key in ("started", "finished", "sealed_at"):
        data[key] = local_time(data.get(key))
    shown = for_people(data)
    # Digests are not personal data, and a grouped one may look like a phone number to the masker: shown
    # as they are, since people copy them onto paper and type them in again.
    shown["fingerprint_grouped"] = _grouped(data.get("fingerprint"))
    shown["audit_head"] = data.get("audit_head")
    context = {"me": me, "job": shown, "refresh": data["state"] == "running"}
    response = render(request, "handover_job.html", context)
    if data["state"] == "running":
        response["Refresh"] = "3"  # besides the page's <meta http-equiv="refresh">: no script needed
    return response


def _done_bag(request: HttpRequest, job: str) -> tuple[Path, dict[str, Any]]:
    arc = archive()
    folder = _job_dir(arc, job)
    data = _read_job(folder)
    bag = folder / data["bundle"]
    if data["state"] != "done" or not (bag / "bagit.txt").is_file():
        raise Http404(job)
    return bag, data


def _attachment(name: str) -> str:
    return f"attachment; filename*=UTF-8''{quote(name)}"


class _Pipe:
    """What zipfile writes into, emptied after each chunk: the zip leaves as it is made (not seekable, so
    zipfile writes each member's sizes after its data)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        out, self.chunks = b"".join(self.chunks), []
        return out


def zipped(bag: Path) -> Iterator[bytes]:
    """The bag folder as one stored .zip whose top folder is the bag (what `handover verify` reads)."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for folder, dirs, files in os.walk(bag):
            dirs.sort()
            for name in sorted(files):
                full = Path(folder) / name
                arcname = (Path(bag.name) / full.relative_to(bag)).as_posix()
                info = zipfile.ZipInfo.from_file(full, arcname)
                info.compress_type = zipfile.ZIP_STORED
                with open(full, "rb") as src, zf.open(info, "w", force_zip64=info.file_size > 1 << 31) as dst:
                    while chunk := src.read(1 << 20):
                        dst.write(chunk)
                        yield pipe.take()
                yield pipe.take()
    yield pipe.take()


@login_required
@require_GET
def job_bundle(request: HttpRequest, job: str) -> HttpResponse:
    me = _allowed(request)
    if isinstance(me, HttpResponse):
        return me
    bag, _data = _done_bag(request, job)
    response = StreamingHttpResponse(zipped(bag), content_type="application/zip")
    response["Content-Disposition"] = _attachment(f"{bag.name}.zip")
    return response


@login_required
@require_GET
def job_paper(request: HttpRequest, job: str, name: str) -> HttpResponse:
    me = _allowed(request)
    if isinstance(me, HttpResponse):
        return me
    if name not in PAPERS:
        raise Http404(name)
    bag, _data = _done_bag(request, job)
    path = bag / "data" / "移交资料" / name
    if not path.is_file():
        raise Http404(name)
    response = FileResponse(
        path.open("rb"),
        content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    response["Content-Disposition"] = _attachment(name)
    return response


# -- receiving a bundle -------------------------------------------------------------------------------


def _received(arc: Archive, rid: str) -> Path:
    if not _RECEIVED.match(rid):
        raise Http404(rid)
    path = arc.settings().system_dir / "tmp" / f"handover-{rid}.zip"
    if not path.is_file():
        raise Http404(rid)
    return path


KEEP_RECEIVED_S = 24 * 3600


def _link_spooled(upload: Any, path: Path) -> bool:
    """A large upload is already a file in .zhikong/tmp (FILE_UPLOAD_TEMP_DIR): keep it under our name
    instead of copying gigabytes. False when it is in memory or cannot be linked (then it is copied)."""
    spooled = getattr(upload, "temporary_file_path", None)
    if spooled is None or Path(spooled()).parent != path.parent:
        return False
    try:
        os.link(spooled(), path)
    except OSError:
        return False
    return True


def _forget_old(folder: Path) -> None:
    """Received bundles nobody imported within a day (verified and left, or the browser closed)."""
    limit = time.time() - KEEP_RECEIVED_S
    for old in folder.glob("handover-*.zip"):
        try:
            if old.stat().st_mtime < limit:
                old.unlink()
        except OSError:
            pass


def _report(report: Any) -> dict[str, Any]:
    """A VerifyReport as the page shows it: the four properties, each with its problems and notes."""
    fatal = {id(p) for p in report.problems}
    properties = []
    for name, found in report.by_property().items():
        bad = [p for p in found if id(p) in fatal]
        properties.append(
            {
                "name": name,
                "ok": not bad,
                "problems": [{"message": p.message, "path": p.path or ""} for p in bad],
                "notes": [{"message": p.message, "path": p.path or ""} for p in found if id(p) not in fatal],
            }
        )
    shown: dict[str, Any] = for_people(
        {
            "center": report.center or "（未知中心）",
            "from_host": report.from_host or "？",
            "to_host": report.to_host or "？",
            "records": report.records,
            "record_files": report.record_files,
            "files": report.files,
            "bytes": report.bytes,
            "origin": report.origin.label,
            "origin_checked": report.origin.value != "unchecked",
            "properties": properties,
            "passed": not report.problems,
            "count": len(report.problems),
        }
    )
    shown["fingerprint"] = _grouped(report.fingerprint)  # a digest, unmasked (see job_page)
    shown["audit_head"] = report.audit_head or ""
    return shown


@login_required
@require_http_methods(["GET", "POST"])
def receive(request: HttpRequest) -> HttpResponse:
    me = _allowed(request)
    if isinstance(me, HttpResponse):
        return me
    if request.method == "GET":
        return render(request, "handover_receive.html", {"me": me})
    arc = archive()
    upload = request.FILES.get("bundle")
    fingerprint = request.POST.get("fingerprint", "").strip()
    if upload is None:
        context = {"me": me, "error": "请选择移交包（.zip 文件）。", "fingerprint": fingerprint}
        return render(request, "handover_receive.html", context, status=400)
    rid = secrets.token_hex(8)
    folder = arc.settings().system_dir / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    _forget_old(folder)
    path = folder / f"handover-{rid}.zip"
    try:
        if not _link_spooled(upload, path):
            with open(path, "xb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
    finally:
        upload.close()
    name = for_people(upload.name or "移交包.zip")
    if not zipfile.is_zipfile(path):
        path.unlink()
        context = {
            "me": me,
            "error": f"{name} 不是 .zip 压缩包。请上传原挂靠单位给出的移交包 .zip 文件"
            "（移交包文件夹请先压缩成 .zip）。",
            "fingerprint": fingerprint,
        }
        return render(request, "handover_receive.html", context, status=400)
    return _verify_page(request, me, arc, rid, path, name, fingerprint)


def _verify_page(
    request: HttpRequest, me: Account, arc: Archive, rid: str, path: Path, name: str, fingerprint: str
) -> HttpResponse:
    try:
        report = Archive.handover_verify(me.name, path, fingerprint=fingerprint or None)
    except ZhikongError as exc:
        path.unlink(missing_ok=True)
        context = {"me": me, "error": _message(exc), "fingerprint": fingerprint}
        return render(request, "handover_receive.html", context, status=400)
    shown = _report(report)
    if not shown["passed"]:
        path.unlink(missing_ok=True)  # nothing more may be done with it
    context = {"me": me, "report": shown, "rid": rid, "name": name, "fingerprint": fingerprint}
    return render(request, "handover_report.html", context, status=200 if shown["passed"] else 422)


@login_required
@require_POST
def receive_import(request: HttpRequest, rid: str) -> HttpResponse:
    me = _allowed(request)
    if isinstance(me, HttpResponse):
        return me
    arc = archive()
    path = _received(arc, rid)
    fingerprint = request.POST.get("fingerprint", "").strip()
    name = for_people(request.POST.get("name", "移交包.zip"))
    try:
        done = Archive.handover_import(me.name, arc.root.resolve(), path, fingerprint=fingerprint or None)
    except ZhikongError as exc:
        problems = exc.problems if isinstance(exc, MultiProblemError) else []
        context = {
            "me": me,
            "name": name,
            "rid": rid,
            "fingerprint": fingerprint,
            "error": _message(exc),
            "problems": for_people([{"message": p.message, "path": p.path or ""} for p in problems]),
        }
        return render(request, "handover_imported.html", context, status=409)
    path.unlink(missing_ok=True)
    result, scan = done.imported, done.scan
    context = {
        "me": me,
        "name": name,
        "result": for_people(result),
        "origin": result.origin.label,
        "origin_checked": result.origin.value != "unchecked",
        "indexed": done.indexed,
        "present": done.records_present,
        "consistent": not (scan.touched or scan.errors),
        "unchanged": scan.unchanged,
        "query": urlencode({"center": result.center}),
    }
    return render(request, "handover_imported.html", context)
