"""Benchmarks (marker `bench`, registered in pyproject.toml): run with `tox -e bench` or
`pytest -p no:xdist -m bench tests/benchmarks` (one process, so workers do not compete for
the cores); the default test run excludes them with -m "not bench". They assert
correctness only, never a speed."""

import os

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def _bench_threads():
    """Benchmarks use every core (the suite's conftest pins one thread per xdist worker);
    ENCODEC_BENCH_THREADS pins another count."""
    before = torch.get_num_threads()
    torch.set_num_threads(int(os.environ.get("ENCODEC_BENCH_THREADS", os.cpu_count() or 1)))
    yield
    torch.set_num_threads(before)
