"""Roofline arithmetic, FLOPs counted by hand on tiny models, and the minimum-bytes model."""

from __future__ import annotations

import pytest
import torch

from conformance.bench.roofline import (
    DevicePeaks,
    WorkCount,
    count_flops,
    count_work,
    lstm_flops,
    measure_peaks,
    roofline,
)
from conformance.errors import InvalidArgument
from conformance.model.config import EncodecConfig
from conformance.model.encodec import EncodecModel

PEAKS = DevicePeaks("cpu", {"float32": 100e9, "bfloat16": 400e9}, 20e9, "made up")


def test_conv_flops_by_hand():
    conv = torch.nn.Conv1d(2, 3, 3, bias=False)
    x = torch.randn(4, 2, 10)
    # each of 4 x 3 x 8 outputs: 2 x 3 multiply-adds = 12 FLOPs
    assert count_flops(lambda: conv(x)) == 4 * 3 * 8 * 2 * 3 * 2


def test_lstm_flops_formula():
    assert lstm_flops(1, 16, 16, steps=10, batch=2) == 10 * 2 * 8 * 16 * 32
    # a second layer's input is the hidden size
    assert lstm_flops(2, 4, 8, 1, 1) == 8 * 8 * (4 + 8) + 8 * 8 * (8 + 8)


def test_decoder_work_of_a_tiny_model_by_hand():
    """dim 4 -> conv(k3) to 4 channels -> LSTM(4) -> ELU, convtr(k4, s2) to 2 -> ELU,
    conv(k3) to 1 channel; T frames in, 2T samples out."""
    cfg = EncodecConfig(sample_rate=100, channels=1, dimension=4, n_filters=2,
                        n_residual_layers=0, ratios=(2,), kernel_size=3, last_kernel_size=3,
                        lstm=1, causal=True, norm="none", bins=4, n_q=1,
                        target_bandwidths=())
    model = EncodecModel(cfg).eval()
    frames = 6
    wav = torch.zeros(1, 1, frames * 2)
    work = count_work(model, "decode", wav, cfg.bandwidths[0])
    conv_in = 4 * 4 * 3 * 2 * frames
    convtr = 4 * 2 * 4 * 2 * frames  # every input frame meets every tap
    conv_out = 2 * 1 * 3 * 2 * (2 * frames)
    lstm = 8 * 4 * (4 + 4) * frames
    assert work.lstm_flops == lstm
    assert work.flops == conv_in + convtr + conv_out + lstm
    # layer traffic: (in, out) elements of conv-in, LSTM, convtr, conv-out
    assert work.layer_elements == ((4 * frames, 4 * frames), (4 * frames, 4 * frames),
                                   (4 * frames, 2 * 2 * frames), (2 * 2 * frames, 2 * frames))
    weights = sum(p.numel() for p in model.decoder.parameters())
    assert work.weight_elements == weights
    assert work.min_bytes(4) == 4 * (8 + 8 + 8 + 6) * frames + 4 * weights
    assert work.min_bytes([4, 4, 2, 2]) == 4 * 16 * frames + 2 * (8 + 6) * frames + 4 * weights
    assert work.scaled(3).flops == 3 * work.flops
    with pytest.raises(InvalidArgument):
        work.min_bytes([4])


def test_roofline_is_the_larger_time():
    compute_bound = roofline(200e9, 1e9, PEAKS, torch.float32)
    assert compute_bound.compute_time == pytest.approx(2.0)
    assert compute_bound.memory_time == pytest.approx(0.05)
    assert compute_bound.floor == pytest.approx(2.0) and compute_bound.bound == "compute"
    assert compute_bound.fraction(4.0) == pytest.approx(0.5)
    assert compute_bound.achieved_flops(4.0) == pytest.approx(50e9)
    memory_bound = roofline(1e9, 100e9, PEAKS, "bfloat16")
    assert memory_bound.floor == pytest.approx(5.0) and memory_bound.bound == "memory"
    with pytest.raises(InvalidArgument):
        roofline(1, 1, PEAKS, torch.float16)
    with pytest.raises(InvalidArgument):
        compute_bound.fraction(0.0)


def test_measured_peaks_are_positive():
    peaks = measure_peaks("cpu", (torch.float32,), matmul_size=64, copy_mib=1, repeat=2)
    assert peaks.flops_per_s["float32"] > 0 and peaks.bytes_per_s > 0
    assert "64x64" in peaks.method


def test_work_count_rejects_unknown_ops():
    cfg = EncodecConfig(n_filters=2, dimension=4, ratios=(2,), lstm=0, bins=4, n_q=1,
                        target_bandwidths=(), n_residual_layers=0)
    with pytest.raises(InvalidArgument):
        count_work(EncodecModel(cfg), "stream", torch.zeros(1, 1, 8), 1.0)
    assert WorkCount(1, 0, ((1, 1),), 0).min_bytes(2) == 4
