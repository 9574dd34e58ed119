"""Files only the archive's owner may read: `.zhikong/`, the catalogue and the search index.

They hold every record's name and text, personal data included (J15(3), H27–H28), so on POSIX they are
created with explicit modes — folders 0700, files 0600 — whatever the umask, and an archive made before
this rule is tightened when it is opened: group and other permissions are removed, the owner's are left as
they are (a catalogue made read-only on purpose stays read-only). Only the owner can change modes; files
of another user are left alone. SQLite creates the catalogue's -wal and -shm files with the database's own
mode, so a 0600 catalogue has 0600 companions.

Windows has no such modes (os.chmod only sets the read-only flag): there the archive relies on the ACLs of
the folder it lives in.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

POSIX = os.name == "posix"
DIR_MODE = 0o700
FILE_MODE = 0o600


def tighten(path: Path) -> None:
    """Remove group and other permissions from `path` if it exists and belongs to this user."""
    if not POSIX:
        return
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    if st.st_mode & 0o077 and st.st_uid == os.getuid():
        os.chmod(path, stat.S_IMODE(st.st_mode) & ~0o077)


def private_dir(path: Path) -> Path:
    """`path` as a folder only its owner can enter, made (with missing parents) if needed."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)  # the mode applies to `path` itself
    tighten(path)
    return path


def private_file(path: Path) -> Path:
    """`path` as a file only its owner can read and write: created empty if missing, else tightened."""
    if POSIX:
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
        except FileExistsError:
            tighten(path)
    return path
