"""The implementation checks (`impl.*`): a third-party EnCodec behind the adapter protocol,
compared with the reference on the golden checkpoints. `golden_weights` and `test_signal`
rebuild what a check ran on (the reproduction snippets use them)."""

from conformance.checks.implementation import checks
from conformance.checks.implementation.context import (
    ImplementationContext,
    golden_weights,
    test_signal,
)

__all__ = ["ImplementationContext", "checks", "golden_weights", "test_signal"]
