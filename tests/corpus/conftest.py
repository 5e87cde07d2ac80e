"""Small models and checkpoints for the corpus tests: one per coding strategy (streaming,
chunks, overlap), random but realistic weights (`conformance.testing.weights`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from conformance.checkpoints.write import write_audiocraft
from conformance.testing.weights import random_model
from tests.configs import small

#: Causal 24 kHz structure (streaming), two bandwidths.
CAUSAL = small("encodec_24khz", bins=64, n_q=4, target_bandwidths=(0.9, 1.8))
#: Chunked 48 kHz stereo structure, 50 ms chunks (several per second of audio).
CHUNKED = small("encodec_48khz", bins=64, n_q=4, target_bandwidths=(1.8, 3.6), segment=0.05)
#: Non-causal unchunked 32 kHz structure (overlapped segments).
NONCAUSAL = small("encodec_32khz", bins=64, n_q=4, target_bandwidths=(0.6, 1.2))


@pytest.fixture(scope="session")
def causal_model():
    return random_model(CAUSAL, seed=3).eval()


@pytest.fixture(scope="session")
def chunked_model():
    return random_model(CHUNKED, seed=4).eval()


@pytest.fixture(scope="session")
def noncausal_model():
    return random_model(NONCAUSAL, seed=5).eval()


def write_checkpoint(directory: Path, cfg=CAUSAL, seed: int = 3, name: str = "small.th") -> Path:
    return write_audiocraft(directory / name, cfg, random_model(cfg, seed).state_dict())


def tone(seconds: float, rate: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    """[T, C] float32: a few tones and a little noise at about -15 dBFS."""
    rng = np.random.RandomState(seed)
    t = np.arange(int(round(seconds * rate))) / rate
    freqs = 100 + 1500 * rng.rand(channels, 3)
    x = (np.sin(2 * np.pi * freqs[..., None] * t).sum(1) * 0.08
         + 0.02 * rng.standard_normal((channels, t.size)))
    return x.T.astype(np.float32)


def write_wav(path: Path, seconds: float, rate: int = 24000, channels: int = 1,
              seed: int = 0, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), tone(seconds, rate, channels, seed), rate, **kw)
    return path


def signal(seconds: float, rate: int, channels: int = 1, seed: int = 0) -> torch.Tensor:
    """[C, T] float32 tensor of `tone`."""
    return torch.from_numpy(tone(seconds, rate, channels, seed).T.copy())


def assert_float_equal(got: torch.Tensor, want: torch.Tensor) -> None:
    """Equal up to float rounding: same shape, and no element further from `want` than 1e-5
    of its peak (the whole-file pass itself moves by up to ~1e-6 of the peak between one and
    two threads; streaming measures ~1.5e-6)."""
    assert got.shape == want.shape
    scale = float(want.abs().max())
    worst = float((got - want).abs().max())
    assert worst <= 1e-5 * max(scale, 1e-3), f"max |diff| {worst:.3g} at peak {scale:.3g}"
