"""transformers' config.json: round trips, defaults, and what it cannot express."""

from __future__ import annotations

import pytest
from hypothesis import given

from conformance.checkpoints.hf_config import from_hf_dict, to_hf_dict
from conformance.model.config import ConfigError
from conformance.model.presets import PRESETS
from conformance.testing.strategies import configs


@given(configs(hf_compatible=True))
def test_hf_config_round_trip(cfg):
    hf = to_hf_dict(cfg)
    assert all(isinstance(b, float) for b in hf["target_bandwidths"])
    assert hf["use_conv_shortcut"] is (not cfg.true_skip)
    back = from_hf_dict(hf)
    assert back == cfg


def test_hf_defaults_fill_missing_fields():
    """A config.json without use_conv_shortcut (as on the Hub for 24/48 kHz) means True."""
    cfg = from_hf_dict({"sampling_rate": 24000, "target_bandwidths": [1.5, 3.0, 6.0, 12.0, 24.0]})
    assert cfg == PRESETS["encodec_24khz"]
    with pytest.raises(ConfigError, match="codebook_dim"):
        from_hf_dict({"codebook_dim": 64, "hidden_size": 128})


def test_hf_cannot_express_models_without_lstm():
    with pytest.raises(ConfigError, match="LSTM"):
        to_hf_dict(PRESETS["encodec_24khz"].replace(lstm=0))
