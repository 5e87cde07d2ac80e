"""Synthesised speech sources: espeak-ng and flite, voices, pitch and speed varied, with the
reverb / noise augmentation of `dsp.augment_speech`."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import soundfile as sf

from conformance.training.corpus.dsp import augment_speech, rms
from conformance.training.corpus.sentences import (
    ENGLISH_VOICES,
    ESPEAK_VARIANTS,
    FLITE_VOICES,
    SENTENCES_EN,
    SENTENCES_OTHER,
)
from conformance.training.corpus.writer import CorpusWriter, source_rng

__all__ = ["add_espeak", "add_flite"]


def _tool_version(cmd: Sequence[str]) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else None


def _package_version(package: str, exe: str) -> str | None:
    """The installed Debian package's version, else the tool's own first line of --version."""
    if shutil.which("dpkg-query"):
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package],
                             capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            return f"{package} {out.stdout.strip()}"
    return _tool_version([exe, "--version"])


def add_espeak(w: CorpusWriter, minutes: float, seed: int) -> dict:
    """About `minutes` of augmented espeak-ng speech; returns the tool version."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed: apt-get install espeak-ng (or leave "
                           "'espeak' out of --sources)")
    listed = subprocess.run([exe, "--voices=variant"], capture_output=True, text=True).stdout
    variants = [v for v in ESPEAK_VARIANTS if re.search(rf"\s!v/{re.escape(v)}\s", listed)]
    languages = list(SENTENCES_OTHER)
    total, i = 0.0, 0
    with tempfile.TemporaryDirectory() as tmp:
        while total < minutes * 60:
            rng = source_rng(seed, "espeak", i)
            if rng.random() < 0.7:
                voice = str(rng.choice(ENGLISH_VOICES))
                pool = SENTENCES_EN
            else:
                voice = str(rng.choice(languages))
                pool = SENTENCES_OTHER[voice]
            n = int(rng.integers(2, 5))
            text = " ".join(str(s) for s in rng.choice(pool, size=n, replace=False))
            variant = str(rng.choice(variants)) if variants else ""
            pitch, speed = int(rng.integers(15, 86)), int(rng.integers(120, 221))
            gap = int(rng.integers(0, 4))
            out = Path(tmp) / "s.wav"
            args = [exe, "-v", f"{voice}+{variant}" if variant else voice, "-p", str(pitch),
                    "-s", str(speed), "-g", str(gap), "-w", str(out), text]
            subprocess.run(args, check=True, capture_output=True, timeout=120)
            x, sr = sf.read(out, dtype="float64")
            if x.ndim > 1:
                x = x.mean(axis=1)
            if rms(x) < 1e-4:
                i += 1
                continue
            x, aug = augment_speech(x, sr, rng)
            w.add(f"espeak/espeak_{i:05d}.flac", x, sr, kind="speech", source="espeak",
                  license="generated with espeak-ng (GPL-3+ program; output unrestricted)",
                  origin=f"espeak-ng voice {voice}+{variant}",
                  params={"voice": voice, "variant": variant, "pitch": pitch, "speed": speed,
                          "word_gap": gap, "text": text, **aug})
            total += x.shape[0] / sr
            i += 1
    return {"espeak-ng": _package_version("espeak-ng", exe), "files": i}


def add_flite(w: CorpusWriter, minutes: float, seed: int) -> dict:
    """About `minutes` of augmented flite speech; returns the tool version."""
    exe = shutil.which("flite")
    if exe is None:
        raise RuntimeError("flite is not installed: apt-get install flite (or leave 'flite' "
                           "out of --sources)")
    total, i = 0.0, 0
    with tempfile.TemporaryDirectory() as tmp:
        while total < minutes * 60:
            rng = source_rng(seed, "flite", i)
            voice = str(rng.choice(FLITE_VOICES))
            text = " ".join(str(s) for s in rng.choice(SENTENCES_EN, size=int(
                rng.integers(2, 5)), replace=False))
            stretch = round(float(rng.uniform(0.8, 1.3)), 3)
            f0 = int(rng.integers(85, 200))
            out = Path(tmp) / "s.wav"
            subprocess.run([exe, "-voice", voice, "--setf", f"duration_stretch={stretch}",
                            "--setf", f"int_f0_target_mean={f0}", "-t", text, "-o", str(out)],
                           check=True, capture_output=True, timeout=120)
            x, sr = sf.read(out, dtype="float64")
            x, aug = augment_speech(x, sr, rng)
            w.add(f"flite/flite_{i:05d}.flac", x, sr, kind="speech", source="flite",
                  license="generated with flite (BSD-like program; output unrestricted)",
                  origin=f"flite voice {voice}",
                  params={"voice": voice, "duration_stretch": stretch, "f0_mean": f0,
                          "text": text, **aug})
            total += x.shape[0] / sr
            i += 1
    return {"flite": _package_version("flite", exe), "files": i}
