"""The small configs the tests run on, in one place.

`small(family, **changes)` is a released family's structure (channels, norm, ratios, causality,
chunking, pad mode, shortcut) with the widths narrowed so a model builds and runs in
milliseconds; each test states what else it changes. The named configs below are the ones
several tests share. Random configs come from `conformance.testing.strategies`, never from here.
"""

from __future__ import annotations

from conformance.model.config import EncodecConfig
from conformance.model.presets import PRESETS

#: The width every small config uses (the released models use 32 or 64).
N_FILTERS = 4


def small(family: str | EncodecConfig, *, dimension: int = 8, **changes) -> EncodecConfig:
    """`family` (a preset name or a config) with n_filters=4, a small latent dimension and
    `changes`."""
    cfg = PRESETS[family] if isinstance(family, str) else family
    return cfg.replace(**{"n_filters": N_FILTERS, "dimension": dimension, **changes})


#: Checkpoint files of every format: 4 codebooks of 16 entries, hop 8 (builds in ~0.1 s).
CHECKPOINT_24 = small("encodec_24khz", bins=16, n_q=4, ratios=(4, 2), lstm=1,
                      target_bandwidths=(24.0, 48.0), name="small_24khz")
#: The model API at 24 kHz: 8 codebooks of 1024, the three lowest rungs of the ladder.
LADDER_24 = small("encodec_24khz", bins=1024, n_q=8, target_bandwidths=(1.5, 3.0, 6.0))
#: The model API at 48 kHz: chunks of 50 ms, so a short input has several.
CHUNKED_48 = small("encodec_48khz", bins=1024, n_q=4, target_bandwidths=(3.0, 6.0),
                   segment=0.05)
#: Breakers and golden manifests: one config per kind of model (causal, no shortcut, GroupNorm).
BREAKER_CONFIGS: dict[str, EncodecConfig] = {
    "causal24": small("encodec_24khz", dimension=16, bins=64, n_q=4,
                      target_bandwidths=(0.9, 1.8)),
    "noncausal32": small("encodec_32khz", dimension=16, bins=64, n_q=4,
                         target_bandwidths=(0.6, 1.2)),
    "groupnorm48": small("encodec_48khz", dimension=16, bins=64, n_q=4,
                         target_bandwidths=(1.8, 3.6)),
}
#: Training: 8 kHz, hop 8, 4 codebooks of 16.
TRAINING_8K = EncodecConfig(sample_rate=8000, channels=1, n_filters=N_FILTERS, dimension=8,
                            ratios=(4, 2), lstm=1, bins=16, n_q=4, target_bandwidths=(),
                            causal=True, norm="weight_norm", name="tiny")
