"""The golden thresholds: measured from the speech clips with a margin, never looser than the
acceptance floor when it is met, merged and loaded back from thresholds.json."""

from __future__ import annotations

import json
import shutil

import pytest

from conformance.golden.bundle import golden_checkpoints
from conformance.golden.thresholds import (
    MARGINS,
    golden_thresholds,
    measure_thresholds,
    write_thresholds,
)
from conformance.quality.thresholds import ThresholdError, ThresholdSet


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


def _copy_golden(tmp_path, family: str):
    g = next(g for g in golden_checkpoints() if g.family == family)
    for f in g.checkpoint.parent.glob(f"{family}.*"):
        shutil.copy(f, tmp_path / f.name)
    shutil.copy(g.checkpoint.parent / "thresholds.json", tmp_path / "thresholds.json")
    return tmp_path / f"{family}.manifest.json"


def test_measured_thresholds_are_the_worst_speech_clip_minus_the_margin() -> None:
    ts = ThresholdSet("t", tuple(measure_thresholds("encodec_24khz", _manifest())))
    assert ts.get("encodec_24khz", 1.5, "stoi").minimum == pytest.approx(0.78 - MARGINS["stoi"])
    assert ts.get("encodec_24khz", 1.5, "mel_distance").maximum == pytest.approx(
        0.7 * (1 + MARGINS["mel_distance"]))
    # top bandwidth: the acceptance floor (0.85 STOI) is met by both clips and tighter than 0.86
    assert ts.get("encodec_24khz", 6.0, "stoi").minimum == pytest.approx(0.88 - 0.02)
    assert all(t.measured for t in ts)
    # music is not used: its mel distance 9.0 would have set the ceiling
    assert ts.get("encodec_24khz", 6.0, "mel_distance").maximum < 1.0


def test_the_acceptance_floor_is_kept_when_met_and_reported_when_missed() -> None:
    met = ThresholdSet("t", tuple(measure_thresholds("encodec_24khz", _manifest(
        stoi=(0.86, 0.86)))))
    t = met.get("encodec_24khz", 6.0, "stoi")
    assert t.minimum == 0.85 and "no looser than the acceptance floor" in t.margin_note
    missed = ThresholdSet("t", tuple(measure_thresholds("encodec_24khz", _manifest(
        pesq=(1.2, 1.25)))))
    t = missed.get("encodec_24khz", 6.0, "pesq_wb")
    assert t.minimum == pytest.approx(1.15) and "MISSES the acceptance floor 1.3" in t.margin_note


def test_measuring_needs_speech_and_computed_metrics() -> None:
    m = _manifest()
    for clip in ("speech_a", "speech_b"):
        m["clips"][clip]["kind"] = "music"
    with pytest.raises(ThresholdError, match="no speech clips"):
        measure_thresholds("encodec_24khz", m)
    m = _manifest()
    m["clips"]["speech_b"]["bandwidths"]["6.0"]["metrics"]["stoi"] = {
        "status": "not_computed", "reason": "too short"}
    with pytest.raises(ThresholdError, match="speech_b @ 6: stoi not computed .too short"):
        measure_thresholds("encodec_24khz", m)


def test_thresholds_file_merges_families_and_loads_back(tmp_path) -> None:
    path = tmp_path / "thresholds.json"
    with pytest.raises(ThresholdError, match="no golden thresholds file"):
        golden_thresholds(path)
    write_thresholds(measure_thresholds("encodec_24khz", _manifest()), path)
    write_thresholds(measure_thresholds("encodec_48khz", _manifest()), path)
    write_thresholds(measure_thresholds("encodec_24khz", _manifest(stoi=(0.95, 0.95))), path,
                     replace_families=["encodec_24khz"])
    ts = golden_thresholds(path)
    assert sorted(ts.families()) == ["encodec_24khz", "encodec_48khz"]
    assert len(ts) == 2 * 2 * 3
    assert ts.get("encodec_24khz", 6.0, "stoi").minimum == pytest.approx(0.93)
    assert json.loads(path.read_text())["base"] == "none"
