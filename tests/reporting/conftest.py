"""A real validation for the report tests: the small random-weight checkpoint of the checks'
tests, judged against the 24 kHz golden thresholds (so quality fails), with excerpts kept."""

from __future__ import annotations

import pytest

from conformance.checks.engine import checkpoint_subject, run_subject
from conformance.checks.report import build_report
from conformance.golden.thresholds import golden_thresholds
from tests.checks.conftest import write

#: What the report tests run: loading, config and the quality of every clip x bandwidth.
AREAS = ("load", "config")
CHECKS = ("audio.quality",)


@pytest.fixture(scope="session")
def validated(tmp_path_factory):
    """(report, media): the JSON report of the small checkpoint and its excerpts."""
    path = write(tmp_path_factory.mktemp("reporting"))
    subject = checkpoint_subject(path, thresholds=golden_thresholds(), family="encodec_24khz",
                                 clip_seconds=2.0, excerpt_seconds=0.5)
    for _ in run_subject(subject, select=lambda c: c.check.area in AREAS
                         or c.check.id in CHECKS):
        pass
    subject.context.close()
    return build_report([subject], {"paths": [str(path)]}), [subject.context.excerpts]
