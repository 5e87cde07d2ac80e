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

__all__ = ["FIELD_KINDS", "LIMITS", "MAX_PARAMETERS", "NORMS", "PAD_MODES", "EncodecConfig",
           "bandwidth_for_n_q", "chunk_overrun_length", "coerce_field", "n_q_for_bandwidth",
           "n_q_for_bandwidth_encodec_pypi", "parameter_count", "validate"]

NORMS = frozenset({"none", "weight_norm", "time_group_norm"})
PAD_MODES = frozenset({"reflect", "constant", "replicate", "circular"})

#: The type of each field: "int+" (>= 1), "int0" (>= 0), "ints" (a non-empty list of ints
#: >= 1), "bool", "norm", "pad_mode", "unit" (a float in [0, 1]), "seconds" (> 0 or None),
#: "kbps" (a list of floats > 0).
FIELD_KINDS: dict[str, str] = {
    "sample_rate": "int+", "channels": "int+", "dimension": "int+", "n_filters": "int+",
    "n_residual_layers": "int0", "ratios": "ints", "kernel_size": "int+",
    "last_kernel_size": "int+", "residual_kernel_size": "int+", "dilation_base": "int+",
    "causal": "bool", "norm": "norm", "pad_mode": "pad_mode", "true_skip": "bool",
    "compress": "int+", "lstm": "int0", "trim_right_ratio": "unit", "bins": "int+",
    "n_q": "int+", "target_bandwidths": "kbps", "renormalize": "bool", "segment": "seconds",
    "overlap": "unit",
}
#: Upper bounds far beyond any EnCodec, so a hostile config cannot ask for unbounded memory or
#: time (the released models: 48 kHz, 2 channels, 128 dims, 64 filters, 2048 bins, 32 stages).
LIMITS: dict[str, float] = {
    "sample_rate": 1_000_000, "channels": 16, "dimension": 8192, "n_filters": 4096,
    "n_residual_layers": 32, "ratios": 1024, "kernel_size": 1024, "last_kernel_size": 1024,
    "residual_kernel_size": 1024, "dilation_base": 64, "compress": 1024, "lstm": 32,
    "bins": 1 << 20, "n_q": 1024, "target_bandwidths": 1e6, "segment": 3600.0,
}
#: At most this many ratios.
MAX_RATIOS = 16
#: A config whose model would hold more parameters than this is refused (about 4 GB float32).
MAX_PARAMETERS = 1_000_000_000


def _is_int(v: Any) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or (
        isinstance(v, float) and math.isfinite(v) and v.is_integer())


def coerce_field(name: str, value: Any, label: str | None = None) -> Any:
    """`value` as field `name` holds it, or ConfigError naming the field (as `label`, e.g.
    "config.json field upsampling_ratios") and what was expected."""
    kind = FIELD_KINDS[name]
    label = label or name
    limit = LIMITS.get(name)

    def bad(expected: str) -> ConfigError:
        shown = repr(value)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        return ConfigError(f"{label}={shown}: must be {expected}")

    if kind in ("int+", "int0"):
        low = 1 if kind == "int+" else 0
        if not _is_int(value) or value < low or (limit is not None and value > limit):
            raise bad(f"an integer in [{low}, {int(limit):,}]" if limit else
                      f"an integer >= {low}")
        return int(value)
    if kind == "ints":
        if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= MAX_RATIOS or not all(
                _is_int(r) and 1 <= r <= limit for r in value):
            raise bad(f"a list of 1 to {MAX_RATIOS} integers in [1, {int(limit):,}]")
        return tuple(int(r) for r in value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind in ("norm", "pad_mode"):
        allowed = NORMS if kind == "norm" else PAD_MODES
        if not isinstance(value, str) or value not in allowed:
            raise bad(f"one of {sorted(allowed)}")
        return value
    if kind == "unit":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                math.isfinite(value) and 0.0 <= value <= 1.0):
            raise bad("a number in [0, 1]")
        return float(value)
    if kind == "seconds":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                math.isfinite(value) and 0.0 < value <= limit):
            raise bad(f"null or a number of seconds in (0, {limit:g}]")
        return float(value)
    if kind == "kbps":
        if not isinstance(value, (list, tuple)) or len(value) > 1024 or not all(
                not isinstance(b, bool) and isinstance(b, (int, float)) and math.isfinite(b)
                and 0.0 < b <= limit for b in value):
            raise bad(f"a list of bandwidths in (0, {limit:g}] kbps")
        return tuple(float(b) for b in value)
    raise AssertionError(kind)  # pragma: no cover - FIELD_KINDS covers every kind


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
        for name in FIELD_KINDS:
            object.__setattr__(self, name, coerce_field(name, getattr(self, name)))
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

    for name in FIELD_KINDS:  # types and bounds (a no-op for a constructed config)
        coerce_field(name, getattr(cfg, name))
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
    need(cfg.n_filters * 2 ** len(cfg.ratios) <= 1 << 16,
         f"n_filters={cfg.n_filters} with {len(cfg.ratios)} ratios: the widest layer would "
         f"have {cfg.n_filters * 2 ** len(cfg.ratios)} channels (at most 65536)")
    need(math.prod(cfg.ratios) <= 1 << 24, f"ratios={list(cfg.ratios)}: a hop of "
         f"{math.prod(cfg.ratios)} samples (at most {1 << 24})")
    count = parameter_count(cfg)
    need(count <= MAX_PARAMETERS, f"the config describes a model of {count:,} parameters "
         f"({count * 4 / 1e9:.1f} GB float32), more than the {MAX_PARAMETERS:,} this tool "
         "builds: check n_filters, dimension, bins, n_q, the kernel sizes and the ratios")


def parameter_count(cfg: EncodecConfig) -> int:
    """Number of values in the model's state dict (parameters and codebook buffers)."""
    from conformance.checkpoints.keymap import expected_keys

    return sum(math.prod(shape) for shape in expected_keys(cfg).values())


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
