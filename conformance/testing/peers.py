"""Adapters that run the same weights through the peer implementations.

- transformers `EncodecModel` (the Hugging Face implementation);
- the original `encodec` package (`encodec.model.EncodecModel`).

Both are optional dependencies (`pip install encodec-conformance[peers]`); they are imported only
when an adapter is built. Weights are copied from a reference model and loaded `strict=True`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

from conformance.checkpoints.hf_config import to_hf_dict
from conformance.checkpoints.keymap import load_state_dict_strict, map_state_dict
from conformance.model.config import n_q_for_bandwidth
from conformance.model.encodec import EncodecModel

__all__ = ["PEERS", "HFPeer", "OriginalPeer", "PeerOutput", "hf_encode_chunks"]


@dataclass
class PeerOutput:
    """What a peer produced: per-chunk codes [B, K, T_i], per-chunk scales, decoded audio."""

    codes: list[torch.Tensor]
    scales: list[torch.Tensor | None]
    audio: torch.Tensor


def _quiet():
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("ignore")
    return ctx


def hf_encode_chunks(hf_model, wav: torch.Tensor, bandwidth: float):
    """transformers encode -> (its output, per-chunk codes [B, K, T_i] with the last chunk's
    zero padding removed, that padding length)."""
    enc = hf_model.encode(wav, bandwidth=bandwidth, return_dict=True)
    codes = enc.audio_codes  # [n_chunks, B, K, T], the last chunk right-padded with 0
    pad = int(getattr(enc, "last_frame_pad_length", 0) or 0)
    chunks = [codes[i] for i in range(codes.shape[0])]
    if pad:
        chunks[-1] = chunks[-1][..., : chunks[-1].shape[-1] - pad]
    return enc, chunks, pad


class HFPeer:
    """transformers.EncodecModel carrying the reference model's weights."""

    name = "transformers"

    def __init__(self, reference: EncodecModel) -> None:
        import transformers

        cfg = reference.cfg
        self.cfg = cfg
        hf_cfg = transformers.EncodecConfig(**{k: v for k, v in to_hf_dict(cfg).items()
                                               if k not in ("model_type", "architectures")})
        torch.manual_seed(0)
        self.model = transformers.EncodecModel(hf_cfg).eval()
        target = self.model.state_dict()
        style = ("parametrizations" if any(".parametrizations.weight." in k for k in target)
                 else "weight_g")
        mapped, report = map_state_dict(reference.state_dict(), "canonical", "hf", cfg,
                                        weight_norm=style)
        report.raise_if_problems()
        # Some transformers versions create `inited` as a bool buffer; keep the target dtype.
        mapped = {k: (v.to(target[k].dtype) if k in target else v) for k, v in mapped.items()}
        load_state_dict_strict(self.model, mapped)

    def bandwidth_for(self, n_q: int) -> float:
        for bw in self.cfg.bandwidths:
            if n_q_for_bandwidth(self.cfg, bw) == n_q:
                return bw
        raise ValueError(f"no bandwidth of {self.cfg.bandwidths} selects {n_q} codebooks")

    @torch.no_grad()
    def run(self, wav: torch.Tensor, n_q: int) -> PeerOutput:
        bw = self.bandwidth_for(n_q)
        enc, chunks, pad = hf_encode_chunks(self.model, wav, bw)
        codes = enc.audio_codes
        scales = list(enc.audio_scales) if enc.audio_scales is not None else [None] * len(chunks)
        kwargs = {"last_frame_pad_length": pad} if pad else {}
        audio = self.model.decode(codes, enc.audio_scales, return_dict=True, **kwargs).audio_values
        return PeerOutput(chunks, scales, audio)


class OriginalPeer:
    """The original `encodec` package's EncodecModel carrying the reference weights."""

    name = "encodec"

    def __init__(self, reference: EncodecModel) -> None:
        ctx = _quiet()
        try:
            from encodec.model import EncodecModel as OrigModel
            from encodec.modules import SEANetDecoder, SEANetEncoder
            from encodec.quantization import ResidualVectorQuantizer

            cfg = reference.cfg
            self.cfg = cfg
            common = dict(channels=cfg.channels, dimension=cfg.dimension,
                          n_filters=cfg.n_filters, n_residual_layers=cfg.n_residual_layers,
                          ratios=list(cfg.ratios), norm=cfg.norm, kernel_size=cfg.kernel_size,
                          last_kernel_size=cfg.last_kernel_size,
                          residual_kernel_size=cfg.residual_kernel_size,
                          dilation_base=cfg.dilation_base, causal=cfg.causal,
                          pad_mode=cfg.pad_mode, true_skip=cfg.true_skip, compress=cfg.compress,
                          lstm=cfg.lstm)
            encoder = SEANetEncoder(**common)
            decoder = SEANetDecoder(trim_right_ratio=cfg.trim_right_ratio, **common)
            quantizer = ResidualVectorQuantizer(dimension=cfg.dimension, n_q=cfg.n_q,
                                                bins=cfg.bins)
            self.model = OrigModel(encoder, decoder, quantizer,
                                   target_bandwidths=list(cfg.bandwidths),
                                   sample_rate=cfg.sample_rate, channels=cfg.channels,
                                   normalize=cfg.renormalize, segment=cfg.segment,
                                   overlap=cfg.overlap, name=cfg.name).eval()
            load_state_dict_strict(self.model, reference.state_dict())
        finally:
            ctx.__exit__(None, None, None)

    @torch.no_grad()
    def run(self, wav: torch.Tensor, n_q: int) -> PeerOutput:
        ctx = _quiet()
        try:
            bw = next(b for b in self.cfg.bandwidths if n_q_for_bandwidth(self.cfg, b) == n_q)
            self.model.set_target_bandwidth(bw)
            frames = self.model.encode(wav)
            audio = self.model.decode(frames)
        finally:
            ctx.__exit__(None, None, None)
        return PeerOutput([c for c, _ in frames], [s for _, s in frames], audio)




PEERS = {"transformers": HFPeer, "encodec": OriginalPeer}
