"""The `encodec-conformance` command: parser, dispatch and exit codes.

Exit codes (`conformance.errors.ExitCode`): 0 success, 1 a check failed, 2 input unreadable or
refused (corrupt or hostile file, bad audio, bad arguments), 3 a bug (an unexpected exception,
shown with its traceback). A `ConformanceError` is printed as one sentence on stderr plus
indented details, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
import traceback
import warnings

from conformance import __version__
from conformance.cli import (
    bench_command,
    checkpoint_commands,
    codec_commands,
    demo,
    golden_command,
    merge_command,
    validate_command,
)
from conformance.errors import CheckpointWarning, ConformanceError, ExitCode

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="encodec-conformance",
        description="Reference EnCodec and conformance checks for EnCodec checkpoints. "
        "Exit codes: 0 success, 1 a check failed, 2 input unreadable or refused, 3 a bug.")
    parser.add_argument("--version", action="version",
                        version=f"encodec-conformance {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    validate_command.add_parser(sub)
    bench_command.add_parser(sub)
    golden_command.add_parser(sub)
    merge_command.add_parser(sub)
    checkpoint_commands.add_parsers(sub)
    codec_commands.add_parsers(sub)
    demo.add_parser(sub)
    return parser


def _error(exc: ConformanceError) -> None:
    print(f"error: {exc.message}", file=sys.stderr)
    for line in exc.details:
        print(f"  {line}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; map each failure to its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CheckpointWarning)  # reported in the command's output
        try:
            return int(args.func(args))
        except ConformanceError as exc:
            _error(exc)
            return int(exc.exit_code)
        except OSError as exc:  # a file that cannot be written or read: refused, not a bug
            where = f"{exc.filename}: " if exc.filename else ""
            print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
            return int(ExitCode.REFUSED)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        except Exception:  # noqa: BLE001 - anything else is a bug: show everything
            traceback.print_exc()
            print(f"\nThis is a bug in encodec-conformance {__version__} (or in the code it "
                  "ran): the traceback above says where. Please report it with the command "
                  "line.", file=sys.stderr)
            return int(ExitCode.BUG)


if __name__ == "__main__":
    sys.exit(main())
