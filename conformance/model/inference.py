"""A fast inference path for a reference `EncodecModel`, proven conformant by the test suite.

`InferenceModel.from_model(model, dtype=None, compile=False, device=None, **options)` (or
`model.for_inference(...)`) copies the model's weights once into a plan built for inference
and exposes the model's API: `encode(audio, bandwidth)`, `decode(encoded)`, `forward`,
`decode_latents`, and the properties `sample_rate`, `channels`, `hop_length`, `frame_rate`,
`bandwidths`, `n_q`, `bins`, `n_q_for_bandwidth` and `cfg`. Bad inputs raise the reference
model's errors (its checks are reused or mirrored message for message).

What the plan changes, and what each change is allowed to change:

- **Weight norm folded** (`fold_weight_norm`): `weight_g * weight_v / ||weight_v||` is computed
  once, by the same kernel the reference calls on every forward (`torch._weight_norm`), so the
  weights are bitwise the reference's. No tensor is shared with the source model.
- **No-op padding skipped**: a 1x1 convolution pads by (0, 0), which the reference still
  copies; the plan passes the (contiguous) input straight to the convolution. Bitwise equal.
- **Encoder, fp32 (default)**: exactly the reference's operations in the reference's order on
  the same shapes (ELU, pad, convolution, GroupNorm, LSTM), minus the two items above, so the
  codes are identical, not merely close: a last-bit change in a latent can flip a
  nearest-neighbour choice. The RVQ is a private copy of the reference quantizer (same float32
  expression, same tie-breaking). Chunks are encoded one at a time, as in the reference.
- **Decoder** (tolerance: 1e-4 absolute in float32):
  `fuse_elu_pad` writes ELU(x) straight into the padded buffer the next convolution reads
  (ELU commutes with reflect/replicate/circular/zero padding, as ELU(0) = 0), saving one pass
  over each activation; `polyphase` computes each transposed convolution (kernel k, stride s)
  as an ordinary convolution with s*C_out channels whose columns, interleaved, are exactly the
  trimmed output (oneDNN runs it far faster than PyTorch's native transposed kernel, and
  nothing is computed to be trimmed away); `pointwise="matmul"` runs 1x1 convolutions as
  batched matrix products; `fuse_shortcut` makes a residual block's 1x1 shortcut and last 1x1
  convolution one product over a concatenated buffer that the transposed convolution before
  it writes into directly (an identity skip is added in oneDNN's epilogue instead);
  `narrow_matmul_channels` runs the 1-2 channel output convolution as one matmul of its
  stacked taps; chunked (48 kHz) models decode all chunks of equal length as one batch
  (`batch_chunks`, bounded by `max_batch_samples`) and blend them with a fused overlap-add.
- **Reduced precision** (`dtype=torch.bfloat16`, or float16 on CUDA): the decoder's high-rate
  part (from the first upsampling on) runs in that dtype, except the last
  `fp32_tail_layers` layers (default 2: the last residual block and the output convolution,
  whose bf16 rounding is a noise floor in quiet passages that the golden mel-distance
  threshold catches); the low-rate part (first convolution and LSTM, a few per cent of the
  work) stays float32 (`low_rate_fp32`, `lstm_dtype`), as does the RVQ. bf16 rounding leaves
  an error floor near -70 dBFS whatever the output's level (measured on the golden models:
  -64 to -82 dBFS), so a near-silent output (silence decodes to about -75 dBFS) would keep
  barely more signal than error; a batch item whose decoder output (before renormalisation)
  is quieter than `fp32_below_dbfs` (default -35 dBFS RMS) is therefore decoded again in
  float32, which keeps every decode at least ~30 dB above its error floor (SI-SDR). Real
  audio is far louder (speech about -20 dBFS): the check costs one pass over the output.
  The encoder stays float32 unless `encode_dtype` says otherwise, so codes stay identical to
  the reference's; a bf16 encoder changes 23-43 % of the golden models' codes on the
  reference clips at their top bandwidth (docs/benchmarks.md), which is why it is not the
  default.
- **Tiles** (CPU decoder, `tile_samples`): the layers after the LSTM run tile by tile in
  time (about 2^16 output samples a tile), so each tile's activations stay in cache and the
  allocator reuses the same buffers instead of faulting in fresh pages for every
  full-length activation; tiles overlap by the layers' receptive field (a few frames) and the
  overlap is cropped, so the result is the untiled one's. A model with GroupNorm layers is
  split by batch item only. With several threads, whole tiles run in parallel on a private
  pool of single-threaded workers (`tile_workers`) rather than each operator being split
  across the threads.
- `compile=True` wraps the decoder and encoder in `torch.compile` (off by default: minutes
  of compilation on a small CPU); `cuda_graphs=True` replays the decoder as a CUDA graph per
  input shape (CUDA only).
"""

from __future__ import annotations

import copy
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from conformance.errors import ConfigError, InvalidArgument, ModelInputError
from conformance.model.chunking import chunk_offsets, overlap_add_weight
from conformance.model.config import EncodecConfig
from conformance.model.conv import (
    StreamableConv1d,
    StreamableConvTranspose1d,
    WeightNormConv1d,
    extra_padding_for_conv1d,
    pad1d,
)
from conformance.model.encodec import (
    BandwidthChoice,
    EncodecModel,
    Encoded,
    EncodedChunk,
    _run,
)
from conformance.model.seanet import ResnetBlock, StreamableLSTM

__all__ = ["InferenceModel", "InferenceOptions", "fold_weight_norm",
           "reduced_precision_supported"]

#: dtypes the fast path computes in.
DTYPES = (torch.float32, torch.bfloat16, torch.float16)


