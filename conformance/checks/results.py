"""Shorthands that build an Outcome for a check and a case."""

from __future__ import annotations

from typing import Any

from conformance.checks.outcome import Outcome
from conformance.status import Status

__all__ = ["error", "failed", "not_applicable", "not_computed", "passed"]


def passed(check: str, case: tuple[str, ...], reason: str, **kw: Any) -> Outcome:
    return Outcome(check, case, Status.PASSED, reason, **kw)


def failed(check: str, case: tuple[str, ...], reason: str, **kw: Any) -> Outcome:
    return Outcome(check, case, Status.FAILED, reason, **kw)


def not_applicable(check: str, case: tuple[str, ...], reason: str, **kw: Any) -> Outcome:
    return Outcome(check, case, Status.NOT_APPLICABLE, reason, **kw)


def not_computed(check: str, case: tuple[str, ...], reason: str, **kw: Any) -> Outcome:
    return Outcome(check, case, Status.NOT_COMPUTED, reason, **kw)


def error(check: str, case: tuple[str, ...], reason: str, **kw: Any) -> Outcome:
    return Outcome(check, case, Status.ERROR, reason, **kw)
