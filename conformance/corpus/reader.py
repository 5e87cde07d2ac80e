"""Reading an audio file block by block, converted to the model's rate and channels on the way.

`AudioStream(path, sample_rate, channels, block_seconds)` probes the file (`info`), then
iterating it yields float32 [C, n] blocks at the model's rate and channel count, read
incrementally with soundfile (WAV, FLAC, OGG/Vorbis/Opus and MP3 where the installed libsndfile
reads them), so memory does not grow with the file's length.

The conversion is the package's one conversion (`conformance.audio.io.convert_audio`): remix
(mono <-> stereo: mean of the channels, or mono copied) then resample with
`torchaudio.functional.resample` and `RESAMPLE_KWARGS`. Blockwise resampling gives the same
samples as resampling the whole signal: each output frame of the polyphase filter reads a
window of `2 * width + orig` input samples (torchaudio's kernel), so a block is resampled with
enough input on both sides that no output it keeps sees the zero padding at the block's edges,
and the first and last blocks see the signal's own edges, padded exactly as the whole-signal
call pads them. (The values equal the whole-signal call's up to float rounding of the
convolution, which depends on the tensor length in some kernels; the tests compare them.)
`conversion` records what was done, for the results file; None when nothing was.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch

from conformance.audio.io import RESAMPLE_KWARGS
from conformance.errors import AudioFileError

__all__ = ["MAX_KERNEL_VALUES", "AudioInfo", "AudioStream", "BlockResampler", "probe",
           "remix"]

#: Resampling between rates whose reduced ratio needs a larger filter bank than this many
#: values (e.g. 44101 Hz -> 24000 Hz) is refused: the file should be converted first.
MAX_KERNEL_VALUES = 20_000_000


@dataclass(frozen=True)
class AudioInfo:
    """What the file says about itself (`frames` may be an estimate for compressed formats)."""

    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"sample_rate": self.sample_rate, "channels": self.channels,
                "frames": self.frames, "format": self.format, "subtype": self.subtype}


def probe(path: str | os.PathLike) -> AudioInfo:
    """The file's rate, channels, length and format; AudioFileError when it is not audio
    soundfile reads."""
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioFileError(f"cannot read audio file {path}: {_reason(exc)}") from exc
    if info.samplerate <= 0 or info.channels <= 0:
        raise AudioFileError(f"audio file {path}: invalid header (rate {info.samplerate}, "
                             f"{info.channels} channels)")
    return AudioInfo(int(info.samplerate), int(info.channels), int(info.frames),
                     str(info.format), str(info.subtype))


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


def _check_remix(have: int, want: int) -> None:
    if have != want and want != 1 and have != 1:
        raise AudioFileError(f"cannot remix {have} channels to {want}: only mono <-> stereo "
                             "conversions are defined")


def remix(wav: torch.Tensor, channels: int) -> torch.Tensor:
    """[C, T] -> [channels, T] as `convert_audio` does (mean to mono, mono copied)."""
    have = wav.shape[0]
    _check_remix(have, channels)
    if have == channels:
        return wav
    if channels == 1:
        return wav.mean(dim=0, keepdim=True)
    return wav.expand(channels, -1)


class BlockResampler:
    """`torchaudio.functional.resample(x, orig, new, **RESAMPLE_KWARGS)` of a signal that
    arrives in blocks: `feed(block)` returns the output samples it completes, `finish()` the
    rest. Holds at most one block plus the filter's context."""

    def __init__(self, orig: int, new: int) -> None:
        gcd = math.gcd(orig, new)
        self.orig_rate, self.new_rate = orig, new
        self.orig, self.new = orig // gcd, new // gcd
        rolloff = RESAMPLE_KWARGS["rolloff"]
        width = math.ceil(RESAMPLE_KWARGS["lowpass_filter_width"] * self.orig
                          / (min(self.orig, self.new) * rolloff))
        taps = 2 * width + self.orig
        if taps * self.new > MAX_KERNEL_VALUES:
            raise AudioFileError(
                f"resampling {orig} Hz to {new} Hz needs a filter bank of {taps * self.new:,} "
                f"values (more than {MAX_KERNEL_VALUES:,}): convert the file to a common rate "
                "first")
        # input samples each side, a whole number of filter phases, beyond the filter's reach
        self.context = (math.ceil(width / self.orig) + 1) * self.orig
        self.buffer: torch.Tensor | None = None  # input from `self.start`
        self.start = 0  # input index of buffer[0]
        self.done = 0  # input index up to which the output has been produced (phase-aligned)
        self.seen = 0

    def _resample(self, x: torch.Tensor) -> torch.Tensor:
        import torchaudio.functional as AF

        return AF.resample(x, self.orig_rate, self.new_rate, **RESAMPLE_KWARGS)

    def feed(self, block: torch.Tensor) -> torch.Tensor:
        self.seen += block.shape[-1]
        self.buffer = block if self.buffer is None else torch.cat([self.buffer, block], -1)
        end = self.start + self.buffer.shape[-1]
        # outputs of input phases [done, stop) need input up to stop + context
        stop = ((end - self.context) // self.orig) * self.orig
        if stop <= self.done:
            return self.buffer.new_zeros(self.buffer.shape[0], 0)
        return self._produce(stop, final=False)

    def _produce(self, stop: int, final: bool) -> torch.Tensor:
        left = max(0, self.done - self.context)  # a phase boundary (done and context are)
        right = self.start + self.buffer.shape[-1] if final else stop + self.context
        y = self._resample(self.buffer[..., left - self.start: right - self.start])
        skip = (self.done - left) // self.orig * self.new
        if final:
            total = math.ceil(self.new * self.seen / self.orig)
            out = y[..., skip: skip + total - self.done // self.orig * self.new]
        else:
            out = y[..., skip: skip + (stop - self.done) // self.orig * self.new]
        self.done = stop
        keep = max(0, self.done - self.context)
        self.buffer = self.buffer[..., keep - self.start:]
        self.start = keep
        return out.contiguous()

    def finish(self) -> torch.Tensor:
        if self.buffer is None or self.seen == 0:
            return torch.zeros(0, 0)
        return self._produce(self.seen, final=True)


class AudioStream:
    """A sound file as float32 [channels, n] blocks at `sample_rate`, read incrementally.

    `convert=False` refuses (AudioFileError) a file whose rate or channel count differs from
    the model's instead of converting it. `frames_read` and `samples_out` count what was read
    and produced once iteration ends.
    """

    def __init__(self, path: str | os.PathLike, sample_rate: int, channels: int,
                 block_seconds: float = 10.0, convert: bool = True) -> None:
        self.path = Path(path)
        self.info = probe(self.path)
        self.sample_rate, self.channels = int(sample_rate), int(channels)
        self.block_frames = max(1, int(round(block_seconds * self.info.sample_rate)))
        self.frames_read = 0
        self.samples_out = 0
        needs = self.info.sample_rate != self.sample_rate or self.info.channels != channels
        if needs and not convert:
            raise AudioFileError(
                f"{self.path.name}: {self.info.sample_rate} Hz, {self.info.channels} "
                f"channel(s), but the model takes {self.sample_rate} Hz, {self.channels} "
                "channel(s); conversion is off")
        _check_remix(self.info.channels, self.channels)
        self._resampler = (BlockResampler(self.info.sample_rate, self.sample_rate)
                           if self.info.sample_rate != self.sample_rate else None)

    @property
    def conversion(self) -> dict[str, Any] | None:
        """What was done to reach the model's rate and channels (None: nothing)."""
        if self.info.sample_rate == self.sample_rate and self.info.channels == self.channels:
            return None
        remixed = None
        if self.info.channels != self.channels:
            remixed = ("mean of the channels" if self.channels == 1 else
                       f"mono copied to {self.channels} channels")
        resampler = None
        if self._resampler is not None:
            resampler = {"function": "torchaudio.functional.resample", **RESAMPLE_KWARGS}
        return {"from": {"sample_rate": self.info.sample_rate,
                         "channels": self.info.channels},
                "to": {"sample_rate": self.sample_rate, "channels": self.channels},
                "remix": remixed, "resampler": resampler,
                "order": "remix, then resample (conformance.audio.io.convert_audio)"}

    def _raw_blocks(self) -> Iterator[np.ndarray]:
        try:
            with sf.SoundFile(str(self.path)) as f:
                while True:
                    data = f.read(self.block_frames, dtype="float32", always_2d=True)
                    if data.shape[0] == 0:
                        return
                    yield data
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
            raise AudioFileError(f"cannot read audio file {self.path}: {_reason(exc)} "
                                 f"(after {self.frames_read} frames)") from exc

    def __iter__(self) -> Iterator[torch.Tensor]:
        for data in self._raw_blocks():
            if not np.isfinite(data).all():
                raise AudioFileError(
                    f"{self.path.name}: NaN or infinite samples near "
                    f"{self.frames_read / self.info.sample_rate:.2f} s")
            self.frames_read += data.shape[0]
            wav = remix(torch.from_numpy(data.T.copy()), self.channels)
            if self._resampler is not None:
                wav = self._resampler.feed(wav)
            if wav.shape[-1]:
                self.samples_out += wav.shape[-1]
                yield wav.contiguous()
        if self.frames_read == 0:
            raise AudioFileError(f"audio file {self.path} holds no samples")
        if self._resampler is not None:
            tail = self._resampler.finish()
            if tail.shape[-1]:
                self.samples_out += tail.shape[-1]
                yield tail

    @property
    def duration(self) -> float:
        """Seconds read (after iteration; the header's estimate before)."""
        if self.frames_read:
            return self.frames_read / self.info.sample_rate
        return self.info.duration
