"""transformers' `config.json` for EnCodec: its field names, its defaults, and the conversion
from and to the canonical `EncodecConfig`.

transformers names the fields differently (`upsampling_ratios` for `ratios`, `use_conv_shortcut`
for `not true_skip`, ...), derives the codebook count from `target_bandwidths`, and fills every
field a `config.json` leaves out with a default of its own (`HF_DEFAULTS`).
"""

from __future__ import annotations

import math
from typing import Any

from conformance.errors import ConfigError
from conformance.model.config import EncodecConfig, coerce_field

__all__ = ["CANONICAL_TO_HF", "HF_DEFAULTS", "HF_FIELDS", "HF_METADATA_FIELDS",
           "HF_PRE_RELEASE_FIELDS", "from_hf_dict", "hf_num_quantizers", "to_hf_dict"]

#: config.json field -> canonical field, for the fields that map one to one.
HF_FIELDS: dict[str, str] = {
    "sampling_rate": "sample_rate",
    "audio_channels": "channels",
    "hidden_size": "dimension",
    "num_filters": "n_filters",
    "num_residual_layers": "n_residual_layers",
    "upsampling_ratios": "ratios",
    "kernel_size": "kernel_size",
    "last_kernel_size": "last_kernel_size",
    "residual_kernel_size": "residual_kernel_size",
    "dilation_growth_rate": "dilation_base",
    "use_causal_conv": "causal",
    "norm_type": "norm",
    "pad_mode": "pad_mode",
    "compress": "compress",
    "num_lstm_layers": "lstm",
    "trim_right_ratio": "trim_right_ratio",
    "codebook_size": "bins",
    "normalize": "renormalize",
    "target_bandwidths": "target_bandwidths",
}
#: Defaults of transformers' EncodecConfig, used when a config.json omits a field.
HF_DEFAULTS: dict[str, Any] = {
    "target_bandwidths": [1.5, 3.0, 6.0, 12.0, 24.0],
    "sampling_rate": 24000,
    "audio_channels": 1,
    "normalize": False,
    "chunk_length_s": None,
    "overlap": None,
    "hidden_size": 128,
    "num_filters": 32,
    "num_residual_layers": 1,
    "upsampling_ratios": [8, 5, 4, 2],
    "norm_type": "weight_norm",
    "kernel_size": 7,
    "last_kernel_size": 7,
    "residual_kernel_size": 3,
    "dilation_growth_rate": 2,
    "use_causal_conv": True,
    "pad_mode": "reflect",
    "compress": 2,
    "num_lstm_layers": 2,
    "trim_right_ratio": 1.0,
    "codebook_size": 1024,
    "codebook_dim": None,
    "use_conv_shortcut": True,
}


