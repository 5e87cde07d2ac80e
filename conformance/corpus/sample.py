"""A sample corpus made from the package's own audio, for trying `validate --audio` and for
the tests: the reference recordings (`reference_audio/`: speech and music) cut into short
clips, and the generated edge signals (`conformance.audio.signals`) at several sample rates,
plus the 60 s speech-like signal cut into clips.

`write_sample_corpus(directory)` writes 16-bit WAV and FLAC files (atomically) in
`speech/`, `music/`, `signals/<rate>/` and `long/`, and returns their paths. The same
arguments always write the same samples. `write_long_signal(path, seconds)` writes one long
16-bit WAV (the 60 s speech-like signal repeated) block by block, for memory measurements.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from conformance.audio.clips import list_clips, load_reference, reference_clip
from conformance.audio.signals import EDGE_SIGNALS, generate, to_int16
from conformance.errors import InvalidArgument
from conformance.fileio import atomic_write_bytes

__all__ = ["SAMPLE_RATES", "write_long_signal", "write_sample_corpus"]

#: Rates the generated signals are written at (two need resampling for every family).
SAMPLE_RATES: tuple[int, ...] = (16000, 24000, 44100, 48000)


def _write(path: Path, wav: torch.Tensor, sample_rate: int) -> Path:
    pcm = to_int16(wav)
    fmt = "FLAC" if path.suffix == ".flac" else "WAV"
    atomic_write_bytes(path, lambda tmp: sf.write(tmp, np.ascontiguousarray(pcm.T), sample_rate,
                                                  format=fmt, subtype="PCM_16"))
    return path


def _cuts(wav: torch.Tensor, length: int, limit: int | None = None) -> list[torch.Tensor]:
    cuts = [wav[..., i: i + length] for i in range(0, wav.shape[-1], length)]
    cuts = [c for c in cuts if c.shape[-1] == length] or cuts[:1]
    return cuts[:limit] if limit is not None else cuts


def write_sample_corpus(directory: str | Path, *, clip_seconds: float = 0.5,
                        rates: tuple[int, ...] = SAMPLE_RATES,
                        long_clips: int = 100) -> list[Path]:
    """Write the sample corpus (module doc) into `directory`; returns the files written.

    Recordings: every whole `clip_seconds` clip at the native rate and channels (speech in
    WAV, music in FLAC). Signals: each edge signal at each of `rates`, its first
    `clip_seconds` (or all of it when shorter). Long: the first `long_clips` clips of the 60 s
    speech-like signal at 24 kHz.
    """
    if not clip_seconds > 0:
        raise InvalidArgument(f"clip_seconds={clip_seconds}: must be > 0")
    root = Path(directory)
    written: list[Path] = []
    for kind in ("speech", "music"):
        for name in list_clips(kind):
            info = reference_clip(name)
            wav = load_reference(name)
            suffix = ".wav" if kind == "speech" else ".flac"
            length = max(1, int(round(clip_seconds * info.sample_rate)))
            for i, cut in enumerate(_cuts(wav, length)):
                written.append(_write(root / kind / f"{name}_{i:03d}{suffix}", cut,
                                      info.sample_rate))
    for rate in rates:
        length = max(1, int(round(clip_seconds * rate)))
        for name, spec in EDGE_SIGNALS.items():
            if name == "long_60s":
                continue
            wav = generate(name, rate)[..., :length]
            suffix = ".flac" if spec.channels == 1 else ".wav"
            written.append(_write(root / "signals" / f"{rate}" / f"{name}{suffix}", wav, rate))
    if long_clips:
        rate = 24000
        length = max(1, int(round(clip_seconds * rate)))
        wav = generate("long_60s", rate)
        for i, cut in enumerate(_cuts(wav, length, long_clips)):
            written.append(_write(root / "long" / f"speech_like_{i:03d}.flac", cut, rate))
    return written


def write_long_signal(path: str | Path, seconds: float, sample_rate: int = 24000,
                      channels: int = 1) -> Path:
    """A `seconds`-long 16-bit WAV of the 60 s speech-like signal repeated, written one minute
    at a time (memory stays at one minute of audio) into a temp file renamed at the end."""
    if not seconds > 0:
        raise InvalidArgument(f"seconds={seconds}: must be > 0")
    minute = to_int16(generate("long_60s", sample_rate, channels)).T
    total = int(round(seconds * sample_rate))

    def write(tmp: str) -> None:
        with sf.SoundFile(tmp, "w", sample_rate, channels, subtype="PCM_16",
                          format="WAV") as f:
            left = total
            while left:
                n = min(left, minute.shape[0])
                f.write(np.ascontiguousarray(minute[:n]))
                left -= n

    return atomic_write_bytes(Path(path), write)
