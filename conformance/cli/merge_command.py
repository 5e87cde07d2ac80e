"""`merge-reports`: combine the results files of a corpus run's shards (`validate --audio
--shard i/n --jsonl ...`) into one corpus report with statistics and the verdict.

Exit codes: 0 conformant, 1 not conformant, 2 refused (files that are not shards of one
complete run, a bad thresholds file, no readable audio in the corpus).
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_parser"]


def _merge(args: argparse.Namespace) -> int:
    from conformance.cli.corpus_validate import corpus_thresholds, write_outputs
    from conformance.corpus.aggregate import build_report, format_summary, merge
    from conformance.corpus.runner import threshold_family
    from conformance.model.config import EncodecConfig

    run, records, shards = merge(args.results)
    family, how = run.get("family"), run.get("thresholds_base", "none")
    if args.family:
        family, how = threshold_family(EncodecConfig.from_dict(run["checkpoint"]["config"]),
                                       args.family)
    thresholds = corpus_thresholds(args.thresholds, family, how)
    report = build_report(run, records, thresholds, shards=shards,
                          ignored=max((s["ignored"] for s in shards), default=0),
                          worst=args.worst)
    print(format_summary(report))
    write_outputs(report, args.json, args.html)
    return int(report["exit_code"])


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `merge-reports`."""
    from conformance.golden.bundle import FAMILIES

    p = sub.add_parser(
        "merge-reports", help="combine corpus shards into one report and verdict",
        description="Combine the --jsonl results files of the shards of one corpus run "
        "(validate CKPT --audio DIR --shard i/n) into one report: per bandwidth and metric the "
        "mean, percentiles and worst files, file counts, unreadable files, and the verdict on "
        "the corpus thresholds. Exit codes: 0 conformant, 1 not conformant, 2 refused.")
    p.add_argument("results", nargs="+", type=Path, metavar="SHARD.jsonl",
                   help="the results files, one per shard (all of 1..n), or one unsharded file")
    p.add_argument("--json", type=Path, required=True, metavar="OUT",
                   help="write the corpus report here (schema: "
                   "conformance/corpus/report.schema.json)")
    p.add_argument("--html", type=Path, metavar="OUT.html",
                   help="also write the report as a self-contained HTML page")
    p.add_argument("--thresholds", type=Path, metavar="FILE",
                   help="corpus thresholds (YAML/JSON: mean and tail limits per bandwidth and "
                   "metric; default: derived from the family's per-clip thresholds)")
    p.add_argument("--family", choices=FAMILIES,
                   help="judge with this family's thresholds (default: the family the run "
                   "recorded)")
    p.add_argument("--worst", type=int, default=10, metavar="N",
                   help="list the N worst files of each metric (default 10)")
    p.set_defaults(func=_merge)
