"""Streaming encode and decode of a causal, unchunked reference model, block by block, with the
state every layer carries between blocks.

`StreamingEncoder(model).step(block)` takes audio [B, C, n] (any n, including 0) and returns
the latent frames that block completes; `flush()` ends the signal and returns the rest.
`StreamingDecoder(model)` does the same for code frames -> audio. Concatenated, the outputs are
exactly `model.encoder(x)` and `model.decoder(z)` of the whole signal -- the same values, not
merely close -- because every output element is computed from the same inputs by the same
operation as in the whole-signal pass; only the length of the tensors each operation sees
changes (the tests compare bitwise, on the golden 24 kHz checkpoint too):

- a causal convolution (`StreamableConv1d`) keeps the `k_eff - stride` input samples its next
  window reaches back to, plus the samples of an incomplete stride; the left padding is
  applied once to the first samples (reflect, replicate and constant padding need only those)
  and the right "extra" padding that completes the last window is applied by `flush`, once the
  total length is known;
- a causal transposed convolution keeps the last `ceil(k / stride) - 1` input frames and
  recomputes their overlap with the next block, so each output sample is summed from the same
  contributions in the same order as in one pass;
- the LSTM carries its (h, c) state; ELU is elementwise; a residual block aligns its two
  branches (one may hold samples back while the other does not).

Weight-normed convolutions compute their weight once per stream (`torch._weight_norm`, the
kernel the reference calls on every forward, so the weight is bitwise the same).

Memory is bounded by the block length, whatever the signal length. Models that are not causal,
are chunked, or pad circularly (the left padding would need the end of the signal) cannot be
streamed: `streamable(cfg)` says so with the reason.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from conformance.errors import InvalidArgument
from conformance.model.config import EncodecConfig
from conformance.model.conv import (
    StreamableConv1d,
    StreamableConvTranspose1d,
    WeightNormConv1d,
    extra_padding_for_conv1d,
    pad1d,
)
from conformance.model.encodec import EncodecModel
from conformance.model.seanet import ResnetBlock, StreamableLSTM

__all__ = ["StreamingDecoder", "StreamingEncoder", "streamable"]

#: Padding modes whose left padding needs only the first samples of the signal.
STREAMABLE_PAD_MODES = frozenset({"reflect", "replicate", "constant"})


def streamable(cfg: EncodecConfig) -> tuple[bool, str]:
    """(True, "") when `cfg` can be streamed exactly, else (False, the reason)."""
    if not cfg.causal:
        return False, "the model is not causal: each output depends on later input"
    if cfg.segment is not None:
        return False, "the model is chunked: chunks are coded independently instead"
    if cfg.pad_mode not in STREAMABLE_PAD_MODES:
        return False, (f"pad_mode={cfg.pad_mode!r}: the left padding would need the end of "
                       "the signal")
    return True, ""


class _Folded:
    """A NormConv1d / NormConvTranspose1d with its weight computed once: the same operation,
    without recomputing weight norm on every block (a `WeightNormConv1d`'s `weight` property
    is `torch._weight_norm`, evaluated here once)."""

    def __init__(self, norm_conv: nn.Module, transposed: bool) -> None:
        conv = norm_conv.convtr if transposed else norm_conv.conv
        if not isinstance(conv, (WeightNormConv1d, nn.Conv1d, nn.ConvTranspose1d)):
            raise InvalidArgument(f"cannot stream a {type(conv).__name__} convolution")
        with torch.no_grad():
            self.weight = conv.weight.detach()
            self.bias = None if conv.bias is None else conv.bias.detach()
        self.stride, self.dilation = conv.stride, conv.dilation
        self.transposed = transposed
        self.norm = norm_conv.norm
        self.out_channels = conv.out_channels

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.transposed:
            y = F.conv_transpose1d(x, self.weight, self.bias, self.stride)
        else:
            y = F.conv1d(x, self.weight, self.bias, self.stride, 0, self.dilation)
        return self.norm(y)


class _Stream:
    """One layer's streaming state: `step(x)` -> the outputs `x` completes; `flush()` -> the
    rest once the input has ended."""

    out_channels: int

    def step(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def flush(self) -> torch.Tensor | None:  # pragma: no cover - interface
        """The outputs still held back once the input has ended (None: nothing)."""
        raise NotImplementedError


class _Elementwise(_Stream):
    """ELU and the like: no state."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module

    def step(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x) if x.shape[-1] else x

    def flush(self) -> None:
        return None


