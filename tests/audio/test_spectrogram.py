"""Spectrograms: a sine's energy sits at its frequency, the axes are in seconds and Hz, stereo is
mixed, and signals that cannot make one are refused with a clear error."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from conformance.audio.spectrogram import N_FFT, log_spectrogram
from conformance.errors import InvalidArgument

SR = 16000


def _sine(freq: float, seconds: float = 0.5) -> torch.Tensor:
    t = torch.arange(int(SR * seconds)) / SR
    return 0.5 * torch.sin(2 * math.pi * freq * t)


@pytest.mark.parametrize("freq", [500.0, 2000.0, 6000.0])
def test_the_loudest_bin_is_the_sine_frequency(freq) -> None:
    spec = log_spectrogram(_sine(freq), SR)
    loudest = spec.freqs[int(spec.db.mean(axis=1).argmax())]
    assert abs(loudest - freq) <= SR / N_FFT  # within one bin


def test_axes_are_seconds_and_hertz_up_to_nyquist() -> None:
    spec = log_spectrogram(_sine(1000.0, seconds=1.0), SR)
    assert spec.db.shape == (N_FFT // 2 + 1, len(spec.times))
    assert spec.freqs[0] == 0.0 and spec.freqs[-1] == SR / 2
    assert np.allclose(np.diff(spec.times), (N_FFT // 4) / SR)
    assert spec.duration == pytest.approx(1.0, abs=N_FFT / 4 / SR)


def test_stereo_is_mixed_to_mono() -> None:
    mono = log_spectrogram(_sine(1000.0), SR)
    stereo = log_spectrogram(torch.stack([_sine(1000.0), _sine(1000.0)]), SR)
    assert np.allclose(mono.db, stereo.db, atol=1e-4)


@pytest.mark.parametrize(("wav", "rate", "match"), [
    (torch.zeros(100), SR, "at least 512 samples"),
    (torch.zeros(2, 2, 1000), SR, r"\[T\] or \[C, T\]"),
    (torch.full((1000,), float("nan")), SR, "NaN or infinite"),
    (torch.zeros(1000), 0, "positive number of Hz"),
])
def test_signals_that_cannot_make_a_spectrogram_are_refused(wav, rate, match) -> None:
    with pytest.raises(InvalidArgument, match=match):
        log_spectrogram(wav, rate)
