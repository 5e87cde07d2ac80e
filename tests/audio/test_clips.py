"""Reference audio: checksums, licenses, the generated edge signals and the catalogue."""

from __future__ import annotations

import hashlib
import json
import math
import re

import numpy as np
import pytest
import soundfile as sf
import torch

from conformance._data import reference_audio_dir
from conformance.audio import clips as ref
from conformance.audio import generated, signals
from conformance.audio.io import convert_audio, load_audio

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




# ---------------------------------------------------------------------- edge signal properties
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
