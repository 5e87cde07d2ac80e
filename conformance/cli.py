"""Command-line interface: `encodec-conformance <command>`.

Exit codes: 0 success, 1 a check failed, 2 input unreadable or refused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(seconds=args.seconds, out_dir=args.out, families=args.family or None)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="encodec-conformance",
        description="Reference EnCodec and conformance checks for EnCodec checkpoints.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="encode/decode reference audio with every model family",
                          description="Encode and decode a reference clip with each model "
                          "family at each bandwidth and print shapes, bitrates, frame rates.")
    demo.add_argument("--seconds", type=float, default=2.0, help="clip length (default 2 s)")
    demo.add_argument("--out", type=Path, default=None, help="write decoded audio here")
    demo.add_argument("--family", action="append",
                      help="only this family (repeatable): encodec_24khz, encodec_48khz, "
                      "encodec_32khz, audiogen_16khz")
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
