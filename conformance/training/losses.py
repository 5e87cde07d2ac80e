"""Reconstruction and adversarial losses (EnCodec's terms, fixed weights).

- `l1_loss`: mean absolute waveform error;
- `MultiScaleMelLoss`: log-mel L1 + L2 over several STFT sizes (window 2**i, hop window/4);
- `MultiResolutionSTFTLoss`: spectral convergence + log-magnitude L1 on full-resolution STFTs;
- `hinge_discriminator_loss` / `hinge_generator_loss`: hinge GAN losses over several
  discriminators;
- `feature_matching_loss`: relative L1 between the discriminators' feature maps of the real
  and the decoded audio.
The commitment loss comes from `TrainingRVQ` (vq.py).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["MultiResolutionSTFTLoss", "MultiScaleMelLoss", "feature_matching_loss",
           "hinge_discriminator_loss", "hinge_generator_loss", "l1_loss"]


def l1_loss(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between decoded y and target x (any equal shapes)."""
    return (y - x).abs().mean()


def _mel_filters(sample_rate: int, n_fft: int, n_mels: int) -> torch.Tensor:
    import torchaudio.functional as AF

    with warnings.catch_warnings():  # small windows leave some low mel bands empty: harmless
        warnings.simplefilter("ignore", UserWarning)
        return AF.melscale_fbanks(n_fft // 2 + 1, 0.0, sample_rate / 2, n_mels, sample_rate,
                                  norm="slaney", mel_scale="slaney")


class MultiScaleMelLoss(nn.Module):
    """Mean over scales of mean|log10 M(y) - log10 M(x)| + mean (log10 M(y) - log10 M(x))^2.

    M is a mel spectrogram of the window-normalised STFT magnitude (a full-scale sine peaks
    near 0.5), floored at `floor` (-100 dB). Channels are treated as separate signals.
    """

    def __init__(self, sample_rate: int, scales: Sequence[int] = (6, 7, 8, 9, 10, 11),
                 n_mels: int = 64, floor: float = 1e-5) -> None:
        super().__init__()
        self.n_ffts = [2 ** int(i) for i in scales]
        self.floor = floor
        for n_fft in self.n_ffts:
            window = torch.hann_window(n_fft)
            self.register_buffer(f"window_{n_fft}", window / window.sum(), persistent=False)
            self.register_buffer(f"mel_{n_fft}", _mel_filters(sample_rate, n_fft, n_mels),
                                 persistent=False)

    def log_mel(self, x: torch.Tensor, n_fft: int) -> torch.Tensor:
        """log10 mel spectrogram [N, frames, n_mels] of x [..., T]."""
        flat = x.reshape(-1, x.shape[-1])
        spec = torch.stft(flat, n_fft, hop_length=n_fft // 4, win_length=n_fft,
                          window=getattr(self, f"window_{n_fft}"), center=True,
                          pad_mode="constant", return_complex=True)
        mag = (spec.real.pow(2) + spec.imag.pow(2)).clamp_min(1e-12).sqrt()
        mel = mag.transpose(1, 2) @ getattr(self, f"mel_{n_fft}")
        return mel.clamp_min(self.floor).log10()

    def forward(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        total = y.new_zeros(())
        for n_fft in self.n_ffts:
            diff = self.log_mel(y, n_fft) - self.log_mel(x, n_fft)
            total = total + diff.abs().mean() + diff.pow(2).mean()
        return total / len(self.n_ffts)


class MultiResolutionSTFTLoss(nn.Module):
    """Mean over resolutions of spectral convergence ||Y| - |X||_F / ||X||_F plus
    mean|log10 |Y| - log10 |X|| on the full linear-frequency STFT (window-normalised,
    floored at `floor`). Unlike a 64-band mel loss it resolves the harmonics of voiced speech.
    """

    def __init__(self, resolutions: Sequence[tuple[int, int]] = ((512, 128), (1024, 256),
                                                                 (2048, 512)),
                 floor: float = 1e-5) -> None:
        super().__init__()
        self.resolutions = [(int(n), int(h)) for n, h in resolutions]
        self.floor = floor
        for n_fft, _ in self.resolutions:
            window = torch.hann_window(n_fft)
            self.register_buffer(f"window_{n_fft}", window / window.sum(), persistent=False)

    def magnitude(self, x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1])
        spec = torch.stft(flat, n_fft, hop_length=hop, win_length=n_fft,
                          window=getattr(self, f"window_{n_fft}"), center=True,
                          pad_mode="constant", return_complex=True)
        return (spec.real.pow(2) + spec.imag.pow(2)).clamp_min(1e-14).sqrt()

    def forward(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        total = y.new_zeros(())
        for n_fft, hop in self.resolutions:
            my, mx = self.magnitude(y, n_fft, hop), self.magnitude(x, n_fft, hop)
            sc = (my - mx).norm() / mx.norm().clamp_min(1e-8)
            log = (my.clamp_min(self.floor).log10() - mx.clamp_min(self.floor).log10()).abs()
            total = total + sc + log.mean()
        return total / len(self.resolutions)


def hinge_discriminator_loss(real: Sequence[torch.Tensor],
                             fake: Sequence[torch.Tensor]) -> torch.Tensor:
    """Mean over discriminators of mean(relu(1 - D(x))) + mean(relu(1 + D(y)))."""
    losses = [F.relu(1 - r).mean() + F.relu(1 + f).mean() for r, f in zip(real, fake)]
    return torch.stack(losses).mean()


def hinge_generator_loss(fake: Sequence[torch.Tensor]) -> torch.Tensor:
    """Mean over discriminators of mean(relu(1 - D(y)))."""
    return torch.stack([F.relu(1 - f).mean() for f in fake]).mean()


def feature_matching_loss(real: Sequence[Sequence[torch.Tensor]],
                          fake: Sequence[Sequence[torch.Tensor]]) -> torch.Tensor:
    """Mean over discriminators and layers of mean|D_l(x) - D_l(y)| / mean|D_l(x)|
    (the real features are constants)."""
    terms = []
    for real_maps, fake_maps in zip(real, fake):
        for r, f in zip(real_maps, fake_maps):
            r = r.detach()
            terms.append((r - f).abs().mean() / (r.abs().mean() + 1e-8))
    return torch.stack(terms).mean()
