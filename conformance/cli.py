"""Command-line interface: `encodec-conformance <command>`.

Exit codes: 0 success, 1 a check failed (keys/shapes/config do not fit, verification failed),
2 input unreadable or refused (corrupt or hostile file, bad audio, bad arguments).
Errors go to stderr as one sentence plus indented details, never as a bare traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_CHECK_FAILED, EXIT_REFUSED = 0, 1, 2


def _err(message: str, details: list[str] | None = None) -> None:
    print(f"error: {message}", file=sys.stderr)
    for line in details or []:
        print(f"  {line}", file=sys.stderr)


def _info(message: str) -> None:
    print(message, file=sys.stderr)


def _parse_sets(items: list[str] | None) -> dict[str, Any] | None:
    """`--set field=value` pairs; values parsed as YAML scalars/lists (true, 0.01, [8,5,4,2])."""
    import yaml

    if not items:
        return None
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set {item!r}: expected FIELD=VALUE")
        parsed = yaml.safe_load(value)
        out[key.strip()] = tuple(parsed) if isinstance(parsed, list) else parsed
    return out


def _load_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return dict(config_path=getattr(args, "config", None), preset=getattr(args, "preset", None),
                overrides=_parse_sets(getattr(args, "set", None)),
                ignore_dead_shortcuts=not getattr(args, "strict_extra", False))


# ---------------------------------------------------------------------------------- demo
def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(seconds=args.seconds, out_dir=args.out, families=args.family or None)
    return EXIT_OK


# -------------------------------------------------------------------------------- golden
def _cmd_golden(args: argparse.Namespace) -> int:
    from .golden_report import run_golden

    try:
        reports, text = run_golden(args.family or None, sensitivity=args.sensitivity,
                                   json_path=args.json, directory=args.dir,
                                   out_dir=args.out)
    except FileNotFoundError as exc:
        _err(str(exc))
        return EXIT_REFUSED
    print(text)
    return EXIT_OK if all(r.passed for r in reports) else EXIT_CHECK_FAILED


# ------------------------------------------------------------------------------- inspect
def _cmd_inspect(args: argparse.Namespace) -> int:
    from .audio_io import atomic_write_bytes
    from .checkpoint import load_checkpoint

    loaded = load_checkpoint(args.path, args.format, **_load_kwargs(args))
    raw, cfg = loaded.raw, loaded.config
    n_params = sum(v.numel() for v in loaded.state_dict.values())
    dtypes = sorted({str(v.dtype).replace("torch.", "") for v in raw.state_dict.values()})
    info = {
        "path": str(raw.path),
        "format": raw.format,
        "sha256": raw.meta.get("sha256"),
        "tensors": len(raw.state_dict),
        "parameters": n_params,
        "size_mb_float32": round(n_params * 4 / 1e6, 2),
        "dtypes_after_reading": dtypes,
        "key_style": "hf" if raw.format == "hf" else "canonical",
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
    print(f"{raw.path}: {raw.format}, {info['tensors']} tensors, {n_params:,} parameters "
          f"({info['size_mb_float32']} MB float32), sha256 {str(info['sha256'])[:16]}...")
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
        text = json.dumps(info, indent=2, default=str) + "\n"
        atomic_write_bytes(args.json, lambda tmp: Path(tmp).write_text(text))
        _info(f"wrote {args.json}")
    return EXIT_OK


# --------------------------------------------------------------------- convert / export
def _cmd_convert(args: argparse.Namespace) -> int:
    from .writers import convert

    result = convert(args.src, args.dst, args.to, src_format=args.format,
                     weight_norm=args.weight_norm, overwrite=args.overwrite,
                     **_load_kwargs(args))
    return _report_write(result)


def _cmd_export(args: argparse.Namespace) -> int:
    from .writers import export

    return _report_write(export(args.src, args.dst, overwrite=args.overwrite))


def _report_write(result) -> int:
    print(f"wrote {result.path} ({result.format}, {result.tensors} tensors)")
    for line in result.verified:
        print(f"  verified: {line}")
    for line in result.notes:
        print(f"  note: {line}")
    return EXIT_OK


# ------------------------------------------------------------------------ encode / decode
def _bandwidth(text: str) -> float | str:
    return text if text in ("all", "smallest") else float(text)


def _cmd_encode(args: argparse.Namespace) -> int:
    import numpy as np
    import soundfile as sf
    import torch

    from .audio_io import atomic_write_bytes, load_audio
    from .checkpoint import load_checkpoint
    from .config import ConfigError
    from .model import InputError

    loaded = load_checkpoint(args.checkpoint, args.format, **_load_kwargs(args))
    model = loaded.model
    try:
        model.n_q_for_bandwidth(args.bandwidth)
    except ConfigError as exc:
        raise InputError(str(exc)) from exc
    wav, sr = load_audio(args.audio, model.sample_rate, model.channels)
    info = sf.info(str(args.audio))
    if info.samplerate != model.sample_rate or info.channels != model.channels:
        _info(f"note: {args.audio} is {info.samplerate} Hz, {info.channels} ch; converted to "
              f"{model.sample_rate} Hz, {model.channels} ch (torchaudio sinc resampler)")
    with torch.no_grad():
        enc = model.encode(wav[None], args.bandwidth, sample_rate=sr)
    scales = [c.scale for c in enc.chunks]
    arrays = {
        "codes": enc.codes.numpy().astype(np.int64),
        "chunk_frames": np.array([c.codes.shape[-1] for c in enc.chunks], dtype=np.int64),
        "chunk_lengths": np.array([c.length for c in enc.chunks], dtype=np.int64),
        "scales": (np.stack([s.numpy() for s in scales]) if scales[0] is not None
                   else np.zeros((0,), np.float32)),
        "length": np.array(enc.length),
        "sample_rate": np.array(model.sample_rate),
        "channels": np.array(model.channels),
        "hop_length": np.array(model.hop_length),
        "n_q": np.array(enc.n_q),
        "bins": np.array(model.bins),
        "bandwidth": np.array(np.nan if enc.bandwidth is None else enc.bandwidth),
        "format_version": np.array(1),
    }

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)

    atomic_write_bytes(args.out, write)
    kbps = enc.n_q * np.log2(model.bins) * loaded.config.codebook_frame_rate / 1000
    print(f"wrote {args.out}: codes {list(enc.codes.shape)} ({len(enc.chunks)} chunk(s)), "
          f"{enc.n_q} codebooks = {kbps:g} kbps, {enc.length} samples at {model.sample_rate} Hz")
    return EXIT_OK


def _read_codes(path: Path, model) -> tuple[Any, int]:
    import numpy as np
    import torch

    from .model import Encoded, EncodedChunk

    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise CodesFileError(f"{path} is not a readable codes file: {exc}") from exc
    missing = {"codes", "chunk_frames", "chunk_lengths", "scales", "length", "sample_rate",
               "hop_length", "bins"} - set(data)
    if missing:
        raise CodesFileError(f"{path} lacks {sorted(missing)}: not written by `encode`")
    for field_name, want in (("sample_rate", model.sample_rate), ("hop_length", model.hop_length),
                             ("bins", model.bins)):
        if int(data[field_name]) != want:
            raise CodesFileError(f"{path} was encoded with {field_name}={int(data[field_name])},"
                                 f" but this checkpoint has {want}")
    codes = torch.from_numpy(data["codes"]).long()
    bounds = np.cumsum([0, *data["chunk_frames"].tolist()])
    if codes.dim() != 3 or bounds[-1] != codes.shape[-1]:
        raise CodesFileError(f"{path}: codes shape {tuple(codes.shape)} does not match the "
                             f"chunk frame counts {data['chunk_frames'].tolist()}")
    scales = data["scales"]
    chunks = []
    for i in range(len(data["chunk_frames"])):
        scale = torch.from_numpy(scales[i]) if scales.size else None
        chunks.append(EncodedChunk(codes[..., bounds[i]:bounds[i + 1]], scale,
                                   int(data["chunk_lengths"][i])))
    return Encoded(chunks=chunks, length=int(data["length"]), n_q=codes.shape[1]), int(
        data["length"])


class CodesFileError(ValueError):
    """A codes file is unreadable or does not belong to this checkpoint."""


def _cmd_decode(args: argparse.Namespace) -> int:
    import torch

    from .audio_io import audio_write
    from .checkpoint import load_checkpoint

    loaded = load_checkpoint(args.checkpoint, args.format, **_load_kwargs(args))
    model = loaded.model
    encoded, length = _read_codes(args.codes, model)
    with torch.no_grad():
        audio = model.decode(encoded)[..., :length]
    out = audio_write(args.out, audio[0], model.sample_rate, strategy="clip")
    print(f"wrote {out}: {audio.shape[-1]} samples, {model.channels} ch, {model.sample_rate} Hz")
    return EXIT_OK


# ---------------------------------------------------------------------------------- parser
def _add_load_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=["audiocraft-exported", "audiocraft-training", "hf",
                                        "encodec"],
                   help="force the input format instead of detecting it")
    p.add_argument("--config", type=Path, help="config.json for a bare HF weights file")
    p.add_argument("--preset", help="family for fields the file does not hold: encodec_24khz, "
                   "encodec_48khz, encodec_32khz, audiogen_16khz")
    p.add_argument("--set", action="append", metavar="FIELD=VALUE",
                   help="override a config field (repeatable), e.g. --set pad_mode=constant")
    p.add_argument("--strict-extra", action="store_true",
                   help="also refuse shortcut-conv tensors that the file's own config disables "
                   "(by default they are left out with a warning naming each one, as in "
                   "facebook/encodec_32khz's Hub weights)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="encodec-conformance",
        description="Reference EnCodec and conformance checks for EnCodec checkpoints. "
        "Exit codes: 0 success, 1 a check failed, 2 input unreadable or refused.")
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

    gold = sub.add_parser("golden", help="validate the bundled golden checkpoints (report)",
                          description="For each golden checkpoint: codes and decodes against "
                          "its manifest (regression), PESQ/STOI/mel distance against the "
                          "golden thresholds (quality), and every breaker failing those "
                          "thresholds (sensitivity). Prints Markdown tables.")
    gold.add_argument("--family", action="append",
                      help="only this family (repeatable): encodec_24khz, encodec_32khz, "
                      "encodec_48khz")
    gold.add_argument("--no-sensitivity", dest="sensitivity", action="store_false",
                      help="skip the breakers (faster)")
    gold.add_argument("--json", type=Path, help="also write the report as JSON here")
    gold.add_argument("--out", type=Path, default=None,
                      help="write report.md, input/decoded WAVs and spectrogram PNGs here")
    gold.add_argument("--dir", type=Path, default=None,
                      help="folder holding <family>.th, <family>.manifest.json, the "
                      "regression FLACs and thresholds.json (default: golden_checkpoints/)")
    gold.set_defaults(func=_cmd_golden)

    ins = sub.add_parser("inspect", help="format, config (with sources), tensors, warnings",
                         description="Read a checkpoint (file, HF directory or cached hub "
                         "name), map its keys, resolve its config and load it strictly; print "
                         "the format, every config field with where it came from, tensor "
                         "count, dtypes, size and warnings.")
    ins.add_argument("path", help="checkpoint file, HF directory, or a cached hub name")
    ins.add_argument("--json", type=Path, help="also write the report as JSON here")
    _add_load_options(ins)
    ins.set_defaults(func=_cmd_inspect)

    con = sub.add_parser("convert", help="convert a checkpoint to another format (verified)",
                         description="Convert any readable checkpoint to a HF directory, an "
                         "AudioCraft exported checkpoint or an original-package .th; the "
                         "output is read back and compared tensor by tensor before success.")
    con.add_argument("src")
    con.add_argument("dst", type=Path)
    con.add_argument("--to", required=True, choices=["hf", "audiocraft", "encodec"])
    con.add_argument("--weight-norm", default="weight_g", choices=["weight_g", "parametrizations"],
                     help="spelling of weight-norm tensors in a HF output (default weight_g)")
    con.add_argument("--overwrite", action="store_true", help="replace an existing output")
    _add_load_options(con)
    con.set_defaults(func=_cmd_convert)

    exp = sub.add_parser("export", help="AudioCraft training checkpoint -> exported checkpoint",
                         description="Slim an AudioCraft training checkpoint into an exported "
                         "one (flat best_state, xp.cfg as YAML, version, exported=True).")
    exp.add_argument("src")
    exp.add_argument("dst", type=Path)
    exp.add_argument("--overwrite", action="store_true")
    exp.set_defaults(func=_cmd_export)

    enc = sub.add_parser("encode", help="audio file -> codes (.npz)",
                         description="Encode an audio file (resampled/remixed to the model's "
                         "rate and channels) into a codes file holding codes, scales and chunk "
                         "layout.")
    enc.add_argument("checkpoint")
    enc.add_argument("audio", type=Path)
    enc.add_argument("--bandwidth", type=_bandwidth, required=True,
                     help="kbps from the model's ladder, or 'all' / 'smallest'")
    enc.add_argument("--out", type=Path, required=True)
    _add_load_options(enc)
    enc.set_defaults(func=_cmd_encode)

    dec = sub.add_parser("decode", help="codes (.npz) -> audio",
                         description="Decode a codes file written by `encode` to audio, trimmed "
                         "to the encoded length.")
    dec.add_argument("checkpoint")
    dec.add_argument("codes", type=Path)
    dec.add_argument("--out", type=Path, required=True)
    _add_load_options(dec)
    dec.set_defaults(func=_cmd_decode)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; map each failure to its exit code with a one-sentence message."""
    import warnings

    from .config import ConfigError
    from .errors import CheckpointError, CheckpointWarning
    from .keymap import KeyMapError
    from .model import InputError
    from .writers import VerificationError

    parser = build_parser()
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", CheckpointWarning)  # reported in the command's output
    try:
        return int(args.func(args))
    except CheckpointError as exc:
        _err(exc.message, exc.details)
        return EXIT_REFUSED
    except (InputError, CodesFileError) as exc:
        _err(str(exc))
        return EXIT_REFUSED
    except KeyMapError as exc:
        lines = str(exc).splitlines()
        _err(lines[0] if lines else "the checkpoint's keys do not fit the model", lines[1:])
        return EXIT_CHECK_FAILED
    except (ConfigError, VerificationError) as exc:
        lines = str(exc).splitlines()
        _err(lines[0], lines[1:])
        return EXIT_CHECK_FAILED
    except ValueError as exc:  # bad --set values, unreadable audio
        _err(str(exc))
        return EXIT_REFUSED
    except OSError as exc:
        _err(f"{exc.filename or ''}: {exc.strerror or exc}".strip(": "))
        return EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main())
