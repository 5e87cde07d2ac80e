"""Named checks for anyone's EnCodec checkpoint or implementation, run by one engine (the
`validate` command and the pytest plugin).

    from conformance.checks import all_checks
    for check in all_checks():
        print(check.id, check.description)

Every check has a stable dotted id (`load.keys`, `peers.transformers`, `impl.codes`, ...), a
one-line description, and returns an Outcome with the one status vocabulary (passed, failed,
not_applicable, not_computed, error), a one-sentence reason and details; failures carry what
was observed, what was expected, and a snippet that reproduces them.
"""

from conformance.checks.outcome import Outcome
from conformance.checks.registry import CHECKS, Check, checks_of


def all_checks() -> list[Check]:
    """Every check, checkpoint checks first, then golden, then implementation checks."""
    return [*checks_of("checkpoint"), *checks_of("golden"), *checks_of("implementation")]


__all__ = ["CHECKS", "Check", "Outcome", "all_checks", "checks_of"]
