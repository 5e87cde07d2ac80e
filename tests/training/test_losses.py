"""The training losses: reconstruction (L1, mel, STFT) and adversarial."""

from __future__ import annotations

import pytest
import torch

from conformance.training.losses import (
    MultiResolutionSTFTLoss,
    MultiScaleMelLoss,
    feature_matching_loss,
    hinge_discriminator_loss,
    hinge_generator_loss,
    l1_loss,
)


def test_losses_zero_for_identical_and_positive_otherwise() -> None:
    gen = torch.Generator().manual_seed(0)
    x = 0.1 * torch.randn(2, 2, 4000, generator=gen)
    y = x + 0.01 * torch.randn(2, 2, 4000, generator=gen)
    mel = MultiScaleMelLoss(16000, scales=(6, 7, 8, 9))
    assert float(l1_loss(x, x)) == 0.0
    assert float(mel(x, x)) == 0.0
    assert float(l1_loss(y, x)) > 0
    assert float(mel(y, x)) > 0
    assert float(mel(0.5 * x, x)) > float(mel(y, x))  # a gain error is audible in log-mel


def test_stft_loss_sees_harmonics_a_mel_loss_blurs() -> None:
    """A 1 kHz tone against a 1.03 kHz tone: the full-resolution STFT loss separates them
    clearly more than the 64-band mel loss does (both share mel bands at 2 kHz and up)."""
    t = torch.arange(16000) / 16000
    x = 0.1 * torch.sin(2 * torch.pi * 1000 * t)[None, None]
    y = 0.1 * torch.sin(2 * torch.pi * 1030 * t)[None, None]
    stft = MultiResolutionSTFTLoss()
    assert float(stft(x, x)) == 0.0
    assert float(stft(y, x)) > 0.5
    yy = y.clone().requires_grad_(True)
    stft(yy, x).backward()
    assert torch.isfinite(yy.grad).all() and float(yy.grad.abs().sum()) > 0


def test_mel_loss_has_gradient() -> None:
    x = 0.1 * torch.randn(1, 1, 2000)
    y = (0.9 * x).requires_grad_(True)
    MultiScaleMelLoss(8000, scales=(6, 7))(y, x).backward()
    assert torch.isfinite(y.grad).all() and float(y.grad.abs().sum()) > 0


def test_adversarial_losses() -> None:
    real, fake = [torch.full((2, 1, 3, 3), 2.0)], [torch.full((2, 1, 3, 3), -2.0)]
    assert float(hinge_discriminator_loss(real, fake)) == 0.0  # confident and right
    assert float(hinge_discriminator_loss(fake, real)) == pytest.approx(6.0)
    assert float(hinge_generator_loss(real)) == 0.0
    assert float(hinge_generator_loss(fake)) == pytest.approx(3.0)
    feats = [[torch.randn(2, 4, 5, 6), torch.randn(2, 4, 5, 3)]]
    assert float(feature_matching_loss(feats, feats)) == 0.0
    other = [[f + 1 for f in feats[0]]]
    assert float(feature_matching_loss(feats, other)) > 0
