"""Hypothesis strategies for EnCodec configs and inputs -- the only place tests get them from.

Configs are small (few filters, short ratios) so a model builds and runs in milliseconds, but they
cover every structural option: causal or not, every norm, reflect/constant padding, 0..2 residual
layers, 0..2 LSTM layers, conv or identity shortcut, any number of ratios, renormalisation and
chunking.
"""

from __future__ import annotations

import math

from hypothesis import assume
from hypothesis import strategies as st

from conformance.model.config import ConfigError, EncodecConfig, bandwidth_for_n_q

__all__ = ["batch_sizes", "config_and_length", "configs", "configs_with_lstm", "lengths",
           "preset_variants", "seeds", "weight_norm_styles"]


@st.composite
def configs(draw, *, hf_compatible: bool = False, causal: bool | None = None,
            chunked: bool | None = None, max_ratios: int = 3) -> EncodecConfig:
    """A valid, small EnCodec config.

    `hf_compatible` keeps to what transformers can build (an LSTM, weight/time-group norm).
    `causal` / `chunked` force those properties when not None.
    """
    is_causal = draw(st.booleans()) if causal is None else causal
    if chunked:
        if causal:
            raise ValueError("a chunked config cannot be causal")
        is_causal = False
    norms = ["weight_norm"] if hf_compatible else ["weight_norm", "none"]
    if not is_causal:
        norms.append("time_group_norm")
    norm = draw(st.sampled_from(norms))
    ratios = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=max_ratios)))
    if norm == "time_group_norm" and math.prod(ratios) == 1:
        ratios = ratios + (2,)  # mono output of one hop=1 frame would be a single value
    hop = math.prod(ratios)
    sample_rate = draw(st.one_of(st.integers(1, 200).map(lambda f: f * hop),
                                 st.integers(800, 48000)))
    compress = draw(st.sampled_from([1, 2]))
    # GroupNorm needs more than one value: keep every width >= 2 under time_group_norm
    n_filters = draw(st.integers(2 if norm == "time_group_norm" else 1, 4)) * compress
    bins = 2 ** draw(st.integers(1, 6))
    n_q = draw(st.integers(1, 4))
    renormalize = False if is_causal else draw(st.booleans())
    want_chunks = (draw(st.booleans()) if chunked is None else chunked)
    segment = None
    overlap = 0.01
    if want_chunks and not is_causal:
        # a segment of a few hops, in seconds
        seg_samples = draw(st.integers(max(2, hop), 6 * hop))
        segment = seg_samples / sample_rate
        overlap = draw(st.sampled_from([0.0, 0.01, 0.1, 0.25]))
    lstm = draw(st.integers(1 if hf_compatible else 0, 2))
    trim = 1.0 if not is_causal else draw(st.sampled_from([1.0, 1.0, 0.5, 0.0]))
    if hf_compatible:
        trim = 1.0 if not is_causal else trim
    kwargs = dict(
        name="hypothesis",
        sample_rate=sample_rate,
        channels=draw(st.integers(1, 2)),
        dimension=draw(st.integers(2, 12)),
        n_filters=n_filters,
        n_residual_layers=draw(st.integers(0, 2)),
        ratios=ratios,
        kernel_size=draw(st.integers(1, 7)),
        last_kernel_size=draw(st.integers(1, 7)),
        residual_kernel_size=draw(st.integers(1, 5)),
        dilation_base=draw(st.integers(1, 3)),
        causal=is_causal,
        norm=norm,
        pad_mode=draw(st.sampled_from(["reflect", "constant"])),
        true_skip=draw(st.booleans()),
        compress=compress,
        lstm=lstm,
        trim_right_ratio=trim,
        bins=bins,
        n_q=n_q,
        target_bandwidths=(),
        renormalize=renormalize,
        segment=segment,
        overlap=overlap,
    )
    try:
        base = EncodecConfig(**kwargs)
    except ConfigError:  # keep to valid configs
        assume(False)
    # a ladder of bandwidths selecting an increasing subset of codebook counts (always the top)
    counts = sorted(set(draw(st.lists(st.integers(1, n_q), max_size=3))) | {n_q})
    ladder = tuple(bandwidth_for_n_q(base, k) for k in counts)
    if hf_compatible or draw(st.booleans()):
        return base.replace(target_bandwidths=ladder)
    return base


def lengths(cfg: EncodecConfig, max_hops: int = 12) -> st.SearchStrategy[int]:
    """Input lengths in samples: below one hop, odd, exact multiples of the hop, and a few
    chunks long for chunked configs."""
    hop = cfg.hop_length
    top = max_hops * hop
    low = 2 if cfg.norm == "time_group_norm" else 1  # GroupNorm of a single value is undefined
    if cfg.segment_length is not None:
        top = max(top, 3 * cfg.segment_length + 1)
    return st.one_of(
        st.integers(low, max(low, hop - 1)),
        st.integers(low, top),
        st.integers(1, max_hops).map(lambda k: max(low, k * hop)),
        st.integers(0, max_hops).map(lambda k: k * hop + 1).filter(lambda n: n >= low),
    )


@st.composite
def config_and_length(draw, **config_kwargs) -> tuple[EncodecConfig, int]:
    cfg = draw(configs(**config_kwargs))
    return cfg, draw(lengths(cfg))


seeds = st.integers(0, 2**16)
batch_sizes = st.integers(1, 3)


# ------------------------------------------------------------------ checkpoint keys and configs
#: The two spellings of weight-norm tensors in transformers checkpoints.
weight_norm_styles = st.sampled_from(["weight_g", "parametrizations"])


def configs_with_lstm(**config_kwargs) -> st.SearchStrategy[EncodecConfig]:
    """`configs(...)` with at least one LSTM layer: every such config has a Hugging Face key
    layout (even norm 'none', which transformers cannot build but whose names are defined)."""
    return configs(**config_kwargs).map(lambda c: c if c.lstm else c.replace(lstm=1))


@st.composite
def preset_variants(draw, names: tuple[str, ...] | None = None) -> EncodecConfig:
    """A released family's config (same channels, norm, ratios, causality, chunking) with
    small, drawn widths and codebooks -- what a fine-tuned or shrunk checkpoint looks like."""
    from conformance.model.presets import PRESETS

    preset = PRESETS[draw(st.sampled_from(sorted(names or PRESETS)))]
    compress = draw(st.sampled_from([1, 2]))
    return preset.replace(
        # GroupNorm needs more than one value per group
        n_filters=draw(st.integers(2 if preset.norm == "time_group_norm" else 1, 3)) * compress,
        compress=compress,
        dimension=draw(st.integers(2, 8)),
        n_residual_layers=draw(st.integers(0, 2)),
        lstm=draw(st.integers(1, 2)),
        bins=2 ** draw(st.integers(1, 5)),
        n_q=draw(st.integers(1, 4)),
        target_bandwidths=(),
    )
