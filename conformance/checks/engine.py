"""The one engine behind `encodec-conformance validate` and the pytest plugin: which checks run
on a subject (`plan`), running one (`run_case`), expected failures, and the verdict.

A subject is a checkpoint (`CheckpointContext`; a bundled golden checkpoint also gets the
`golden.*` checks) or an implementation on one golden family (`ImplementationContext`).
"""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from conformance.checks.checkpoint.context import CheckpointContext
from conformance.checks.expected import ExpectedFailures
from conformance.checks.implementation.context import ImplementationContext
from conformance.checks.outcome import Outcome
from conformance.checks.registry import Check, checks_of
from conformance.checks.results import error, not_applicable
from conformance.errors import ConformanceError, ExitCode
from conformance.status import Status

__all__ = ["Case", "Subject", "checkpoint_subject", "golden_subjects", "implementation_subject",
           "plan", "run_case", "run_subject", "verdict"]

Context = CheckpointContext | ImplementationContext


@dataclass
class Subject:
    """What is validated: a checkpoint or an implementation on one family."""

    kind: str  # "checkpoint" or "implementation"
    name: str
    context: Context
    expected: ExpectedFailures = field(default_factory=ExpectedFailures)
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class Case:
    """One check on one case of one subject."""

    check: Check
    case: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.check.id}[{'-'.join(self.case)}]" if self.case else self.check.id


def checkpoint_subject(source: Any, *, golden: Any = None, **options: Any) -> Subject:
    """A checkpoint subject; `golden` (a GoldenCheckpoint) adds the golden checks."""
    ctx = CheckpointContext(str(source), **options)
    if golden is not None:
        ctx.golden = golden  # type: ignore[attr-defined]
    return Subject("checkpoint", ctx.name, ctx)


def golden_subjects(families: Iterable[str] | None = None, **options: Any) -> list[Subject]:
    """The bundled golden checkpoints as subjects, with their golden thresholds."""
    from conformance.golden.bundle import golden_checkpoints
    from conformance.golden.thresholds import golden_thresholds

    wanted = set(families or [])
    thresholds = golden_thresholds()
    out = []
    for g in golden_checkpoints():
        if wanted and g.family not in wanted:
            continue
        out.append(checkpoint_subject(g.checkpoint, golden=g, thresholds=thresholds,
                                      family=g.family, label=g.family,
                                      clip_seconds=g.manifest.get("seconds") or 4.0,
                                      **options))
    return out


def implementation_subject(factory: Any, family: str, tolerance: str = "fp32",
                           **options: Any) -> Subject:
    ctx = ImplementationContext(family, factory, tolerance, **options)
    return Subject("implementation", f"{ctx.spec}@{family}", ctx)


def plan(subject: Subject) -> list[Case]:
    """Every (check, case) the subject gets, in run order."""
    kinds = ["checkpoint", "golden"] if subject.kind == "checkpoint" else ["implementation"]
    cases = []
    for kind in kinds:
        if kind == "golden" and getattr(subject.context, "golden", None) is None:
            continue
        for check in checks_of(kind):
            try:
                found = check.cases(subject.context)
            except ConformanceError:  # the subject cannot say (it did not load): one case
                found = [()]
            except Exception:  # noqa: BLE001 - e.g. an implementation that does not build
                found = [()]
            cases += [Case(check, c) for c in found]
    return cases


def _adapter_expected(subject: Subject) -> None:
    """Add the implementation's own expected failures (once)."""
    ctx = subject.context
    if isinstance(ctx, ImplementationContext) and "adapter" not in subject.expected.sources:
        subject.expected.sources["adapter"] = "checked"
        # an adapter that does not build makes every check an error naming why
        with contextlib.suppress(Exception):
            subject.expected.add(ctx.expected_failures, f"adapter {ctx.name}")


def run_case(subject: Subject, case: Case) -> Outcome:
    """Run one case; an exception the check did not turn into an outcome is an `error`
    outcome carrying the traceback. Expected failures are marked, not hidden."""
    _adapter_expected(subject)
    t0 = time.perf_counter()
    ctx = subject.context
    try:
        if isinstance(ctx, ImplementationContext):
            _ = ctx.adapter  # a factory that fails makes every check an error naming it
        outcome = case.check.run(ctx, case.case)
    except ConformanceError as exc:
        outcome = error(case.check.id, case.case, f"{type(exc).__name__}: {exc.message}",
                        details={"details": exc.details})
    except Exception as exc:  # noqa: BLE001 - reported, with its traceback
        outcome = error(case.check.id, case.case, f"{type(exc).__name__}: {exc}",
                        details={"traceback": traceback.format_exc()})
    outcome.seconds = time.perf_counter() - t0
    if outcome.status in (Status.FAILED, Status.ERROR):
        outcome.expected_failure = subject.expected.match(outcome.id)
    return outcome


def run_subject(subject: Subject, *, select: Callable[[Case], bool] | None = None,
                progress: Callable[[Case], None] | None = None) -> Iterator[Outcome]:
    """Run every planned case (or those `select` keeps), yielding outcomes as they finish."""
    t0 = time.perf_counter()
    for case in plan(subject):
        if select is not None and not select(case):
            continue
        outcome = run_case(subject, case)
        subject.outcomes.append(outcome)
        if progress is not None:
            progress(case)
        yield outcome
    subject.seconds += time.perf_counter() - t0


def refused(subject: Subject) -> bool:
    """Whether the subject's input was unreadable or refused: not a checkpoint, hostile,
    corrupt, non-finite weights, a config that cannot be parsed or holds invalid values. (A
    config that contradicts the weights is a failed check, not a refusal.)"""
    ctx = subject.context
    if not isinstance(ctx, CheckpointContext):
        return False
    for stage in (ctx.read, ctx.finite):
        if not stage().ok:
            return True
    for stage in (ctx.named, ctx.inferred, ctx.resolved):
        if not stage().ok:
            return stage().error.exit_code == ExitCode.REFUSED
    return False


def verdict(subjects: Iterable[Subject]) -> tuple[str, ExitCode]:
    """`conformant` (0), `not_conformant` (1) or `refused` (2) for all the subjects."""
    subjects = list(subjects)
    if any(refused(s) for s in subjects):
        return "refused", ExitCode.REFUSED
    if any(o.counts_against for s in subjects for o in s.outcomes):
        return "not_conformant", ExitCode.CHECK_FAILED
    return "conformant", ExitCode.OK


def subject_verdict(subject: Subject) -> str:
    return verdict([subject])[0]


def blocked_outcome(case: Case, reason: str) -> Outcome:
    return not_applicable(case.check.id, case.case, reason)
