"""Content-addressed preservation: every version of every ingested file, kept under `.zhikong/objects/`.

The copy is made in the same pass that computes the sha256, so the preserved bytes are exactly the
bytes that were hashed even if the file changes afterwards. Objects are written to a temporary name
and renamed into place, so a crash never leaves a truncated object under a valid name.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """The sha256 of a file's content, read in 1 MB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    new: bool = False  # this call created the object (it did not exist before)


class ObjectStore:
    def __init__(self, system_dir: Path) -> None:
        self.dir = system_dir / "objects"
        self.tmp = system_dir / "tmp"

    def path_of(self, sha256: str) -> Path:
        return self.dir / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def add_file(self, source: Path | bytes) -> Stored:
        """Copy `source` into the store while hashing it. Raises OSError if it cannot be read."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self.tmp, prefix="in-")
        try:
            with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
                while chunk := src.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            sha = digest.hexdigest()
            target = self.path_of(sha)
            existed = target.exists()
            if existed:
                os.unlink(tmp_name)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp_name, target)
            return Stored(sha, size, new=not existed)
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise

    def restore_to(self, sha256: str, dest: Path) -> None:
        source = self.path_of(sha256)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.zhikong-restore")
        shutil.copyfile(source, tmp)
        os.replace(tmp, dest)

    def hashes(self) -> set[str]:
        """Every object held."""
        if not self.dir.is_dir():
            return set()
        return {p.name for p in self.dir.glob("??/*") if len(p.name) == 64}

    def remove(self, sha256: str) -> int:
        """Delete one object; returns the bytes freed (0 if it was not there)."""
        path = self.path_of(sha256)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return 0
        return size

    def stale_temporaries(self, older_than: float) -> list[Path]:
        """Half-written copies a killed process left (older than `older_than` seconds)."""
        if not self.tmp.is_dir():
            return []
        limit = time.time() - older_than
        return [p for p in self.tmp.iterdir() if p.is_file() and p.stat().st_mtime < limit]
