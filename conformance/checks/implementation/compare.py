"""Comparing an implementation's frames and audio with the reference's under a tolerance; each
function returns None when they agree, else (reason, observed, expected)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from conformance.adapters.protocol import Frames
from conformance.checks.tolerance import Tolerance

__all__ = ["compare_audio", "compare_codes", "compare_scales", "si_sdr_db"]

Mismatch = tuple[str, Any, Any] | None


def compare_codes(got: Frames, want: Frames, tol: Tolerance,
                  arbiter: Callable[[int, torch.Tensor, torch.Tensor], str | None] | None = None
                  ) -> Mismatch:
    """Chunk count, per-chunk shapes, dtype and values of the codes. Values that differ pass
    when `tol` allows that many, or when `arbiter` (see `conformance.model.near_ties`) finds
    each of them a near-tie."""
    if len(got) != len(want):
        return (f"{len(got)} chunk(s), but should be {len(want)}", len(got), len(want))
    for i, ((g, _), (w, _)) in enumerate(zip(got, want)):
        if not isinstance(g, torch.Tensor):
            return (f"chunk {i} codes are a {type(g).__name__}, but should be a tensor",
                    type(g).__name__, "torch.Tensor")
        if tuple(g.shape) != tuple(w.shape):
            return (f"chunk {i} codes.shape={tuple(g.shape)}, but should be "
                    f"{tuple(w.shape)}", tuple(g.shape), tuple(w.shape))
        diff = g.long() != w.long()
        if not bool(diff.any()):
            continue
        agree = 1.0 - diff.double().mean(dim=(0, 2))  # per codebook
        if float(agree.min()) >= tol.codes_min_agreement:
            continue
        why = None if arbiter is None else arbiter(i, g, w)
        if arbiter is not None and why is None:
            continue
        b, k, t = (int(x) for x in diff.nonzero()[0])
        return (f"chunk {i}: {int(diff.sum())} of {diff.numel()} codes differ, first at "
                f"[batch {b}, codebook {k}, frame {t}] (got {int(g[b, k, t])}, expected "
                f"{int(w[b, k, t])}); agreement per codebook "
                f"{[round(float(a), 4) for a in agree]}" + (f"; {why}" if why else ""),
                g[b, k, max(0, t - 2): t + 3].tolist(), w[b, k, max(0, t - 2): t + 3].tolist())
    return None


def compare_scales(got: Frames, want: Frames, tol: Tolerance) -> Mismatch:
    """Per-chunk scales, compared relatively (a scale of 0 against 1e-8 is a bug)."""
    for i, ((_, g), (_, w)) in enumerate(zip(got, want)):
        if (g is None) != (w is None):
            return (f"chunk {i} scale is {g}, but should be "
                    f"{'None' if w is None else 'a [B, 1] tensor'}", g, w)
        if g is None:
            continue
        g64, w64 = torch.as_tensor(g).double().reshape(-1), w.double().reshape(-1)
        if g64.shape != w64.shape:
            return (f"chunk {i} scale.shape={tuple(g.shape)}, but should be {tuple(w.shape)}",
                    tuple(g.shape), tuple(w.shape))
        rel = (g64 - w64).abs() / torch.maximum(g64.abs(), w64.abs()).clamp_min(1e-30)
        if float(rel.max()) > tol.scale_rtol:
            j = int(rel.argmax())
            return (f"chunk {i} scale {float(g64[j]):.6g}, but should be {float(w64[j]):.6g} "
                    f"(relative difference {float(rel[j]):.3g} > {tol.scale_rtol:g})",
                    float(g64[j]), float(w64[j]))
    return None


def si_sdr_db(estimate: torch.Tensor, reference: torch.Tensor) -> float:
    """Scale-invariant SDR of `estimate` against `reference` (all channels together)."""
    ref = reference.double().reshape(-1)
    est = estimate.double().reshape(-1)
    ref, est = ref - ref.mean(), est - est.mean()
    energy = float(ref.pow(2).sum())
    if energy == 0.0:
        return math.inf if float(est.pow(2).sum()) == 0.0 else -math.inf
    target = (float(torch.dot(est, ref)) / energy) * ref
    noise = float((est - target).pow(2).sum())
    return math.inf if noise == 0.0 else 10 * math.log10(float(target.pow(2).sum()) / noise)


def compare_audio(got: torch.Tensor, want: torch.Tensor, tol: Tolerance) -> Mismatch:
    """Shape, finiteness, then max abs difference (fp32) or SI-SDR (reduced precision)."""
    if not isinstance(got, torch.Tensor):
        return (f"audio is a {type(got).__name__}, but should be a tensor", type(got).__name__,
                "torch.Tensor")
    if tuple(got.shape) != tuple(want.shape):
        return (f"audio.shape={tuple(got.shape)}, but should be {tuple(want.shape)}",
                tuple(got.shape), tuple(want.shape))
    if got.dtype != want.dtype:
        return (f"audio.dtype={got.dtype}, but should be {want.dtype} (the reference's)",
                str(got.dtype), str(want.dtype))
    if not bool(torch.isfinite(got).all()):
        return ("the audio holds NaN or inf", "non-finite samples", "finite samples")
    if tol.decode_atol is not None:
        peak = max(1.0, float(want.abs().max()))
        err = (got.double() - want.double()).abs()
        worst = float(err.max())
        if worst > tol.decode_atol * peak:
            t = int(err.reshape(-1, err.shape[-1]).amax(dim=0).argmax())
            return (f"max|audio - reference|={worst:.3g} (at sample {t}), but should be <= "
                    f"{tol.decode_atol * peak:.3g}", worst, tol.decode_atol * peak)
        return None
    db = si_sdr_db(got, want)
    if db < tol.decode_min_si_sdr_db:
        return (f"SI-SDR against the reference decode is {db:.1f} dB, but should be >= "
                f"{tol.decode_min_si_sdr_db:g} dB", round(db, 2), tol.decode_min_si_sdr_db)
    return None
