"""The reference EnCodec model: encode, decode, forward and the continuous-latent decode path."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from conformance.errors import ConfigError, ModelInputError
from conformance.model.chunking import chunk_offsets, linear_overlap_add
from conformance.model.config import EncodecConfig, n_q_for_bandwidth
from conformance.model.quantizer import ResidualVectorQuantizer
from conformance.model.seanet import SEANetDecoder, SEANetEncoder

__all__ = ["BandwidthChoice", "EncodecModel", "Encoded", "EncodedChunk"]

#: Bandwidth conventions that must be chosen explicitly: the original `encodec` package uses
#: every codebook when no bandwidth is set; transformers uses the *smallest* target bandwidth.
BandwidthChoice = float | Literal["all", "smallest"]


@dataclass
class EncodedChunk:
    """Codes of one chunk: `codes` [B, K, T] int64, `scale` [B, 1] or None, `length` in samples."""

    codes: torch.Tensor
    scale: torch.Tensor | None
    length: int


@dataclass
class Encoded:
    """Everything `decode` needs: the chunks, the input length, and how the codes were chosen."""

    chunks: list[EncodedChunk]
    length: int
    n_q: int
    bandwidth: float | None = None
    sample_rate: int = 0
    meta: dict = field(default_factory=dict)

    @property
    def codes(self) -> torch.Tensor:
        """All chunks' codes concatenated along time: [B, K, sum T_i]."""
        return torch.cat([c.codes for c in self.chunks], dim=-1)

    @property
    def scales(self) -> list[torch.Tensor | None]:
        return [c.scale for c in self.chunks]


