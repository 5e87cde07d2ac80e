"""The check ids are the public contract: unique, dotted `area.name`, every area known, every
kind's checks listed in run order, every id documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.checks.registry import AREAS, CHECKS, checks_of, register

ROOT = Path(__file__).resolve().parents[2]


def _all_checks():
    return [c for kind in ("checkpoint", "golden", "implementation") for c in checks_of(kind)]


def test_every_check_has_a_dotted_id_in_a_known_area_and_a_description():
    checks = _all_checks()
    assert len(checks) == len(CHECKS) >= 30
    for c in checks:
        assert re.fullmatch(r"[a-z]+\.[a-z_]+", c.id), c.id
        assert c.area in AREAS
        assert len(c.description) > 20, c.id


def test_checks_run_in_area_order():
    for kind in ("checkpoint", "implementation"):
        areas = [AREAS.index(c.area) for c in checks_of(kind)]
        assert areas == sorted(areas)


def test_implementation_checks_are_all_impl_and_checkpoint_checks_never_are():
    assert {c.area for c in checks_of("implementation")} == {"impl"}
    assert "impl" not in {c.area for c in checks_of("checkpoint")}
    assert {c.area for c in checks_of("golden")} == {"golden"}


def test_registering_an_id_twice_or_in_an_unknown_area_is_refused():
    some = next(iter(CHECKS))
    with pytest.raises(ValueError, match="registered twice"):
        register(some, "checkpoint", "again")(lambda ctx, case: None)
    with pytest.raises(ValueError, match="area must be one of"):
        register("nowhere.thing", "checkpoint", "x")(lambda ctx, case: None)
    assert "nowhere.thing" not in CHECKS


def test_the_readme_lists_every_check_id():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"`([a-z]+\.[a-z_]+)`", readme))
    missing = [c.id for c in _all_checks() if c.id not in listed]
    assert not missing, f"checks not documented in README.md: {missing}"
