"""Training data: the seeded segment sampler and loading a corpus."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from conformance.training.data import SegmentSampler, active_rms, load_corpus, make_clip


def _clips(sr: int = 8000, channels: int = 1):
    gen = torch.Generator().manual_seed(1)
    tone = torch.sin(torch.arange(3 * sr) / sr * 2 * np.pi * 220)[None]
    clips = [make_clip("a", "speech", 0.3 * tone.repeat(channels, 1), mono_origin=True),
             make_clip("b", "music", torch.randn(channels, 500, generator=gen),
                       mono_origin=False)]
    assert make_clip("silent", "speech", torch.zeros(1, 100), True) is None
    return clips


def test_segment_sampler_shapes_gain_and_state() -> None:
    s = SegmentSampler(_clips(channels=2), 1000, 4, channels=2, seed=3,
                       mix={"speech": 1.0, "music": 1.0}, gain_db=(-6.0, 6.0))
    state = s.state_dict()
    a = s.next_batch()
    assert a.shape == (4, 2, 1000) and a.dtype == torch.float32
    assert float(a.abs().max()) <= 0.99 + 1e-6
    s.load_state_dict(state)
    assert torch.equal(s.next_batch(), a)
    other = SegmentSampler(_clips(channels=2), 1000, 4, channels=2, seed=4)
    assert not torch.equal(other.next_batch(), a)
    with pytest.raises(ValueError, match="selects none"):
        SegmentSampler(_clips(), 100, 2, channels=1, mix={"noise": 1.0})


def test_load_corpus_resamples_and_levels(tiny_corpus: Path) -> None:
    manifest = json.loads((tiny_corpus / "manifest.json").read_text())
    clips = load_corpus(tiny_corpus, 16000, 1)
    assert len(clips) == len(manifest["files"])
    clip = clips[0]
    assert clip.samples.dtype == torch.int16 and clip.samples.shape[0] == 1
    assert clip.length == pytest.approx(manifest["files"][0]["duration"] * 16000, abs=2)
    assert active_rms(clip.samples.float() * clip.scale) == pytest.approx(0.1, rel=0.05)
    assert load_corpus(tiny_corpus, 16000, 1, split="valid") == []
