"""Hostile configs: whatever a config.json or xp.cfg holds (wrong types, huge or negative
numbers, NaN, nesting, missing fields), loading either succeeds with a model that matches the
weights or raises one of the project's errors naming the file and the field. Nothing else
escapes, nothing hangs, nothing allocates a model the weights do not describe."""

from __future__ import annotations

import json
import math
import warnings

import pytest
import torch
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.checkpoints.audiocraft_config import to_audiocraft_dict
from conformance.checkpoints.hf_config import to_hf_dict
from conformance.checkpoints.load import load_checkpoint
from conformance.checkpoints.write import write_audiocraft, write_hf
from conformance.errors import CheckpointWarning, ConformanceError
from conformance.testing.weights import random_model
from tests.configs import CHECKPOINT_24

HF_FIELDS = sorted(to_hf_dict(CHECKPOINT_24))

hostile_values = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70),
    st.sampled_from([0, -1, 1, 2**31, 10**12, math.nan, math.inf, -math.inf, 1e308, -0.0]),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.lists(st.integers(-10, 10**9), max_size=6), st.lists(st.text(max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=3),
    st.just([[[[1]]]]), st.just(["8", "5", "4", "2"]), st.just([8.5, 5, 4, 2]),
)


@pytest.fixture(scope="module")
def state():
    return random_model(CHECKPOINT_24, 0).state_dict()


def _loads_or_names(path, label: str) -> None:
    """Load `path`: accepted with a strictly loaded model, or refused by a project error that
    names the file or the config."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CheckpointWarning)
            loaded = load_checkpoint(path)
    except ConformanceError as exc:
        text = str(exc)
        assert label in text or "config" in text.lower(), text
        assert exc.exit_code in (1, 2)
        return
    assert set(loaded.model.state_dict()) == set(loaded.state_dict)


@settings(max_examples=40)
@given(st.dictionaries(st.sampled_from(HF_FIELDS), hostile_values, min_size=1, max_size=4),
       st.sets(st.sampled_from(HF_FIELDS), max_size=3))
def test_hostile_config_json_is_accepted_or_refused_by_name(tmp_path_factory, state, changes,
                                                            dropped):
    out = tmp_path_factory.mktemp("hf")
    write_hf(out, CHECKPOINT_24, state)
    cfg = json.loads((out / "config.json").read_text())
    cfg.update(changes)
    for key in dropped:
        cfg.pop(key, None)
    (out / "config.json").write_text(json.dumps(cfg, allow_nan=True))
    _loads_or_names(out, "config.json")


@settings(max_examples=40)
@given(st.dictionaries(st.sampled_from(["sample_rate", "channels", "seanet.ratios",
                                        "seanet.n_filters", "seanet.dimension",
                                        "seanet.lstm", "seanet.norm", "seanet.kernel_size",
                                        "seanet.causal", "rvq.n_q", "rvq.bins",
                                        "rvq.dimension", "encodec.segment",
                                        "encodec.renormalize", "compression_model"]),
                       hostile_values, min_size=1, max_size=4))
def test_hostile_xp_cfg_is_accepted_or_refused_by_name(tmp_path_factory, state, changes):
    cfg = to_audiocraft_dict(CHECKPOINT_24)
    for dotted, value in changes.items():
        node = cfg
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {}) if isinstance(node.get(p, {}), dict) else {}
        node[leaf] = value
    try:
        yaml.safe_dump(cfg)
    except yaml.YAMLError:
        return
    path = write_audiocraft(tmp_path_factory.mktemp("ac") / "m.th", CHECKPOINT_24, state,
                            xp_cfg=cfg)
    _loads_or_names(path, "xp.cfg")


def test_a_config_that_would_build_a_giant_model_is_refused_before_allocating(tmp_path,
                                                                              state):
    write_hf(tmp_path, CHECKPOINT_24, state)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["codebook_size"] = 2**40
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ConformanceError, match="codebook_size"):
        load_checkpoint(tmp_path)
    assert torch.get_num_threads() >= 1  # still alive, nothing allocated
