#!/usr/bin/env python3
"""Build the training corpus for the golden checkpoints (see README.md beside this file).

    python golden_checkpoints/build_corpus.py [--out DIR] [--seed 0] [--sources ...]

A thin wrapper around `python -m conformance.training.corpus`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conformance.training.corpus import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
