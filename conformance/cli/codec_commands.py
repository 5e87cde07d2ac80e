"""`encode` and `decode`: audio file -> codes file -> audio file, with any checkpoint."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from conformance.cli.options import add_load_options, load_kwargs
from conformance.errors import InvalidArgument

__all__ = ["add_parsers"]


def _bandwidth(text: str) -> float | str:
    if text in ("all", "smallest"):
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither kbps nor 'all' / 'smallest'") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r}: the bandwidth must be a positive number")
    return value


def _encode(args: argparse.Namespace) -> int:
    import soundfile as sf
    import torch

    from conformance.audio.io import load_audio
    from conformance.checkpoints.codes_file import write_codes
    from conformance.checkpoints.load import load_checkpoint
    from conformance.errors import ConfigError

    loaded = load_checkpoint(args.checkpoint, args.format, **load_kwargs(args))
    model = loaded.model
    try:
        model.n_q_for_bandwidth(args.bandwidth)
    except ConfigError as exc:
        raise InvalidArgument(exc.message) from exc
    wav, sr = load_audio(args.audio, model.sample_rate, model.channels)
    info = sf.info(str(args.audio))
    if info.samplerate != model.sample_rate or info.channels != model.channels:
        print(f"note: {args.audio} is {info.samplerate} Hz, {info.channels} ch; converted to "
              f"{model.sample_rate} Hz, {model.channels} ch (the pinned sinc resampler)",
              file=sys.stderr)
    with torch.inference_mode():
        enc = model.encode(wav[None], args.bandwidth, sample_rate=sr)
    write_codes(args.out, enc, model)
    kbps = enc.n_q * math.log2(model.bins) * loaded.config.codebook_frame_rate / 1000
    print(f"wrote {args.out}: codes {list(enc.codes.shape)} ({len(enc.chunks)} chunk(s)), "
          f"{enc.n_q} codebooks = {kbps:g} kbps, {enc.length} samples at {model.sample_rate} Hz")
    return 0


def _decode(args: argparse.Namespace) -> int:
    import torch

    from conformance.audio.io import audio_write
    from conformance.checkpoints.codes_file import read_codes
    from conformance.checkpoints.load import load_checkpoint

    loaded = load_checkpoint(args.checkpoint, args.format, **load_kwargs(args))
    model = loaded.model
    encoded = read_codes(args.codes, model)
    with torch.inference_mode():
        audio = model.decode(encoded)[..., : encoded.length]
    out = audio_write(args.out, audio[0], model.sample_rate, strategy="clip")
    print(f"wrote {out}: {audio.shape[-1]} samples, {model.channels} ch, {model.sample_rate} Hz")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register `encode` and `decode`."""
    enc = sub.add_parser("encode", help="audio file -> codes (.npz)",
                         description="Encode an audio file (resampled/remixed to the model's "
                         "rate and channels) into a codes file holding codes, scales and chunk "
                         "layout.")
    enc.add_argument("checkpoint")
    enc.add_argument("audio", type=Path)
    enc.add_argument("--bandwidth", type=_bandwidth, required=True,
                     help="kbps from the model's ladder, or 'all' / 'smallest'")
    enc.add_argument("--out", type=Path, required=True)
    add_load_options(enc)
    enc.set_defaults(func=_encode)

    dec = sub.add_parser("decode", help="codes (.npz) -> audio",
                         description="Decode a codes file written by `encode` to audio, trimmed "
                         "to the encoded length.")
    dec.add_argument("checkpoint")
    dec.add_argument("codes", type=Path)
    dec.add_argument("--out", type=Path, required=True)
    add_load_options(dec)
    dec.set_defaults(func=_decode)
