"""pytest plugin (entry point `encodec_conformance`): registers the suite's markers."""

from __future__ import annotations

__all__ = ["pytest_configure"]


def pytest_configure(config) -> None:  # noqa: ANN001 - pytest's Config
    config.addinivalue_line(
        "markers", "peers: compares the reference with transformers and the original encodec")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    config.addinivalue_line(
        "markers", "golden: runs the bundled golden checkpoints (regression, quality, "
        "sensitivity)")
