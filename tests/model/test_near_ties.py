"""Near-ties: a clean implementation whose float32 rounding differs may pick the other of two
almost equally near codewords; a wrong code is still a failure."""

from __future__ import annotations

import copy

import pytest
import torch

from conformance.adapters.reference import ReferenceAdapter
from conformance.checkpoints.load import load_checkpoint
from conformance.checks.engine import implementation_subject, run_subject
from conformance.checks.implementation.compare import compare_codes
from conformance.checks.implementation.context import ImplementationContext
from conformance.checks.tolerance import get_tolerance
from conformance.model.near_ties import CodeArbiter

FP32 = get_tolerance("fp32")
FAMILY, SIGNAL, BANDWIDTH = "encodec_32khz", "impulses", 2.2


def _rounded_differently(model, eps=1e-6):
    """The same model with every encoder weight moved by about `eps` relative: what another
    float32 kernel or summation order does to a correct implementation."""
    other = copy.deepcopy(model)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in other.encoder.parameters():
            p.mul_(1 + eps * torch.randn(p.shape, generator=g))
    return other


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    return ImplementationContext(FAMILY, "conformance.adapters:reference_adapter",
                                 workdir=tmp_path_factory.mktemp("ties"))


@pytest.fixture(scope="module")
def flipped(ctx):
    """Codes of the rounded-differently model where they differ from the reference's."""
    model = ctx.reference.model
    audio = ctx.signal(SIGNAL)[None]
    got = ReferenceAdapter(_rounded_differently(model)).encode(audio.clone(), BANDWIDTH)
    want = ctx.reference.encode(audio.clone(), BANDWIDTH)
    assert any(not torch.equal(g, w) for (g, _), (w, _) in zip(got, want)), \
        "this rounding no longer flips a code here: choose another signal or eps"
    return model, audio, got, want


def test_a_rounding_flip_is_accepted_only_as_a_near_tie(flipped):
    model, audio, got, want = flipped
    assert compare_codes(got, want, FP32) is not None  # exact comparison: differs
    arbiter = CodeArbiter(model, audio, FP32.code_tie_rtol)
    assert compare_codes(got, want, FP32, arbiter) is None
    assert arbiter.accepted >= 1
    # with no room for rounding at all, the same flip is refused
    strict = CodeArbiter(model, audio, 0.0)
    mismatch = compare_codes(got, want, FP32, strict)
    assert mismatch is not None and "is not a near-tie" in mismatch[0]


def test_a_wrong_code_is_not_a_tie(ctx):
    model = ctx.reference.model
    audio = ctx.signal("speech")[None]
    want = ctx.reference.encode(audio.clone(), BANDWIDTH)
    codes = want[0][0].clone()
    codes[0, 0, 5] = (codes[0, 0, 5] + 1) % model.cfg.bins
    got = [(codes, want[0][1])]
    mismatch = compare_codes(got, want, FP32, CodeArbiter(model, audio, FP32.code_tie_rtol))
    assert mismatch is not None
    assert "[batch 0, codebook 0, frame 5]" in mismatch[0] and "not a near-tie" in mismatch[0]


def test_an_out_of_range_code_is_named(ctx):
    model = ctx.reference.model
    audio = ctx.signal("speech")[None]
    want = ctx.reference.encode(audio.clone(), BANDWIDTH)
    codes = want[0][0].clone()
    codes[0, 0, 2] = model.cfg.bins
    mismatch = compare_codes([(codes, None)], want, FP32,
                             CodeArbiter(model, audio, FP32.code_tie_rtol))
    assert mismatch is not None and f"code {model.cfg.bins}" in mismatch[0]
    assert "out of range" in mismatch[0]


def test_a_clean_implementation_rounding_differently_passes_every_check(tmp_path):
    def factory(weights):
        model = load_checkpoint(weights.path("audiocraft")).model
        return ReferenceAdapter(_rounded_differently(model))

    subject = implementation_subject(factory, FAMILY, workdir=tmp_path)
    outcomes = list(run_subject(subject))
    bad = [f"{o.id}: {o.reason}" for o in outcomes if o.counts_against]
    assert bad == []
    ties = [o for o in outcomes if "near-tie" in o.reason]
    assert any(o.id == f"impl.codes[{FAMILY}-{SIGNAL}-{BANDWIDTH:g}kbps]" for o in ties)


def test_the_profiles_say_where_ties_are_allowed():
    assert "near-ties" in get_tolerance("fp32").describe()
    assert get_tolerance("bf16").code_tie_rtol is None
