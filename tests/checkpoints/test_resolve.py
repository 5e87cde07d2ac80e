"""Config resolution: every source of a field (the file's config, a preset, the file name, flags,
defaults) checked against what the weights imply; a contradiction names the field in the
source's own terms, and every value says where it came from."""

from __future__ import annotations

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from conformance.checkpoints.audiocraft_config import to_audiocraft_dict
from conformance.checkpoints.hf_config import HF_FIELDS, from_hf_dict, to_hf_dict
from conformance.checkpoints.infer import (
    NOT_FROM_WEIGHTS,
    STRUCTURAL_FIELDS,
    infer_from_weights,
)
from conformance.checkpoints.keymap import load_state_dict_strict
from conformance.checkpoints.resolve import resolve_config
from conformance.errors import ConfigConflictError, ConfigResolutionError
from conformance.model.config import ConfigError
from conformance.model.encodec import EncodecModel
from conformance.model.presets import PRESETS
from conformance.testing.strategies import configs, configs_with_lstm, preset_variants

#: Structural fields a config.json / xp.cfg can be made to contradict, and how.
_MUTATIONS = {
    "n_filters": lambda c: {"n_filters": c.n_filters * 2},
    "dimension": lambda c: {"dimension": c.dimension + 1},
    "n_residual_layers": lambda c: {"n_residual_layers": c.n_residual_layers + 1},
    "kernel_size": lambda c: {"kernel_size": c.kernel_size + 1},
    "last_kernel_size": lambda c: {"last_kernel_size": c.last_kernel_size + 1},
    "true_skip": lambda c: {"true_skip": not c.true_skip},
    "lstm": lambda c: {"lstm": 3 - c.lstm},
    "ratios": lambda c: {"ratios": c.ratios[::-1] if c.ratios[::-1] != c.ratios else
                         (c.ratios[0] + 1,) + c.ratios[1:], "target_bandwidths": ()},
}


def _weights(cfg) -> dict[str, torch.Tensor]:
    return EncodecModel(cfg).state_dict()


