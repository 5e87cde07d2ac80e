"""One error hierarchy: every error class in one of three families, each carrying the command
line's exit code."""

from __future__ import annotations

import inspect

import pytest

from conformance import errors
from conformance.errors import (
    CheckFailed,
    ConformanceError,
    ExitCode,
    InvalidArgument,
    KeyMappingError,
    RefusedInput,
)

ERROR_CLASSES = [c for _, c in inspect.getmembers(errors, inspect.isclass)
                 if issubclass(c, ConformanceError)]


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_every_error_has_one_of_the_three_families_and_its_exit_code(cls):
    if cls in (ConformanceError,):
        return
    families = [f for f in (RefusedInput, InvalidArgument, CheckFailed) if issubclass(cls, f)]
    assert len(families) == 1, cls
    expected = ExitCode.CHECK_FAILED if families[0] is CheckFailed else ExitCode.REFUSED
    assert cls.exit_code == expected


def test_every_error_class_is_listed_in_all():
    assert {c.__name__ for c in ERROR_CLASSES} <= set(errors.__all__)


def test_message_and_details():
    err = errors.CheckpointError("x.th: refused.", ["global 'os.system'", "second"])
    assert err.message == "x.th: refused." and str(err) == \
        "x.th: refused.\n  - global 'os.system'\n  - second"
    assert isinstance(errors.ConfigError("bad"), ValueError)  # invalid arguments stay ValueErrors


def test_key_mapping_error_from_a_report_names_every_key():
    from conformance.checkpoints.keymap import MappingReport

    report = MappingReport(source="file", target="model", missing=["a.b", "c.d"])
    err = KeyMappingError(report)
    assert err.report is report and "a.b" in str(err) and "c.d" in str(err)
    assert err.message.startswith("state dict file -> model")


