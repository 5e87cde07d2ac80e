"""The outcome of one check on one case: a status from the one vocabulary, a one-sentence
reason, details, and -- for failures -- what was observed, what was expected, and a Python
snippet that reproduces it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from conformance.status import Status

__all__ = ["Outcome", "case_id", "jsonable"]


def case_id(check: str, case: tuple[str, ...] = ()) -> str:
    """`check[part-part-...]`, or the bare check id when the check has no case."""
    return f"{check}[{'-'.join(case)}]" if case else check


def jsonable(value: Any) -> Any:
    """Tensors, tuples, paths and non-finite floats as JSON values."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().tolist() if value.numel() <= 64 else \
            f"tensor{tuple(value.shape)} {str(value.dtype).replace('torch.', '')}"
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


@dataclass
class Outcome:
    """One check on one case.

    `status` is passed, failed, not_applicable, not_computed or error; `reason` one sentence
    ("codes differ at ... , but should be equal"); `expected_failure` the reason when the
    outcome matched an expected-failure entry (the status stays what it is: an expected
    failure is still a failure, only not held against the verdict).
    """

    check: str
    case: tuple[str, ...]
    status: Status
    reason: str
    details: dict[str, Any] = field(default_factory=dict)
    observed: Any = None
    expected: Any = None
    reproduce: str | None = None
    seconds: float = 0.0
    expected_failure: str | None = None

    @property
    def id(self) -> str:
        return case_id(self.check, self.case)

    @property
    def counts_against(self) -> bool:
        """Whether this outcome makes the subject not conformant."""
        return self.status in (Status.FAILED, Status.ERROR) and self.expected_failure is None

    def message(self) -> str:
        """The failure as a bug report: id, reason, observed / expected, reproduction."""
        lines = [f"{self.id}: {self.reason}"]
        if self.observed is not None or self.expected is not None:
            lines.append(f"  observed: {self.observed}")
            lines.append(f"  expected: {self.expected}")
        if self.reproduce:
            lines += ["  reproduce with:", *("    " + line for line in
                                              self.reproduce.strip().splitlines())]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "check": self.check, "case": list(self.case),
                "status": self.status.value, "reason": self.reason,
                "details": jsonable(self.details), "observed": jsonable(self.observed),
                "expected": jsonable(self.expected), "reproduce": self.reproduce,
                "seconds": round(self.seconds, 3), "expected_failure": self.expected_failure}
