"""A small multi-scale STFT discriminator, EnCodec-style.

Each scale takes the complex STFT of the audio (real and imaginary parts of every channel as
input planes, time x frequency), then a 2-D conv stack: a (3, 9) conv, dilated (3, 9) convs
with dilations 1, 2, 4 in time and stride 2 in frequency, a (3, 3) conv, and a (3, 3) conv to
one logit plane. Weight norm and LeakyReLU(0.2) throughout. Every hidden activation is
returned for feature matching.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

__all__ = ["MultiScaleSTFTDiscriminator", "STFTDiscriminator"]


class STFTDiscriminator(nn.Module):
    """One resolution: audio [B, C, T] -> (logits [B, 1, frames, F'], feature maps)."""

    def __init__(self, channels: int, filters: int, n_fft: int, hop_length: int | None = None,
                 dilations: Sequence[int] = (1, 2, 4)) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.hop_length = hop_length or n_fft // 4
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        convs = [weight_norm(nn.Conv2d(2 * channels, filters, (3, 9), padding=(1, 4)))]
        for d in dilations:
            convs.append(weight_norm(nn.Conv2d(filters, filters, (3, 9), stride=(1, 2),
                                               dilation=(d, 1), padding=(d, 4))))
        convs.append(weight_norm(nn.Conv2d(filters, filters, (3, 3), padding=(1, 1))))
        self.convs = nn.ModuleList(convs)
        self.conv_post = weight_norm(nn.Conv2d(filters, 1, (3, 3), padding=(1, 1)))
        self.act = nn.LeakyReLU(0.2)

    def spectrogram(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 2C, frames, freq]: real parts of each channel, then imaginary parts."""
        b, c, t = x.shape
        spec = torch.stft(x.reshape(b * c, t), self.n_fft, hop_length=self.hop_length,
                          win_length=self.n_fft, window=self.window, normalized=True,
                          center=True, pad_mode="constant", return_complex=True)
        spec = spec.view(b, c, *spec.shape[1:])  # [B, C, F, frames]
        return torch.cat([spec.real, spec.imag], dim=1).transpose(2, 3)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h = self.spectrogram(x)
        features = []
        for conv in self.convs:
            h = self.act(conv(h))
            features.append(h)
        return self.conv_post(h), features


class MultiScaleSTFTDiscriminator(nn.Module):
    """Several `STFTDiscriminator`s, one per FFT size (hop = n_fft / 4)."""

    def __init__(self, channels: int = 1, filters: int = 8,
                 n_ffts: Sequence[int] = (2048, 1024, 512, 256, 128)) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(
            STFTDiscriminator(channels, filters, n) for n in n_ffts)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
        """Logits and feature maps of every scale."""
        logits, features = [], []
        for disc in self.discriminators:
            out, feats = disc(x)
            logits.append(out)
            features.append(feats)
        return logits, features
