"""Key layouts: generated names equal the model's, HF <-> canonical is a bijection, and every
kind of mismatch is reported by name (the static-noise bug: renamed keys loaded with
strict=False)."""

from __future__ import annotations

import json

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from conformance.checkpoints.keymap import (
    KeyMappingError,
    UnknownKeyError,
    canonical_to_hf_key,
    expected_hf_keys,
    expected_keys,
    fold_weight_norm,
    hf_to_canonical_key,
    load_state_dict_strict,
    map_state_dict,
)
from conformance.checkpoints.naming import detect_key_style
from conformance.errors import KeyStyleError
from conformance.model.config import ConfigError
from conformance.model.conv import WeightNormConv1d
from conformance.model.encodec import EncodecModel
from conformance.testing.strategies import configs, configs_with_lstm, weight_norm_styles

_PARAM = ".parametrizations.weight.original"


def _model_shapes(cfg) -> list[tuple[str, tuple[int, ...]]]:
    return [(k, tuple(v.shape)) for k, v in EncodecModel(cfg).state_dict().items()]


def _fake_sd(shapes: dict[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    return {k: torch.zeros(s) for k, s in shapes.items()}


# ---------------------------------------------------------------------------------- layouts
@given(configs())
def test_expected_keys_equal_model_state_dict(cfg):
    assert list(expected_keys(cfg).items()) == _model_shapes(cfg), f"[{cfg}]"


@given(configs_with_lstm(), weight_norm_styles)
def test_hf_mapping_is_a_bijection_and_round_trips(cfg, style):
    canon = expected_keys(cfg)
    hf = {k: canonical_to_hf_key(k, cfg, weight_norm=style) for k in canon}
    assert len(set(hf.values())) == len(canon), f"two canonical keys share an HF name [{cfg}]"
    assert {hf[k]: s for k, s in canon.items()} == expected_hf_keys(cfg, style)
    for k, h in hf.items():
        assert hf_to_canonical_key(h, cfg) == k, f"{h} -> {hf_to_canonical_key(h, cfg)} != {k}"


@given(configs_with_lstm())
def test_hf_weight_norm_spellings_are_aliases(cfg):
    plain = expected_hf_keys(cfg, "weight_g")
    param = expected_hf_keys(cfg, "parametrizations")
    assert list(plain.values()) == list(param.values())
    for a, b in zip(plain, param, strict=True):
        assert hf_to_canonical_key(a, cfg) == hf_to_canonical_key(b, cfg)
        assert (a == b) == (_PARAM not in b)


@given(configs_with_lstm())
def test_hf_transposed_convs_are_named_conv(cfg):
    tr = [k for k in expected_keys(cfg) if ".convtr." in k]
    assert len(tr) >= len(cfg.ratios) * 2
    for k in tr:
        h = canonical_to_hf_key(k, cfg)
        assert ".convtr" not in h and h.startswith("decoder.layers."), h


@given(configs().filter(lambda c: c.lstm == 0))
def test_hf_cannot_represent_lstm_0(cfg):
    with pytest.raises(ConfigError, match="lstm=0"):
        expected_hf_keys(cfg)
    key = next(iter(expected_keys(cfg)))
    with pytest.raises(ConfigError, match="lstm=0"):
        canonical_to_hf_key(key, cfg)
    with pytest.raises(ConfigError, match="lstm=0"):
        map_state_dict({}, "canonical", "hf", cfg)


@given(configs_with_lstm())
def test_unknown_keys_raise(cfg):
    n2 = cfg.n_residual_layers + 2
    beyond = n2 * len(cfg.ratios) + 10
    for key in (f"encoder.model.{beyond}.conv.conv.bias", f"quantizer.vq.layers.{cfg.n_q}."
                "_codebook.embed", "decoder.model.0.convtr.convtr.bias"):
        with pytest.raises(UnknownKeyError, match="not a canonical key"):
            canonical_to_hf_key(key, cfg)
    with pytest.raises(UnknownKeyError, match="not a Hugging Face key"):
        hf_to_canonical_key("decoder.layers.0.convtr.bias", cfg)


# ---------------------------------------------------------------------------------- mapping
@given(configs_with_lstm(), weight_norm_styles)
def test_map_state_dict_round_trip_keeps_tensors(cfg, style):
    sd = EncodecModel(cfg).state_dict()
    hf, report = map_state_dict(sd, "canonical", "hf", cfg, weight_norm=style)
    assert report.ok, report.format()
    assert list(hf) == list(expected_hf_keys(cfg, style))
    n_wn = sum(k.endswith((".weight_g", ".weight_v")) for k in sd)
    assert len(report.spelling_only) == (n_wn if style == "parametrizations" else 0)
    back, report2 = map_state_dict(hf, "hf", "canonical", cfg)
    assert report2.ok, report2.format()
    assert list(back) == list(sd)
    assert all(back[k] is sd[k] for k in sd)
    assert len(report2.spelling_only) == len(report.spelling_only)


@given(configs_with_lstm(), st.data())
def test_map_state_dict_accounts_for_every_key(cfg, data):
    """Whatever is renamed, dropped or added, no key vanishes from the report."""
    hf = _fake_sd(expected_hf_keys(cfg, "weight_g"))
    keys = sorted(hf)
    dropped = data.draw(st.lists(st.sampled_from(keys), unique=True, max_size=3))
    renamed = data.draw(st.lists(st.sampled_from(keys), unique=True, max_size=3))
    for k in dropped:
        hf.pop(k, None)
    for k in renamed:
        if k in hf:
            hf["bogus." + k] = hf.pop(k)
    out, report = map_state_dict(hf, "hf", "canonical", cfg)
    assert {s for s, _ in report.mapped} | set(report.unexpected) == set(hf)
    assert set(out) | set(report.missing) == set(expected_keys(cfg))
    assert set(report.unexpected) == {k for k in hf if k.startswith("bogus.")}
    assert report.ok == (not dropped and not renamed)


@given(configs_with_lstm())
def test_every_key_renamed_is_an_error_naming_every_key(cfg):
    """The static-noise case: HF names loaded into the canonical model."""
    model = EncodecModel(cfg)
    hf = {canonical_to_hf_key(k, cfg): v for k, v in model.state_dict().items()}
    with pytest.raises(KeyMappingError) as info:
        load_state_dict_strict(model, hf)
    msg = str(info.value)
    for k in list(hf) + list(expected_keys(cfg)):
        assert f"  - {k}\n" in msg + "\n", f"{k} not named in the error"
    assert "static-noise" in msg and "map_state_dict(sd, 'hf', 'canonical'" in msg
    assert len(info.value.report.missing) == len(hf) == len(info.value.report.unexpected)


@given(configs())
def test_one_missing_key(cfg):
    model = EncodecModel(cfg)
    sd = model.state_dict()
    gone = list(sd)[len(sd) // 2]
    del sd[gone]
    with pytest.raises(KeyMappingError, match=f"missing \\(1\\).*\n  - {gone}") as info:
        load_state_dict_strict(model, sd)
    assert info.value.report.missing == [gone] and not info.value.report.unexpected
    _, report = map_state_dict(sd, "canonical", "canonical", cfg)
    assert report.missing == [gone] and not report.ok


@given(configs())
def test_one_unexpected_key(cfg):
    model = EncodecModel(cfg)
    sd = dict(model.state_dict())
    sd["encoder.model.0.conv.conv.weight_q"] = torch.zeros(1)
    with pytest.raises(KeyMappingError, match="unexpected \\(1\\)") as info:
        load_state_dict_strict(model, sd)
    assert info.value.report.unexpected == ["encoder.model.0.conv.conv.weight_q"]
    assert not info.value.report.missing


@given(configs())
def test_one_transposed_weight(cfg):
    """A convtr weight stored as [out, in, k] instead of [in, out, k]."""
    model = EncodecModel(cfg)
    sd = dict(model.state_dict())
    key = next(k for k in sd if ".convtr.convtr.weight" in k and k.endswith(("_v", "weight")))
    want = tuple(sd[key].shape)
    sd[key] = sd[key].transpose(0, 1).contiguous()
    with pytest.raises(KeyMappingError, match="shape mismatches \\(1\\)") as info:
        load_state_dict_strict(model, sd)
    got = (want[1], want[0], want[2])
    assert info.value.report.shape_mismatches == [(key, got, want)]
    assert f"{key}: shape={got}, but should be {want}" in str(info.value)
    assert "swapped" in str(info.value)


@given(configs_with_lstm(hf_compatible=True).filter(lambda c: c.norm == "weight_norm"))
def test_duplicate_weight_norm_spellings(cfg):
    hf = dict(map_state_dict(EncodecModel(cfg).state_dict(), "canonical", "hf", cfg)[0])
    g_key = next(k for k in hf if k.endswith(".weight_g"))
    param_key = g_key[: -len("weight_g")] + "parametrizations.weight.original0"
    hf[param_key] = hf[g_key].clone()
    out, report = map_state_dict(hf, "hf", "canonical", cfg)
    canon = hf_to_canonical_key(g_key, cfg)
    assert report.duplicates == [(canon, [g_key, param_key])]
    assert out[canon] is hf[g_key], "the first source is kept"
    assert not report.ok and f"{canon} <- {g_key}, {param_key}" in report.format()


@given(configs_with_lstm())
def test_report_to_dict_is_json(cfg):
    sd = _fake_sd(expected_keys(cfg))
    key = next(iter(sd))
    sd[key] = torch.zeros(1, 2, 3, 4)
    sd["extra"] = torch.zeros(1)
    _, report = map_state_dict(sd, "canonical", "hf", cfg, weight_norm="parametrizations")
    d = json.loads(json.dumps(report.to_dict()))
    assert d["ok"] is False and d["unexpected"] == ["extra"]
    assert d["shape_mismatches"][0][:2] == [key, [1, 2, 3, 4]]


# ---------------------------------------------------------------------------- key styles
@given(configs_with_lstm())
def test_detect_key_style(cfg):
    canon = expected_keys(cfg)
    hf = expected_hf_keys(cfg)
    assert detect_key_style(canon) == "canonical"
    assert detect_key_style(hf) == "hf"
    with pytest.raises(KeyStyleError, match="mixed"):
        detect_key_style([*canon, *hf])
    with pytest.raises(KeyStyleError, match="'module.'"):
        detect_key_style(["module." + k for k in canon])


# ---------------------------------------------------------------------------- weight norm
@given(configs_with_lstm().filter(lambda c: c.norm == "weight_norm"))
def test_fold_weight_norm_matches_modules(cfg):
    model = EncodecModel(cfg)
    folded = fold_weight_norm(model.state_dict())
    assert not any(k.endswith(("weight_g", "weight_v")) for k in folded)
    for name, module in model.named_modules():
        if isinstance(module, WeightNormConv1d):
            assert torch.equal(folded[f"{name}.weight"], module.weight.detach())
    hf = map_state_dict(model.state_dict(), "canonical", "hf", cfg,
                        weight_norm="parametrizations")[0]
    folded_hf = fold_weight_norm(hf)
    assert not any("parametrizations" in k for k in folded_hf)
    assert len(folded_hf) == len(folded)
    for g_key in (k for k in model.state_dict() if k.endswith(".weight_g")):
        hf_g = canonical_to_hf_key(g_key, cfg)  # weight_g spelling
        w_key = g_key[: -len("weight_g")] + "weight"
        assert torch.equal(folded_hf[hf_g[: -len("weight_g")] + "weight"], folded[w_key])
