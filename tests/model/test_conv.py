"""The streamable convolutions' padding and trimming rules, checked position by position."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from conformance.model.conv import (
    StreamableConv1d,
    StreamableConvTranspose1d,
    extra_padding_for_conv1d,
    pad1d,
    unpad1d,
)

pytestmark = pytest.mark.usefixtures("no_grad")


def _one_hot_conv(conv: StreamableConv1d, tap: int) -> None:
    """Make a 1->1 channel conv copy its input tap `tap` (weight one-hot, no bias)."""
    inner = conv.conv.conv
    w = torch.zeros(1, 1, conv.kernel_size)
    w[0, 0, tap] = 1.0
    if hasattr(inner, "weight_v"):
        inner.weight_v.copy_(w)
        inner.weight_g.fill_(1.0)
    else:
        inner.weight.copy_(w)
    inner.bias.zero_()


@given(st.integers(1, 200), st.integers(1, 9), st.integers(1, 6), st.integers(1, 3),
       st.booleans(), st.sampled_from(["reflect", "constant"]))
def test_conv_output_length_is_ceil_of_length_over_stride(length, kernel, stride, dilation,
                                                          causal, pad_mode):
    kernel = max(kernel, stride)  # EnCodec's strided convs have kernel 2 * stride
    conv = StreamableConv1d(1, 1, kernel, stride=stride, dilation=dilation, causal=causal,
                            pad_mode=pad_mode)
    y = conv(torch.randn(1, 1, length))
    assert y.shape[-1] == math.ceil(length / stride), (length, kernel, stride, dilation)


@given(st.integers(1, 60), st.integers(1, 9), st.booleans(),
       st.sampled_from(["none", "weight_norm"]), st.data())
def test_conv_padding_split(length, kernel, causal, norm, data):
    """Stride 1, one-hot kernel at tap j: y[t] = x[t + j - left] (zero outside), where
    left = k - 1 for causal convs, and k - 1 - (k - 1) // 2 otherwise (odd sample left)."""
    tap = data.draw(st.integers(0, kernel - 1), label="tap")
    conv = StreamableConv1d(1, 1, kernel, causal=causal, norm=norm, pad_mode="constant")
    _one_hot_conv(conv, tap)
    x = torch.arange(1, length + 1, dtype=torch.float32).view(1, 1, -1)
    total = kernel - 1
    left = total if causal else total - total // 2
    y = conv(x)[0, 0]
    for t in range(length):
        src = t + tap - left
        want = float(src + 1) if 0 <= src < length else 0.0
        assert float(y[t]) == pytest.approx(want, abs=1e-4), (t, tap, left, causal)


@given(st.integers(1, 30), st.integers(1, 6), st.booleans(), st.sampled_from([1.0, 0.5, 0.0]),
       st.data())
def test_transposed_conv_trim(frames, stride, causal, trim_ratio, data):
    """Output length is frames * stride; with a one-hot kernel at tap j the trimmed output is
    the full transposed output shifted by the left trim, right = ceil((k-s)*ratio) if causal
    else (k-s)//2."""
    if not causal:
        trim_ratio = 1.0
    kernel = 2 * stride
    tap = data.draw(st.integers(0, kernel - 1), label="tap")
    conv = StreamableConvTranspose1d(1, 1, kernel, stride=stride, causal=causal,
                                     norm="weight_norm", trim_right_ratio=trim_ratio)
    inner = conv.convtr.convtr
    w = torch.zeros(1, 1, kernel)
    w[0, 0, tap] = 1.0
    inner.weight_v.copy_(w)
    inner.weight_g.fill_(1.0)
    inner.bias.zero_()
    x = torch.arange(1, frames + 1, dtype=torch.float32).view(1, 1, -1)
    y = conv(x)[0, 0]
    assert y.shape[-1] == frames * stride
    total = kernel - stride
    right = math.ceil(total * trim_ratio) if causal else total // 2
    left = total - right
    full = torch.zeros((frames - 1) * stride + kernel)
    for i in range(frames):
        full[i * stride + tap] += i + 1
    assert torch.allclose(y, full[left: left + frames * stride], atol=1e-4)


def test_transposed_trim_ratio_only_for_causal():
    with pytest.raises(ValueError, match="causal"):
        StreamableConvTranspose1d(1, 1, 4, stride=2, causal=False, trim_right_ratio=0.5)


@given(st.integers(1, 50), st.integers(1, 12), st.integers(1, 6))
def test_extra_padding_completes_the_last_window(length, kernel, stride):
    """After adding `extra`, (L + pad + extra - k) is a multiple of the stride and the frame
    count is ceil(L / stride) when padding_total = k - stride >= 0."""
    if kernel < stride:
        kernel = stride
    total = kernel - stride
    extra = extra_padding_for_conv1d(length, kernel, stride, total)
    assert extra >= 0
    padded = length + total + extra
    assert (padded - kernel) % stride == 0
    assert (padded - kernel) // stride + 1 == math.ceil(length / stride)


@given(st.integers(1, 10), st.integers(0, 12), st.integers(0, 12))
def test_reflect_pad_of_short_inputs(length, left, right):
    """Reflect padding works even when the input is shorter than the padding: the input is
    zero-extended, reflected, and the zero tail removed; the result keeps the input in the
    middle and has length L + left + right."""
    x = torch.arange(1, length + 1, dtype=torch.float32).view(1, 1, -1)
    y = pad1d(x, (left, right), mode="reflect")
    assert y.shape[-1] == length + left + right
    assert torch.equal(y[..., left: left + length], x)
    if length > max(left, right):
        assert torch.equal(y, torch.nn.functional.pad(x, (left, right), mode="reflect"))
    else:
        ext = torch.nn.functional.pad(x, (0, max(left, right) - length + 1))
        ref = torch.nn.functional.pad(ext, (left, right), mode="reflect")
        assert torch.equal(y, ref[..., : ref.shape[-1] - (max(left, right) - length + 1)])


def test_unpad_rejects_too_much():
    with pytest.raises(ValueError):
        unpad1d(torch.zeros(1, 1, 3), (2, 2))
    assert unpad1d(torch.arange(5.0), (1, 2)).tolist() == [1.0, 2.0]


def test_weight_norm_matches_torch():
    """Our weight-norm conv computes g * v / ||v|| (norm over dims 1..) like torch's own."""
    conv = StreamableConv1d(3, 5, 4, stride=2, norm="weight_norm")
    inner = conv.conv.conv
    v = inner.weight_v.detach()
    g = torch.rand(5, 1, 1) + 0.5
    inner.weight_g.copy_(g)
    manual = g * v / v.flatten(1).norm(dim=1).view(-1, 1, 1)
    assert torch.allclose(inner.weight, manual, atol=1e-6)
    tr = StreamableConvTranspose1d(6, 2, 4, stride=2, norm="weight_norm")
    assert tr.convtr.convtr.weight_g.shape == (6, 1, 1)  # dim 0 of a transposed weight = in
