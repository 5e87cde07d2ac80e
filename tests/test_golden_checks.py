"""golden_checks on synthetic manifests: measured thresholds, quality rows, the thresholds file,
and the `golden` CLI on a tampered copy of a golden checkpoint."""

from __future__ import annotations

import copy
import json
import shutil

import pytest

from conformance.cli import main as cli_main
from conformance.golden_checks import (
    MARGINS,
    golden_checkpoints,
    golden_thresholds,
    measure_thresholds,
    quality_rows,
    write_thresholds,
)
from conformance.thresholds import ThresholdError, ThresholdSet


def _metric(v):
    return {"status": "ok", "value": v}


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


def test_measured_thresholds_are_the_worst_speech_clip_minus_the_margin() -> None:
    ts = ThresholdSet("t", tuple(measure_thresholds("encodec_24khz", _manifest())))
    assert ts.get("encodec_24khz", 1.5, "stoi").minimum == pytest.approx(0.78 - MARGINS["stoi"])
    assert ts.get("encodec_24khz", 1.5, "mel_distance").maximum == pytest.approx(
        0.7 * (1 + MARGINS["mel_distance"]))
    # top bandwidth: the issue floor (0.85 STOI) is met by both clips and tighter than 0.86
    assert ts.get("encodec_24khz", 6.0, "stoi").minimum == pytest.approx(0.88 - 0.02)
    assert all(t.measured for t in ts)
    # music is not used: its mel distance 9.0 would have set the ceiling
    assert ts.get("encodec_24khz", 6.0, "mel_distance").maximum < 1.0


def test_the_issue_floor_is_kept_when_met_and_reported_when_missed() -> None:
    met = ThresholdSet("t", tuple(measure_thresholds("encodec_24khz", _manifest(
        stoi=(0.86, 0.86)))))
    t = met.get("encodec_24khz", 6.0, "stoi")
    assert t.minimum == 0.85 and "no looser than the issue's floor" in t.margin_note
    missed = ThresholdSet("t", tuple(measure_thresholds("encodec_24khz", _manifest(
        pesq=(1.2, 1.25)))))
    t = missed.get("encodec_24khz", 6.0, "pesq_wb")
    assert t.minimum == pytest.approx(1.15) and "MISSES the issue's floor 1.3" in t.margin_note


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


def test_quality_rows_fail_a_clip_that_dropped_below_a_threshold() -> None:
    ts = ThresholdSet("t", tuple(measure_thresholds("encodec_24khz", _manifest())))
    assert all(r.passed for r in quality_rows("encodec_24khz", _manifest(), ts))
    worse = _manifest(stoi=(0.90, 0.80))
    rows = quality_rows("encodec_24khz", worse, ts)
    failed = [(r.clip, r.bandwidth, o.metric, round(o.shortfall, 3))
              for r in rows for o in r.outcomes if o.status == "failed"]
    assert failed == [("speech_b", 1.5, "stoi", 0.06), ("speech_b", 6.0, "stoi", 0.06)]


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


# ------------------------------------------------------------------------------ the CLI
def _copy_golden(tmp_path, family: str):
    g = next(g for g in golden_checkpoints() if g.family == family)
    for f in g.checkpoint.parent.glob(f"{family}.*"):
        shutil.copy(f, tmp_path / f.name)
    shutil.copy(g.checkpoint.parent / "thresholds.json", tmp_path / "thresholds.json")
    return tmp_path / f"{family}.manifest.json"


@pytest.mark.golden
def test_golden_cli_passes_the_bundle_and_writes_json(tmp_path, capsys) -> None:
    out = tmp_path / "report.json"
    rc = cli_main(["golden", "--family", "encodec_32khz", "--no-sensitivity", "--json",
                   str(out)])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "| encodec_32khz |" in text and "PASS" in text
    data = json.loads(out.read_text())
    assert data["passed"] is True and data["families"][0]["regression"].get("fail", 0) == 0
    assert data["families"][0]["regression"]["pass"] > 0


@pytest.mark.golden
def test_golden_cli_fails_a_tampered_manifest(tmp_path, capsys) -> None:
    man = _copy_golden(tmp_path, "encodec_32khz")
    data = json.loads(man.read_text())
    bad = copy.deepcopy(data)
    clip = next(iter(bad["clips"]))
    entry = next(iter(bad["clips"][clip]["bandwidths"].values()))
    entry["codes_sha256"] = "0" * 64
    man.write_text(json.dumps(bad))
    rc = cli_main(["golden", "--dir", str(tmp_path), "--no-sensitivity"])
    text = capsys.readouterr().out
    assert rc == 1 and "FAIL" in text and clip in text


def test_golden_cli_refuses_a_folder_without_checkpoints(tmp_path, capsys) -> None:
    assert cli_main(["golden", "--dir", str(tmp_path)]) == 2
    assert "no golden checkpoints" in capsys.readouterr().err


# ------------------------------------------------------------------------------ the summary
def _summary_module():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "golden_checkpoints" / "summary.py"
    spec = importlib.util.spec_from_file_location("golden_summary", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_summary_table_lists_each_family_bandwidth_and_speech_clip(tmp_path) -> None:
    summary = _summary_module()
    m = _manifest(stoi=(0.912, 0.871), pesq=(1.61, 1.42))
    m["clips"]["speech_female_x"] = m["clips"].pop("speech_a")
    m["clips"]["speech_male_y"] = m["clips"].pop("speech_b")
    m["checkpoint"] = {"size_bytes": 3_400_000}
    m["training"] = {"steps": 1234, "train_seconds": 1800.0}
    m["manifest_version"] = 1
    (tmp_path / "encodec_24khz.th").write_bytes(b"not read")
    (tmp_path / "encodec_24khz.manifest.json").write_text(json.dumps(m))
    lines = summary.summary_table(tmp_path).splitlines()
    rows = [line for line in lines if "| female |" in line or "| male |" in line]
    assert len(rows) == 4  # 2 bandwidths x 2 speech clips; music is not a speech clip
    assert "3.4 MB" in lines[2] and "1234 steps, 30 CPU-min" in lines[2]
    assert any("| 6 | female | 0.912 | 1.610 |" in r for r in rows)
    assert any("| 6 | male | 0.871 | 1.420 |" in r for r in rows)
    assert any("encodec_48khz | not installed" in line for line in lines)


def test_quality_rows_come_in_bandwidth_order_not_string_order() -> None:
    m = _manifest()
    for clip in m["clips"].values():
        clip["bandwidths"]["12.0"] = clip["bandwidths"]["6.0"]
    m["bandwidths"] = [1.5, 6.0, 12.0]
    ts = ThresholdSet("t", tuple(measure_thresholds("encodec_48khz", m)))
    rows = quality_rows("encodec_48khz", m, ts)
    assert [r.bandwidth for r in rows[:3]] == [1.5, 6.0, 12.0]
