"""Training-time residual vector quantization on the reference model's own codebooks.

`TrainingRVQ` drives `model.quantizer` (a plain inference `ResidualVectorQuantizer`) the way
EnCodec/AudioCraft train it, keeping every bit of training state in the codebooks' persistent
buffers (`inited`, `cluster_size`, `embed`, `embed_avg`), so the trained model's state dict is
exactly a released checkpoint's:

- codes are chosen with the inference distance (`EuclideanCodebook.encode`), so training and
  inference never disagree on a near-tie;
- a codebook whose `inited` is 0 is initialised by k-means on the first batch it sees
  (`inited` becomes 1, `cluster_size` the cluster counts, `embed_avg` = embed x count);
- every step updates `cluster_size` and `embed_avg` by an exponential moving average (decay
  0.99) and sets `embed = embed_avg / laplace_smoothed(cluster_size)` (eps 1e-5);
- codes whose EMA cluster size falls below the dead-code threshold (2) are replaced by random
  vectors of the current batch, *after* the EMA update so the replacement is not overwritten
  (their `embed_avg` and `cluster_size` are reset to match);
- the stages see detached residuals except for the commitment term, and the straight-through
  estimator is applied once, on the sum of the stages (as AudioCraft does; the original
  package keeps a per-stage version whose commitment gradient is zero, for reproducibility);
- quantizer dropout: with probability `q_dropout` a batch uses a random rung of the bandwidth
  ladder instead of every codebook.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch.nn import functional as F

from conformance.model.quantizer import EuclideanCodebook, ResidualVectorQuantizer

__all__ = ["QuantizeOutput", "TrainingRVQ", "kmeans", "laplace_smoothing"]


@dataclass
class QuantizeOutput:
    """`quantized` [B, D, T] (straight-through: its gradient goes to the latent), `codes`
    [B, K, T], the mean commitment loss over the K stages, and per-step statistics."""

    quantized: torch.Tensor
    codes: torch.Tensor
    commit_loss: torch.Tensor
    n_q: int
    replaced: int = 0
    perplexity: list[float] = field(default_factory=list)


def _sample_rows(x: torch.Tensor, n: int, gen: torch.Generator) -> torch.Tensor:
    """n rows of x [N, D]: without replacement when N >= n, else with replacement."""
    count = x.shape[0]
    if count >= n:
        idx = torch.randperm(count, generator=gen)[:n]
    else:
        idx = torch.randint(0, count, (n,), generator=gen)
    return x[idx.to(x.device)]


def _nearest(x: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
    """Index of the nearest row of `means` for each row of x, with the inference expression."""
    dist = -(x.pow(2).sum(1, keepdim=True) - 2 * x @ means.t() + means.pow(2).sum(1)[None])
    return dist.max(dim=-1).indices


def kmeans(x: torch.Tensor, k: int, iters: int,
           gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Lloyd's k-means of x [N, D] into k means; empty clusters keep their previous mean.

    Returns the means [k, D] and the cluster counts [k] of the last assignment.
    """
    x = x.float()
    means = _sample_rows(x, k, gen).clone()
    counts = torch.zeros(k, device=x.device)
    for _ in range(max(1, iters)):
        assign = _nearest(x, means)
        counts = torch.bincount(assign, minlength=k).to(x.dtype)
        sums = torch.zeros_like(means).index_add_(0, assign, x)
        empty = counts == 0
        means = torch.where(empty[:, None], means, sums / counts.clamp_min(1)[:, None])
    return means, counts


def laplace_smoothing(counts: torch.Tensor, eps: float) -> torch.Tensor:
    """(n_i + eps) / (sum n + K eps) * sum n: counts kept away from 0 with the same total."""
    total = counts.sum()
    return (counts + eps) / (total + counts.numel() * eps) * total