class _Conv(_Stream):
    """A causal StreamableConv1d."""

    def __init__(self, module: StreamableConv1d) -> None:
        if not module.causal:
            raise InvalidArgument("streaming needs causal convolutions")
        self.module = module
        self.conv = _Folded(module.conv, transposed=False)
        self.k_eff = (module.kernel_size - 1) * module.dilation + 1
        self.stride = module.stride
        self.pad_total = self.k_eff - self.stride
        self.buffer: torch.Tensor | None = None
        self.started = False  # the left padding has been applied
        self.total = 0  # input samples seen

    def _append(self, x: torch.Tensor) -> None:
        self.buffer = x if self.buffer is None else torch.cat([self.buffer, x], dim=-1)

    def _convolve(self) -> torch.Tensor:
        buf = self.buffer
        n = buf.shape[-1]
        if n < self.k_eff:
            return buf.new_zeros(*buf.shape[:-2], self.conv.out_channels, 0)
        frames = (n - self.k_eff) // self.stride + 1
        used = (frames - 1) * self.stride + self.k_eff
        y = self.conv(buf[..., :used])
        self.buffer = buf[..., frames * self.stride:]
        return y

    def step(self, x: torch.Tensor) -> torch.Tensor:
        self.total += x.shape[-1]
        self._append(x)
        if not self.started:
            if self.buffer.shape[-1] <= self.pad_total:  # reflect needs more than the pad
                return self.buffer.new_zeros(*self.buffer.shape[:-2], self.conv.out_channels,
                                             0)
            self.buffer = pad1d(self.buffer, (self.pad_total, 0), self.module.pad_mode)
            self.started = True
        return self._convolve()

    def flush(self) -> torch.Tensor:
        if self.buffer is None:
            raise InvalidArgument("nothing to flush: the stream received no samples")
        if not self.started:  # the whole signal is still here: code it in one pass
            y = self.module(self.buffer)
            self.buffer = self.buffer[..., :0]
            return y
        extra = extra_padding_for_conv1d(self.total, self.k_eff, self.stride, self.pad_total)
        if extra:
            self.buffer = pad1d(self.buffer, (0, extra), self.module.pad_mode)
        return self._convolve()


