"""EnCodec configuration: the canonical fields, their validation and the bandwidth arithmetic.

Canonical field names follow the original `encodec` package / AudioCraft `seanet.*` naming.
`ratios` are always stored in *decoder* (upsampling) order, as every ecosystem does. The
conversions from and to transformers' `config.json` and AudioCraft's `xp.cfg` live with the
checkpoint formats (`conformance.checkpoints.hf_config`, `...audiocraft_config`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from conformance.errors import ConfigError

__all__ = ["NORMS", "PAD_MODES", "EncodecConfig", "bandwidth_for_n_q", "chunk_overrun_length",
           "n_q_for_bandwidth", "n_q_for_bandwidth_encodec_pypi", "validate"]

NORMS = frozenset({"none", "weight_norm", "time_group_norm"})
PAD_MODES = frozenset({"reflect", "constant", "replicate", "circular"})


@dataclass(frozen=True)
class EncodecConfig:
    """Every hyper-parameter needed to build an EnCodec model.

    `segment` (seconds) and `overlap` describe chunked encoding (the 48 kHz model);
    `segment=None` means the whole signal is encoded in one pass.
    `target_bandwidths` (kbps) may be empty for AudioCraft models, which have no ladder of
    their own; `bandwidths` then derives one entry per codebook count.
    """

    sample_rate: int = 24000
    channels: int = 1
    dimension: int = 128
    n_filters: int = 32
    n_residual_layers: int = 1
    ratios: tuple[int, ...] = (8, 5, 4, 2)
    kernel_size: int = 7
    last_kernel_size: int = 7
    residual_kernel_size: int = 3
    dilation_base: int = 2
    causal: bool = True
    norm: str = "weight_norm"
    pad_mode: str = "reflect"
    true_skip: bool = False
    compress: int = 2
    lstm: int = 2
    trim_right_ratio: float = 1.0
    bins: int = 1024
    n_q: int = 32
    target_bandwidths: tuple[float, ...] = (1.5, 3.0, 6.0, 12.0, 24.0)
    renormalize: bool = False
    segment: float | None = None
    overlap: float = 0.01
    name: str = field(default="custom", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ratios", tuple(int(r) for r in self.ratios))
        object.__setattr__(
            self, "target_bandwidths", tuple(float(b) for b in self.target_bandwidths)
        )
        if self.segment is None:  # overlap means nothing without chunks: one canonical value
            object.__setattr__(self, "overlap", 0.0)
        validate(self)

    # ----------------------------------------------------------------------------- derived
    @property
    def hop_length(self) -> int:
        """Samples per latent frame: the product of the ratios."""
        return math.prod(self.ratios)

    @property
    def frame_rate(self) -> float:
        """Latent frames per second (exact: sample_rate / hop_length)."""
        return self.sample_rate / self.hop_length

    @property
    def codebook_frame_rate(self) -> int:
        """Frame rate used by the bandwidth arithmetic: ceil(sample_rate / hop), as in the
        original package and transformers (AudioCraft floors; equal for every released model)."""
        return math.ceil(self.sample_rate / self.hop_length)

    @property
    def bits_per_codebook(self) -> int:
        return int(math.log2(self.bins))

    @property
    def bandwidth_per_codebook(self) -> float:
        """kbps carried by one codebook."""
        return self.codebook_frame_rate * self.bits_per_codebook / 1000.0

    @property
    def segment_length(self) -> int | None:
        """Chunk length in samples, or None when the model is not chunked."""
        if self.segment is None:
            return None
        return int(self.segment * self.sample_rate)

    @property
    def segment_stride(self) -> int | None:
        """Hop between chunk starts in samples, or None when the model is not chunked."""
        if self.segment_length is None:
            return None
        return max(1, int((1 - self.overlap) * self.segment_length))

    @property
    def bandwidths(self) -> tuple[float, ...]:
        """The bandwidth ladder (kbps): the configured one, or one step per codebook count."""
        if self.target_bandwidths:
            return self.target_bandwidths
        return tuple(bandwidth_for_n_q(self, k) for k in range(1, self.n_q + 1))

    def replace(self, **changes: Any) -> EncodecConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["ratios"] = list(self.ratios)
        d["target_bandwidths"] = list(self.target_bandwidths)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EncodecConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown config field(s): {', '.join(unknown)}")
        return cls(**d)


def _is_pow2(n: int) -> bool:
    return n > 0 and (n & (n - 1)) == 0


def validate(cfg: EncodecConfig) -> None:
    """Raise ConfigError naming the first invalid or inconsistent field."""

    def need(cond: bool, msg: str) -> None:
        if not cond:
            raise ConfigError(msg)

    for name in ("sample_rate", "channels", "dimension", "n_filters", "kernel_size",
                 "last_kernel_size", "residual_kernel_size", "dilation_base", "compress",
                 "bins", "n_q"):
        v = getattr(cfg, name)
        need(isinstance(v, int) and not isinstance(v, bool) and v >= 1,
             f"{name}={v!r}: must be a positive integer")
    need(cfg.n_residual_layers >= 0, f"n_residual_layers={cfg.n_residual_layers}: must be >= 0")
    need(cfg.lstm >= 0, f"lstm={cfg.lstm}: must be >= 0")
    need(len(cfg.ratios) >= 1, "ratios=(): at least one ratio is needed")
    need(all(r >= 1 for r in cfg.ratios), f"ratios={cfg.ratios}: every ratio must be >= 1")
    need(_is_pow2(cfg.bins), f"bins={cfg.bins}: must be a power of two (codes are packed in "
         f"log2(bins) bits)")
    need(cfg.norm in NORMS, f"norm={cfg.norm!r}: must be one of {sorted(NORMS)}")
    need(cfg.pad_mode in PAD_MODES, f"pad_mode={cfg.pad_mode!r}: must be one of "
         f"{sorted(PAD_MODES)}")
    need(not (cfg.causal and cfg.norm == "time_group_norm"),
         "norm='time_group_norm' with causal=True: GroupNorm over time looks at future "
         "samples, so it cannot be causal")
    need(0.0 <= cfg.trim_right_ratio <= 1.0,
         f"trim_right_ratio={cfg.trim_right_ratio}: must be in [0, 1]")
    need(cfg.causal or cfg.trim_right_ratio == 1.0,
         f"trim_right_ratio={cfg.trim_right_ratio} on a non-causal model: only causal "
         "transposed convolutions may trim asymmetrically")
    need(not (cfg.renormalize and cfg.causal),
         "renormalize=True with causal=True: the scale depends on the whole chunk, which a "
         "streaming (causal) model cannot see")
    need(cfg.dimension % 1 == 0 and cfg.n_filters // cfg.compress >= 1,
         f"n_filters={cfg.n_filters} with compress={cfg.compress}: residual hidden width "
         "would be 0")
    need(all(b > 0 for b in cfg.target_bandwidths),
         f"target_bandwidths={cfg.target_bandwidths}: every bandwidth must be > 0")
    need(list(cfg.target_bandwidths) == sorted(cfg.target_bandwidths),
         f"target_bandwidths={cfg.target_bandwidths}: must be increasing")
    if cfg.target_bandwidths:
        top = cfg.target_bandwidths[-1]
        need(n_q_for_bandwidth(cfg, top) <= cfg.n_q,
             f"target_bandwidths={cfg.target_bandwidths}: the top bandwidth needs "
             f"{n_q_for_bandwidth(cfg, top)} codebooks but n_q={cfg.n_q}")
    if cfg.segment is not None:
        need(cfg.segment > 0, f"segment={cfg.segment}: must be > 0 seconds or None")
        need(0.0 <= cfg.overlap < 1.0, f"overlap={cfg.overlap}: must be in [0, 1)")
        need(cfg.segment_length >= 1, f"segment={cfg.segment}: shorter than one sample")


def chunk_overrun_length(segment_length: int, stride: int, hop: int) -> int | None:
    """An input length (a few chunks long) for which an earlier decoded chunk
    ends after the last decoded chunk, or None if no length does.

    Each chunk decodes to ceil(len / hop) * hop samples. The original package and transformers
    size the overlap-add output by the LAST chunk and crash at such lengths (for the released
    48 kHz model: 190241 samples, among others); the reference sizes it by the furthest end.
    Checked for every residue of the length modulo the stride.
    """
    import numpy as np

    window = -(-segment_length // stride) + 1  # chunks that can still overlap the tail
    m = window + 1
    u = np.arange(1, stride + 1)
    length = m * stride + u

    def end(k: int) -> np.ndarray:
        n = np.minimum(segment_length, length - k * stride)
        return k * stride + hop * -(-n // hop)

    total = end(m)
    for k in range(max(0, m - window), m):
        over = end(k) > total
        if over.any():
            return int(length[over.argmax()])
    return None


def n_q_for_bandwidth(cfg: EncodecConfig, bandwidth: float) -> int:
    """Codebooks for a bandwidth (kbps): max(1, floor(bw*1000 / (frame_rate*log2(bins))))."""
    if not (bandwidth > 0 and math.isfinite(bandwidth)):
        raise ConfigError(f"bandwidth={bandwidth!r}: must be a positive number of kbps")
    bw_per_q = cfg.codebook_frame_rate * cfg.bits_per_codebook
    return int(max(1, math.floor(bandwidth * 1000 / bw_per_q)))


def n_q_for_bandwidth_encodec_pypi(cfg: EncodecConfig, bandwidth: float) -> int:
    """The codebook count as the PyPI `encodec` 0.1.1 evaluates it: floor(bw / (bits*fr/1000)).

    Mathematically equal to `n_q_for_bandwidth`, but the other float order can land one below
    an exact step (0.051 / 0.017 = 2.9999999999999996); later upstream code uses bw*1000 first.
    """
    return int(max(1, math.floor(bandwidth / (cfg.bits_per_codebook * cfg.codebook_frame_rate
                                              / 1000))))


def bandwidth_for_n_q(cfg: EncodecConfig, n_q: int) -> float:
    """The smallest round bandwidth (kbps, 6 decimals) that selects exactly `n_q` codebooks
    under every float evaluation order in use (the spec's, PyPI encodec's, and transformers'
    `1000*bw // (fr*bits)`), so no implementation can read it as n_q - 1."""
    bw = round(n_q * cfg.bandwidth_per_codebook, 6)
    bits_per_second = cfg.codebook_frame_rate * cfg.bits_per_codebook
    while min(n_q_for_bandwidth(cfg, bw), n_q_for_bandwidth_encodec_pypi(cfg, bw),
              int(1000 * bw // bits_per_second)) < n_q:  # transformers' num_quantizers form
        bw = round(bw + 1e-6, 6)
    return bw