class TrainingRVQ:
    """Trains `quantizer`'s codebooks in place (see the module docstring).

    `n_q_choices` are the codebook counts quantizer dropout draws from (by default the
    model's bandwidth ladder); the generator drives dropout, k-means and dead-code sampling.
    """

    def __init__(self, quantizer: ResidualVectorQuantizer, *, decay: float = 0.99,
                 epsilon: float = 1e-5, dead_code_threshold: float = 2.0,
                 dead_code_ref_vectors: int | None = None, kmeans_iters: int = 50,
                 q_dropout: float = 0.0, n_q_choices: Sequence[int] | None = None,
                 seed: int = 0) -> None:
        if not 0.0 <= q_dropout <= 1.0:
            raise ValueError(f"q_dropout={q_dropout}: must be in [0, 1]")
        self.quantizer = quantizer
        self.decay, self.epsilon = decay, epsilon
        self.dead_code_threshold = dead_code_threshold
        self.dead_code_ref_vectors = dead_code_ref_vectors
        self.kmeans_iters = kmeans_iters
        self.q_dropout = q_dropout
        choices = sorted(set(n_q_choices or range(1, quantizer.n_q + 1)))
        if not all(1 <= c <= quantizer.n_q for c in choices):
            raise ValueError(f"n_q_choices={choices}: each must be in [1, {quantizer.n_q}]")
        self.n_q_choices = choices
        self.generator = torch.Generator().manual_seed(seed)

    # ------------------------------------------------------------------------------ state
    @property
    def codebooks(self) -> list[EuclideanCodebook]:
        return [layer._codebook for layer in self.quantizer.vq.layers]

    @torch.no_grad()
    def reset_(self) -> None:
        """Mark every codebook uninitialised: the next batch initialises it by k-means."""
        for cb in self.codebooks:
            cb.inited.zero_()
            cb.cluster_size.zero_()

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.generator.set_state(state["generator"])

    # ----------------------------------------------------------------------------- steps
    def pick_n_q(self) -> int:
        """Codebooks for this batch: all, or with probability q_dropout a random choice."""
        u = float(torch.rand((), generator=self.generator))
        if u >= self.q_dropout:
            return self.quantizer.n_q
        i = int(torch.randint(0, len(self.n_q_choices), (), generator=self.generator))
        return self.n_q_choices[i]

    def threshold_for(self, n_vectors: int) -> float:
        """Dead-code threshold (EMA counts) for a batch of `n_vectors` vectors."""
        if self.dead_code_ref_vectors is None:
            return self.dead_code_threshold
        return self.dead_code_threshold * n_vectors / self.dead_code_ref_vectors

    @torch.no_grad()
    def init_codebook_(self, cb: EuclideanCodebook, flat: torch.Tensor) -> None:
        means, counts = kmeans(flat, cb.embed.shape[0], self.kmeans_iters, self.generator)
        cb.embed.copy_(means)
        cb.cluster_size.copy_(counts)
        cb.embed_avg.copy_(means * counts[:, None])
        cb.inited.fill_(1.0)

    @torch.no_grad()
    def ema_update_(self, cb: EuclideanCodebook, flat: torch.Tensor,
                    idx: torch.Tensor) -> None:
        """EMA of the cluster sizes and sums, then embed = sums / smoothed sizes."""
        bins = cb.embed.shape[0]
        counts = torch.bincount(idx, minlength=bins).to(flat.dtype)
        sums = torch.zeros_like(cb.embed_avg).index_add_(0, idx, flat)
        cb.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        cb.embed_avg.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        smoothed = laplace_smoothing(cb.cluster_size, self.epsilon)
        cb.embed.copy_(cb.embed_avg / smoothed[:, None])

    @torch.no_grad()
    def expire_dead_codes_(self, cb: EuclideanCodebook, flat: torch.Tensor) -> int:
        """Replace codes whose EMA size is below the threshold by random batch vectors."""
        threshold = self.threshold_for(flat.shape[0])
        dead = cb.cluster_size < threshold
        n_dead = int(dead.sum())
        if n_dead == 0:
            return 0
        fresh = _sample_rows(flat, n_dead, self.generator)
        cb.embed[dead] = fresh
        cb.embed_avg[dead] = fresh * threshold
        cb.cluster_size[dead] = threshold
        return n_dead

    def __call__(self, z: torch.Tensor, n_q: int | None = None,
                 update: bool = True) -> QuantizeOutput:
        """Quantize latent z [B, D, T] with the first `n_q` stages (default: pick_n_q()).

        With `update`, the codebooks learn from this batch (initialisation, EMA, dead codes).
        """
        if n_q is None:
            n_q = self.pick_n_q() if update else self.quantizer.n_q
        if not 1 <= n_q <= self.quantizer.n_q:
            raise ValueError(f"n_q={n_q}: must be in [1, {self.quantizer.n_q}]")
        residual = z
        total = torch.zeros_like(z)
        commits, codes, perplexity = [], [], []
        replaced = 0
        for cb in self.codebooks[:n_q]:
            flat = residual.detach().transpose(1, 2).reshape(-1, z.shape[1]).float()
            if update and not bool(cb.inited.item()):
                self.init_codebook_(cb, flat)
            with torch.no_grad():
                idx = cb.encode(flat)
                q_flat = cb.decode(idx)
            q = q_flat.view(z.shape[0], z.shape[2], z.shape[1]).transpose(1, 2).to(z.dtype)
            commits.append(F.mse_loss(residual, q.detach()))
            if update:
                self.ema_update_(cb, flat, idx)
                replaced += self.expire_dead_codes_(cb, flat)
            probs = torch.bincount(idx, minlength=cb.embed.shape[0]).float() / idx.numel()
            perplexity.append(float(torch.exp(-(probs * (probs + 1e-10).log()).sum())))
            codes.append(idx.view(z.shape[0], z.shape[2]))
            total = total + q.detach()
            residual = residual - q.detach()
        quantized = z + (total - z).detach()  # straight-through, once, on the sum
        return QuantizeOutput(quantized=quantized, codes=torch.stack(codes, dim=1),
                              commit_loss=torch.stack(commits).mean(), n_q=n_q,
                              replaced=replaced, perplexity=perplexity)
