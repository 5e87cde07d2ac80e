"""Config validation, presets, and conversion to/from HF and AudioCraft field names."""

from __future__ import annotations

import math

import pytest
from hypothesis import given

from conformance.config import (
    ConfigError,
    EncodecConfig,
    from_audiocraft_dict,
    from_hf_dict,
    n_q_for_bandwidth,
    to_audiocraft_dict,
    to_hf_dict,
)
from conformance.model import EncodecModel
from conformance.presets import PRESETS, get_preset
from conformance.strategies import configs


@pytest.mark.parametrize("changes, field", [
    (dict(bins=1000), "bins"),
    (dict(causal=True, norm="time_group_norm"), "time_group_norm"),
    (dict(causal=False, trim_right_ratio=0.5), "trim_right_ratio"),
    (dict(causal=True, renormalize=True), "renormalize"),
    (dict(norm="layer_norm"), "norm"),
    (dict(pad_mode="zeros"), "pad_mode"),
    (dict(ratios=()), "ratios"),
    (dict(ratios=(8, 0, 2)), "ratios"),
    (dict(n_q=0), "n_q"),
    (dict(channels=0), "channels"),
    (dict(n_residual_layers=-1), "n_residual_layers"),
    (dict(target_bandwidths=(6.0, 3.0)), "target_bandwidths"),
    (dict(target_bandwidths=(48.0,)), "target_bandwidths"),
    (dict(segment=0.0), "segment"),
    (dict(segment=1.0, overlap=1.0, causal=False), "overlap"),
    (dict(trim_right_ratio=1.5), "trim_right_ratio"),
])
def test_invalid_configs_name_the_field(changes, field):
    with pytest.raises(ConfigError, match=field):
        EncodecConfig(**changes)


def test_presets_match_the_released_families():
    expected = {  # name: (sr, channels, hop, frame rate, n_q, bins, state-dict keys, ladder)
        "encodec_24khz": (24000, 1, 320, 75, 32, 1024, 252, (1.5, 3, 6, 12, 24)),
        "encodec_48khz": (48000, 2, 320, 150, 16, 1024, 224, (3, 6, 12, 24)),
        "encodec_32khz": (32000, 1, 640, 50, 4, 2048, 116, (2.2,)),
        "audiogen_16khz": (16000, 1, 320, 50, 4, 2048, 116, (0.55, 1.1, 1.65, 2.2)),
    }
    for name, (sr, ch, hop, fr, n_q, bins, n_keys, ladder) in expected.items():
        cfg = get_preset(name)
        assert (cfg.sample_rate, cfg.channels, cfg.hop_length, cfg.frame_rate, cfg.n_q,
                cfg.bins) == (sr, ch, hop, fr, n_q, bins), name
        assert cfg.bandwidths == pytest.approx(ladder), name
        assert len(EncodecModel(cfg).state_dict()) == n_keys, name
    with pytest.raises(KeyError, match="known"):
        get_preset("encodec_96khz")


def test_bandwidth_tables_of_the_released_models():
    """Spec tables: 24 kHz 1.5->2 ... 24->32; 48 kHz 3->2 ... 24->16; 32 kHz 2.2->4."""
    p = PRESETS
    assert [n_q_for_bandwidth(p["encodec_24khz"], b) for b in (1.5, 3, 6, 12, 24)] == [
        2, 4, 8, 16, 32]
    assert [n_q_for_bandwidth(p["encodec_48khz"], b) for b in (3, 6, 12, 24)] == [2, 4, 8, 16]
    assert n_q_for_bandwidth(p["encodec_32khz"], 2.2) == 4
    assert p["encodec_48khz"].segment_length == 48000
    assert p["encodec_48khz"].segment_stride == 47520
    with pytest.raises(ConfigError):
        n_q_for_bandwidth(p["encodec_24khz"], 0.0)
    with pytest.raises(ConfigError):
        n_q_for_bandwidth(p["encodec_24khz"], math.nan)


@given(configs(hf_compatible=True))
def test_hf_config_round_trip(cfg):
    hf = to_hf_dict(cfg)
    assert all(isinstance(b, float) for b in hf["target_bandwidths"])
    assert hf["use_conv_shortcut"] is (not cfg.true_skip)
    back = from_hf_dict(hf)
    assert back == cfg


@given(configs())
def test_audiocraft_config_round_trip(cfg):
    """Our xp.cfg carries chunking and the ladder in an extra section; a plain AudioCraft cfg
    (without it) has no ladder and no chunking."""
    ac = to_audiocraft_dict(cfg)
    assert from_audiocraft_dict(ac) == cfg
    del ac["encodec_conformance"]
    back = from_audiocraft_dict(ac)
    assert back == cfg.replace(target_bandwidths=(), segment=None, overlap=0.0)
    assert back.bandwidths[-1] == pytest.approx(cfg.n_q * cfg.bandwidth_per_codebook,
                                                rel=1e-5)


def test_hf_defaults_fill_missing_fields():
    """A config.json without use_conv_shortcut (as on the Hub for 24/48 kHz) means True."""
    cfg = from_hf_dict({"sampling_rate": 24000, "target_bandwidths": [1.5, 3.0, 6.0, 12.0, 24.0]})
    assert cfg == PRESETS["encodec_24khz"]
    with pytest.raises(ConfigError, match="codebook_dim"):
        from_hf_dict({"codebook_dim": 64, "hidden_size": 128})


def test_hf_cannot_express_models_without_lstm():
    with pytest.raises(ConfigError, match="LSTM"):
        to_hf_dict(PRESETS["encodec_24khz"].replace(lstm=0))


def test_audiocraft_unsupported_options_are_refused():
    ac = to_audiocraft_dict(PRESETS["encodec_32khz"])
    ac["seanet"]["disable_norm_outer_blocks"] = 1
    with pytest.raises(ConfigError, match="disable_norm_outer_blocks"):
        from_audiocraft_dict(ac)
    with pytest.raises(ConfigError, match="seanet"):
        from_audiocraft_dict({"rvq": {}})


def test_unknown_fields_refused():
    with pytest.raises(ConfigError, match="unknown"):
        EncodecConfig.from_dict({"sample_rate": 24000, "sampling_rate": 24000})
    cfg = PRESETS["encodec_48khz"]
    assert EncodecConfig.from_dict(cfg.to_dict()) == cfg
