"""Deterministic generated edge-case signals (float32 [C, T]) for codec conformance tests.

Every signal is computed in float64 with numpy (noise from the legacy, stream-stable
`numpy.random.RandomState`) and returned as float32, so the same call gives the same samples on
every run. `EDGE_SIGNALS` names each one with its native channel count, length and a
description; `generate(name, sample_rate, channels)` builds one. `to_int16` and
`int16_sha256` define how the generated files are quantised and fingerprinted.

These signals are for evaluation only, never training data.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import torch

__all__ = ["EDGE_SIGNALS", "ENCODEC_HOP", "HOP_PLUS_ONE_SAMPLES", "INT16_SCALE",
           "ODD_PRIME_SAMPLES", "SHORT_SAMPLES", "EdgeSignal", "clipped_sine",
           "dc_offset", "generate", "harmonic_tone", "impulses", "int16_sha256",
           "log_sweep", "near_silence", "pink_noise", "silence", "speech_like",
           "stereo_unrelated", "to_int16", "tone_burst", "white_noise"]

#: Full scale for 16-bit PCM: int16 = round(x * 32768), clipped to [-32768, 32767] (the inverse
#: of soundfile's int16 -> float conversion).
INT16_SCALE = 32768
#: EnCodec's hop (samples per frame) at 24 and 48 kHz; "short" signals are shorter than this.
ENCODEC_HOP = 320


def _tensor(x: np.ndarray) -> torch.Tensor:
    """float64 [C, T] -> contiguous float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def _length(sample_rate: int, duration: float) -> int:
    if sample_rate <= 0:
        raise ValueError(f"sample_rate={sample_rate}: must be positive")
    n = int(round(duration * sample_rate))
    if n <= 0:
        raise ValueError(f"duration={duration} s at {sample_rate} Hz gives no samples")
    return n


def _time(n: int, sample_rate: int) -> np.ndarray:
    return np.arange(n, dtype=np.float64) / sample_rate


def _dup(x: np.ndarray, channels: int) -> np.ndarray:
    """Repeat a mono [T] signal on `channels` channels."""
    if channels < 1:
        raise ValueError(f"channels={channels}: must be at least 1")
    return np.repeat(x[None], channels, axis=0)


def _at_rms(x: np.ndarray, level_db: float) -> np.ndarray:
    """Scale each channel of [C, T] to an RMS of `level_db` dBFS."""
    rms = np.sqrt(np.mean(x ** 2, axis=-1, keepdims=True))
    return x / rms * 10 ** (level_db / 20)


def _gaussian(channels: int, n: int, seed: int) -> np.ndarray:
    if channels < 1:
        raise ValueError(f"channels={channels}: must be at least 1")
    return np.random.RandomState(seed).standard_normal((channels, n))


def _pink(channels: int, n: int, seed: int) -> np.ndarray:
    """Gaussian noise shaped to a 1/f power spectrum (amplitude 1/sqrt(f)), no DC."""
    spec = np.fft.rfft(_gaussian(channels, n, seed), axis=-1)
    freqs = np.arange(spec.shape[-1], dtype=np.float64)
    spec[:, 0] = 0.0
    spec[:, 1:] /= np.sqrt(freqs[1:])
    return np.fft.irfft(spec, n=n, axis=-1)


def _fade(x: np.ndarray, sample_rate: int, seconds: float) -> np.ndarray:
    """Raised-cosine fade-in and fade-out of `seconds` on the last axis."""
    k = min(int(seconds * sample_rate), x.shape[-1] // 2)
    if k > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(k) / k)
        x = x.copy()
        x[..., :k] *= ramp
        x[..., -k:] *= ramp[::-1]
    return x


# ------------------------------------------------------------------------------- generators
def silence(sample_rate: int, channels: int = 1, duration: float = 1.0) -> torch.Tensor:
    """All zeros."""
    return _tensor(np.zeros((channels, _length(sample_rate, duration))))


def near_silence(sample_rate: int, channels: int = 1, duration: float = 1.0,
                 level_db: float = -80.0, seed: int = 1) -> torch.Tensor:
    """White Gaussian noise at exactly `level_db` dBFS RMS per channel (independent channels)."""
    return _tensor(_at_rms(_gaussian(channels, _length(sample_rate, duration), seed), level_db))


