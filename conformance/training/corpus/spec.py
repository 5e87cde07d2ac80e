"""What a corpus is: its kinds, sources, default location and manifest name, the build spec,
and the manifest entry of one file."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ALL_SOURCES",
    "CORPUS_KINDS",
    "DEFAULT_CORPUS_DIR",
    "MANIFEST",
    "CorpusSpec",
    "Entry",
]

#: The kinds a corpus file can be (the recipe's `data_mix` weighs them).
CORPUS_KINDS = ("speech", "music")

DEFAULT_CORPUS_DIR = Path(os.environ.get(
    "ENCODEC_CONFORMANCE_CORPUS", "~/.cache/encodec-conformance/corpus")).expanduser()
MANIFEST = "manifest.json"
ALL_SOURCES = ("espeak", "flite", "music", "codec2", "sonicpi", "alsa", "csound")


@dataclass
class CorpusSpec:
    """What to build. Minutes are targets for the synthesised sources (before augmentation)."""

    seed: int = 0
    sources: tuple[str, ...] = ALL_SOURCES
    espeak_minutes: float = 60.0
    flite_minutes: float = 10.0
    music_minutes: float = 20.0
    valid_percent: float = 2.0
    reference_dir: str | None = None  # evaluation clips to exclude (default: the package's)
    #: more recordings of your own: every sound file under extra_dir (source "extra"), with
    #: the kind and license you state; checked against the evaluation clips like the rest
    extra_dir: str | None = None
    extra_kind: str = "speech"
    extra_license: str = "unspecified"


@dataclass
class Entry:
    """One corpus file as recorded in the manifest."""

    file: str
    kind: str  # one of CORPUS_KINDS
    source: str
    license: str
    origin: str
    duration: float
    sample_rate: int
    channels: int
    sha256: str
    split: str = "train"
    params: dict = field(default_factory=dict)
