"""Small shared helpers for tests (signals, independent re-statements of the spec's formulas)."""

from __future__ import annotations

import math

import torch

from conformance.model.config import EncodecConfig


def signal(batch: int, channels: int, length: int, seed: int = 0) -> torch.Tensor:
    """Deterministic test audio: a few tones plus noise, amplitude ~0.3."""
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(length, dtype=torch.float32)
    freqs = 0.001 + 0.2 * torch.rand(batch, channels, 3, generator=gen)
    tones = torch.sin(2 * math.pi * freqs[..., None] * t).sum(2) * 0.08
    return tones + 0.05 * torch.randn(batch, channels, length, generator=gen)


def spec_chunks(cfg: EncodecConfig, length: int) -> list[tuple[int, int]]:
    """(offset, length) of each chunk, restated from the spec: 1 s segments, stride
    int((1 - overlap) * segment_length), the last chunk possibly shorter."""
    if cfg.segment is None:
        return [(0, length)]
    seg = int(cfg.segment * cfg.sample_rate)
    stride = max(1, int((1 - cfg.overlap) * seg))
    return [(off, min(seg, length - off)) for off in range(0, length, stride)]


def spec_n_q(cfg: EncodecConfig, bandwidth: float) -> int:
    """floor(bw * 1000 / (ceil(sr / hop) * log2(bins))), at least 1."""
    frame_rate = math.ceil(cfg.sample_rate / math.prod(cfg.ratios))
    return max(1, math.floor(bandwidth * 1000 / (frame_rate * math.log2(cfg.bins))))


def encoder_context(cfg: EncodecConfig) -> int:
    """A generous bound (in input samples) on how far any encoder conv window reaches,
    summed over layers. Reflect padding at the left edge of a causal model reads at most
    this far into the signal."""
    total, stride = 0, 1
    total += cfg.kernel_size
    for ratio in reversed(cfg.ratios):
        for j in range(cfg.n_residual_layers):
            total += ((cfg.residual_kernel_size - 1) * cfg.dilation_base ** j + 2) * stride
        total += 2 * ratio * stride
        stride *= ratio
    total += cfg.last_kernel_size * stride
    return total + stride
