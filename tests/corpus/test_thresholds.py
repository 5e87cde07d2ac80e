"""Corpus thresholds: derived from the per-clip ones (where each comes from is recorded),
read from files, and applied to one file for the pytest plugin."""

from __future__ import annotations

import json

import pytest

from conformance.corpus.thresholds import (
    TAIL_MARGINS,
    CorpusThreshold,
    default_thresholds,
    load_thresholds,
    tail_statistic,
)
from conformance.errors import ThresholdError
from conformance.golden.thresholds import MARGINS, golden_thresholds


def test_defaults_derive_from_the_golden_thresholds():
    corpus = default_thresholds("encodec_24khz", "golden")
    golden = [t for t in golden_thresholds() if t.family == "encodec_24khz"]
    assert len(corpus.entries) == 2 * len(golden)
    by_key = {t.key: t for t in corpus.entries}
    for g in golden:
        mean = by_key[(g.bandwidth_kbps, g.metric, "mean")]
        tail = by_key[(g.bandwidth_kbps, g.metric, tail_statistic(g.metric))]
        assert mean.limit == g.limit and "golden per-clip" in mean.source
        if g.direction == "minimum":
            assert tail.limit == pytest.approx(g.limit - 3 * MARGINS[g.metric], abs=1e-4)
        else:
            assert tail.limit == pytest.approx(g.limit * (1 + 3 * MARGINS[g.metric]), abs=1e-4)
    assert {m: 3 * v for m, v in MARGINS.items()} == TAIL_MARGINS


def test_released_floors_and_unknown_families():
    released = default_thresholds("encodec_24khz", "released")
    assert {t.metric for t in released.entries} == {"pesq_wb", "stoi"}
    assert 24.0 in {t.bandwidth_kbps for t in released.entries}
    assert default_thresholds(None, "none").entries == ()
    assert default_thresholds("audiogen_16khz", "golden").entries == ()


def test_a_threshold_judges_its_statistic():
    t = CorpusThreshold(6.0, "stoi", "p05", minimum=0.8, source="test")
    assert t.judge(0.81)["status"] == "passed"
    failed = t.judge(0.79)
    assert failed["status"] == "failed" and "should be >= 0.8000" in failed["reason"]
    assert t.judge(None, "silence")["status"] == "not_computed"
    d = CorpusThreshold(6.0, "mel_distance", "mean", maximum=0.5)
    assert d.judge(0.49)["status"] == "passed" and d.judge(0.51)["status"] == "failed"


@pytest.mark.parametrize("fields, match", [
    (dict(metric="stoi", statistic="mean", maximum=0.5), "give a minimum"),
    (dict(metric="mel_distance", statistic="p95", minimum=0.5), "give a maximum"),
    (dict(metric="stoi", statistic="p10", minimum=0.5), "statistic must be"),
    (dict(metric="snr", statistic="mean", minimum=0.5), "unknown metric"),
    (dict(metric="stoi", statistic="mean", minimum=float("nan")), "finite number")])
def test_bad_thresholds_are_refused(fields, match):
    with pytest.raises(ThresholdError, match=match):
        CorpusThreshold(bandwidth_kbps=6.0, **fields)


def test_a_file_replaces_defaults_and_ignores_other_families(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("name: mine\nthresholds:\n"
                    "  - {bandwidth_kbps: 6, metric: stoi, statistic: mean, minimum: 0.5}\n"
                    "  - {family: encodec_48khz, bandwidth_kbps: 6, metric: stoi,\n"
                    "     statistic: mean, minimum: 0.99}\n"
                    "  - {bandwidth_kbps: 6, metric: si_sdr, statistic: p05, minimum: -3}\n")
    t = load_thresholds(path, "encodec_24khz", "golden")
    by_key = {e.key: e for e in t.entries}
    assert by_key[(6.0, "stoi", "mean")].limit == 0.5
    assert by_key[(6.0, "si_sdr", "p05")].source == "file t.yaml"
    assert len(t.entries) == len(default_thresholds("encodec_24khz", "golden").entries) + 1
    assert t.name == "mine"


def test_base_none_keeps_only_the_file(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"base": "none", "thresholds": [
        {"bandwidth_kbps": 1.5, "metric": "mel_distance", "statistic": "p95", "maximum": 1}]}))
    assert [e.key for e in load_thresholds(path, None, "none").entries] == [
        (1.5, "mel_distance", "p95")]


@pytest.mark.parametrize("text, match", [
    ("base: golden\n", "choose 'default' or 'none'"),
    ("extra: 1\n", "unknown top-level"),
    ("thresholds: {a: 1}\n", "expected a list"),
    ("- {bandwidth_kbps: 6, metric: stoi}\n", "missing statistic"),
    ("- {bandwidth_kbps: 6, metric: stoi, statistic: mean, minimum: 1, colour: red}\n",
     "unknown field"),
    ("- 3\n", "expected a mapping")])
def test_bad_files_are_refused_naming_the_problem(tmp_path, text, match):
    path = tmp_path / "t.yaml"
    path.write_text(text)
    with pytest.raises(ThresholdError, match=match):
        load_thresholds(path, "encodec_24khz", "golden")


def test_one_file_is_judged_against_the_tail_limits():
    t = default_thresholds("encodec_24khz", "golden")
    record = {"bandwidths": {"6": {"metrics": {
        "stoi": {"value": 0.1, "status": "computed"},
        "mel_distance": {"value": 0.1, "status": "computed"},
        "pesq_wb": {"value": None, "status": "not_computed", "reason": "silence"}}}}}
    outcomes = {o["metric"]: o for o in t.judge_file(record)}
    assert outcomes["stoi"]["status"] == "failed" and "corpus p05 limit" in \
        outcomes["stoi"]["reason"]
    assert outcomes["mel_distance"]["status"] == "passed"
    assert outcomes["pesq_wb"]["status"] == "not_computed"
    assert {o["bandwidth_kbps"] for o in outcomes.values()} == {6.0}
