"""load.*: a good file passes; a hostile one is refused before anything runs; NaN weights, a
file whose keys were all renamed, and half-precision storage are each named."""

from __future__ import annotations

import os

import torch

from conformance.checks.engine import refused
from conformance.status import Status
from tests.checks.conftest import run, write


def test_a_good_checkpoint_passes_every_load_check(tmp_path, model):
    subject, out = run(write(tmp_path, model.state_dict()), select={"load"})
    assert {o.id: o.status for o in out.values()} == {
        "load.format": Status.PASSED, "load.safe_read": Status.PASSED,
        "load.finite": Status.PASSED, "load.keys": Status.PASSED, "load.dtype": Status.PASSED}
    assert "audiocraft-exported" in out["load.format"].reason
    n = len(model.state_dict())
    assert f"all {n} tensors map to the model exactly once" in out["load.keys"].reason
    assert not refused(subject)


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch /nonexistent-pwned",))


def test_a_hostile_pickle_is_refused_naming_the_global(tmp_path):
    path = tmp_path / "evil.th"
    torch.save({"best_state": _Evil()}, path)
    subject, out = run(path, select={"load", "config"})
    assert out["load.safe_read"].status is Status.FAILED
    assert "posix.system" in out["load.safe_read"].reason
    assert out["load.format"].status is Status.NOT_APPLICABLE
    assert {out[k].status for k in ("load.keys", "config.resolved")} == {Status.NOT_APPLICABLE}
    assert refused(subject)


def test_nan_weights_fail_load_finite_naming_the_tensor(tmp_path, model):
    state = dict(model.state_dict())
    state["decoder.model.0.conv.conv.bias"] = state["decoder.model.0.conv.conv.bias"].clone()
    state["decoder.model.0.conv.conv.bias"][3] = float("nan")
    subject, out = run(write(tmp_path, state), select={"load"})
    assert out["load.finite"].status is Status.FAILED
    assert "decoder.model.0.conv.conv.bias" in str(out["load.finite"].details)
    assert out["load.format"].status is Status.PASSED and refused(subject)


def test_every_key_renamed_fails_load_keys_naming_them(tmp_path, model):
    """The static-noise case: a non-strict load of this file would load nothing."""
    state = {f"module.{k}": v for k, v in model.state_dict().items()}
    subject, out = run(write(tmp_path, state), select={"load"})
    keys = out["load.keys"]
    assert keys.status is Status.FAILED and "no EnCodec keys" in keys.reason
    assert "module.encoder.model.0.conv.conv.weight_g" in keys.details["unexpected"]
    assert not refused(subject)  # a failed check, not an unreadable file


def test_one_missing_tensor_is_named(tmp_path, model):
    state = dict(model.state_dict())
    del state["quantizer.vq.layers.3._codebook.embed"]
    _, out = run(write(tmp_path, state), select={"load", "config"})
    keys = out["load.keys"]
    assert keys.status is Status.FAILED
    assert "quantizer.vq.layers.3._codebook.embed" in keys.details["missing"]


def test_half_precision_storage_is_noted(tmp_path, model):
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in
             model.state_dict().items()}
    _, out = run(write(tmp_path, state), select={"load"})
    assert out["load.dtype"].status is Status.PASSED
    assert "converted to float32" in out["load.dtype"].reason
