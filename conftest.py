"""Suite-wide settings: hypothesis profiles and single-threaded torch per xdist worker."""

import os

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
