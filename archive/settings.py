"""`zhikong.toml`: finding the archive root, reading the settings, and editing them without losing comments.

The file belongs to the secretary as much as to us: it is written with Chinese comments and edited with
tomlkit, so a comment the user added survives `zhikong center add`.
"""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from zhikong.errors import ArchiveNotFound, ConflictError, SettingsError
from zhikong.generator.docnumber import check_prefix
from zhikong.private import private_dir
from zhikong.textcheck import strip_unsafe, unsafe_characters

SETTINGS_FILE = "zhikong.toml"
SYSTEM_DIR = ".zhikong"
INBOX = "收件箱"
# 送审稿 (drafts awaiting approval) live here, outside every center: they are not records until approved.
DRAFTS_FOLDER = "送审稿"
STANDING_FOLDERS = ("工作计划", "工作总结", "质控标准")

# Retention (保管期限) per record category, DA/T 22-2015 codes: Y 永久, D30 定期30年, D10 定期10年.
DEFAULT_RETENTION: dict[str, str] = {
    "工作计划": "D30",
    "总结": "D30",
    "标准文件": "Y",
    "通知": "D30",
    "会议纪要": "D30",
    "督查记录": "D30",
    "反馈意见": "D30",
    "整改报告": "D30",
    "签到表": "D10",
    "课件": "D10",
    "其他": "D10",
}

_CODE_RE = re.compile(r"^[A-Z]{1,6}$")
DOCUMENT_FONTS = ("gb2312", "windows")  # the font profiles of generator.gbt9704.FONT_PROFILES


@dataclass(frozen=True)
class Roster:
    director: str = ""
    deputies: tuple[str, ...] = ()
    secretary: str = ""
    members: tuple[str, ...] = ()
    term_start: str = ""  # YYYY-MM-DD of the current term
    consecutive_terms: int = 1


REQUEST_HEADS = {"center": "中心", "host": "挂靠单位"}


@dataclass(frozen=True)
class Center:
    name: str
    code: str
    host: str
    roster: Roster = field(default_factory=Roster)
    # The center's own documents (请示 to the bureau): its full name as 发文机关, its 发文机关代字 and its
    # own number sequence (金护质控〔2026〕1号), and whose name heads them: the center's or its host's.
    full_name: str = ""
    doc_prefix: str = ""
    request_head: str = "center"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "code": self.code,
            "host": self.host,
            "roster": vars(self.roster),
            "full_name": self.full_name,
            "doc_prefix": self.doc_prefix,
            "request_head": self.request_head,
        }


@dataclass(frozen=True)
class Settings:
    root: Path
    county: str
    bureau: str
    doc_prefix: str
    fonds: str
    rules: str = "jinxiang-2026"
    centers: tuple[Center, ...] = ()
    retention: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_RETENTION))
    synonyms: str = ""  # a user's synonym list for search, relative to the root; "" = the shipped list
    remind_days: int = 30  # zhikong check reminds of deadlines this many days ahead
    search_engine: str = "whoosh"  # [search] engine: "whoosh" (default) or "tantivy" (optional extra)
    # Font names in generated 公文: "gb2312" (仿宋_GB2312, 楷体_GB2312, 方正小标宋简体 — government PCs)
    # or "windows" (仿宋, 楷体, 黑体, 宋体 — a stock Chinese Windows); generator.gbt9704.FONT_PROFILES.
    document_fonts: str = "gb2312"

    @property
    def system_dir(self) -> Path:
        return self.root / SYSTEM_DIR

    @property
    def synonyms_path(self) -> Path | None:
        return self.root / self.synonyms if self.synonyms else None

    def center(self, name: str) -> Center:
        for c in self.centers:
            if c.name == name:
                return c
        known = "、".join(c.name for c in self.centers) or "（尚无）"
        raise SettingsError(
            f"未知的质控中心：{name}",
            hint=f"已登记的中心：{known}。用 zhikong center add 登记新中心。",
        )

    def center_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.centers)


