"""Configurations of the four released EnCodec families."""

from __future__ import annotations

from conformance.model.config import EncodecConfig

__all__ = ["AUDIOGEN_16KHZ", "ENCODEC_24KHZ", "ENCODEC_32KHZ", "ENCODEC_48KHZ", "PRESETS",
           "get_preset"]

#: 24 kHz mono, causal, 32 codebooks of 1024 (original package + facebook/encodec_24khz).
ENCODEC_24KHZ = EncodecConfig(
    name="encodec_24khz",
    sample_rate=24000, channels=1, causal=True, norm="weight_norm", n_filters=32,
    ratios=(8, 5, 4, 2), bins=1024, n_q=32, target_bandwidths=(1.5, 3.0, 6.0, 12.0, 24.0),
    true_skip=False, pad_mode="reflect", renormalize=False, segment=None,
)

#: 48 kHz stereo, non-causal, time_group_norm, renormalised 1 s chunks with 1% overlap.
ENCODEC_48KHZ = EncodecConfig(
    name="encodec_48khz",
    sample_rate=48000, channels=2, causal=False, norm="time_group_norm", n_filters=32,
    ratios=(8, 5, 4, 2), bins=1024, n_q=16, target_bandwidths=(3.0, 6.0, 12.0, 24.0),
    true_skip=False, pad_mode="reflect", renormalize=True, segment=1.0, overlap=0.01,
)

#: 32 kHz MusicGen codec (facebook/encodec_32khz). Its HF config.json says pad_mode 'reflect';
#: AudioCraft's default yaml says 'constant' -- a checkpoint's own config decides (see README).
ENCODEC_32KHZ = EncodecConfig(
    name="encodec_32khz",
    sample_rate=32000, channels=1, causal=False, norm="weight_norm", n_filters=64,
    ratios=(8, 5, 4, 4), bins=2048, n_q=4, target_bandwidths=(2.2,),
    true_skip=True, pad_mode="reflect", renormalize=False, segment=None,
)

#: AudioCraft's 16 kHz AudioGen codec (encodec_large_nq4_s320; AudioCraft yaml pad 'constant').
AUDIOGEN_16KHZ = EncodecConfig(
    name="audiogen_16khz",
    sample_rate=16000, channels=1, causal=False, norm="weight_norm", n_filters=64,
    ratios=(8, 5, 4, 2), bins=2048, n_q=4, target_bandwidths=(),
    true_skip=True, pad_mode="constant", renormalize=False, segment=None,
)

PRESETS: dict[str, EncodecConfig] = {
    c.name: c for c in (ENCODEC_24KHZ, ENCODEC_48KHZ, ENCODEC_32KHZ, AUDIOGEN_16KHZ)
}


def get_preset(name: str) -> EncodecConfig:
    """The preset config called `name` (KeyError lists the known names)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}") from None
