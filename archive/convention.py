"""The folder convention of DOMAIN.md §3: which files to ignore, and where a record belongs.

Classification never guesses silently: every field records where it came from (`path`, `name`,
`content`, `manual`), and a file that cannot be placed gets a suggestion instead of being moved.
"""

from __future__ import annotations

import fnmatch
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from pathlib import PurePosixPath

from zhikong.archive.settings import DRAFTS_FOLDER, INBOX
from zhikong.errors import InputFileError

IGNORED_NAMES = (
    "~$*",
    ".~lock.*#",
    "*.tmp",
    "*.part",
    "*.crdownload",
    "Thumbs.db",
    "desktop.ini",
    ".DS_Store",
    "._*",
)
IGNORED_DIRS = ("__MACOSX",)


def is_ignored(rel: PurePosixPath) -> bool:
    """Office lock files, partial downloads, OS litter and the system's 送审稿 folder are never records."""
    if len(rel.parts) > 1 and rel.parts[0] == DRAFTS_FOLDER:
        return True
    if any(part in IGNORED_DIRS for part in rel.parts[:-1]):
        return True
    return any(fnmatch.fnmatchcase(rel.name, pat) for pat in IGNORED_NAMES)


class Source(StrEnum):
    PATH = "path"
    NAME = "name"
    CONTENT = "content"
    TYPE = "type"
    MANUAL = "manual"


class ActivityType(StrEnum):
    MEETING = "meeting"
    COMPETITION = "competition"
    EXCHANGE = "exchange"
    TRAINING = "training"
    CASE_REVIEW = "case_review"
    INSPECTION = "inspection"
    FOLLOW_UP = "follow_up"
    CAMPAIGN = "campaign"
    OTHER = "other"


# Order matters: the first keyword found wins (回头看 before 督查, so "督查回头看" is a follow-up).
ACTIVITY_KEYWORDS: tuple[tuple[ActivityType, tuple[str, ...]], ...] = (
    (ActivityType.FOLLOW_UP, ("回头看", "复查")),
    (ActivityType.MEETING, ("工作会议", "例会")),
    (ActivityType.COMPETITION, ("竞赛", "比赛")),
    (ActivityType.EXCHANGE, ("学术", "交流", "讲座")),
    (ActivityType.TRAINING, ("培训",)),
    (ActivityType.CASE_REVIEW, ("病例抽查", "质量评价")),
    (ActivityType.INSPECTION, ("督查", "督导", "检查", "现场指导")),
    (ActivityType.CAMPAIGN, ("专项行动",)),
)

CATEGORIES = (
    "通知",
    "签到表",
    "课件",
    "标准文件",
    "督查记录",
    "反馈意见",
    "整改报告",
    "总结",
    "会议纪要",
    "工作计划",
    "其他",
)
UNCLASSIFIED = "未归类"

# File-name keywords per category, most specific first (整改报告 before 总结/报告; 回头看记录 is an inspection record).
CATEGORY_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("签到表", ("签到",)),
    ("会议纪要", ("纪要", "会议记录")),
    ("整改报告", ("整改",)),
    ("反馈意见", ("反馈",)),
    ("督查记录", ("督查记录", "检查记录", "督导记录", "回头看", "抽查记录", "评价记录", "检查表", "督查表")),
    ("课件", ("课件", "讲义", "幻灯")),
    ("工作计划", ("计划", "方案")),
    ("总结", ("总结", "述职")),
    ("标准文件", ("标准", "制度", "规范", "指南", "流程")),
    ("通知", ("通知",)),
)

STANDING_CATEGORY = {"工作计划": "工作计划", "工作总结": "总结", "质控标准": "标准文件"}
TYPE_CATEGORY = {".ppt": "课件", ".pptx": "课件", ".dps": "课件"}

_ACTIVITY_DIR = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})\s*(.+)$")
_YEAR = re.compile(
    r"^((?:19|20)\d{2})\s*(?:年度?)?$"
)  # 2026/, also 2026年/ and 2026年度/ as people type them
# Activity folders as people type them: 2026-03-15, 2026-3-15, 2026.9.18, 2026_9_18, 2026年9月18日(号),
# 20260918, each followed by the name; 10月12日 院感督导 takes its year from the year folder above it.
_SEP = r"\s*[-.．_/]\s*"
_FOLDER_DATES = (
    re.compile(
        rf"^(?P<y>(?:19|20)\d{{2}}){_SEP}(?P<m>\d{{1,2}}){_SEP}(?P<d>\d{{1,2}})(?:\s*[日号])?(?P<rest>.*)$"
    ),
    re.compile(r"^(?P<y>(?:19|20)\d{2})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]?(?P<rest>.*)$"),
    re.compile(r"^(?P<y>(?:19|20)\d{2})(?P<m>\d{2})(?P<d>\d{2})(?P<rest>\D.*)$"),
    re.compile(r"^(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号](?P<rest>.*)$"),
)
_NAME_START = re.compile(r"^[\s\-_—、:：,，.]+")


@dataclass(frozen=True)
class FolderDate:
    """The date and name read from an activity folder's name; `year_from_folder` when the name had none."""

    name: str
    when: date | None  # None: the date as written does not exist (2026-02-30)
    year_from_folder: bool


