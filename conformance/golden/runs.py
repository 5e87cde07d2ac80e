"""Running a model on a reference clip the way every golden check does: CPU, inference mode,
the clip cut to a length, the decode trimmed to the input."""

from __future__ import annotations

import torch

from conformance.audio.clips import load_reference
from conformance.model.encodec import EncodecModel, Encoded

__all__ = ["clip_audio", "encode_decode"]


def clip_audio(name: str, model: EncodecModel, seconds: float | None = None) -> torch.Tensor:
    """Reference clip `name` [C, T] at the model's rate and channels, cut to `seconds`."""
    wav = load_reference(name, model.sample_rate, model.channels)
    if seconds is not None:
        wav = wav[..., : max(1, int(round(seconds * model.sample_rate)))]
    return wav.contiguous()


@torch.inference_mode()
def encode_decode(model: EncodecModel, wav: torch.Tensor, bandwidth: float, *,
                  decoder: EncodecModel | None = None) -> tuple[Encoded, torch.Tensor]:
    """`model` encodes `wav` [C, T] at `bandwidth` kbps and `decoder` (default: `model`)
    decodes the codes; returns the codes and the decode [C, T] trimmed to the input, float32."""
    enc = model.encode(wav[None], bandwidth=bandwidth)
    out = (decoder or model).decode(enc)[0, :, : wav.shape[-1]].float().contiguous()
    return enc, out
