"""The one status vocabulary: its values are the JSON strings, verdicts vs measurements."""

from __future__ import annotations

import inspect
import json

from conformance import errors
from conformance.errors import (
    ConformanceError,
)
from conformance.status import Status

ERROR_CLASSES = [c for _, c in inspect.getmembers(errors, inspect.isclass)
                 if issubclass(c, ConformanceError)]


def test_status_values_are_the_json_vocabulary():
    assert [s.value for s in Status] == ["passed", "failed", "not_applicable", "not_computed",
                                         "error", "computed"]
    assert json.dumps({"status": Status.FAILED}) == '{"status": "failed"}'
    assert Status("passed") is Status.PASSED and Status.PASSED == "passed"
    assert Status.PASSED.ok and Status.COMPUTED.ok and not Status.NOT_COMPUTED.ok
    assert not Status.NOT_APPLICABLE.ok and not Status.ERROR.ok
    assert all(s.is_verdict for s in Status if s is not Status.COMPUTED)