def dc_offset(sample_rate: int, channels: int = 1, duration: float = 1.0, offset: float = 0.5,
              tone_hz: float = 440.0, tone_amplitude: float = 0.25) -> torch.Tensor:
    """A constant `offset` plus a sine; over whole periods the mean is `offset`."""
    t = _time(_length(sample_rate, duration), sample_rate)
    return _tensor(_dup(offset + tone_amplitude * np.sin(2 * np.pi * tone_hz * t), channels))


def clipped_sine(sample_rate: int, channels: int = 1, duration: float = 1.0,
                 freq: float = 100.0, gain: float = 4.0) -> torch.Tensor:
    """A sine of amplitude `gain` hard-clipped to +-1.0 (full scale, near square wave)."""
    t = _time(_length(sample_rate, duration), sample_rate)
    return _tensor(_dup(np.clip(gain * np.sin(2 * np.pi * freq * t), -1.0, 1.0), channels))


def impulses(sample_rate: int, channels: int = 1, duration: float = 1.0, period: float = 0.1,
             first: float = 0.05, amplitude: float = 0.9) -> torch.Tensor:
    """Single-sample clicks of alternating sign every `period` s, the first at `first` s."""
    n = _length(sample_rate, duration)
    x = np.zeros(n)
    pos = np.arange(int(round(first * sample_rate)), n, int(round(period * sample_rate)))
    x[pos] = amplitude * np.where(np.arange(len(pos)) % 2 == 0, 1.0, -1.0)
    return _tensor(_dup(x, channels))


def log_sweep(sample_rate: int, channels: int = 1, duration: float = 4.0,
              f_start: float = 20.0, f_end: float | None = None, amplitude: float = 0.5,
              fade: float = 0.01) -> torch.Tensor:
    """Exponential sine sweep from `f_start` to `f_end` (default Nyquist), faded in and out.

    Instantaneous frequency f(t) = f_start * (f_end / f_start) ** (t / duration).
    """
    f_end = sample_rate / 2 if f_end is None else f_end
    n = _length(sample_rate, duration)
    t = _time(n, sample_rate)
    rate = n / sample_rate / math.log(f_end / f_start)
    phase = 2 * np.pi * f_start * rate * (np.exp(t / rate) - 1.0)
    return _tensor(_dup(_fade(amplitude * np.sin(phase), sample_rate, fade), channels))


def white_noise(sample_rate: int, channels: int = 1, duration: float = 1.0,
                level_db: float = -20.0, seed: int = 2) -> torch.Tensor:
    """Seeded white Gaussian noise at `level_db` dBFS RMS per channel (independent channels)."""
    return _tensor(_at_rms(_gaussian(channels, _length(sample_rate, duration), seed), level_db))


def pink_noise(sample_rate: int, channels: int = 1, duration: float = 1.0,
               level_db: float = -20.0, seed: int = 3) -> torch.Tensor:
    """Seeded pink (1/f, -3 dB/octave) noise at `level_db` dBFS RMS (independent channels)."""
    return _tensor(_at_rms(_pink(channels, _length(sample_rate, duration), seed), level_db))


def tone_burst(sample_rate: int, channels: int = 1, samples: int = 100, freq: float = 1000.0,
               amplitude: float = 0.5) -> torch.Tensor:
    """A Hann-windowed sine burst of exactly `samples` samples."""
    if samples <= 0:
        raise ValueError(f"samples={samples}: must be positive")
    t = _time(samples, sample_rate)
    window = np.hanning(samples + 2)[1:-1]
    return _tensor(_dup(amplitude * window * np.sin(2 * np.pi * freq * t), channels))


def harmonic_tone(sample_rate: int, channels: int = 1, samples: int = 16001,
                  f0: float = 220.0, n_harmonics: int = 5, amplitude: float = 0.3
                  ) -> torch.Tensor:
    """A steady harmonic tone (1/k amplitudes) of exactly `samples` samples, no fades: it is
    non-zero up to the last sample, so any trimming or padding error shows."""
    if samples <= 0:
        raise ValueError(f"samples={samples}: must be positive")
    t = _time(samples, sample_rate) + 0.25 / f0
    ks = [k for k in range(1, n_harmonics + 1) if k * f0 < sample_rate / 2]
    x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in ks)
    return _tensor(_dup(amplitude * x / sum(1 / k for k in ks), channels))


