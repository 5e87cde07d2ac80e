"""Benchmarks: run with `pytest -m bench -p no:xdist tests/benchmarks` (one process, so
workers do not compete for the cores); the default test run excludes them with -m "not
bench". They assert correctness only, never a speed."""

import pytest
import torch


def pytest_configure(config):
    config.addinivalue_line("markers", "bench: a throughput benchmark (pytest-benchmark); "
                            "excluded from the default run, selected with -m bench")


@pytest.fixture(scope="session", autouse=True)
def _bench_threads():
    """Benchmarks use every core (the suite's conftest pins one thread per xdist worker)."""
    import os

    before = torch.get_num_threads()
    torch.set_num_threads(int(os.environ.get("ENCODEC_BENCH_THREADS", os.cpu_count() or 1)))
    yield
    torch.set_num_threads(before)