def read_activity_folder(folder: str, year: int | None) -> FolderDate | None:
    """An activity folder's date and name in any of the forms people type, or None if it names no date.
    A name without a year (10月12日 院感督导) takes `year` (the year folder's); without one it is None."""
    written = folder.strip()
    text = unicodedata.normalize("NFKC", written)
    for pattern in _FOLDER_DATES:
        m = pattern.match(text)
        if not m:
            continue
        name = _NAME_START.sub("", m["rest"]).strip()
        if not name:
            return None
        if len(text) == len(written):  # the name as the folder writes it (full-width brackets kept)
            start = text.index(name, m.start("rest"))
            name = written[start : start + len(name)]
        given = m.groupdict().get("y")
        if given is None and year is None:
            return None
        y = int(given) if given else year
        assert y is not None
        try:
            when: date | None = date(y, int(m["m"]), int(m["d"]))
        except ValueError:
            when = None
        return FolderDate(name, when, given is None)
    return None


@dataclass(frozen=True)
class Classification:
    center: str | None = None
    center_by: Source | None = None
    year: int | None = None
    year_by: Source | None = None
    activity: str | None = None
    activity_date: date | None = None
    activity_type: ActivityType | None = None
    activity_by: Source | None = None
    category: str = UNCLASSIFIED
    category_by: Source | None = None
    suggestion: str | None = None

    @property
    def unclassified(self) -> bool:
        return self.center is None or self.year is None or self.category == UNCLASSIFIED


def parse_activity(text: str) -> tuple[str, date]:
    """An activity given by hand, "YYYY-MM-DD 名称", as (name, date); Chinese error if malformed."""
    m = _ACTIVITY_DIR.match(text.strip())
    if not m:
        raise InputFileError(
            f"活动应写成“YYYY-MM-DD 名称”：{text}", hint='例如 --activity "2026-03-15 第一次工作会议"'
        )
    try:
        return m[4].strip(), date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError as exc:
        raise InputFileError(f"活动日期无效：{text}") from exc


def check_category(category: str) -> str:
    if category not in CATEGORIES:
        raise InputFileError(f"未知的类别：{category}", hint="可选类别：" + "、".join(CATEGORIES))
    return category


def activity_type_of(name: str) -> ActivityType:
    for kind, words in ACTIVITY_KEYWORDS:
        if any(w in name for w in words):
            return kind
    return ActivityType.OTHER


def category_from_text(text: str) -> str | None:
    """The category a document's own text declares, judged from its title (first non-empty line)."""
    head = next((line.strip() for line in text.splitlines() if line.strip()), "")[:40]
    for category, words in CATEGORY_KEYWORDS:
        if any(w in head for w in words):
            return category
    return None


def classify(rel: PurePosixPath, centers: tuple[str, ...], text: str = "") -> Classification:
    """Place a record by its path, then its name, then its text, then its type."""
    parts = rel.parts
    result = Classification()
    hints: list[str] = []
    if len(parts) >= 2 and parts[0] in centers:
        result = replace(result, center=parts[0], center_by=Source.PATH)
    else:
        hints.append(
            "放入某个质控中心的文件夹（" + "、".join(centers) + "）" if centers else "先登记质控中心"
        )

    folders = parts[1:-1] if result.center else ()
    in_inbox = bool(folders) and folders[0] == INBOX
    year_folder = _YEAR.match(unicodedata.normalize("NFKC", folders[0])) if folders else None
    if year_folder:
        result = replace(result, year=int(year_folder[1]), year_by=Source.PATH)
    standing: str | None = None
    # An activity folder is looked for under the year folder, or right under the center when the secretary
    # left out the year folder (护理质控中心/2026-09-18 三季度病例抽查/): its date gives the year.
    for folder in folders[1:] if result.year is not None or in_inbox else folders:
        read = read_activity_folder(folder, result.year)
        if read is not None:
            if read.when is None:
                hints.append(f"文件夹名的问题：活动文件夹“{folder}”的日期不存在，应为“YYYY-MM-DD 名称”")
                continue
            when, name = read.when, read.name
            result = replace(
                result,
                activity=name,
                activity_date=when,
                activity_type=activity_type_of(name),
                activity_by=Source.PATH,
            )
            if result.year is None:
                result = replace(result, year=when.year, year_by=Source.PATH)
            break
        if folder in STANDING_CATEGORY:
            standing = STANDING_CATEGORY[folder]
    if result.center and result.year is None:
        hints.append(
            "移到“年度/活动”文件夹（例如 2026/2026-03-15 第一次工作会议/）"
            if in_inbox
            else "放入年度文件夹（例如 2026/）"
        )

    category, source = _category(rel, text, standing, placed=result.activity is not None)
    result = replace(result, category=category, category_by=source)
    if category == UNCLASSIFIED:
        hints.append(
            "文件名中写明类别（如 通知、签到表、课件、督查记录、反馈意见、整改报告、总结）或用 zhikong classify 指定"
        )
    if result.unclassified:
        result = replace(result, suggestion="；".join(hints) or None)
    return result


def _category(
    rel: PurePosixPath, text: str, standing: str | None, *, placed: bool
) -> tuple[str, Source | None]:
    stem = rel.stem
    weak = "标准文件"  # 制度/规范 also name the topic of courseware: type wins over these words
    for category, words in CATEGORY_KEYWORDS:
        if category != weak and any(w in stem for w in words):
            return category, Source.NAME
    if standing:
        return standing, Source.PATH
    by_type = TYPE_CATEGORY.get(rel.suffix.lower())
    if by_type:
        return by_type, Source.TYPE
    if any(w in stem for w in dict(CATEGORY_KEYWORDS)[weak]):
        return weak, Source.NAME
    from_text = category_from_text(text) if text else None
    if from_text:
        return from_text, Source.CONTENT
    if placed:
        # A photo or an odd file inside an activity folder belongs to that activity all the same.
        return "其他", Source.TYPE
    return UNCLASSIFIED, None
