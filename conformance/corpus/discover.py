"""The audio files of a corpus directory: listed recursively, named by their path relative to
the directory, fingerprinted, and split into shards.

- `list_corpus(root)` walks `root` (symlinked files are read, symlinked directories are not
  entered, hidden names starting with "." are skipped) and returns the files whose extension is
  an audio format the installed libsndfile reads (`audio_extensions()`: .wav, .flac, .ogg,
  .oga, .opus, .mp3 where supported), sorted by relative path, plus the other files it saw
  (`ignored`). A file with an audio extension that turns out not to be audio is reported
  later, when it is read, never here.
- `shard_of(relative, count)` is the 1-based shard of a file: the first 8 bytes of the SHA-256
  of its relative path (POSIX separators, UTF-8) as a big-endian integer, modulo `count`,
  plus one. It depends on nothing but the path, so adding or removing files never moves
  another file to a different shard, and every machine computes the same split.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import soundfile as sf

from conformance.errors import InvalidArgument
from conformance.fileio import sha256_file

__all__ = ["EXTENSION_FORMATS", "CorpusFile", "Listing", "audio_extensions", "list_corpus",
           "parse_shard", "select_shard", "shard_of"]

#: File extension -> the libsndfile major format that reads it.
EXTENSION_FORMATS: dict[str, str] = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG",
                                     ".oga": "OGG", ".opus": "OGG", ".mp3": "MP3"}


def audio_extensions() -> tuple[str, ...]:
    """The extensions of `EXTENSION_FORMATS` whose format the installed libsndfile reads."""
    available = set(sf.available_formats())
    return tuple(ext for ext, fmt in EXTENSION_FORMATS.items() if fmt in available)


@dataclass(frozen=True)
class CorpusFile:
    """One audio file: `relative` is its path below the corpus root, POSIX style."""

    root: Path
    relative: str
    size: int

    @property
    def path(self) -> Path:
        return self.root.joinpath(*PurePosixPath(self.relative).parts)

    def sha256(self) -> str:
        return sha256_file(self.path)


@dataclass
class Listing:
    """What `list_corpus` found."""

    root: Path
    files: list[CorpusFile]
    ignored: list[str] = field(default_factory=list)


def list_corpus(root: str | os.PathLike, extensions: tuple[str, ...] | None = None) -> Listing:
    """Every audio file below `root`, sorted by relative path (see the module doc)."""
    root = Path(root)
    if not root.is_dir():
        raise InvalidArgument(f"--audio {root}: not a directory (expected a folder of audio "
                              "files, searched recursively)")
    wanted = tuple(e.lower() for e in (extensions or audio_extensions()))
    files: list[CorpusFile] = []
    ignored: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        base = Path(dirpath)
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = base / name
            relative = path.relative_to(root).as_posix()
            if not path.is_file():  # a broken link, a socket, ...
                ignored.append(relative)
                continue
            if path.suffix.lower() in wanted:
                files.append(CorpusFile(root, relative, path.stat().st_size))
            else:
                ignored.append(relative)
    files.sort(key=lambda f: f.relative)
    ignored.sort()
    return Listing(root, files, ignored)


def shard_of(relative: str, count: int) -> int:
    """The 1-based shard (of `count`) that `relative` belongs to."""
    if count < 1:
        raise InvalidArgument(f"shard count {count}: must be at least 1")
    digest = hashlib.sha256(relative.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(text: str) -> tuple[int, int]:
    """"2/4" -> (2, 4): shard 2 of 4, 1-based."""
    m = _SHARD.match(text or "")
    if not m:
        raise InvalidArgument(f"--shard {text!r}: expected INDEX/COUNT with 1 <= INDEX <= COUNT, "
                              "e.g. 1/4")
    index, count = int(m.group(1)), int(m.group(2))
    if not 1 <= index <= count:
        raise InvalidArgument(f"--shard {text!r}: the index must be in 1..{count} (1-based)")
    return index, count


def select_shard(files: list[CorpusFile], index: int, count: int) -> list[CorpusFile]:
    """The files of shard `index` of `count`, in their listing order."""
    return [f for f in files if shard_of(f.relative, count) == index]
