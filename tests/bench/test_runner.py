"""A tiny benchmark run end to end: the matrix, ratios, roofline, memory, JSON and table."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from conformance.bench.implementations import ABLATION, IMPLEMENTATIONS, get_implementation
from conformance.bench.results import format_table, to_benchmark_json, write_json
from conformance.bench.roofline import DevicePeaks
from conformance.bench.runner import BenchSpec, default_bandwidth, input_signal, run_benchmarks
from conformance.errors import InvalidArgument
from conformance.model.presets import PRESETS
from tests.configs import CHUNKED_48, LADDER_24

PEAKS = {"cpu": DevicePeaks("cpu", {"float32": 50e9, "bfloat16": 100e9}, 10e9, "fixed")}


@pytest.fixture(scope="module")
def tiny_run():
    spec = BenchSpec(families=("tiny24", "tiny48"), batches=(1, 2), durations=(0.05,),
                     impls=("reference", "fast-fp32", "fast-bf16", "transformers"),
                     rounds=2, warmup=1, threads=1,
                     configs={"tiny24": LADDER_24, "tiny48": CHUNKED_48})
    return run_benchmarks(spec, peaks=PEAKS)


def test_every_case_is_measured_with_its_ratio(tiny_run):
    results = tiny_run.results
    assert len(results) == tiny_run.spec.cases() == 2 * 2 * 2 * 4
    for r in results:
        assert r.stats is not None and r.stats.rounds == 2
        assert r.realtime_factor == pytest.approx(r.audio_seconds / r.stats.median)
        assert r.frames_per_s == pytest.approx(r.frames / r.stats.median)
        assert r.roofline is not None and r.roofline_fraction > 0
        assert r.memory is not None and r.memory.method
        assert r.ratio_to_transformers is not None
        if r.impl == "transformers":
            assert r.ratio_to_transformers == 1.0
    bf16 = [r for r in results if r.impl == "fast-bf16" and r.op == "decode"]
    assert bf16 and all(r.dtype == "bfloat16" for r in bf16)
    bf16_encode = [r for r in results if r.impl == "fast-bf16" and r.op == "encode"]
    assert bf16_encode and all(r.dtype == "float32" for r in bf16_encode)  # float32 encoder
    ref = next(r for r in results if r.impl == "reference" and r.op == "decode")
    fast = next(r for r in results if r.impl == "fast-bf16" and r.op == "decode")
    assert fast.roofline.flops == ref.roofline.flops  # the same work...
    assert fast.roofline.bytes < ref.roofline.bytes  # ...in fewer bytes (bf16 activations)


def test_json_has_pytest_benchmarks_layout(tiny_run):
    data = to_benchmark_json(tiny_run)
    assert {"machine_info", "commit_info", "benchmarks", "datetime", "version"} <= set(data)
    entry = data["benchmarks"][0]
    assert {"group", "name", "fullname", "params", "param", "extra_info", "options",
            "stats"} <= set(entry)
    assert {"min", "max", "mean", "stddev", "median", "iqr", "rounds", "ops"} <= set(
        entry["stats"])
    extra = entry["extra_info"]
    for key in ("throughput_audio_s_per_s", "realtime_factor", "frames_per_s",
                "ratio_to_transformers", "roofline_fraction", "peak_memory_bytes", "device",
                "torch_version", "dtype", "threads", "cuda_version", "driver_version"):
        assert key in extra, key
    assert extra["threads"] == 1
    json.dumps(data, default=str)  # serialisable


def test_pytest_benchmark_reads_the_json(tiny_run, tmp_path):
    storage_mod = pytest.importorskip("pytest_benchmark.storage.file")
    from pytest_benchmark.logger import Logger

    path = write_json(tmp_path / "0001_run.json", tiny_run)
    storage = storage_mod.FileStorage(tmp_path, logger=Logger(Logger.QUIET))
    benches = list(storage.load_benchmarks(str(path)))
    assert len(benches) == len(tiny_run.results)
    assert all("median" in b and "fullname" in b for b in benches)
    shown = subprocess.run([sys.executable, "-m", "pytest_benchmark", "compare", str(path),
                            "--group-by=group", "--columns=min,median,iqr"],
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "decode[tiny24-b2-0.05s-cpu-fast-bf16]" in shown.stdout


def test_table_names_every_case_and_the_method(tiny_run):
    table = format_table(tiny_run)
    assert table.count("\n") >= len(tiny_run.results)
    assert "x real-time" in table and "cpu peaks (measured)" in table
    assert "transformers" in table and "1.00x" in table


def test_unavailable_implementations_are_reported_not_dropped():
    spec = BenchSpec(families=("tiny24",), batches=(1,), durations=(0.02,),
                     impls=("reference", "fast-fp16"), ops=("decode",), rounds=1,
                     memory=False, configs={"tiny24": LADDER_24})
    run = run_benchmarks(spec, peaks=PEAKS)
    skipped = [r for r in run.results if r.skipped]
    assert [r.impl for r in skipped] == ["fast-fp16"]
    assert "float16" in skipped[0].skipped
    data = to_benchmark_json(run)
    assert len(data["benchmarks"]) == 1
    assert data["machine_info"]["encodec_conformance"]["skipped_cases"][0]["reason"]
    assert "skipped:" in format_table(run)


def test_spec_and_helpers_validate():
    with pytest.raises(InvalidArgument):
        BenchSpec(families=("nope",))
    with pytest.raises(InvalidArgument):
        BenchSpec(impls=("fastest",))
    with pytest.raises(InvalidArgument):
        BenchSpec(batches=(0,))
    with pytest.raises(InvalidArgument):
        BenchSpec(ops=("stream",))
    assert default_bandwidth(PRESETS["encodec_24khz"]) == 6.0
    assert default_bandwidth(PRESETS["encodec_32khz"]) == 2.2
    with pytest.raises(InvalidArgument):
        default_bandwidth(PRESETS["encodec_24khz"], 5.0)
    wav = input_signal(LADDER_24, 3, 0.1)
    assert wav.shape == (3, 1, 2400) and not torch.equal(wav[0], wav[1])
    assert set(IMPLEMENTATIONS) & set(ABLATION) == {"reference"}
    assert get_implementation("step3-polyphase").options
    assert get_implementation("fast-bf16").op_dtype("decode") == torch.bfloat16
    assert get_implementation("fast-bf16").op_dtype("encode") == torch.float32
    steps = [get_implementation(n) for n in ABLATION if n != "reference"]
    assert [dict(s.options).get("tile_samples") for s in steps[:6]] == [0] * 6
    assert "tile_samples" not in dict(steps[6].options)  # step7-tiles: tiled from here on
    assert steps[7].options == get_implementation("fast-fp32").options
