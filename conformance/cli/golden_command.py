"""`golden`: validate the bundled golden checkpoints and print the report."""

from __future__ import annotations

import argparse
from pathlib import Path

from conformance.golden.bundle import FAMILIES

__all__ = ["add_parser"]


def _golden(args: argparse.Namespace) -> int:
    from conformance.golden.report import run_golden

    reports, text = run_golden(args.family or None, sensitivity=args.sensitivity,
                               json_path=args.json, directory=args.dir, out_dir=args.out)
    print(text)
    return 0 if all(r.passed for r in reports) else 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `golden`."""
    gold = sub.add_parser("golden", help="validate the bundled golden checkpoints (report)",
                          description="For each golden checkpoint: codes and decodes against "
                          "its manifest (regression), PESQ/STOI/mel distance against the "
                          "golden thresholds (quality), and every breaker failing those "
                          "thresholds (sensitivity). Prints Markdown tables.")
    gold.add_argument("--family", action="append", choices=FAMILIES,
                      help="only this family (repeatable)")
    gold.add_argument("--no-sensitivity", dest="sensitivity", action="store_false",
                      help="skip the breakers (faster)")
    gold.add_argument("--json", type=Path, help="also write the report as JSON here")
    gold.add_argument("--out", type=Path, default=None,
                      help="write report.md, input/decoded WAVs and spectrogram PNGs here")
    gold.add_argument("--dir", type=Path, default=None,
                      help="folder holding <family>.th, <family>.manifest.json, the "
                      "regression FLACs and thresholds.json (default: the bundled ones)")
    gold.set_defaults(func=_golden)
