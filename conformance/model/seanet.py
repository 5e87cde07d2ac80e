"""SEANet encoder and decoder (flat `nn.Sequential` named `model`, as in the original package).

Layer order, for ratios given in decoder order (e.g. (8, 5, 4, 2)):

    encoder: conv-in | per reversed ratio: n x ResBlock, ELU, down-conv | LSTM? | ELU | conv-out
    decoder: conv-in | LSTM? | per ratio: ELU, up-convtr, n x ResBlock | ELU | conv-out

ELU modules hold no parameters but take an index, which is why checkpoint indices skip numbers.
"""

from __future__ import annotations

import torch
from torch import nn

from conformance.model.config import EncodecConfig
from conformance.model.conv import StreamableConv1d, StreamableConvTranspose1d

__all__ = ["ResnetBlock", "SEANetDecoder", "SEANetEncoder", "StreamableLSTM"]


class StreamableLSTM(nn.Module):
    """Unidirectional LSTM over time with an identity skip: y = lstm(x) + x, x as [B, C, T]."""

    def __init__(self, dim: int, num_layers: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(dim, dim, num_layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(2, 0, 1)
        y, _ = self.lstm(x)
        return (y + x).permute(1, 2, 0)


class ResnetBlock(nn.Module):
    """ELU, conv(k, dilation) to dim/compress, ELU, conv(1) back; plus identity or 1x1 conv skip."""

    def __init__(self, dim: int, cfg: EncodecConfig, dilation: int) -> None:
        super().__init__()
        hidden = dim // cfg.compress
        common = dict(causal=cfg.causal, norm=cfg.norm, pad_mode=cfg.pad_mode)
        self.block = nn.Sequential(
            nn.ELU(alpha=1.0),
            StreamableConv1d(dim, hidden, cfg.residual_kernel_size, dilation=dilation, **common),
            nn.ELU(alpha=1.0),
            StreamableConv1d(hidden, dim, 1, **common),
        )
        self.shortcut: nn.Module = (
            nn.Identity() if cfg.true_skip else StreamableConv1d(dim, dim, 1, **common)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.block(x)


class SEANetEncoder(nn.Module):
    """Waveform [B, C, L] -> latent [B, D, ceil(L / hop)]."""

    def __init__(self, cfg: EncodecConfig) -> None:
        super().__init__()
        common = dict(causal=cfg.causal, norm=cfg.norm, pad_mode=cfg.pad_mode)
        width = cfg.n_filters
        layers: list[nn.Module] = [StreamableConv1d(cfg.channels, width, cfg.kernel_size,
                                                    **common)]
        for ratio in reversed(cfg.ratios):
            for j in range(cfg.n_residual_layers):
                layers.append(ResnetBlock(width, cfg, dilation=cfg.dilation_base ** j))
            layers += [nn.ELU(alpha=1.0),
                       StreamableConv1d(width, width * 2, 2 * ratio, stride=ratio, **common)]
            width *= 2
        if cfg.lstm:
            layers.append(StreamableLSTM(width, cfg.lstm))
        layers += [nn.ELU(alpha=1.0),
                   StreamableConv1d(width, cfg.dimension, cfg.last_kernel_size, **common)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class SEANetDecoder(nn.Module):
    """Latent [B, D, T] -> waveform [B, C, T * hop]."""

    def __init__(self, cfg: EncodecConfig) -> None:
        super().__init__()
        common = dict(causal=cfg.causal, norm=cfg.norm, pad_mode=cfg.pad_mode)
        width = cfg.n_filters * 2 ** len(cfg.ratios)
        layers: list[nn.Module] = [StreamableConv1d(cfg.dimension, width, cfg.kernel_size,
                                                    **common)]
        if cfg.lstm:
            layers.append(StreamableLSTM(width, cfg.lstm))
        for ratio in cfg.ratios:
            layers += [nn.ELU(alpha=1.0),
                       StreamableConvTranspose1d(width, width // 2, 2 * ratio, stride=ratio,
                                                 causal=cfg.causal, norm=cfg.norm,
                                                 trim_right_ratio=cfg.trim_right_ratio)]
            width //= 2
            for j in range(cfg.n_residual_layers):
                layers.append(ResnetBlock(width, cfg, dilation=cfg.dilation_base ** j))
        layers += [nn.ELU(alpha=1.0),
                   StreamableConv1d(width, cfg.channels, cfg.last_kernel_size, **common)]
        self.model = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z)
