"""config.*: a config that contradicts the weights is named field by field; a file without a
config resolves from the weights and reports what it had to guess."""

from __future__ import annotations

import json
import shutil

import pytest

from conformance.checkpoints.write import write_hf
from conformance.errors import CheckpointWarning
from conformance.status import Status
from tests.checks.conftest import CFG, run, write


@pytest.fixture()
def hf_dir(tmp_path, model):
    write_hf(tmp_path / "hf", CFG, model.state_dict())
    return tmp_path / "hf"


def test_an_exported_checkpoint_resolves_from_weights_and_its_own_config(tmp_path, model):
    _, out = run(write(tmp_path, model.state_dict()), select={"config"})
    assert [o.status for o in out.values()] == [Status.PASSED] * 3
    assert "weights" in out["config.resolved"].reason
    assert "xp.cfg" in out["config.resolved"].reason


def test_a_config_json_contradicting_the_weights_names_the_field_and_both_values(hf_dir):
    path = hf_dir / "config.json"
    cfg = json.loads(path.read_text())
    cfg["upsampling_ratios"] = [8, 5, 4, 4]
    path.write_text(json.dumps(cfg))
    _, out = run(hf_dir, select={"load", "config"})
    bad = out["config.consistent"]
    assert bad.status is Status.FAILED
    assert bad.reason.startswith("upsampling_ratios [8, 5, 4, 4] in config.json, the weights "
                                 "imply [8, 5, 4, 2]")
    # nothing downstream pretends to have checked the keys against a wrong model
    assert out["load.keys"].status is Status.NOT_APPLICABLE
    assert out["config.resolved"].status is Status.NOT_APPLICABLE


def test_bare_weights_resolve_with_the_guess_reported_as_an_ambiguity(hf_dir, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(hf_dir / "model.safetensors", bare / "weights.safetensors")
    with pytest.warns(CheckpointWarning, match="no config.json next to the weights"):
        _, out = run(bare / "weights.safetensors", select={"load", "config"})
    assert out["config.consistent"].status is Status.PASSED
    amb = out["config.ambiguities"]
    assert amb.status is Status.PASSED and "1 reported" in amb.reason
    assert "family" in amb.details["warnings"][0]
