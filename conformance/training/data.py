"""Training data: corpus clips in memory and a seeded sampler of fixed-length segments.

Clips are read from a corpus manifest (`conformance.training.corpus`), resampled and remixed
with the pinned `convert_audio`, levelled to -20 dBFS RMS over their active part, and kept as
int16 (with a per-clip scale) to save memory. `SegmentSampler` draws batches with its own
torch generator, whose state goes into the training checkpoint, so a resumed run sees the
batches it would have seen. Augmentation: gain (uniform in dB, peak-limited), polarity, and for
stereo models a random equal-power pan of mono sources and a random channel swap of stereo
ones.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from conformance.audio.io import load_audio
from conformance.training.corpus import read_corpus_manifest

__all__ = ["Clip", "SegmentSampler", "active_rms", "load_corpus", "make_clip"]


@dataclass
class Clip:
    """One corpus file at the model's rate and channels: int16 samples x scale = audio."""

    name: str
    kind: str
    samples: torch.Tensor  # int16 [C, T]
    scale: float
    mono_origin: bool

    @property
    def length(self) -> int:
        return self.samples.shape[-1]


def active_rms(wav: torch.Tensor, frame: int = 1024, floor_db: float = -50.0) -> float:
    """RMS over the frames within `floor_db` of the loudest frame (silence ignored)."""
    mono = wav.float().mean(dim=0)
    n = max(1, mono.shape[-1] // frame)
    frames = mono[: n * frame].reshape(n, -1) if mono.shape[-1] >= frame else mono[None]
    power = frames.pow(2).mean(dim=1)
    keep = power >= power.max() * 10 ** (floor_db / 10)
    return float(power[keep].mean().sqrt()) if bool(keep.any()) else 0.0


def make_clip(name: str, kind: str, wav: torch.Tensor, mono_origin: bool,
              level_db: float = -20.0) -> Clip | None:
    """A clip levelled to `level_db` dBFS active RMS (peak <= 1), or None when silent."""
    level = active_rms(wav)
    if level < 1e-6:
        return None
    wav = wav.float() * (10 ** (level_db / 20) / level)
    peak = float(wav.abs().max())
    scale = max(peak, 1e-9) / 32767
    samples = torch.round(wav / scale).clamp(-32767, 32767).to(torch.int16)
    return Clip(name=name, kind=kind, samples=samples, scale=scale, mono_origin=mono_origin)


def load_corpus(corpus_dir: str | os.PathLike, sample_rate: int, channels: int, *,
                split: str = "train", kinds: Sequence[str] | None = None,
                limit: int | None = None) -> list[Clip]:
    """The clips of one split (train / valid) of a corpus, at the model's rate and channels."""
    root = Path(corpus_dir).expanduser()
    entries = [e for e in read_corpus_manifest(root)["files"] if e["split"] == split
               and (kinds is None or e["kind"] in kinds)]
    clips = []
    for e in entries[:limit]:
        wav, _ = load_audio(root / e["file"], sample_rate, channels)
        clip = make_clip(e["file"], e["kind"], wav, mono_origin=e["channels"] == 1)
        if clip is not None:
            clips.append(clip)
    return clips


class SegmentSampler:
    """Random fixed-length segments from clips, with gain/polarity/stereo augmentation.

    A batch draws a kind by `mix` weight, a clip of that kind by length, and an offset; a
    clip shorter than the segment is placed at a random offset in zeros. Segments quieter
    than `min_rms_db` are drawn again (up to 4 times).
    """

    def __init__(self, clips: Sequence[Clip], segment_length: int, batch_size: int, *,
                 channels: int, seed: int = 0, mix: Mapping[str, float] | None = None,
                 gain_db: tuple[float, float] = (-12.0, 4.0),
                 min_rms_db: float = -55.0) -> None:
        if not clips:
            raise ValueError("no clips to sample from: is the corpus empty?")
        self.segment_length, self.batch_size, self.channels = segment_length, batch_size, channels
        self.gain_db, self.min_rms_db = gain_db, min_rms_db
        by_kind: dict[str, list[Clip]] = {}
        for c in clips:
            by_kind.setdefault(c.kind, []).append(c)
        mix = dict(mix) if mix else {k: 1.0 for k in by_kind}
        self.kinds = [k for k in sorted(by_kind) if mix.get(k, 0.0) > 0]
        if not self.kinds:
            raise ValueError(f"mix={mix} selects none of the corpus kinds {sorted(by_kind)}")
        self.by_kind = {k: by_kind[k] for k in self.kinds}
        self.kind_weights = torch.tensor([mix[k] for k in self.kinds], dtype=torch.float64)
        self.clip_weights = {k: torch.tensor([float(c.length) for c in v], dtype=torch.float64)
                             for k, v in self.by_kind.items()}
        self.generator = torch.Generator().manual_seed(seed)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        self.generator.set_state(state["generator"])

    def _uniform(self, lo: float = 0.0, hi: float = 1.0) -> float:
        return lo + (hi - lo) * float(torch.rand((), generator=self.generator,
                                                 dtype=torch.float64))

    def _draw(self) -> tuple[torch.Tensor, Clip]:
        g = self.generator
        kind = self.kinds[int(torch.multinomial(self.kind_weights, 1, generator=g))]
        clip = self.by_kind[kind][int(torch.multinomial(self.clip_weights[kind], 1,
                                                        generator=g))]
        n = self.segment_length
        out = torch.zeros(clip.samples.shape[0], n)
        if clip.length >= n:
            off = int(torch.randint(0, clip.length - n + 1, (), generator=g))
            out.copy_(clip.samples[:, off: off + n].float())
        else:
            off = int(torch.randint(0, n - clip.length + 1, (), generator=g))
            out[:, off: off + clip.length] = clip.samples.float()
        return out * clip.scale, clip

    def _segment(self) -> torch.Tensor:
        for _ in range(4):
            seg, clip = self._draw()
            if seg.pow(2).mean().sqrt() >= 10 ** (self.min_rms_db / 20):
                break
        gain = 10 ** (self._uniform(*self.gain_db) / 20)
        if self._uniform() < 0.5:
            gain = -gain
        if self.channels == 2:
            if clip.mono_origin and self._uniform() < 0.5:
                angle = (self._uniform(-0.6, 0.6) + 1) * math.pi / 4
                seg = seg.mean(dim=0, keepdim=True) * torch.tensor(
                    [[math.cos(angle)], [math.sin(angle)]]) * math.sqrt(2)
            elif not clip.mono_origin and self._uniform() < 0.5:
                seg = seg.flip(0)
        seg = seg * gain
        peak = float(seg.abs().max())
        return seg * (0.99 / peak) if peak > 0.99 else seg

    def next_batch(self) -> torch.Tensor:
        """float32 [batch, channels, segment_length]."""
        return torch.stack([self._segment() for _ in range(self.batch_size)])
