#!/usr/bin/env python3
"""Build the training corpus for the golden checkpoints (see golden_checkpoints/README.md).

    python scripts/build_corpus.py [--out DIR] [--seed 0] [--sources ...]
    python scripts/build_corpus.py --verify

The same as `python -m conformance.training.corpus`; needs the package installed.
"""

from __future__ import annotations

from conformance.training.corpus import main

if __name__ == "__main__":
    raise SystemExit(main())
