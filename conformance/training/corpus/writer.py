"""Writing corpus files: the per-file seed, the train / valid split, and the writer that
writes each file as FLAC, checks it against the evaluation clips and records its entry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from conformance.fileio import atomic_write_bytes, sha256_bytes, sha256_file
from conformance.training.corpus.exclusion import EvalExclusion, ExcludedClipError
from conformance.training.corpus.spec import CorpusSpec, Entry

__all__ = ["CorpusWriter", "source_rng", "split_of"]


def split_of(name: str, valid_percent: float) -> str:
    """"valid" for about valid_percent % of file names (by a hash of the name), else "train"."""
    bucket = int(sha256_bytes(name.encode())[:8], 16) % 10000
    return "valid" if bucket < valid_percent * 100 else "train"


def source_rng(seed: int, source: str, index: int) -> np.random.Generator:
    """The generator of one file: seeded by (seed, source, index) alone."""
    tag = int(sha256_bytes(source.encode())[:8], 16)
    return np.random.default_rng(np.random.SeedSequence([seed, tag, index]))


class CorpusWriter:
    """Writes FLAC files under the corpus root, checks them, and collects manifest entries."""

    def __init__(self, root: Path, spec: CorpusSpec, exclusion: EvalExclusion,
                 log: Callable[[str], None]) -> None:
        self.root, self.spec, self.exclusion, self.log = root, spec, exclusion, log
        self.entries: list[Entry] = []
        self.skipped: list[dict] = []

    def add(self, rel: str, audio: np.ndarray, sr: int, *, kind: str, source: str,
            license: str, origin: str, params: dict | None = None) -> None:
        """audio: [T] or [T, C] float in [-1, 1]."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = np.clip(np.asarray(audio, dtype=np.float64), -1.0, 1.0)
        atomic_write_bytes(path, lambda tmp: sf.write(tmp, data, sr, format="FLAC",
                                                      subtype="PCM_16"))
        try:
            self.exclusion.check_file(path, name=origin)
        except ExcludedClipError:
            path.unlink()
            raise
        channels = 1 if data.ndim == 1 else data.shape[1]
        self.entries.append(Entry(
            file=rel, kind=kind, source=source, license=license, origin=origin,
            duration=round(data.shape[0] / sr, 4), sample_rate=sr, channels=channels,
            sha256=sha256_file(path), split=split_of(rel, self.spec.valid_percent),
            params=params or {}))
