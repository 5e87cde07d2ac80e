"""A run as pytest-benchmark JSON (so `pytest-benchmark compare` reads it) and as a table.

The JSON has pytest-benchmark's top-level layout: `machine_info`, `commit_info`, `benchmarks`
(each with `group`, `name`, `fullname`, `params`, `param`, `extra_info`, `options`, `stats`),
`datetime` and `version`. `extra_info` holds what pytest-benchmark has no field for:
throughput (audio-seconds per second = the real-time factor), frames per second, the ratio to
transformers, the roofline (FLOPs, minimum bytes, peaks, floor, fraction), peak memory, the
device, the driver/CUDA versions, torch's version, the dtype and the thread count. Cases that
could not run are left out of `benchmarks` and listed in `machine_info.skipped_cases`.
"""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.bench.runner import BenchRun, CaseResult
from conformance.fileio import atomic_write_text

__all__ = ["commit_info", "format_table", "to_benchmark_json", "write_json"]

#: pytest-benchmark's JSON format version this layout follows.
FORMAT_VERSION = "5.1.0"


def commit_info(directory: str | Path | None = None) -> dict[str, Any]:
    """The git commit of `directory` (default: this file's checkout), as pytest-benchmark
    records it; `{"error": ...}` outside a checkout."""
    cwd = Path(directory) if directory else Path(__file__).resolve().parent

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()
    try:
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
        return {"id": git("rev-parse", "HEAD"), "time": git("log", "-1", "--format=%cI"),
                "author_time": git("log", "-1", "--format=%aI"), "dirty": dirty,
                "project": "encodec-conformance",
                "branch": git("rev-parse", "--abbrev-ref", "HEAD")}
    except (OSError, subprocess.SubprocessError) as exc:
        return {"error": f"no git commit: {exc}", "project": "encodec-conformance"}


def _machine_info(run: BenchRun) -> dict[str, Any]:
    env = run.environment
    return {
        "node": platform.node(), "processor": env.get("processor"),
        "machine": platform.machine(), "python_compiler": platform.python_compiler(),
        "python_implementation": platform.python_implementation(),
        "python_implementation_version": platform.python_version(),
        "python_version": platform.python_version(), "python_build": platform.python_build(),
        "release": platform.release(), "system": platform.system(),
        "cpu": {"brand_raw": env.get("processor"), "count": _cpu_count()},
        "encodec_conformance": {
            "version": __version__, "environment": env,
            "peaks": {d: p.as_dict() for d, p in run.peaks.items()},
            "spec": _spec_dict(run), "started": run.started, "finished": run.finished,
            "skipped_cases": [{"name": r.case_name, "reason": r.skipped}
                              for r in run.results if r.skipped],
        },
    }


def _cpu_count() -> int | None:
    import os

    return os.cpu_count()


def _spec_dict(run: BenchRun) -> dict[str, Any]:
    s = run.spec
    return {"families": list(s.families), "batches": list(s.batches),
            "durations": list(s.durations), "impls": list(s.impls), "ops": list(s.ops),
            "devices": list(s.devices), "rounds": s.rounds, "warmup": s.warmup,
            "threads": s.threads, "seed": s.seed, "bandwidth": s.bandwidth}


