"""Options shared by the commands that load a checkpoint, with their choices taken from the
registries (checkpoint formats, presets)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from conformance.checkpoints.formats import FORMATS, LOADABLE_FORMATS
from conformance.errors import InvalidArgument
from conformance.model.presets import PRESETS
from conformance.safe_parse import parse_yaml

__all__ = ["FORMATS", "add_load_options", "load_kwargs", "parse_sets"]


def parse_sets(items: list[str] | None) -> dict[str, Any] | None:
    """`--set field=value` pairs; values parsed as YAML scalars/lists (true, 0.01, [8,5,4,2])."""
    if not items:
        return None
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidArgument(f"--set {item!r}: expected FIELD=VALUE")
        parsed = parse_yaml(value, f"--set {key.strip()}")
        out[key.strip()] = tuple(parsed) if isinstance(parsed, list) else parsed
    return out


def load_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of `load_checkpoint` from the parsed load options."""
    return dict(config_path=getattr(args, "config", None), preset=getattr(args, "preset", None),
                overrides=parse_sets(getattr(args, "set", None)),
                ignore_dead_shortcuts=not getattr(args, "strict_extra", False))


def add_load_options(p: argparse.ArgumentParser) -> None:
    """--format, --config, --preset, --set, --strict-extra."""
    p.add_argument("--format", choices=LOADABLE_FORMATS,
                   help="force the input format instead of detecting it")
    p.add_argument("--config", type=Path, help="config.json for a bare HF weights file")
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="family for fields the file does not hold")
    p.add_argument("--set", action="append", metavar="FIELD=VALUE",
                   help="override a config field (repeatable), e.g. --set pad_mode=constant")
    p.add_argument("--strict-extra", action="store_true",
                   help="also refuse shortcut-conv tensors that the file's own config disables "
                   "(by default they are left out with a warning naming each one, as in "
                   "facebook/encodec_32khz's Hub weights)")