def _compress_equivalent(cfg, value: int) -> bool:
    widths = [cfg.n_filters * 2 ** r for r in range(len(cfg.ratios) + 1)]
    return all(w // value == w // cfg.compress for w in widths)


@given(configs_with_lstm(hf_compatible=True))
def test_resolve_from_hf_config(cfg):
    hf = to_hf_dict(cfg)
    sd = _weights(cfg)
    # a file name is only a hint for config-less files: this one must not matter
    r = resolve_config(infer_from_weights(sd)[0], hf, "hf", filename="encodec_48khz-7e698e3e.th")
    assert r.config == from_hf_dict(hf), r.format()
    assert not r.conflicts
    for key, source in r.provenance.items():
        if key in STRUCTURAL_FIELDS and (cfg.n_residual_layers or key not in (
                "compress", "residual_kernel_size", "true_skip")):
            assert source == "weights", (key, source)
        elif key in NOT_FROM_WEIGHTS:
            assert source == "config.json", (key, source)
    load_state_dict_strict(EncodecModel(r.config), sd)


@given(configs())
def test_resolve_from_audiocraft_config(cfg):
    r = resolve_config(infer_from_weights(_weights(cfg))[0], to_audiocraft_dict(cfg),
                       "audiocraft")
    assert r.config.replace(segment=cfg.segment, overlap=cfg.overlap,
                            target_bandwidths=cfg.target_bandwidths) == cfg
    assert {r.provenance[k] for k in ("sample_rate", "causal", "pad_mode")} == {"xp.cfg"}


def _show(value) -> str:
    return repr(list(value)) if isinstance(value, tuple) else repr(value)


@given(configs_with_lstm(hf_compatible=True), st.sampled_from(sorted(_MUTATIONS)),
       st.sampled_from(["hf", "audiocraft"]))
def test_file_config_contradicting_weights_is_an_error(cfg, field, kind):
    assume(field != "true_skip" or cfg.n_residual_layers > 0)  # no block, no shortcut to see
    wrong = cfg.replace(**_MUTATIONS[field](cfg))
    file_config = to_hf_dict(wrong) if kind == "hf" else to_audiocraft_dict(wrong)
    with pytest.raises(ConfigConflictError) as info:
        resolve_config(infer_from_weights(_weights(cfg))[0], file_config, kind)
    msg = str(info.value)
    # in the file's own terms: "upsampling_ratios [8, 5, 4, 4] in config.json, the weights
    # imply [8, 5, 4, 2]"
    claimed, implied = getattr(wrong, field), getattr(cfg, field)
    if kind == "hf":
        name = {**{c: h for h, c in HF_FIELDS.items()}, "true_skip": "use_conv_shortcut",
                "n_q": "target_bandwidths"}[field]
        if field == "true_skip":
            claimed, implied = not claimed, not implied
        if field == "n_q":
            claimed = file_config["target_bandwidths"]
    else:
        name = {"bins": "rvq.bins", "n_q": "rvq.n_q"}.get(field, f"seanet.{field}")
    where = "config.json" if kind == "hf" else "xp.cfg"
    assert f"{name} {_show(claimed)} in {where}" in msg, msg
    tail = f"{implied} codebooks" if field == "n_q" else _show(implied)
    prefix = "use_conv_shortcut " if field == "true_skip" and kind == "hf" else ""
    assert f", the weights imply {prefix}{tail}" in msg, msg


@given(configs_with_lstm(hf_compatible=True), st.sampled_from(sorted(_MUTATIONS)))
def test_flag_contradicting_weights_is_an_error(cfg, field):
    assume(field != "true_skip" or cfg.n_residual_layers > 0)
    change = {k: v for k, v in _MUTATIONS[field](cfg).items() if k == field}
    with pytest.raises(ConfigConflictError, match=f"{field}=.* given as an override, the "
                       "weights imply"):
        resolve_config(infer_from_weights(_weights(cfg))[0], to_hf_dict(cfg), "hf",
                       overrides=change)


@given(configs_with_lstm(hf_compatible=True))
def test_precedence_flag_over_file_over_preset(cfg):
    pad = "constant" if cfg.pad_mode == "reflect" else "reflect"
    weights = infer_from_weights(_weights(cfg))[0]
    r = resolve_config(weights, to_hf_dict(cfg), "hf", overrides={"pad_mode": pad})
    assert (r.config.pad_mode, r.provenance["pad_mode"]) == (pad, "flag")
    assert any(c.startswith("pad_mode: flag says") for c in r.conflicts)
    assert r.config.sample_rate == cfg.sample_rate
    assert r.provenance["sample_rate"] == "config.json"


@given(configs_with_lstm(hf_compatible=True).filter(lambda c: c.true_skip
                                                     and c.n_residual_layers > 0))
def test_hf_default_shortcut_against_shortcut_free_weights(cfg):
    """The first facebook/encodec_32khz config.json had no use_conv_shortcut=false."""
    hf = to_hf_dict(cfg)
    del hf["use_conv_shortcut"]
    with pytest.raises(ConfigConflictError,
                       match=r"use_conv_shortcut True in config.json \(transformers' default: "
                       r"the file does not set it\), the weights imply use_conv_shortcut False"):
        resolve_config(infer_from_weights(_weights(cfg))[0], hf, "hf")


def test_resolve_argument_errors():
    weights = infer_from_weights(_weights(PRESETS["encodec_24khz"].replace(n_q=2,
                                                                           target_bandwidths=())))[0]
    with pytest.raises(ConfigError, match="file_config_kind"):
        resolve_config(weights, {"sampling_rate": 24000})
    with pytest.raises(ConfigError, match="unknown config field.*sampling_rate"):
        resolve_config(weights, overrides={"sampling_rate": 1})
    with pytest.raises(ConfigError, match="unknown preset"):
        resolve_config(weights, preset="encodec_99khz")


@given(preset_variants(("encodec_24khz",)))
def test_th_24khz_by_filename_and_by_weights(cfg):
    weights = infer_from_weights(_weights(cfg))[0]
    for filename, label in (("encodec_24khz-d7cc33bc.th", "filename"),
                            ("model.th", "weights-family:encodec_24khz")):
        r = resolve_config(weights, filename=filename)
        assert (r.config.sample_rate, r.config.causal, r.config.segment) == (24000, True, None)
        assert r.provenance["sample_rate"] == label and r.provenance["n_filters"] == "weights"
        assert r.config.name == "encodec_24khz"
        assert r.config.n_q == cfg.n_q and r.config.bins == cfg.bins
        assert any(a.startswith("family:") for a in r.ambiguities) == (filename == "model.th")
        load_state_dict_strict(EncodecModel(r.config), _weights(cfg))


@given(preset_variants(("encodec_48khz",)))
def test_th_48khz_stereo_group_norm(cfg):
    weights = infer_from_weights(_weights(cfg))[0]
    for filename in ("encodec_48khz-7e698e3e.th", None):
        c = resolve_config(weights, filename=filename).config
        assert (c.sample_rate, c.channels, c.causal, c.renormalize) == (48000, 2, False, True)
        assert (c.segment, c.overlap) == (1.0, 0.01)
        assert (c.n_filters, c.dimension, c.n_q) == (cfg.n_filters, cfg.dimension, cfg.n_q)


@given(preset_variants(("encodec_24khz",)), preset_variants(("encodec_48khz",)))
def test_th_filename_contradicting_weights(mono, stereo):
    with pytest.raises(ConfigConflictError) as info:
        resolve_config(infer_from_weights(_weights(stereo))[0],
                       filename="/ckpt/encodec_24khz-d7cc33bc.th")
    msg = str(info.value)
    assert "the file name '/ckpt/encodec_24khz-d7cc33bc.th' (preset encodec_24khz) " \
           "says channels=1, the weights imply 2" in msg
    assert "norm='weight_norm', the weights imply 'time_group_norm'" in msg
    with pytest.raises(ConfigConflictError, match="channels=2, the weights imply 1"):
        resolve_config(infer_from_weights(_weights(mono))[0], filename="encodec_48khz-x.th")


@given(preset_variants(("encodec_32khz", "audiogen_16khz")))
def test_no_family_needs_a_preset(cfg):
    """Mono weight_norm without shortcut convs is an AudioCraft model, not the 24 kHz one."""
    assume(cfg.n_residual_layers > 0)  # without residual blocks the shortcut cannot be seen
    weights = infer_from_weights(_weights(cfg))[0]
    with pytest.raises(ConfigResolutionError, match="cannot determine sample_rate, causal.*"
                       "Pass preset=<name>") as info:
        resolve_config(weights, filename="compression_state_dict.th")
    assert "structure: audiogen_16khz" in str(info.value) or "structure: encodec_32khz" in str(
        info.value) or "no preset has this structure" in str(info.value)
    r = resolve_config(weights, preset=cfg.name)
    assert r.config.sample_rate == cfg.sample_rate
    assert r.provenance["sample_rate"] == f"preset:{cfg.name}"
    assert any("pad_mode" in a and "no config in the file" in a for a in r.ambiguities)


@given(preset_variants(("encodec_24khz",)))
def test_preset_width_differences_are_reported(cfg):
    r = resolve_config(infer_from_weights(_weights(cfg))[0], preset="encodec_24khz")
    assert any(c.startswith("preset:encodec_24khz says n_filters=32, the weights imply "
                            f"{cfg.n_filters}; using the weights' value") for c in r.conflicts)
    assert r.provenance["n_filters"] == "weights"


@given(preset_variants(("encodec_24khz",)))
def test_family_ladder_trimmed_to_weights(cfg):
    r = resolve_config(infer_from_weights(_weights(cfg))[0])
    assert r.config.bandwidths[-1] <= cfg.replace(target_bandwidths=()).bandwidths[-1]
    assert any(c.startswith("target_bandwidths: weights-family") for c in r.conflicts)


def test_32khz_pad_mode_ambiguity_names_the_checkpoints_own_config():
    p32 = PRESETS["encodec_32khz"]
    weights = infer_from_weights(_weights(p32))[0]
    hf = resolve_config(weights, to_hf_dict(p32), "hf")
    assert hf.config == p32
    assert any("'reflect'" in a and "'constant'" in a and "own config.json says 'reflect'" in a
               for a in hf.ambiguities), hf.ambiguities
    ac = resolve_config(weights, to_audiocraft_dict(p32.replace(pad_mode="constant")),
                        "audiocraft")
    assert ac.config.pad_mode == "constant" and ac.provenance["pad_mode"] == "xp.cfg"
    assert any("own xp.cfg says 'constant'" in a for a in ac.ambiguities), ac.ambiguities
    no_pad = to_hf_dict(p32)
    del no_pad["pad_mode"]
    r = resolve_config(weights, no_pad, "hf")
    assert r.provenance["pad_mode"] == "config.json (transformers default)"
    assert any("does not set it" in a for a in r.ambiguities)
