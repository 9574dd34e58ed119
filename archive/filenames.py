"""File names made from titles: valid on Windows and Linux, short enough to survive, never colliding.

The limits a name must respect, and why these numbers:

- One path component: Windows allows 255 UTF-16 units, Linux and macOS 255 bytes of UTF-8, and for
  Chinese (3 bytes a character) the second is the stricter. A document is written atomically through
  temporary names next to its final one (``save_atomic``'s ``.<stem>-XXXXXXXX.docx.tmp``; ``approve``
  stages ``.<stem>.docx.tmp`` and renders that atomically in turn), up to 20 bytes longer, so a name we
  make is kept to ``NAME_BYTES`` = 200 bytes.
- A whole path: Windows' MAX_PATH is 260 characters unless long paths are enabled, and those temporary
  names add up to 20 more, so a path is kept to ``PATH_CHARS`` = 240 characters where the archive's own
  location leaves room (a deep root still gets ``MIN_TITLE_CHARS`` of the title).

A title that does not fit is cut and given a stable suffix, ``~`` and eight hex digits of its SHA-256:
two long titles with the same beginning get different names, and the same title always the same one.
Only the name is shortened: the full title stays in the draft row and in the document (its title
property), from which the catalogue reads it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from zhikong.textcheck import strip_unsafe

NAME_BYTES = 200
PATH_CHARS = 240
MIN_TITLE_CHARS = 12

_RESERVED = re.compile(r'[/\\:*?"<>|]')  # not allowed in Windows names (/ and \ nowhere)
_SPACES = re.compile(r"\s+")


def clean_title(title: str) -> str:
    """A title as it may appear in a file name: no control or bidi characters, no reserved characters
    (they become "_"), one space for any run of white space, no leading or trailing dots and spaces."""
    text = _SPACES.sub(" ", strip_unsafe(title))
    return _RESERVED.sub("_", text).strip(" .")


def fit_file_name(title: str, *, head: str = "", tail: str = "", folder: Path | None = None) -> str:
    """``head`` + the title + ``tail`` as one file name within the limits above (``folder``: where it
    will be, for the whole-path limit). ``head`` and ``tail`` (a number, "（送审稿）.docx") are kept whole."""
    text = clean_title(title) or "公文"
    name = head + text + tail
    if _fits(name, folder):
        return name
    suffix = "~" + hashlib.sha256(title.encode("utf-8")).hexdigest()[:8]
    for keep in range(len(text) - 1, -1, -1):
        name = head + text[:keep].rstrip(" .") + suffix + tail
        if _fits(name, folder) or (keep <= MIN_TITLE_CHARS and _fits(name, None)):
            return name
    return name


def _fits(name: str, folder: Path | None) -> bool:
    if len(name.encode("utf-8")) > NAME_BYTES:
        return False
    return folder is None or len(str(folder / name)) <= PATH_CHARS