def _entry(r: CaseResult, run: BenchRun) -> dict[str, Any]:
    assert r.stats is not None
    env = run.environment
    roof = r.roofline
    params = {"family": r.family, "batch": r.batch, "seconds": r.seconds, "device": r.device,
              "impl": r.impl, "dtype": r.dtype}
    extra: dict[str, Any] = {
        "op": r.op, "throughput_audio_s_per_s": r.realtime_factor,
        "realtime_factor": r.realtime_factor, "frames_per_s": r.frames_per_s,
        "audio_seconds": r.audio_seconds, "frames": r.frames, "bandwidth_kbps": r.bandwidth,
        "ratio_to_transformers": r.ratio_to_transformers,
        "roofline_fraction": r.roofline_fraction,
        "roofline": roof.as_dict() if roof else None,
        "achieved_flops_per_s": roof.achieved_flops(r.stats.median) if roof else None,
        "peak_memory_bytes": r.memory.bytes if r.memory else None,
        "peak_memory_method": r.memory.method if r.memory else "not measured",
        "device": r.device, "torch_version": env.get("torch"), "dtype": r.dtype,
        "threads": env.get("threads"), "cuda_version": env.get("cuda"),
        "driver_version": env.get("driver"), "gpu": env.get("gpu"),
        "processor": env.get("processor"), **r.info,
    }
    param = "-".join(str(v) for v in params.values())
    return {"group": f"{r.op} {r.family} b{r.batch} {r.seconds:g}s {r.device}",
            "name": r.case_name, "fullname": f"conformance.bench::{r.case_name}",
            "params": params, "param": param, "extra_info": extra,
            "options": {"disable_gc": False, "timer": "perf_counter" if r.device == "cpu"
                        else "cuda events", "min_rounds": run.spec.rounds,
                        "max_time": None, "min_time": None, "warmup": run.spec.warmup > 0},
            "stats": r.stats.as_dict()}


def to_benchmark_json(run: BenchRun) -> dict[str, Any]:
    """The run in pytest-benchmark's JSON layout (see the module docstring)."""
    return {"machine_info": _machine_info(run), "commit_info": commit_info(),
            "benchmarks": [_entry(r, run) for r in run.results if r.stats is not None],
            "datetime": run.finished or run.started, "version": FORMAT_VERSION}


def write_json(path: str | Path, run: BenchRun) -> Path:
    """Write the run's JSON atomically."""
    import json

    return atomic_write_text(path, json.dumps(to_benchmark_json(run), indent=1,
                                              default=str) + "\n")


def _fmt(value: float | None, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def format_table(run: BenchRun) -> str:
    """A readable table: one row per case, and what was measured how."""
    header = (f"{'op':6s} {'implementation':20s} {'family':14s} {'batch':>5s} {'sec':>5s} "
              f"{'dtype':8s} {'device':6s} {'median ms':>10s} {'iqr ms':>8s} {'x real-time':>11s}"
              f" {'vs transformers':>15s} {'roofline':>8s} {'peak MiB':>9s}")
    lines = [header, "-" * len(header)]
    for r in run.results:
        if r.stats is None:
            lines.append(f"{r.op:6s} {r.impl:20s} {r.family:14s} {r.batch:5d} "
                         f"{r.seconds:5g} {r.dtype:8s} {r.device:6s} skipped: {r.skipped}")
            continue
        mem = r.memory.bytes / 2**20 if r.memory and r.memory.bytes is not None else None
        ratio = _fmt(r.ratio_to_transformers, ".2f") + ("x" if r.ratio_to_transformers else "")
        lines.append(
            f"{r.op:6s} {r.impl:20s} {r.family:14s} {r.batch:5d} {r.seconds:5g} {r.dtype:8s} "
            f"{r.device:6s} {1e3 * r.stats.median:10.1f} {1e3 * r.stats.iqr:8.1f} "
            f"{_fmt(r.realtime_factor, '10.1f')}x {ratio:>15s} "
            f"{_fmt(r.roofline_fraction, '8.1%')} {_fmt(mem, '9.0f')}")
    env = run.environment
    lines.append("")
    lines.append(f"torch {env.get('torch')}, {env.get('threads')} thread(s), "
                 f"{env.get('processor')}; {run.spec.rounds} interleaved round(s) after "
                 f"{run.spec.warmup} warm-up; x real-time = audio-seconds per wall-second "
                 "(median round)")
    for device, peaks in run.peaks.items():
        flops = ", ".join(f"{k} {v / 1e9:.0f} GFLOP/s" for k, v in peaks.flops_per_s.items())
        lines.append(f"{device} peaks (measured): {flops}, copy {peaks.bytes_per_s / 1e9:.1f} "
                     f"GB/s; roofline = max(FLOPs/peak, min bytes/bandwidth) / median time")
    methods = {r.memory.method for r in run.results if r.memory}
    if methods:
        lines.append("peak memory: " + "; ".join(sorted(methods)))
    return "\n".join(lines)
