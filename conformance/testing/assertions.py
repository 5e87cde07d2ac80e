"""Assertion helpers whose failures read like bug reports: observed, expected, and the call.

    codes.shape=(1, 8, 74), but should be (1, 8, 75) [encode(L=24000, hop=320, causal=True)]
"""

from __future__ import annotations

import torch

from conformance.errors import ConformanceAssertionError

__all__ = ["assert_close", "assert_codes_equal", "assert_equal", "assert_shape"]


def _fail(what: str, got: object, expected: object, call: str) -> None:
    __tracebackhide__ = True
    raise ConformanceAssertionError(f"{what}={got}, but should be {expected} [{call}]")


def assert_equal(what: str, got: object, expected: object, call: str) -> None:
    __tracebackhide__ = True
    if got != expected:
        _fail(what, got, expected, call)


def assert_shape(what: str, tensor: torch.Tensor, expected: tuple[int, ...], call: str) -> None:
    __tracebackhide__ = True
    assert_equal(f"{what}.shape", tuple(tensor.shape), tuple(expected), call)


def assert_codes_equal(what: str, got: torch.Tensor, expected: torch.Tensor, call: str) -> None:
    """Codes must match exactly; the message gives the count and the first differing position."""
    __tracebackhide__ = True
    if got.shape != expected.shape:
        _fail(f"{what}.shape", tuple(got.shape), tuple(expected.shape), call)
    diff = got != expected
    if bool(diff.any()):
        first = tuple(int(i) for i in diff.nonzero()[0])
        raise ConformanceAssertionError(
            f"{what}: {int(diff.sum())} of {diff.numel()} codes differ, first at {first} "
            f"(got {int(got[first])}, expected {int(expected[first])}) [{call}]")


def assert_close(what: str, got: torch.Tensor, expected: torch.Tensor, call: str,
                 atol: float = 1e-5, rtol: float = 0.0) -> float:
    """max |got - expected| <= atol + rtol * max |expected|; returns the max difference."""
    __tracebackhide__ = True
    if got.shape != expected.shape:
        _fail(f"{what}.shape", tuple(got.shape), tuple(expected.shape), call)
    if got.numel() == 0:
        return 0.0
    err = float((got.double() - expected.double()).abs().max())
    bound = atol + rtol * float(expected.abs().max())
    if not err <= bound:  # also catches NaN
        raise ConformanceAssertionError(f"max|{what} - expected|={err:.3e}, but should be <= "
                                        f"{bound:.3e} [{call}]")
    return err
