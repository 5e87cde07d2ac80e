"""Bounded memory: a 60-minute file is evaluated by a fresh process whose resident-set
high-water mark (absolute: interpreter, torch, model and evaluation) stays under 1.5 GB.

A small model for speed (the golden 24 kHz checkpoint measured by hand: docs/corpus_validation.md);
coding the same file in one pass would need several GB for its activations alone."""

from __future__ import annotations

import pytest

from conformance.corpus.peak import measure
from conformance.corpus.sample import write_long_signal
from tests.configs import small
from tests.corpus.conftest import write_checkpoint

#: 24 kHz causal structure at its narrowest: 2 filters, no residual blocks.
TINY = small("encodec_24khz", n_filters=2, dimension=4, n_residual_layers=0, bins=16, n_q=2,
             target_bandwidths=(0.3,))
LIMIT_BYTES = 1.5e9


@pytest.mark.slow
def test_a_60_minute_file_stays_under_1_5_gb(tmp_path):
    audio = write_long_signal(tmp_path / "hour.wav", 3600.0)
    assert audio.stat().st_size > 3600 * 24000 * 2  # 16-bit PCM, really an hour
    ckpt = write_checkpoint(tmp_path, TINY, seed=1)
    out = measure(ckpt, audio, "--metric", "si_sdr", "--threads", "1", timeout=1800)
    assert out["status"] == "computed" and out["duration"] == 3600.0
    assert out["windows"] == 120 and out["coding"]["strategy"] == "streaming"
    assert out["bandwidths"]["0.3"]["metrics"]["si_sdr"]["windows"]["computed"] == 120
    assert out["peak_rss_bytes"] < LIMIT_BYTES, f"{out['peak_rss_bytes'] / 1e9:.2f} GB"


def test_the_measurement_reports_a_short_file(tmp_path):
    audio = write_long_signal(tmp_path / "short.wav", 2.0, sample_rate=16000)
    ckpt = write_checkpoint(tmp_path, TINY, seed=1)
    out = measure(ckpt, audio, "--metric", "si_sdr", "--metric", "mel_distance",
                  "--threads", "1", timeout=600)
    assert out["duration"] == 2.0 and out["windows"] == 1 and out["threads"] == 1
    assert out["settings"]["metrics"] == ["si_sdr", "mel_distance"]
    assert out["peak_rss_bytes"] > 10e6 and out["wall_seconds"] > 0