def _speech_like_mono(sample_rate: int, n: int, seed: int) -> np.ndarray:
    """Voiced-speech-like [T]: a gliding harmonic source (FM), three moving formants and
    syllable envelopes (AM) with pauses, peak 0.5."""
    rng = np.random.RandomState(seed)
    t = _time(n, sample_rate)
    # Prosody: slow sums of sinusoids with seeded phases (f0 in about 95..185 Hz).
    ph = rng.uniform(0, 2 * np.pi, size=6)
    f0 = 135.0 * (1 + 0.18 * np.sin(2 * np.pi * 0.23 * t + ph[0])
                  + 0.10 * np.sin(2 * np.pi * 1.3 * t + ph[1])
                  + 0.03 * np.sin(2 * np.pi * 5.5 * t + ph[2]))
    formants = [(500.0 + 250.0 * np.sin(2 * np.pi * 0.9 * t + ph[3]), 90.0),
                (1500.0 + 600.0 * np.sin(2 * np.pi * 0.6 * t + ph[4]), 120.0),
                (2600.0 + 300.0 * np.sin(2 * np.pi * 0.4 * t + ph[5]), 160.0)]
    # Harmonic k is Im(z ** k), z = exp(i * phase); formant gains are computed on a 5 ms grid
    # and interpolated (they vary slowly).
    z = np.exp(1j * (2 * np.pi * np.cumsum(f0) / sample_rate))
    step = max(1, sample_rate // 200)
    grid = np.arange(0, n + step, step, dtype=np.float64)
    idx = np.arange(n, dtype=np.float64)
    f0_grid = np.interp(grid, idx, f0)
    formants_grid = [(np.interp(grid, idx, fc), bw) for fc, bw in formants]
    top = min(0.45 * sample_rate, 8000.0)
    x = np.zeros(n)
    zk = np.ones(n, dtype=np.complex128)
    for k in range(1, int(top / 95.0) + 1):
        zk *= z
        fk = k * f0_grid
        gain = sum(np.exp(-0.5 * ((fk - fc) / bw) ** 2) for fc, bw in formants_grid) + 0.02
        gain = np.where(fk < top, gain / k ** 0.5, 0.0)
        x += np.interp(idx, grid, gain) * zk.imag
    # Syllables of 0.12-0.30 s, gaps of 0.03-0.10 s, a longer pause every few syllables.
    env = np.zeros(n)
    pos = int(0.2 * sample_rate)
    while pos < n:
        length = int(rng.uniform(0.12, 0.30) * sample_rate)
        seg = min(length, n - pos)
        env[pos:pos + seg] = rng.uniform(0.4, 1.0) * np.hanning(length + 2)[1:-1][:seg]
        gap = rng.uniform(0.25, 0.6) if rng.uniform() < 0.2 else rng.uniform(0.03, 0.10)
        pos += length + int(gap * sample_rate)
    x *= env
    return 0.5 * x / np.abs(x).max()


def speech_like(sample_rate: int, channels: int = 1, duration: float = 60.0,
                seed: int = 4) -> torch.Tensor:
    """Speech-like AM/FM harmonic tones (see `_speech_like_mono`), the same on every channel."""
    return _tensor(_dup(_speech_like_mono(sample_rate, _length(sample_rate, duration), seed),
                        channels))


def stereo_unrelated(sample_rate: int, channels: int = 2, duration: float = 2.0,
                     seed: int = 5, noise_level_db: float = -20.0) -> torch.Tensor:
    """Left: speech-like harmonic tones; right: independent pink noise (unrelated content)."""
    if channels != 2:
        raise ValueError(f"channels={channels}: stereo_unrelated is stereo only")
    n = _length(sample_rate, duration)
    left = _speech_like_mono(sample_rate, n, seed)
    right = _at_rms(_pink(1, n, seed + 1000), noise_level_db)[0]
    return _tensor(np.stack([left, right]))


# -------------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class EdgeSignal:
    """One entry of EDGE_SIGNALS.

    `channels` is the native channel count; the length is `duration` seconds, or exactly
    `samples` samples at any rate when `samples` is set (then `duration` is None).
    `stereo_variant`: whether a 48 kHz stereo file is also worth writing (mono signals are
    duplicated on both channels, noises get independent channels).
    """

    name: str
    channels: int
    duration: float | None
    description: str
    make: Callable[..., torch.Tensor] = field(repr=False)
    samples: int | None = None
    stereo_variant: bool = True

    def num_samples(self, sample_rate: int) -> int:
        """Length of the signal at `sample_rate`."""
        if self.samples is not None:
            return self.samples
        assert self.duration is not None
        return _length(sample_rate, self.duration)

    def generate(self, sample_rate: int = 24000, channels: int | None = None) -> torch.Tensor:
        """The signal as float32 [channels, T] (default: native channels)."""
        return self.make(sample_rate, self.channels if channels is None else channels)


def _sig(name: str, channels: int, description: str, fn: Callable[..., torch.Tensor],
         duration: float | None = None, samples: int | None = None,
         stereo_variant: bool = True) -> EdgeSignal:
    make = partial(fn, samples=samples) if samples is not None else partial(fn, duration=duration)
    return EdgeSignal(name, channels, duration, description, make, samples, stereo_variant)


#: A prime length, not a multiple of any hop or chunk size.
ODD_PRIME_SAMPLES = 12347
#: One sample more than a whole number of 320-sample frames (50 frames).
HOP_PLUS_ONE_SAMPLES = 50 * ENCODEC_HOP + 1
SHORT_SAMPLES = 100

EDGE_SIGNALS: dict[str, EdgeSignal] = {s.name: s for s in [
    _sig("silence", 1, "digital silence: all samples 0", silence, duration=1.0),
    _sig("near_silence", 1, "white Gaussian noise at -80 dBFS RMS (seed 1)", near_silence,
         duration=1.0),
    _sig("dc_offset", 1, "DC offset 0.5 plus a 440 Hz sine of amplitude 0.25 (mean 0.5)",
         dc_offset, duration=1.0),
    _sig("clipping", 1, "100 Hz sine of amplitude 4 hard-clipped to +-1.0 (full scale)",
         clipped_sine, duration=1.0),
    _sig("impulses", 1, "single-sample clicks of +-0.9, alternating sign, every 0.1 s from 0.05 s",
         impulses, duration=1.0),
    _sig("log_sweep", 1, "exponential sine sweep 20 Hz to Nyquist, amplitude 0.5, 10 ms fades",
         log_sweep, duration=4.0),
    _sig("white_noise", 1, "white Gaussian noise at -20 dBFS RMS (seed 2)", white_noise,
         duration=1.0),
    _sig("pink_noise", 1, "pink (1/f, -3 dB/octave) noise at -20 dBFS RMS (seed 3)", pink_noise,
         duration=1.0),
    _sig("short", 1, f"{SHORT_SAMPLES}-sample Hann-windowed 1 kHz burst, shorter than one "
         f"{ENCODEC_HOP}-sample hop", tone_burst, samples=SHORT_SAMPLES),
    _sig("odd_length_prime", 1, f"220 Hz harmonic tone of {ODD_PRIME_SAMPLES} samples (prime)",
         harmonic_tone, samples=ODD_PRIME_SAMPLES),
    _sig("odd_length_hop_plus_one", 1, f"220 Hz harmonic tone of {HOP_PLUS_ONE_SAMPLES} samples "
         f"(50 hops of {ENCODEC_HOP} plus one)", harmonic_tone, samples=HOP_PLUS_ONE_SAMPLES),
    _sig("long_60s", 1, "60 s of speech-like AM/FM harmonic tones with formants and pauses "
         "(seed 4)", speech_like, duration=60.0, stereo_variant=False),
    _sig("stereo_unrelated", 2, "left: speech-like harmonic tones (seed 5); right: independent "
         "pink noise at -20 dBFS (seed 1005)", stereo_unrelated, duration=2.0),
]}


def generate(name: str, sample_rate: int = 24000, channels: int | None = None) -> torch.Tensor:
    """EDGE_SIGNALS[name] as float32 [C, T] at `sample_rate` (default: native channels)."""
    try:
        spec = EDGE_SIGNALS[name]
    except KeyError:
        raise KeyError(f"unknown edge signal {name!r}; known: {sorted(EDGE_SIGNALS)}") from None
    return spec.generate(sample_rate, channels)


def to_int16(wav: torch.Tensor) -> np.ndarray:
    """float [C, T] -> int16 [C, T]: round(x * 32768), clipped to [-32768, 32767]."""
    x = np.rint(wav.detach().cpu().double().numpy() * INT16_SCALE)
    return np.clip(x, -INT16_SCALE, INT16_SCALE - 1).astype(np.int16)


def int16_sha256(samples: np.ndarray) -> str:
    """sha256 of int16 [C, T] samples as little-endian int16, interleaved (frame by frame)."""
    if samples.dtype != np.int16 or samples.ndim != 2:
        raise ValueError(f"expected int16 [C, T], got {samples.dtype} {samples.shape}")
    return hashlib.sha256(np.ascontiguousarray(samples.T).astype("<i2").tobytes()).hexdigest()
