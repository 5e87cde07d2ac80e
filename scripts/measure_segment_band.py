#!/usr/bin/env python3
"""Measure how far bounded-memory coding (`conformance.corpus.segments`) is from whole-file
coding, for the bundled golden checkpoints (docs/corpus_validation.md quotes the output).

    python scripts/measure_segment_band.py [--family encodec_32khz] [--context 0.25 0.5 1 2]
        [--threads 1]

For each family and signal (the 60 s speech-like signal, cut to 37.3 s, and the two 10 s
music recordings), it codes the signal whole (`conformance.golden.runs.encode_decode`) and in
segments, at every bandwidth, and prints: whether the decodes are bitwise equal, the SNR of
the segmented decode against the whole-file one, the largest sample difference, and the STOI
and mel distance of each against the input.
"""

from __future__ import annotations

import argparse
import math

import torch

from conformance._data import golden_dir
from conformance.audio.clips import load_reference
from conformance.audio.signals import generate
from conformance.checkpoints.load import load_checkpoint
from conformance.corpus.segments import SegmentCoder
from conformance.golden.bundle import FAMILIES
from conformance.golden.runs import encode_decode
from conformance.quality.metrics import compute_metrics


def _segmented(model, x, bws, **options):
    coder = SegmentCoder(model, bws, **options)
    pieces = []
    step = model.sample_rate  # one second per block
    for i in range(0, x.shape[-1], step):
        pieces += coder.feed(x[:, i:i + step])
    pieces += coder.finish()
    return {bw: torch.cat([p.decodes[bw] for p in pieces], -1) for bw in bws}, coder


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--family", action="append", choices=FAMILIES)
    p.add_argument("--context", nargs="+", type=float, default=[0.25, 0.5, 1.0, 2.0])
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print("| family | strategy | context s | signal | kbps | bitwise | SNR vs whole dB | "
          "max abs diff | STOI whole / seg | mel whole / seg |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for family in args.family or FAMILIES:
        model = load_checkpoint(golden_dir() / f"{family}.th").model
        sr, ch = model.sample_rate, model.channels
        signals = {"speech_like_37s": generate("long_60s", sr, ch)[:, : int(37.3 * sr)],
                   "guitar_10s": load_reference("music_guitar_em9_stereo_44k_sonicpi", sr, ch),
                   "tabla_10s": load_reference("music_tabla_loop_44k_sonicpi", sr, ch)}
        bws = list(model.bandwidths)
        contexts = args.context if model.cfg.segment is None and not model.cfg.causal else [0.0]
        with torch.inference_mode():
            for name, x in signals.items():
                whole = {bw: encode_decode(model, x, bw)[1] for bw in bws}
                for context in contexts:
                    got, coder = _segmented(model, x, bws, segment_seconds=2.0,
                                            context_seconds=context)
                    for bw in bws:
                        d = got[bw] - whole[bw]
                        noise = float(d.double().pow(2).sum())
                        snr = (math.inf if noise == 0 else 10 * math.log10(
                            float(whole[bw].double().pow(2).sum()) / noise))
                        mw = compute_metrics(x, whole[bw], sr, ["stoi", "mel_distance"])
                        ms = compute_metrics(x, got[bw], sr, ["stoi", "mel_distance"])
                        print(f"| {family} | {coder.strategy} | {context:g} | {name} | {bw:g} | "
                              f"{torch.equal(got[bw], whole[bw])} | {snr:.1f} | "
                              f"{float(d.abs().max()):.2e} | "
                              f"{mw['stoi'].value:.4f} / {ms['stoi'].value:.4f} | "
                              f"{mw['mel_distance'].value:.4f} / "
                              f"{ms['mel_distance'].value:.4f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
