"""Quality thresholds: built-in data, loading and overriding, and the check's three outcomes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from conformance.quality.metrics import MetricResult
from conformance.quality.released import ANCHORS_24KHZ, PESQ_MARGIN, RELEASED, SOURCES, STOI_FACTOR
from conformance.quality.thresholds import (
    NoThresholdError,
    Threshold,
    ThresholdError,
    ThresholdSet,
    format_outcomes,
    load_thresholds,
)


def ok(name: str, value: float) -> MetricResult:
    return MetricResult(name, value, "computed")


def nc(name: str, reason: str = "reference is silent") -> MetricResult:
    return MetricResult(name, None, "not_computed", reason)


# ------------------------------------------------------------------------------ built-in data
def test_released_floors_lie_below_every_published_anchor_and_cite_sources() -> None:
    assert len(RELEASED) == len(ANCHORS_24KHZ) == 10
    for t in RELEASED:
        published = [v for _, v in ANCHORS_24KHZ[(t.bandwidth_kbps, t.metric)]]
        # every value cites its source by key, name and link (docs/published_numbers.md)
        assert t.sources and all(s.split(":")[0] in SOURCES and "https://" in s
                                 for s in t.sources), t
        assert t.anchor_range == (min(published), max(published))
        assert t.anchor_range[0] <= t.anchor_value <= t.anchor_range[1]
        assert t.minimum < min(published), t
        expected = (min(published) - PESQ_MARGIN if t.metric == "pesq_wb"
                    else min(published) * STOI_FACTOR)
        assert t.minimum == pytest.approx(expected, abs=5e-4)
        assert t.measured is None and t.margin_note


def test_released_floors_grow_with_bandwidth_and_stay_above_broken_output() -> None:
    for metric, broken in (("pesq_wb", 1.05), ("stoi", 0.6)):  # static noise: ~1.04 / <=0.55
        bws = RELEASED.bandwidths("encodec_24khz", metric)
        assert bws == [1.5, 3.0, 6.0, 12.0, 24.0]
        floors = [RELEASED.get("encodec_24khz", b, metric).minimum for b in bws]
        assert floors == sorted(floors) and floors[0] > broken


def test_the_published_numbers_doc_lists_every_source_and_floor() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "published_numbers.md"
    text = doc.read_text(encoding="utf-8")
    for key, source in SOURCES.items():
        assert f"`{key}`" in text and source.split("(")[-1].rstrip(")") in text, key
    for t in RELEASED:
        assert f"{t.minimum:.3f}" in text, t


def test_threshold_validation() -> None:
    with pytest.raises(ThresholdError, match="exactly one"):
        Threshold("f", 1.0, "stoi")
    with pytest.raises(ThresholdError, match="needs a minimum"):
        Threshold("f", 1.0, "stoi", maximum=0.5)
    with pytest.raises(ThresholdError, match="needs a maximum"):
        Threshold("f", 1.0, "mel_distance", minimum=0.5)
    with pytest.raises(ThresholdError, match="unknown metric"):
        Threshold("f", 1.0, "pesq", minimum=1.0)
    with pytest.raises(ThresholdError, match="finite"):
        Threshold("f", 1.0, "stoi", minimum=math.nan)
    with pytest.raises(ThresholdError, match="> 0"):
        Threshold("f", 0.0, "stoi", minimum=0.5)
    with pytest.raises(ThresholdError, match="duplicate"):
        ThresholdSet("x", (Threshold("f", 1.0, "stoi", minimum=0.5),
                           Threshold("f", 1.0, "stoi", minimum=0.6)))


# ------------------------------------------------------------------------------ loading
def test_load_defaults_and_yaml_json_round_trip(tmp_path) -> None:
    assert load_thresholds() is RELEASED
    assert len(load_thresholds(base="none")) == 0
    d = RELEASED.to_dict()
    (tmp_path / "t.json").write_text(json.dumps(d))
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(d))
    for name in ("t.json", "t.yaml"):
        loaded = load_thresholds(tmp_path / name, base="released")  # the file's base wins
        assert {t.key: t.minimum for t in loaded} == {t.key: t.minimum for t in RELEASED}
        assert loaded.get("encodec_24khz", 6.0, "pesq_wb").sources == \
            RELEASED.get("encodec_24khz", 6.0, "pesq_wb").sources


def test_file_updates_existing_and_adds_new_entries(tmp_path) -> None:
    (tmp_path / "t.yaml").write_text(
        "base: released\nname: mine\nthresholds:\n"
        "  - {family: encodec_24khz, bandwidth_kbps: 6, metric: pesq_wb, minimum: 2.5}\n"
        "  - {family: encodec_48khz, bandwidth_kbps: 6.0, metric: mel_distance, maximum: 1.2}\n")
    ts = load_thresholds(tmp_path / "t.yaml")
    assert ts.name == "mine" and len(ts) == len(RELEASED) + 1
    t = ts.get("encodec_24khz", 6.0, "pesq_wb")
    assert t.minimum == 2.5 and t.provenance == "file t.yaml"
    assert t.sources == RELEASED.get("encodec_24khz", 6.0, "pesq_wb").sources  # kept
    assert ts.get("encodec_48khz", 6.0, "mel_distance").maximum == 1.2
    assert RELEASED.get("encodec_24khz", 6.0, "pesq_wb").minimum == pytest.approx(2.238)
    (tmp_path / "list.json").write_text(json.dumps(
        [{"family": "x", "bandwidth_kbps": 1.0, "metric": "stoi", "minimum": 0.5}]))
    assert len(load_thresholds(tmp_path / "list.json", base="none")) == 1


@pytest.mark.parametrize("text, match", [
    ("[{family: x, bandwidth_kbps: 1, metric: stoi}]", "exactly one"),
    ("[{family: x, metric: stoi, minimum: 0.5}]", "missing bandwidth_kbps"),
    ("[{family: x, bandwidth_kbps: 1, metric: stoi, minimum: 0.5, colour: red}]",
     "unknown field"),
    ("{base: nope}", "base='nope'"),
    ("{thresholds: [], extra: 1}", "unknown top-level"),
    ("!!python/object/apply:os.system [echo hi]", r"not valid \(safe\) YAML"),
    ("42", "expected a list"),
])
def test_bad_files_are_refused(tmp_path, text: str, match: str) -> None:
    (tmp_path / "t.yaml").write_text(text)
    with pytest.raises(ThresholdError, match=match):
        load_thresholds(tmp_path / "t.yaml", base="none")


def test_unknown_suffix_is_refused(tmp_path) -> None:
    (tmp_path / "t.toml").write_text("")
    with pytest.raises(ThresholdError, match="unknown threshold file type"):
        load_thresholds(tmp_path / "t.toml")


def test_overrides_apply_after_the_file(tmp_path) -> None:
    (tmp_path / "t.json").write_text(json.dumps({"thresholds": [
        {"family": "encodec_24khz", "bandwidth_kbps": 6.0, "metric": "stoi", "minimum": 0.5}]}))
    ts = load_thresholds(tmp_path / "t.json", overrides={
        "encodec_24khz": {"6.0": {"stoi": 0.9, "pesq_wb": {"minimum": 2.0, "margin_note": "x"}}},
        "custom": {2: {"mel_distance": 0.8}}})
    assert ts.get("encodec_24khz", 6.0, "stoi").minimum == 0.9
    pesq = ts.get("encodec_24khz", 6.0, "pesq_wb")
    assert (pesq.minimum, pesq.margin_note, pesq.provenance) == (2.0, "x", "overrides")
    assert ts.get("custom", 2.0, "mel_distance").maximum == 0.8  # distance -> maximum
    with pytest.raises(ThresholdError, match="not a number"):
        RELEASED.with_overrides({"encodec_24khz": {"six": {"stoi": 0.9}}})
    with pytest.raises(ThresholdError, match="finite number"):
        RELEASED.with_overrides({"encodec_24khz": {6: {"stoi": "high"}}})


# ------------------------------------------------------------------------------ checking
def test_check_pass_fail_and_shortfall() -> None:
    out = RELEASED.check("encodec_24khz", 6.0, {"pesq_wb": ok("pesq_wb", 2.0),
                                                 "stoi": ok("stoi", 0.95),
                                                 "si_sdr": ok("si_sdr", -3.0)})
    by = {o.metric: o for o in out}
    assert set(by) == {"pesq_wb", "stoi"}  # metrics without a threshold are not checked
    assert by["stoi"].passed and by["stoi"].shortfall == 0.0 and by["stoi"].note is None
    p = by["pesq_wb"]
    assert p.status == "failed" and not p.passed and p.observed == 2.0
    assert p.shortfall == pytest.approx(2.238 - 2.0)
    assert "pesq_wb=2.000, but should be >= 2.238" in p.message and "short by 0.238" in p.message
    exact = RELEASED.check("encodec_24khz", 6.0, {"pesq_wb": ok("pesq_wb", 2.238)},
                           metrics=["pesq_wb"])
    assert exact[0].passed  # the limit itself passes
    assert "failed" in format_outcomes(out) and "passed" in format_outcomes(out)


def test_check_maximum_for_distances() -> None:
    ts = ThresholdSet("d", (Threshold("f", 1.0, "mel_distance", maximum=1.0),))
    (o,) = ts.check("f", 1.0, {"mel_distance": ok("mel_distance", 1.25)})
    assert o.status == "failed" and o.shortfall == pytest.approx(0.25)
    (o,) = ts.check("f", 1.0, {"mel_distance": ok("mel_distance", 0.5)})
    assert o.passed and o.shortfall == 0.0


def test_not_computed_is_its_own_outcome() -> None:
    out = RELEASED.check("encodec_24khz", 1.5, {"pesq_wb": nc("pesq_wb", "PESQ detected no "
                                                                "utterances")})
    by = {o.metric: o for o in out}
    for o in out:
        assert o.status == "not_computed" and not o.passed
        assert o.observed is None and o.shortfall is None
    assert by["pesq_wb"].reason == "PESQ detected no utterances"
    assert "not computed: PESQ detected no utterances" in by["pesq_wb"].message
    assert "not run" in by["stoi"].reason  # absent from the results
    with pytest.raises(TypeError, match="MetricResult"):
        RELEASED.check("encodec_24khz", 1.5, {"pesq_wb": 3.0, "stoi": ok("stoi", 0.9)})


def test_untabulated_bandwidth_uses_the_nearest_lower_one() -> None:
    out = RELEASED.check("encodec_24khz", 4.5, {"pesq_wb": ok("pesq_wb", 1.8),
                                                 "stoi": ok("stoi", 0.9)})
    for o in out:
        assert o.bandwidth_kbps == 4.5 and o.bandwidth_used == 3.0
        assert "nearest lower tabulated bandwidth, 3 kbps" in o.note
        assert o.threshold is RELEASED.get("encodec_24khz", 3.0, o.metric)
    assert all(o.passed for o in out)
    (top,) = RELEASED.check("encodec_24khz", 48.0, {"stoi": ok("stoi", 0.85)}, metrics=["stoi"])
    assert top.bandwidth_used == 24.0 and top.status == "failed"


def test_no_threshold_is_an_error_not_an_outcome() -> None:
    with pytest.raises(NoThresholdError, match="below every tabulated"):
        RELEASED.check("encodec_24khz", 0.75, {})
    with pytest.raises(NoThresholdError, match="no thresholds for 'encodec_48khz'"):
        RELEASED.check("encodec_48khz", 6.0, {})
    with pytest.raises(NoThresholdError, match="no mel_distance threshold"):
        RELEASED.check("encodec_24khz", 6.0, {}, metrics=["mel_distance"])