@dataclass(frozen=True)
class InferenceOptions:
    """The fast path's switches (keyword options of `for_inference`). The defaults are the
    measured best on CPU (docs/benchmarks.md); every switch exists so that its gain can be
    measured on its own (`conformance.bench`)."""

    #: fold weight norm into plain weights once (False: recompute it on every call)
    fold_weight_norm: bool = True
    #: decoder: ELU written straight into the next convolution's padded input buffer
    fuse_elu_pad: bool = True
    #: decoder: transposed convolutions as polyphase ordinary convolutions
    polyphase: bool = True
    #: decoder: 1x1 convolutions as "conv" (oneDNN) or "matmul" (batched GEMM)
    pointwise: str = "matmul"
    #: decoder: a residual block's 1x1 shortcut and last 1x1 conv as one product
    fuse_shortcut: bool = True
    #: decoder: stride-1 convolutions with at most this many output channels as one matmul
    #: of the stacked taps (oneDNN is slow for the 1-2 channel output layer); 0: never
    narrow_matmul_channels: int = 4
    #: decoder, reduced precision: first convolution and LSTM in float32
    low_rate_fp32: bool = True
    #: decoder, reduced precision: this many final layers in float32 (the output layer sums
    #: many large terms into a small sample: in bf16 its rounding is a noise floor that log-mel
    #: distances hear in quiet passages)
    fp32_tail_layers: int = 2
    #: decoder, reduced precision: decode again in float32 each batch item whose decoder
    #: output (before renormalisation) has an RMS below this level in dBFS (None: never)
    fp32_below_dbfs: float | None = -35.0
    #: dtype of the LSTMs (None: float32)
    lstm_dtype: torch.dtype | None = None
    #: dtype of the encoder (None: float32, which keeps the codes identical)
    encode_dtype: torch.dtype | None = None
    #: decoder on CPU: run the layers after the LSTM tile by tile in time, each tile about
    #: this many output samples (working set in cache, buffers reused instead of faulted in
    #: fresh); tiles overlap by the receptive field, so the output is the untiled one's. 0: off
    tile_samples: int = 1 << 16
    #: decoder on CPU: a tile spans at least this many latent frames of one batch item (the
    #: overlap is a few frames: shorter tiles would recompute a larger share)
    tile_frames: int = 64
    #: decoder on CPU: threads that run whole tiles, each single-threaded (None: torch's
    #: thread count at the call; 1: the tiles in turn, each operator on torch's threads)
    tile_workers: int | None = None
    #: chunked models: decode chunks of equal length as one batch
    batch_chunks: bool = True
    #: chunked models: at most this many output samples (chunks x batch x chunk length) per
    #: decoder call (2^23: every chunk of a batch of 8 x 10 s at 48 kHz at once, which the
    #: tiles then split by item; it bounds the memory of very long inputs)
    max_batch_samples: int = 1 << 23
    #: CUDA only: replay the decoder as a CUDA graph per input shape
    cuda_graphs: bool = False
    #: CUDA graphs kept (one per input shape and dtype; least recently used dropped)
    max_graphs: int = 8

    def __post_init__(self) -> None:
        if self.pointwise not in ("conv", "matmul"):
            raise InvalidArgument(f"pointwise={self.pointwise!r}: must be 'conv' or 'matmul'")
        for name in ("lstm_dtype", "encode_dtype"):
            value = getattr(self, name)
            if value is not None and value not in DTYPES:
                raise InvalidArgument(f"{name}={value!r}: must be None or one of "
                                      f"{[str(d) for d in DTYPES]}")
        level = self.fp32_below_dbfs
        if level is not None and (isinstance(level, bool) or not isinstance(level, (int, float))
                                  or not math.isfinite(level) or level > 0):
            raise InvalidArgument(f"fp32_below_dbfs={level!r}: must be None or a level in "
                                  "dBFS <= 0")
        if self.tile_workers is not None and (isinstance(self.tile_workers, bool) or not
                                              isinstance(self.tile_workers, int)
                                              or self.tile_workers < 1):
            raise InvalidArgument(f"tile_workers={self.tile_workers!r}: must be None or an "
                                  "integer >= 1")
        minimum = {"narrow_matmul_channels": 0, "fp32_tail_layers": 0, "tile_samples": 0,
                   "tile_frames": 1,
                   "max_batch_samples": 1, "max_graphs": 1}
        for name, low in minimum.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidArgument(f"{name}={value!r}: must be an integer >= {low}")

    @classmethod
    def from_kwargs(cls, options: dict[str, Any]) -> InferenceOptions:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise InvalidArgument(f"unknown inference option(s) {unknown}; known: "
                                  f"{sorted(known)}")
        return cls(**options)


def reduced_precision_supported(dtype: torch.dtype, device: torch.device | str = "cpu") -> bool:
    """Whether `dtype` convolutions have hardware support on `device` (bf16: AVX512-BF16 or
    AMX through oneDNN on CPU; CUDA: compute capability 8 for bf16, any for fp16)."""
    device = torch.device(device)
    if dtype == torch.float32:
        return True
    if device.type == "cuda":
        if dtype == torch.bfloat16:
            return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
        return bool(torch.cuda.is_available())
    if device.type == "cpu":
        probe = {torch.bfloat16: "_is_mkldnn_bf16_supported",
                 torch.float16: "_is_mkldnn_fp16_supported"}.get(dtype)
        fn = getattr(torch.ops.mkldnn, probe, None) if probe else None
        try:
            return bool(fn()) if fn is not None else False
        except RuntimeError:  # pragma: no cover - a build without oneDNN
            return False
    return False


