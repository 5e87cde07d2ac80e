"""Reference audio: checksums, licenses, the generated edge signals and the catalogue."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from conformance import reference as ref
from conformance import signals
from conformance.audio_io import convert_audio, load_audio

ROOT = Path(__file__).resolve().parent.parent
REF = ROOT / "reference_audio"
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
    path = ROOT / "scripts" / "make_reference_signals.py"
    spec = importlib.util.spec_from_file_location("make_reference_signals", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------ vendored recordings
def test_every_recording_matches_sha256sums():
    sums = _sums()
    assert len(sums) >= 5
    for name, digest in sums.items():
        assert hashlib.sha256((REF / name).read_bytes()).hexdigest() == digest, name
    on_disk = {p.name for p in REF.iterdir() if p.suffix in AUDIO_SUFFIXES}
    assert on_disk == set(sums), "every vendored audio file must be listed in SHA256SUMS"


def test_every_vendored_file_has_a_notice_entry_with_a_license():
    rows = _notice_rows()
    header = rows.pop("file")
    lic = header.index("license")
    for name in _sums():
        assert name in rows, f"{name} lacks a NOTICE.md row"
        license_text = rows[name][lic]
        assert re.search(r"CC0 1\.0|CMU ARCTIC license", license_text), (name, license_text)
        if "CMU ARCTIC" in license_text:
            assert (REF / "LICENSE-CMU_ARCTIC.txt").is_file()
    notice = (REF / "NOTICE.md").read_text()
    assert "never be used as training data" in notice.replace("\n", " ")
    assert "generated/" in notice and "MIT" in notice


def test_catalogue_matches_the_files():
    sums = _sums()
    assert {c.file for c in ref.RECORDINGS} == set(sums)
    for clip in ref.reference_clips().values():
        info = sf.info(str(clip.path))
        assert (info.samplerate, info.channels) == (clip.sample_rate, clip.channels), clip.name
        assert clip.license and clip.for_training is False
        assert (clip.sex is not None) == (clip.kind == "speech")
    assert ref.speech_clips("female") == ["speech_female_16k_cmu_arctic_slt_a0009"]
    assert ref.speech_clips("male") == ["speech_male_16k_cmu_arctic_awb_a0007"]
    assert len(ref.music_clips()) == 3
    assert ref.edge_clips() == [e["name"] for e in _manifest()["signals"]]
    assert any(ref.reference_clip(n).channels == 1 for n in ref.music_clips())
    with pytest.raises(KeyError, match="unknown reference clip"):
        ref.reference_clip("nope")


# -------------------------------------------------------------------------- generated files
def test_generated_files_match_their_manifest():
    manifest = _manifest()
    assert manifest["for_training"] is False
    files = set()
    for entry in manifest["signals"]:
        data, sr = sf.read(str(GEN / entry["file"]), dtype="int16", always_2d=True)
        assert sr == entry["sample_rate"] and data.shape == (entry["samples"], entry["channels"])
        assert signals.int16_sha256(data.T) == entry["sample_sha256"], entry["file"]
        assert entry["description"] == signals.EDGE_SIGNALS[entry["signal"]].description
        files.add(entry["file"])
    assert {p.name for p in GEN.iterdir() if p.suffix in AUDIO_SUFFIXES} == files
    assert set(signals.EDGE_SIGNALS) == {e["signal"] for e in manifest["signals"]}
    assert sum((GEN / f).stat().st_size for f in files) < 3 * 2 ** 20


def test_regenerating_reproduces_the_manifest(tmp_path):
    fresh = _script().make_reference_signals(tmp_path)
    assert fresh == _manifest()
    assert json.loads((tmp_path / "MANIFEST.json").read_text()) == fresh


# ---------------------------------------------------------------------- edge signal properties
SR = 24000


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


# ------------------------------------------------------------------------------ load_reference
def test_load_reference_resamples_and_remixes():
    male = ref.load_reference("speech_male_16k_cmu_arctic_awb_a0007", 24000, 1)
    assert male.shape == (1, 96000) and male.dtype == torch.float32  # 4.00 s
    guitar = ref.reference_clip("music_guitar_e_slide_mono_44k_sonicpi")
    native = ref.load_reference(guitar.name)
    assert native.shape == (1, 190741)
    stereo48 = ref.load_reference(guitar.name, 48000, 2)
    assert stereo48.shape == (2, math.ceil(190741 * 48000 / 44100))
    assert torch.equal(stereo48[0], stereo48[1])
    em9 = "music_guitar_em9_stereo_44k_sonicpi"
    raw, sr = load_audio(ref.reference_clip(em9).path)
    assert torch.equal(ref.load_reference(em9, 24000, 1), convert_audio(raw, sr, 24000, 1))
    assert ref.load_reference(em9, 24000, 1).shape[-1] / 24000 == pytest.approx(9.97, abs=0.01)


def test_load_reference_of_a_generated_signal_is_the_quantised_signal():
    loaded = ref.load_reference("log_sweep_48k_stereo")
    expected = signals.to_int16(signals.generate("log_sweep", 48000, 2)) / signals.INT16_SCALE
    assert torch.equal(loaded, torch.from_numpy(expected.astype(np.float32)))
    assert ref.load_reference("short_24k_mono", 48000, 2).shape == (2, 200)
