"""Comparisons: type, shape, dtype and finiteness first, then values under the profile."""

from __future__ import annotations

import math

import torch

from conformance.checks.implementation.compare import (
    compare_audio,
    compare_codes,
    compare_scales,
    si_sdr_db,
)
from conformance.checks.tolerance import get_tolerance

FP32, BF16 = get_tolerance("fp32"), get_tolerance("bf16")


def _audio(seed=0, n=4000):
    return torch.randn(1, 1, n, generator=torch.Generator().manual_seed(seed)) * 0.3


def test_audio_equal_within_bounds_passes_and_each_defect_is_named():
    want = _audio()
    assert compare_audio(want.clone(), want, FP32) is None
    assert compare_audio(want + 5e-5, want, FP32) is None
    assert "max|audio - reference|=" in compare_audio(want + 1e-3, want, FP32)[0]
    assert "audio.shape=(1, 1, 3999)" in compare_audio(want[..., 1:], want, FP32)[0]
    assert "audio.dtype=torch.float64" in compare_audio(want.double(), want, FP32)[0]
    nan = want.clone()
    nan[0, 0, 7] = math.nan
    assert "NaN or inf" in compare_audio(nan, want, FP32)[0]
    assert "should be a tensor" in compare_audio(want.numpy(), want, FP32)[0]


def test_reduced_precision_is_judged_by_si_sdr():
    want = _audio()
    close = want + 0.01 * _audio(seed=1)  # about 30 dB
    assert compare_audio(close, want, BF16) is None
    far = want + 0.2 * _audio(seed=1)
    assert "SI-SDR against the reference decode" in compare_audio(far, want, BF16)[0]
    assert si_sdr_db(want, want) > 200
    assert si_sdr_db(2.0 * want, want) > 200  # scale invariant
    assert si_sdr_db(torch.zeros(5), torch.zeros(5)) == math.inf


def _frames(codes, scale=None):
    return [(codes, scale)]


def test_codes_must_be_identical_under_fp32_and_mostly_equal_under_bf16():
    codes = torch.randint(0, 1024, (1, 8, 100), generator=torch.Generator().manual_seed(3))
    assert compare_codes(_frames(codes.clone()), _frames(codes), FP32) is None
    flipped = codes.clone()
    flipped[0, 2, 40] += 1
    assert compare_codes(_frames(flipped), _frames(codes), FP32) is not None
    assert compare_codes(_frames(flipped), _frames(codes), BF16) is None
    assert compare_codes(_frames(codes[:, :4]), _frames(codes), FP32) is not None


def test_scales_are_compared_relatively():
    codes = torch.zeros(1, 2, 5, dtype=torch.long)
    s = torch.tensor([[0.25]])
    assert compare_scales(_frames(codes, s * (1 + 1e-7)), _frames(codes, s), FP32) is None
    assert compare_scales(_frames(codes, s * 1.01), _frames(codes, s), FP32) is not None
