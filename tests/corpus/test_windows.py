"""Metrics in windows: a short file is scored whole, exactly; a long one per window, combined
by a length-weighted mean that ignores windows where a metric is not computed."""

from __future__ import annotations

import math

import pytest
import torch

from conformance.corpus.segments import Piece
from conformance.corpus.windows import WindowedMetrics, bandwidth_key
from conformance.errors import InvalidArgument
from conformance.quality.metrics import compute_metrics
from tests.corpus.conftest import signal

METRICS = ("si_sdr", "mel_distance", "stoi")


def _feed(w: WindowedMetrics, ref: torch.Tensor, dec: torch.Tensor, step: int):
    for i in range(0, ref.shape[-1], step):
        w.feed(Piece(ref[:, i:i + step], {1.5: dec[:, i:i + step]}))
    return w.finish()


def _pair(seconds: float, seed: int = 0):
    ref = signal(seconds, 16000, seed=seed)
    return ref, ref + 0.01 * signal(seconds, 16000, seed=seed + 1)


def test_a_file_within_one_and_a_half_windows_is_scored_whole():
    ref, dec = _pair(1.4)
    out = _feed(WindowedMetrics(16000, [1.5], METRICS, window_seconds=1.0), ref, dec, 999)
    assert out["windows"] == 1
    whole = compute_metrics(ref, dec, 16000, list(METRICS))
    got = out["bandwidths"]["1.5"]["metrics"]
    for name in METRICS:
        assert got[name]["value"] == whole[name].value  # the same call on the same samples


def test_windows_are_weighted_by_length_and_never_shorter_than_half():
    ref, dec = _pair(3.3, seed=2)
    w = WindowedMetrics(16000, [1.5], ("si_sdr",), window_seconds=1.0)
    out = _feed(w, ref, dec, 1234)
    assert out["windows"] == 3  # 1 s, 1 s, then 1.3 s: the 0.3 s remainder is joined
    bounds = [(0, 16000), (16000, 32000), (32000, ref.shape[-1])]
    values = [compute_metrics(ref[:, a:b], dec[:, a:b], 16000, ["si_sdr"])["si_sdr"].value
              for a, b in bounds]
    weights = [b - a for a, b in bounds]
    want = math.fsum(v * n for v, n in zip(values, weights)) / math.fsum(weights)
    assert out["bandwidths"]["1.5"]["metrics"]["si_sdr"]["value"] == want
    assert out["bandwidths"]["1.5"]["metrics"]["si_sdr"]["windows"] == {
        "computed": 3, "not_computed": 0}


def test_the_piece_sizes_do_not_change_the_result():
    ref, dec = _pair(2.6, seed=3)
    outs = [_feed(WindowedMetrics(16000, [1.5], METRICS, window_seconds=0.7), ref, dec, step)
            for step in (100, 16000, 99999)]
    assert outs[0] == outs[1] == outs[2]


def test_silent_windows_are_left_out_and_counted():
    ref, dec = _pair(3.0, seed=4)
    ref[:, 16000:32000] = 0.0
    out = _feed(WindowedMetrics(16000, [1.5], ("si_sdr",), window_seconds=1.0), ref, dec, 4000)
    m = out["bandwidths"]["1.5"]["metrics"]["si_sdr"]
    assert m["windows"] == {"computed": 2, "not_computed": 1}
    assert m["status"] == "computed"
    silent = _feed(WindowedMetrics(16000, [1.5], ("si_sdr",), window_seconds=1.0),
                   torch.zeros(1, 8000), torch.zeros(1, 8000), 4000)
    m = silent["bandwidths"]["1.5"]["metrics"]["si_sdr"]
    assert m["status"] == "not_computed" and m["value"] is None and "silent" in m["reason"]


def test_nan_in_a_decode_is_counted_and_the_peak_recorded():
    ref, dec = _pair(0.5, seed=5)
    dec[0, 10:13] = float("nan")
    dec[0, 20] = 0.75
    out = _feed(WindowedMetrics(16000, [1.5], ("si_sdr",)), ref, dec, 1000)
    assert out["bandwidths"]["1.5"]["nonfinite_samples"] == 3
    assert out["bandwidths"]["1.5"]["peak"] == pytest.approx(float(dec[0, 20]))


def test_bad_arguments_are_refused():
    with pytest.raises(InvalidArgument, match="unknown metric"):
        WindowedMetrics(16000, [1.5], ("snr",))
    with pytest.raises(InvalidArgument, match="window_seconds"):
        WindowedMetrics(16000, [1.5], ("si_sdr",), window_seconds=0)
    with pytest.raises(InvalidArgument, match="no samples"):
        WindowedMetrics(16000, [1.5], ("si_sdr",)).finish()


def test_bandwidth_keys_are_short():
    assert [bandwidth_key(b) for b in (1.5, 6.0, 2.2, 24.0)] == ["1.5", "6", "2.2", "24"]
