"""The engine: plans cases in area order, turns exceptions into `error` outcomes with their
traceback, marks expected failures without hiding them, and gives one verdict with its exit
code (0 conformant, 1 not, 2 refused)."""

from __future__ import annotations

import os

import pytest
import torch

from conformance.checks.engine import (
    Case,
    checkpoint_subject,
    plan,
    refused,
    run_case,
    run_subject,
    verdict,
)
from conformance.checks.registry import AREAS, Check
from conformance.errors import ExitCode, InvalidArgument
from conformance.status import Status
from tests.checks.conftest import write


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """A random-weight model: it loads and maps perfectly but decodes silence to noise."""
    subject = checkpoint_subject(write(tmp_path_factory.mktemp("engine")))
    outcomes = list(run_subject(subject))
    subject.context.close()
    return subject, outcomes


def test_the_plan_runs_areas_in_order_with_unique_ids(full_run):
    subject, outcomes = full_run
    ids = [o.id for o in outcomes]
    assert len(ids) == len(set(ids)) == len(plan(subject))
    areas = [AREAS.index(i.split(".", 1)[0]) for i in ids]
    assert areas == sorted(areas)
    assert "audio.quality[speech_female_16k_cmu_arctic_slt_a0009-0.9kbps]" in ids


def test_random_weights_load_cleanly_but_are_not_conformant(full_run):
    subject, outcomes = full_run
    status = {o.id: o.status for o in outcomes}
    assert status["load.keys"] is Status.PASSED and status["config.consistent"] is Status.PASSED
    assert status["audio.silence"] is Status.FAILED
    assert verdict([subject]) == ("not_conformant", ExitCode.CHECK_FAILED)
    assert not refused(subject)


def test_expected_failures_are_marked_and_flip_the_verdict_without_hiding(tmp_path):
    subject = checkpoint_subject(write(tmp_path))
    subject.expected.add({"audio.silence": "random weights", "audio.clipping": "random weights",
                          "impl.codes": "stale"}, "xfails.txt")
    outcomes = {o.id: o for o in run_subject(
        subject, select=lambda c: c.check.area in ("load", "audio") and
        c.check.id != "audio.quality")}
    subject.context.close()
    assert outcomes["audio.silence"].status is Status.FAILED  # still reported as failed
    assert outcomes["audio.silence"].expected_failure == "random weights"
    assert not outcomes["audio.silence"].counts_against
    assert verdict([subject]) == ("conformant", ExitCode.OK)
    assert subject.expected.unmatched() == ["impl.codes (xfails.txt)"]


class _Evil:
    def __reduce__(self):
        return (os.system, ("true",))


def test_a_hostile_file_is_refused_exit_2_whatever_else_is_run(tmp_path):
    path = tmp_path / "evil.th"
    torch.save({"best_state": _Evil()}, path)
    subject = checkpoint_subject(path)
    outcomes = list(run_subject(subject))
    subject.context.close()
    assert refused(subject) and verdict([subject]) == ("refused", ExitCode.REFUSED)
    assert {o.status for o in outcomes} <= {Status.FAILED, Status.NOT_APPLICABLE}
    assert sum(o.status is Status.FAILED for o in outcomes) == 1  # load.safe_read alone


def _boom(ctx, case):
    raise ZeroDivisionError("the check itself broke")


def _refuse(ctx, case):
    raise InvalidArgument("bad option for this check")


@pytest.mark.parametrize(("fn", "head"), [(_boom, "ZeroDivisionError: the check itself broke"),
                                          (_refuse, "InvalidArgument: bad option")])
def test_an_exception_inside_a_check_is_an_error_outcome_not_a_crash(tmp_path, fn, head):
    subject = checkpoint_subject(write(tmp_path))
    check = Check("load.synthetic", "checkpoint", "a check that raises", fn, lambda c: [()])
    outcome = run_case(subject, Case(check, ()))
    subject.context.close()
    assert outcome.status is Status.ERROR and outcome.reason.startswith(head)
    assert outcome.counts_against
    if fn is _boom:
        assert "ZeroDivisionError" in outcome.details["traceback"]
