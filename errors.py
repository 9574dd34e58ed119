"""One error hierarchy for the whole product, and the exit-code table that the front ends map it to.

Every message is Chinese and says what happened and what to do next: the people who read it are
center secretaries, not programmers. The library raises these; only the front ends (`cli.py`, the web
pages) print them. This module imports nothing of the product, so every package may import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes for scripts. Documented in README.md; keep the two in step."""

    OK = 0
    FINDINGS = 1  # a check or verification ran and found problems
    USAGE = 2  # wrong options (click uses 2 as well)
    SETTINGS = 3  # no archive found, bad zhikong.toml, unknown center
    INPUT = 4  # a file given on the command line is missing, unreadable or malformed
    NOT_FOUND = 5  # no such record, draft or version
    MISSING_DEPENDENCY = 6  # LibreOffice / OCR engine not installed
    VERIFY_FAILED = 7  # bundle or audit-log verification failed
    TEMPLATE = 8  # template or document validation failed
    CONFLICT = 9  # state does not allow the action (already approved, sealed …), or the archive is busy
    STORAGE = 10  # the catalogue cannot be opened or written (damaged, newer version, read-only, disk full)
    INTERNAL = 70  # an unexpected error (a bug): the traceback is in .zhikong/logs/errors.log
    INTERRUPTED = 130


class ZhikongError(Exception):
    """Base of every error the product reports to a user."""

    exit_code: ExitCode = ExitCode.FINDINGS

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n提示：{self.hint}"
        return self.message


class SettingsError(ZhikongError):
    exit_code = ExitCode.SETTINGS


class ArchiveNotFound(SettingsError):
    pass


class InputFileError(ZhikongError):
    exit_code = ExitCode.INPUT


class NotFound(ZhikongError):
    exit_code = ExitCode.NOT_FOUND


class MissingDependency(ZhikongError):
    exit_code = ExitCode.MISSING_DEPENDENCY


class ConflictError(ZhikongError):
    exit_code = ExitCode.CONFLICT


class Busy(ConflictError):
    """Another zhikong process holds the catalogue (or the index) longer than we are willing to wait."""


class StorageError(ZhikongError):
    """The catalogue cannot be opened or written; the message says how to recover."""

    exit_code = ExitCode.STORAGE


class InternalError(ZhikongError):
    """An unexpected exception, reported in Chinese with the log file that holds its traceback."""

    exit_code = ExitCode.INTERNAL


@dataclass(frozen=True)
class Problem:
    """One problem among several reported together (validation collects all, then raises once)."""

    code: str
    message: str
    path: str | None = None
    details: dict[str, str] = field(default_factory=dict)


class MultiProblemError(ZhikongError):
    """Several problems found by one validation; `problems` lists every one of them."""

    def __init__(self, message: str, problems: list[Problem], *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.problems = problems

    def __str__(self) -> str:
        lines = [self.message]
        lines += [f"  - {p.message}" + (f"（{p.path}）" if p.path else "") for p in self.problems]
        if self.hint:
            lines.append(f"提示：{self.hint}")
        return "\n".join(lines)


class VerificationError(MultiProblemError):
    exit_code = ExitCode.VERIFY_FAILED


class TemplateError(MultiProblemError):
    exit_code = ExitCode.TEMPLATE
