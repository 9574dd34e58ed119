"""The catalogue: one SQLite database (WAL) under `.zhikong/`, with a schema version and migrations.

Every record ever seen stays in it: a vanished file becomes a `deleted` record, never a missing row.
Write methods take part in the caller's transaction (`with catalogue.transaction():`), so a batch of
ingests and their audit entries commit together or not at all — a `kill -9` mid-batch leaves the
catalogue as it was before the batch.
"""

from __future__ import annotations

import errno
import getpass
import json
import shutil
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from zhikong.archive.convention import ActivityType, Classification, Source
from zhikong.errors import Busy, NotFound, SettingsError, StorageError, ZhikongError
from zhikong.private import private_dir, private_file, tighten

DB_NAME = "catalogue.sqlite"
# A register's values (archive.meta): 题名, 日期, 责任者, 页数, 文号.
META_FIELDS = ("title", "doc_date", "responsible", "pages", "doc_number")
_META_SOURCES = ("document", "folder", "filename", "user")
T = TypeVar("T")

# Append only: a released migration is never edited, a new one is added at the end.
MIGRATIONS: tuple[str, ...] = (
    # 1: records, versions, extracted text and the audit log
    """
    CREATE TABLE records (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL,
        raw_path BLOB,
        state TEXT NOT NULL DEFAULT 'active',
        sha256 TEXT,
        size INTEGER,
        mtime_ns INTEGER,
        version INTEGER NOT NULL DEFAULT 1,
        center TEXT, center_by TEXT,
        year INTEGER, year_by TEXT,
        activity TEXT, activity_date TEXT, activity_type TEXT, activity_by TEXT,
        category TEXT NOT NULL DEFAULT '未归类', category_by TEXT,
        suggestion TEXT,
        title TEXT,
        extract_status TEXT, extract_reason TEXT,
        pii INTEGER NOT NULL DEFAULT 0,
        added_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        deleted_at TEXT
    );
    CREATE UNIQUE INDEX records_active_path ON records(path) WHERE state = 'active';
    CREATE INDEX records_sha ON records(sha256);
    CREATE INDEX records_center_year ON records(center, year);
    CREATE TABLE versions (
        record_id INTEGER NOT NULL REFERENCES records(id),
        version INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        path TEXT NOT NULL,
        ingested_at TEXT NOT NULL,
        PRIMARY KEY (record_id, version)
    );
    CREATE TABLE texts (
        record_id INTEGER PRIMARY KEY REFERENCES records(id),
        sha256 TEXT NOT NULL,
        text TEXT NOT NULL
    );
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        ts TEXT NOT NULL,
        action TEXT NOT NULL,
        center TEXT,
        path TEXT,
        detail TEXT NOT NULL,
        prev TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE problems (
        path TEXT PRIMARY KEY,
        message TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL
    );
    """,
    # 2: archival numbering (DA/T 22-2015) and the paper register
    """
    ALTER TABLE records ADD COLUMN kind TEXT NOT NULL DEFAULT 'electronic';
    ALTER TABLE records ADD COLUMN retention TEXT;
    ALTER TABLE records ADD COLUMN item_no INTEGER;
    ALTER TABLE records ADD COLUMN archival_code TEXT;
    ALTER TABLE records ADD COLUMN paper_box INTEGER;
    ALTER TABLE records ADD COLUMN paper_marked_at TEXT;
    ALTER TABLE records ADD COLUMN doc_number TEXT;
    ALTER TABLE records ADD COLUMN responsible TEXT;
    ALTER TABLE records ADD COLUMN pages INTEGER;
    ALTER TABLE records ADD COLUMN doc_date TEXT;
    ALTER TABLE records ADD COLUMN scan_of INTEGER REFERENCES records(id);
    CREATE UNIQUE INDEX records_item ON records(center, year, retention, item_no) WHERE item_no IS NOT NULL;
    CREATE UNIQUE INDEX records_archival_code ON records(archival_code) WHERE archival_code IS NOT NULL;
    CREATE TABLE boxes (
        center TEXT NOT NULL,
        year INTEGER NOT NULL,
        retention TEXT NOT NULL,
        box INTEGER NOT NULL,
        compiled_by TEXT, compiled_at TEXT,
        checked_by TEXT, checked_at TEXT,
        notes TEXT,
        PRIMARY KEY (center, year, retention, box)
    );
    """,
    # 3: handover: seals and changes of host institution
    """
    CREATE TABLE seals (
        id INTEGER PRIMARY KEY,
        center TEXT NOT NULL,
        sealed_at TEXT NOT NULL,
        to_host TEXT NOT NULL,
        bundle TEXT,
        released_at TEXT
    );
    CREATE TABLE host_changes (
        id INTEGER PRIMARY KEY,
        center TEXT NOT NULL,
        from_host TEXT,
        to_host TEXT NOT NULL,
        at TEXT NOT NULL,
        bundle_sha256 TEXT,
        note TEXT
    );
    """,
    # 4: official-document drafts, their approval, and 发文字号 sequences
    """
    CREATE TABLE drafts (
        id INTEGER PRIMARY KEY,
        center TEXT NOT NULL,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        state TEXT NOT NULL,
        spec TEXT NOT NULL,
        draft_path TEXT,
        final_path TEXT,
        doc_number TEXT,
        year INTEGER,
        number INTEGER,
        created_at TEXT NOT NULL,
        decided_at TEXT,
        decided_by TEXT,
        ref TEXT,
        reason TEXT,
        record_id INTEGER REFERENCES records(id)
    );
    CREATE UNIQUE INDEX drafts_number ON drafts(doc_number) WHERE doc_number IS NOT NULL;
    CREATE TABLE doc_numbers (
        prefix TEXT NOT NULL,
        year INTEGER NOT NULL,
        last INTEGER NOT NULL,
        PRIMARY KEY (prefix, year)
    );
    """,
    # 5: audit chains carried over from another archive by a handover import, kept verbatim
    """
    CREATE TABLE imported_audit (
        chain TEXT NOT NULL,
        seq INTEGER NOT NULL,
        ts TEXT, action TEXT, center TEXT, path TEXT, detail TEXT,
        prev TEXT NOT NULL,
        hash TEXT NOT NULL,
        redacted INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (chain, seq)
    );
    """,
    # 6: records whose index update failed (index busy or broken), retried by the next reconcile
    """
    CREATE TABLE index_pending (record_id INTEGER PRIMARY KEY REFERENCES records(id));
    """,
    # 7: who did it — the actor of every audit entry (NULL for the entries written before this version)
    """
    ALTER TABLE audit ADD COLUMN actor TEXT;
    ALTER TABLE imported_audit ADD COLUMN actor TEXT;
    """,
    # 8: any record by path (the unique index covers active records only)
    """
    CREATE INDEX records_path ON records(path);
    """,
    # 9: the index's bookkeeping, crash-proof: every change a search could see bumps the record's
    # revision (by trigger, so no write path can forget it); the revision the index last took is kept
    # beside it. A record whose two differ is missing from the index or stale there, whatever crash or
    # full disk came between catalogue and index. Replaces index_pending, whose records start unindexed.
    """
    ALTER TABLE records ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE records ADD COLUMN indexed_revision INTEGER;
    UPDATE records SET indexed_revision = 0
        WHERE kind = 'electronic' AND id NOT IN (SELECT record_id FROM index_pending);
    DELETE FROM index_pending;
    CREATE TRIGGER records_revision AFTER UPDATE OF
        path, state, center, year, activity, activity_date, activity_type, category, title, pii, doc_date,
        version, sha256 ON records
    BEGIN
        UPDATE records SET revision = revision + 1 WHERE id = NEW.id;
    END;
    CREATE TRIGGER texts_revision_insert AFTER INSERT ON texts
    BEGIN
        UPDATE records SET revision = revision + 1 WHERE id = NEW.record_id;
    END;
    CREATE TRIGGER texts_revision_update AFTER UPDATE ON texts
    BEGIN
        UPDATE records SET revision = revision + 1 WHERE id = NEW.record_id;
    END;
    CREATE INDEX records_unindexed ON records(id) WHERE indexed_revision IS NOT revision;
    """,
    # 10: what was approved is what is issued: the 送审稿's sha256 when submitted, the approved file's and
    # the final's (archive.draftfile); both files are kept among the preserved copies
    """
    ALTER TABLE drafts ADD COLUMN submitted_sha256 TEXT;
    ALTER TABLE drafts ADD COLUMN approved_sha256 TEXT;
    ALTER TABLE drafts ADD COLUMN final_sha256 TEXT;
    """,
    # 11: the bureau's grading of the annual assessment (archive.assessment): one score and note per
    # center, year and item of the scoring form, by whom and when (each change is also in the audit chain)
    """
    CREATE TABLE assessor_scores (
        center TEXT NOT NULL,
        year INTEGER NOT NULL,
        item INTEGER NOT NULL,
        score REAL NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        scored_by TEXT NOT NULL,
        scored_at TEXT NOT NULL,
        PRIMARY KEY (center, year, item)
    );
    """,
    # 12: totals kept as the records change (by trigger, so no write path can forget one): every scan and
    # every watched file reports the unclassified count, which a COUNT over the records made grow with the
    # whole archive (issue 19). A record is unclassified while active without a center, a year or a category.
    """
    CREATE TABLE totals (name TEXT PRIMARY KEY, n INTEGER NOT NULL);
    INSERT INTO totals (name, n) SELECT 'unclassified', COUNT(*) FROM records
        WHERE state = 'active' AND (center IS NULL OR year IS NULL OR category = '未归类');
    CREATE TRIGGER totals_unclassified_insert AFTER INSERT ON records
    BEGIN
        UPDATE totals SET n = n + (NEW.state = 'active'
            AND (NEW.center IS NULL OR NEW.year IS NULL OR NEW.category = '未归类'))
        WHERE name = 'unclassified';
    END;
    CREATE TRIGGER totals_unclassified_update AFTER UPDATE OF state, center, year, category ON records
    BEGIN
        UPDATE totals SET n = n
            + (NEW.state = 'active' AND (NEW.center IS NULL OR NEW.year IS NULL OR NEW.category = '未归类'))
            - (OLD.state = 'active' AND (OLD.center IS NULL OR OLD.year IS NULL OR OLD.category = '未归类'))
        WHERE name = 'unclassified';
    END;
    CREATE TRIGGER totals_unclassified_delete AFTER DELETE ON records
    BEGIN
        UPDATE totals SET n = n - (OLD.state = 'active'
            AND (OLD.center IS NULL OR OLD.year IS NULL OR OLD.category = '未归类'))
        WHERE name = 'unclassified';
    END;
    """,
    # 13: where each of a record's register values (题名, 日期, 责任者, 页数, 文号) came from — a JSON object
    # field → 'document' | 'folder' | 'filename' | 'user' — and the version (sha256) the derived ones were
    # read from (archive.meta). A 'user' value is never replaced by a derived one. Columns of the record,
    # so a handover carries them with it.
    """
    ALTER TABLE records ADD COLUMN meta_by TEXT;
    ALTER TABLE records ADD COLUMN meta_sha256 TEXT;
    """,
)


