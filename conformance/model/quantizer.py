"""Residual vector quantizer (inference), with the original state-dict layout.

`quantizer.vq.layers.<i>._codebook.{inited, cluster_size, embed, embed_avg}`; codebook_dim always
equals the latent dimension (no projections), as in every released model.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from conformance.errors import ConfigError, ModelInputError

__all__ = ["EuclideanCodebook", "ResidualVectorQuantization", "ResidualVectorQuantizer",
           "VectorQuantization"]


class EuclideanCodebook(nn.Module):
    """A codebook of `bins` vectors; all four buffers are persistent, as in every checkpoint."""

    def __init__(self, dim: int, bins: int) -> None:
        super().__init__()
        self.register_buffer("inited", torch.ones(1))
        self.register_buffer("cluster_size", torch.ones(bins))
        embed = torch.randn(bins, dim)
        self.register_buffer("embed", embed)
        self.register_buffer("embed_avg", embed.clone())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Nearest code per row of x [..., D] -> int64 [...].

        The score is `-(|x|^2 - 2 x.E^T + |E|^2)` evaluated in this order in float32, the exact
        expression of the reference implementations, so near-ties resolve identically.
        """
        shape = x.shape[:-1]
        flat = x.reshape(-1, x.shape[-1]).float()
        embed_t = self.embed.float().t()
        dist = -(flat.pow(2).sum(1, keepdim=True) - 2 * flat @ embed_t
                 + embed_t.pow(2).sum(0, keepdim=True))
        return dist.max(dim=-1).indices.view(*shape)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        return F.embedding(codes, self.embed)


class VectorQuantization(nn.Module):
    """One RVQ stage: latent [B, D, T] <-> codes [B, T]."""

    def __init__(self, dim: int, bins: int) -> None:
        super().__init__()
        self._codebook = EuclideanCodebook(dim, bins)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self._codebook.encode(x.transpose(1, 2))

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        return self._codebook.decode(codes).transpose(1, 2)


class ResidualVectorQuantization(nn.Module):
    """Stages applied to successive residuals; codes stacked as [K, B, T]."""

    def __init__(self, dim: int, bins: int, n_q: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(VectorQuantization(dim, bins) for _ in range(n_q))

    def encode(self, x: torch.Tensor, n_q: int) -> torch.Tensor:
        residual = x
        out = []
        for layer in self.layers[:n_q]:
            idx = layer.encode(residual)
            residual = residual - layer.decode(idx)
            out.append(idx)
        return torch.stack(out)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        out = torch.tensor(0.0, device=codes.device)
        for i, idx in enumerate(codes):
            out = out + self.layers[i].decode(idx)
        return out


class ResidualVectorQuantizer(nn.Module):
    """The model-facing quantizer: latent [B, D, T] <-> codes [B, K, T] (int64)."""

    def __init__(self, dim: int, bins: int, n_q: int) -> None:
        super().__init__()
        self.dim, self.bins, self.n_q = dim, bins, n_q
        self.vq = ResidualVectorQuantization(dim, bins, n_q)

    def encode(self, x: torch.Tensor, n_q: int) -> torch.Tensor:
        """Codes [B, n_q, T] for latent x [B, D, T]."""
        if not 1 <= n_q <= self.n_q:
            raise ConfigError(f"n_q={n_q}: must be in [1, {self.n_q}]")
        return self.vq.encode(x, n_q).transpose(0, 1)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Latent [B, D, T] from codes [B, K, T] with any K <= n_q (sum of the first K stages)."""
        if codes.dim() != 3:
            raise ModelInputError(f"codes.shape={tuple(codes.shape)}: expected [B, K, T]")
        if codes.shape[1] > self.n_q or codes.shape[1] < 1:
            raise ModelInputError(f"codes.shape={tuple(codes.shape)}: K={codes.shape[1]} "
                                  f"codebooks, but the model has {self.n_q}")
        if codes.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
            raise ModelInputError(f"codes.dtype={codes.dtype}: expected an integer tensor")
        if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= self.bins):
            raise ModelInputError(f"codes out of range [0, {self.bins}): min="
                                  f"{int(codes.min())}, max={int(codes.max())}")
        codes = codes.long()
        if codes.shape[-1] == 0:
            return torch.zeros(codes.shape[0], self.dim, 0)
        return self.vq.decode(codes.transpose(0, 1))
