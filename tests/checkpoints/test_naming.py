"""Naming the tensors from their key names alone: both key styles, both weight-norm spellings,
transposed convolutions found without a config, and what is not an EnCodec name."""

from __future__ import annotations

import pytest
from hypothesis import given

from conformance.checkpoints.keymap import expected_hf_keys, expected_keys, map_state_dict
from conformance.checkpoints.naming import (
    detect_key_style,
    hf_name,
    name_tensors,
    rename_to_canonical,
    respell,
    weight_g_spelling,
)
from conformance.errors import KeyStyleError
from conformance.model.encodec import EncodecModel
from conformance.testing.strategies import configs, configs_with_lstm, weight_norm_styles


@given(configs_with_lstm(), weight_norm_styles)
def test_hf_names_become_canonical_without_a_config(cfg, style):
    canonical = EncodecModel(cfg).state_dict()
    hf, report = map_state_dict(canonical, "canonical", "hf", cfg, weight_norm=style)
    assert report.ok
    named = name_tensors(hf)
    assert named.style == "hf" and not named.unknown and not named.duplicates
    assert list(named.state_dict) == list(canonical)  # the same keys, in the same order
    assert all(named.state_dict[k] is hf[src] for src, k in named.renamed)
    respelled = {k for k in hf if ".parametrizations.weight." in k}
    assert {src for src, _ in named.respelled} <= respelled


@given(configs_with_lstm(), weight_norm_styles)
def test_every_canonical_key_has_the_layouts_hf_name(cfg, style):
    assert [hf_name(k, style) for k in expected_keys(cfg)] == list(expected_hf_keys(cfg, style))


@given(configs())
def test_canonical_names_stay_and_parametrizations_are_respelled(cfg):
    canonical = EncodecModel(cfg).state_dict()
    param = {respell(k, "parametrizations"): v for k, v in canonical.items()}
    named = name_tensors(param)
    assert named.style == "canonical" and list(named.state_dict) == list(canonical)
    wn = sum(k.endswith((".weight_g", ".weight_v")) for k in canonical)
    assert len(named.respelled) == wn == len(named.renamed)


def test_transposed_convs_are_every_decoder_conv_but_the_first_and_last():
    keys = ["decoder.layers.0.conv.weight", "decoder.layers.1.lstm.weight_ih_l0",
            "decoder.layers.3.conv.weight_g", "decoder.layers.4.block.1.conv.weight",
            "decoder.layers.6.conv.bias", "decoder.layers.6.norm.weight",
            "decoder.layers.9.conv.weight", "quantizer.layers.0.codebook.embed"]
    names = rename_to_canonical(keys)
    assert names["decoder.layers.0.conv.weight"] == "decoder.model.0.conv.conv.weight"
    assert names["decoder.layers.3.conv.weight_g"] == "decoder.model.3.convtr.convtr.weight_g"
    assert names["decoder.layers.6.norm.weight"] == "decoder.model.6.convtr.norm.weight"
    assert names["decoder.layers.9.conv.weight"] == "decoder.model.9.conv.conv.weight"
    assert names["decoder.layers.4.block.1.conv.weight"] == \
        "decoder.model.4.block.1.conv.conv.weight"
    assert names["quantizer.layers.0.codebook.embed"] == "quantizer.vq.layers.0._codebook.embed"


def test_unknown_names_are_kept_and_listed_duplicates_reported():
    sd = {"encoder.model.0.conv.conv.weight_g": 1,
          "encoder.model.0.conv.conv.parametrizations.weight.original0": 2,
          "encoder.model.0.conv.oops": 3}
    named = name_tensors(sd)
    assert named.unknown == ["encoder.model.0.conv.oops"]
    assert named.state_dict["encoder.model.0.conv.oops"] == 3  # kept: reported later
    assert named.duplicates == [("encoder.model.0.conv.conv.weight_g",
                                 ["encoder.model.0.conv.conv.weight_g",
                                  "encoder.model.0.conv.conv.parametrizations.weight.original0"])]
    assert named.state_dict["encoder.model.0.conv.conv.weight_g"] == 1  # the first one wins


@pytest.mark.parametrize(("keys", "match"), [
    (["model.encoder.model.0.conv.conv.weight"], "no EnCodec keys.*wrapper prefix"),
    ([], r"no EnCodec keys.*\(no keys\)"),
    (["encoder.model.0.conv.conv.weight", "encoder.layers.0.conv.weight"], "mixed key styles"),
])
def test_key_style_errors(keys, match):
    with pytest.raises(KeyStyleError, match=match):
        detect_key_style(keys)


def test_spelling_helpers():
    key = "decoder.layers.3.conv.parametrizations.weight.original1"
    assert weight_g_spelling(key) == "decoder.layers.3.conv.weight_v"
    assert respell("decoder.layers.3.conv.weight_g", "parametrizations") == \
        "decoder.layers.3.conv.parametrizations.weight.original0"
    assert respell(key, "weight_g") == "decoder.layers.3.conv.weight_v"
    with pytest.raises(ValueError, match="weight_norm"):
        respell(key, "folded")
    with pytest.raises(ValueError, match="not a canonical"):
        hf_name("decoder.layers.3.conv.weight_g")
