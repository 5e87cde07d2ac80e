"""Building a corpus from its sources, writing its manifest, and reading / verifying one."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from conformance._data import reference_audio_dir
from conformance.fileio import atomic_write_bytes, sha256_file
from conformance.training.corpus.exclusion import EvalExclusion, ExcludedClipError
from conformance.training.corpus.packages import (
    add_alsa,
    add_codec2,
    add_csound,
    add_extra,
    add_sonicpi,
)
from conformance.training.corpus.spec import ALL_SOURCES, MANIFEST, CorpusSpec, Entry
from conformance.training.corpus.synth import add_music
from conformance.training.corpus.tts import add_espeak, add_flite
from conformance.training.corpus.writer import CorpusWriter

__all__ = ["build_corpus", "read_corpus_manifest", "verify_corpus"]


def build_corpus(out_dir: str | os.PathLike, spec: CorpusSpec | None = None, *,
                 cache_dir: str | os.PathLike | None = None,
                 log: Callable[[str], None] = print) -> dict:
    """Build the corpus into out_dir (its previous manifest and files are replaced) and write
    `manifest.json`; returns the manifest. `cache_dir` keeps downloaded packages (default:
    out_dir/../debian-cache)."""
    spec = spec or CorpusSpec()
    unknown = sorted(set(spec.sources) - set(ALL_SOURCES))
    if unknown:
        raise ValueError(f"unknown source(s) {unknown}; known: {', '.join(ALL_SOURCES)}")
    root = Path(out_dir).expanduser().resolve()
    if reference_audio_dir().resolve() in (root, *root.parents):
        raise ExcludedClipError(f"{root}: the corpus may not live in reference_audio/")
    cache = Path(cache_dir).expanduser() if cache_dir else root.parent / "debian-cache"
    root.mkdir(parents=True, exist_ok=True)
    for source in (*ALL_SOURCES, "extra"):  # a rebuild starts clean
        if (root / source).is_dir():
            shutil.rmtree(root / source)
    exclusion = EvalExclusion.from_reference_dir(spec.reference_dir)
    w = CorpusWriter(root, spec, exclusion, log)
    versions: dict[str, object] = {}
    steps: dict[str, Callable[[], dict]] = {
        "espeak": lambda: add_espeak(w, spec.espeak_minutes, spec.seed),
        "flite": lambda: add_flite(w, spec.flite_minutes, spec.seed),
        "music": lambda: add_music(w, spec.music_minutes, spec.seed),
        "codec2": lambda: add_codec2(w, cache),
        "sonicpi": lambda: add_sonicpi(w, cache),
        "alsa": lambda: add_alsa(w, cache),
        "csound": lambda: add_csound(w, cache),
        "extra": lambda: add_extra(w, spec),
    }
    sources = list(spec.sources) + (["extra"] if spec.extra_dir else [])
    for source in sources:
        t0 = time.time()
        n0 = len(w.entries)
        versions[source] = steps[source]()
        dur = sum(e.duration for e in w.entries[n0:])
        log(f"{source}: {len(w.entries) - n0} files, {dur / 60:.1f} min "
            f"({time.time() - t0:.0f} s)")
    manifest = {
        "format": "encodec-conformance corpus v1",
        "spec": asdict(spec),
        "versions": versions,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "totals": _totals(w.entries),
        "excluded_eval_sha256": sorted(exclusion.file_sha256),
        "skipped": w.skipped,
        "files": [asdict(e) for e in w.entries],
    }
    text = json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"
    atomic_write_bytes(root / MANIFEST, lambda tmp: Path(tmp).write_text(text))
    return manifest


def _totals(entries: Iterable[Entry]) -> dict[str, float]:
    out: dict[str, float] = {}
    for e in entries:
        key = f"{e.kind}_{e.split}_minutes"
        out[key] = round(out.get(key, 0.0) + e.duration / 60, 2)
    return out


def read_corpus_manifest(corpus_dir: str | os.PathLike) -> dict:
    path = Path(corpus_dir).expanduser() / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no corpus manifest; build one with "
                                "`python scripts/build_corpus.py`")
    return json.loads(path.read_text())


def verify_corpus(corpus_dir: str | os.PathLike, exclusion: EvalExclusion | None = None) -> int:
    """Check every manifest file's sha256 and that none is an evaluation clip; returns the
    number of files checked."""
    root = Path(corpus_dir).expanduser()
    manifest = read_corpus_manifest(root)
    exclusion = exclusion or EvalExclusion.from_reference_dir()
    for e in manifest["files"]:
        path = root / e["file"]
        if sha256_file(path) != e["sha256"]:
            raise ValueError(f"{path}: sha256 differs from the manifest")
        exclusion.check_file(path, name=e.get("origin"))
    return len(manifest["files"])
