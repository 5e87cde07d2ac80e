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
from conformance.model.config import EncodecConfig

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
    """Build a config from a transformers `config.json` dict (missing fields take HF defaults)."""
    merged = {**HF_DEFAULTS, **{k: v for k, v in hf.items() if k in HF_DEFAULTS}}
    kw = {canon: merged[hf_key] for hf_key, canon in HF_FIELDS.items()}
    kw["true_skip"] = not bool(merged["use_conv_shortcut"])
    kw["n_q"] = hf_num_quantizers(merged)
    cd = merged.get("codebook_dim")
    if cd is not None and cd != merged["hidden_size"]:
        raise ConfigError(f"codebook_dim={cd} differs from hidden_size={merged['hidden_size']}: "
                          "EnCodec has no codebook projection")
    if merged["num_lstm_layers"] is None:
        raise ConfigError("num_lstm_layers=None: must be an integer")
    chunk = merged.get("chunk_length_s")
    kw["segment"] = None if chunk is None else float(chunk)
    ov = merged.get("overlap")
    kw["overlap"] = 0.0 if ov is None else float(ov)
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
