"""Streamable 1-d convolutions with EnCodec's exact padding and trimming rules.

Module paths reproduce the original/AudioCraft state-dict names:
`StreamableConv1d.conv (NormConv1d) .conv (the convolution) / .norm`, and
`StreamableConvTranspose1d.convtr (NormConvTranspose1d) .convtr / .norm`.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from conformance.model.config import NORMS

__all__ = ["NormConv1d", "NormConvTranspose1d", "StreamableConv1d", "StreamableConvTranspose1d",
           "WeightNormConv1d", "WeightNormConvTranspose1d", "extra_padding_for_conv1d",
           "pad1d", "unpad1d"]


def extra_padding_for_conv1d(length: int, kernel_size: int, stride: int,
                             padding_total: int) -> int:
    """Right padding needed so that the last window of a strided conv is complete.

    Example, length 5, kernel 4, stride 2, padding_total 2 (2 padded left)::

        padded: p p x x x x x .      windows start at 0, 2, 4 -> the third one needs 1 more
        extra = 1                    sample, so the output has ceil(5 / 2) = 3 frames.
    """
    n_frames = (length - kernel_size + padding_total) / stride + 1
    ideal_length = (math.ceil(n_frames) - 1) * stride + (kernel_size - padding_total)
    return ideal_length - length


def pad1d(x: torch.Tensor, paddings: tuple[int, int], mode: str = "constant",
          value: float = 0.0) -> torch.Tensor:
    """F.pad on the last dim that also reflect-pads inputs shorter than the padding.

    Reflection needs more samples than the pad width; a short input is first zero-extended on
    the right, reflected, and the zero tail is cut off again.
    """
    left, right = paddings
    if left < 0 or right < 0:
        raise ValueError(f"negative padding {paddings}")
    if mode != "reflect":
        return F.pad(x, (left, right), mode, value) if mode == "constant" else F.pad(
            x, (left, right), mode)
    length = x.shape[-1]
    max_pad = max(left, right)
    extra = 0
    if length <= max_pad:
        extra = max_pad - length + 1
        x = F.pad(x, (0, extra))
    padded = F.pad(x, (left, right), mode)
    return padded[..., : padded.shape[-1] - extra]


def unpad1d(x: torch.Tensor, paddings: tuple[int, int]) -> torch.Tensor:
    """Remove `paddings=(left, right)` samples from the ends of the last dim."""
    left, right = paddings
    if left < 0 or right < 0 or left + right > x.shape[-1]:
        raise ValueError(f"cannot trim {paddings} from length {x.shape[-1]}")
    return x[..., left: x.shape[-1] - right]


class WeightNormConv1d(nn.Module):
    """Conv1d whose weight is `weight_g * weight_v / ||weight_v||` (norm over dims 1..2).

    Stores `weight_g`, `weight_v`, `bias` exactly like `torch.nn.utils.weight_norm`, and
    computes the weight with the same kernel (`torch._weight_norm`), so results match it bitwise.
    """

    transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 dilation: int = 1, bias: bool = True) -> None:
        super().__init__()
        plain_cls = nn.ConvTranspose1d if self.transposed else nn.Conv1d
        kw = {} if self.transposed else {"dilation": dilation}
        plain = plain_cls(in_channels, out_channels, kernel_size, stride=stride, bias=bias, **kw)
        v = plain.weight.detach().clone()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.dilation = (kernel_size,), (stride,), (dilation,)
        self.weight_g = nn.Parameter(torch.norm_except_dim(v, 2, 0))
        self.weight_v = nn.Parameter(v)
        self.bias = nn.Parameter(plain.bias.detach().clone()) if bias else None

    @property
    def weight(self) -> torch.Tensor:
        return torch._weight_norm(self.weight_v, self.weight_g, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv1d(x, self.weight, self.bias, self.stride, 0, self.dilation)


class WeightNormConvTranspose1d(WeightNormConv1d):
    """ConvTranspose1d with weight norm; `weight_g` has shape [in_channels, 1, 1]."""

    transposed = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose1d(x, self.weight, self.bias, self.stride)


def _make_conv(norm: str, transposed: bool, in_ch: int, out_ch: int, kernel_size: int,
               stride: int, dilation: int) -> nn.Module:
    if norm not in NORMS:
        raise ValueError(f"norm={norm!r}: must be one of {sorted(NORMS)}")
    if norm == "weight_norm":
        cls = WeightNormConvTranspose1d if transposed else WeightNormConv1d
        return cls(in_ch, out_ch, kernel_size, stride=stride, dilation=dilation)
    if transposed:
        return nn.ConvTranspose1d(in_ch, out_ch, kernel_size, stride=stride)
    return nn.Conv1d(in_ch, out_ch, kernel_size, stride=stride, dilation=dilation)


class NormConv1d(nn.Module):
    """A convolution and its norm: weight norm inside `conv`, GroupNorm(1, C) as `norm`."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int = 1,
                 dilation: int = 1, norm: str = "none") -> None:
        super().__init__()
        self.conv = _make_conv(norm, False, in_ch, out_ch, kernel_size, stride, dilation)
        self.norm = nn.GroupNorm(1, out_ch) if norm == "time_group_norm" else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(x))


