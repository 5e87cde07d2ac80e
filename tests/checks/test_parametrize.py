"""parametrize_with_checks: the checks as parameters of a third party's own test."""

from __future__ import annotations

import pytest

from conformance.checks.parametrize import CheckCall, parametrize_with_checks
from conformance.errors import InvalidArgument
from tests.checks.conftest import write


def test_one_parameter_per_check_and_case_with_the_plugins_ids():
    mark = parametrize_with_checks(impl="conformance.adapters:reference_adapter",
                                   families=["encodec_32khz"])
    argname, calls = mark.args[0], mark.args[1]
    ids = mark.kwargs["ids"]
    assert argname == "check" and all(isinstance(c, CheckCall) for c in calls)
    assert "encodec_32khz-impl.codes-speech-2.2kbps" in ids
    assert len(ids) == len(set(ids)) > 50


def test_a_check_call_passes_fails_and_skips_like_the_plugin(tmp_path):
    mark = parametrize_with_checks(checkpoint=str(write(tmp_path)))
    calls = {c.id.split("-", 1)[1]: c for c in mark.args[1]}
    calls["load.keys"]()  # passes: returns
    with pytest.raises(pytest.fail.Exception, match="audio.silence: silence decodes"):
        calls["audio.silence"]()
    with pytest.raises(pytest.skip.Exception, match="not_applicable"):
        calls["audio.quality-speech_female_16k_cmu_arctic_slt_a0009-0.9kbps"]()


def test_expected_failures_become_xfails(tmp_path):
    mark = parametrize_with_checks(checkpoint=str(write(tmp_path)),
                                   xfails={"audio.silence": "random weights"})
    call = next(c for c in mark.args[1] if c.case.check.id == "audio.silence")
    with pytest.raises(pytest.xfail.Exception, match="random weights"):
        call()


def test_exactly_one_subject_is_required():
    with pytest.raises(InvalidArgument, match="exactly one of impl= or checkpoint="):
        parametrize_with_checks()


@parametrize_with_checks(impl="conformance.adapters:reference_adapter",
                         families=["encodec_32khz"], select=["impl.codes", "impl.decode"])
def test_the_reference_as_a_third_party_would_run_it(check):
    assert check.case.check.id in ("impl.codes", "impl.decode")
    check()
