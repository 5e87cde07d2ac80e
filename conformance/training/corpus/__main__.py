"""`python -m conformance.training.corpus`: build (or `--verify`) the training corpus."""

from __future__ import annotations

from conformance.training.corpus.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    raise SystemExit(main())
