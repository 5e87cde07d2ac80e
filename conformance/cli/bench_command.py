"""`encodec-conformance bench`: decode and encode throughput of the reference model, its fast
path and the peer implementations, all carrying the same weights.

`--quick` (the default) runs 24 kHz, 1 s, batch 1 and 8; `--full` every family at batch
1/8/32 and 1 s/10 s; `--family/--batch/--seconds/--impl/--op/--device` select any subset
(repeatable; each one given replaces that axis of the preset). `--ablation` compares the fast
path's optimisation steps instead of the implementations. Prints a table; `--json PATH`
writes pytest-benchmark-compatible JSON (`pytest-benchmark compare PATH`). No speed is
asserted anywhere: the exit code is 0 whenever the run completes.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import torch

from conformance.bench.implementations import ABLATION, IMPLEMENTATIONS
from conformance.bench.results import format_table, write_json
from conformance.bench.runner import BENCH_FAMILIES, FULL, QUICK, BenchSpec, run_benchmarks
from conformance.errors import InvalidArgument

__all__ = ["add_parser", "spec_from_args"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `bench`."""
    bench = sub.add_parser(
        "bench", help="measure decode/encode throughput (reference, fast path, peers)",
        description="Measure decode and encode throughput, real-time factor, roofline "
        "fraction and peak memory of the reference model, its fast path (fp32, bf16) and, when "
        "installed, transformers and the original encodec package, all with the same seeded "
        "random weights; implementations run interleaved within each case.")
    size = bench.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="preset", action="store_const", const="quick",
                      help="24 kHz, 1 s, batch 1 and 8 (the default)")
    size.add_argument("--full", dest="preset", action="store_const", const="full",
                      help="every family, batch 1/8/32, 1 s and 10 s (long)")
    bench.add_argument("--family", action="append", choices=BENCH_FAMILIES,
                       help="only this family (repeatable)")
    bench.add_argument("--batch", action="append", type=int, help="batch size (repeatable)")
    bench.add_argument("--seconds", action="append", type=float,
                       help="input duration in seconds (repeatable)")
    bench.add_argument("--impl", action="append", choices=list({**IMPLEMENTATIONS, **ABLATION}),
                       help="implementation (repeatable; default: reference, fast-fp32, "
                       "fast-bf16, transformers, encodec)")
    bench.add_argument("--ablation", action="store_true",
                       help="compare the fast path's optimisation steps, one at a time")
    bench.add_argument("--op", action="append", choices=["decode", "encode"],
                       help="decode and/or encode (default: both)")
    bench.add_argument("--device", action="append",
                       help="cpu, cuda, cuda:N (repeatable; default: cpu, plus cuda when "
                       "available)")
    bench.add_argument("--rounds", type=int, default=None, help="timed rounds (default 3)")
    bench.add_argument("--warmup", type=int, default=None, help="warm-up calls (default 1)")
    bench.add_argument("--threads", type=int, default=None,
                       help="torch intra-op threads (default: torch's current count)")
    bench.add_argument("--bandwidth", type=float, default=None,
                       help="kbps (default: the highest rung <= 6 kbps of each family)")
    bench.add_argument("--no-memory", action="store_true", help="skip peak-memory runs")
    bench.add_argument("--json", type=Path, default=None,
                       help="write pytest-benchmark-compatible JSON here")
    bench.set_defaults(func=_run, preset=None)


def spec_from_args(args: argparse.Namespace) -> BenchSpec:
    """The benchmark spec an argument namespace asks for."""
    base = FULL if args.preset == "full" else QUICK
    changes: dict = {}
    if args.family:
        changes["families"] = tuple(dict.fromkeys(args.family))
    if args.batch:
        changes["batches"] = tuple(dict.fromkeys(args.batch))
    if args.seconds:
        changes["durations"] = tuple(dict.fromkeys(args.seconds))
    if args.ablation and args.impl:
        raise InvalidArgument("--ablation and --impl are exclusive: --ablation selects the "
                              "optimisation steps as the implementations")
    if args.ablation:
        changes["impls"] = tuple(ABLATION)
    elif args.impl:
        changes["impls"] = tuple(dict.fromkeys(args.impl))
    if args.op:
        changes["ops"] = tuple(dict.fromkeys(args.op))
    if args.device:
        changes["devices"] = tuple(dict.fromkeys(args.device))
    elif torch.cuda.is_available():
        changes["devices"] = ("cpu", "cuda")
    for name in ("rounds", "warmup", "threads", "bandwidth"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    if args.no_memory:
        changes["memory"] = False
    if changes.get("rounds") is not None and changes["rounds"] < 1:
        raise InvalidArgument(f"--rounds {changes['rounds']}: must be >= 1")
    return dataclasses.replace(base, **changes)


def _run(args: argparse.Namespace) -> int:
    spec = spec_from_args(args)
    print(f"bench: {spec.cases()} case(s): families {', '.join(spec.families)}; batches "
          f"{list(spec.batches)}; seconds {list(spec.durations)}; ops {', '.join(spec.ops)}; "
          f"devices {', '.join(spec.devices)}", file=sys.stderr, flush=True)
    run = run_benchmarks(spec, progress=lambda msg: print(f"  {msg}", file=sys.stderr,
                                                          flush=True))
    print(format_table(run))
    if args.json is not None:
        written = write_json(args.json, run)
        print(f"\nwrote {written} (pytest-benchmark compare {written})")
    return 0
