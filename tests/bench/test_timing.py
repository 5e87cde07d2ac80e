"""Timing statistics on a fake clock, round-robin order and pinned threads."""

from __future__ import annotations

import statistics

import pytest
import torch

from conformance.bench.timing import (
    TimingStats,
    WallTimer,
    interleaved,
    measure,
    pinned_threads,
)
from conformance.errors import InvalidArgument


class FakeClock:
    """A clock that advances only when a timed function says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_statistics_of_known_samples():
    stats = TimingStats((5.0, 1.0, 3.0, 2.0, 4.0, 100.0))
    assert stats.rounds == 6 and stats.min == 1.0 and stats.max == 100.0
    assert stats.median == 3.5
    assert stats.mean == pytest.approx(115.0 / 6)
    assert stats.stddev == pytest.approx(statistics.stdev(stats.data))
    assert (stats.q1, stats.q3, stats.iqr) == (2.0, 5.0, 3.0)  # medians of the halves
    assert stats.iqr_outliers == 1 and stats.hd15iqr == 5.0 and stats.ld15iqr == 1.0
    assert stats.stddev_outliers == 1
    assert stats.ops == pytest.approx(6 / 115.0)
    d = stats.as_dict()
    for key in ("min", "max", "mean", "stddev", "rounds", "median", "iqr", "q1", "q3",
                "iqr_outliers", "stddev_outliers", "outliers", "ld15iqr", "hd15iqr", "ops",
                "total", "iterations", "data"):
        assert key in d
    assert d["outliers"] == "1;1" and d["data"] == list(stats.data)


def test_odd_count_quartiles_and_single_sample():
    odd = TimingStats((1.0, 2.0, 3.0, 4.0, 5.0))
    assert (odd.q1, odd.median, odd.q3) == (1.5, 3.0, 4.5)
    one = TimingStats((0.25,))
    assert one.stddev == 0.0 and one.iqr == 0.0 and one.median == 0.25


@pytest.mark.parametrize("bad", [(), (float("nan"),), (-1.0,)])
def test_bad_samples_are_refused(bad):
    with pytest.raises(InvalidArgument):
        TimingStats(bad)


def test_measure_on_a_fake_clock_times_only_the_rounds():
    clock = FakeClock()
    durations = iter([9.0, 1.0, 2.0, 3.0])  # the warm-up takes 9 s and is not counted
    stats = measure(lambda: clock.advance(next(durations)), warmup=1, rounds=3,
                    timer=WallTimer(clock))
    assert stats.data == (1.0, 2.0, 3.0) and stats.median == 2.0 and stats.iqr == 2.0


def test_interleaved_runs_round_robin_with_a_rotating_start():
    clock = FakeClock()
    order: list[str] = []
    cost = {"a": 1.0, "b": 2.0, "c": 4.0}

    def case(name):
        return lambda: (order.append(name), clock.advance(cost[name]))
    stats = interleaved({n: case(n) for n in cost}, warmup=1, rounds=3, timer=WallTimer(clock))
    assert order == ["a", "b", "c",  # warm-up
                     "a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert {n: s.median for n, s in stats.items()} == cost
    assert all(s.rounds == 3 for s in stats.values())


@pytest.mark.parametrize("kwargs", [{"rounds": 0}, {"warmup": -1}, {"rounds": True}])
def test_bad_counts_are_refused(kwargs):
    with pytest.raises(InvalidArgument):
        measure(lambda: None, **kwargs)


def test_pinned_threads_restores_the_count():
    before = torch.get_num_threads()
    with pinned_threads(1) as n:
        assert n == 1 == torch.get_num_threads()
    assert torch.get_num_threads() == before
    with pytest.raises(InvalidArgument), pinned_threads(0):
        pass
