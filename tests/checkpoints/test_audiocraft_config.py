"""AudioCraft's xp.cfg: round trips and the options it refuses."""

from __future__ import annotations

import pytest
from hypothesis import given

from conformance.checkpoints.audiocraft_config import from_audiocraft_dict, to_audiocraft_dict
from conformance.model.config import ConfigError
from conformance.model.presets import PRESETS
from conformance.testing.strategies import configs


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


def test_audiocraft_unsupported_options_are_refused():
    ac = to_audiocraft_dict(PRESETS["encodec_32khz"])
    ac["seanet"]["disable_norm_outer_blocks"] = 1
    with pytest.raises(ConfigError, match="disable_norm_outer_blocks"):
        from_audiocraft_dict(ac)
    with pytest.raises(ConfigError, match="seanet"):
        from_audiocraft_dict({"rvq": {}})