class EncodecModel(nn.Module):
    """EnCodec = SEANet encoder + residual VQ + SEANet decoder, with optional renormalisation
    and 1-chunk-at-a-time encoding (48 kHz).

    State-dict keys use the original/AudioCraft names (`encoder.model.0.conv.conv.weight_g`,
    `quantizer.vq.layers.0._codebook.embed`, ...).
    """

    def __init__(self, cfg: EncodecConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = SEANetEncoder(cfg)
        self.decoder = SEANetDecoder(cfg)
        self.quantizer = ResidualVectorQuantizer(cfg.dimension, cfg.bins, cfg.n_q)

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

    def n_q_for_bandwidth(self, bandwidth: BandwidthChoice) -> int:
        """Active codebooks for a bandwidth in kbps, or for "all" / "smallest" (see module doc).

        A numeric bandwidth must be one of `bandwidths`; its codebook count is
        `floor(bw * 1000 / (frame_rate * log2(bins)))`, at least 1.
        """
        if bandwidth == "all":
            return self.cfg.n_q
        if bandwidth == "smallest":
            return n_q_for_bandwidth(self.cfg, self.bandwidths[0])
        if bandwidth is None or isinstance(bandwidth, str):
            raise ConfigError(
                f"bandwidth={bandwidth!r}: give kbps from {list(self.bandwidths)}, 'all' "
                "(every codebook, the original package's default) or 'smallest' (the "
                "transformers default); there is no implicit default")
        bw = float(bandwidth)
        if not any(math.isclose(bw, b, rel_tol=1e-9) for b in self.bandwidths):
            raise ConfigError(f"bandwidth={bw} kbps is not supported by this model; "
                              f"choose one of {list(self.bandwidths)}")
        return n_q_for_bandwidth(self.cfg, bw)

    # ------------------------------------------------------------------------------- checks
    def _check_audio(self, wav: torch.Tensor, sample_rate: int | None) -> None:
        if not isinstance(wav, torch.Tensor):
            raise ModelInputError(f"audio must be a torch.Tensor, got {type(wav).__name__}")
        if sample_rate is not None and sample_rate != self.sample_rate:
            raise ModelInputError(f"sample_rate={sample_rate}, but this model runs at "
                             f"{self.sample_rate} Hz: resample first")
        if wav.dim() != 3:
            raise ModelInputError(f"audio.shape={tuple(wav.shape)}: expected [B, C, T]")
        if wav.shape[1] != self.channels:
            raise ModelInputError(f"audio.shape={tuple(wav.shape)}: {wav.shape[1]} channel(s), "
                             f"but the model takes {self.channels}")
        if wav.shape[-1] < 1 or wav.shape[0] < 1:
            raise ModelInputError(f"audio.shape={tuple(wav.shape)}: empty batch or no samples")
        if not wav.is_floating_point():
            raise ModelInputError(f"audio.dtype={wav.dtype}: expected floating point samples")
        if not bool(torch.isfinite(wav).all()):
            raise ModelInputError("audio contains NaN or infinite samples")

    # ------------------------------------------------------------------------------- encode
    def encode(self, wav: torch.Tensor, bandwidth: BandwidthChoice | None = None, *,
               n_q: int | None = None, sample_rate: int | None = None) -> Encoded:
        """Encode audio [B, C, T] into codes.

        Give exactly one of `bandwidth` (kbps, "all" or "smallest") and `n_q`. Chunked models
        encode every `segment_stride` samples a chunk of `segment_length` (the last may be
        shorter), each renormalised on its own when the model renormalises.
        """
        self._check_audio(wav, sample_rate)
        if (bandwidth is None) == (n_q is None):
            raise ConfigError(
                "give exactly one of bandwidth= (kbps, 'all' or 'smallest') and n_q=; the two "
                "ecosystems' defaults differ (all codebooks vs the smallest bandwidth)")
        if n_q is not None:
            if not 1 <= n_q <= self.n_q:
                raise ConfigError(f"n_q={n_q}: must be in [1, {self.n_q}]")
            k, bw = n_q, None
        else:
            k = self.n_q_for_bandwidth(bandwidth)
            bw = None if isinstance(bandwidth, str) else float(bandwidth)
        length = wav.shape[-1]
        chunks = []
        for off in chunk_offsets(length, self.cfg.segment_length, self.cfg.segment_stride):
            piece = wav[..., off: off + (self.cfg.segment_length or length)]
            chunks.append(self._encode_chunk(piece, k))
        return Encoded(chunks=chunks, length=length, n_q=k, bandwidth=bw,
                       sample_rate=self.sample_rate)

    def encode_latents(self, wav: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
        """The quantizer's input per chunk: (latent [B, D, T_i], scale [B, 1] or None), the
        chunks and renormalisation exactly as `encode` makes them."""
        self._check_audio(wav, None)
        length = wav.shape[-1]
        return [self._latent_chunk(wav[..., off: off + (self.cfg.segment_length or length)])
                for off in chunk_offsets(length, self.cfg.segment_length,
                                         self.cfg.segment_stride)]

    def _latent_chunk(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        scale = None
        if self.cfg.renormalize:
            mono = x.mean(dim=1, keepdim=True)
            volume = mono.pow(2).mean(dim=2, keepdim=True).sqrt()
            scale = 1e-8 + volume
            x = x / scale
            scale = scale.view(-1, 1)
        return _run(self.encoder, x), scale

    def _encode_chunk(self, x: torch.Tensor, n_q: int) -> EncodedChunk:
        z, scale = self._latent_chunk(x)
        codes = self.quantizer.encode(z, n_q)
        return EncodedChunk(codes=codes, scale=scale, length=x.shape[-1])

    # ------------------------------------------------------------------------------- decode
    def decode(self, encoded: Encoded | torch.Tensor,
               scale: torch.Tensor | None = None) -> torch.Tensor:
        """Audio from `Encoded` (any model) or from a codes tensor [B, K, T] (unchunked models).

        Output length is T * hop for one chunk, or the overlap-added length of all chunks;
        it is not trimmed (`forward` trims to the input length).
        """
        if isinstance(encoded, torch.Tensor):
            if self.cfg.segment is not None:
                raise ModelInputError("a chunked model decodes an Encoded (it needs every chunk's "
                                 "scale and length), not a bare codes tensor")
            encoded = Encoded(chunks=[EncodedChunk(encoded, scale, -1)], length=-1,
                              n_q=encoded.shape[1] if encoded.dim() == 3 else 0)
        elif scale is not None:
            raise ModelInputError("scale= is only for a bare codes tensor; Encoded carries its own")
        frames = [self._decode_chunk(c.codes, c.scale) for c in encoded.chunks]
        if len(frames) == 1:
            return frames[0]
        return linear_overlap_add(frames, self.cfg.segment_stride)

    def _decode_chunk(self, codes: torch.Tensor, scale: torch.Tensor | None) -> torch.Tensor:
        z = self.quantizer.decode(codes)
        out = _run(self.decoder, z)
        if self.cfg.renormalize:
            if scale is None:
                raise ModelInputError("this model renormalises: decoding needs each chunk's scale")
            out = out * scale.view(-1, 1, 1)
        elif scale is not None:
            raise ModelInputError("this model does not renormalise, but a scale was given")
        return out

    def forward(self, wav: torch.Tensor, bandwidth: BandwidthChoice | None = None, *,
                n_q: int | None = None) -> torch.Tensor:
        """encode -> decode, trimmed to the input length."""
        encoded = self.encode(wav, bandwidth, n_q=n_q)
        return self.decode(encoded)[..., : wav.shape[-1]]

    def for_inference(self, dtype: torch.dtype | None = None, compile: bool = False,
                      device: torch.device | str | None = None, **options):
        """A fast inference copy of this model (`conformance.model.inference.InferenceModel`):
        the same encode/decode API, weight norm folded, fused decoder layers; `dtype=
        torch.bfloat16` decodes in reduced precision. Nothing is shared with this model."""
        from conformance.model.inference import InferenceModel

        return InferenceModel.from_model(self, dtype=dtype, compile=compile, device=device,
                                         **options)

    # ----------------------------------------------------------------------- latent path
    def decode_latents(self, z: torch.Tensor, mean: torch.Tensor | float | None = None,
                       std: torch.Tensor | float | None = None,
                       layout: Literal["BDT", "BTD"] = "BDT") -> torch.Tensor:
        """Decode continuous latents without the quantizer (as JASCO does).

        `z` is [B, D, T] ("BDT") or [B, T, D] ("BTD"); it is first denormalised as
        `z * std + mean` (per-dimension tensors of shape [D], or scalars), then put in
        [B, D, T] order and decoded.
        """
        if layout not in ("BDT", "BTD"):
            raise ModelInputError(f"layout={layout!r}: must be 'BDT' or 'BTD'")
        if not isinstance(z, torch.Tensor) or z.dim() != 3:
            raise ModelInputError(f"latents.shape={tuple(getattr(z, 'shape', ()))}: expected 3 "
                                  f"dims [B, {'D, T' if layout == 'BDT' else 'T, D'}]")
        d_axis = 1 if layout == "BDT" else 2
        if z.shape[d_axis] != self.cfg.dimension:
            raise ModelInputError(f"latents.shape={tuple(z.shape)} with layout={layout}: dim "
                             f"{d_axis} is {z.shape[d_axis]}, but the model's latent "
                             f"dimension is {self.cfg.dimension}")
        if not z.is_floating_point() or not bool(torch.isfinite(z).all()):
            raise ModelInputError("latents must be finite floating-point values")

        def _stat(name: str, v: torch.Tensor | float | None) -> torch.Tensor | None:
            if v is None:
                return None
            t = torch.as_tensor(v, dtype=z.dtype, device=z.device)
            if t.dim() == 0:
                return t
            if t.numel() != self.cfg.dimension:
                raise ModelInputError(f"{name}.shape={tuple(t.shape)}: expected a scalar or "
                                 f"{self.cfg.dimension} values, one per latent dimension")
            t = t.reshape(-1)
            return t.view(1, -1, 1) if layout == "BDT" else t.view(1, 1, -1)

        s, m = _stat("std", std), _stat("mean", mean)
        if s is not None:
            z = z * s
        if m is not None:
            z = z + m
        if layout == "BTD":
            z = z.permute(0, 2, 1)
        return _run(self.decoder, z)


def _run(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Run the encoder or decoder, turning GroupNorm's single-value failure into ModelInputError."""
    try:
        return net(x)
    except ValueError as exc:
        if "more than 1 value per channel" in str(exc):
            raise ModelInputError(f"input of {x.shape[-1]} frame(s) is too short for this "
                             "time_group_norm model: a GroupNorm layer would normalise a "
                             "single value") from exc
        raise
