"""The quality check on synthetic manifests: rows in bandwidth order, a clip below a threshold
fails."""

from __future__ import annotations

import shutil

from conformance.golden.bundle import golden_checkpoints
from conformance.golden.checks import quality_rows
from conformance.golden.thresholds import (
    measure_thresholds,
)
from conformance.quality.thresholds import ThresholdSet


def _metric(v):
    return {"status": "computed", "value": v}


def _manifest(stoi=(0.90, 0.88), pesq=(1.6, 1.4), mel=(0.50, 0.60)) -> dict:
    clips = {}
    for i, name in enumerate(("speech_a", "speech_b")):
        clips[name] = {"kind": "speech", "bandwidths": {
            "1.5": {"metrics": {"stoi": _metric(stoi[i] - 0.1), "pesq_wb": _metric(pesq[i] - 0.2),
                                "mel_distance": _metric(mel[i] + 0.1),
                                "si_sdr": _metric(1.0)}},
            "6.0": {"metrics": {"stoi": _metric(stoi[i]), "pesq_wb": _metric(pesq[i]),
                                "mel_distance": _metric(mel[i]), "si_sdr": _metric(3.0)}}}}
    clips["music"] = {"kind": "music", "bandwidths": {
        "1.5": {"metrics": {"stoi": _metric(0.1), "pesq_wb": _metric(1.0),
                            "mel_distance": _metric(9.0), "si_sdr": _metric(0.0)}},
        "6.0": {"metrics": {"stoi": _metric(0.1), "pesq_wb": _metric(1.0),
                            "mel_distance": _metric(9.0), "si_sdr": _metric(0.0)}}}}
    return {"bandwidths": [1.5, 6.0], "clips": clips}








def test_quality_rows_fail_a_clip_that_dropped_below_a_threshold() -> None:
    ts = ThresholdSet("t", tuple(measure_thresholds("encodec_24khz", _manifest())))
    assert all(r.passed for r in quality_rows("encodec_24khz", _manifest(), ts))
    worse = _manifest(stoi=(0.90, 0.80))
    rows = quality_rows("encodec_24khz", worse, ts)
    failed = [(r.clip, r.bandwidth, o.metric, round(o.shortfall, 3))
              for r in rows for o in r.outcomes if o.status == "failed"]
    assert failed == [("speech_b", 1.5, "stoi", 0.06), ("speech_b", 6.0, "stoi", 0.06)]




# ------------------------------------------------------------------------------ the CLI
def _copy_golden(tmp_path, family: str):
    g = next(g for g in golden_checkpoints() if g.family == family)
    for f in g.checkpoint.parent.glob(f"{family}.*"):
        shutil.copy(f, tmp_path / f.name)
    shutil.copy(g.checkpoint.parent / "thresholds.json", tmp_path / "thresholds.json")
    return tmp_path / f"{family}.manifest.json"








# ------------------------------------------------------------------------------ the summary


def test_quality_rows_come_in_bandwidth_order_not_string_order() -> None:
    m = _manifest()
    for clip in m["clips"].values():
        clip["bandwidths"]["12.0"] = clip["bandwidths"]["6.0"]
    m["bandwidths"] = [1.5, 6.0, 12.0]
    ts = ThresholdSet("t", tuple(measure_thresholds("encodec_48khz", m)))
    rows = quality_rows("encodec_48khz", m, ts)
    assert [r.bandwidth for r in rows[:3]] == [1.5, 6.0, 12.0]
