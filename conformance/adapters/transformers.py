"""transformers' `EncodecModel` as an adapter (`conformance.adapters:transformers_adapter`).

The model is built from the transformers directory of the golden weights (`config.json` and
`model.safetensors`, read locally) and loaded strictly; the wrapped model is `adapter.model`.
Its known deviations are declared as expected failures (data, not code), so
`pytest --encodec-impl conformance.adapters:transformers_adapter` passes as it is.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch

from conformance.adapters.protocol import CodecWeights, Frames
from conformance.checkpoints.keymap import load_state_dict_strict
from conformance.checkpoints.naming import respell

__all__ = ["EXPECTED_FAILURES", "TransformersAdapter", "encode_chunks", "load_transformers_model",
           "transformers_adapter"]

#: Where current transformers is known to differ from the original package, and why.
EXPECTED_FAILURES: dict[str, str] = {
    "impl.*[encodec_48khz-chunk_overrun*]": (
        "upstream overlap-add crash: for lengths where a partial last chunk, decoded to whole "
        "hops, ends before an earlier chunk, transformers (like the original package) sizes "
        "the output by the last chunk and fails with a size mismatch (47,681-47,840 samples "
        "at 48 kHz, among others)"),
    "impl.*[encodec_48khz-partial_chunks*]": (
        "transformers keeps one padding length for the last chunk only: when the last two "
        "chunks are both partial, its overlap-add fails with a size mismatch"),
}


def encode_chunks(model: Any, audio: torch.Tensor, bandwidth: float,
                  padding_mask: torch.Tensor | None = None) -> tuple[Any, Frames, int]:
    """transformers encode -> (its output, per-chunk frames with the last chunk's zero padding
    removed, that padding length)."""
    enc = model.encode(audio, padding_mask=padding_mask, bandwidth=bandwidth, return_dict=True)
    codes = enc.audio_codes  # [n_chunks, B, K, T], the last chunk right-padded with code 0
    pad = int(getattr(enc, "last_frame_pad_length", 0) or 0)
    chunks = [codes[i] for i in range(codes.shape[0])]
    if pad:
        chunks[-1] = chunks[-1][..., : chunks[-1].shape[-1] - pad]
    scales = list(enc.audio_scales) if enc.audio_scales is not None else [None] * len(chunks)
    return enc, [(c, s) for c, s in zip(chunks, scales)], pad


class TransformersAdapter:
    """A transformers `EncodecModel` behind the adapter protocol."""

    name = "transformers"
    unsupported: dict[str, str] = {
        "decode_latents": "transformers' EncodecModel has no public continuous-latent decode",
    }
    expected_failures = EXPECTED_FAILURES

    def __init__(self, model: Any) -> None:
        self.model = model.eval()
        cfg = model.config
        self.sample_rate = int(cfg.sampling_rate)
        self.channels = int(cfg.audio_channels)

    @classmethod
    def from_model(cls, reference: Any) -> TransformersAdapter:
        """transformers' EncodecModel carrying a reference model's weights (strict)."""
        import transformers

        from conformance.checkpoints.hf_config import to_hf_dict
        from conformance.checkpoints.keymap import map_state_dict

        cfg = reference.cfg
        hf_cfg = {k: v for k, v in to_hf_dict(cfg).items()
                  if k not in ("model_type", "architectures")}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = transformers.EncodecModel(transformers.EncodecConfig(**hf_cfg))
        target = model.state_dict()
        style = ("parametrizations" if any(".parametrizations.weight." in k for k in target)
                 else "weight_g")
        mapped, report = map_state_dict(reference.state_dict(), "canonical", "hf", cfg,
                                        weight_norm=style)
        report.raise_if_problems()
        mapped = {k: (v.to(target[k].dtype) if k in target else v) for k, v in mapped.items()}
        load_state_dict_strict(model, mapped)
        return cls(model)

    @torch.inference_mode()
    def encode(self, audio: torch.Tensor, bandwidth_kbps: float) -> Frames:
        return encode_chunks(self.model, audio, float(bandwidth_kbps))[1]

    def _stack(self, frames: Frames) -> tuple[torch.Tensor, list, int]:
        width = max(c.shape[-1] for c, _ in frames)
        pad = width - frames[-1][0].shape[-1]
        codes = torch.stack([torch.nn.functional.pad(c, (0, width - c.shape[-1]))
                             for c, _ in frames])
        return codes, [s for _, s in frames], pad

    @torch.inference_mode()
    def decode(self, frames: Frames, length: int | None = None) -> torch.Tensor:
        codes, scales, pad = self._stack(frames)
        mask = None
        if length is not None:
            batch = codes.shape[1]
            mask = torch.ones(batch, self.channels, length, dtype=torch.bool)
        out = self.model.decode(codes, scales, padding_mask=mask, return_dict=True,
                                last_frame_pad_length=pad)
        return out.audio_values

    @torch.inference_mode()
    def forward(self, audio: torch.Tensor, bandwidth_kbps: float) -> torch.Tensor:
        mask = torch.ones(audio.shape, dtype=torch.bool)
        return self.model(audio, padding_mask=mask, bandwidth=float(bandwidth_kbps),
                          return_dict=True).audio_values


def transformers_adapter(weights: CodecWeights, **_: Any) -> TransformersAdapter:
    """The factory: transformers' EncodecModel built from the golden weights' HF directory."""
    return TransformersAdapter(load_transformers_model(weights.path("hf")))


def load_transformers_model(directory: Any) -> Any:
    """transformers' EncodecModel from a local directory (`config.json`, `model.safetensors`),
    loaded strictly (from_pretrained would leave missing tensors at random values)."""
    import transformers
    from safetensors.torch import load_file

    directory = Path(directory)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = transformers.EncodecConfig.from_pretrained(str(directory),
                                                            local_files_only=True)
        model = transformers.EncodecModel(config)
    target = model.state_dict()
    style = ("parametrizations" if any(".parametrizations.weight." in k for k in target)
             else "weight_g")
    tensors = load_file(str(directory / "model.safetensors"))
    state = {respell(k, style): v for k, v in tensors.items()}
    # some transformers versions keep `inited` as a bool buffer: keep the target's dtype
    state = {k: (v.to(target[k].dtype) if k in target else v) for k, v in state.items()}
    load_state_dict_strict(model, state)
    return model.eval()
