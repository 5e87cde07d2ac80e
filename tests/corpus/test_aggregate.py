"""Corpus statistics, the verdict, merging shards, and the report's schema."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest

from conformance.corpus.aggregate import (
    build_report,
    format_summary,
    merge,
    percentile,
    statistics,
    validate_report,
)
from conformance.corpus.results import RESULTS_SCHEMA
from conformance.corpus.thresholds import CorpusThreshold, CorpusThresholds
from conformance.errors import InvalidArgument

RUN = {"type": "run", "schema": RESULTS_SCHEMA, "schema_version": 1,
       "checkpoint": {"source": "m.th", "format": "x", "sha256": None,
                      "weights_sha256": "0" * 64, "config": {}},
       "family": "encodec_24khz", "settings": {
           "bandwidths": [1.5, 6.0], "metrics": ["stoi", "mel_distance"],
           "window_seconds": 30.0, "segment_seconds": 10.0, "context_seconds": 2.0,
           "convert": True, "device": "cpu"}, "shard": None}


def _rec(path, stoi, mel=0.3, status="computed", nonfinite=0):
    if status != "computed":
        return {"type": "file", "path": path, "status": status, "reason": "why",
                "skipped": "unreadable", "bandwidths": None, "duration": None, "seconds": 0.1}
    metric = lambda v: {"value": v, "status": "computed" if v is not None else "not_computed",  # noqa: E731
                        "reason": None if v is not None else "silent"}
    return {"type": "file", "path": path, "status": "computed", "reason": None,
            "skipped": None, "duration": 2.0, "seconds": 0.5,
            "bandwidths": {bw: {"metrics": {"stoi": metric(stoi), "mel_distance": metric(mel)},
                                "peak": 0.5, "nonfinite_samples": nonfinite}
                           for bw in ("1.5", "6")}}


@pytest.mark.parametrize("n", [1, 2, 7, 100])
def test_percentiles_are_numpys_linear_ones(n):
    values = sorted(random.Random(n).uniform(-5, 5) for _ in range(n))
    for q in (0, 5, 50, 95, 100):
        assert percentile(values, q) == pytest.approx(np.percentile(values, q), abs=1e-12)


def test_statistics_ignore_files_that_did_not_compute_a_metric():
    records = [_rec(f"f{i}", 0.5 + i / 100) for i in range(20)] + [
        _rec("silent", None), _rec("bad", 0, status="not_computed")]
    stats = {(s["bandwidth_kbps"], s["metric"]): s for s in statistics(records, ["stoi"])}
    s = stats[(1.5, "stoi")]
    values = [0.5 + i / 100 for i in range(20)]
    assert s["files"] == 20 and s["not_computed"] == 1
    assert s["not_computed_reasons"] == {"silent": 1}
    assert s["mean"] == math.fsum(values) / 20
    assert s["worst"][0] == {"path": "f0", "value": 0.5} and len(s["worst"]) == 10
    assert s["better"] == "higher"


def test_the_order_of_the_records_changes_nothing():
    records = [_rec(f"f{i}", random.Random(i).random(), random.Random(-i).random())
               for i in range(50)]
    shuffled = list(records)
    random.Random(0).shuffle(shuffled)
    assert statistics(records, ["stoi", "mel_distance"]) == statistics(
        shuffled, ["stoi", "mel_distance"])


def _thresholds(**limits):
    return CorpusThresholds("t", "encodec_24khz", tuple(
        CorpusThreshold(6.0, "stoi", stat, minimum=v) for stat, v in limits.items()))


def test_verdicts_and_exit_codes():
    good = [_rec(f"f{i}", 0.9) for i in range(10)]
    report = build_report(RUN, good, _thresholds(mean=0.8, p05=0.7), shards=[])
    assert (report["verdict"], report["exit_code"]) == ("conformant", 0)
    validate_report(report)
    low = build_report(RUN, good + [_rec("x", 0.1)], _thresholds(p05=0.7), shards=[])
    assert (low["verdict"], low["exit_code"]) == ("not_conformant", 1)
    assert "p05 stoi at 6 kbps" in low["reasons"][0]
    nan = build_report(RUN, good + [_rec("n", 0.9, nonfinite=3)], None, shards=[])
    assert nan["exit_code"] == 1 and nan["nonfinite"][0]["samples"] == 3
    err = build_report(RUN, good + [_rec("e", 0, status="error")], None, shards=[])
    assert err["exit_code"] == 1 and err["errors"][0]["path"] == "e"
    none = build_report(RUN, [_rec("u", 0, status="not_computed")], None, shards=[])
    assert (none["verdict"], none["exit_code"]) == ("refused", 2)
    assert none["unreadable"] == [{"path": "u", "reason": "why", "skipped": "unreadable"}]
    for r in (low, nan, err, none):
        validate_report(r)


def test_thresholds_of_a_metric_or_bandwidth_the_run_lacks():
    t = CorpusThresholds("t", None, (CorpusThreshold(24.0, "stoi", "mean", minimum=0.5),
                                     CorpusThreshold(6.0, "pesq_wb", "mean", minimum=1.0)))
    report = build_report(RUN, [_rec("a", 0.9)], t, shards=[])
    assert [o["status"] for o in report["thresholds"]["outcomes"]] == ["not_applicable"]
    assert report["thresholds"]["outcomes"][0]["reason"] == \
        "mean stoi at 24 kbps: the run did not code this bandwidth"
    assert report["exit_code"] == 0


def test_the_summary_names_the_verdict_and_the_worst_file():
    report = build_report(RUN, [_rec("a", 0.9), _rec("b", 0.2)], _thresholds(mean=0.8),
                          shards=[])
    text = format_summary(report)
    assert "verdict: not_conformant (exit 1)" in text and "b (0.200)" in text


def _write(path, run, records, end=True):
    lines = [run, *records] + ([{"type": "end", "files": len(records)}] if end else [])
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def _shard(i, n):
    return {**RUN, "shard": {"index": i, "count": n}}


def test_merge_combines_every_shard_once(tmp_path):
    a = _write(tmp_path / "a.jsonl", _shard(1, 2), [_rec("x", 0.5)])
    b = _write(tmp_path / "b.jsonl", _shard(2, 2), [_rec("y", 0.6)])
    run, records, shards = merge([a, b])
    assert sorted(r["path"] for r in records) == ["x", "y"]
    assert [(s["index"], s["files"]) for s in shards] == [(1, 1), (2, 1)]


def test_merge_refuses_what_is_not_one_complete_run(tmp_path):
    a = _write(tmp_path / "a.jsonl", _shard(1, 2), [_rec("x", 0.5)])
    b = _write(tmp_path / "b.jsonl", _shard(2, 2), [_rec("y", 0.6)])
    with pytest.raises(InvalidArgument, match="every shard 1..2 exactly once") as info:
        merge([a])
    assert info.value.details == ["missing: 2/2"]
    with pytest.raises(InvalidArgument, match="exactly once"):
        merge([a, a, b])
    c = _write(tmp_path / "c.jsonl", _shard(2, 2), [_rec("y", 0.6)], end=False)
    with pytest.raises(InvalidArgument, match="unfinished run"):
        merge([a, c])
    other = {**_shard(2, 2), "settings": {**RUN["settings"], "bandwidths": [1.5]}}
    d = _write(tmp_path / "d.jsonl", other, [_rec("y", 0.6)])
    with pytest.raises(InvalidArgument, match="not a shard of the same run"):
        merge([a, d])
    e = _write(tmp_path / "e.jsonl", _shard(2, 2), [_rec("x", 0.6)])
    with pytest.raises(InvalidArgument, match="x is in two results files"):
        merge([a, e])
    f = _write(tmp_path / "f.jsonl", _shard(2, 3), [_rec("z", 0.6)])
    with pytest.raises(InvalidArgument, match="different counts"):
        merge([a, f])
    with pytest.raises(InvalidArgument, match="at least one"):
        merge([])
