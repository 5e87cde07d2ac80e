"""AudioCraft's `xp.cfg` for EnCodec (`sample_rate`, `channels`, `encodec.*`, `seanet.*`,
`rvq.*`) and the conversion from and to the canonical `EncodecConfig`.

AudioCraft has no bandwidth ladder and never chunks; a conversion through this format keeps
those two in an `encodec_conformance` section that AudioCraft does not read.
"""

from __future__ import annotations

from typing import Any

from conformance.errors import ConfigError
from conformance.model.config import EncodecConfig, coerce_field

__all__ = ["CANONICAL_TO_AUDIOCRAFT", "from_audiocraft_dict", "to_audiocraft_dict"]

#: canonical field -> where an `xp.cfg` holds it (for messages in the file's terms).
CANONICAL_TO_AUDIOCRAFT: dict[str, str] = {
    "sample_rate": "sample_rate", "channels": "channels", "causal": "encodec.causal",
    "renormalize": "encodec.renormalize", "bins": "rvq.bins", "n_q": "rvq.n_q",
    "trim_right_ratio": "seanet.decoder.trim_right_ratio",
    "segment": "encodec_conformance.segment", "overlap": "encodec_conformance.overlap",
    "target_bandwidths": "encodec_conformance.target_bandwidths",
    **{name: f"seanet.{name}" for name in (
        "dimension", "n_filters", "n_residual_layers", "ratios", "kernel_size",
        "last_kernel_size", "residual_kernel_size", "dilation_base", "norm", "pad_mode",
        "true_skip", "compress", "lstm")},
}

def to_audiocraft_dict(cfg: EncodecConfig) -> dict[str, Any]:
    """AudioCraft `xp.cfg` fields: `sample_rate`, `channels`, `encodec.*`, `seanet.*`, `rvq.*`."""
    return {
        "sample_rate": cfg.sample_rate,
        "channels": cfg.channels,
        "compression_model": "encodec",
        "encodec": {
            "autoencoder": "seanet",
            "quantizer": "rvq",
            "sample_rate": cfg.sample_rate,
            "channels": cfg.channels,
            "causal": cfg.causal,
            "renormalize": cfg.renormalize,
        },
        "seanet": {
            "dimension": cfg.dimension,
            "channels": cfg.channels,
            "causal": cfg.causal,
            "n_filters": cfg.n_filters,
            "n_residual_layers": cfg.n_residual_layers,
            "ratios": list(cfg.ratios),
            "activation": "ELU",
            "activation_params": {"alpha": 1.0},
            "norm": cfg.norm,
            "norm_params": {},
            "kernel_size": cfg.kernel_size,
            "residual_kernel_size": cfg.residual_kernel_size,
            "last_kernel_size": cfg.last_kernel_size,
            "dilation_base": cfg.dilation_base,
            "pad_mode": cfg.pad_mode,
            "true_skip": cfg.true_skip,
            "compress": cfg.compress,
            "lstm": cfg.lstm,
            "disable_norm_outer_blocks": 0,
            "encoder": {},
            "decoder": {
                "trim_right_ratio": cfg.trim_right_ratio,
                "final_activation": None,
                "final_activation_params": None,
            },
        },
        "rvq": {
            "n_q": cfg.n_q,
            "q_dropout": False,
            "bins": cfg.bins,
            "decay": 0.99,
            "kmeans_init": True,
            "kmeans_iters": 50,
            "threshold_ema_dead_code": 2,
            "orthogonal_reg_weight": 0.0,
            "orthogonal_reg_active_codes_only": False,
        },
        # Not read by AudioCraft (which never chunks and has no bandwidth ladder); kept so a
        # conversion through this format loses nothing.
        "encodec_conformance": {
            "segment": cfg.segment,
            "overlap": cfg.overlap,
            "target_bandwidths": list(cfg.target_bandwidths),
        },
    }


