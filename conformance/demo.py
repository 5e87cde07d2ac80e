"""The main job (for now): run every reference model family on the reference audio.

Weights are seeded random weights with realistic statistics (golden trained checkpoints come
later), so the audio is not meaningful yet; shapes, bitrates, frame rates and chunking are.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import torch

from .audio_io import audio_write, load_audio
from .presets import PRESETS
from .random_weights import random_model

REFERENCE_AUDIO = Path(__file__).resolve().parent.parent / "reference_audio"
#: which clip each family is shown on (speech for speech codecs, music for music codecs)
DEMO_CLIPS = {
    "encodec_24khz": "speech_female_16k_cmu_arctic_slt_a0009.wav",
    "encodec_48khz": "music_guitar_em9_stereo_44k_sonicpi.wav",
    "encodec_32khz": "music_tabla_loop_44k_sonicpi.wav",
    "audiogen_16khz": "speech_female_16k_cmu_arctic_slt_a0009.wav",
}


@torch.no_grad()
def run_demo(seconds: float = 2.0, out_dir: Path | None = None, audio_dir: Path | None = None,
             families: list[str] | None = None, stream=sys.stdout) -> list[dict]:
    """Encode and decode a reference clip with each family at each bandwidth; print a table."""
    audio_dir = audio_dir or REFERENCE_AUDIO
    rows = []
    header = (f"{'family':15s} {'clip':34s} {'sr':>6s} {'ch':>2s} {'hop':>4s} {'fps':>6s} "
              f"{'kbps':>6s} {'n_q':>3s} {'chunks':>6s} {'codes [B,K,T]':>15s} "
              f"{'input':>8s} {'decoded':>8s} {'rtf':>6s}")
    print(header, file=stream)
    print("-" * len(header), file=stream)
    for name in families or list(PRESETS):
        cfg = PRESETS[name]
        model = random_model(cfg, seed=0)
        clip = audio_dir / DEMO_CLIPS[name]
        wav, sr = load_audio(clip, cfg.sample_rate, cfg.channels)
        wav = wav[:, : int(seconds * sr)][None]
        for bw in cfg.bandwidths:
            t0 = time.perf_counter()
            enc = model.encode(wav, bw, sample_rate=sr)
            dec = model.decode(enc)
            elapsed = time.perf_counter() - t0
            out = dec[..., : wav.shape[-1]]
            kbps = enc.n_q * math.log2(cfg.bins) * cfg.codebook_frame_rate / 1000
            row = dict(family=name, clip=clip.name, sample_rate=sr, channels=cfg.channels,
                       hop=cfg.hop_length, frame_rate=cfg.frame_rate, bandwidth=bw, kbps=kbps,
                       n_q=enc.n_q, chunks=len(enc.chunks), codes_shape=tuple(enc.codes.shape),
                       input_samples=wav.shape[-1], decoded_samples=dec.shape[-1],
                       realtime_factor=(wav.shape[-1] / sr) / elapsed)
            rows.append(row)
            print(f"{name:15s} {clip.name[:34]:34s} {sr:6d} {cfg.channels:2d} "
                  f"{cfg.hop_length:4d} {cfg.frame_rate:6.1f} {kbps:6.2f} {enc.n_q:3d} "
                  f"{len(enc.chunks):6d} {str(list(enc.codes.shape)):>15s} "
                  f"{wav.shape[-1]:8d} {dec.shape[-1]:8d} {row['realtime_factor']:5.1f}x",
                  file=stream, flush=True)
            if out_dir is not None:
                audio_write(Path(out_dir) / f"{name}_{bw:g}kbps.wav", out[0], sr)
    print("\n(random seeded weights: the audio is noise until golden checkpoints are loaded; "
          "kbps = n_q * log2(bins) * frame rate)", file=stream)
    return rows
