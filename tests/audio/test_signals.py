"""The generated edge-case signals: shapes, levels, spectra and lengths, deterministic."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from conformance._data import reference_audio_dir
from conformance.audio import clips as ref
from conformance.audio import generated, signals

REF = reference_audio_dir()


GEN = REF / "generated"


AUDIO_SUFFIXES = {".wav", ".flac"}


def _sums() -> dict[str, str]:
    lines = (REF / "SHA256SUMS").read_text().splitlines()
    return {name: digest for digest, name in (line.split() for line in lines if line.strip())}


def _notice_rows() -> dict[str, list[str]]:
    """First column -> cells of each row of the NOTICE.md tables."""
    rows = {}
    for line in (REF / "NOTICE.md").read_text().splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[cells[0]] = cells
    return rows


def _manifest() -> dict:
    return json.loads((GEN / "MANIFEST.json").read_text())


def _script():
    return generated


SR = 24000


def _octave_band_psd_db(x: np.ndarray, sr: int, low: float, high: float) -> tuple:
    """Welch PSD (Hann, ~43 ms, 50% overlap) averaged in octave bands: (log2 centres, dB)."""
    n = 1024 * sr // 24000
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[:: n // 2] * np.hanning(n)
    psd = (np.abs(np.fft.rfft(frames, axis=-1)) ** 2).mean(0)
    freqs = np.fft.rfftfreq(n, 1 / sr)
    edges = low * 2.0 ** np.arange(0, math.log2(high / low) + 1e-9)
    centres, levels = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        band = (freqs >= lo) & (freqs < hi)
        centres.append(math.log2(math.sqrt(lo * hi)))
        levels.append(10 * math.log10(psd[band].mean()))
    return np.array(centres), np.array(levels)


@pytest.mark.parametrize("sr", [24000, 48000])
def test_registry_shapes(sr):
    for spec in signals.EDGE_SIGNALS.values():
        if spec.name == "long_60s":  # generated once, by test_regenerating_...
            assert spec.num_samples(sr) == 60 * sr
            continue
        for channels in sorted({spec.channels, 2}):
            wav = spec.generate(sr, channels)
            assert wav.dtype == torch.float32 and wav.shape == (channels, spec.num_samples(sr))
            assert bool(torch.isfinite(wav).all()) and float(wav.abs().max()) <= 1.0
            assert torch.equal(wav, signals.generate(spec.name, sr, channels))
    with pytest.raises(KeyError, match="unknown edge signal"):
        signals.generate("nope")
    with pytest.raises(ValueError, match="stereo only"):
        signals.generate("stereo_unrelated", sr, 1)


def test_silence_and_near_silence():
    assert not signals.generate("silence", SR).any()
    quiet = signals.generate("near_silence", SR).double()
    assert 20 * math.log10(float(quiet.pow(2).mean().sqrt())) == pytest.approx(-80.0, abs=0.01)
    assert float(quiet.abs().max()) < 10 ** (-60 / 20)
    assert float(quiet.std()) > 0


def test_dc_offset_and_clipping():
    assert float(signals.generate("dc_offset", SR).double().mean()) == pytest.approx(0.5, abs=1e-4)
    clipped = signals.generate("clipping", SR)
    assert float(clipped.max()) == 1.0 and float(clipped.min()) == -1.0
    assert 0.5 < float((clipped.abs() == 1.0).float().mean()) < 0.95


def test_impulses():
    wav = signals.generate("impulses", SR)[0]
    pos = torch.nonzero(wav).flatten().tolist()
    assert pos == list(range(1200, SR, 2400))
    assert wav[pos].tolist() == pytest.approx([0.9 * (-1) ** i for i in range(len(pos))])


@pytest.mark.parametrize("sr", [24000, 48000])
def test_sweep_frequency_rises_to_nyquist(sr):
    wav = signals.generate("log_sweep", sr)[0]
    n_fft = 4096
    spec = torch.stft(wav, n_fft, hop_length=n_fft // 2, window=torch.hann_window(n_fft),
                      center=False, return_complex=True).abs()
    peak_hz = spec.argmax(0).double() * sr / n_fft
    assert bool((peak_hz.diff() >= 0).all()), "instantaneous frequency must rise"
    assert float(peak_hz[0]) < 100
    # The last 512 samples (<= 21 ms) peak within 10% of Nyquist.
    tail = (torch.fft.rfft(wav[-512:] * torch.hann_window(512)).abs().argmax()) * sr / 512
    assert float(tail) > 0.9 * sr / 2


@pytest.mark.parametrize("name, slope", [("pink_noise", -3.01), ("white_noise", 0.0)])
def test_noise_spectrum_slope(name, slope):
    for sr in (24000, 48000):
        x = signals.generate(name, sr)[0].double().numpy()
        assert 20 * math.log10(np.sqrt(np.mean(x ** 2))) == pytest.approx(-20.0, abs=0.01)
        centres, levels = _octave_band_psd_db(x, sr, 93.75, 0.9 * sr / 2)
        fitted = np.polyfit(centres, levels, 1)[0]
        assert fitted == pytest.approx(slope, abs=0.5), (sr, fitted)


def test_stereo_channels_are_unrelated():
    for name in ("stereo_unrelated", "white_noise", "pink_noise", "near_silence"):
        left, right = signals.generate(name, 48000, 2).double()
        corr = float(torch.corrcoef(torch.stack([left, right]))[0, 1])
        assert abs(corr) < 0.1, (name, corr)
    assert signals.EDGE_SIGNALS["stereo_unrelated"].channels == 2
    mono_made_stereo = signals.generate("log_sweep", 48000, 2)
    assert torch.equal(mono_made_stereo[0], mono_made_stereo[1])


def test_lengths():
    short = signals.generate("short", SR)
    assert short.shape[-1] == 100 < signals.ENCODEC_HOP
    prime = signals.generate("odd_length_prime", SR)
    n = prime.shape[-1]
    assert n % 2 == 1 and all(n % p for p in range(2, int(n ** 0.5) + 1))
    plus_one = signals.generate("odd_length_hop_plus_one", 48000)
    assert plus_one.shape[-1] % signals.ENCODEC_HOP == 1
    for wav in (prime, plus_one):
        assert float(wav[0, -1].abs()) > 1e-3, "odd-length tones run to the last sample"
    long = ref.load_reference("long_60s_24k_mono")
    assert long.shape == (1, 60 * SR)
    frames = long[0].reshape(-1, 480).pow(2).mean(1).sqrt()
    assert 0.05 < float((frames < 1e-3).float().mean()) < 0.6, "speech-like pauses"
    assert float(long.abs().max()) == pytest.approx(0.5, abs=1e-4)
