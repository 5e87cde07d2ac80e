"""peers.* and roundtrip.*: a checkpoint decodes identically in transformers and the original
package, and survives conversion to every format."""

from __future__ import annotations

import pytest

from conformance.status import Status
from tests.checks.conftest import run, write

pytestmark = pytest.mark.peers


def test_a_checkpoint_decodes_identically_in_both_peers_at_every_bandwidth(tmp_path, model):
    _, out = run(write(tmp_path, model.state_dict()), select={"peers"})
    assert sorted(out) == ["peers.encodec[0.9kbps]", "peers.encodec[1.8kbps]",
                           "peers.transformers[0.9kbps]", "peers.transformers[1.8kbps]"]
    assert {o.status for o in out.values()} == {Status.PASSED}
    assert all("identical codes" in o.reason for o in out.values())


def test_the_checkpoint_round_trips_through_every_format(tmp_path, model):
    _, out = run(write(tmp_path, model.state_dict()), select={"roundtrip"})
    assert {k: o.status for k, o in out.items()} == {
        "roundtrip.hf": Status.PASSED, "roundtrip.audiocraft": Status.PASSED,
        "roundtrip.encodec": Status.PASSED}
    assert "loads strictly in transformers" in out["roundtrip.hf"].reason


def test_peers_are_not_applicable_when_the_checkpoint_did_not_load(tmp_path, model):
    state = {f"module.{k}": v for k, v in model.state_dict().items()}
    _, out = run(write(tmp_path, state), select={"load", "config", "peers", "roundtrip"})
    assert {o.status for k, o in out.items() if k.startswith(("peers", "roundtrip"))} == {
        Status.NOT_APPLICABLE}
