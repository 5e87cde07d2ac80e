"""The generated signals as files: the bundled FLACs match their manifest, and regenerating
reproduces it."""

from __future__ import annotations

import json
import math

import numpy as np
import soundfile as sf

from conformance._data import reference_audio_dir
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
