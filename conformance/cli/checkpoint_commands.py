"""`inspect`, `convert` and `export`: a checkpoint's format and config with provenance, and
verified conversions between formats."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from conformance.checkpoints.naming import WEIGHT_NORM_STYLES
from conformance.checkpoints.write import TARGETS, WriteResult
from conformance.cli.options import add_load_options, load_kwargs
from conformance.fileio import atomic_write_text

__all__ = ["add_parsers", "inspect_report"]


def inspect_report(loaded: Any) -> dict[str, Any]:
    """What `inspect` prints and writes as JSON, for a `LoadedCheckpoint`."""
    raw, cfg = loaded.raw, loaded.config
    n_params = sum(v.numel() for v in loaded.state_dict.values())
    dtypes = sorted({str(v.dtype).replace("torch.", "") for v in raw.state_dict.values()})
    return {
        "path": str(raw.path),
        "format": raw.format,
        "sha256": raw.meta.get("sha256"),
        "tensors": len(raw.state_dict),
        "parameters": n_params,
        "size_mb_float32": round(n_params * 4 / 1e6, 2),
        "dtypes_after_reading": dtypes,
        "key_style": loaded.named.style,
        "config": cfg.to_dict(),
        "provenance": loaded.resolved.provenance,
        "derived": {"hop_length": cfg.hop_length, "frame_rate": cfg.frame_rate,
                    "bandwidths": list(cfg.bandwidths),
                    "codebooks_per_bandwidth": {str(b): loaded.model.n_q_for_bandwidth(b)
                                                for b in cfg.bandwidths}},
        "mapping": {"mapped": len(loaded.report.mapped), "problems": loaded.report.n_problems},
        "warnings": list(raw.warnings) + list(loaded.notes),
        "ignored_tensors": list(loaded.ignored),
        "ambiguities": list(loaded.resolved.ambiguities),
        "conflicts": list(loaded.resolved.conflicts),
        "meta": {k: v for k, v in raw.meta.items() if k != "sha256"},
    }


def _inspect(args: argparse.Namespace) -> int:
    from conformance.checkpoints.load import load_checkpoint

    loaded = load_checkpoint(args.path, args.format, **load_kwargs(args))
    info = inspect_report(loaded)
    cfg = loaded.config
    print(f"{info['path']}: {info['format']}, {info['tensors']} tensors, "
          f"{info['parameters']:,} parameters ({info['size_mb_float32']} MB float32), sha256 "
          f"{str(info['sha256'])[:16]}...")
    print(f"  all {len(loaded.report.mapped)} tensors map to the reference model and load "
          "strictly")
    print(f"  hop {cfg.hop_length}, {cfg.frame_rate:g} frames/s, bandwidths "
          f"{list(cfg.bandwidths)} kbps -> codebooks "
          f"{list(info['derived']['codebooks_per_bandwidth'].values())}")
    print("  config (field = value  [source]):")
    for key, value in cfg.to_dict().items():
        if key == "name":
            continue
        print(f"    {key:20s} = {value!s:28s} [{loaded.resolved.provenance.get(key, '?')}]")
    for title, items in (("warning", info["warnings"]), ("ambiguity", info["ambiguities"]),
                         ("conflict settled", info["conflicts"])):
        for item in items:
            print(f"  {title}: {item}")
    if args.json:
        atomic_write_text(args.json, json.dumps(info, indent=2, default=str) + "\n")
        print(f"wrote {args.json}")
    return 0


def _report_write(result: WriteResult) -> int:
    print(f"wrote {result.path} ({result.format}, {result.tensors} tensors)")
    for line in result.verified:
        print(f"  verified: {line}")
    for line in result.notes:
        print(f"  note: {line}")
    return 0


def _convert(args: argparse.Namespace) -> int:
    from conformance.checkpoints.write import convert

    return _report_write(convert(args.src, args.dst, args.to, src_format=args.format,
                                 weight_norm=args.weight_norm, overwrite=args.overwrite,
                                 **load_kwargs(args)))


def _export(args: argparse.Namespace) -> int:
    from conformance.checkpoints.write import export

    return _report_write(export(args.src, args.dst, overwrite=args.overwrite))


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register `inspect`, `convert` and `export`."""
    ins = sub.add_parser("inspect", help="format, config (with sources), tensors, warnings",
                         description="Read a checkpoint (file, HF directory or cached hub "
                         "name), name its tensors, resolve its config and load it strictly; "
                         "print the format, every config field with where it came from, tensor "
                         "count, dtypes, size and warnings.")
    ins.add_argument("path", help="checkpoint file, HF directory, or a cached hub name")
    ins.add_argument("--json", type=Path, help="also write the report as JSON here")
    add_load_options(ins)
    ins.set_defaults(func=_inspect)

    con = sub.add_parser("convert", help="convert a checkpoint to another format (verified)",
                         description="Convert any readable checkpoint to a HF directory, an "
                         "AudioCraft exported checkpoint or an original-package .th; the "
                         "output is read back and compared tensor by tensor before success.")
    con.add_argument("src")
    con.add_argument("dst", type=Path)
    con.add_argument("--to", required=True, choices=sorted(TARGETS))
    con.add_argument("--weight-norm", default="weight_g", choices=sorted(WEIGHT_NORM_STYLES),
                     help="spelling of weight-norm tensors in a HF output (default weight_g)")
    con.add_argument("--overwrite", action="store_true", help="replace an existing output")
    add_load_options(con)
    con.set_defaults(func=_convert)

    exp = sub.add_parser("export", help="AudioCraft training checkpoint -> exported checkpoint",
                         description="Slim an AudioCraft training checkpoint into an exported "
                         "one (flat best_state, xp.cfg as YAML, version, exported=True).")
    exp.add_argument("src")
    exp.add_argument("dst", type=Path)
    exp.add_argument("--overwrite", action="store_true")
    exp.set_defaults(func=_export)
