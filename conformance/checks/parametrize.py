"""`parametrize_with_checks`: the named checks as parameters of a test in the user's own suite,
for projects that prefer a test file to the plugin's command-line options.

    from conformance.checks.parametrize import parametrize_with_checks

    @parametrize_with_checks(impl="mycodec.adapter:make_adapter", families=["encodec_24khz"])
    def test_encodec_conformance(check):
        check()          # fails like the plugin: reason, observed / expected, reproduction

Each parameter is one check on one case, with the same id as the plugin uses
(`encodec_24khz-impl.codes-speech-6kbps`), so `-k` and expected-failure files carry over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from conformance.checks.engine import (
    Case,
    Subject,
    checkpoint_subject,
    implementation_subject,
    plan,
    run_case,
)
from conformance.checks.expected import ExpectedFailures, id_matches

__all__ = ["CheckCall", "parametrize_with_checks"]


class CheckCall:
    """One check on one case; calling it runs the check and turns its outcome into pytest's
    pass / fail / skip / xfail."""

    def __init__(self, subject: Subject, case: Case) -> None:
        self.subject, self.case = subject, case

    @property
    def id(self) -> str:
        prefix = self.subject.name.split("@")[-1]
        return f"{prefix}-{self.case.check.id}" + "".join(
            f"-{part}" for part in self.case.case if part != prefix)

    def __call__(self) -> None:
        from conformance.checks.pytest_checks import report_outcome

        outcome = run_case(self.subject, self.case)
        self.subject.outcomes.append(outcome)
        report_outcome(outcome)

    def __repr__(self) -> str:
        return f"CheckCall({self.id})"


def parametrize_with_checks(*, impl: str | Callable | None = None,
                            checkpoint: str | None = None,
                            families: Iterable[str] | None = None, tolerance: str = "fp32",
                            xfails: Mapping[str, str] | None = None,
                            strict_layouts: bool = False, select: Iterable[str] | None = None,
                            **options: Any) -> Callable:
    """A `pytest.mark.parametrize("check", ...)` over every check of an implementation
    (`impl`: `MODULE:FACTORY` or the factory) on the golden `families`, or of a checkpoint;
    `select` keeps the cases whose id matches a pattern (`*`/`?`, or a bare check id or
    area)."""
    import pytest

    from conformance.golden.bundle import FAMILIES

    if (impl is None) == (checkpoint is None):
        from conformance.errors import InvalidArgument

        raise InvalidArgument("parametrize_with_checks: give exactly one of impl= or "
                              "checkpoint=")
    if impl is not None:
        subjects = [implementation_subject(impl, f, tolerance, strict_layouts=strict_layouts)
                    for f in (families or FAMILIES)]
    else:
        family = next(iter(families), None) if families else None
        subjects = [checkpoint_subject(checkpoint, family=family, **options)]
    calls = []
    for s in subjects:
        if xfails:
            s.expected = ExpectedFailures()
            s.expected.add(xfails, "parametrize_with_checks(xfails=...)")
        calls += [CheckCall(s, case) for case in plan(s)
                  if not select or any(id_matches(p, case.id) or p == case.check.area
                                       for p in select)]
    return pytest.mark.parametrize("check", calls, ids=[c.id for c in calls])
