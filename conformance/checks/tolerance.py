"""How close an implementation must come to the reference: one profile per precision.

- `fp32` (default): codes identical, except where the reference's own choice is a near-tie
  that float32 rounding can flip (`code_tie_rtol`, see `conformance/model/near_ties.py`); decodes
  within `decode_atol` (1e-4 absolute: transformers
  and the original package decode the golden checkpoints bitwise equal to the reference on this
  CPU, so the bound only absorbs other BLAS kernels and hardware); scales within 1e-5 relative.
- `bf16` / `fp16`: for reduced-precision implementations; a few codes may flip at near-ties
  (`codes_min_agreement` per codebook), decodes must stay within `decode_min_si_sdr_db` of the
  reference decode, scales within 1 % relative.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.errors import InvalidArgument
from conformance.model.near_ties import NEAR_TIE_RTOL

__all__ = ["TOLERANCES", "Tolerance", "get_tolerance"]


@dataclass(frozen=True)
class Tolerance:
    name: str
    codes_min_agreement: float
    decode_atol: float | None
    decode_min_si_sdr_db: float | None
    scale_rtol: float
    #: a code that differs from the reference's passes when it is a near-tie under a latent
    #: error of this much (relative to the frame's latent norm); None: no tie allowance
    code_tie_rtol: float | None = None

    def describe(self) -> str:
        codes = ("identical codes" if self.codes_min_agreement >= 1.0 else
                 f">= {self.codes_min_agreement:.0%} of codes equal per codebook")
        if self.code_tie_rtol is not None:
            codes += f" (near-ties within {self.code_tie_rtol:g} relative latent error excepted)"
        decode = (f"decodes within {self.decode_atol:g} absolute" if self.decode_atol else
                  f"decodes within SI-SDR >= {self.decode_min_si_sdr_db:g} dB")
        return f"{self.name}: {codes}, {decode}, scales within {self.scale_rtol:g} relative"


TOLERANCES: dict[str, Tolerance] = {
    "fp32": Tolerance("fp32", 1.0, 1e-4, None, 1e-5, code_tie_rtol=NEAR_TIE_RTOL),
    "bf16": Tolerance("bf16", 0.98, None, 25.0, 1e-2),
    "fp16": Tolerance("fp16", 0.99, None, 30.0, 1e-2),
}


def get_tolerance(name: str | Tolerance) -> Tolerance:
    if isinstance(name, Tolerance):
        return name
    if name not in TOLERANCES:
        raise InvalidArgument(f"--encodec-tolerance {name!r}: choose one of "
                              f"{', '.join(TOLERANCES)}")
    return TOLERANCES[name]
