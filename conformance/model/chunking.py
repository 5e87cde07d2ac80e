"""Chunked (segmented) encoding helpers and the triangular overlap-add used by the 48 kHz model."""

from __future__ import annotations

import torch

__all__ = ["chunk_offsets", "linear_overlap_add", "overlap_add_weight"]


def chunk_offsets(length: int, segment_length: int | None, stride: int | None) -> list[int]:
    """Start offsets of the chunks covering `length` samples (one chunk when unsegmented).

    Chunks start every `stride` samples and are `segment_length` long; the last one may be
    shorter (it is never padded).
    """
    if length < 1:
        raise ValueError(f"length={length}: at least one sample is needed")
    if segment_length is None or stride is None:
        return [0]
    return list(range(0, length, stride))


def overlap_add_weight(frame_length: int, *, dtype: torch.dtype = torch.float32,
                       device: torch.device | str | None = None) -> torch.Tensor:
    """Triangle weight of a full-length frame: 0.5 - |t - 0.5| over t = the F interior points
    of an (F+2)-point grid on [0, 1]. It peaks mid-frame and is never zero."""
    t = torch.linspace(0, 1, frame_length + 2, dtype=dtype, device=device)[1:-1]
    return 0.5 - (t - 0.5).abs()


def linear_overlap_add(frames: list[torch.Tensor], stride: int) -> torch.Tensor:
    """Blend decoded chunks [..., F_i] placed every `stride` samples.

    Every frame is weighted by the full-frame triangle (a shorter frame takes its first F_i
    values); the sum is divided by the summed weights. Output length: the furthest frame end,
    which is `stride * (n - 1) + F_last` except for the input lengths where a partial chunk,
    rounded up to whole hops, reaches further (there the original package and transformers
    raise a size-mismatch error; see `config.chunk_overrun_length`).
    """
    if not frames:
        raise ValueError("no frames to overlap-add")
    first = frames[0]
    weight = overlap_add_weight(first.shape[-1], dtype=first.dtype, device=first.device)
    total = max(i * stride + f.shape[-1] for i, f in enumerate(frames))
    out = torch.zeros(*first.shape[:-1], total, dtype=first.dtype, device=first.device)
    weight_sum = torch.zeros(total, dtype=first.dtype, device=first.device)
    for i, frame in enumerate(frames):
        n = frame.shape[-1]
        if n > weight.shape[0]:
            raise ValueError(f"frame {i} has {n} samples, more than the first frame's "
                             f"{weight.shape[0]}")
        start = i * stride
        out[..., start:start + n] += weight[:n] * frame
        weight_sum[start:start + n] += weight[:n]
    if float(weight_sum.min()) <= 0:
        raise ValueError(f"stride={stride} leaves gaps between frames of length "
                         f"{first.shape[-1]}")
    return out / weight_sum
