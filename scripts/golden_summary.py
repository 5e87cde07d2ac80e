"""Print a Markdown summary of the installed golden checkpoints, read from their manifests.

    python scripts/golden_summary.py [--dir FOLDER]

One row per family x bandwidth x speech clip: file size, training steps and CPU time, and STOI /
PESQ-WB / mel distance (the numbers the READMEs quote). Default folder: the bundled checkpoints.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from conformance.golden.report import summary_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None,
                        help="a golden folder (default: the bundled checkpoints)")
    args = parser.parse_args(argv)
    print(summary_table(args.dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
