"""The reference model as an adapter: what every other implementation is compared with."""

from __future__ import annotations

from typing import Any

import torch

from conformance.adapters.protocol import CodecWeights, Frames
from conformance.model.encodec import EncodecModel, Encoded, EncodedChunk

__all__ = ["ReferenceAdapter", "frames_to_encoded", "reference_adapter"]


def frames_to_encoded(frames: Frames, length: int, n_q: int) -> Encoded:
    """Per-chunk frames as the reference model's `Encoded` (chunk lengths are not needed to
    decode; they are recorded as -1)."""
    return Encoded(chunks=[EncodedChunk(codes, scale, -1) for codes, scale in frames],
                   length=length, n_q=n_q)


class ReferenceAdapter:
    """`EncodecModel` behind the adapter protocol (every optional method included)."""

    name = "reference"
    unsupported: dict[str, str] = {}
    expected_failures: dict[str, str] = {}

    def __init__(self, model: EncodecModel) -> None:
        self.model = model.eval()
        self.sample_rate = model.sample_rate
        self.channels = model.channels

    @torch.inference_mode()
    def encode(self, audio: torch.Tensor, bandwidth_kbps: float) -> Frames:
        enc = self.model.encode(audio, bandwidth=bandwidth_kbps)
        return [(c.codes, c.scale) for c in enc.chunks]

    @torch.inference_mode()
    def decode(self, frames: Frames, length: int | None = None) -> torch.Tensor:
        n_q = frames[0][0].shape[1]
        out = self.model.decode(frames_to_encoded(frames, -1, n_q))
        return out if length is None else out[..., :length]

    @torch.inference_mode()
    def forward(self, audio: torch.Tensor, bandwidth_kbps: float) -> torch.Tensor:
        return self.model(audio, bandwidth_kbps)

    @torch.inference_mode()
    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        return self.model.decode_latents(latents)


def reference_adapter(weights: CodecWeights, **_: Any) -> ReferenceAdapter:
    """The factory: the reference model loaded (strictly) from the AudioCraft export."""
    from conformance.checkpoints.load import load_checkpoint

    return ReferenceAdapter(load_checkpoint(weights.path("audiocraft")).model)
