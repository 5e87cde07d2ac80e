"""Precision profiles: fp32 exact codes and 1e-4 decodes; reduced precision by SI-SDR."""

from __future__ import annotations

import pytest

from conformance.checks.tolerance import TOLERANCES, get_tolerance
from conformance.errors import InvalidArgument


def test_fp32_demands_identical_codes_and_absolute_decode_bounds():
    t = get_tolerance("fp32")
    assert t.codes_min_agreement == 1.0 and t.decode_atol == 1e-4
    assert t.decode_min_si_sdr_db is None
    assert "identical codes" in t.describe() and "0.0001 absolute" in t.describe()


@pytest.mark.parametrize("name", ["bf16", "fp16"])
def test_reduced_precision_is_bounded_by_si_sdr_and_code_agreement(name):
    t = get_tolerance(name)
    assert t.decode_atol is None and t.decode_min_si_sdr_db >= 25
    assert 0.95 <= t.codes_min_agreement < 1.0
    assert "SI-SDR" in t.describe()


def test_profiles_pass_through_and_unknown_names_are_refused():
    assert get_tolerance(TOLERANCES["bf16"]) is TOLERANCES["bf16"]
    with pytest.raises(InvalidArgument, match="choose one of fp32, bf16, fp16"):
        get_tolerance("int8")