def hf_num_quantizers(hf: dict[str, Any]) -> int:
    """transformers' derived `num_quantizers` for a config.json dict."""
    sr = hf.get("sampling_rate", HF_DEFAULTS["sampling_rate"])
    ratios = hf.get("upsampling_ratios", HF_DEFAULTS["upsampling_ratios"])
    bws = hf.get("target_bandwidths", HF_DEFAULTS["target_bandwidths"])
    bins = hf.get("codebook_size", HF_DEFAULTS["codebook_size"])
    frame_rate = math.ceil(sr / math.prod(ratios))
    return int(1000 * bws[-1] // (frame_rate * math.ceil(math.log2(bins))))


def from_hf_dict(hf: dict[str, Any], name: str = "hf") -> EncodecConfig:
    """Build a config from a transformers `config.json` dict (missing fields take HF defaults).

    Every value is checked before anything is computed from it: a wrong type, a non-finite,
    zero, negative or absurd value is a ConfigError naming the config.json field.
    """
    if not isinstance(hf, dict):
        raise ConfigError(f"config.json holds a {type(hf).__name__}, not an object of fields")
    merged = {**HF_DEFAULTS, **{k: v for k, v in hf.items() if k in HF_DEFAULTS}}

    def field(hf_key: str, canon: str) -> Any:
        return coerce_field(canon, merged[hf_key], f"config.json field {hf_key}")

    kw = {canon: field(hf_key, canon) for hf_key, canon in HF_FIELDS.items()}
    shortcut = merged["use_conv_shortcut"]
    if not isinstance(shortcut, bool):
        raise ConfigError(f"config.json field use_conv_shortcut={shortcut!r}: must be true or "
                          "false")
    kw["true_skip"] = not shortcut
    if not kw["target_bandwidths"]:
        raise ConfigError("config.json field target_bandwidths=[]: transformers needs at least "
                          "one bandwidth")
    kw["n_q"] = coerce_field("n_q", hf_num_quantizers({
        "sampling_rate": kw["sample_rate"], "upsampling_ratios": kw["ratios"],
        "target_bandwidths": kw["target_bandwidths"], "codebook_size": kw["bins"]}),
        "the codebook count transformers derives from config.json's target_bandwidths")
    cd = merged.get("codebook_dim")
    if cd is not None and cd != kw["dimension"]:
        raise ConfigError(f"config.json field codebook_dim={cd!r} differs from hidden_size="
                          f"{kw['dimension']}: EnCodec has no codebook projection")
    kw["segment"] = coerce_field("segment", merged.get("chunk_length_s"),
                                 "config.json field chunk_length_s")
    ov = merged.get("overlap")
    kw["overlap"] = 0.0 if ov is None else coerce_field("overlap", ov,
                                                        "config.json field overlap")
    return EncodecConfig(name=name, **kw)


def to_hf_dict(cfg: EncodecConfig) -> dict[str, Any]:
    """The transformers `config.json` fields for this config (bandwidths written as floats)."""
    if cfg.lstm < 1:
        raise ConfigError(f"lstm={cfg.lstm}: transformers always builds an LSTM, so a model "
                          "without one has no HF equivalent")
    out: dict[str, Any] = {}
    for hf_key, canon in HF_FIELDS.items():
        v = getattr(cfg, canon)
        out[hf_key] = list(v) if isinstance(v, tuple) else v
    out["target_bandwidths"] = [float(b) for b in cfg.bandwidths]
    out["use_conv_shortcut"] = not cfg.true_skip
    out["codebook_dim"] = cfg.dimension
    out["chunk_length_s"] = cfg.segment
    out["overlap"] = cfg.overlap if cfg.segment is not None else None
    out["model_type"] = "encodec"
    out["architectures"] = ["EncodecModel"]
    if hf_num_quantizers(out) != cfg.n_q:
        raise ConfigError(f"n_q={cfg.n_q} cannot be expressed in a HF config: its bandwidths "
                          f"{out['target_bandwidths']} imply {hf_num_quantizers(out)} codebooks")
    return out


#: canonical field -> the config.json field that holds it (for messages in the file's terms).
CANONICAL_TO_HF: dict[str, str] = {
    **{canon: hf_key for hf_key, canon in HF_FIELDS.items()},
    "true_skip": "use_conv_shortcut", "n_q": "target_bandwidths",
    "segment": "chunk_length_s", "overlap": "overlap",
}
#: config.json keys that describe the file, not the model.
HF_METADATA_FIELDS = frozenset({"model_type", "architectures", "torch_dtype", "dtype",
                                "transformers_version", "_name_or_path", "codebook_dim",
                                "chunk_length_s", "overlap"})
#: Field names of pre-release configs (e.g. early `Matthijs/encodec_48khz` revisions); current
#: transformers ignores them and uses its defaults instead.
HF_PRE_RELEASE_FIELDS = frozenset({"ratios", "dimension", "norm", "causal", "true_skip",
                                   "segment", "chunk_in_sec", "audio_normalize", "bins", "lstm",
                                   "dilation_base"})
