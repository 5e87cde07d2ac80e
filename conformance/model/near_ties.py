"""Telling a near-tie from a wrong code.

Residual vector quantisation picks, codebook after codebook, the codeword nearest to what is
left of the latent. When two codewords are almost equally near, the rounding of a correct
float32 implementation (other kernels, another summation order) can pick the other one: the
codes then differ from the reference's although nothing is wrong. A wrong implementation picks
codewords that are clearly farther.

`CodeArbiter` re-runs the quantiser's choice along the implementation's own codes, in float64,
on the reference's latents: a code that differs from the reference's is accepted only when its
squared distance exceeds the nearest one's by less than the largest change a latent error of
`rtol` (relative to the frame's latent norm) can make, `2 * rtol * |z| * |e_chosen - e_best|`.
Later codebooks of the same frame quantise the residual the implementation's choice left, so a
tie early in a frame may legitimately change every later code of that frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from conformance.model.encodec import EncodecModel

__all__ = ["NEAR_TIE_RTOL", "CodeArbiter"]

#: The latent error (relative to a frame's latent norm) that float32 rounding differences
#: between correct implementations or machines stay well below (measured: 1e-7 to 1e-5).
NEAR_TIE_RTOL = 1e-4


@dataclass
class CodeArbiter:
    """Judges the code differences of one input (`audio` [B, C, T]) against `model`'s
    latents of it. Call it with a chunk index and the implementation's and reference's codes
    of that chunk: None when every difference is a near-tie, else why not."""

    model: EncodecModel
    audio: torch.Tensor
    rtol: float
    accepted: int = 0
    _latents: list[torch.Tensor] | None = field(default=None, repr=False)

    def latents(self, chunk: int) -> torch.Tensor:
        if self._latents is None:
            with torch.inference_mode():
                self._latents = [z.double() for z, _ in self.model.encode_latents(self.audio)]
        return self._latents[chunk]

    def codebooks(self) -> list[torch.Tensor]:
        return [layer._codebook.embed.double() for layer in self.model.quantizer.vq.layers]

    def __call__(self, chunk: int, got: torch.Tensor, want: torch.Tensor) -> str | None:
        z = self.latents(chunk)
        if z.shape[0] != got.shape[0] or z.shape[-1] != got.shape[-1]:
            return (f"codes of shape {tuple(got.shape)} do not match the reference's latents "
                    f"{tuple(z.shape)}")
        books = self.codebooks()
        differ = (got.long() != want.long())
        for b, t in sorted({(int(b), int(t)) for b, _, t in differ.nonzero().tolist()}):
            if why := self._walk(z[b, :, t], got[b, :, t].long(), books, b, t):
                return why
        self.accepted += int(differ.sum())
        return None

    def _walk(self, latent: torch.Tensor, codes: torch.Tensor, books: list[torch.Tensor],
              b: int, t: int) -> str | None:
        residual = latent.clone()
        norm = float(latent.norm())
        for k, j in enumerate(codes.tolist()):
            embed = books[k]
            if not 0 <= j < embed.shape[0]:
                return f"code {j} at [batch {b}, codebook {k}, frame {t}] is out of range"
            dist = (residual[None, :] - embed).pow(2).sum(1)
            best = int(dist.argmin())
            if j != best:
                gap = float(dist[j] - dist[best])
                allowed = 2 * self.rtol * norm * float((embed[j] - embed[best]).norm())
                if gap > allowed:
                    return (f"at [batch {b}, codebook {k}, frame {t}] code {j} is not a "
                            f"near-tie: on the reference's latent its squared distance "
                            f"exceeds that of the nearest code {best} by {gap:.3g} (rounding "
                            f"explains at most {allowed:.3g})")
            residual = residual - embed[j]
        return None

