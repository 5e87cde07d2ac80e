"""Writing audio safely: loudness strategies and atomic (temp + rename) writes."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf
import torch

from conformance.errors import AudioFileError, InvalidArgument
from conformance.fileio import atomic_write_bytes

__all__ = ["AUDIO_FORMATS", "RESAMPLE_KWARGS", "STRATEGIES", "Strategy", "audio_write",
           "convert_audio", "load_audio", "normalize_audio"]

Strategy = Literal["peak", "rms", "loudness", "clip"]
STRATEGIES = frozenset({"peak", "rms", "loudness", "clip"})
AUDIO_FORMATS = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16")}
_CLIP_LIMIT = 0.99


def normalize_audio(wav: torch.Tensor, sample_rate: int, strategy: Strategy = "peak",
                    peak_headroom_db: float = 1.0, rms_headroom_db: float = 18.0,
                    loudness_headroom_db: float = 14.0) -> torch.Tensor:
    """Scale `wav` [C, T] by a strategy.

    - "peak": peak at -`peak_headroom_db` dBFS;
    - "rms": RMS at -`rms_headroom_db` dBFS, then clipped to +-0.99;
    - "loudness": integrated loudness (ITU-R BS.1770, torchaudio) at -`loudness_headroom_db`
      LUFS, then clipped; needs at least 0.4 s;
    - "clip": no gain, samples clipped to +-0.99.
    Silent input is returned unchanged (with a warning) by the gain strategies.
    """
    if strategy not in STRATEGIES:
        raise InvalidArgument(f"strategy={strategy!r}: must be one of {sorted(STRATEGIES)}")
    wav = wav.float()
    if strategy == "clip":
        return _clip(wav)
    if float(wav.abs().max()) == 0.0:
        warnings.warn("audio is silent: no gain applied", RuntimeWarning, stacklevel=2)
        return wav
    if strategy == "peak":
        return wav / wav.abs().max() * 10 ** (-peak_headroom_db / 20)
    if strategy == "rms":
        rms = wav.pow(2).mean().sqrt()
        return _clip(wav / rms * 10 ** (-rms_headroom_db / 20))
    import torchaudio.functional as AF

    if wav.shape[-1] < int(0.4 * sample_rate):
        raise InvalidArgument(f"loudness needs at least 0.4 s of audio, got "
                         f"{wav.shape[-1] / sample_rate:.3f} s")
    lufs = float(AF.loudness(wav, sample_rate))
    if not np.isfinite(lufs):
        warnings.warn("audio is too quiet to measure loudness: no gain applied",
                      RuntimeWarning, stacklevel=2)
        return wav
    gain_db = -loudness_headroom_db - lufs
    return _clip(wav * 10 ** (gain_db / 20))


def _clip(wav: torch.Tensor) -> torch.Tensor:
    n = int((wav.abs() > _CLIP_LIMIT).sum())
    if n:
        warnings.warn(f"clipping {n} sample(s) to +-{_CLIP_LIMIT}", RuntimeWarning, stacklevel=3)
    return wav.clamp(-_CLIP_LIMIT, _CLIP_LIMIT)


def audio_write(path: str | os.PathLike, wav: torch.Tensor, sample_rate: int,
                strategy: Strategy = "peak", format: str | None = None,
                **strategy_kwargs: float) -> Path:
    """Write `wav` ([T], [C, T] or [1, C, T]) after `normalize_audio`, atomically.

    `format` is "wav" or "flac" (default: from the suffix, else wav; the suffix is added when
    missing). Samples are written as 16-bit PCM.
    """
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".") or "wav").lower()
    if fmt not in AUDIO_FORMATS:
        raise InvalidArgument(f"format={fmt!r}: must be one of {sorted(AUDIO_FORMATS)}")
    if path.suffix.lower() != f".{fmt}":
        path = path.with_name(path.name + f".{fmt}")
    if not isinstance(wav, torch.Tensor):
        wav = torch.as_tensor(wav)
    if wav.dim() == 3 and wav.shape[0] == 1:
        wav = wav[0]
    if wav.dim() == 1:
        wav = wav[None]
    if wav.dim() != 2:
        raise InvalidArgument(f"audio.shape={tuple(wav.shape)}: expected [T], [C, T] or "
                              "[1, C, T]")
    if wav.shape[-1] == 0:
        raise InvalidArgument("audio has no samples")
    if not bool(torch.isfinite(wav).all()):
        raise InvalidArgument("audio contains NaN or infinite samples")
    out = normalize_audio(wav.detach().cpu(), sample_rate, strategy, **strategy_kwargs)
    data = out.numpy().T
    container, subtype = AUDIO_FORMATS[fmt]
    return atomic_write_bytes(
        path, lambda tmp: sf.write(tmp, data, sample_rate, format=container, subtype=subtype))


# ------------------------------------------------------------------------------------ reading
#: The one resampler used everywhere (windowed sinc, torchaudio's defaults pinned explicitly).
RESAMPLE_KWARGS = {"lowpass_filter_width": 6, "rolloff": 0.99,
                   "resampling_method": "sinc_interp_hann"}


def convert_audio(wav: torch.Tensor, from_rate: int, to_rate: int,
                  to_channels: int) -> torch.Tensor:
    """Remix [C, T] to `to_channels` (mono <-> stereo only) and resample with RESAMPLE_KWARGS."""
    import torchaudio.functional as AF

    if wav.dim() != 2:
        raise InvalidArgument(f"audio.shape={tuple(wav.shape)}: expected [C, T]")
    channels = wav.shape[0]
    if channels != to_channels:
        if to_channels == 1:
            wav = wav.mean(dim=0, keepdim=True)
        elif channels == 1:
            wav = wav.expand(to_channels, -1)
        else:
            raise AudioFileError(f"cannot remix {channels} channels to {to_channels}: only "
                                 "mono <-> stereo conversions are defined")
    if from_rate != to_rate:
        wav = AF.resample(wav, from_rate, to_rate, **RESAMPLE_KWARGS)
    return wav.contiguous()


def load_audio(path: str | os.PathLike, sample_rate: int | None = None,
               channels: int | None = None) -> tuple[torch.Tensor, int]:
    """Read a sound file as float32 [C, T]; resample/remix when `sample_rate`/`channels` given.

    Returns the audio and its (new) sample rate.
    """
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioFileError(f"cannot read audio file {path}: {exc}") from exc
    wav = torch.from_numpy(data.T.copy())
    if wav.shape[-1] == 0:
        raise AudioFileError(f"audio file {path} holds no samples")
    target_sr = sample_rate or sr
    target_ch = channels or wav.shape[0]
    return convert_audio(wav, sr, target_sr, target_ch), target_sr
