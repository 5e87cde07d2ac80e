"""The named checks: a stable dotted id, the area it belongs to, a one-line description, and
the function that runs it. The ids are the public contract (`-k`, expected-failure files,
reports); `CHECKS` lists them in run order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["AREAS", "CHECKS", "Check", "Kind", "checks_of", "register"]

Kind = Literal["checkpoint", "implementation", "golden"]


@dataclass(frozen=True)
class Check:
    """One named check. `run(context, case)` returns an Outcome; `cases(context)` lists the
    cases (tuples of strings, e.g. (clip, bandwidth)) it runs on, `[()]` for one."""

    id: str
    kind: Kind
    description: str
    run: Callable[..., Any]
    cases: Callable[..., list[tuple[str, ...]]]

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]


#: Every check, by id (registration order).
CHECKS: dict[str, Check] = {}
#: The areas in the order their checks run; a later area needs what an earlier one proved.
AREAS: tuple[str, ...] = ("load", "config", "codebook", "peers", "roundtrip", "audio", "golden",
                          "impl")


def _one(_: Any) -> list[tuple[str, ...]]:
    return [()]


def register(check_id: str, kind: Kind, description: str,
             cases: Callable[..., list[tuple[str, ...]]] = _one) -> Callable:
    """Decorator: register `fn(context, case) -> Outcome` as check `check_id`."""
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        if check_id in CHECKS:
            raise ValueError(f"check id {check_id!r} registered twice")
        if check_id.split(".", 1)[0] not in AREAS:
            raise ValueError(f"check id {check_id!r}: its area must be one of {AREAS}")
        CHECKS[check_id] = Check(check_id, kind, description, fn, cases)
        return fn
    return wrap


def checks_of(kind: Kind) -> list[Check]:
    """The checks of one kind, in run order (importing the modules that define them)."""
    from conformance.checks import checkpoint, golden, implementation  # noqa: F401

    ordered = sorted(CHECKS.values(), key=lambda c: AREAS.index(c.area))  # stable
    return [c for c in ordered if c.kind == kind]
