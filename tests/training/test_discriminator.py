"""The multi-scale STFT discriminator."""

from __future__ import annotations

import torch

from conformance.training.discriminator import MultiScaleSTFTDiscriminator
from conformance.training.losses import hinge_generator_loss


def test_discriminator_output_shapes() -> None:
    disc = MultiScaleSTFTDiscriminator(channels=2, filters=4, n_ffts=(256, 128))
    x = torch.randn(3, 2, 4000)
    logits, feats = disc(x)
    assert len(logits) == len(feats) == 2
    for n_fft, lg, fs in zip((256, 128), logits, feats):
        frames, freqs = 4000 // (n_fft // 4) + 1, n_fft // 2 + 1
        assert lg.shape[:3] == (3, 1, frames)
        assert lg.shape[3] == -(-freqs // 8)  # three stride-2 layers along frequency
        assert len(fs) == 5 and all(f.shape[:2] == (3, 4) for f in fs)
    hinge_generator_loss(logits).backward()
    assert all(p.grad is not None for p in disc.parameters())