def find_root(explicit: Path | None, env: Mapping[str, str], cwd: Path) -> Path:
    """The archive root: `--root`, else `ZHIKONG_ROOT`, else the nearest folder upwards with a zhikong.toml."""
    if explicit is not None:
        return _checked_root(explicit, "--root")
    if env.get("ZHIKONG_ROOT"):
        return _checked_root(Path(env["ZHIKONG_ROOT"]), "ZHIKONG_ROOT")
    for folder in (cwd, *cwd.parents):
        if (folder / SETTINGS_FILE).is_file():
            return folder
    raise ArchiveNotFound(
        f"在 {cwd} 及其上级目录中没有找到档案库（{SETTINGS_FILE}）。",
        hint="用 --root 指定档案库目录，或设置环境变量 ZHIKONG_ROOT，或先运行 zhikong init 新建档案库。",
    )


def _checked_root(path: Path, source: str) -> Path:
    path = path.expanduser().resolve()
    if not (path / SETTINGS_FILE).is_file():
        raise ArchiveNotFound(
            f"{source} 指向的目录 {path} 不是档案库：缺少 {SETTINGS_FILE}。",
            hint="检查路径是否正确，或先运行 zhikong init 新建档案库。",
        )
    return path


_TEMPLATE = """\
# 质控中心档案库设置（zhikong）
# 本文件可以用记事本编辑；以 # 开头的行是说明，不影响设置。
# 修改后无需重启，下一条 zhikong 命令即生效。

# 所在县（市、区）
county = ""
# 主管卫生健康行政部门（红头文件的发文机关）
bureau = ""
# 发文字号的代字，例如"金卫健字"，生成"金卫健字〔2026〕3号"
doc_prefix = ""
# 全宗号（档号的第一段），由档案部门分配
fonds = ""
# 考核规则集：jinxiang-2026（县级默认）或 hebei-province（省级四档）
rules = "jinxiang-2026"

# 检索用的同义词表（每行一组，如“院感 医院感染 感控”）；留空则用系统自带的词表
synonyms = ""

# zhikong check 提前多少天提醒将到期的事项（半年总结、年度总结、季度病例抽查、第二次工作会议、技能竞赛、整改期限）
remind_days = 30

# 公文字体："gb2312"（仿宋_GB2312、楷体_GB2312、方正小标宋简体，机关电脑常装）
# 或 "windows"（仿宋、楷体、黑体、宋体，Windows 自带）
fonts = "gb2312"

# 各类文件的保管期限：Y 永久，D30 定期30年，D10 定期10年
[retention]

# 每个质控中心一段 [[center]]，用 zhikong center add 添加
"""


def init_archive(root: Path, *, county: str, bureau: str, doc_prefix: str, fonds: str) -> Settings:
    """Create a new archive root: a commented zhikong.toml and the system folder."""
    problems = []
    for label, value in (
        ("县名", county),
        ("卫健局名称", bureau),
        ("发文代字", doc_prefix),
        ("全宗号", fonds),
    ):
        if not value.strip():
            problems.append(label)
    if problems:
        raise SettingsError(f"缺少设置：{'、'.join(problems)}。", hint="请用对应的选项填写后重试。")
    root = root.expanduser().resolve()
    if (root / SETTINGS_FILE).exists():
        raise ConflictError(f"{root} 已经是档案库（已有 {SETTINGS_FILE}），没有改动。")
    root.mkdir(parents=True, exist_ok=True)
    doc = tomlkit.parse(_TEMPLATE)
    doc["county"] = county
    doc["bureau"] = bureau
    doc["doc_prefix"] = doc_prefix
    doc["fonds"] = fonds
    retention = doc["retention"]
    assert isinstance(retention, dict)
    for category, code in DEFAULT_RETENTION.items():
        retention[category] = code
    private_dir(root / SYSTEM_DIR)  # the catalogue and index inside hold personal data: owner only
    (root / SYSTEM_DIR / "logs").mkdir(parents=True, exist_ok=True)
    _write(root, doc)
    return load_settings(root)


