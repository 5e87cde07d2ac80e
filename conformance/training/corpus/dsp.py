"""Signal helpers for the corpus: convolution, room impulse responses, coloured noise, levels,
and the reverb / noise augmentation of synthesised speech."""

from __future__ import annotations

import numpy as np

__all__ = [
    "augment_speech",
    "colored_noise",
    "fft_convolve",
    "normalize_level",
    "rms",
    "room_ir",
]


def fft_convolve(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Linear convolution of x [..., T] with h [L], cut to T samples."""
    n = x.shape[-1] + h.shape[-1] - 1
    nfft = 1 << (n - 1).bit_length()
    y = np.fft.irfft(np.fft.rfft(x, nfft) * np.fft.rfft(h, nfft), nfft)
    return y[..., : x.shape[-1]]


def room_ir(rng: np.random.Generator, sr: int, rt60: float) -> np.ndarray:
    """A room-like impulse response: direct path, sparse early reflections, and a noise tail
    decaying 60 dB in rt60 seconds and darkening with time."""
    n = max(8, int(rt60 * sr))
    t = np.arange(n) / sr
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    # darker with time: mix in a smoothed copy progressively
    smooth = np.convolve(tail, np.ones(8) / 8, mode="same")
    w = np.clip(t / rt60, 0, 1)
    tail = (1 - w) * tail + w * smooth
    pre = int(rng.uniform(0.002, 0.02) * sr)
    tail[:pre] = 0.0
    for _ in range(int(rng.integers(2, 7))):
        tail[int(rng.uniform(0.001, 0.04) * sr) % n] += rng.uniform(-0.5, 0.5)
    tail /= np.sqrt((tail ** 2).sum()) + 1e-9
    ir = np.zeros(n)
    ir[0] = 1.0
    return ir + tail * rng.uniform(0.2, 0.9)


def colored_noise(rng: np.random.Generator, n: int, color: str) -> np.ndarray:
    """White, pink (1/f) or brown (1/f^2) noise of unit RMS."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.shape[0], dtype=float)
    f[0] = 1.0
    exponent = {"white": 0.0, "pink": 0.5, "brown": 1.0}[color]
    x = np.fft.irfft(spec / f ** exponent, n)
    return x / (np.sqrt((x ** 2).mean()) + 1e-12)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)) + 1e-20))


def normalize_level(x: np.ndarray, target_db: float, peak: float = 0.95) -> np.ndarray:
    """Scale to `target_db` dBFS RMS, then down further if the peak would exceed `peak`."""
    y = x * (10 ** (target_db / 20) / rms(x))
    top = float(np.abs(y).max()) if y.size else 0.0
    return y * (peak / top) if top > peak else y


def augment_speech(x: np.ndarray, sr: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Maybe reverb (p 0.5, RT60 0.1-0.7 s), maybe noise (p 0.5, SNR 10-40 dB); then -20
    dBFS RMS. Returns the audio and what was done."""
    info: dict = {}
    if rng.random() < 0.5:
        rt60 = float(rng.uniform(0.1, 0.7))
        x = fft_convolve(x, room_ir(rng, sr, rt60))
        info["reverb_rt60"] = round(rt60, 3)
    if rng.random() < 0.5:
        color = str(rng.choice(["white", "pink", "brown"]))
        snr = float(rng.uniform(10, 40))
        x = x + colored_noise(rng, x.shape[-1], color) * rms(x) * 10 ** (-snr / 20)
        info["noise"] = {"color": color, "snr_db": round(snr, 1)}
    return normalize_level(x, -20.0), info
