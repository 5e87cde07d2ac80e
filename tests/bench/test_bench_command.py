"""`encodec-conformance bench`: arguments to spec, and a run printed and written."""

from __future__ import annotations

import argparse
import json

import pytest

from conformance.bench.roofline import DevicePeaks
from conformance.bench.runner import QUICK, BenchSpec
from conformance.bench.runner import run_benchmarks as real_run
from conformance.cli import bench_command
from conformance.errors import InvalidArgument
from tests.configs import LADDER_24


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench_command.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["bench", *argv])


def test_quick_is_the_default_and_axes_can_be_chosen():
    spec = bench_command.spec_from_args(parse("--device", "cpu"))
    assert spec.families == QUICK.families and spec.batches == QUICK.batches
    spec = bench_command.spec_from_args(parse(
        "--full", "--family", "encodec_48khz", "--batch", "32", "--seconds", "10",
        "--impl", "fast-bf16", "--impl", "transformers", "--op", "decode", "--device", "cpu",
        "--rounds", "5", "--threads", "2"))
    assert spec.families == ("encodec_48khz",) and spec.batches == (32,)
    assert spec.durations == (10.0,) and spec.impls == ("fast-bf16", "transformers")
    assert spec.ops == ("decode",) and spec.rounds == 5 and spec.threads == 2
    full = bench_command.spec_from_args(parse("--full", "--device", "cpu"))
    assert full.batches == (1, 8, 32) and full.durations == (1.0, 10.0)
    ablation = bench_command.spec_from_args(parse("--ablation", "--device", "cpu"))
    assert ablation.impls[0] == "reference" and "step1-fold" in ablation.impls
    with pytest.raises(InvalidArgument):
        bench_command.spec_from_args(parse("--ablation", "--impl", "reference"))
    with pytest.raises(SystemExit):
        parse("--impl", "fastest")


def test_run_prints_a_table_and_writes_json(tmp_path, monkeypatch, capsys):
    seen: list[BenchSpec] = []

    def tiny(spec, progress=None, peaks=None):
        seen.append(spec)
        small = BenchSpec(families=("tiny",), batches=(1,), durations=(0.02,),
                          impls=spec.impls, ops=spec.ops, rounds=1, memory=False,
                          configs={"tiny": LADDER_24})
        fixed = {"cpu": DevicePeaks("cpu", {"float32": 1e10, "bfloat16": 2e10}, 1e9, "x")}
        return real_run(small, progress=progress, peaks=fixed)
    monkeypatch.setattr(bench_command, "run_benchmarks", tiny)
    out = tmp_path / "bench.json"
    args = parse("--impl", "reference", "--impl", "fast-fp32", "--op", "decode",
                 "--device", "cpu", "--json", str(out))
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "fast-fp32" in printed and "x real-time" in printed and str(out) in printed
    data = json.loads(out.read_text())
    assert [b["params"]["impl"] for b in data["benchmarks"]] == ["reference", "fast-fp32"]
    assert seen[0].impls == ("reference", "fast-fp32")
