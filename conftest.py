"""Suite-wide settings: hypothesis profiles and single-threaded torch per xdist worker."""

import os

import pytest
import torch
from hypothesis import HealthCheck, settings

# `ci` is quick and derandomised (the same examples on every run); `thorough` explores.
settings.register_profile(
    "ci", max_examples=12, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev", max_examples=25, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough", max_examples=300, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Each xdist worker gets one thread: two workers on two cores, no oversubscription.
torch.set_num_threads(int(os.environ.get("ENCODEC_CONFORMANCE_THREADS", "1")))


@pytest.fixture(scope="module")
def no_grad():
    """Inference-only test modules: autograd off for the module, restored afterwards (never
    switched off at import time, which would leak into other modules in the same worker)."""
    with torch.no_grad():
        yield


@pytest.fixture(autouse=True)
def _grad_mode_does_not_leak():
    """Fail loudly if a test leaves autograd switched off for the tests after it."""
    before = torch.is_grad_enabled()
    yield
    assert torch.is_grad_enabled() == before, "a test changed torch's grad mode and left it"
