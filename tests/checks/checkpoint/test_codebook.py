"""codebook.*: each way a quantizer goes wrong in practice is named with its stage."""

from __future__ import annotations

import pytest

from conformance.status import Status
from tests.checks.conftest import run, write

EMBED = "quantizer.vq.layers.{}._codebook.embed"


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_a_trained_like_codebook_passes_every_check(tmp_path, model):
    _, out = run(write(tmp_path, _state(model)), select={"codebook"})
    assert {o.status for o in out.values()} == {Status.PASSED}
    assert len(out) == 5


def _never_initialised(state):
    state["quantizer.vq.layers.2._codebook.inited"].zero_()
    return "codebook.inited", "stage(s) [2] were never initialised"


def _dead_codewords(state):
    state[EMBED.format(1)][:20] = 0.0
    return "codebook.dead", "stage 1: 20 of 64"


def _duplicated_codewords(state):
    state[EMBED.format(0)][5] = state[EMBED.format(0)][9]
    return "codebook.duplicates", "stage 0: 1 pair(s)"


def _stages_out_of_order(state):
    a, b = EMBED.format(0), EMBED.format(3)
    state[a], state[b] = state[b].clone(), state[a].clone()
    return "codebook.norms", "residual stages should shrink"


def _exploded_norms(state):
    state[EMBED.format(2)] *= 1e6
    return "codebook.norms", "should have norms in (0, 1e4)"


@pytest.mark.parametrize("breakage", [_never_initialised, _dead_codewords,
                                      _duplicated_codewords, _stages_out_of_order,
                                      _exploded_norms], ids=lambda f: f.__name__.strip("_"))
def test_each_breakage_fails_its_check_naming_the_stage(tmp_path, model, breakage):
    state = _state(model)
    check, words = breakage(state)
    _, out = run(write(tmp_path, state), select={"codebook"})
    assert out[check].status is Status.FAILED, out[check].reason
    assert words in out[check].reason
    others = {k: o.status for k, o in out.items() if k != check}
    assert Status.ERROR not in others.values()


def test_codebook_checks_are_not_applicable_when_nothing_loaded(tmp_path, model):
    state = _state(model)
    del state[EMBED.format(3)]
    _, out = run(write(tmp_path, state), select={"codebook", "load", "config"})
    assert {out[k].status for k in out if k.startswith("codebook.")} == {Status.NOT_APPLICABLE}
    assert "did not load" in out["codebook.finite"].reason
