"""Timing: warm-up, repeated rounds, median and spread, pinned threads, CUDA-aware clocks.

`measure(fn)` times one callable; `interleaved({name: fn})` times several in round-robin order
(round r starts at case r mod n, so no case always runs first), which keeps their ratios fair
on a machine whose speed drifts. Every timing goes through a `Timer`: `WallTimer` (a
`time.perf_counter`-like clock, replaceable by a fake clock in tests) or `CudaEventTimer`
(CUDA events around the call, then a synchronisation). `TimingStats` holds the samples and
computes the statistics pytest-benchmark stores (min, max, mean, stddev, median, q1, q3, iqr,
outlier counts, ld15iqr/hd15iqr, ops, total).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from conformance.errors import InvalidArgument

__all__ = ["CudaEventTimer", "Timer", "TimingStats", "WallTimer", "interleaved", "measure",
           "pinned_threads", "timer_for"]


class Timer(Protocol):
    """Seconds one call of `fn` takes."""

    def time(self, fn: Callable[[], Any]) -> float: ...


class WallTimer:
    """Wall-clock time of a call on `clock` (default `time.perf_counter`); on a CUDA device,
    the device is synchronised before and after so queued kernels are counted."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter,
                 device: torch.device | str | None = None) -> None:
        self.clock = clock
        self.device = None if device is None else torch.device(device)

    def _sync(self) -> None:
        if self.device is not None and self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def time(self, fn: Callable[[], Any]) -> float:
        self._sync()
        start = self.clock()
        fn()
        self._sync()
        return self.clock() - start


class CudaEventTimer:
    """Device time of a call between two CUDA events (the host waits for the second)."""

    def __init__(self, device: torch.device | str = "cuda") -> None:
        self.device = torch.device(device)

    def time(self, fn: Callable[[], Any]) -> float:
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize(self.device)
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1000.0


def timer_for(device: torch.device | str) -> Timer:
    """CUDA events on a CUDA device, the wall clock elsewhere."""
    device = torch.device(device)
    return CudaEventTimer(device) if device.type == "cuda" else WallTimer()


@dataclass(frozen=True)
class TimingStats:
    """Samples (seconds per round) and their statistics, named as pytest-benchmark names
    them. Quartiles are the medians of the lower and upper halves (the middle sample of an
    odd count in neither); outliers are counted as pytest-benchmark counts them: beyond one
    standard deviation from the mean, and beyond 1.5 IQR from the quartiles."""

    data: tuple[float, ...]
    iterations: int = 1

    def __post_init__(self) -> None:
        if not self.data:
            raise InvalidArgument("no timing samples")
        if not all(math.isfinite(x) and x >= 0 for x in self.data):
            raise InvalidArgument(f"timing samples must be finite and >= 0: {self.data}")

    @property
    def rounds(self) -> int:
        return len(self.data)

    @property
    def sorted(self) -> list[float]:
        return sorted(self.data)

    @property
    def min(self) -> float:
        return min(self.data)

    @property
    def max(self) -> float:
        return max(self.data)

    @property
    def total(self) -> float:
        return math.fsum(self.data)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.data)

    @property
    def stddev(self) -> float:
        return statistics.stdev(self.data) if len(self.data) > 1 else 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.data)

    def _halves(self) -> tuple[list[float], list[float]]:
        s = self.sorted
        half = len(s) // 2
        return (s[:half] or s, s[len(s) - half:] or s)

    @property
    def q1(self) -> float:
        return statistics.median(self._halves()[0])

    @property
    def q3(self) -> float:
        return statistics.median(self._halves()[1])

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def ld15iqr(self) -> float:
        """The lowest sample within 1.5 IQR below q1."""
        return min(x for x in self.data if x >= self.q1 - 1.5 * self.iqr)

    @property
    def hd15iqr(self) -> float:
        """The highest sample within 1.5 IQR above q3."""
        return max(x for x in self.data if x <= self.q3 + 1.5 * self.iqr)

    @property
    def iqr_outliers(self) -> int:
        low, high = self.q1 - 1.5 * self.iqr, self.q3 + 1.5 * self.iqr
        return sum(1 for x in self.data if x < low or x > high)

    @property
    def stddev_outliers(self) -> int:
        low, high = self.mean - self.stddev, self.mean + self.stddev
        return sum(1 for x in self.data if x < low or x > high)

    @property
    def ops(self) -> float:
        """Calls per second over all rounds (0 when no time passed)."""
        return self.rounds / self.total if self.total > 0 else 0.0

    def as_dict(self, include_data: bool = True) -> dict[str, Any]:
        """The `stats` object of a pytest-benchmark JSON entry."""
        out: dict[str, Any] = {
            "min": self.min, "max": self.max, "mean": self.mean, "stddev": self.stddev,
            "rounds": self.rounds, "median": self.median, "iqr": self.iqr, "q1": self.q1,
            "q3": self.q3, "iqr_outliers": self.iqr_outliers,
            "stddev_outliers": self.stddev_outliers,
            "outliers": f"{self.stddev_outliers};{self.iqr_outliers}",
            "ld15iqr": self.ld15iqr, "hd15iqr": self.hd15iqr, "ops": self.ops,
            "total": self.total, "iterations": self.iterations,
        }
        if include_data:
            out["data"] = list(self.data)
        return out


def _check_counts(warmup: int, rounds: int) -> None:
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise InvalidArgument(f"warmup={warmup!r}: must be an integer >= 0")
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise InvalidArgument(f"rounds={rounds!r}: must be an integer >= 1")


def measure(fn: Callable[[], Any], *, warmup: int = 1, rounds: int = 5,
            timer: Timer | None = None) -> TimingStats:
    """Call `fn` `warmup` times untimed, then `rounds` times timed."""
    return interleaved({"fn": fn}, warmup=warmup, rounds=rounds, timer=timer)["fn"]


def interleaved(cases: Mapping[str, Callable[[], Any]], *, warmup: int = 1, rounds: int = 5,
                timer: Timer | None = None) -> dict[str, TimingStats]:
    """Time every case `rounds` times, round-robin: round r runs the cases starting from the
    (r mod n)-th, so drift in the machine's speed spreads over all of them alike."""
    _check_counts(warmup, rounds)
    if not cases:
        raise InvalidArgument("no cases to time")
    timer = timer or WallTimer()
    names = list(cases)
    for _ in range(warmup):
        for name in names:
            cases[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            samples[name].append(timer.time(cases[name]))
    return {name: TimingStats(tuple(samples[name])) for name in names}


@contextmanager
def pinned_threads(threads: int | None) -> Iterator[int]:
    """Run with torch's intra-op thread count set to `threads` (None: leave it), restoring
    the previous count afterwards; yields the count in effect."""
    before = torch.get_num_threads()
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise InvalidArgument(f"threads={threads!r}: must be an integer >= 1")
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
