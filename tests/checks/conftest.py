"""Small checkpoints for the checks' tests: a realistic random-weight 24 kHz-style model
written as an AudioCraft export, and ways to break it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conformance.checkpoints.write import write_audiocraft
from conformance.checks.engine import checkpoint_subject, run_subject
from conformance.testing.weights import random_model
from tests.configs import small

#: 24 kHz structure, 4 codebooks of 64 entries, ladder 0.9 / 1.8 kbps.
CFG = small("encodec_24khz", dimension=16, bins=64, n_q=4, target_bandwidths=(0.9, 1.8))


@pytest.fixture(scope="session")
def model():
    return random_model(CFG, seed=21)


def write(tmp: Path, state: dict[str, torch.Tensor] | None = None, cfg=CFG,
          name: str = "model.th") -> Path:
    """`state` (default: the fixture model's) as an AudioCraft export in `tmp`."""
    if state is None:
        state = random_model(CFG, seed=21).state_dict()
    return write_audiocraft(tmp / name, cfg, state)


def run(path, select=None, **options):
    """(subject, {outcome id: outcome}) of a checkpoint validation."""
    subject = checkpoint_subject(path, **options)
    keep = None if select is None else (lambda case: case.check.area in select)
    outcomes = {o.id: o for o in run_subject(subject, select=keep)}
    subject.context.close()
    return subject, outcomes
