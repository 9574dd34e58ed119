"""Red-header drafts and their approval (J15(1), H29, H30(5)): the center drafts, the bureau approves.

A draft is a row in the catalogue's ``drafts`` table plus a 送审稿 .docx under the archive's
``送审稿/<center>/`` folder, where a secretary finds it to print or send to the bureau. That folder
belongs to the system (the folder convention ignores it), so a 送审稿 is never catalogued as an issued
通知. Only ``approve`` produces a numbered final, and it files that final into the center's folder
through the normal reconcile path, so it is catalogued, preserved and indexed like any dropped file.

States: 草稿 (a 送审稿 being prepared: previewed, downloaded, edited in Word/WPS and uploaded back) →
送审 (submitted: its sha256 recorded) → 已批准 (numbered and filed) or 已退回 (refused, with a reason);
a returned draft fixed and uploaded again is submitted again; 已批准 → 已印发 once the secretary records
that the printed copies went out. ``zhikong draft notice`` (and request, letter, minutes) submits at once; a
draft made in the browser starts as 草稿.

A 通知 or 请示 is drafted from its fields (`create_notice_draft`); a 函 or 纪要 from ``zhikong render``'s data file
for its shipped template (`create_template_draft`). Both are stored, approved and filed the same way; only the
number line differs (`number_line`: 代字〔2026〕3号, or a 纪要's 第3期).

What is approved is what is issued: the final is the approved 送审稿 file itself with the number filled in
and the 送审稿 mark removed (``archive.draftfile``); the approved file and the final are both preserved and
their hashes recorded, and an approval refuses a 送审稿 that changed after it was submitted.

The workflow lives next to the catalogue because it is the catalogue's: draft rows, the 发文字号
sequences, the audit entries and the filed final. ``generator.notice`` only checks and renders the
document it is given; the rows are reached through ``Catalogue`` methods, never by SQL here.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any

from zhikong.archive import audit, draftfile
from zhikong.archive.catalogue import Catalogue, now_iso
from zhikong.archive.convention import Source, classify
from zhikong.archive.filenames import NAME_BYTES, fit_file_name
from zhikong.archive.ingest import Reconciler
from zhikong.archive.manage import Reclassification, set_classification
from zhikong.archive.preserve import ObjectStore
from zhikong.archive.settings import DRAFTS_FOLDER, Settings
from zhikong.errors import ConflictError, InputFileError, NotFound, Problem, TemplateError
from zhikong.generator.docnumber import MAX_SERIAL, check_prefix, format_doc_number
from zhikong.generator.docrules import format_date, parse_written_date, with_request_closing
from zhikong.generator.documents import check_draft_data, example_data, issue_line, render_draft
from zhikong.generator.notice import KINDS, NoticeSpec, check_notice, normalise_to, render_notice
from zhikong.textcheck import check_text

MAX_BODY_BYTES = 2 * 2**20  # a notice's body is a few KB of text; a larger file is the wrong file
FINAL_FOLDER = "发文"  # <center>/<year>/发文/ holds approved documents not tied to one activity
NOTICE_CATEGORY = "通知"
# The category an approved final is filed under (DOMAIN §3's list): a 请示 is the center's own outgoing
# document, not a 通知, and the list has no 请示 of its own.
# A 函 (to another unit) has no category of its own either; a 纪要 is filed as 会议纪要.
FINAL_CATEGORY = {"notice": NOTICE_CATEGORY, "request": "其他", "letter": "其他", "minutes": "会议纪要"}
# The documents drafted from a shipped template and its data file (``zhikong render``'s format) rather than
# from a body text: a 函 (信函格式) and a 纪要 (纪要格式).
TEMPLATE_KINDS = {"letter": "函", "minutes": "会议纪要"}


class DraftState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    ISSUED = "issued"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    DraftState.DRAFT: "草稿",
    DraftState.SUBMITTED: "送审",
    DraftState.APPROVED: "已批准",
    DraftState.REJECTED: "已退回",
    DraftState.ISSUED: "已印发",
}


@dataclass(frozen=True)
class DraftContent:
    """What was drafted: the document, the activity folder it belongs in, and whether it is dated.

    ``dated_on_approval``: no 成文日期 was given, so the final carries the day of approval (the
    签发 date, GB/T 9704 §7.3.5) and its 发文字号 the year of that day.
    """

    spec: NoticeSpec
    activity: str | None = None  # "YYYY-MM-DD 名称": the final is filed into that activity folder
    dated_on_approval: bool = False
    # A 函's or 纪要's data as its template got it (TEMPLATE_KINDS); `spec` then holds what the
    # workflow reads (代字, year, title, 发文机关, 成文日期).
    data: Mapping[str, Any] | None = None

    def to_json(self) -> str:
        spec = asdict(self.spec)
        spec["date"] = self.spec.date.isoformat()
        spec["issue_date"] = self.spec.issue_date.isoformat() if self.spec.issue_date else None
        spec["attachments"] = list(self.spec.attachments)
        spec["cc"] = list(self.spec.cc)
        data = {"spec": spec, "activity": self.activity, "dated_on_approval": self.dated_on_approval}
        if self.data is not None:
            data["data"] = dict(self.data)
        return json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> DraftContent:
        data = json.loads(text)
        raw = dict(data["spec"])
        raw["date"] = datetime.date.fromisoformat(raw["date"])
        raw["issue_date"] = datetime.date.fromisoformat(raw["issue_date"]) if raw["issue_date"] else None
        raw["attachments"] = tuple(raw["attachments"])
        raw["cc"] = tuple(raw["cc"])
        return cls(
            NoticeSpec(**raw), data.get("activity"), bool(data.get("dated_on_approval")), data.get("data")
        )


@dataclass(frozen=True)
class Draft:
    id: int
    center: str
    kind: str  # notice | request | letter | minutes
    title: str
    state: DraftState
    content: DraftContent
    draft_path: str | None  # the 送审稿, relative to the archive root
    final_path: str | None  # the filed final, relative to the archive root
    doc_number: str | None  # 发文字号, allocated on approval
    year: int | None
    number: int | None
    created_at: str
    decided_at: str | None
    decided_by: str | None
    ref: str | None  # the approval's reference (批件号, meeting minutes …)
    reason: str | None  # why it was returned
    record_id: int | None  # the catalogue record of the final
    submitted_sha256: str | None = None  # the 送审稿 as submitted (what the bureau reviews)
    approved_sha256: str | None = None  # the 送审稿 file the approval was given to
    final_sha256: str | None = None  # the final made from it (archive.draftfile.finalize)

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind) or TEMPLATE_KINDS.get(self.kind, self.kind)

    @property
    def category(self) -> str:
        """The record category its final is filed under."""
        return FINAL_CATEGORY.get(self.kind, NOTICE_CATEGORY)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "center": self.center,
            "kind": self.kind,
            "kind_label": self.kind_label,
            "title": self.title,
            "state": self.state.value,
            "state_label": self.state.label,
            "draft_path": self.draft_path,
            "final_path": self.final_path,
            "doc_number": self.doc_number,
            "year": self.year,
            "number": self.number,
            "activity": self.content.activity,
            "created_at": self.created_at,
            "decided_at": self.decided_at,
            "decided_by": self.decided_by,
            "ref": self.ref,
            "reason": self.reason,
            "record_id": self.record_id,
            "submitted_sha256": self.submitted_sha256,
            "approved_sha256": self.approved_sha256,
            "final_sha256": self.final_sha256,
        }


# -- input ----------------------------------------------------------------------------------------


def read_body(path: Path) -> str:
    """A body file: a Word document (.docx: its paragraphs, automatic numbering included), or plain text in
    UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030/GBK.

    Secretaries on Chinese Windows save from Notepad as ANSI (GBK) as often as UTF-8. Valid UTF-8
    is tried first: GBK text is almost never valid UTF-8, while GB18030 decodes nearly any bytes.
    """
    if not path.is_file():
        raise InputFileError(f"正文文件不存在：{path}", hint="用 --body 指定一个纯文本（.txt）文件。")
    if path.stat().st_size > MAX_BODY_BYTES:
        raise InputFileError(
            f"正文文件 {path.name} 过大（上限 {MAX_BODY_BYTES // 2**20} MB），没有读取。",
            hint="正文应是纯文本；请确认选对了文件（不是 Word 文档或图片）。",
        )
    data = path.read_bytes()
    if data.startswith(b"PK\x03\x04"):  # a Word document (.docx): its paragraphs, numbering included
        return _docx_body(path, data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputFileError(
            f"正文文件 {path.name} 是旧版 Word（.doc）或加密的文件，无法读取。",
            hint="请在 Word/WPS 中“另存为” .docx 或纯文本（.txt）后再用 --body 指定。",
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputFileError(
        f"正文文件的编码无法识别：{path.name}",
        hint="请用记事本打开，另存为时选择“UTF-8”编码。",
    )


def _docx_body(path: Path, data: bytes) -> str:
    import io
    import zipfile

    from zhikong.indexer.extractors.docx import body_lines

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            lines = body_lines(zf)
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise InputFileError(
            f"正文文件 {path.name} 不是完整的 Word 文档（.docx），无法读取。",
            hint="请在 Word/WPS 中重新保存，或另存为纯文本（.txt）。",
        ) from exc
    return "\n".join(lines)


# -- reading --------------------------------------------------------------------------------------


def get_draft(cat: Catalogue, draft_id: int) -> Draft:
    row = cat.draft(draft_id)
    if row is None:
        raise NotFound(f"没有编号为 {draft_id} 的公文草稿。", hint="用 zhikong draft list 查看草稿及编号。")
    return _draft(row)


def list_drafts(cat: Catalogue, *, center: str | None = None, state: DraftState | None = None) -> list[Draft]:
    rows = cat.drafts(center=center, state=state.value if state is not None else None)
    return [_draft(r) for r in rows]


# -- drafting -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftRequest:
    """What a secretary fills in for a 通知 or 请示 (the issuing organ, 代字 and signer come from settings)."""

    center: str
    title: str
    to: str
    body: str
    kind: str = "notice"
    day: datetime.date | None = None  # 成文日期; None: dated on approval
    attachments: Sequence[str] = ()
    cc: Sequence[str] = ()
    issuer: str = ""
    signed_by: str = ""
    activity: str | None = None  # "YYYY-MM-DD 名称": the final is filed in that activity's folder
    # The attachments' files, in the order of `attachments` (file name, bytes): kept beside the 送审稿 and
    # filed beside the final on approval, named 附件1 名称.ext …
    attachment_files: Sequence[tuple[str, bytes]] = ()


def create_notice_draft(
    settings: Settings, cat: Catalogue, request: DraftRequest, *, today: datetime.date, submit: bool = True
) -> Draft:
    """Check a 通知 (or 请示), write its 送审稿 and record the draft in state 送审.

    The issuing organ, 代字 and signer come from the settings (`issuing_organ`: a 通知 is the bureau's, a
    请示 the center's own, addressed to the bureau and signed by the director, ending 妥否，请批示。 — added
    when the body does not end so). Every problem is reported together in one TemplateError; an unknown
    center raises SettingsError. ``day`` is the 成文日期; without it the final is dated on approval
    and the 送审稿 shows ``today``.
    """
    r = request
    center, day, activity, kind = r.center, r.day, r.activity, r.kind
    issuing = issuing_organ(settings, center, kind)
    when = day or today
    spec = NoticeSpec(
        organ_mark=issuing.name + "文件",
        doc_prefix=issuing.doc_prefix,
        year=when.year,
        number=None,
        title=r.title.strip(),
        to=normalise_to(r.to or (settings.bureau if kind == "request" else "")),
        body=with_request_closing(r.body) if kind == "request" else r.body,
        signer=issuing.name,
        date=when,
        attachments=tuple(a.strip() for a in r.attachments),
        cc=tuple(c.strip() for c in r.cc),
        issuer=r.issuer.strip(),
        draft=True,
        kind=kind,
        signed_by=(r.signed_by or issuing.signed_by).strip(),
    )
    problems = issuing.problems + check_notice(spec)
    if kind == "request" and spec.to.rstrip("：:") != settings.bureau:
        problems.append(
            Problem(
                "draft.request_to",
                f"请示主送上级机关“{settings.bureau}”，不是“{spec.to}”：不写 --to 即主送{settings.bureau}",
            )
        )
    if activity is not None:
        problems += _check_activity(activity, center, settings)
    problems += _check_attachment_files(r.attachment_files, spec.attachments)
    if problems:
        raise TemplateError(f"公文有 {len(problems)} 处问题，没有生成送审稿：", problems)
    content = DraftContent(spec, activity.strip() if activity else None, dated_on_approval=day is None)

    def render(out: Path, draft_id: int) -> None:
        render_notice(spec, out, identifier=draftfile.identifier(draft_id), fonts=settings.document_fonts)

    return _store_draft(
        settings,
        cat,
        center,
        content,
        render,
        submit=submit,
        files=r.attachment_files,
        names=spec.attachments,
    )


def _store_draft(
    settings: Settings,
    cat: Catalogue,
    center: str,
    content: DraftContent,
    render: Callable[[Path, int], None],
    *,
    submit: bool,
    files: Sequence[tuple[str, bytes]] = (),
    names: Sequence[str] = (),
) -> Draft:
    """Record a checked draft and write its 送审稿 (``render(out, draft_id)``) under 送审稿/<center>/."""
    spec = content.spec
    kind = spec.kind
    folder = settings.root / DRAFTS_FOLDER / center
    folder.mkdir(parents=True, exist_ok=True)
    written: Path | None = None
    # One transaction: the row gives the file its number; if rendering fails the row is rolled
    # back and the half-made file removed, so a draft exists exactly when its 送审稿 does.
    try:
        with cat.transaction():
            draft_id = cat.insert_draft(
                center=center,
                kind=kind,
                title=spec.title,
                state=DraftState.SUBMITTED.value,
                spec=content.to_json(),
                created_at=now_iso(),
            )
            out = folder / fit_file_name(
                spec.title, head=f"{draft_id} ", tail="（送审稿）.docx", folder=folder
            )
            written = out
            render(out, draft_id)
            rel = out.relative_to(settings.root).as_posix()
            cat.set_draft_path(draft_id, rel)
            _write_attachments(out, files, names)
            sha = ObjectStore(settings.system_dir).add_file(out).sha256
            state = DraftState.SUBMITTED if submit else DraftState.DRAFT
            cat.set_draft_file(
                draft_id, title=spec.title, state=state.value, submitted_sha256=sha if submit else None
            )
            audit.append(
                cat, "draft.create", center=center, path=rel, draft=draft_id, kind=kind, title=spec.title
            )
    except BaseException:
        if written is not None:
            written.unlink(missing_ok=True)
            shutil.rmtree(attachments_folder(written), ignore_errors=True)
        raise
    return get_draft(cat, draft_id)


def create_template_draft(
    settings: Settings,
    cat: Catalogue,
    kind: str,
    data: Mapping[str, Any],
    *,
    center: str,
    today: datetime.date,
    activity: str | None = None,
    bureau: bool = False,
    submit: bool = True,
) -> Draft:
    """Check a 函's or 纪要's data (``zhikong render``'s data file) and write its 送审稿, like a 通知's.

    Whose 函 it is decides its 代字 (`letter_organ`): the center's own by default, the bureau's with
    ``bureau``; a ``doc_prefix`` in the data must be that one, and a number in the data is refused (the
    number is given on approval). A 纪要 is numbered by 期 (第N期), one sequence per center and year
    (`sequence_prefix`); its 期数 in the data is refused the same way. 发文机关标志 and 署名 default to the
    issuing organ (a 纪要's mark to "<中心>会议纪要"); the 成文日期 to today.
    """
    if kind not in TEMPLATE_KINDS:
        raise InputFileError(
            f"不能按模板“{kind}”起草送审稿。", hint="可起草的模板：letter（函）、minutes（纪要）。"
        )
    minutes = kind == "minutes"
    issuing = minutes_organ(settings, center) if minutes else letter_organ(settings, center, bureau=bureau)
    problems = list(issuing.problems)
    data = dict(data)
    given = data.get("doc_prefix")
    if not minutes and given not in (None, "") and given != issuing.doc_prefix:
        whose = settings.bureau if bureau else center
        problems.append(
            Problem(
                "draft.letter_prefix",
                f"数据文件中的发文机关代字“{given}”不是{whose}的函的代字“{issuing.doc_prefix}”："
                "删去 doc_prefix 一项即用后者" + ("" if bureau else "；以卫健局名义发函加 --bureau"),
            )
        )
    if not minutes:
        data["doc_prefix"] = issuing.doc_prefix
    for key, label in (("organ_mark", "发文机关标志"), ("signer", "署名")) if bureau else ():
        if data.get(key) not in (None, "", issuing.name):
            problems.append(
                Problem(
                    "draft.letter_organ",
                    f"以{issuing.name}名义发函，{label}（{key}）应是“{issuing.name}”，不是“{data[key]}”：删去这一项即可",
                )
            )
        data[key] = issuing.name
    data.setdefault("organ_mark", f"{center}会议纪要" if minutes else issuing.name)
    data.setdefault("signer", issuing.name)
    data.setdefault("date", format_date(today))
    if isinstance(
        data.get("to"), str
    ):  # the template adds the colon (县人民医院护理部：), as --to may end with one
        data["to"] = data["to"].strip().rstrip("：:")
    prepared, found = check_draft_data(kind, data)
    problems += found
    if activity is not None:
        problems += _check_activity(activity, center, settings)
    day, wrong = parse_written_date(data["date"], "date")
    if problems or day is None or wrong:
        label = TEMPLATE_KINDS[kind]
        raise TemplateError(
            f"{label}有 {len(problems)} 处问题，没有生成送审稿：",
            problems or wrong,
            hint=f"参照示例数据文件填写：{example_data(kind)}",
        )
    year = data.get("year")
    spec = NoticeSpec(
        organ_mark=str(data["organ_mark"]),
        doc_prefix=issuing.doc_prefix,
        year=year if isinstance(year, int) and not isinstance(year, bool) else day.year,
        number=None,
        title=str(data["title"]).strip(),
        to=normalise_to(str(data.get("to", ""))),
        body=str(data.get("body", "")),
        signer=str(data["signer"]),
        date=day,
        draft=True,
        kind=kind,
    )
    content = DraftContent(spec, activity.strip() if activity else None, data=prepared)

    def render(out: Path, draft_id: int) -> None:
        identifier = draftfile.identifier(draft_id)
        render_draft(kind, prepared, out, identifier=identifier, fonts=settings.document_fonts)

    return _store_draft(settings, cat, center, content, render, submit=submit)


def minutes_organ(settings: Settings, center: str) -> IssuingOrgan:
    """A 纪要 is the center's own record of its meeting: signed by the center, numbered by 期 in a sequence of
    the center's per year (kept in the 发文字号 counters under "<中心>纪要")."""
    return IssuingOrgan(full_name(settings, center), f"{center}纪要")


def full_name(settings: Settings, center: str) -> str:
    """A center's name as its documents sign it: ``full_name`` in zhikong.toml, else county + name
    (an unknown center raises SettingsError)."""
    found = settings.center(center)
    name = found.name
    return found.full_name or (name if name.startswith(settings.county) else settings.county + name)


def number_line(content: DraftContent, number: int | None) -> str:
    """What the 送审稿's number line reads, blank (``None``) or filled: 代字〔2026〕  号 / 代字〔2026〕3号, or a
    纪要's 第  期 / 第3期."""
    spec = content.spec
    if spec.kind == "minutes":
        return issue_line(number)
    return format_doc_number(spec.doc_prefix, spec.year, number)


def catalogued_number(content: DraftContent, number: int) -> str:
    """The number as catalogued and leading the final's file name: the 发文字号, or for a 纪要 its 期数 with
    the center and year (护理质控中心纪要2026年第3期), unique like a 发文字号."""
    spec = content.spec
    if spec.kind == "minutes":
        return f"{spec.doc_prefix}{spec.year}年{issue_line(number)}"
    return format_doc_number(spec.doc_prefix, spec.year, number)


def letter_organ(settings: Settings, center: str, *, bureau: bool = False) -> IssuingOrgan:
    """Who issues a 函 and its 代字: the center's own name and 代字 + 函 (金护质控函〔2026〕1号, a sequence of its
    own) as for a 请示; with ``bureau`` the bureau's name and its 代字 with 函 for 字 (金卫健函〔2026〕1号)."""
    if bureau:
        settings.center(center)  # an unknown center raises SettingsError
        return IssuingOrgan(settings.bureau, _letter_prefix(settings.doc_prefix))
    organ = issuing_organ(settings, center, "request")
    prefix = _letter_prefix(organ.doc_prefix) if organ.doc_prefix else ""
    return IssuingOrgan(organ.name, prefix, problems=organ.problems)


def _letter_prefix(prefix: str) -> str:
    return prefix if prefix.endswith("函") else prefix.removesuffix("字") + "函"


@dataclass(frozen=True)
class IssuingOrgan:
    """Whose document a draft is (DOMAIN §6, "who issues what, and who numbers it").

    A 通知 is the bureau's: its red head, its name, its sequence (金卫健字). A 请示 goes up from the center:
    the center's full name (or its host hospital's, by the center's ``request_head`` setting), the center's
    own 代字 and sequence (金护质控〔2026〕1号) and its director as 签发人 — never the bureau's head or number.
    """

    name: str
    doc_prefix: str
    signed_by: str = ""
    problems: list[Problem] = field(default_factory=list)


def issuing_organ(settings: Settings, center_name: str, kind: str) -> IssuingOrgan:
    """The organ a draft of ``kind`` is issued by (an unknown center raises SettingsError)."""
    center = settings.center(center_name)
    if kind != "request":
        return IssuingOrgan(settings.bureau, settings.doc_prefix)
    where = f"zhikong.toml 中“{center.name}”的 [[center]] 一段"
    problems = []
    if center.request_head == "host":
        name = center.host.strip()
        if not name:
            problems.append(Problem("draft.request_host", f"请示用挂靠单位的名称，但{where}没有写 host"))
    else:
        name = full_name(settings, center.name)
    if not center.doc_prefix:
        problems.append(
            Problem(
                "draft.center_prefix",
                f"中心的请示用中心自己的发文代字和序号，{where}还没有 doc_prefix："
                '请加一行，例如 doc_prefix = "金护质控"（生成“金护质控〔2026〕1号”）',
            )
        )
    else:
        problems += check_prefix(center.doc_prefix)
        if center.doc_prefix == settings.doc_prefix:
            problems.append(
                Problem(
                    "draft.center_prefix",
                    f"中心的发文代字“{center.doc_prefix}”与卫健局的相同：请示不能用卫健局的发文字号，"
                    f"请在{where}改用中心自己的代字",
                )
            )
    return IssuingOrgan(name, center.doc_prefix, center.roster.director, problems)


MAX_ATTACHMENT_BYTES = 50 * 1024 * 1024


def attachments_folder(draft_file: Path) -> Path:
    """Where a 送审稿's attachment files are kept: a folder beside it, "<编号> 附件"."""
    return draft_file.with_name(draft_file.name.split(" ", 1)[0] + " 附件")


def attachment_files(settings: Settings, draft: Draft) -> list[Path]:
    """The draft's attachment files, in order (附件1 …)."""
    if not draft.draft_path:
        return []
    folder = attachments_folder(settings.root / draft.draft_path)
    return sorted(folder.iterdir(), key=_attachment_order) if folder.is_dir() else []


def _attachment_order(path: Path) -> int:
    head = path.name.split(" ", 1)[0].removeprefix("附件")
    return int(head) if head.isdigit() else 0


def _check_attachment_files(files: Sequence[tuple[str, bytes]], names: Sequence[str]) -> list[Problem]:
    from zhikong.archive.upload import EXECUTABLE_SUFFIXES

    problems = []
    if len(files) > len(names):
        problems.append(
            Problem(
                "draft.attachment_files",
                f"附件文件有 {len(files)} 个，附件名称只有 {len(names)} 个：请为每个附件文件写一个附件名称（按顺序对应）",
            )
        )
    for name, data in files:
        suffix = PurePosixPath(name.replace("\\", "/")).suffix.lower()
        if not data:
            problems.append(Problem("draft.attachment_empty", f"附件文件是空的：{name}"))
        elif len(data) > MAX_ATTACHMENT_BYTES:
            problems.append(Problem("draft.attachment_size", f"附件文件太大（超过 50 MB）：{name}"))
        elif suffix in EXECUTABLE_SUFFIXES or data[:2] == b"MZ" or data[:4] == b"\x7fELF":
            problems.append(Problem("draft.attachment_program", f"附件不能是程序或脚本：{name}"))
    return problems


def _write_attachments(draft_file: Path, files: Sequence[tuple[str, bytes]], names: Sequence[str]) -> None:
    if not files:
        return
    folder = attachments_folder(draft_file)
    folder.mkdir(parents=True, exist_ok=True)
    for i, ((given, data), name) in enumerate(zip(files, names, strict=False), 1):
        suffix = "".join(
            ch for ch in PurePosixPath(given.replace("\\", "/")).suffix.lower() if ch.isalnum() or ch == "."
        )
        target = folder / fit_file_name(name, head=f"附件{i} ", tail=suffix[:10], folder=folder)
        _write_atomic(target, data)


def _check_activity(activity: str, center: str, settings: Settings) -> list[Problem]:
    unsafe = check_text("活动", activity, "draft.activity_characters")
    if unsafe:
        return unsafe
    if len(activity.strip().encode("utf-8")) > NAME_BYTES:
        return [Problem("draft.activity_length", f"活动名称过长，不能作为文件夹名：{activity[:30]}…")]
    placed = classify(PurePosixPath(center, "2000", activity.strip(), "x.docx"), settings.center_names())
    if placed.activity_by != Source.PATH or "/" in activity or "\\" in activity:
        return [
            Problem(
                "draft.activity",
                f"活动应写成“YYYY-MM-DD 名称”，例如“2026-03-15 第一次工作会议”：{activity}",
            )
        ]
    return []


# -- deciding -------------------------------------------------------------------------------------


def _stray_with_number(cat: Catalogue, folder: Path, doc_number: str) -> str | None:
    """A file bearing `doc_number` that no approval recorded (left by an interrupted approval)."""
    on_disk = sorted(folder.glob(f"{doc_number}*")) if folder.is_dir() else []
    if on_disk:
        return on_disk[0].name
    return cat.active_path_containing(doc_number)


def approve(
    settings: Settings,
    cat: Catalogue,
    reconciler: Reconciler,
    draft_id: int,
    *,
    by: str,
    ref: str = "",
    today: datetime.date,
    number: int | None = None,
    seen_sha256: str | None = None,
) -> Draft:
    """Record the bureau's approval: a 发文字号, the final made from the approved 送审稿 file, filed.

    ``number``: the serial the bureau's own document system gave (checked for form and reuse; the
    counter is raised past it), else the next of the one sequence per (代字, year) on this server.
    ``seen_sha256``: the 送审稿 the approver looked at (the web page sends it); a draft submitted again
    since is refused, so nobody approves a text they have not seen.

    Two stages, and why. (1) One ``BEGIN IMMEDIATE`` transaction checks the state and the 送审稿 (it must
    be the file submitted, byte for byte), takes the number, writes the final — the approved file with
    the number filled in and the 送审稿 mark removed (``archive.draftfile.finalize``) — to a hidden
    ``.tmp`` (ignored by the folder convention), and records the decision, both hashes and its
    ``draft.approve`` entry; COMMIT. The write lock serialises approvals across processes, so two
    approvals of one draft at once give one approval and one refusal, and racing approvals never share a
    number; any failure rolls the counter back and removes the staged file. (2) Only then does the final
    appear in the center's folder and is it catalogued (`file_final`: a 通知 as 通知, a 请示 as the center's own 其他). An approval whose final
    is not yet filed (a kill or a full disk during stage 2) is finished by the next `finish_approvals`.
    """
    if not by.strip():
        raise InputFileError("请用 --by 写明批准人或批准机关，例如“县卫生健康局医政科”。")
    if number is not None and not 1 <= number <= MAX_SERIAL:
        raise InputFileError(f"发文字号的序号应是 1 到 {MAX_SERIAL} 的整数：{number}")
    finish_approvals(settings, cat, reconciler)
    store = ObjectStore(settings.system_dir)
    staged: Path | None = None
    try:
        with cat.transaction():
            draft = get_draft(cat, draft_id)
            if draft.state != DraftState.SUBMITTED:
                raise ConflictError(
                    f"草稿 {draft_id} 的状态是“{draft.state.label}”，不能批准"
                    + (
                        "（可能刚被另一位审批人处理）。"
                        if draft.state != DraftState.DRAFT
                        else "（尚未送审）。"
                    ),
                    hint="只有送审中的草稿可以批准；已退回的草稿由秘书修改后重新送审。",
                )
            approved = _submitted_file(settings, draft)
            if seen_sha256 is not None and seen_sha256 != draftfile.sha256(approved):
                raise ConflictError(
                    f"草稿 {draft_id} 在你查看之后重新送审了，内容已变，没有批准。",
                    hint="请重新打开这份草稿，看过新的送审稿后再批准。",
                )
            content = draft.content
            # The sequence of whoever issues it: the bureau's for a 通知, the center's own for a 请示.
            year, prefix = content.spec.year, content.spec.doc_prefix
            if number is None:
                number = cat.next_doc_number(prefix, year)
            else:
                taken = catalogued_number(content, number)
                if cat.doc_number_taken(taken):
                    raise ConflictError(
                        f"发文字号 {taken} 已经用过（另一份已批准的公文），没有批准。",
                        hint="请核对卫健局发文登记，填写未用过的序号；不填则按本系统的顺序自动编号。",
                    )
                cat.raise_doc_number(prefix, year, number)
            doc_number = catalogued_number(content, number)
            final = _final_path(settings, draft, doc_number, year)
            stray = _stray_with_number(cat, final.parent, doc_number)
            if stray:
                # Not made by an approval (a final appears only after its approval commits): someone
                # put a document under a number the bureau has not given yet.
                raise ConflictError(
                    f"已有文件使用发文字号 {doc_number}，但没有批准记录：{stray}",
                    hint="请核实该文件的来历，移走或删除后再批准。",
                )
            if final.exists():
                raise ConflictError(
                    f"归档位置已有同名文件：{final.relative_to(settings.root)}",
                    hint="请先移走该文件（它不是这份草稿批准后生成的）再批准。",
                )
            made = draftfile.finalize(approved, number_line(content, None), number_line(content, number))
            final.parent.mkdir(parents=True, exist_ok=True)
            staged = _staged(final)
            _write_atomic(staged, made)
            approved_sha = _preserve(store, approved)
            spec = replace(content.spec, number=number, draft=False)
            rel = final.relative_to(settings.root).as_posix()
            try:
                cat.record_draft_approval(
                    draft_id,
                    state=DraftState.APPROVED.value,
                    spec=replace(content, spec=spec).to_json(),
                    final_path=rel,
                    doc_number=doc_number,
                    year=year,
                    number=number,
                    decided_at=now_iso(),
                    decided_by=by.strip(),
                    ref=ref.strip() or None,
                    approved_sha256=approved_sha,
                    final_sha256=draftfile.sha256(made),
                )
            except sqlite3.IntegrityError as exc:  # the unique index on doc_number: never issue twice
                raise ConflictError(
                    f"发文字号 {doc_number} 已被另一份公文使用，没有批准。",
                    hint="发文字号登记与已批准的公文不一致，请报告管理员检查 .zhikong/catalogue.sqlite。",
                ) from exc
            audit.append(
                cat,
                "draft.approve",
                center=draft.center,
                path=rel,
                draft=draft_id,
                doc_number=doc_number,
                by=by.strip(),
                ref=ref.strip(),
                approved_sha256=approved_sha,
                final_sha256=draftfile.sha256(made),
                number_given=number is not None,
            )
    except BaseException:
        if staged is not None:
            staged.unlink(missing_ok=True)
        raise
    return file_final(settings, cat, reconciler, get_draft(cat, draft_id))


def _submitted_file(settings: Settings, draft: Draft) -> bytes:
    """The 送审稿 as it was submitted: refused if the file changed since (edited outside the system)."""
    if not draft.draft_path:
        raise NotFound(f"草稿 {draft.id} 没有送审稿文件。")
    path = settings.root / draft.draft_path
    try:
        data = draftfile.read_limited(path)
    except FileNotFoundError:
        raise NotFound(
            f"草稿 {draft.id} 的送审稿文件不见了：{draft.draft_path}",
            hint="请秘书重新上传送审稿（zhikong draft upload 或网页上的“上传修改稿”）。",
        ) from None
    if draft.submitted_sha256 and draftfile.sha256(data) != draft.submitted_sha256:
        raise ConflictError(
            f"草稿 {draft.id} 的送审稿在送审后被改动过（与送审时的校验和不符），没有批准。",
            hint="修改过的送审稿须经“上传修改稿”重新送审，审批人看过后再批准。",
        )
    return data


def _preserve(store: ObjectStore, data: bytes) -> str:
    tmp = store.tmp / f"draft-{os.getpid()}-{draftfile.sha256(data)[:16]}"
    store.tmp.mkdir(parents=True, exist_ok=True)
    tmp.write_bytes(data)
    try:
        return store.add_file(tmp).sha256
    finally:
        tmp.unlink(missing_ok=True)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def upload_draft(
    settings: Settings, cat: Catalogue, draft_id: int, data: bytes, *, name: str
) -> tuple[Draft, list[Problem]]:
    """An edited 送审稿 (from Word or WPS) as the draft's new content.

    Checked against the current one (`archive.draftfile.check_edited`): it must be this draft's, keep
    the red head, the blank 发文字号 line, the 送审稿 mark and the page setup. When it passes, it
    replaces the 送审稿 file (atomically), is preserved, and the draft is submitted again unless it
    is still being prepared (草稿); a returned draft uploaded again is thereby resubmitted. Returns the
    draft and the problems (none: accepted; some: nothing changed).
    """
    draft = get_draft(cat, draft_id)
    if draft.state not in (DraftState.DRAFT, DraftState.SUBMITTED, DraftState.REJECTED):
        raise ConflictError(f"草稿 {draft_id} 已{draft.state.label}，不能再上传修改稿。")
    if not draft.draft_path:
        raise NotFound(f"草稿 {draft_id} 没有送审稿文件。")
    path = settings.root / draft.draft_path
    original = draftfile.read_limited(path)
    problems = draftfile.check_edited(original, data, draft_id=draft_id, title=draft.title, name=name)
    if problems:
        return draft, problems
    title = draftfile.edited_title(data) or draft.title
    state = DraftState.DRAFT if draft.state == DraftState.DRAFT else DraftState.SUBMITTED
    sha = _preserve(ObjectStore(settings.system_dir), data)
    with cat.transaction():
        current = get_draft(cat, draft_id)
        if current.state != draft.state:
            raise ConflictError(f"草稿 {draft_id} 刚刚被处理（{current.state.label}），修改稿没有保存。")
        _write_atomic(path, data)
        cat.set_draft_file(
            draft_id,
            title=title,
            state=state.value,
            submitted_sha256=sha if state == DraftState.SUBMITTED else None,
        )
        audit.append(
            cat,
            "draft.upload",
            center=draft.center,
            path=draft.draft_path,
            draft=draft_id,
            sha256=sha,
            name=name,
        )
    return get_draft(cat, draft_id), []


def submit(settings: Settings, cat: Catalogue, draft_id: int) -> Draft:
    """Send a draft being prepared (草稿) to the bureau: its 送审稿 as it is now is what will be approved."""
    with cat.transaction():
        draft = get_draft(cat, draft_id)
        if draft.state not in (DraftState.DRAFT, DraftState.REJECTED):
            raise ConflictError(f"草稿 {draft_id} 的状态是“{draft.state.label}”，不需要再送审。")
        if not draft.draft_path:
            raise NotFound(f"草稿 {draft_id} 没有送审稿文件。")
        data = draftfile.read_limited(settings.root / draft.draft_path)
        sha = _preserve(ObjectStore(settings.system_dir), data)
        cat.set_draft_file(
            draft_id, title=draft.title, state=DraftState.SUBMITTED.value, submitted_sha256=sha
        )
        audit.append(
            cat, "draft.submit", center=draft.center, path=draft.draft_path, draft=draft_id, sha256=sha
        )
    return get_draft(cat, draft_id)


def file_final(settings: Settings, cat: Catalogue, reconciler: Reconciler, draft: Draft) -> Draft:
    """Stage 2 of an approval: put the final in the center's folder and catalogue it (FINAL_CATEGORY).

    Safe to run again after any interruption: a final already in place is adopted as it is, a staged
    one is renamed into place, and a missing one is made again from the approved file (preserved), or,
    for an approval recorded before approved files were kept, rendered from the approved content.
    """
    assert draft.final_path and draft.doc_number
    final = settings.root / draft.final_path
    if not final.exists():
        staged = _staged(final)
        if not staged.exists():
            final.parent.mkdir(parents=True, exist_ok=True)
            store = ObjectStore(settings.system_dir)
            if draft.approved_sha256 and store.has(draft.approved_sha256):
                approved = store.path_of(draft.approved_sha256).read_bytes()
                made = draftfile.finalize(
                    approved, number_line(draft.content, None), number_line(draft.content, draft.number)
                )
                _write_atomic(staged, made)
            else:
                render_notice(draft.content.spec, staged, fonts=settings.document_fonts)
        os.replace(staged, final)
    placed = _file_attachments(settings, draft, final)
    with cat.transaction():
        record_id = _catalogue_final(
            cat, reconciler, settings, final, draft.final_path, draft.doc_number, draft.content.spec
        )
        cat.set_draft_record(draft.id, record_id)
    if placed:
        reconciler.reconcile(placed)  # the attachments: catalogued like any file of that folder
    reconciler.index_records([record_id])  # committed now: searchable at once
    return get_draft(cat, draft.id)


def _file_attachments(settings: Settings, draft: Draft, final: Path) -> list[Path]:
    """The draft's attachment files beside the final, named "<发文字号> 附件1 名称.ext" (already placed
    ones, after an interruption, are left as they are)."""
    placed = []
    for source in attachment_files(settings, draft):
        target = final.with_name(
            fit_file_name(source.stem, head=f"{draft.doc_number} ", tail=source.suffix, folder=final.parent)
        )
        if not target.exists():
            _write_atomic(target, source.read_bytes())
        placed.append(target)
    return placed


def finish_approvals(settings: Settings, cat: Catalogue, reconciler: Reconciler) -> list[Draft]:
    """File the finals of approvals that were committed but not filed (the process was killed or the
    disk was full in between). Returns the drafts finished."""
    pending = [get_draft(cat, int(row["id"])) for row in cat.approved_unfiled_drafts()]
    return [file_final(settings, cat, reconciler, d) for d in pending]


def _staged(final: Path) -> Path:
    return final.with_name(f".{final.stem}.docx.tmp")


def reject(cat: Catalogue, draft_id: int, *, by: str, reason: str) -> Draft:
    """Record the bureau's refusal with its reason; the draft keeps no number."""
    if not reason.strip():
        raise InputFileError("请用 --reason 写明退回原因。")
    with cat.transaction():
        draft = get_draft(cat, draft_id)
        if draft.state != DraftState.SUBMITTED:
            raise ConflictError(f"草稿 {draft_id} 的状态是“{draft.state.label}”，不能退回。")
        cat.record_draft_rejection(
            draft_id,
            state=DraftState.REJECTED.value,
            decided_at=now_iso(),
            decided_by=by.strip() or None,
            reason=reason.strip(),
        )
        audit.append(
            cat,
            "draft.reject",
            center=draft.center,
            path=draft.draft_path,
            draft=draft_id,
            by=by.strip(),
            reason=reason.strip(),
        )
    return get_draft(cat, draft_id)


def mark_issued(cat: Catalogue, draft_id: int, *, on: datetime.date) -> Draft:
    """Record that the approved document was printed and sent out (印发)."""
    with cat.transaction():
        draft = get_draft(cat, draft_id)
        if draft.state != DraftState.APPROVED:
            raise ConflictError(
                f"草稿 {draft_id} 的状态是“{draft.state.label}”，不能登记印发。",
                hint="批准并编发文字号之后才能印发。",
            )
        cat.set_draft_state(draft_id, DraftState.ISSUED.value)
        audit.append(
            cat,
            "draft.issue",
            center=draft.center,
            path=draft.final_path,
            draft=draft_id,
            doc_number=draft.doc_number,
            on=on.isoformat(),
        )
    return get_draft(cat, draft_id)


def _final_path(settings: Settings, draft: Draft, doc_number: str, year: int) -> Path:
    """``<center>/<year>/发文/`` or the activity's folder; the name leads with the 发文字号."""
    activity = draft.content.activity
    folder = settings.root / draft.center
    folder = folder / activity[:4] / activity if activity else folder / str(year) / FINAL_FOLDER
    return folder / fit_file_name(draft.title, head=f"{doc_number} ", tail=".docx", folder=folder)


def _catalogue_final(
    cat: Catalogue,
    reconciler: Reconciler,
    settings: Settings,
    final: Path,
    rel: str,
    doc_number: str,
    spec: NoticeSpec,
) -> int:
    """Catalogue the final like a dropped file, then record what only the approval knows."""
    report = reconciler.reconcile([final])
    for error in report.errors:
        raise InputFileError(f"批准后的公文无法登记：{error.path}：{error.message}")
    record = cat.find_by_path(rel, include_deleted=False)
    if record is None:
        raise InputFileError(f"批准后的公文没有登记进目录：{rel}")
    category = FINAL_CATEGORY.get(spec.kind, NOTICE_CATEGORY)
    if record.category != category:
        # A title such as “关于印发…工作计划的通知” names another category; the approval knows better.
        record = set_classification(
            cat, record, Reclassification(category=category), centers=settings.center_names()
        )
        reconciler.index_records([record.id])
    cat.set_document_details(
        record.id, doc_number=doc_number, responsible=spec.signer, doc_date=spec.date.isoformat()
    )
    return record.id


def _draft(row: Mapping[str, Any]) -> Draft:
    return Draft(
        id=row["id"],
        center=row["center"],
        kind=row["kind"],
        title=row["title"],
        state=DraftState(row["state"]),
        content=DraftContent.from_json(row["spec"]),
        draft_path=row["draft_path"],
        final_path=row["final_path"],
        doc_number=row["doc_number"],
        year=row["year"],
        number=row["number"],
        created_at=row["created_at"],
        decided_at=row["decided_at"],
        decided_by=row["decided_by"],
        ref=row["ref"],
        reason=row["reason"],
        record_id=row["record_id"],
        submitted_sha256=row["submitted_sha256"],
        approved_sha256=row["approved_sha256"],
        final_sha256=row["final_sha256"],
    )