def load_settings(root: Path) -> Settings:
    """Read zhikong.toml, checking every value's type: a mistyped value is reported with its line,
    never silently converted (``deputies = "李红梅"`` is not three deputies, ``code = 12`` no code)."""
    doc = _read(root)
    data: dict[str, Any] = doc.unwrap()
    problems: list[str] = []
    for key in ("county", "bureau", "doc_prefix", "fonds"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            problems.append(f"缺少或为空：{key}")
    for key in ("rules", "synonyms"):
        if key in data and not isinstance(data[key], str):
            problems.append(f"{key} 应为加引号的文字：{key} = {data[key]!r}")
    centers: list[Center] = []
    seen: set[str] = set()
    codes: dict[str, str] = {}
    tables = data.get("center", [])
    if not isinstance(tables, list):
        problems.append("中心应写成 [[center]]（两层方括号），每个中心一段")
        tables = []
    lines = _LineFinder(doc.as_string())
    for i, raw in enumerate(tables):
        center, wrong = _center_from(raw, i, lines)
        problems += wrong
        if center is None:
            continue
        if center.name in seen:
            problems.append(f"中心重复登记：{center.name}")
        if center.code in codes:
            problems.append(f"中心代码 {center.code} 重复：{codes[center.code]}、{center.name}")
        seen.add(center.name)
        codes.setdefault(center.code, center.name)
        centers.append(center)
    retention = dict(DEFAULT_RETENTION)
    for category, code in (data.get("retention") or {}).items():
        if code not in ("Y", "D30", "D10"):
            problems.append(f"保管期限只能是 Y、D30 或 D10：{category} = {code}")
        else:
            retention[category] = code
    remind_days = data.get("remind_days", 30)
    if isinstance(remind_days, bool) or not isinstance(remind_days, int) or not 0 <= remind_days <= 366:
        problems.append(f"remind_days 应为 0 到 366 之间的天数（不加引号）：remind_days = {remind_days!r}")
        remind_days = 30
    synonyms = data.get("synonyms", "") or ""
    if synonyms and not (root / str(synonyms)).is_file():
        problems.append(f"同义词表不存在：{synonyms}（相对于档案库目录）")
    search = data.get("search") or {}
    engine = search.get("engine", "whoosh") if isinstance(search, dict) else None
    if engine not in ("whoosh", "tantivy"):
        problems.append(f'检索引擎只能是 "whoosh" 或 "tantivy"：[search] engine = {engine!r}')
    fonts = data.get("fonts", "gb2312")
    if fonts not in DOCUMENT_FONTS:
        problems.append(f'公文字体只能是 "gb2312" 或 "windows"：fonts = {fonts!r}')
    if problems:
        raise SettingsError(
            f"{root / SETTINGS_FILE} 有误：\n  - " + "\n  - ".join(problems),
            hint="用记事本打开该文件改正，或参照 README 的示例。",
        )
    return Settings(
        root=root,
        county=data["county"],
        bureau=data["bureau"],
        doc_prefix=data["doc_prefix"],
        fonds=data["fonds"],
        rules=str(data.get("rules", "jinxiang-2026")),
        centers=tuple(centers),
        retention=retention,
        synonyms=str(data.get("synonyms", "") or ""),
        remind_days=remind_days,
        search_engine=str(engine),
        document_fonts=str(fonts),
    )


class _LineFinder:
    """The line of a key inside the n-th [[center]] of zhikong.toml, for messages a secretary can act on."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers = [i for i, line in enumerate(self.lines) if re.match(r"\s*\[\[\s*center\s*\]\]", line)]

    def line(self, index: int, key: str | None = None) -> int | None:
        if index >= len(self.headers):
            return None
        start = self.headers[index]
        if key is None:
            return start + 1
        end = self.headers[index + 1] if index + 1 < len(self.headers) else len(self.lines)
        pattern = re.compile(rf"(^|[\s{{,]){re.escape(key)}\s*=")
        for number in range(start, end):
            if pattern.search(self.lines[number].split("#", 1)[0]):
                return number + 1
        return start + 1


def _center_from(raw: Any, index: int, lines: _LineFinder) -> tuple[Center | None, list[str]]:
    """The index-th [[center]] and every problem with it. Types are checked, not converted."""

    def where(key: str | None = None) -> str:
        line = lines.line(index, key.rsplit(".", 1)[-1] if key else None)
        at = f"第 {line} 行，" if line else ""
        named = f"（{raw['name']}）" if isinstance(raw, Mapping) and isinstance(raw.get("name"), str) else ""
        return f"{at}第 {index + 1} 个 [[center]]{named}" + (f" 的 {key}" if key else "")

    if not isinstance(raw, Mapping):
        return None, [f"{where()} 应是一段设置（name、code、host …）"]
    problems: list[str] = []

    def text(table: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> str:
        value = table.get(key, "")
        if not isinstance(value, str):
            problems.append(f'{where(path)} 应为加引号的文字，例如 {key} = "…"：现在是 {value!r}')
            return ""
        if required and not value.strip():
            problems.append(f"{where(path)} 缺少或为空")
        return value

    def names(table: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if isinstance(value, str):
            problems.append(
                f'{where(path)} 应是名单，例如 {key} = ["李红梅", "赵静"]：现在是一个字符串 {value!r}'
                "（会被当成每个字一个人）"
            )
            return ()
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            problems.append(f'{where(path)} 应是加引号的姓名组成的名单，例如 ["李红梅"]：现在是 {value!r}')
            return ()
        return tuple(value)

    name = text(raw, "name", "name", required=True)
    if name and (problem := center_name_problem(name)):
        problems.append(f"{where('name')}：{problem}")
    code = raw.get("code")
    if not isinstance(code, str) or not _CODE_RE.match(code):
        problems.append(
            f'{where("code")} 应为 1–6 个大写字母并加引号（用于档号），例如 code = "HL"：现在是 {code!r}'
        )
    host = text(raw, "host", "host")
    full_name = text(raw, "full_name", "full_name")
    doc_prefix = text(raw, "doc_prefix", "doc_prefix")
    request_head = text(raw, "request_head", "request_head") or "center"
    if request_head not in REQUEST_HEADS:
        problems.append(
            f'{where("request_head")} 应为 "center"（请示用中心的名称）或 "host"（用挂靠单位的名称）：现在是 {request_head!r}'
        )
    roster = raw.get("roster", {})
    if not isinstance(roster, Mapping):
        problems.append(f"{where('roster')} 应写成 [center.roster] 一段：现在是 {roster!r}")
        roster = {}
    terms = roster.get("consecutive_terms", 1)
    if isinstance(terms, bool) or not isinstance(terms, int) or not 1 <= terms <= 99:
        problems.append(
            f"{where('roster.consecutive_terms')} 应为不小于 1 的整数（连续任期数）：现在是 {terms!r}"
        )
        terms = 1
    center = Center(
        name=name,
        code=code if isinstance(code, str) else "",
        host=host,
        roster=Roster(
            director=text(roster, "director", "roster.director"),
            deputies=names(roster, "deputies", "roster.deputies"),
            secretary=text(roster, "secretary", "roster.secretary"),
            members=names(roster, "members", "roster.members"),
            term_start=_term_start(roster, text),
            consecutive_terms=terms,
        ),
        full_name=full_name.strip(),
        doc_prefix=doc_prefix.strip(),
        request_head=request_head,
    )
    return (None if problems else center), problems


def _term_start(roster: Mapping[str, Any], text: Callable[..., str]) -> str:
    """``term_start = 2024-01-01`` (a TOML date, no quotes) is as good as the quoted form."""
    value = roster.get("term_start", "")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return text(roster, "term_start", "roster.term_start")


def center_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a center's name (it is a folder name), or None."""
    if not name.strip() or any(ch in name for ch in '/\\:*?"<>|'):
        return f'中心名称不能为空，也不能含有 / \\ : * ? " < > | 等字符：{strip_unsafe(name)!r}'
    unsafe = unsafe_characters(name)
    if unsafe:
        return f"中心名称含有看不见的字符：{'、'.join(unsafe)}"
    if name in (DRAFTS_FOLDER, SYSTEM_DIR, INBOX) or name.startswith("."):
        return f"“{name}”是系统保留的文件夹名，不能用作中心名称。"
    return None


def add_center(settings: Settings, center: Center, *, year: int) -> Settings:
    """Record a center in zhikong.toml (keeping the user's comments) and create its folders."""
    problem = center_name_problem(center.name)
    if problem:
        raise SettingsError(problem)
    if not _CODE_RE.match(center.code):
        raise SettingsError(
            f"中心代码应为 1–6 个大写字母（用于档号，例如 HL）：{center.code!r}",
        )
    if center.doc_prefix and (wrong := check_prefix(center.doc_prefix)):
        raise SettingsError("；".join(p.message for p in wrong))
    if center.name in settings.center_names():
        raise ConflictError(f"中心已经登记：{center.name}", hint="用 zhikong center list 查看已登记的中心。")
    if any(c.code == center.code for c in settings.centers):
        raise ConflictError(f"中心代码 {center.code} 已被其他中心使用。")
    doc = _read(settings.root)
    table = tomlkit.table()
    table["name"] = center.name
    table["code"] = center.code
    table["host"] = center.host
    for key, value in (("full_name", center.full_name), ("doc_prefix", center.doc_prefix)):
        if value:
            table[key] = value
    if center.request_head != "center":
        table["request_head"] = center.request_head
    roster = tomlkit.table()
    roster["director"] = center.roster.director
    roster["deputies"] = list(center.roster.deputies)
    roster["secretary"] = center.roster.secretary
    roster["members"] = list(center.roster.members)
    roster["term_start"] = center.roster.term_start
    roster["consecutive_terms"] = center.roster.consecutive_terms
    table["roster"] = roster
    if "center" not in doc:
        doc["center"] = tomlkit.aot()
    centers = doc["center"]
    assert isinstance(centers, list)
    centers.append(table)
    _write(settings.root, doc)
    folder = settings.root / center.name
    (folder / INBOX).mkdir(parents=True, exist_ok=True)
    for name in STANDING_FOLDERS:
        (folder / str(year) / name).mkdir(parents=True, exist_ok=True)
    return load_settings(settings.root)


def set_center_host(settings: Settings, name: str, host: str) -> Settings:
    """Change a center's 挂靠单位 in zhikong.toml (keeping the user's comments): a handover's last step."""
    settings.center(name)  # raises for an unknown center
    doc = _read(settings.root)
    for table in doc.get("center", []) or []:
        if table.get("name") == name:
            table["host"] = host
    _write(settings.root, doc)
    return load_settings(settings.root)


def read_settings_text(path: Path) -> str:
    """zhikong.toml as Notepad may have saved it: UTF-8 with or without a BOM, or the Chinese Windows
    "ANSI" encoding (GBK/GB18030). A settings file is rewritten as UTF-8 the next time zhikong saves it."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ArchiveNotFound(f"找不到设置文件 {path}。", hint="先运行 zhikong init 新建档案库。") from exc
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"{path} 既不是 UTF-8 也不是 GBK 编码，无法读取。", hint="用记事本打开，“另存为”时编码选 UTF-8。"
        ) from exc


def toml_problem(text: str, line: int | None) -> str:
    """A TOML syntax error in words a secretary can act on: the line, and the usual cause on it."""
    lines = text.splitlines()
    where = f"第 {line} 行" if line else "某一行"
    shown = lines[line - 1].strip() if line and 0 < line <= len(lines) else ""
    if any(q in shown for q in "“”‘’"):
        cause = '引号不能用中文引号“”，请改成英文引号 ""'
    elif "＝" in shown:
        cause = "等号须用英文（半角）的 ="
    elif shown.startswith("［") or "］" in shown:
        cause = "方括号须用英文（半角）的 [ ]"
    elif shown and "=" not in shown and not shown.startswith(("[", "#")):
        cause = "应写成“名称 = 值”，文字值加英文引号"
    else:
        cause = "格式不对：检查这一行的引号、方括号是否成对，文字值是否加了英文引号"
    return f"{where}：{cause}" + (f"（{shown[:60]}）" if shown else "")


def _read(root: Path) -> tomlkit.TOMLDocument:
    path = root / SETTINGS_FILE
    text = read_settings_text(path)
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        line = getattr(exc, "line", None)
        raise SettingsError(
            f"{path} 格式有误，{toml_problem(text, line if isinstance(line, int) else None)}",
            hint="用记事本打开 zhikong.toml 改正这一行后重试。",
        ) from exc


def _write(root: Path, doc: tomlkit.TOMLDocument) -> None:
    # Write to a temporary file and rename, so a crash never leaves half a settings file.
    path = root / SETTINGS_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(tomlkit.dumps(doc), encoding="utf-8")
    os.replace(tmp, path)