class RecordState(StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"


@dataclass(frozen=True)
class Record:
    id: int
    path: str
    state: RecordState
    sha256: str | None
    size: int | None
    mtime_ns: int | None
    version: int
    classification: Classification
    title: str | None
    extract_status: str | None
    extract_reason: str | None
    pii: bool
    added_at: str
    updated_at: str
    deleted_at: str | None
    raw_path: bytes | None = None
    kind: str = "electronic"  # 'electronic' | 'paper' (a paper-only item registered by hand)
    retention: str | None = None  # 保管期限 Y / D30 / D10
    item_no: int | None = None  # 件号
    archival_code: str | None = None  # 档号
    paper_box: int | None = None  # 盒号 of the paper original; None = not boxed
    paper_marked_at: str | None = None
    doc_number: str | None = None  # 文号
    responsible: str | None = None  # 责任者
    pages: int | None = None
    doc_date: str | None = None
    scan_of: int | None = None  # for a scan: the paper-only record it digitises
    revision: int = 0  # bumped by every change a search could see (see migration 9)

    @property
    def center(self) -> str | None:
        return self.classification.center

    @property
    def year(self) -> int | None:
        return self.classification.year

    @property
    def category(self) -> str:
        return self.classification.category

    def to_json(self) -> dict[str, Any]:
        c = self.classification
        return {
            "id": self.id,
            "path": self.path,
            "state": self.state.value,
            "center": c.center,
            "year": c.year,
            "activity": c.activity,
            "activity_date": c.activity_date.isoformat() if c.activity_date else None,
            "activity_type": c.activity_type.value if c.activity_type else None,
            "category": c.category,
            "classified_by": {
                "center": _v(c.center_by),
                "year": _v(c.year_by),
                "activity": _v(c.activity_by),
                "category": _v(c.category_by),
            },
            "suggestion": c.suggestion,
            "title": self.title,
            "sha256": self.sha256,
            "size": self.size,
            "version": self.version,
            "extract_status": self.extract_status,
            "extract_reason": self.extract_reason,
            "pii": self.pii,
            "added_at": self.added_at,
            "updated_at": self.updated_at,
            "deleted_at": self.deleted_at,
            "kind": self.kind,
            "retention": self.retention,
            "item_no": self.item_no,
            "archival_code": self.archival_code,
            "paper_box": self.paper_box,
            "doc_number": self.doc_number,
            "responsible": self.responsible,
            "pages": self.pages,
            "doc_date": self.doc_date,
        }


@dataclass(frozen=True)
class Version:
    record_id: int
    version: int
    sha256: str
    size: int
    mtime_ns: int
    path: str
    ingested_at: str


def _meta_by(text: str | None) -> dict[str, str]:
    """A record's meta_by column: field → source. Carried in by a handover, so read defensively: a damaged
    value only costs the sources."""
    try:
        found = json.loads(text) if text else {}
    except ValueError:
        return {}
    if not isinstance(found, dict):
        return {}
    return {k: v for k, v in found.items() if k in META_FIELDS and v in _META_SOURCES}


def _v(source: Source | None) -> str | None:
    return source.value if source else None


BUSY_TIMEOUT_S = 30.0


def open_database(path: Path, setup: Callable[[sqlite3.Connection], T]) -> T:
    """Open one of the archive's databases — owner only (zhikong.private: SQLite gives the -wal and -shm
    files the database's own mode, so it is made 0600 before SQLite creates it, and older ones are
    tightened), WAL, foreign keys — and run `setup` on it. Any failure closes it; SQLite and file-system
    failures (damaged, read-only, unreachable) become a Chinese StorageError saying how to recover."""
    conn: sqlite3.Connection | None = None
    try:
        private_dir(path.parent)
        private_file(path)
        for companion in ("-wal", "-shm"):
            tighten(path.with_name(path.name + companion))
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return setup(conn)
    except (sqlite3.Error, OSError) as exc:
        if conn is not None:
            conn.close()
        raise storage_error(exc, path) from exc
    except BaseException:
        if conn is not None:
            conn.close()
        raise


def _statements(script: str) -> Iterator[str]:
    """The SQL statements of a migration; a trigger's body holds semicolons of its own."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                yield pending.strip()
            pending = ""
    if pending.strip():
        yield pending.strip()


def os_user() -> str:
    """The operating-system user running this process: the actor of a command-line change."""
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):  # no login name (a service account, a container)
        return "未知用户"


def storage_error(exc: BaseException, path: Path | None) -> ZhikongError:
    """A Chinese error for an SQLite or file-system failure of the catalogue, saying how to recover."""
    where = str(path) if path else ".zhikong/catalogue.sqlite"
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return Busy(
            f"档案库正被另一个 zhikong 进程写入，等待 {BUSY_TIMEOUT_S:.0f} 秒仍未释放。",
            hint="稍后重试；若确认没有其他 zhikong（包括 zhikong watch）在运行，重试即可。",
        )
    if "full" in text or getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
        target = getattr(exc, "filename", None) or where
        return StorageError(
            f"磁盘已满，没有写入：{target}（磁盘只剩 {_free_space(Path(target))}）",
            hint="清理磁盘空间后重试；已登记的内容没有丢失（未完成的这一步已撤回），"
            "之后可运行 zhikong doctor --repair 清理中断留下的副本。",
        )
    if "disk i/o error" in text:
        return StorageError(
            f"磁盘读写出错，档案目录没有写入：{where}",
            hint="磁盘可能已满或有故障：检查磁盘后重试，然后运行 zhikong doctor 核对档案库。",
        )
    if "readonly" in text or "read-only" in text or isinstance(exc, PermissionError):
        return StorageError(
            f"档案目录不能写入（磁盘或文件夹只读，或没有写权限）：{where}",
            hint="请检查档案库所在磁盘是否只读、当前用户是否有写权限，然后重试。",
        )
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StorageError(
            f"档案目录数据库已损坏，无法打开：{where}",
            hint="先把整个 .zhikong 文件夹复制一份留存现场；再用最近的备份替换 catalogue.sqlite（连同同名的 -wal、-shm 文件）。"
            "没有备份时，可用 sqlite3 抢救：sqlite3 catalogue.sqlite .recover > 抢救.sql，并报告管理员。",
        )
    return StorageError(
        f"无法打开或写入档案目录：{where}（{exc}）",
        hint="请检查磁盘和文件权限；问题持续时请报告管理员。",
    )


def _free_space(path: Path) -> str:
    """How much the disk holding `path` has left, for a message (the nearest existing folder is asked)."""
    for folder in (path, *path.parents):
        if folder.exists():
            try:
                return f"{shutil.disk_usage(folder).free / 2**20:,.1f} MB"
            except OSError:
                break
    return "未知"


def now_iso() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


class Catalogue:
    """The records of one archive. Open with `Catalogue.open(system_dir, actor=…)`; close when done.

    One connection per Catalogue, used by one thread: a multi-threaded server opens one per request.
    `actor` is who makes the changes made through this connection; it goes into every audit entry.
    """

    def __init__(self, conn: sqlite3.Connection, actor: str) -> None:
        self.conn = conn
        self.actor = actor
        self._depth = 0

    @classmethod
    def open(cls, system_dir: Path, *, actor: str | None = None) -> Catalogue:
        def setup(conn: sqlite3.Connection) -> Catalogue:
            conn.execute("PRAGMA synchronous=NORMAL")
            cat = cls(conn, actor or os_user())
            cat._migrate()
            return cat

        return open_database(system_dir / DB_NAME, setup)

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Inside `transaction()`: a part that is undone alone if it raises (ROLLBACK TO), while the
        transaction goes on; the exception is re-raised for the caller to report."""
        assert self._depth, "a savepoint belongs inside transaction()"
        self.conn.execute("SAVEPOINT part")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK TO part")
            raise
        finally:
            self.conn.execute("RELEASE part")

    @property
    def in_transaction(self) -> bool:
        """Inside a `transaction()` block: what is written now is not committed yet."""
        return self._depth > 0

    def __enter__(self) -> Catalogue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -------------------------------------------------------------------------------------

    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        current = self.schema_version()
        if current > len(MIGRATIONS):
            raise SettingsError(
                f"档案库的数据格式（版本 {current}）比本程序新（支持到 {len(MIGRATIONS)}）。",
                hint="请升级 zhikong 后再打开此档案库（pip install -U zhikong）；不要用旧版本写入它。",
            )
        for number in range(current + 1, len(MIGRATIONS) + 1):
            with self.transaction():
                if self.schema_version() >= number:  # another process migrated while we waited
                    continue
                for statement in _statements(MIGRATIONS[number - 1]):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE … COMMIT; nested uses join the outer transaction. Rolls back and re-raises.

        BEGIN IMMEDIATE takes the write lock at once (waiting up to BUSY_TIMEOUT_S for another process
        to finish), so two processes never both read-then-write the same rows. A lock still held after
        that is a Chinese `Busy` error; SQLite errors (disk full, read-only, damaged) become
        `StorageError`s that say how to recover.
        """
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise storage_error(exc, None) from exc
        self._depth = 1
        try:
            yield
        except BaseException as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError):
                raise storage_error(exc, None) from exc
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise storage_error(exc, None) from exc
        finally:
            self._depth = 0

    # -- reading ------------------------------------------------------------------------------------

    def get(self, record_id: int) -> Record:
        row = self.conn.execute("SELECT * FROM records WHERE id = ?", (record_id,)).fetchone()
        if row is None:
            raise NotFound(f"没有编号为 {record_id} 的档案记录。")
        return _record(row)

    def find_by_path(self, path: str, *, include_deleted: bool = True) -> Record | None:
        """The active record at `path`, else (if asked) the most recently deleted one there."""
        # The active lookup alone uses the partial unique index on active paths: ingest asks it for every
        # new file inside its write transaction, where a table scan per file would be quadratic.
        row = self.conn.execute(
            "SELECT * FROM records WHERE path = ? AND state = 'active'", (path,)
        ).fetchone()
        if row is None and include_deleted:
            row = self.conn.execute(
                "SELECT * FROM records WHERE path = ? ORDER BY id DESC LIMIT 1", (path,)
            ).fetchone()
        return _record(row) if row is not None else None

    def records(
        self,
        *,
        center: str | None = None,
        year: int | None = None,
        category: str | None = None,
        state: str | None = None,
    ) -> list[Record]:
        clauses, args = [], []
        for column, value in (("center", center), ("year", year), ("category", category), ("state", state)):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        plain = self.conn.cursor()
        plain.row_factory = None  # tuples in `_COLUMNS` order: a check reads every record
        return [_record_of(r) for r in plain.execute(f"{_SELECT_RECORDS} {where} ORDER BY path, id", args)]

    def active_stats(self) -> dict[str, tuple[int, int, int, str]]:
        """path -> (id, size, mtime_ns, sha256) of every active record: what a scan compares against."""
        plain = self.conn.cursor()
        plain.row_factory = None  # tuples: a scan reads a row for every file of the archive
        rows = plain.execute(
            # Paper-only items (kind='paper') have no file: the folder scan must never mark them deleted.
            "SELECT path, id, size, mtime_ns, sha256 FROM records WHERE state = 'active' AND kind = 'electronic'"
        )
        return {r[0]: r[1:] for r in rows}

    def active_stats_under(self, scope: Iterable[str]) -> dict[str, tuple[int, int, int, str]]:
        """`active_stats` for only the records at or under the relative paths in `scope` (a watched
        file or folder): read through the index on active paths, so one event costs the same whatever
        the archive holds."""
        found: dict[str, tuple[int, int, int, str]] = {}
        for where, args in _at_or_under(scope):
            rows = self.conn.execute(
                "SELECT id, path, size, mtime_ns, sha256 FROM records"
                f" WHERE state = 'active' AND kind = 'electronic' AND {where}",
                args,
            )
            found.update((r[1], (r[0], r[2], r[3], r[4])) for r in rows)
        return found

    def versions(self, record_id: int) -> list[Version]:
        rows = self.conn.execute(
            "SELECT * FROM versions WHERE record_id = ? ORDER BY version", (record_id,)
        ).fetchall()
        return [Version(**dict(r)) for r in rows]

    def deleted_by_sha(self, sha256: str) -> Record | None:
        row = self.conn.execute(
            "SELECT * FROM records WHERE state = 'deleted' AND sha256 = ? ORDER BY id DESC LIMIT 1", (sha256,)
        ).fetchone()
        return _record(row) if row else None

    def text(self, record_id: int) -> str | None:
        row = self.conn.execute("SELECT text FROM texts WHERE record_id = ?", (record_id,)).fetchone()
        return row[0] if row else None

    def texts_of(self, record_ids: Iterable[int]) -> dict[int, str]:
        """The texts of `record_ids` that have one, in a query per thousand records, not one each."""
        ids = list(record_ids)
        found: dict[int, str] = {}
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            rows = self.conn.execute(
                f"SELECT record_id, text FROM texts WHERE record_id IN ({','.join('?' * len(chunk))})", chunk
            )
            found.update((r[0], r[1]) for r in rows)
        return found

    def texts(self) -> Iterator[tuple[Record, str]]:
        rows = self.conn.execute(
            "SELECT r.*, t.text AS body FROM records r JOIN texts t ON t.record_id = r.id ORDER BY r.id"
        )
        for row in rows:
            yield _record(row), row["body"]

    # -- writing (call inside `transaction()`) ------------------------------------------------------

    def add(
        self,
        *,
        path: str,
        raw_path: bytes | None,
        sha256: str,
        size: int,
        mtime_ns: int,
        classification: Classification,
    ) -> int:
        ts = now_iso()
        cur = self.conn.execute(
            """INSERT INTO records (path, raw_path, state, sha256, size, mtime_ns, version, added_at, updated_at)
               VALUES (?, ?, 'active', ?, ?, ?, 1, ?, ?)""",
            (path, raw_path, sha256, size, mtime_ns, ts, ts),
        )
        record_id = int(cur.lastrowid or 0)
        self.set_classification(record_id, classification)
        self._add_version(record_id, 1, sha256, size, mtime_ns, path, ts)
        return record_id

    def new_version(self, record_id: int, *, sha256: str, size: int, mtime_ns: int) -> int:
        rec = self.get(record_id)
        number = rec.version + 1
        ts = now_iso()
        self.conn.execute(
            "UPDATE records SET sha256 = ?, size = ?, mtime_ns = ?, version = ?, updated_at = ? WHERE id = ?",
            (sha256, size, mtime_ns, number, ts, record_id),
        )
        self._add_version(record_id, number, sha256, size, mtime_ns, rec.path, ts)
        return number

    def touch(self, record_id: int, *, size: int, mtime_ns: int) -> None:
        """Same content, new timestamp: remember the stat so the file is not read again."""
        self.conn.execute(
            "UPDATE records SET size = ?, mtime_ns = ? WHERE id = ?", (size, mtime_ns, record_id)
        )

    def move(self, record_id: int, *, path: str, raw_path: bytes | None, size: int, mtime_ns: int) -> None:
        self.conn.execute(
            """UPDATE records SET path = ?, raw_path = ?, state = 'active', size = ?, mtime_ns = ?,
               deleted_at = NULL, updated_at = ? WHERE id = ?""",
            (path, raw_path, size, mtime_ns, now_iso(), record_id),
        )

    def mark_deleted(self, record_id: int) -> None:
        ts = now_iso()
        self.conn.execute(
            "UPDATE records SET state = 'deleted', deleted_at = ?, updated_at = ? WHERE id = ?",
            (ts, ts, record_id),
        )

    def set_classification(self, record_id: int, c: Classification) -> None:
        self.conn.execute(
            """UPDATE records SET center = ?, center_by = ?, year = ?, year_by = ?, activity = ?,
               activity_date = ?, activity_type = ?, activity_by = ?, category = ?, category_by = ?,
               suggestion = ?, updated_at = ? WHERE id = ?""",
            (
                c.center,
                _v(c.center_by),
                c.year,
                _v(c.year_by),
                c.activity,
                c.activity_date.isoformat() if c.activity_date else None,
                c.activity_type.value if c.activity_type else None,
                _v(c.activity_by),
                c.category,
                _v(c.category_by),
                c.suggestion,
                now_iso(),
                record_id,
            ),
        )

    def set_text(
        self,
        record_id: int,
        *,
        sha256: str,
        text: str,
        status: str,
        reason: str | None,
        title: str | None,
        pii: bool,
    ) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO texts (record_id, sha256, text) VALUES (?, ?, ?)",
            (record_id, sha256, text),
        )
        # A title the user set, or one read from this very version for the register (archive.meta), is
        # better than the extractor's and stays; the register's values are read again from the new text
        # (meta_sha256 cleared: the expressions of one UPDATE all see the row as it was).
        self.conn.execute(
            """UPDATE records SET extract_status = :status, extract_reason = :reason, pii = :pii,
                   title = CASE WHEN NOT json_valid(meta_by) THEN :title
                       WHEN json_extract(meta_by, '$.title') = 'user'
                           OR (meta_sha256 = :sha AND json_extract(meta_by, '$.title') IS NOT NULL)
                       THEN title ELSE :title END,
                   meta_sha256 = NULL
               WHERE id = :id""",
            {
                "status": status,
                "reason": reason,
                "pii": int(pii),
                "sha": sha256,
                "title": title,
                "id": record_id,
            },
        )

    def _add_version(
        self, record_id: int, number: int, sha256: str, size: int, mtime_ns: int, path: str, ts: str
    ) -> None:
        self.conn.execute(
            "INSERT INTO versions (record_id, version, sha256, size, mtime_ns, path, ingested_at) VALUES (?,?,?,?,?,?,?)",
            (record_id, number, sha256, size, mtime_ns, path, ts),
        )

    def counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT state, COUNT(*) FROM records GROUP BY state").fetchall()
        return {r[0]: r[1] for r in rows}

    def unclassified_count(self) -> int:
        """Active records without a center, a year or a category: a total the catalogue keeps by trigger
        (migration 12), so reading it costs the same at 100 records and at 100,000."""
        row = self.conn.execute("SELECT n FROM totals WHERE name = 'unclassified'").fetchone()
        return int(row[0])

    def ids_to_reread(self, statuses: Iterable[str]) -> list[int]:
        """Active electronic records whose text reading ended in one of `statuses` (or never ran)."""
        wanted = list(statuses)
        marks = ",".join("?" * len(wanted))
        rows = self.conn.execute(
            f"""SELECT id FROM records WHERE state = 'active' AND kind = 'electronic'
                AND (extract_status IN ({marks}) OR extract_status IS NULL) ORDER BY id""",
            wanted,
        ).fetchall()
        return [int(r[0]) for r in rows]

    def texts_by_id(self) -> dict[int, str]:
        return {int(r[0]): r[1] for r in self.conn.execute("SELECT record_id, text FROM texts")}

    # -- the index's retry list and problems without a record (call inside `transaction()`) ---------

    def has_version_with(self, sha256: str) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM versions WHERE sha256 = ? LIMIT 1", (sha256,)).fetchone()
            is not None
        )

    def index_drift(self) -> list[int]:
        """Electronic records the search index has not taken in their current revision."""
        rows = self.conn.execute(
            "SELECT id FROM records WHERE indexed_revision IS NOT revision AND kind = 'electronic' ORDER BY id"
        )
        return [int(r[0]) for r in rows]

    def mark_indexed(self, revisions: Iterable[tuple[int, int]]) -> None:
        """(record id, revision) pairs the index has committed; call inside `transaction()`."""
        self.conn.executemany(
            "UPDATE records SET indexed_revision = ? WHERE id = ?", [(rev, rid) for rid, rev in revisions]
        )

    def electronic_count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM records WHERE kind = 'electronic'").fetchone()[0])

    def electronic_ids(self) -> set[int]:
        return {int(r[0]) for r in self.conn.execute("SELECT id FROM records WHERE kind = 'electronic'")}

    def set_problem(self, path: str, message: str) -> None:
        self.conn.execute(
            """INSERT INTO problems (path, message, first_seen, last_seen) VALUES (?, ?, datetime('now'), datetime('now'))
               ON CONFLICT(path) DO UPDATE SET message = excluded.message, last_seen = excluded.last_seen""",
            (path, message),
        )

    def problems(self) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self.conn.execute("SELECT path, message FROM problems ORDER BY path")]

    def problems_under(self, scope: Iterable[str]) -> list[tuple[str, str]]:
        """`problems` at or under the relative paths in `scope`."""
        found: dict[str, str] = {}
        for where, args in _at_or_under(scope):
            found.update(self.conn.execute(f"SELECT path, message FROM problems WHERE {where}", args))
        return sorted(found.items())

    def clear_problems(self, paths: Iterable[str]) -> None:
        self.conn.executemany("DELETE FROM problems WHERE path = ?", [(p,) for p in paths])

    # -- the audit chain (written only by archive.audit) -----------------------------------------------

    def audit_last(self) -> tuple[int, str] | None:
        row = self.conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def audit_insert(self, row: tuple[Any, ...]) -> None:
        self.conn.execute(
            "INSERT INTO audit (seq, ts, action, center, path, detail, prev, hash, actor) VALUES (?,?,?,?,?,?,?,?,?)",
            row,
        )

    def audit_rows(
        self, *, center: str | None = None, paths: tuple[str, ...] = ()
    ) -> list[tuple[int, str, str, str | None, str | None, str, str, str, str | None]]:
        """The chain in order; only `center`'s entries, or only those about `paths`, when given."""
        where, args = [], []
        if center:
            where.append("center = ?")
            args.append(center)
        if paths:
            where.append(f"path IN ({','.join('?' * len(paths))})")
            args += paths
        sql = "SELECT seq, ts, action, center, path, detail, prev, hash, actor FROM audit"
        sql += (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY seq"
        return [tuple(r) for r in self.conn.execute(sql, args)]

    def imported_audit_rows(self, chain: str | None = None) -> list[dict[str, Any]]:
        """The audit chains a handover carried in, kept verbatim (redacted entries: seq, prev, hash)."""
        sql = "SELECT * FROM imported_audit" + (" WHERE chain = ?" if chain else "") + " ORDER BY chain, seq"
        return [dict(r) for r in self.conn.execute(sql, (chain,) if chain else ())]

    def version_facts(self) -> list[tuple[int, int, str, str]]:
        """(record id, version, sha256, record kind) of every version ever catalogued: what `log verify`
        replays the audit chain against."""
        rows = self.conn.execute(
            """SELECT v.record_id, v.version, v.sha256, r.kind FROM versions v JOIN records r ON r.id = v.record_id
               ORDER BY v.record_id, v.version"""
        )
        return [(int(r[0]), int(r[1]), str(r[2]), str(r[3])) for r in rows]

    def imported_audit_counts(self) -> tuple[int, int]:
        """(number of chains, number of entries) carried in by handovers."""
        row = self.conn.execute("SELECT COUNT(DISTINCT chain), COUNT(*) FROM imported_audit").fetchone()
        return int(row[0]), int(row[1])

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- drafts, paper register, handover, evidence (tables reached only through these methods) --------
    #
    # The workflows that own these tables (archive.drafts, archive.paper, archive.numbering,
    # archive.evidence, archive.handover_*) hold no SQL: they call these. Writes take part in the
    # caller's `transaction()` like every other write method here.

    # drafts and their 发文字号 sequences (archive.drafts)

    def draft(self, draft_id: int) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM drafts WHERE id = ?", (draft_id,)).fetchone()
        return dict(row) if row else None

    def drafts(self, *, center: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
        """Draft rows in id order, of one center and in one state if given."""
        clauses, args = [], []
        if center is not None:
            clauses.append("center = ?")
            args.append(center)
        if state is not None:
            clauses.append("state = ?")
            args.append(state)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return [dict(r) for r in self.conn.execute(f"SELECT * FROM drafts {where} ORDER BY id", args)]

    def undecided_drafts(self, center: str) -> list[dict[str, Any]]:
        """Title and state of the center's drafts that are neither approved nor returned."""
        rows = self.conn.execute(
            "SELECT title, state FROM drafts WHERE center = ? AND decided_at IS NULL", (center,)
        )
        return [dict(r) for r in rows]

    def insert_draft(
        self, *, center: str, kind: str, title: str, state: str, spec: str, created_at: str
    ) -> int:
        cur = self.conn.execute(
            "INSERT INTO drafts (center, kind, title, state, spec, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (center, kind, title, state, spec, created_at),
        )
        return int(cur.lastrowid or 0)

    def set_draft_path(self, draft_id: int, path: str) -> None:
        self.conn.execute("UPDATE drafts SET draft_path = ? WHERE id = ?", (path, draft_id))

    def record_draft_approval(
        self,
        draft_id: int,
        *,
        state: str,
        spec: str,
        final_path: str,
        doc_number: str,
        year: int,
        number: int,
        decided_at: str,
        decided_by: str,
        ref: str | None,
        approved_sha256: str | None = None,
        final_sha256: str | None = None,
    ) -> None:
        """Raises sqlite3.IntegrityError when `doc_number` is already another draft's (its unique index)."""
        self.conn.execute(
            """UPDATE drafts SET state = ?, spec = ?, final_path = ?, doc_number = ?, year = ?,
               number = ?, decided_at = ?, decided_by = ?, ref = ?, approved_sha256 = ?, final_sha256 = ?
               WHERE id = ?""",
            (state, spec, final_path, doc_number, year, number, decided_at, decided_by, ref,
             approved_sha256, final_sha256, draft_id),
        )  # fmt: skip

    def set_draft_file(self, draft_id: int, *, title: str, state: str, submitted_sha256: str | None) -> None:
        """A new 送审稿 file for the draft (created, or an edited one uploaded): its title, state, hash."""
        self.conn.execute(
            "UPDATE drafts SET title = ?, state = ?, submitted_sha256 = ?, reason = NULL WHERE id = ?",
            (title, state, submitted_sha256, draft_id),
        )

    def draft_hashes(self) -> set[str]:
        """Every 送审稿 and approved file a draft names (kept among the preserved copies)."""
        rows = self.conn.execute("SELECT submitted_sha256, approved_sha256 FROM drafts")
        return {sha for row in rows for sha in row if sha}

    def doc_number_taken(self, doc_number: str) -> bool:
        row = self.conn.execute("SELECT 1 FROM drafts WHERE doc_number = ?", (doc_number,)).fetchone()
        return row is not None

    def record_draft_rejection(
        self, draft_id: int, *, state: str, decided_at: str, decided_by: str | None, reason: str
    ) -> None:
        self.conn.execute(
            "UPDATE drafts SET state = ?, decided_at = ?, decided_by = ?, reason = ? WHERE id = ?",
            (state, decided_at, decided_by, reason, draft_id),
        )

    def set_draft_state(self, draft_id: int, state: str) -> None:
        self.conn.execute("UPDATE drafts SET state = ? WHERE id = ?", (state, draft_id))

    def approved_unfiled_drafts(self) -> list[dict[str, Any]]:
        """Approved (or issued) drafts whose final is not catalogued yet: an approval interrupted after
        it committed."""
        rows = self.conn.execute(
            "SELECT * FROM drafts WHERE doc_number IS NOT NULL AND record_id IS NULL ORDER BY id"
        )
        return [dict(r) for r in rows]

    def set_draft_record(self, draft_id: int, record_id: int) -> None:
        self.conn.execute("UPDATE drafts SET record_id = ? WHERE id = ?", (record_id, draft_id))

    def draft_with_doc_number(self, doc_number: str) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM drafts WHERE doc_number = ?", (doc_number,)).fetchone()
            is not None
        )

    def draft_by_doc_number(self, doc_number: str) -> dict[str, Any] | None:
        """The draft that bears `doc_number`, if any (a handover checks a carried number against it)."""
        row = self.conn.execute("SELECT * FROM drafts WHERE doc_number = ?", (doc_number,)).fetchone()
        return dict(row) if row else None

    def next_doc_number(self, prefix: str, year: int) -> int:
        """Bump and return the counter for (代字, year). Call inside the approval's transaction."""
        row = self.conn.execute(
            """INSERT INTO doc_numbers (prefix, year, last) VALUES (?, ?, 1)
               ON CONFLICT(prefix, year) DO UPDATE SET last = last + 1
               RETURNING last""",
            (prefix, year),
        ).fetchone()
        return int(row[0])

    def raise_doc_number(self, prefix: str, year: int, last: int) -> None:
        """Make the counter for (代字, year) at least `last` (numbers issued elsewhere are not reissued)."""
        self.conn.execute(
            """INSERT INTO doc_numbers (prefix, year, last) VALUES (?, ?, ?)
               ON CONFLICT(prefix, year) DO UPDATE SET last = max(last, excluded.last)""",
            (prefix, year, last),
        )

    def doc_number_rows(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM doc_numbers ORDER BY prefix, year")]

    def active_path_containing(self, text: str) -> str | None:
        """The path of some active record whose path contains `text`."""
        row = self.conn.execute(
            "SELECT path FROM records WHERE state = 'active' AND instr(path, ?) > 0 LIMIT 1", (text,)
        ).fetchone()
        return str(row[0]) if row else None

    def set_document_details(
        self, record_id: int, *, doc_number: str, responsible: str, doc_date: str
    ) -> None:
        """文号, 责任者 and 日期 of an issued document: what only its approval knows."""
        self.conn.execute(
            "UPDATE records SET doc_number = ?, responsible = ?, doc_date = ? WHERE id = ?",
            (doc_number, responsible, doc_date, record_id),
        )

    def set_details(self, record_id: int, details: dict[str, Any]) -> None:
        """题名, 日期, 责任者, 页数 and 文号 as a user set them (`archive.manage.edit_details`): each marked as the
        user's in meta_by, so no derived value replaces it; a value cleared (None) is derived again."""
        columns = [k for k in META_FIELDS if k in details]
        if not columns:
            return
        sources, _ = self.meta_sources(record_id)
        for k in columns:
            if details[k] is None:
                sources.pop(k, None)
            else:
                sources[k] = "user"
        cleared = any(details[k] is None for k in columns)
        assignments = ", ".join(f"{k} = ?" for k in columns)
        self.conn.execute(
            f"""UPDATE records SET {assignments}, meta_by = ?, updated_at = ?,
                meta_sha256 = CASE WHEN ? THEN NULL ELSE meta_sha256 END WHERE id = ?""",
            [*(details[k] for k in columns), json.dumps(sources), now_iso(), cleared, record_id],
        )

    # the register's values and where each came from (archive.meta)

    def meta_sources(self, record_id: int) -> tuple[dict[str, str], str | None]:
        """Where each register value of the record came from (field → 'document', 'folder', 'filename',
        'user'), and the version (sha256) its derived values were read from (None: never derived)."""
        row = self.conn.execute(
            "SELECT meta_by, meta_sha256 FROM records WHERE id = ?", (record_id,)
        ).fetchone()
        if row is None:
            return {}, None
        return _meta_by(row[0]), row[1]

    def meta_sources_of(self, record_ids: Iterable[int]) -> dict[int, tuple[dict[str, str], str | None]]:
        """`meta_sources` of many records in one query per thousand (`zhikong ls --json`)."""
        ids = list(record_ids)
        found: dict[int, tuple[dict[str, str], str | None]] = {}
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            rows = self.conn.execute(
                f"SELECT id, meta_by, meta_sha256 FROM records WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            found.update((r[0], (_meta_by(r[1]), r[2])) for r in rows)
        return found

    def set_derived_meta(self, record_id: int, sha256: str, values: dict[str, tuple[Any, str]]) -> None:
        """The values derived from version `sha256` (field → (value, source)); a field the user set keeps
        the user's value. A field with neither keeps what it had (e.g. what an approval recorded)."""
        sources, _ = self.meta_sources(record_id)
        kept = {k: v for k, v in sources.items() if v == "user"}
        columns = [k for k in values if k in META_FIELDS and k not in kept]
        sources = {**kept, **{k: values[k][1] for k in columns}}
        assignments = "".join(f"{k} = ?, " for k in columns)
        self.conn.execute(
            f"UPDATE records SET {assignments}meta_by = ?, meta_sha256 = ? WHERE id = ?",
            [*(values[k][0] for k in columns), json.dumps(sources), sha256, record_id],
        )

    # the paper register and archival numbering (archive.paper, archive.numbering)

    def record_id_by_archival_code(self, archival_code: str) -> int | None:
        row = self.conn.execute("SELECT id FROM records WHERE archival_code = ?", (archival_code,)).fetchone()
        return int(row[0]) if row else None

    def archival_codes_in_use(self, codes: list[str]) -> list[str]:
        """Those of `codes` that some record here already bears."""
        marks = ",".join("?" * len(codes))
        rows = self.conn.execute(f"SELECT archival_code FROM records WHERE archival_code IN ({marks})", codes)
        return [r[0] for r in rows]

    def last_item_no(self, center: str, year: int, retention: str) -> int:
        """The highest 件号 given in (center, year, retention), 0 if none."""
        row = self.conn.execute(
            "SELECT COALESCE(MAX(item_no), 0) FROM records WHERE center = ? AND year = ? AND retention = ?",
            (center, year, retention),
        ).fetchone()
        return int(row[0])

    def set_archival_number(
        self, record_id: int, *, retention: str, item_no: int, archival_code: str
    ) -> None:
        """Number a record that has no 件号 yet; a record already numbered is left as it is."""
        self.conn.execute(
            "UPDATE records SET retention = ?, item_no = ?, archival_code = ? WHERE id = ? AND item_no IS NULL",
            (retention, item_no, archival_code, record_id),
        )

    def box_retention(self, center: str, year: int, box: int) -> str | None:
        row = self.conn.execute(
            "SELECT retention FROM boxes WHERE center = ? AND year = ? AND box = ?", (center, year, box)
        ).fetchone()
        return str(row[0]) if row else None

    def add_box(self, center: str, year: int, retention: str, box: int) -> None:
        self.conn.execute(
            "INSERT INTO boxes (center, year, retention, box) VALUES (?, ?, ?, ?)",
            (center, year, retention, box),
        )

    def box_rows(self, center: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT * FROM boxes WHERE center = ? ORDER BY year, retention, box", (center,)
        )
        return [dict(r) for r in rows]

    def box_record_ids(self, center: str, year: int, box: int) -> list[int]:
        """The active records planned into a box, in 件号 order."""
        rows = self.conn.execute(
            "SELECT id FROM records WHERE center = ? AND year = ? AND paper_box = ? AND state = 'active' "
            "ORDER BY item_no, id",
            (center, year, box),
        ).fetchall()
        return [int(r[0]) for r in rows]

    def plan_into_box(self, record_id: int, box: int) -> None:
        self.conn.execute("UPDATE records SET paper_box = ? WHERE id = ?", (box, record_id))

    def mark_paper_filed(self, record_id: int, *, box: int, at: str) -> None:
        self.conn.execute(
            "UPDATE records SET paper_box = ?, paper_marked_at = ? WHERE id = ?", (box, at, record_id)
        )

    def add_paper_item(
        self,
        *,
        center: str,
        year: int,
        activity: str | None,
        activity_date: str | None,
        activity_type: str | None,
        category: str,
        title: str,
        at: str,
        doc_number: str | None,
        responsible: str | None,
        pages: int | None,
        doc_date: str | None,
    ) -> int:
        """A paper-only item (kind 'paper'), classified by hand; its path is set once its id is known."""
        cur = self.conn.execute(
            """INSERT INTO records (path, state, kind, version, center, center_by, year, year_by, activity,
                   activity_date, activity_type, activity_by, category, category_by, title, added_at,
                   updated_at, doc_number, responsible, pages, doc_date)
               VALUES ('', 'active', 'paper', 1, ?, 'manual', ?, 'manual', ?, ?, ?, ?, ?, 'manual', ?, ?, ?, ?, ?,
                   ?, ?)""",
            (
                center,
                year,
                activity,
                activity_date,
                activity_type,
                "manual" if activity else None,
                category,
                title,
                at,
                at,
                doc_number,
                responsible,
                pages,
                doc_date,
            ),
        )
        return int(cur.lastrowid or 0)

    def set_path(self, record_id: int, path: str) -> None:
        self.conn.execute("UPDATE records SET path = ? WHERE id = ?", (path, record_id))

    def scan_path_of(self, paper_id: int, *, other_than: int) -> str | None:
        """The path of an active scan linked to the paper item, other than the record `other_than`."""
        row = self.conn.execute(
            "SELECT path FROM records WHERE scan_of = ? AND state = 'active' AND id != ?",
            (paper_id, other_than),
        ).fetchone()
        return str(row[0]) if row else None

    def link_scan(self, scan_id: int, paper_id: int) -> None:
        self.conn.execute(
            "UPDATE records SET scan_of = ?, updated_at = ? WHERE id = ?", (paper_id, now_iso(), scan_id)
        )

    def set_scan_of(self, record_id: int, paper_id: int) -> None:
        """Link a scan to its paper item as it stands (an import keeps the link's time as carried)."""
        self.conn.execute("UPDATE records SET scan_of = ? WHERE id = ?", (paper_id, record_id))

    def scanned_paper_ids(self) -> set[int]:
        """Paper-only items that have an active scan linked to them."""
        rows = self.conn.execute("SELECT scan_of FROM records WHERE scan_of IS NOT NULL AND state = 'active'")
        return {int(r[0]) for r in rows}

    # evidence for the scoring form (archive.evidence)

    def records_mentioning(self, center: str, year: int, words: list[str]) -> list[Record]:
        """Active records of a center-year whose file name, title or stored text contains any of `words`.

        The file name, not the whole path: a word in a folder name is not in the file.
        """
        name = "replace(r.path, rtrim(r.path, replace(r.path, '/', '')), '')"  # the part after the last "/"
        like = " OR ".join([f"{name} LIKE ? OR r.title LIKE ? OR t.text LIKE ?"] * len(words))
        args: list[object] = [center, year]
        for word in words:
            args += [f"%{word}%"] * 3
        rows = self.conn.execute(
            f"""SELECT r.id FROM records r LEFT JOIN texts t ON t.record_id = r.id
                WHERE r.state = 'active' AND r.center = ? AND r.year = ? AND ({like}) ORDER BY r.path""",
            args,
        ).fetchall()
        return [self.get(int(row[0])) for row in rows]

    # handover: seals, the rows a bundle carries, an import's inserts, host changes (archive.handover_*)

    def seals(self, center: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM seals" + (" WHERE center = ?" if center else "") + " ORDER BY id"
        return [dict(r) for r in self.conn.execute(sql, (center,) if center else ()).fetchall()]

    def add_seal(self, center: str, sealed_at: str, to_host: str) -> int:
        cur = self.conn.execute(
            "INSERT INTO seals (center, sealed_at, to_host) VALUES (?, ?, ?)", (center, sealed_at, to_host)
        )
        return int(cur.lastrowid or 0)

    def set_seal_bundle(self, seal_id: int, bundle: str) -> None:
        self.conn.execute("UPDATE seals SET bundle = ? WHERE id = ?", (bundle, seal_id))

    def release_seal(self, seal_id: int, released_at: str) -> None:
        self.conn.execute("UPDATE seals SET released_at = ? WHERE id = ?", (released_at, seal_id))

    def record_rows(self) -> list[dict[str, Any]]:
        """Every record row as stored (deleted and paper-only included), in id order."""
        return [dict(r) for r in self.conn.execute("SELECT * FROM records ORDER BY id").fetchall()]

    def version_rows(self, record_ids: list[int]) -> list[dict[str, Any]]:
        marks = ",".join("?" * len(record_ids))
        rows = self.conn.execute(
            f"SELECT * FROM versions WHERE record_id IN ({marks}) ORDER BY record_id, version", record_ids
        )
        return [dict(r) for r in rows]

    def text_rows(self, record_ids: list[int]) -> list[dict[str, Any]]:
        marks = ",".join("?" * len(record_ids))
        rows = self.conn.execute(
            f"SELECT * FROM texts WHERE record_id IN ({marks}) ORDER BY record_id", record_ids
        )
        return [dict(r) for r in rows]

    def audit_chain_rows(self) -> list[dict[str, Any]]:
        """The whole audit chain as stored (every column), in sequence: what a handover bundle carries."""
        return [dict(r) for r in self.conn.execute("SELECT * FROM audit ORDER BY seq")]

    def active_records_under(self, prefix: str) -> int:
        """How many active records have a path starting with `prefix`."""
        row = self.conn.execute(
            "SELECT COUNT(*) FROM records WHERE state = 'active' AND substr(path, 1, ?) = ?",
            (len(prefix), prefix),
        ).fetchone()
        return int(row[0])

    def insert_imported_records(self, rows: list[dict[str, Any]]) -> list[int]:
        """Record rows carried by a handover bundle, each with a new id (returned in order)."""
        return self._insert_known_columns("records", rows)

    def insert_imported_versions(self, rows: list[dict[str, Any]]) -> None:
        self._insert_known_columns("versions", rows)

    def insert_imported_draft(self, row: dict[str, Any]) -> int:
        return self._insert_known_columns("drafts", [row])[0]

    def replace_boxes(self, rows: list[dict[str, Any]]) -> None:
        """Each box row replaces the box of the same center, year, retention and number."""
        for b in rows:
            self.conn.execute(
                "DELETE FROM boxes WHERE center = ? AND year = ? AND retention = ? AND box = ?",
                (b["center"], b["year"], b["retention"], b["box"]),
            )
            self._insert_known_columns("boxes", [b])

    def store_text(self, record_id: int, sha256: str, text: str) -> None:
        """A record's extracted text alone (as carried by a bundle), without re-deriving its title."""
        self.conn.execute(
            "INSERT OR REPLACE INTO texts (record_id, sha256, text) VALUES (?, ?, ?)",
            (record_id, sha256, text),
        )

    def add_imported_audit(self, chain: str, entry: dict[str, Any]) -> None:
        """One entry of an audit chain carried over by a handover, kept verbatim: every field its hash
        covers that this schema has a column for (a redacted entry carries only seq, prev and hash)."""
        row = {
            "chain": chain,
            "seq": entry["seq"],
            "ts": entry.get("ts"),
            "action": entry.get("action"),
            "center": entry.get("center"),
            "path": entry.get("path"),
            "detail": entry.get("detail"),
            "prev": entry["prev"],
            "hash": entry["hash"],
            "redacted": int(bool(entry.get("redacted"))),
            "actor": entry.get("actor"),
        }
        self._insert_known_columns("imported_audit", [row])

    def imported_chains(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT DISTINCT chain FROM imported_audit")]

    def add_host_change(
        self,
        *,
        center: str,
        from_host: str | None,
        to_host: str,
        at: str,
        bundle_sha256: str | None,
        note: str,
    ) -> None:
        self.conn.execute(
            "INSERT INTO host_changes (center, from_host, to_host, at, bundle_sha256, note) VALUES (?,?,?,?,?,?)",
            (center, from_host, to_host, at, bundle_sha256, note),
        )

    def host_change_rows(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM host_changes ORDER BY id")]

    def _insert_known_columns(self, table: str, rows: list[dict[str, Any]]) -> list[int]:
        """Insert rows into `table` (a name of ours, never user input), dropping keys it has no column for:
        a bundle from an older or newer zhikong may carry fewer or more columns."""
        columns = {r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")}
        ids = []
        for row in rows:
            keys = [k for k in row if k in columns]
            cur = self.conn.execute(
                f"INSERT INTO {table} ({', '.join(keys)}) VALUES ({', '.join('?' * len(keys))})",
                [row[k] for k in keys],
            )
            ids.append(int(cur.lastrowid or 0))
        return ids

    # -- the bureau's grading (migration 11) -----------------------------------------------------------

    def assessor_score_rows(self, center: str, year: int) -> list[dict[str, Any]]:
        return [
            dict(r)
            for r in self.conn.execute(
                "SELECT * FROM assessor_scores WHERE center = ? AND year = ? ORDER BY item", (center, year)
            )
        ]

    def put_assessor_score(
        self, *, center: str, year: int, item: int, score: float, note: str, by: str, at: str
    ) -> None:
        """Insert or replace the bureau's score of one item; call inside `transaction()` with its audit entry."""
        self.conn.execute(
            "INSERT INTO assessor_scores (center, year, item, score, note, scored_by, scored_at)"
            " VALUES (?,?,?,?,?,?,?) ON CONFLICT (center, year, item) DO UPDATE SET"
            " score = excluded.score, note = excluded.note, scored_by = excluded.scored_by,"
            " scored_at = excluded.scored_at",
            (center, year, item, score, note, by, at),
        )


def _at_or_under(scope: Iterable[str]) -> Iterator[tuple[str, tuple[str, ...]]]:
    """SQL conditions (with their arguments) for a path equal to each of `scope` or inside it as a
    folder, written as a range so that an index on `path` answers them: every path starting with
    "a/b/" sorts at or after "a/b/" and before "a/b0" ("0" follows "/")."""
    for rel in scope:
        rel = rel.strip("/")
        if rel in ("", "."):
            yield "1", ()
            continue
        yield "path = ?", (rel,)
        yield "path >= ? AND path < ?", (rel + "/", rel + "0")


_SOURCES: dict[str | None, Source | None] = {None: None, "": None} | {s.value: s for s in Source}
_ACTIVITY_TYPES: dict[str | None, ActivityType | None] = {None: None, "": None} | {
    t.value: t for t in ActivityType
}


_STATES = {s.value: s for s in RecordState}
# A record's columns in the order of Record's fields, then its classification's (columns of the same names):
# `records()` selects them in this order and builds each record from the row's tuple.
_RECORD_FIELDS = tuple(f.name for f in fields(Record) if f.name != "classification")
_CLASSIFICATION_FIELDS = tuple(f.name for f in fields(Classification))
_COLUMNS = (*_RECORD_FIELDS, *_CLASSIFICATION_FIELDS)
_SELECT_RECORDS = f"SELECT {', '.join(_COLUMNS)} FROM records"


def _record(found: sqlite3.Row) -> Record:
    row = dict(zip(found.keys(), found, strict=True))
    return _record_of(tuple(map(row.__getitem__, _COLUMNS)))


def _record_of(row: tuple[Any, ...]) -> Record:
    """A record from its columns in `_COLUMNS` order, made as unpickling makes an instance: the values set
    as its __dict__, without __init__. A frozen dataclass's __init__ sets each field through
    object.__setattr__, which was half of reading the records of a check (33,600 records); the record is
    as frozen, equal and hashable as one made by __init__, and every field is a column, so none is unset.
    Enum members come from tables, not their constructors."""
    values = dict(zip(_RECORD_FIELDS, row, strict=False))  # the classification's columns follow
    c = dict(zip(_CLASSIFICATION_FIELDS, row[len(_RECORD_FIELDS) :], strict=True))
    for source in ("center_by", "year_by", "activity_by", "category_by"):
        c[source] = _SOURCES[c[source]]
    c["activity_date"] = date.fromisoformat(c["activity_date"]) if c["activity_date"] else None
    c["activity_type"] = _ACTIVITY_TYPES[c["activity_type"]]
    values["state"] = _STATES[values["state"]]
    values["pii"] = bool(values["pii"])
    values["classification"] = _made(Classification, c)
    return _made(Record, values)


def _made(cls: type[T], values: dict[str, Any]) -> T:
    obj = object.__new__(cls)
    object.__setattr__(obj, "__dict__", values)
    return obj
