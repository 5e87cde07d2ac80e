"""The implementations a benchmark compares, all built from the SAME reference model's weights.

- `reference`: the reference `EncodecModel`, eager (weight norm recomputed on every call);
- `fast-fp32`, `fast-bf16`, `fast-fp16`: the fast path (`EncodecModel.for_inference`) in
  float32 / bfloat16 (CPU with AVX512-BF16 or AMX, or CUDA) / float16 (CUDA);
- `transformers`: `transformers.EncodecModel` with the weights mapped and loaded strictly;
- `encodec`: the original `encodec` package's model, loaded strictly.

`ABLATION` lists the fast path's optimisation steps one at a time (each adds one switch to the
one before), so a run can show what each step gains. Every implementation is built from its
own copy of the weights, encodes into its own code format and decodes that.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from conformance.errors import InvalidArgument
from conformance.model.encodec import EncodecModel
from conformance.model.inference import reduced_precision_supported

__all__ = ["ABLATION", "DEFAULT_IMPLS", "IMPLEMENTATIONS", "BuiltCodec", "Implementation",
           "get_implementation"]


@dataclass
class BuiltCodec:
    """An implementation built for one model: `encode(wav, kbps)` returns its own code
    format, `decode(codes)` returns audio [B, C, T']; `itemsizes(n)` gives the bytes per
    activation element of each of the decoder's (or encoder's) n layers, for the roofline."""

    encode: Callable[[torch.Tensor, float], Any]
    decode: Callable[[Any], torch.Tensor]
    decoder_itemsizes: list[int] | None = None
    encoder_itemsizes: list[int] | None = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Implementation:
    """One implementation: how to build it from a reference model."""

    name: str
    kind: str  # "reference", "fast", "transformers" or "encodec"
    description: str
    dtype: torch.dtype = torch.float32
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def dtype_name(self) -> str:
        return str(self.dtype).replace("torch.", "")

    def op_dtype(self, op: str) -> torch.dtype:
        """The dtype `op` ("decode" or "encode") computes in: the fast path's encoder is
        float32 whatever its decoder's dtype, unless its `encode_dtype` option says otherwise."""
        if op == "decode":
            return self.dtype
        return dict(self.options).get("encode_dtype") or torch.float32

    def available(self, device: torch.device | str) -> str | None:
        """None when it can run on `device`, else why not."""
        device = torch.device(device)
        if device.type == "cuda" and not torch.cuda.is_available():
            return "no CUDA device"
        if self.kind == "fast" and self.dtype == torch.float16 and device.type == "cpu":
            return "float16 is a CUDA path (no fp16 convolution kernels on this CPU)"
        if self.kind == "fast" and self.dtype != torch.float32 and not \
                reduced_precision_supported(self.dtype, device):
            return f"{self.dtype_name} has no hardware support on {device}"
        if self.kind == "transformers":
            try:
                import transformers  # noqa: F401
            except ImportError:
                return "transformers is not installed"
        if self.kind == "encodec":
            try:
                import encodec  # noqa: F401
            except ImportError:
                return "the encodec package is not installed"
        return None

    def build(self, model: EncodecModel, device: torch.device | str) -> BuiltCodec:
        """This implementation carrying `model`'s weights, on `device`."""
        reason = self.available(device)
        if reason:
            raise InvalidArgument(f"implementation {self.name!r} cannot run: {reason}")
        device = torch.device(device)
        model = copy.deepcopy(model).cpu().eval()  # each implementation owns its weights
        if self.kind == "reference":
            ref = model.to(device)
            layers = _layer_count(model)
            return BuiltCodec(encode=lambda wav, bw: ref.encode(wav, bw),
                              decode=ref.decode, decoder_itemsizes=[4] * layers[1],
                              encoder_itemsizes=[4] * layers[0])
        if self.kind == "fast":
            fast = model.for_inference(dtype=self.dtype, device=device, **dict(self.options))
            dec = [torch.finfo(dt).bits // 8 for dt in fast.decoder.dtypes]
            enc = [torch.finfo(dt).bits // 8 for dt in fast.encoder.dtypes]
            return BuiltCodec(encode=lambda wav, bw: fast.encode(wav, bw), decode=fast.decode,
                              decoder_itemsizes=dec, encoder_itemsizes=enc,
                              info=fast.describe())
        if self.kind == "transformers":
            from conformance.adapters.transformers import TransformersAdapter

            adapter = TransformersAdapter.from_model(model)
            adapter.model.to(device)
            layers = _layer_count(model)
            return BuiltCodec(encode=adapter.encode, decode=adapter.decode,
                              decoder_itemsizes=[4] * layers[1],
                              encoder_itemsizes=[4] * layers[0])
        if self.kind == "encodec":
            from conformance.adapters.encodec_package import EncodecPackageAdapter

            adapter = EncodecPackageAdapter.from_model(model)
            adapter.model.to(device)
            layers = _layer_count(model)
            return BuiltCodec(encode=adapter.encode, decode=adapter.decode,
                              decoder_itemsizes=[4] * layers[1],
                              encoder_itemsizes=[4] * layers[0])
        raise InvalidArgument(f"unknown implementation kind {self.kind!r}")  # pragma: no cover


def _layer_count(model: EncodecModel) -> tuple[int, int]:
    """Non-ELU top-level layers of the encoder and the decoder."""
    def count(seq: Any) -> int:
        return sum(1 for m in seq if not isinstance(m, torch.nn.ELU))
    return count(model.encoder.model), count(model.decoder.model)


def _fast(name: str, description: str, dtype: torch.dtype = torch.float32,
          **options: Any) -> Implementation:
    return Implementation(name, "fast", description, dtype, tuple(sorted(options.items())))


IMPLEMENTATIONS: dict[str, Implementation] = {impl.name: impl for impl in (
    Implementation("reference", "reference",
                   "reference EncodecModel, eager (weight norm recomputed every call)"),
    _fast("fast-fp32", "fast path, float32 (identical codes, decode within 1e-4)"),
    _fast("fast-bf16", "fast path, bfloat16 decoder (last 2 layers float32; near-silent items "
          "in float32), float32 encoder", torch.bfloat16),
    _fast("fast-bf16-tail0", "fast path, bfloat16 up to the output layer (fastest; fails the "
          "golden mel-distance threshold)", torch.bfloat16, fp32_tail_layers=0),
    _fast("fast-fp16", "fast path, float16 decoder (CUDA)", torch.float16),
    Implementation("transformers", "transformers", "transformers.EncodecModel (same weights)"),
    Implementation("encodec", "encodec", "the original encodec package (same weights)"),
)}

#: The fast path's optimisation steps, cumulative, in the order they were measured.
_EXACT = dict(fuse_elu_pad=False, polyphase=False, pointwise="conv", fuse_shortcut=False,
              narrow_matmul_channels=0, tile_samples=0)
ABLATION: dict[str, Implementation] = {impl.name: impl for impl in (
    IMPLEMENTATIONS["reference"],
    _fast("step1-fold", "+ weight norm folded, no-op pads skipped, inference mode", **_EXACT),
    _fast("step2-elu-pad", "+ ELU written into the padded buffer",
          **{**_EXACT, "fuse_elu_pad": True}),
    _fast("step3-polyphase", "+ polyphase transposed convolutions",
          **{**_EXACT, "fuse_elu_pad": True, "polyphase": True}),
    _fast("step4-matmul", "+ 1x1 convolutions as matmuls",
          **{**_EXACT, "fuse_elu_pad": True, "polyphase": True, "pointwise": "matmul"}),
    _fast("step5-fuse-shortcut", "+ shortcut and last 1x1 conv as one product",
          **{**_EXACT, "fuse_elu_pad": True, "polyphase": True, "pointwise": "matmul",
             "fuse_shortcut": True}),
    _fast("step6-narrow", "+ output layer as one stacked-tap matmul", tile_samples=0),
    _fast("step7-tiles", "+ high-rate layers tile by tile in time", tile_workers=1),
    _fast("step8-tile-workers", "+ whole tiles in parallel on single-threaded workers "
          "(= fast-fp32)"),
    _fast("step9-bf16", "+ bfloat16 high-rate layers, all of them", torch.bfloat16,
          fp32_tail_layers=0),
    _fast("step10-bf16-tail", "+ last 2 layers back to float32 (= fast-bf16)",
          torch.bfloat16),
)}

#: What a benchmark compares unless told otherwise.
DEFAULT_IMPLS: tuple[str, ...] = ("reference", "fast-fp32", "fast-bf16", "transformers",
                                  "encodec")


def get_implementation(name: str) -> Implementation:
    """The implementation or ablation step called `name`."""
    found = IMPLEMENTATIONS.get(name) or ABLATION.get(name)
    if found is None:
        raise InvalidArgument(f"unknown implementation {name!r}; known: "
                              f"{', '.join([*IMPLEMENTATIONS, *ABLATION])}")
    return found
