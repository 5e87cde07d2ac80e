"""`validate`: run the named checks on checkpoints (default: the bundled golden ones) or on an
implementation, print a summary, write JSON; exit 0 conformant, 1 not, 2 refused."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from conformance.checks.checkpoint.context import EXCERPT_SECONDS
from conformance.checks.expected import id_matches
from conformance.checks.tolerance import TOLERANCES
from conformance.cli import corpus_validate
from conformance.cli.options import add_load_options, parse_sets
from conformance.fileio import atomic_write_text
from conformance.golden.bundle import FAMILIES

__all__ = ["add_parser", "run_validation"]


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="check", dynamic_ncols=True, file=sys.stderr, leave=False)


def run_validation(paths: list[str], *, impl: str | None = None, families: list[str] | None = None,
                   tolerance: str = "fp32", thresholds: str | None = None,
                   xfails: str | None = None, select: list[str] | None = None,
                   strict_layouts: bool = False, excerpt_seconds: float = 0.0,
                   load_options: dict[str, Any] | None = None, progress: bool = False
                   ) -> tuple[dict[str, Any], list[Any]]:
    """Run the checks and return (the JSON report, the subjects). With `excerpt_seconds`,
    the audio checks keep excerpts of the inputs and decodes for the HTML report."""
    from conformance.checks.engine import (
        checkpoint_subject,
        golden_subjects,
        implementation_subject,
        plan,
        run_subject,
    )
    from conformance.checks.expected import parse_xfails
    from conformance.checks.report import build_report
    from conformance.quality.thresholds import load_thresholds

    load_options = dict(load_options or {})
    if impl is not None:
        from conformance.adapters.protocol import load_factory

        load_factory(impl)  # a spec that names no factory is a bad argument: exit 2
        subjects = [implementation_subject(impl, f, tolerance, strict_layouts=strict_layouts)
                    for f in (families or FAMILIES)]
    elif not paths:
        subjects = golden_subjects(families, excerpt_seconds=excerpt_seconds)
    else:
        ts = load_thresholds(thresholds) if thresholds else load_thresholds()
        family = families[0] if families else None
        subjects = [checkpoint_subject(p, thresholds=ts, family=family,
                                       excerpt_seconds=excerpt_seconds, **load_options)
                    for p in paths]
    if thresholds and impl is None and not paths:
        ts = load_thresholds(thresholds)
        for s in subjects:
            s.context.thresholds = ts
    entries = parse_xfails(xfails) if xfails else {}
    for s in subjects:
        s.expected.add(entries, str(xfails))

    def keep(case: Any) -> bool:
        return not select or any(id_matches(p, case.id) or p == case.check.area
                                 for p in select)

    total = sum(1 for s in subjects for c in plan(s) if keep(c))
    bar = _progress_bar(total, progress)
    try:
        for s in subjects:
            if bar is not None:
                bar.set_description(s.name[:40])
            for _ in run_subject(s, select=keep, progress=(lambda _c: bar.update(1))
                                 if bar is not None else None):
                pass
    finally:
        if bar is not None:
            bar.close()
        for s in subjects:
            close = getattr(s.context, "close", None)
            if close is not None:
                close()
    options = {"paths": paths or "bundled golden checkpoints", "impl": impl,
               "families": families, "tolerance": tolerance, "thresholds": thresholds,
               "xfails": xfails, "select": select, "strict_layouts": strict_layouts,
               **load_options}
    return build_report(subjects, options), subjects


def _validate(args: argparse.Namespace) -> int:
    from conformance.checks.report import format_summary

    if args.audio is not None:  # a corpus of the user's audio: conformance.corpus
        return corpus_validate.run(args)

    load_options = {}
    if args.paths:
        load_options = {"format": args.format, "config_path": args.config,
                        "preset": args.preset, "overrides": parse_sets(args.set),
                        "ignore_dead_shortcuts": not args.strict_extra}
    if args.html:  # before the run: a missing extra should not cost a validation
        from conformance.reporting.plots import require_matplotlib

        require_matplotlib()
    report, subjects = run_validation(
        args.paths, impl=args.impl, families=args.family, tolerance=args.tolerance,
        thresholds=args.thresholds, xfails=args.xfails, select=args.check,
        strict_layouts=args.strict_layouts,
        excerpt_seconds=EXCERPT_SECONDS if args.html else 0.0,
        load_options=load_options,
        progress=sys.stderr.isatty() and not args.no_progress)
    print(format_summary(report, all_outcomes=args.all))
    if args.json:
        atomic_write_text(args.json, json.dumps(report, indent=1) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    if args.html:
        from conformance.reporting.html import write_html_report

        write_html_report(args.html, report, subjects)
        print(f"wrote {args.html}", file=sys.stderr)
    return int(report["exit_code"])


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `validate`."""
    p = sub.add_parser(
        "validate", help="run the named checks on checkpoints or an implementation",
        description="Validate EnCodec checkpoints (any format, or cached hub names; default: "
        "the bundled golden checkpoints) or, with --impl, an implementation on the golden "
        "checkpoints. Exit codes: 0 conformant, 1 not conformant, 2 input unreadable or "
        "refused.")
    p.add_argument("paths", nargs="*", help="checkpoint files, HF directories or cached hub "
                   "names (none: the bundled golden checkpoints)")
    p.add_argument("--impl", metavar="MODULE:FACTORY",
                   help="validate this implementation (adapter factory) on the golden "
                   "checkpoints instead of validating checkpoints")
    p.add_argument("--family", action="append", choices=FAMILIES,
                   help="only this golden family (with --impl or no path; repeatable), or the "
                   "family whose thresholds apply to the given checkpoints")
    p.add_argument("--tolerance", default="fp32", choices=sorted(TOLERANCES),
                   help="precision profile of --impl (default fp32: identical codes but for "
                   "near-ties float32 rounding decides, decodes within 1e-4)")
    p.add_argument("--strict-layouts", action="store_true",
                   help="with --impl: an exception on an edge chunk layout (chunk_overrun, "
                   "partial_chunks, where the original package or transformers raise too) "
                   "counts as an error instead of 'not applicable'")
    p.add_argument("--thresholds", help="YAML/JSON thresholds file for the audio checks")
    p.add_argument("--xfails", help="expected failures: 'check-id-pattern  reason' per line")
    p.add_argument("--check", action="append", metavar="PATTERN",
                   help="only checks whose id matches (* and ? wildcards, brackets literal; "
                   "a bare area or check id selects all its cases; repeatable)")
    p.add_argument("--json", type=Path, help="write the report as JSON (schema: "
                   "conformance/checks/report.schema.json)")
    p.add_argument("--html", type=Path, help="also write a self-contained HTML report: "
                   "verdict, checks, metrics against thresholds, spectrograms and audio "
                   f"excerpts ({EXCERPT_SECONDS:g} s) of the run's own decodes (needs the "
                   "report extra: matplotlib)")
    p.add_argument("--all", action="store_true", help="list every outcome, not only those "
                   "that did not pass")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_load_options(p)
    corpus_validate.add_options(p)
    p.set_defaults(func=_validate)
