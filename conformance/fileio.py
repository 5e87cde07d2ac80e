"""Files written atomically (temp file + rename), fingerprinted (SHA-256), and private
temporary folders that are removed with the object that owns them.

Nothing this package writes is ever left half-written: `atomic_write_bytes` writes to a temp
file beside the destination and renames it over the destination only once the write succeeded.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import weakref
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text", "owned_tempdir", "sha256_bytes",
           "sha256_file"]


def atomic_write_bytes(path: str | os.PathLike, write: Callable[[str], object]) -> Path:
    """Call `write(tmp_path)` on a temp file next to `path`, then rename it over `path`.

    A failure leaves no partial file behind (the temp file is removed). The file gets the
    usual mode (0666 less the umask), not mkstemp's 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically."""
    return atomic_write_bytes(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def owned_tempdir(owner: object, prefix: str, parent: str | os.PathLike | None = None) -> Path:
    """A new temporary folder (under `parent`, else the system's), removed with everything in
    it once `owner` is garbage-collected, or at interpreter exit, whichever comes first."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    weakref.finalize(owner, shutil.rmtree, str(path), ignore_errors=True)
    return path


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
