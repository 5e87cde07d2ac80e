"""The JSON report follows its published schema; the text summary names what did not pass."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest

from conformance.checks.engine import checkpoint_subject, run_subject
from conformance.checks.report import build_report, format_summary, load_schema, validate_report
from tests.checks.conftest import write


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    subject = checkpoint_subject(write(tmp_path_factory.mktemp("report")))
    for _ in run_subject(subject, select=lambda c: c.check.area in ("load", "config", "audio")
                         and c.check.id != "audio.quality"):
        pass
    subject.context.close()
    return build_report([subject], {"paths": ["model.th"]})


def test_the_report_validates_against_the_shipped_schema(report):
    validate_report(report)
    assert load_schema()["$schema"].startswith("https://json-schema.org/")
    assert json.loads(json.dumps(report)) == report  # plain JSON all the way down


def test_the_report_carries_verdict_environment_provenance_and_mapping(report):
    assert report["verdict"] == "not_conformant" and report["exit_code"] == 1
    subject = report["subjects"][0]
    assert subject["format"] == "audiocraft-exported" and len(subject["sha256"]) == 64
    assert subject["mapping"]["problems"] == 0 and subject["mapping"]["mapped"] > 100
    assert subject["provenance"] and subject["config"]["sample_rate"] == 24000
    assert report["environment"]["torch"]
    ids = {o["id"] for o in subject["outcomes"]}
    assert {"load.keys", "config.consistent", "audio.silence"} <= ids


@pytest.mark.parametrize("breakage", [
    lambda r: r.pop("verdict"),
    lambda r: r.update(verdict="probably fine"),
    lambda r: r["subjects"][0]["outcomes"][0].update(status="ok"),
    lambda r: r.update(exit_code="0"),
])
def test_a_report_that_breaks_the_schema_is_rejected(report, breakage):
    broken = copy.deepcopy(report)
    breakage(broken)
    with pytest.raises(jsonschema.ValidationError):
        validate_report(broken)


def test_the_summary_lists_failures_with_reasons_and_only_them(report):
    text = format_summary(report)
    assert "not_conformant" in text.lower().replace(" ", "_")
    assert "audio.silence" in text and "below -40 dBFS" in text
    assert "load.format" not in text.split("audio.silence", 1)[1]
    assert "load.format" in format_summary(report, all_outcomes=True)
