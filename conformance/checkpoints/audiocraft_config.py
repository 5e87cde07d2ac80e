"""AudioCraft's `xp.cfg` for EnCodec (`sample_rate`, `channels`, `encodec.*`, `seanet.*`,
`rvq.*`) and the conversion from and to the canonical `EncodecConfig`.

AudioCraft has no bandwidth ladder and never chunks; a conversion through this format keeps
those two in an `encodec_conformance` section that AudioCraft does not read.
"""

from __future__ import annotations

from typing import Any

from conformance.errors import ConfigError
from conformance.model.config import EncodecConfig

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
    """Build a config from an AudioCraft `xp.cfg` mapping (already parsed to plain dicts)."""
    for section in ("seanet", "rvq"):
        if not isinstance(ac.get(section), dict):
            raise ConfigError(f"xp.cfg has no '{section}' section: not an EnCodec config")
    model_kind = ac.get("compression_model", "encodec")
    if model_kind != "encodec":
        raise ConfigError(f"compression_model={model_kind!r}: only 'encodec' is supported")
    sn, rvq = ac["seanet"], ac["rvq"]
    enc = ac.get("encodec") or {}
    dec_over = sn.get("decoder") or {}
    enc_over = sn.get("encoder") or {}
    if sn.get("disable_norm_outer_blocks", 0):
        raise ConfigError("seanet.disable_norm_outer_blocks != 0 is not supported")
    if sn.get("activation", "ELU") != "ELU" or (sn.get("activation_params") or {}).get(
            "alpha", 1.0) != 1.0:
        raise ConfigError(f"seanet.activation={sn.get('activation')!r} "
                          f"{sn.get('activation_params')}: only ELU(alpha=1) is supported")
    if dec_over.get("final_activation"):
        raise ConfigError(f"seanet.decoder.final_activation={dec_over['final_activation']!r}: "
                          "not supported (no released model has one)")

    def pick(key: str, default: Any = None) -> Any:
        return enc_over.get(key, sn.get(key, default))

    causal = enc.get("causal", pick("causal", False))
    kw = dict(
        sample_rate=int(enc.get("sample_rate", ac.get("sample_rate"))),
        channels=int(enc.get("channels", ac.get("channels", pick("channels", 1)))),
        dimension=int(pick("dimension")),
        n_filters=int(pick("n_filters")),
        n_residual_layers=int(pick("n_residual_layers")),
        ratios=tuple(pick("ratios")),
        kernel_size=int(pick("kernel_size", 7)),
        last_kernel_size=int(pick("last_kernel_size", 7)),
        residual_kernel_size=int(pick("residual_kernel_size", 3)),
        dilation_base=int(pick("dilation_base", 2)),
        causal=bool(causal),
        norm=str(pick("norm", "none")),
        pad_mode=str(pick("pad_mode", "reflect")),
        true_skip=bool(pick("true_skip", True)),
        compress=int(pick("compress", 2)),
        lstm=int(pick("lstm", 0)),
        trim_right_ratio=float(dec_over.get("trim_right_ratio", 1.0)),
        bins=int(rvq["bins"]),
        n_q=int(rvq["n_q"]),
        target_bandwidths=(),
        renormalize=bool(enc.get("renormalize", enc.get("renorm", False))),
        segment=None,
        overlap=0.0,
    )
    extra = ac.get("encodec_conformance") or {}
    if extra:
        kw["segment"] = None if extra.get("segment") is None else float(extra["segment"])
        kw["overlap"] = float(extra.get("overlap") or 0.0)
        kw["target_bandwidths"] = tuple(extra.get("target_bandwidths") or ())
    return EncodecConfig(name=name, **kw)
