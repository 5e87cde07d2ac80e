"""`validate CKPT --audio DIR`: evaluate one checkpoint on a directory of audio (the options
and the branch of the `validate` command; `conformance.corpus` does the work).

Exit codes as the rest of the command: 0 conformant, 1 not conformant (a corpus threshold
failed, a decode held NaN/inf, coding a readable file raised), 2 refused (bad arguments, a
checkpoint that does not load, no readable audio). A shard (`--shard i/n`) exits 0 once it
is complete: the verdict belongs to the whole corpus, which `merge-reports` judges.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from conformance.errors import InvalidArgument

__all__ = ["add_options", "run"]


def add_options(p: argparse.ArgumentParser) -> None:
    """The corpus options of `validate`."""
    from conformance.corpus.segments import DEFAULT_CONTEXT_SECONDS, DEFAULT_SEGMENT_SECONDS
    from conformance.corpus.windows import DEFAULT_METRICS, DEFAULT_WINDOW_SECONDS
    from conformance.quality.metrics import METRICS

    g = p.add_argument_group(
        "corpus (--audio)", "evaluate ONE checkpoint on a directory of your audio: per-file "
        "metrics at every bandwidth, corpus statistics, a verdict on their mean and worst-5 % "
        "tail (--thresholds then names a corpus thresholds file; --family, --json and --html "
        "apply to the corpus report)")
    g.add_argument("--audio", type=Path, metavar="DIR",
                   help="directory of audio files (wav, flac, ogg, mp3; searched recursively)")
    g.add_argument("--jsonl", type=Path, metavar="PATH",
                   help="write one JSON line per file as it finishes (needed for --resume and "
                   "merge-reports)")
    g.add_argument("--resume", action="store_true",
                   help="continue the run recorded in --jsonl: finished files are not redone")
    g.add_argument("--shard", metavar="I/N",
                   help="evaluate only shard I of N (1-based; split by a hash of each "
                   "relative path); combine the shards with merge-reports")
    g.add_argument("--device", default="cpu", metavar="cpu|cuda|cuda:N",
                   help="where the model runs (default cpu: reproducible results that shards "
                   "and resumed runs can be merged with; cuda is faster)")
    g.add_argument("--bandwidth", action="append", type=float, metavar="KBPS",
                   help="only this bandwidth (repeatable; default: every one of the model)")
    g.add_argument("--metric", action="append", choices=list(METRICS),
                   help=f"only this metric (repeatable; default: {', '.join(DEFAULT_METRICS)})")
    g.add_argument("--window-seconds", type=float, default=DEFAULT_WINDOW_SECONDS,
                   help="metric window: a longer file is scored per window and the scores "
                   f"averaged, weighted by length (default {DEFAULT_WINDOW_SECONDS:g})")
    g.add_argument("--segment-seconds", type=float, default=DEFAULT_SEGMENT_SECONDS,
                   help="audio read and coded per step: bounds the memory (default "
                   f"{DEFAULT_SEGMENT_SECONDS:g})")
    g.add_argument("--context-seconds", type=float, default=DEFAULT_CONTEXT_SECONDS,
                   help="non-causal unchunked models: real signal coded on each side of a "
                   f"segment and dropped (default {DEFAULT_CONTEXT_SECONDS:g})")
    g.add_argument("--no-convert", dest="convert", action="store_false",
                   help="skip files not at the model's rate and channel count instead of "
                   "converting them (the conversion is recorded per file)")
    g.add_argument("--progress", action="store_true",
                   help="show the progress bar even when stderr is not a terminal")


def _check_args(args: argparse.Namespace) -> None:
    if getattr(args, "impl", None):
        raise InvalidArgument("--audio evaluates a checkpoint: give one checkpoint path, not "
                              "--impl")
    if len(args.paths) != 1:
        raise InvalidArgument(f"--audio needs exactly one checkpoint, got {len(args.paths)} "
                              "(validate the others in their own runs)")
    if args.resume and args.jsonl is None:
        raise InvalidArgument("--resume needs --jsonl PATH: the results file to continue")
    if args.family and len(args.family) > 1:
        raise InvalidArgument("--audio takes at most one --family")


def corpus_thresholds(path: str | Path | None, family: str | None, how: str):
    """The corpus thresholds: the file's (on the defaults), or the defaults."""
    from conformance.corpus.thresholds import default_thresholds, load_thresholds

    if path is not None:
        return load_thresholds(path, family, how)
    return default_thresholds(family, how)


