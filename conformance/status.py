"""The one status vocabulary of every outcome: checks, thresholds, metrics, reports, JSON.

Verdicts (a check, a threshold):

- `passed`: checked, and it holds;
- `failed`: checked, and it does not hold;
- `not_applicable`: the check has no meaning here (the reason says why: an adapter does not
  support chunking, a family has no published thresholds, ...); never counted as a pass;
- `not_computed`: the check could not produce a value (silence for PESQ, a clip too short for
  STOI, an optional dependency missing); never counted as a pass;
- `error`: the check itself crashed (a bug in the implementation under test, or in the check).

Measurements (a metric) are `computed` (with a value) or `not_computed` (with a reason): a
metric is not a verdict until a threshold judges it.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["Status"]


class Status(str, Enum):
    """An outcome; its value is the string used in reports and JSON."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_APPLICABLE = "not_applicable"
    NOT_COMPUTED = "not_computed"
    ERROR = "error"
    COMPUTED = "computed"

    def __str__(self) -> str:
        return self.value

    @property
    def ok(self) -> bool:
        """True for `passed` and `computed`: the outcomes that count in favour."""
        return self in (Status.PASSED, Status.COMPUTED)

    @property
    def is_verdict(self) -> bool:
        """True for the outcomes a check can have (everything but `computed`)."""
        return self is not Status.COMPUTED
