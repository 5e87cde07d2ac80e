"""Config validation (errors name the field), the released presets and their bandwidth tables."""

from __future__ import annotations

import math

import pytest

from conformance.model.config import ConfigError, EncodecConfig, n_q_for_bandwidth
from conformance.model.encodec import EncodecModel
from conformance.model.presets import PRESETS, get_preset


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












def test_unknown_fields_refused():
    with pytest.raises(ConfigError, match="unknown"):
        EncodecConfig.from_dict({"sample_rate": 24000, "sampling_rate": 24000})
    cfg = PRESETS["encodec_48khz"]
    assert EncodecConfig.from_dict(cfg.to_dict()) == cfg
