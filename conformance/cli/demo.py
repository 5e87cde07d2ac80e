"""`encodec-conformance demo`: run every reference model family on a reference clip.

Weights are seeded random weights with realistic statistics, so the audio is noise; what the
demo shows is each family's shapes, bitrates, frame rates, codebooks and chunking.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

from conformance.audio.clips import load_reference
from conformance.audio.io import audio_write
from conformance.model.presets import PRESETS
from conformance.testing.weights import random_model

__all__ = ["DEMO_CLIPS", "add_parser", "run_demo"]

#: which clip each family is shown on (speech for speech codecs, music for music codecs)
DEMO_CLIPS = {
    "encodec_24khz": "speech_female_16k_cmu_arctic_slt_a0009",
    "encodec_48khz": "music_guitar_em9_stereo_44k_sonicpi",
    "encodec_32khz": "music_tabla_loop_44k_sonicpi",
    "audiogen_16khz": "speech_female_16k_cmu_arctic_slt_a0009",
}


@torch.no_grad()
def run_demo(seconds: float = 2.0, out_dir: Path | None = None,
             families: list[str] | None = None, stream=sys.stdout) -> list[dict]:
    """Encode and decode a reference clip with each family at each bandwidth; print a table."""
    rows = []
    header = (f"{'family':15s} {'clip':34s} {'sr':>6s} {'ch':>2s} {'hop':>4s} {'fps':>6s} "
              f"{'kbps':>6s} {'n_q':>3s} {'chunks':>6s} {'codes [B,K,T]':>15s} "
              f"{'input':>8s} {'decoded':>8s} {'rtf':>6s}")
    print(header, file=stream)
    print("-" * len(header), file=stream)
    for name in families or list(PRESETS):
        cfg = PRESETS[name]
        model = random_model(cfg, seed=0)
        clip = DEMO_CLIPS[name]
        sr = cfg.sample_rate
        wav = load_reference(clip, sr, cfg.channels)[:, : int(seconds * sr)][None]
        for bw in cfg.bandwidths:
            t0 = time.perf_counter()
            enc = model.encode(wav, bw, sample_rate=sr)
            dec = model.decode(enc)
            elapsed = time.perf_counter() - t0
            out = dec[..., : wav.shape[-1]]
            kbps = enc.n_q * math.log2(cfg.bins) * cfg.codebook_frame_rate / 1000
            row = dict(family=name, clip=clip, sample_rate=sr, channels=cfg.channels,
                       hop=cfg.hop_length, frame_rate=cfg.frame_rate, bandwidth=bw, kbps=kbps,
                       n_q=enc.n_q, chunks=len(enc.chunks), codes_shape=tuple(enc.codes.shape),
                       input_samples=wav.shape[-1], decoded_samples=dec.shape[-1],
                       realtime_factor=(wav.shape[-1] / sr) / elapsed)
            rows.append(row)
            print(f"{name:15s} {clip[:34]:34s} {sr:6d} {cfg.channels:2d} "
                  f"{cfg.hop_length:4d} {cfg.frame_rate:6.1f} {kbps:6.2f} {enc.n_q:3d} "
                  f"{len(enc.chunks):6d} {str(list(enc.codes.shape)):>15s} "
                  f"{wav.shape[-1]:8d} {dec.shape[-1]:8d} {row['realtime_factor']:5.1f}x",
                  file=stream, flush=True)
            if out_dir is not None:
                audio_write(Path(out_dir) / f"{name}_{bw:g}kbps.wav", out[0], sr)
    print("\n(seeded random weights: the audio is noise; kbps = n_q * log2(bins) * frame "
          "rate; the golden checkpoints are real trained models: `encodec-conformance golden`)",
          file=stream)
    return rows


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `demo`."""
    demo = sub.add_parser("demo", help="encode/decode reference audio with every model family",
                          description="Encode and decode a reference clip with each model "
                          "family at each bandwidth (seeded random weights) and print shapes, "
                          "bitrates, frame rates and chunking.")
    demo.add_argument("--seconds", type=float, default=2.0, help="clip length (default 2 s)")
    demo.add_argument("--out", type=Path, default=None, help="write decoded audio here")
    demo.add_argument("--family", action="append", choices=sorted(PRESETS),
                      help="only this family (repeatable)")
    demo.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    run_demo(seconds=args.seconds, out_dir=args.out, families=args.family or None)
    return 0