def fold_weight_norm(conv: nn.Module) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(weight, bias) of a reference convolution as plain tensors that share nothing with it.

    For weight norm, the weight is `torch._weight_norm(weight_v, weight_g, 0)`: the kernel the
    reference runs on every call, so the folded weight is bitwise the one it uses."""
    with torch.no_grad():
        if isinstance(conv, WeightNormConv1d):
            weight = torch._weight_norm(conv.weight_v, conv.weight_g, 0)
        else:
            weight = conv.weight
        weight = weight.detach().clone()
        bias = None if conv.bias is None else conv.bias.detach().clone()
    return weight, bias


_HAS_CONV_BINARY = hasattr(torch.ops.mkldnn, "_convolution_pointwise") and \
    torch.backends.mkldnn.is_available()


# ----------------------------------------------------------------------------- elementwise
def _elu_into_padded(x: torch.Tensor, left: int, right: int, mode: str) -> torch.Tensor:
    """pad1d(ELU(x), (left, right), mode) in one pass over x: ELU is written into the middle of
    the padded buffer and the edges are filled from the result (exact: ELU is elementwise and
    ELU(0) = 0). Falls back to ELU then pad1d where that needs the short-input rule."""
    length = x.shape[-1]
    if mode not in ("reflect", "constant") or (mode == "reflect" and length <= max(left, right)):
        return pad1d(F.elu(x), (left, right), mode)
    buf = torch.empty(*x.shape[:-1], length + left + right, dtype=x.dtype, device=x.device)
    torch._C._nn.elu(x, 1.0, 1, 1, out=buf[..., left:left + length])
    if mode == "constant":
        if left:
            buf[..., :left].zero_()
        if right:
            buf[..., left + length:].zero_()
    else:
        if left:  # padded[i] = x[left - i]
            buf[..., :left] = buf[..., left + 1: 2 * left + 1].flip(-1)
        if right:  # padded[left + L + j] = x[L - 2 - j]
            end = left + length
            buf[..., end:] = buf[..., end - right - 1: end - 1].flip(-1)
    return buf


def _conv_pads(length: int, kernel: int, stride: int, dilation: int,
               causal: bool) -> tuple[int, int]:
    """(left, right) padding of a StreamableConv1d for an input of `length` samples."""
    k_eff = (kernel - 1) * dilation + 1
    padding_total = k_eff - stride
    extra = extra_padding_for_conv1d(length, k_eff, stride, padding_total)
    if causal:
        return padding_total, extra
    right = padding_total // 2
    return padding_total - right, right + extra


# ---------------------------------------------------------------------------------- layers
class FastConv1d(nn.Module):
    """A StreamableConv1d (with its norm and, optionally, the ELU before it) as plain tensors.

    `exact=True` replays the reference's operations (ELU, pad1d, conv, GroupNorm) on the same
    shapes; otherwise ELU and padding are fused and 1x1 convolutions may run as matmuls.
    """

    def __init__(self, source: StreamableConv1d, *, pre_elu: bool, exact: bool,
                 options: InferenceOptions) -> None:
        super().__init__()
        conv = source.conv.conv
        self.kernel_size, self.stride, self.dilation = (source.kernel_size, source.stride,
                                                        source.dilation)
        self.causal, self.pad_mode = source.causal, source.pad_mode
        self.pre_elu, self.exact = pre_elu, exact
        self.pointwise_matmul = (not exact and options.pointwise == "matmul"
                                 and self.kernel_size == 1 and self.stride == 1)
        self.fuse_elu_pad = options.fuse_elu_pad and not exact
        out_channels = conv.out_channels
        self.narrow_matmul = (not exact and self.stride == 1 and self.kernel_size > 1
                              and out_channels <= options.narrow_matmul_channels
                              and not isinstance(source.conv.norm, nn.GroupNorm))
        self.folded = options.fold_weight_norm or not isinstance(conv, WeightNormConv1d)
        if self.folded:
            weight, bias = fold_weight_norm(conv)
            self.register_buffer("weight", weight)
        else:
            with torch.no_grad():
                self.register_buffer("weight_g", conv.weight_g.detach().clone())
                self.register_buffer("weight_v", conv.weight_v.detach().clone())
                bias = None if conv.bias is None else conv.bias.detach().clone()
        self.register_buffer("bias", bias)
        norm = source.conv.norm
        self.group_norm = isinstance(norm, nn.GroupNorm)
        if self.group_norm:
            self.register_buffer("gn_weight", norm.weight.detach().clone())
            self.register_buffer("gn_bias", norm.bias.detach().clone())
            self.gn_eps = norm.eps

    def current_weight(self) -> torch.Tensor:
        if self.folded:
            return self.weight
        return torch._weight_norm(self.weight_v, self.weight_g, 0)

    def pads(self, length: int) -> tuple[int, int]:
        return _conv_pads(length, self.kernel_size, self.stride, self.dilation, self.causal)

    def forward(self, x: torch.Tensor, accumulate: torch.Tensor | None = None) -> torch.Tensor:
        """The layer's output; with `accumulate` (1x1 layers without GroupNorm only), that
        tensor plus the output, computed in one product."""
        left, right = self.pads(x.shape[-1])
        if self.pre_elu:
            if self.fuse_elu_pad and (left or right):
                x = _elu_into_padded(x, left, right, self.pad_mode)
            else:
                x = F.elu(x)
                x = pad1d(x, (left, right), self.pad_mode) if left or right else x
        elif left or right:
            x = pad1d(x, (left, right), self.pad_mode)
        weight = self.current_weight()
        if self.narrow_matmul and accumulate is None:
            return _stacked_tap_conv(x, weight, self.bias, self.dilation)
        if self.pointwise_matmul:
            w2 = weight[:, :, 0]
            if accumulate is not None and not self.group_norm:
                out = torch.baddbmm(accumulate, w2.expand(x.shape[0], *w2.shape), x)
                return out if self.bias is None else out.add_(self.bias[:, None])
            out = torch.matmul(w2, x)
            out = out if self.bias is None else out.add_(self.bias[:, None])
            if self.group_norm:
                out = F.group_norm(out, 1, self.gn_weight, self.gn_bias, self.gn_eps)
            return out if accumulate is None else out.add_(accumulate)
        x = x.contiguous()  # the reference's conv always sees pad1d's contiguous output
        if accumulate is not None and not self.group_norm and _binary_add_ok(x, accumulate):
            return torch.ops.mkldnn._convolution_pointwise.binary(  # as a 2-d conv, H = 1
                x.unsqueeze(2), accumulate.contiguous().unsqueeze(2), weight.unsqueeze(2),
                self.bias, [0, 0], [1, self.stride], [1, self.dilation], 1, "add", None,
                None, [], None).squeeze(2)
        y = F.conv1d(x, weight, self.bias, self.stride, 0, self.dilation)
        if self.group_norm:
            y = F.group_norm(y, 1, self.gn_weight, self.gn_bias, self.gn_eps)
        if accumulate is not None:
            y = y.add_(accumulate)
        return y


def _stacked_tap_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                      dilation: int) -> torch.Tensor:
    """A stride-1 convolution of the padded input x as ONE matrix product with the taps
    stacked as rows ([K*O, C] @ [B, C, L]) and a K-term shifted sum: far faster than oneDNN's
    direct convolution when O is a channel or two (the output layer)."""
    out_ch, _, k = weight.shape
    length = x.shape[-1] - (k - 1) * dilation
    stacked = weight.permute(2, 0, 1).reshape(k * out_ch, -1)
    z = torch.matmul(stacked, x)  # [B, K*O, L_pad]
    y = z[:, :out_ch, :length].clone()
    for tap in range(1, k):
        y += z[:, tap * out_ch:(tap + 1) * out_ch, tap * dilation: tap * dilation + length]
    return y if bias is None else y.add_(bias[:, None])


def _binary_add_ok(x: torch.Tensor, other: torch.Tensor) -> bool:
    """Whether oneDNN can add `other` to a convolution of `x` in its epilogue (CPU float32 or
    bfloat16, same dtype; the fused op is the one torch.compile itself emits on CPU)."""
    return (_HAS_CONV_BINARY and x.device.type == "cpu" and other.dtype == x.dtype
            and x.dtype in (torch.float32, torch.bfloat16))


class FastConvTranspose1d(nn.Module):
    """A StreamableConvTranspose1d with its norm and the ELU before it.

    Polyphase form (`polyphase=True`): kept output sample `a + c*s + j` (a = the samples
    trimmed on the left, c the output column, j < s the phase) is
    `sum_d W[:, :, a + j + d*s]^T x[c - d]` over the d with `0 <= a + j + d*s < k`: an
    ordinary convolution with s*C_out channels whose columns, interleaved in time, are exactly
    the trimmed output (T*s samples, contiguous, nothing computed and then thrown away).
    With GroupNorm the norm needs the untrimmed output, so the trim is applied after it.
    """

    def __init__(self, source: StreamableConvTranspose1d, *, options: InferenceOptions,
                 exact: bool = False) -> None:
        super().__init__()
        convtr = source.convtr.convtr
        self.kernel_size, self.stride = source.kernel_size, source.stride
        self.causal, self.trim_right_ratio = source.causal, source.trim_right_ratio
        self.polyphase = options.polyphase and not exact
        self.fuse_elu_pad = options.fuse_elu_pad and not exact
        self.folded = options.fold_weight_norm or not isinstance(convtr, WeightNormConv1d)
        if self.folded or self.polyphase:
            weight, bias = fold_weight_norm(convtr)
        else:
            with torch.no_grad():
                self.register_buffer("weight_g", convtr.weight_g.detach().clone())
                self.register_buffer("weight_v", convtr.weight_v.detach().clone())
                bias = None if convtr.bias is None else convtr.bias.detach().clone()
            weight = None
        self.in_channels, self.out_channels = convtr.in_channels, convtr.out_channels
        norm = source.convtr.norm
        self.group_norm = isinstance(norm, nn.GroupNorm)
        if self.group_norm:
            self.register_buffer("gn_weight", norm.weight.detach().clone())
            self.register_buffer("gn_bias", norm.bias.detach().clone())
            self.gn_eps = norm.eps
        if self.polyphase:
            # with GroupNorm, compute the whole untrimmed output (offset 0, trimmed later)
            offset = 0 if self.group_norm else self.trims()[0]
            poly, self.pad_left, self.pad_right = _polyphase_weight(weight, self.stride,
                                                                    offset)
            if self.group_norm:  # columns for the whole (T - 1) * s + k samples
                self.pad_right += -(-self.kernel_size // self.stride) - 1
            self.register_buffer("weight", poly)
            self.register_buffer("bias", None if bias is None else
                                 bias.repeat_interleave(self.stride).contiguous())
        else:
            if weight is not None:
                self.register_buffer("weight", weight)
            self.register_buffer("bias", bias)

    def trims(self) -> tuple[int, int]:
        padding_total = self.kernel_size - self.stride
        if self.causal:
            right = math.ceil(padding_total * self.trim_right_ratio)
        else:
            right = padding_total // 2
        return padding_total - right, right

    def places_output(self) -> bool:
        """Whether `forward` can write its output into a wider buffer (`extra_channels`)."""
        return self.polyphase and not self.group_norm

    def forward(self, x: torch.Tensor, extra_channels: int = 0,
                out_dtype: torch.dtype | None = None) -> torch.Tensor:
        """The output [B, C_out, T*s]; with `extra_channels` (only when `places_output()`),
        a buffer [B, C_out + extra_channels, T*s] of `out_dtype` (default: x's) holding it in
        its first C_out channels."""
        batch, _, frames = x.shape
        s = self.stride
        left, right = self.trims()
        if not self.polyphase:
            weight = self.weight if self.folded else torch._weight_norm(
                self.weight_v, self.weight_g, 0)
            y = F.conv_transpose1d(F.elu(x), weight, self.bias, s)
            if self.group_norm:
                y = F.group_norm(y, 1, self.gn_weight, self.gn_bias, self.gn_eps)
            return y[..., left: y.shape[-1] - right]
        pl, pr = self.pad_left, self.pad_right
        if pl < 0 or pr < 0:  # the kept samples need less than the whole input
            x = x[..., max(0, -pl): frames - max(0, -pr)]
            pl, pr = max(0, pl), max(0, pr)
        if self.fuse_elu_pad and (pl or pr):
            x = _elu_into_padded(x, pl, pr, "constant")
        else:
            x = F.elu(x)
            x = F.pad(x, (pl, pr)) if pl or pr else x
        y = F.conv1d(x, self.weight, self.bias)  # [B, O*s, columns]
        n = y.shape[-1]
        phases = y.view(batch, self.out_channels, s, n).transpose(2, 3)
        if extra_channels:
            buf = y.new_empty(batch, self.out_channels + extra_channels, n * s,
                              dtype=out_dtype or y.dtype)
            buf[:, : self.out_channels].view(batch, self.out_channels, n, s).copy_(phases)
            return buf
        y = phases.reshape(batch, self.out_channels, n * s)
        if not self.group_norm:
            return y  # exactly the trimmed output
        y = y[..., : (frames - 1) * s + self.kernel_size]
        y = F.group_norm(y, 1, self.gn_weight, self.gn_bias, self.gn_eps)
        return y[..., left: y.shape[-1] - right]


def _polyphase_weight(weight: torch.Tensor, stride: int,
                      offset: int) -> tuple[torch.Tensor, int, int]:
    """The ordinary-convolution weight [C_out*s, C_in, taps] whose output column c, phase j is
    transposed-convolution output sample `offset + c*s + j`, and the (left, right) zero padding
    of the input it needs so that it has one column per input frame (negative: crop).

    Output sample `offset + c*s + j` sums `W[:, :, r] x[c - d]` over `r = offset + j + d*s`
    in [0, k); conv tap p reads padded input `c + p`, i.e. `x[c + p - left]`, so p = left - d.
    """
    c_in, c_out, k = weight.shape
    s = stride
    ds = [d for j in range(s) for d in range(-(offset + j) // s - 1, (k - offset) // s + 2)
          if 0 <= offset + j + d * s < k]
    d_min, d_max = min(ds), max(ds)
    taps = d_max - d_min + 1
    poly = weight.new_zeros(c_out, s, c_in, taps)
    for j in range(s):
        for d in range(d_min, d_max + 1):
            r = offset + j + d * s
            if 0 <= r < k:
                poly[:, j, :, d_max - d] = weight[:, :, r].t()
    return poly.reshape(c_out * s, c_in, taps).contiguous(), d_max, -d_min


class FastResBlock(nn.Module):
    """ELU, conv(k, dilation), ELU, conv(1), plus the identity or a 1x1 shortcut.

    With `fuse_shortcut` and a 1x1 shortcut (no GroupNorm), `shortcut(x) + conv2(ELU(h))` is
    one 1x1 convolution with weight [W_shortcut | W_2] over the channel-concatenated buffer
    [x; ELU(h)]; the transposed convolution before the block writes x straight into that
    buffer (`input_channels_extra`), and ELU(h) is written into its other half.
    """

    def __init__(self, source: ResnetBlock, *, exact: bool, options: InferenceOptions) -> None:
        super().__init__()
        _, conv1, _, conv2 = source.block
        self.conv1 = FastConv1d(conv1, pre_elu=True, exact=exact, options=options)
        self.conv2 = FastConv1d(conv2, pre_elu=True, exact=exact, options=options)
        self.shortcut = (None if not isinstance(source.shortcut, StreamableConv1d) else
                         FastConv1d(source.shortcut, pre_elu=False, exact=exact,
                                    options=options))
        self.exact = exact
        self.fuse = (options.fuse_shortcut and not exact and self.shortcut is not None
                     and not self.shortcut.group_norm and self.shortcut.kernel_size == 1
                     and self.shortcut.folded and self.conv2.folded
                     and not self.conv2.group_norm and self.conv2.kernel_size == 1)
        self.matmul = options.pointwise == "matmul"
        self.channels = conv1.conv.conv.in_channels
        self.hidden = conv2.conv.conv.in_channels
        if self.fuse:
            weight = torch.cat([self.shortcut.weight, self.conv2.weight], dim=1)
            biases = [b for b in (self.shortcut.bias, self.conv2.bias) if b is not None]
            self.register_buffer("fused_weight", weight.contiguous())
            self.register_buffer("fused_bias", sum(biases[1:], biases[0]).clone()
                                 if biases else None)

    @property
    def input_channels_extra(self) -> int:
        """Channels to leave free after the input, for a producer that writes the input
        straight into this block's concatenated buffer (0: no such buffer)."""
        return self.hidden if self.fuse else 0

    def forward(self, x: torch.Tensor, placed: bool = False) -> torch.Tensor:
        """`placed`: x is [B, C + hidden, T] with the input in its first C channels."""
        if self.exact:  # the reference's order: shortcut(x) + block(x)
            skip = x if self.shortcut is None else self.shortcut(x)
            return skip + self.conv2(self.conv1(x))
        if self.fuse:
            c = self.channels
            if placed:
                buf = x
            else:
                buf = x.new_empty(x.shape[0], c + self.hidden, x.shape[-1])
                buf[:, :c].copy_(x)
            h = self.conv1(buf[:, :c])
            torch._C._nn.elu(h, 1.0, 1, 1, out=buf[:, c:])
            if self.matmul:
                out = torch.matmul(self.fused_weight[:, :, 0], buf)
                return out if self.fused_bias is None else out.add_(self.fused_bias[:, None])
            return F.conv1d(buf, self.fused_weight, self.fused_bias)
        if placed:  # pragma: no cover - a producer only places for a fused block
            x = x[:, : self.channels]
        h = self.conv1(x)
        skip = x if self.shortcut is None else self.shortcut(x)
        return self.conv2(h, accumulate=skip)


class FastLSTM(nn.Module):
    """StreamableLSTM (y = lstm(x) + x over time) on a private copy of the LSTM, in `dtype`."""

    def __init__(self, source: StreamableLSTM, dtype: torch.dtype) -> None:
        super().__init__()
        self.lstm = copy.deepcopy(source.lstm).to(dtype).eval()
        for p in self.lstm.parameters():
            p.requires_grad_(False)
        self.dtype = dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(2, 0, 1)
        inner = x if x.dtype == self.dtype else x.to(self.dtype)
        y, _ = self.lstm(inner)
        y = y if y.dtype == x.dtype else y.to(x.dtype)
        return (y + x).permute(1, 2, 0)


class FastSEANet(nn.Module):
    """A SEANet encoder or decoder as a flat list of fused layers, each run in its dtype."""

    def __init__(self, source: nn.Sequential, *, exact: bool, options: InferenceOptions,
                 dtype: torch.dtype, low_rate_dtype: torch.dtype, lstm_dtype: torch.dtype,
                 out_dtype: torch.dtype = torch.float32, fp32_tail: int = 0) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        dtypes: list[torch.dtype] = []
        pre_elu = False
        high_rate = False
        for module in source:
            if isinstance(module, nn.ELU):
                if module.alpha != 1.0:  # pragma: no cover - SEANet always uses alpha 1
                    raise ConfigError(f"ELU(alpha={module.alpha}) is not supported")
                pre_elu = True
                continue
            if isinstance(module, StreamableConvTranspose1d):
                if not pre_elu:  # pragma: no cover - SEANet always puts an ELU first
                    raise ConfigError("a transposed convolution without the ELU before it")
                high_rate = True
                layers.append(FastConvTranspose1d(module, options=options, exact=exact))
            elif isinstance(module, StreamableConv1d):
                layers.append(FastConv1d(module, pre_elu=pre_elu, exact=exact,
                                         options=options))
            elif isinstance(module, ResnetBlock):
                layers.append(FastResBlock(module, exact=exact, options=options))
            elif isinstance(module, StreamableLSTM):
                layers.append(FastLSTM(module, lstm_dtype))
            else:  # pragma: no cover - the reference SEANet has no other layer
                raise ConfigError(f"unsupported layer {type(module).__name__}")
            pre_elu = False
            dtypes.append(dtype if high_rate else low_rate_dtype)
        for i in range(max(0, len(dtypes) - fp32_tail), len(dtypes)):
            dtypes[i] = torch.float32
        self.layers = nn.ModuleList(layers)
        for layer, dt in zip(self.layers, dtypes):
            if not isinstance(layer, FastLSTM):
                layer.to(dt)
        self.dtypes = dtypes
        self.out_dtype = out_dtype
        self.min_tile_frames = options.tile_frames
        self.tile_workers = options.tile_workers
        self.tile_start, self.tile_halo, self.tile_hop = _tiling_plan(layers)
        # tiles only where the layers before them keep the length (a decoder), never exact
        self.tile_samples = 0 if exact or not self.tile_hop else options.tile_samples

        # a transposed convolution followed by a fused residual block writes into its buffer
        self.place = [isinstance(layer, FastConvTranspose1d) and layer.places_output()
                      and i + 1 < len(layers) and isinstance(layers[i + 1], FastResBlock)
                      and layers[i + 1].input_channels_extra > 0
                      for i, layer in enumerate(layers)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tiles = self._tiles(x)
        if tiles is None:
            return self._run_layers(x, 0, len(self.layers))
        x = self._run_layers(x, 0, self.tile_start, cast=False)
        hop, frames = self.tile_hop, x.shape[-1]
        halo = self.tile_halo or 0

        def run(tile: tuple[slice, tuple[int, int]]) -> tuple[slice, int, int, torch.Tensor]:
            items, (a, b) = tile
            lo, hi = max(0, a - halo), min(frames, b + halo)
            y = self._run_layers(x[items, :, lo:hi], self.tile_start, len(self.layers))
            return items, a, b, y[..., (a - lo) * hop: (b - lo) * hop]

        workers = self.tile_workers or torch.get_num_threads()
        if workers > 1 and len(tiles) > 1:
            inference, grad = torch.is_inference_mode_enabled(), torch.is_grad_enabled()

            def job(tile: tuple[slice, tuple[int, int]]) -> tuple[slice, int, int, torch.Tensor]:
                with torch.inference_mode(inference), torch.set_grad_enabled(grad):
                    return run(tile)
            results = _tile_pool(workers).map(job, tiles)
        else:
            results = map(run, tiles)
        out: torch.Tensor | None = None
        for items, a, b, y in results:  # in tile order, while later tiles are computed
            if out is None:
                out = y.new_empty(x.shape[0], y.shape[1], frames * hop)
            out[items, :, a * hop: b * hop] = y
        assert out is not None
        return out

    def _tiles(self, x: torch.Tensor) -> list[tuple[slice, tuple[int, int]]] | None:
        """(batch items, (first, end) frame) of each tile the high-rate layers run on, or
        None to run them on the whole input: off, not on CPU, or the input fits in one tile.
        Tiles hold about `tile_samples` output samples (at least `tile_frames` frames of one
        item) and are of near-equal length; the batch is split when one tile of every item
        would exceed the budget. Layers that need the whole sequence (GroupNorm) are split
        by batch item only."""
        if not self.tile_samples or x.device.type != "cpu" or x.dim() != 3:
            return None
        batch, frames = x.shape[0], x.shape[-1]
        if batch * frames * self.tile_hop <= 2 * self.tile_samples:
            return None
        if self.tile_halo is None:  # whole items only
            items = max(1, self.tile_samples // (frames * self.tile_hop))
            return None if items >= batch else [
                (slice(i, min(batch, i + items)), (0, frames)) for i in range(0, batch, items)]
        per_tile = max(self.min_tile_frames, self.tile_samples // (batch * self.tile_hop))
        items = max(1, self.tile_samples // (per_tile * self.tile_hop))
        count = -(-frames // per_tile)
        size = -(-frames // count)
        spans = [(a, min(frames, a + size)) for a in range(0, frames, size)]
        return [(slice(i, min(batch, i + items)), span)
                for i in range(0, batch, items) for span in spans]

    def _run_layers(self, x: torch.Tensor, start: int, stop: int,
                    cast: bool = True) -> torch.Tensor:
        """Layers [start, stop) on x, each in its dtype (`cast`: the result in out_dtype)."""
        placed = False
        for i in range(start, stop):
            layer, dt = self.layers[i], self.dtypes[i]
            if x.dtype != dt:
                x = x.to(dt)
            if self.place[i]:  # the buffer is allocated in the next layer's dtype
                x = layer(x, extra_channels=self.layers[i + 1].input_channels_extra,
                          out_dtype=self.dtypes[i + 1])
                placed = True
            elif placed:
                x = layer(x, placed=True)
                placed = False
            else:
                x = layer(x)
        if not cast:
            return x
        return x if x.dtype == self.out_dtype else x.to(self.out_dtype)


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _tile_pool(workers: int) -> ThreadPoolExecutor:
    """A process-wide pool of `workers` threads whose torch runs single-threaded: tiles are
    independent, so each core runs whole tiles, with no synchronisation inside an operator
    (an intra-op barrier per operator costs a scheduler slice whenever another process holds
    a core). Only the workers' own thread count changes: the process default is restored."""
    with _POOLS_LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            before = torch.get_num_threads()
            pool = ThreadPoolExecutor(workers, thread_name_prefix="encodec-tiles")
            ready = threading.Barrier(workers)

            def single_threaded() -> None:
                torch.set_num_threads(1)  # this thread's OpenMP/MKL count
                ready.wait()  # every worker started, none reused for another's setup
            for future in [pool.submit(single_threaded) for _ in range(workers)]:
                future.result()
            torch.set_num_threads(before)  # the default for threads started later
            _POOLS[workers] = pool
    return pool


def _tiling_plan(layers: list[nn.Module] | nn.ModuleList) -> tuple[int, int | None, int]:
    """(first tiled layer, halo in that layer's input frames, output samples per input frame)
    for running the layers after the last LSTM tile by tile in time; halo None when they
    cannot be tiled in time (a GroupNorm needs the whole sequence; a strided convolution
    changes the length), only by batch item; hop 0 when the layers before them change the
    length (an encoder): no tiles at all. The halo covers the receptive field: a tile's
    edges, padded as if they were the sequence's, perturb only outputs within the halo,
    which are cropped; at the sequence's own edges the padding is the reference's."""
    start = max((i + 1 for i, layer in enumerate(layers) if isinstance(layer, FastLSTM)),
                default=0)
    if start >= len(layers) or not all(
            isinstance(layer, FastLSTM) or (isinstance(layer, FastConv1d) and layer.stride == 1)
            for layer in layers[:start]):  # an encoder: the length changes before `start`
        return start, None, 0
    context, hop = 0, 1  # context: samples at the current layer's output rate
    halo: int | None = 0

    def conv_context(conv: FastConv1d) -> int | None:
        if conv.group_norm or conv.stride != 1:
            return None
        return (conv.kernel_size - 1) * conv.dilation

    for layer in reversed(layers[start:]):
        if isinstance(layer, FastConv1d):
            extra = conv_context(layer)
        elif isinstance(layer, FastResBlock):
            parts = [conv_context(c) for c in (layer.conv1, layer.conv2, layer.shortcut)
                     if c is not None]
            extra = None if any(p is None for p in parts) else sum(parts)
        elif isinstance(layer, FastConvTranspose1d):
            s = layer.stride
            context = -(-context // s) + -(-layer.kernel_size // s)
            hop *= s
            extra = None if layer.group_norm else 0
        else:  # pragma: no cover - only an LSTM, and none follows `start`
            extra = None
        if extra is None:
            halo = None
        else:
            context += extra
    return start, (None if halo is None else context), hop


class _GraphedRunner:
    """Replays `net` as one CUDA graph per (shape, dtype) of its input, least recently used
    dropped beyond `capacity`. The output is copied out of the graph's static buffer."""

    def __init__(self, net: Callable[[torch.Tensor], torch.Tensor], capacity: int) -> None:
        self.net, self.capacity = net, capacity
        self.graphs: OrderedDict[tuple, tuple[Any, torch.Tensor, torch.Tensor]] = OrderedDict()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        key = (tuple(x.shape), x.dtype, x.device)
        entry = self.graphs.get(key)
        if entry is None:
            static_in = x.clone()
            side = torch.cuda.Stream(device=x.device)
            side.wait_stream(torch.cuda.current_stream(x.device))
            with torch.cuda.stream(side):
                for _ in range(2):  # warm-up: oneDNN/cuDNN plans and allocator pools
                    self.net(static_in)
            torch.cuda.current_stream(x.device).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                static_out = self.net(static_in)
            entry = (graph, static_in, static_out)
            self.graphs[key] = entry
            while len(self.graphs) > self.capacity:
                self.graphs.popitem(last=False)
        else:
            self.graphs.move_to_end(key)
        graph, static_in, static_out = entry
        static_in.copy_(x)
        graph.replay()
        return static_out.clone()


# ----------------------------------------------------------------------------------- model
class InferenceModel(nn.Module):
    """The fast inference path of an `EncodecModel` (see the module docstring)."""

    def __init__(self, source: EncodecModel, *, dtype: torch.dtype | None = None,
                 compile: bool = False, device: torch.device | str | None = None,
                 **options: Any) -> None:
        super().__init__()
        if not isinstance(source, EncodecModel):
            raise InvalidArgument(f"expected an EncodecModel, got {type(source).__name__}")
        dtype = torch.float32 if dtype is None else dtype
        if dtype not in DTYPES:
            raise InvalidArgument(f"dtype={dtype!r}: must be one of "
                                  f"{[str(d) for d in DTYPES]}")
        opts = InferenceOptions.from_kwargs(options)
        if device is None:
            device = next(iter(source.state_dict().values())).device
        device = torch.device(device)
        if opts.cuda_graphs and device.type != "cuda":
            raise InvalidArgument(f"cuda_graphs=True needs a CUDA device, not {device}")
        self.cfg: EncodecConfig = source.cfg
        self.dtype, self.device, self.options, self.compiled = dtype, device, opts, bool(compile)
        encode_dtype = opts.encode_dtype or torch.float32
        lstm_dtype = opts.lstm_dtype or torch.float32
        with torch.no_grad():
            self.encoder = FastSEANet(
                source.encoder.model, exact=encode_dtype == torch.float32, options=opts,
                dtype=encode_dtype, low_rate_dtype=encode_dtype, lstm_dtype=lstm_dtype)
            self.decoder = FastSEANet(
                source.decoder.model, exact=False, options=opts, dtype=dtype,
                low_rate_dtype=torch.float32 if opts.low_rate_fp32 else dtype,
                lstm_dtype=lstm_dtype, fp32_tail=opts.fp32_tail_layers)
            # reduced precision: the float32 decoder that near-silent items are decoded with
            self.decoder_fp32 = None if dtype == torch.float32 or opts.fp32_below_dbfs is None \
                else FastSEANet(source.decoder.model, exact=False, options=opts,
                                dtype=torch.float32, low_rate_dtype=torch.float32,
                                lstm_dtype=torch.float32)
            self.quantizer = copy.deepcopy(source.quantizer).float()
        self.to(device)
        self.eval()
        self.requires_grad_(False)
        # what encode/decode call (the nets, compiled or graphed): kept out of the module tree
        self.runners: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
            "encode": self.encoder, "decode": self.decoder}
        if self.decoder_fp32 is not None:
            self.runners["decode_fp32"] = self.decoder_fp32
        if compile:
            for key in list(self.runners):
                self.runners[key] = torch.compile(self.runners[key], dynamic=None)
        if opts.cuda_graphs:
            self.runners["decode"] = _GraphedRunner(self.runners["decode"], opts.max_graphs)

    @classmethod
    def from_model(cls, model: EncodecModel, dtype: torch.dtype | None = None,
                   compile: bool = False, device: torch.device | str | None = None,
                   **options: Any) -> InferenceModel:
        """The fast path of `model` (nothing is shared with it; see the module docstring)."""
        return cls(model, dtype=dtype, compile=compile, device=device, **options)

    def train(self, mode: bool = True) -> InferenceModel:
        if mode:
            raise InvalidArgument("an InferenceModel is for inference only")
        return super().train(False)

    def describe(self) -> dict[str, Any]:
        """What this fast path does (for reports): dtypes, device and options."""
        opts = {f.name: getattr(self.options, f.name) for f in fields(self.options)}
        opts = {k: (str(v) if isinstance(v, torch.dtype) else v) for k, v in opts.items()}
        return {"dtype": str(self.dtype), "device": str(self.device),
                "compile": self.compiled, "options": opts}

    # ---------------------------------------------------------------------------- properties
    @property
    def sample_rate(self) -> int:
        return self.cfg.sample_rate

    @property
    def channels(self) -> int:
        return self.cfg.channels

    @property
    def hop_length(self) -> int:
        return self.cfg.hop_length

    @property
    def frame_rate(self) -> float:
        return self.cfg.frame_rate

    @property
    def bandwidths(self) -> tuple[float, ...]:
        return self.cfg.bandwidths

    @property
    def n_q(self) -> int:
        return self.cfg.n_q

    @property
    def bins(self) -> int:
        return self.cfg.bins

    # the reference's own checks, run on this model's properties
    n_q_for_bandwidth = EncodecModel.n_q_for_bandwidth
    _check_audio = EncodecModel._check_audio

    def _codebooks(self, bandwidth: BandwidthChoice | None,
                   n_q: int | None) -> tuple[int, float | None]:
        """(codebooks, bandwidth recorded in Encoded), with the reference encode's errors."""
        if (bandwidth is None) == (n_q is None):
            raise ConfigError(
                "give exactly one of bandwidth= (kbps, 'all' or 'smallest') and n_q=; the two "
                "ecosystems' defaults differ (all codebooks vs the smallest bandwidth)")
        if n_q is not None:
            if not 1 <= n_q <= self.n_q:
                raise ConfigError(f"n_q={n_q}: must be in [1, {self.n_q}]")
            return n_q, None
        k = self.n_q_for_bandwidth(bandwidth)
        return k, None if isinstance(bandwidth, str) else float(bandwidth)

    # -------------------------------------------------------------------------------- encode
    @torch.inference_mode()
    def encode(self, wav: torch.Tensor, bandwidth: BandwidthChoice | None = None, *,
               n_q: int | None = None, sample_rate: int | None = None) -> Encoded:
        """Encode audio [B, C, T] into codes (as `EncodecModel.encode`)."""
        self._check_audio(wav, sample_rate)
        k, bw = self._codebooks(bandwidth, n_q)
        wav = wav.to(self.device, torch.float32)
        length = wav.shape[-1]
        seg = self.cfg.segment_length
        chunks = []
        for off in chunk_offsets(length, seg, self.cfg.segment_stride):
            chunks.append(self._encode_chunk(wav[..., off: off + (seg or length)], k))
        return Encoded(chunks=chunks, length=length, n_q=k, bandwidth=bw,
                       sample_rate=self.sample_rate)

    def _encode_chunk(self, x: torch.Tensor, n_q: int) -> EncodedChunk:
        scale = None
        if self.cfg.renormalize:
            mono = x.mean(dim=1, keepdim=True)
            volume = mono.pow(2).mean(dim=2, keepdim=True).sqrt()
            scale = 1e-8 + volume
            x = x / scale
            scale = scale.view(-1, 1)
        z = _run(self.runners["encode"], x)
        codes = self.quantizer.encode(z.float(), n_q)
        return EncodedChunk(codes=codes, scale=scale, length=x.shape[-1])

    # -------------------------------------------------------------------------------- decode
    @torch.inference_mode()
    def decode(self, encoded: Encoded | torch.Tensor,
               scale: torch.Tensor | None = None) -> torch.Tensor:
        """Audio [B, C, T'] from `Encoded` or a codes tensor (as `EncodecModel.decode`)."""
        if isinstance(encoded, torch.Tensor):
            if self.cfg.segment is not None:
                raise ModelInputError("a chunked model decodes an Encoded (it needs every "
                                      "chunk's scale and length), not a bare codes tensor")
            encoded = Encoded(chunks=[EncodedChunk(encoded, scale, -1)], length=-1,
                              n_q=encoded.shape[1] if encoded.dim() == 3 else 0)
        elif scale is not None:
            raise ModelInputError("scale= is only for a bare codes tensor; Encoded carries "
                                  "its own")
        latents, scales = [], []
        for chunk in encoded.chunks:
            codes = chunk.codes.to(self.device) if isinstance(chunk.codes, torch.Tensor) \
                else chunk.codes
            z = self.quantizer.decode(codes)  # the reference's checks on every chunk
            if self.cfg.renormalize and chunk.scale is None:
                raise ModelInputError("this model renormalises: decoding needs each chunk's "
                                      "scale")
            if not self.cfg.renormalize and chunk.scale is not None:
                raise ModelInputError("this model does not renormalise, but a scale was given")
            latents.append(z.to(self.device))
            scales.append(None if chunk.scale is None else
                          chunk.scale.to(self.device, torch.float32))
        frames = self._decode_latents_batched(latents)
        if self.cfg.renormalize:
            frames = [f * s.view(-1, 1, 1) for f, s in zip(frames, scales)]
        if len(frames) == 1:
            return frames[0]
        return _overlap_add(frames, self.cfg.segment_stride)

    def _decode_latents_batched(self, latents: list[torch.Tensor]) -> list[torch.Tensor]:
        """Decode each latent; chunks of equal shape go through the decoder together."""
        if len(latents) == 1 or not self.options.batch_chunks:
            return [self._decode_net(z) for z in latents]
        out: list[torch.Tensor | None] = [None] * len(latents)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, z in enumerate(latents):
            groups.setdefault(tuple(z.shape), []).append(i)
        for shape, members in groups.items():
            per_item = shape[0] * max(1, shape[-1]) * self.hop_length
            step = max(1, self.options.max_batch_samples // max(1, per_item))
            for start in range(0, len(members), step):
                part = members[start: start + step]
                decoded = self._decode_net(torch.cat([latents[i] for i in part]))
                for i, piece in zip(part, decoded.split(shape[0])):
                    out[i] = piece
        return out  # type: ignore[return-value]

    def _decode_net(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder on latents z [B, D, T]; in reduced precision, the items whose output
        is quieter than `fp32_below_dbfs` are decoded again in float32."""
        out = _run(self.runners["decode"], z)
        if self.decoder_fp32 is None or out.numel() == 0:
            return out
        var, _ = torch.var_mean(out.float().flatten(1), dim=1, correction=0)
        quiet = var < 10.0 ** (self.options.fp32_below_dbfs / 10.0)  # power, not amplitude
        if bool(quiet.any()):
            items = quiet.nonzero().squeeze(1)
            out[items] = _run(self.runners["decode_fp32"], z[items]).to(out.dtype)
        return out

    def forward(self, wav: torch.Tensor, bandwidth: BandwidthChoice | None = None, *,
                n_q: int | None = None) -> torch.Tensor:
        """encode -> decode, trimmed to the input length."""
        encoded = self.encode(wav, bandwidth, n_q=n_q)
        return self.decode(encoded)[..., : wav.shape[-1]]

    @torch.inference_mode()
    def decode_latents(self, z: torch.Tensor, mean: torch.Tensor | float | None = None,
                       std: torch.Tensor | float | None = None, layout: str = "BDT"
                       ) -> torch.Tensor:
        """Decode continuous latents without the quantizer (as `EncodecModel.decode_latents`,
        whose checks run unchanged)."""
        view = _LatentView(self.cfg, self._decode_net)
        return EncodecModel.decode_latents(view, z.to(self.device) if isinstance(
            z, torch.Tensor) else z, mean=mean, std=std, layout=layout)



class _LatentView:
    """What `EncodecModel.decode_latents` reads from its model: `cfg` and `decoder`."""

    def __init__(self, cfg: EncodecConfig, decoder: Callable[[torch.Tensor], torch.Tensor]):
        self.cfg, self.decoder = cfg, decoder


def _overlap_add(frames: list[torch.Tensor], stride: int) -> torch.Tensor:
    """`linear_overlap_add` with the weight normalisation folded in: each frame is added once,
    scaled by its triangle weight divided by the summed weights (same checks, same length)."""
    first = frames[0]
    weight = overlap_add_weight(first.shape[-1], dtype=first.dtype, device=first.device)
    total = max(i * stride + f.shape[-1] for i, f in enumerate(frames))
    weight_sum = torch.zeros(total, dtype=first.dtype, device=first.device)
    for i, frame in enumerate(frames):
        n = frame.shape[-1]
        if n > weight.shape[0]:
            raise ValueError(f"frame {i} has {n} samples, more than the first frame's "
                             f"{weight.shape[0]}")
        weight_sum[i * stride: i * stride + n] += weight[:n]
    if float(weight_sum.min()) <= 0:
        raise ValueError(f"stride={stride} leaves gaps between frames of length "
                         f"{first.shape[-1]}")
    out = torch.zeros(*first.shape[:-1], total, dtype=first.dtype, device=first.device)
    for i, frame in enumerate(frames):
        n, start = frame.shape[-1], i * stride
        out[..., start:start + n].addcmul_(frame, weight[:n] / weight_sum[start:start + n])
    return out
