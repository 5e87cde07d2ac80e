"""The packaged checks as pytest tests (collected by the plugin when `--encodec-checkpoint` or
`--encodec-impl` is given; `conformance/pytest_plugin.py` parametrizes `encodec_case`)."""

from __future__ import annotations

import pytest

from conformance.checks.engine import run_case
from conformance.status import Status

pytestmark = pytest.mark.encodec_check


def test_check(encodec_case) -> None:
    """One check on one case: passed passes, failed fails with observed / expected and a
    reproduction, not applicable / not computed skip with their reason, an expected failure
    is an xfail."""
    subject, case = encodec_case
    outcome = run_case(subject, case)
    subject.outcomes.append(outcome)
    report_outcome(outcome)


def report_outcome(outcome) -> None:
    """Turn an outcome into pytest's pass / skip / xfail / fail."""
    if outcome.status is Status.PASSED:
        return
    if outcome.status in (Status.NOT_APPLICABLE, Status.NOT_COMPUTED):
        pytest.skip(f"{outcome.status.value}: {outcome.reason}")
    if outcome.expected_failure is not None:
        pytest.xfail(f"expected failure ({outcome.expected_failure}): {outcome.reason}")
    pytest.fail(outcome.message(), pytrace=False)