def from_audiocraft_dict(ac: dict[str, Any], name: str = "audiocraft") -> EncodecConfig:
    """Build a config from an AudioCraft `xp.cfg` mapping (already parsed to plain dicts).

    Every value is checked before anything is computed from it: a wrong type, a non-finite,
    zero, negative or absurd value is a ConfigError naming the xp.cfg field.
    """
    if not isinstance(ac, dict):
        raise ConfigError(f"xp.cfg holds a {type(ac).__name__}, not a mapping")
    for section in ("seanet", "rvq"):
        if not isinstance(ac.get(section), dict):
            raise ConfigError(f"xp.cfg has no '{section}' section: not an EnCodec config")
    model_kind = ac.get("compression_model", "encodec")
    if model_kind != "encodec":
        raise ConfigError(f"xp.cfg field compression_model={model_kind!r}: only 'encodec' is "
                          "supported")
    sn, rvq = ac["seanet"], ac["rvq"]
    enc, dec_over, enc_over = (_section(ac, "encodec"), _section(sn, "seanet.decoder"),
                               _section(sn, "seanet.encoder"))
    if sn.get("disable_norm_outer_blocks", 0):
        raise ConfigError("xp.cfg field seanet.disable_norm_outer_blocks != 0 is not supported")
    params = sn.get("activation_params") or {}
    if sn.get("activation", "ELU") != "ELU" or not isinstance(params, dict) or params.get(
            "alpha", 1.0) != 1.0:
        raise ConfigError(f"xp.cfg field seanet.activation={sn.get('activation')!r} "
                          f"{params}: only ELU(alpha=1) is supported")
    if dec_over.get("final_activation"):
        raise ConfigError(f"xp.cfg field seanet.decoder.final_activation="
                          f"{dec_over['final_activation']!r}: not supported (no released model "
                          "has one)")
    kw: dict[str, Any] = {}

    def take(canon: str, *places: tuple[dict, str, str], default: Any = _MISSING) -> None:
        for where, key, path in places:
            if key in where:
                kw[canon] = coerce_field(canon, where[key], f"xp.cfg field {path}")
                return
        if default is _MISSING:
            raise ConfigError(f"xp.cfg has no {places[-1][2]}: it is needed to build the model")
        kw[canon] = coerce_field(canon, default, f"the default of {places[-1][2]}")

    def seanet(canon: str, default: Any = _MISSING, key: str | None = None) -> None:
        key = key or canon
        take(canon, (enc_over, key, f"seanet.encoder.{key}"), (sn, key, f"seanet.{key}"),
             default=default)

    take("sample_rate", (enc, "sample_rate", "encodec.sample_rate"),
         (ac, "sample_rate", "sample_rate"))
    take("channels", (enc, "channels", "encodec.channels"), (ac, "channels", "channels"),
         (sn, "channels", "seanet.channels"), default=1)
    for canon in ("dimension", "n_filters", "n_residual_layers", "ratios"):
        seanet(canon)
    for canon, default in (("kernel_size", 7), ("last_kernel_size", 7),
                           ("residual_kernel_size", 3), ("dilation_base", 2), ("norm", "none"),
                           ("pad_mode", "reflect"), ("true_skip", True), ("compress", 2),
                           ("lstm", 0)):
        seanet(canon, default)
    take("causal", (enc, "causal", "encodec.causal"), (enc_over, "causal", "seanet.encoder."
                                                       "causal"),
         (sn, "causal", "seanet.causal"), default=False)
    take("trim_right_ratio", (dec_over, "trim_right_ratio", "seanet.decoder.trim_right_ratio"),
         default=1.0)
    take("bins", (rvq, "bins", "rvq.bins"))
    take("n_q", (rvq, "n_q", "rvq.n_q"))
    take("renormalize", (enc, "renormalize", "encodec.renormalize"),
         (enc, "renorm", "encodec.renorm"), default=False)
    kw.update(target_bandwidths=(), segment=None, overlap=0.0)
    extra = _section(ac, "encodec_conformance")
    if extra:
        take("segment", (extra, "segment", "encodec_conformance.segment"), default=None)
        take("overlap", (extra, "overlap", "encodec_conformance.overlap"), default=0.0)
        take("target_bandwidths", (extra, "target_bandwidths",
                                   "encodec_conformance.target_bandwidths"), default=())
    return EncodecConfig(name=name, **kw)


_MISSING = object()


def _section(parent: dict[str, Any], path: str) -> dict[str, Any]:
    value = parent.get(path.rsplit(".", 1)[-1])
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"xp.cfg field {path}={value!r}: must be a mapping")
    return value
