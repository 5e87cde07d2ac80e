"""Seeded random weights with realistic statistics, for tests that must detect wrong loading.

PyTorch's default init leaves a random EnCodec dominated by its biases (swapping two codebooks
changes the audio by ~1e-5), so a test built on it catches nothing. This fills the weights with
variance-preserving values, small biases, non-trivial norm gains, and codebooks sampled from the
residuals the encoder actually produces, so every code and every tensor matters.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from conformance.model.conv import WeightNormConv1d
from conformance.model.encodec import EncodecModel

__all__ = ["random_model", "realistic_random_"]


def _calibration_signal(model: EncodecModel, gen: torch.Generator, seconds: float = 1.0,
                        batch: int = 2) -> torch.Tensor:
    n = max(model.hop_length * 8, int(seconds * model.sample_rate))
    t = torch.arange(n) / model.sample_rate
    freqs = 80 + 2000 * torch.rand(batch, model.channels, 4, generator=gen)
    tone = torch.sin(2 * math.pi * freqs[..., None] * t).sum(2) * 0.1
    noise = 0.05 * torch.randn(batch, model.channels, n, generator=gen)
    env = 0.5 + 0.5 * torch.sin(2 * math.pi * 3 * t)
    return (tone + noise) * env


@torch.no_grad()
def realistic_random_(model: EncodecModel, seed: int = 0) -> EncodecModel:
    """Fill `model` in place with seeded, realistically scaled random weights and codebooks."""
    gen = torch.Generator().manual_seed(seed)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=gen)

    for module in model.modules():
        if isinstance(module, WeightNormConv1d):
            v = module.weight_v
            fan_in = v.shape[0 if module.transposed else 1] * v.shape[2]
            v.copy_(randn(*v.shape))
            # gain so that w = g * v/|v| has roughly He-like scale, varied per channel
            base = math.sqrt(2.0 * v[0].numel() / fan_in)
            module.weight_g.copy_(base * (0.5 + torch.rand(*module.weight_g.shape,
                                                           generator=gen)))
            module.bias.copy_(0.01 * randn(*module.bias.shape))
        elif isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)):
            w = module.weight
            fan_in = w.shape[0 if isinstance(module, nn.ConvTranspose1d) else 1] * w.shape[2]
            w.copy_(randn(*w.shape) * math.sqrt(2.0 / fan_in))
            module.bias.copy_(0.01 * randn(*module.bias.shape))
        elif isinstance(module, nn.GroupNorm):
            module.weight.copy_(1.0 + 0.2 * randn(*module.weight.shape))
            module.bias.copy_(0.1 * randn(*module.bias.shape))
        elif isinstance(module, nn.LSTM):
            for p in module.parameters():
                scale = 1.0 / math.sqrt(module.hidden_size)
                p.copy_((torch.rand(*p.shape, generator=gen) * 2 - 1) * scale)

    # Codebooks: stage i samples vectors of the residual left by stages < i (plus jitter).
    wav = _calibration_signal(model, gen)
    was_training = model.training
    model.eval()
    residual = model.encoder(wav).transpose(1, 2).reshape(-1, model.cfg.dimension)
    for layer in model.quantizer.vq.layers:
        cb = layer._codebook
        idx = torch.randint(0, residual.shape[0], (model.bins,), generator=gen)
        spread = residual.std(dim=0, keepdim=True).clamp_min(1e-6)
        embed = residual[idx] + 0.3 * spread * randn(model.bins, model.cfg.dimension)
        cb.embed.copy_(embed)
        cb.embed_avg.copy_(embed)
        cb.cluster_size.fill_(1.0)
        cb.inited.fill_(1.0)
        residual = residual - cb.decode(cb.encode(residual))
    model.train(was_training)
    return model


def random_model(cfg, seed: int = 0) -> EncodecModel:
    """A reference model for `cfg` with `realistic_random_` weights, in eval mode."""
    torch.manual_seed(seed)
    return realistic_random_(EncodecModel(cfg), seed).eval()
