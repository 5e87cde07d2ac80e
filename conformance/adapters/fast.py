"""The reference model's fast inference path (`EncodecModel.for_inference`) as an adapter, so
the implementation checks prove it conformant like any other implementation:

- `fast_adapter`: float32 (`--tolerance fp32`: identical codes, decodes within 1e-4);
- `fast_bf16_adapter`: bfloat16 decoder, float32 encoder (`--tolerance bf16`: decodes within
  SI-SDR >= 25 dB of the reference). Where this CPU has no bfloat16 convolution support,
  the factory refuses with the reason instead of running an emulated path.

    encodec-conformance validate --impl conformance.adapters:fast_adapter
    encodec-conformance validate --impl conformance.adapters:fast_bf16_adapter --tolerance bf16
"""

from __future__ import annotations

from typing import Any

import torch

from conformance.adapters.protocol import CodecWeights, Frames
from conformance.adapters.reference import frames_to_encoded
from conformance.errors import InvalidArgument
from conformance.model.encodec import EncodecModel
from conformance.model.inference import InferenceModel, reduced_precision_supported

__all__ = ["FastAdapter", "fast_adapter", "fast_bf16_adapter"]


class FastAdapter:
    """An `InferenceModel` behind the adapter protocol (every optional method included)."""

    unsupported: dict[str, str] = {}
    expected_failures: dict[str, str] = {}

    def __init__(self, model: InferenceModel, name: str | None = None) -> None:
        if not isinstance(model, InferenceModel):
            raise InvalidArgument(f"expected an InferenceModel (EncodecModel.for_inference()), "
                                  f"got {type(model).__name__}")
        self.model = model
        self.name = name or f"fast-{str(model.dtype).replace('torch.', '')}"
        self.sample_rate = model.sample_rate
        self.channels = model.channels

    @classmethod
    def from_model(cls, model: EncodecModel, dtype: torch.dtype | None = None,
                   **options: Any) -> FastAdapter:
        """The fast path of a reference model (nothing is shared with it)."""
        return cls(model.for_inference(dtype=dtype, **options))

    def encode(self, audio: torch.Tensor, bandwidth_kbps: float) -> Frames:
        enc = self.model.encode(audio, bandwidth=bandwidth_kbps)
        return [(c.codes, c.scale) for c in enc.chunks]

    def decode(self, frames: Frames, length: int | None = None) -> torch.Tensor:
        n_q = frames[0][0].shape[1] if frames else 0
        out = self.model.decode(frames_to_encoded(frames, -1, n_q))
        return out if length is None else out[..., :length]

    def forward(self, audio: torch.Tensor, bandwidth_kbps: float) -> torch.Tensor:
        return self.model(audio, bandwidth_kbps)

    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        return self.model.decode_latents(latents)


def _load(weights: CodecWeights) -> EncodecModel:
    from conformance.checkpoints.load import load_checkpoint

    return load_checkpoint(weights.path("audiocraft")).model.eval()


def fast_adapter(weights: CodecWeights, **options: Any) -> FastAdapter:
    """The factory: the float32 fast path of the reference loaded (strictly) from the
    AudioCraft export; keyword `options` go to `for_inference`."""
    return FastAdapter.from_model(_load(weights), **options)


def fast_bf16_adapter(weights: CodecWeights, **options: Any) -> FastAdapter:
    """The factory: the bfloat16 fast path (float32 encoder, so the codes stay the
    reference's); refused where the CPU has no bfloat16 convolution support."""
    if not reduced_precision_supported(torch.bfloat16, "cpu"):
        raise InvalidArgument("the bfloat16 fast path needs a CPU with AVX512-BF16 or AMX "
                              "(oneDNN reports no bfloat16 support here); validate "
                              "conformance.adapters:fast_adapter instead")
    return FastAdapter.from_model(_load(weights), dtype=torch.bfloat16, **options)
