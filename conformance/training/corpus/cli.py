"""The corpus command line: build a corpus (or `--verify` an existing one).

    python -m conformance.training.corpus [--out DIR] [--seed 0] [--espeak-minutes 60] ...
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from conformance.training.corpus.build import build_corpus, verify_corpus
from conformance.training.corpus.spec import (
    ALL_SOURCES,
    CORPUS_KINDS,
    DEFAULT_CORPUS_DIR,
    MANIFEST,
    CorpusSpec,
)

__all__ = ["main"]

#: The first line of `--help`.
DESCRIPTION = ("Build the training corpus: reproducible, documented, and free of the "
               "evaluation clips.")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(DEFAULT_CORPUS_DIR), help="corpus directory "
                   "(default %(default)s; env ENCODEC_CONFORMANCE_CORPUS)")
    p.add_argument("--cache", default=None, help="where Debian packages are kept "
                   "(default: OUT/../debian-cache)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sources", default=",".join(ALL_SOURCES),
                   help="comma-separated subset of: %(default)s")
    p.add_argument("--espeak-minutes", type=float, default=60.0)
    p.add_argument("--flite-minutes", type=float, default=10.0)
    p.add_argument("--music-minutes", type=float, default=20.0)
    p.add_argument("--valid-percent", type=float, default=2.0)
    p.add_argument("--extra-dir", default=None, help="add every sound file under this "
                   "directory (your own recordings; never the evaluation clips)")
    p.add_argument("--extra-kind", default="speech", choices=CORPUS_KINDS)
    p.add_argument("--extra-license", default="unspecified",
                   help="license recorded for the --extra-dir files")
    p.add_argument("--verify", action="store_true", help="only re-check an existing corpus")
    args = p.parse_args(argv)
    if args.verify:
        print(f"{verify_corpus(args.out)} files verified in {args.out}")
        return 0
    spec = CorpusSpec(seed=args.seed, sources=tuple(s for s in args.sources.split(",") if s),
                      espeak_minutes=args.espeak_minutes, flite_minutes=args.flite_minutes,
                      music_minutes=args.music_minutes, valid_percent=args.valid_percent,
                      extra_dir=args.extra_dir, extra_kind=args.extra_kind,
                      extra_license=args.extra_license)
    manifest = build_corpus(args.out, spec, cache_dir=args.cache)
    print(json.dumps(manifest["totals"], indent=1))
    print(f"manifest: {Path(args.out).expanduser() / MANIFEST}")
    return 0
