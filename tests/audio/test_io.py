"""audio_write strategies, atomic writes, the pinned loader, and the vendored reference audio."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
import soundfile as sf
import torch

from conformance._data import reference_audio_dir
from conformance.audio.io import (
    audio_write,
    convert_audio,
    load_audio,
    normalize_audio,
)

REF = reference_audio_dir()


def _tone(seconds=1.0, sr=16000, amp=0.3, channels=1):
    t = torch.arange(int(seconds * sr)) / sr
    return (amp * torch.sin(2 * math.pi * 440 * t)).repeat(channels, 1)


def _db(x):
    return 20 * math.log10(x)


def test_peak_strategy_sets_peak(tmp_path):
    path = audio_write(tmp_path / "a", _tone(amp=0.05), 16000, strategy="peak")
    assert path.name == "a.wav"
    data, sr = sf.read(path)
    assert sr == 16000
    assert _db(np.abs(data).max()) == pytest.approx(-1.0, abs=0.05)


def test_rms_strategy_sets_rms(tmp_path):
    path = audio_write(tmp_path / "a.wav", _tone(amp=0.05), 16000, strategy="rms",
                       rms_headroom_db=20)
    data, _ = sf.read(path)
    assert _db(np.sqrt((data ** 2).mean())) == pytest.approx(-20.0, abs=0.05)


def test_loudness_strategy_reaches_target_lufs(tmp_path):
    import torchaudio.functional as AF

    path = audio_write(tmp_path / "a.flac", _tone(seconds=2.0, amp=0.02), 16000,
                       strategy="loudness", loudness_headroom_db=18)
    data, sr = sf.read(path)
    assert path.suffix == ".flac" and sr == 16000
    lufs = float(AF.loudness(torch.from_numpy(data).float()[None], sr))
    assert lufs == pytest.approx(-18.0, abs=0.2)


def test_clip_strategy_clips_and_warns():
    loud = _tone(amp=2.0)
    with pytest.warns(RuntimeWarning, match="clipping"):
        out = normalize_audio(loud, 16000, "clip")
    assert float(out.abs().max()) <= 0.99 + 1e-7
    quiet = _tone(amp=0.1)
    assert torch.equal(normalize_audio(quiet, 16000, "clip"), quiet)


def test_silence_and_short_inputs():
    with pytest.warns(RuntimeWarning, match="silent"):
        assert float(normalize_audio(torch.zeros(1, 100), 16000, "peak").abs().max()) == 0
    with pytest.raises(ValueError, match="0.4 s"):
        normalize_audio(_tone(seconds=0.1), 16000, "loudness")
    with pytest.raises(ValueError, match="strategy"):
        normalize_audio(_tone(), 16000, "lufs")


def test_bad_audio_refused(tmp_path):
    with pytest.raises(ValueError, match="NaN"):
        audio_write(tmp_path / "x.wav", torch.full((1, 10), float("nan")), 16000)
    with pytest.raises(ValueError, match="no samples"):
        audio_write(tmp_path / "x.wav", torch.zeros(1, 0), 16000)
    with pytest.raises(ValueError, match="format"):
        audio_write(tmp_path / "x.mp3", _tone(), 16000)
    assert list(tmp_path.iterdir()) == []


def test_stereo_layout(tmp_path):
    wav = torch.stack([_tone(amp=0.2)[0], -_tone(amp=0.1)[0]])
    path = audio_write(tmp_path / "s.wav", wav[None], 16000, strategy="clip")
    data, _ = sf.read(path)
    assert data.shape == (16000, 2)
    assert np.allclose(data[:, 0], wav[0].numpy(), atol=1e-4)
    assert np.allclose(data[:, 1], wav[1].numpy(), atol=1e-4)




def test_convert_audio_remix_and_resample():
    stereo = torch.stack([torch.ones(100), -torch.ones(100)])
    assert torch.equal(convert_audio(stereo, 10, 10, 1), torch.zeros(1, 100))
    mono = torch.randn(1, 50)
    assert torch.equal(convert_audio(mono, 10, 10, 2), mono.expand(2, -1))
    up = convert_audio(_tone(), 16000, 24000, 1)
    assert up.shape == (1, 24000)
    with pytest.raises(ValueError, match="remix"):
        convert_audio(torch.zeros(3, 10), 10, 10, 2)


def test_reference_audio_checksums_and_loading():
    lines = (REF / "SHA256SUMS").read_text().split("\n")
    entries = [line.split() for line in lines if line.strip()]
    assert len(entries) >= 3
    for digest, name in entries:
        assert hashlib.sha256((REF / name).read_bytes()).hexdigest() == digest, name
        assert name in (REF / "NOTICE.md").read_text(), f"{name} lacks a NOTICE entry"
    wav, sr = load_audio(REF / "speech_female_16k_cmu_arctic_slt_a0009.wav", 24000, 1)
    assert sr == 24000 and wav.shape[0] == 1 and wav.shape[1] == pytest.approx(3.1 * 24000,
                                                                               rel=0.01)
    with pytest.raises(ValueError, match="cannot read"):
        load_audio(REF / "NOTICE.md")