class NormConvTranspose1d(nn.Module):
    """A transposed convolution and its norm (applied before any trimming)."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int = 1,
                 norm: str = "none") -> None:
        super().__init__()
        self.convtr = _make_conv(norm, True, in_ch, out_ch, kernel_size, stride, 1)
        self.norm = nn.GroupNorm(1, out_ch) if norm == "time_group_norm" else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.convtr(x))


class StreamableConv1d(nn.Module):
    """Conv1d padded in `forward` so that the output has ceil(L / stride) frames.

    Causal: all `kernel - stride` padding goes left. Non-causal: it is split, the odd sample
    going left. Extra right padding completes the last window. Padding uses `pad_mode`.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int = 1,
                 dilation: int = 1, causal: bool = False, norm: str = "none",
                 pad_mode: str = "reflect") -> None:
        super().__init__()
        self.conv = NormConv1d(in_ch, out_ch, kernel_size, stride, dilation, norm)
        self.causal = causal
        self.pad_mode = pad_mode
        self.kernel_size, self.stride, self.dilation = kernel_size, stride, dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k_eff = (self.kernel_size - 1) * self.dilation + 1
        padding_total = k_eff - self.stride
        extra = extra_padding_for_conv1d(x.shape[-1], k_eff, self.stride, padding_total)
        if self.causal:
            x = pad1d(x, (padding_total, extra), mode=self.pad_mode)
        else:
            right = padding_total // 2
            left = padding_total - right  # odd totals: the extra sample goes left
            x = pad1d(x, (left, right + extra), mode=self.pad_mode)
        return self.conv(x)


class StreamableConvTranspose1d(nn.Module):
    """ConvTranspose1d trimmed to exactly L * stride samples.

    Causal: `ceil((k - s) * trim_right_ratio)` samples come off the right, the rest off the left.
    Non-causal: the `k - s` samples are split, the odd one taken from the left.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int = 1,
                 causal: bool = False, norm: str = "none", trim_right_ratio: float = 1.0) -> None:
        super().__init__()
        if not causal and trim_right_ratio != 1.0:
            raise ValueError("trim_right_ratio != 1.0 is only allowed for causal convolutions")
        self.convtr = NormConvTranspose1d(in_ch, out_ch, kernel_size, stride, norm)
        self.causal = causal
        self.trim_right_ratio = trim_right_ratio
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.convtr(x)
        padding_total = self.kernel_size - self.stride
        if self.causal:
            right = math.ceil(padding_total * self.trim_right_ratio)
        else:
            right = padding_total // 2
        return unpad1d(y, (padding_total - right, right))
