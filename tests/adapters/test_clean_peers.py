"""The peers, plugged in through their adapters, pass every implementation check on every
golden family (the edge chunk layouts they raise on are named, not failed)."""

from __future__ import annotations

import pytest

from conformance.checks.engine import implementation_subject, run_subject, verdict
from conformance.errors import ExitCode
from conformance.status import Status

pytestmark = pytest.mark.peers

FAMILIES = ["encodec_24khz", "encodec_32khz", "encodec_48khz"]


@pytest.mark.parametrize("family", FAMILIES)
def test_the_original_package_passes_every_check(family, tmp_path):
    from conformance.adapters.encodec_package import encodec_adapter

    subject = implementation_subject(encodec_adapter, family, workdir=tmp_path)
    outcomes = list(run_subject(subject))
    against = [o.message() for o in outcomes if o.counts_against]
    assert not against, "\n".join(against)
    assert verdict([subject]) == ("conformant", ExitCode.OK)
    passed = {o.check for o in outcomes if o.status is Status.PASSED}
    assert {"impl.codes", "impl.decode", "impl.properties", "impl.input_intact"} <= passed
    if family == "encodec_48khz":
        overrun = [o for o in outcomes if "chunk_overrun" in o.id and o.check == "impl.decode"]
        assert overrun and all(o.status is Status.NOT_APPLICABLE for o in overrun)
        assert "RuntimeError" in overrun[0].reason