def write_outputs(report: dict[str, Any], json_path: Path | None, html_path: Path | None
                  ) -> None:
    from conformance.fileio import atomic_write_text

    if json_path:
        atomic_write_text(json_path, json.dumps(report, indent=1, allow_nan=False) + "\n")
        print(f"wrote {json_path}", file=sys.stderr)
    if html_path:
        from conformance.corpus.html import write_html

        write_html(html_path, report)
        print(f"wrote {html_path}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """The `validate --audio` branch."""
    from conformance.checkpoints.load import load_checkpoint
    from conformance.cli.options import parse_sets
    from conformance.corpus.aggregate import build_report, format_summary
    from conformance.corpus.discover import parse_shard
    from conformance.corpus.runner import (
        CorpusSettings,
        resolve_device,
        run_corpus,
        threshold_family,
    )
    from conformance.corpus.windows import DEFAULT_METRICS

    _check_args(args)
    shard = parse_shard(args.shard) if args.shard else None
    resolve_device(args.device)  # before loading anything
    if not args.audio.is_dir():
        raise InvalidArgument(f"--audio {args.audio}: not a directory")
    source = args.paths[0]
    loaded = load_checkpoint(source, args.format, config_path=args.config, preset=args.preset,
                             overrides=parse_sets(args.set),
                             ignore_dead_shortcuts=not args.strict_extra)
    family_arg = args.family[0] if args.family else None
    family, how = threshold_family(loaded.config, family_arg)
    thresholds = corpus_thresholds(args.thresholds, family, how)  # a bad file: before the run
    settings = CorpusSettings(
        bandwidths=tuple(args.bandwidth) if args.bandwidth else None,
        metrics=tuple(args.metric) if args.metric else DEFAULT_METRICS,
        window_seconds=args.window_seconds, segment_seconds=args.segment_seconds,
        context_seconds=args.context_seconds, convert=args.convert, device=args.device)
    checkpoint = {"source": str(source), "format": loaded.format,
                  "sha256": loaded.raw.meta.get("sha256")}
    progress = args.progress or (sys.stderr.isatty() and not args.no_progress)
    try:
        result = run_corpus(args.audio, loaded.model, checkpoint=checkpoint, settings=settings,
                            jsonl=args.jsonl, resume=args.resume, shard=shard,
                            family=family_arg, progress=progress)
    except KeyboardInterrupt:
        if args.jsonl is not None:
            print(f"interrupted: the finished files are in {args.jsonl}; add --resume to "
                  "continue", file=sys.stderr)
        raise
    if result.resumed or result.dropped:
        print(f"resumed: {result.resumed} file(s) already done, {len(result.dropped)} record(s) "
              "dropped (the file changed or left the listing)", file=sys.stderr)
    shards = [{"file": str(args.jsonl) if args.jsonl else None,
               "index": shard[0] if shard else None, "count": shard[1] if shard else None,
               "files": len(result.records), "ignored": len(result.listing.ignored)}]
    report = build_report(result.run, result.records, thresholds, shards=shards,
                          ignored=len(result.listing.ignored))
    print(format_summary(report))
    write_outputs(report, args.json, args.html)
    if shard is not None:
        print(f"shard {shard[0]}/{shard[1]} complete: the verdict above covers this shard "
              "only; merge-reports judges the corpus", file=sys.stderr)
        return 0
    return int(report["exit_code"])
