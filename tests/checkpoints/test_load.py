"""Loading weights first, in one pass: read, name, infer, resolve, check, build -- each step
once; a config that contradicts the weights is named in the file's own terms."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from conformance.checkpoints import load as load_module
from conformance.checkpoints.keymap import map_state_dict
from conformance.checkpoints.load import load_checkpoint
from conformance.checkpoints.write import write_hf
from conformance.errors import ConfigConflictError, KeyMappingError
from conformance.testing.weights import random_model
from tests.configs import small

CFG = small("encodec_24khz", bins=64, n_q=4, target_bandwidths=(0.9, 1.8))  # ratios 8,5,4,2


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
    model = random_model(CFG, seed=1)
    return write_hf(tmp_path_factory.mktemp("hf") / "model", CFG, model.state_dict()), model


def _copy_with_config(hf_dir, tmp_path, **changes):
    files, _ = hf_dir
    out = tmp_path / "edited"
    out.mkdir()
    for f in files:
        (out / f.name).write_bytes(f.read_bytes())
    cfg = json.loads((out / "config.json").read_text())
    cfg.update(changes)
    (out / "config.json").write_text(json.dumps(cfg))
    return out


def test_a_config_contradicting_the_weights_is_named_in_the_files_terms(hf_dir, tmp_path):
    path = _copy_with_config(hf_dir, tmp_path, upsampling_ratios=[8, 5, 4, 4])
    with pytest.raises(ConfigConflictError) as err:
        load_checkpoint(path)
    assert "upsampling_ratios [8, 5, 4, 4] in config.json, the weights imply [8, 5, 4, 2]" \
        in str(err.value)


def test_several_contradictions_are_all_named(hf_dir, tmp_path):
    path = _copy_with_config(hf_dir, tmp_path, num_filters=8, num_lstm_layers=1)
    with pytest.raises(ConfigConflictError) as err:
        load_checkpoint(path)
    assert "num_filters 8 in config.json, the weights imply 4" in err.value.details
    assert "num_lstm_layers 1 in config.json, the weights imply 2" in err.value.details


def test_hf_names_load_without_a_config_json(hf_dir, tmp_path):
    """Naming needs no config: a bare transformers weights file loads with a preset."""
    _, model = hf_dir
    hf, _ = map_state_dict(model.state_dict(), "canonical", "hf", CFG)
    path = tmp_path / "weights.safetensors"
    save_file({k: v.contiguous() for k, v in hf.items()}, str(path))
    guessed = load_checkpoint(path)  # mono weight-norm convs with shortcuts: the 24 kHz family
    assert guessed.config.sample_rate == 24000 and guessed.named.style == "hf"
    assert any(a.startswith("family:") for a in guessed.resolved.ambiguities)
    loaded = load_checkpoint(path, preset="encodec_24khz")  # a preset settles it
    assert not any(a.startswith("family:") for a in loaded.resolved.ambiguities)
    assert all(torch.equal(loaded.model.state_dict()[k], v)
               for k, v in model.state_dict().items())


def test_a_missing_tensor_is_reported_under_the_files_own_name(hf_dir, tmp_path):
    files, _ = hf_dir
    out = _copy_with_config(hf_dir, tmp_path)
    from safetensors.torch import load_file
    sd = load_file(str(out / "model.safetensors"))
    del sd["decoder.layers.3.conv.weight_g"]
    save_file(sd, str(out / "model.safetensors"))
    with pytest.raises(KeyMappingError) as err:
        load_checkpoint(out)
    assert err.value.report.missing == ["decoder.layers.3.conv.weight_g"]


def test_each_step_runs_once(hf_dir, monkeypatch):
    calls: dict[str, int] = {}

    def counted(name, fn):
        def wrapper(*args, **kwargs):
            calls[name] = calls.get(name, 0) + 1
            return fn(*args, **kwargs)
        return wrapper

    for name in ("read_checkpoint", "name_tensors", "infer_from_weights", "resolve_config",
                 "compare_state_dict"):
        monkeypatch.setattr(load_module, name, counted(name, getattr(load_module, name)))
    from conformance.checkpoints import naming
    monkeypatch.setattr(naming, "detect_key_style",
                        counted("detect_key_style", naming.detect_key_style))
    files, _ = hf_dir
    load_checkpoint(files[0].parent)
    assert calls == {"read_checkpoint": 1, "name_tensors": 1, "detect_key_style": 1,
                     "infer_from_weights": 1, "resolve_config": 1, "compare_state_dict": 1}