class _ConvTranspose(_Stream):
    """A causal StreamableConvTranspose1d: keeps the input frames whose outputs overlap the
    next block's and recomputes that overlap."""

    def __init__(self, module: StreamableConvTranspose1d) -> None:
        if not module.causal:
            raise InvalidArgument("streaming needs causal transposed convolutions")
        self.module = module
        self.convtr = _Folded(module.convtr, transposed=True)
        k, s = module.kernel_size, module.stride
        self.k, self.s = k, s
        self.context = math.ceil(k / s) - 1
        pad_total = k - s
        self.right = math.ceil(pad_total * module.trim_right_ratio)
        self.left = pad_total - self.right
        self.history: torch.Tensor | None = None  # the last `context` input frames
        self.frames = 0  # input frames seen
        self.emitted = 0  # untrimmed output samples emitted (or dropped by the left trim)

    def _emit(self, y: torch.Tensor, first: int, start: int, stop: int) -> torch.Tensor:
        """Untrimmed samples [start, stop) of `y`, whose sample 0 is untrimmed index `first`,
        less the left trim."""
        start = max(start, self.left)
        out = y[..., start - first: max(start, stop) - first]
        self.emitted = max(self.emitted, stop)
        return out

    def step(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[-1]
        if n == 0:
            return x.new_zeros(*x.shape[:-2], self.convtr.out_channels, 0)
        ctx = self.history if self.history is not None else x[..., :0]
        inp = torch.cat([ctx, x], dim=-1) if ctx.shape[-1] else x
        y = self.convtr(inp)
        first = (self.frames - ctx.shape[-1]) * self.s
        start, stop = self.frames * self.s, (self.frames + n) * self.s
        self.frames += n
        self.history = inp[..., inp.shape[-1] - min(self.context, inp.shape[-1]):]
        return self._emit(y, first, start, stop)

    def flush(self) -> torch.Tensor:
        if self.history is None:
            raise InvalidArgument("nothing to flush: the stream received no frames")
        full = (self.frames - 1) * self.s + self.k
        start, stop = self.frames * self.s, full - self.right
        if stop <= start or self.history.shape[-1] == 0:
            return self.history.new_zeros(*self.history.shape[:-2], self.convtr.out_channels,
                                          0)
        y = self.convtr(self.history)
        first = (self.frames - self.history.shape[-1]) * self.s
        return self._emit(y, first, start, stop)


class _LSTM(_Stream):
    """StreamableLSTM (y = lstm(x) + x) carrying (h, c)."""

    def __init__(self, module: StreamableLSTM) -> None:
        self.module = module
        self.state: tuple[torch.Tensor, torch.Tensor] | None = None

    def step(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] == 0:
            return x
        t = x.permute(2, 0, 1)
        y, self.state = self.module.lstm(t, self.state)
        return (y + t).permute(1, 2, 0)

    def flush(self) -> None:
        return None


def _cat(parts: list[torch.Tensor | None]) -> torch.Tensor | None:
    kept = [p for p in parts if p is not None and p.shape[-1]]
    if not kept:
        return next((p for p in parts if p is not None), None)
    return kept[0] if len(kept) == 1 else torch.cat(kept, dim=-1)


class _Sequence(_Stream):
    def __init__(self, layers: list[_Stream]) -> None:
        self.layers = layers

    def step(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer.step(x)
        return x

    def flush(self) -> torch.Tensor | None:
        carry: torch.Tensor | None = None
        for layer in self.layers:
            held = layer.step(carry) if carry is not None and carry.shape[-1] else None
            carry = _cat([held, layer.flush()])
        return carry


class _Residual(_Stream):
    """ResnetBlock: shortcut(x) + block(x), the branches aligned sample for sample."""

    def __init__(self, module: ResnetBlock) -> None:
        self.block = _Sequence([_wrap(m) for m in module.block])
        self.shortcut = _wrap(module.shortcut)
        self.pending: list[torch.Tensor | None] = [None, None]

    def _combine(self, a: torch.Tensor | None, b: torch.Tensor | None) -> torch.Tensor | None:
        for i, new in enumerate((a, b)):
            self.pending[i] = _cat([self.pending[i], new])
        if any(p is None for p in self.pending):
            return None
        n = min(p.shape[-1] for p in self.pending)
        sc, bl = (p[..., :n] for p in self.pending)
        self.pending = [p[..., n:] for p in self.pending]
        return sc + bl

    def step(self, x: torch.Tensor) -> torch.Tensor:
        out = self._combine(self.shortcut.step(x), self.block.step(x))
        return out if out is not None else x[..., :0]

    def flush(self) -> torch.Tensor | None:
        out = self._combine(self.shortcut.flush(), self.block.flush())
        if any(p is not None and p.shape[-1] for p in self.pending):
            raise AssertionError("residual branches ended at different lengths")
        return out


class _Identity(_Stream):
    def step(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def flush(self) -> None:
        return None


def _wrap(module: nn.Module) -> _Stream:
    if isinstance(module, StreamableConv1d):
        return _Conv(module)
    if isinstance(module, StreamableConvTranspose1d):
        return _ConvTranspose(module)
    if isinstance(module, StreamableLSTM):
        return _LSTM(module)
    if isinstance(module, ResnetBlock):
        return _Residual(module)
    if isinstance(module, nn.ELU):
        return _Elementwise(module)
    if isinstance(module, nn.Identity):
        return _Identity()
    if isinstance(module, nn.Sequential):
        return _Sequence([_wrap(m) for m in module])
    raise InvalidArgument(f"cannot stream a {type(module).__name__} layer")


def _check(model: EncodecModel) -> None:
    ok, why = streamable(model.cfg)
    if not ok:
        raise InvalidArgument(f"this model cannot be streamed exactly: {why}")


class StreamingEncoder:
    """Audio blocks [B, C, n] -> latent frames [B, D, m] of the model's encoder, exactly."""

    def __init__(self, model: EncodecModel) -> None:
        _check(model)
        self.stream = _wrap(model.encoder.model)

    def step(self, x: torch.Tensor) -> torch.Tensor:
        return self.stream.step(x)

    def flush(self) -> torch.Tensor:
        return self.stream.flush()


class StreamingDecoder:
    """Latent frames [B, D, m] -> audio [B, C, m * hop] of the model's decoder, exactly."""

    def __init__(self, model: EncodecModel) -> None:
        _check(model)
        self.stream = _wrap(model.decoder.model)

    def step(self, z: torch.Tensor) -> torch.Tensor:
        return self.stream.step(z)

    def flush(self) -> torch.Tensor:
        return self.stream.flush()
