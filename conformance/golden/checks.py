"""The quality and sensitivity checks run on the golden checkpoints.

- **quality**: every speech clip x bandwidth meets the golden thresholds
  (`conformance.golden.thresholds`), from the manifest's recorded metrics (`quality_rows`) or
  computed now (`live_quality_rows`);
- **sensitivity**: every applicable breaker (`conformance.golden.breakers`) run on a golden model
  must FAIL those thresholds on every speech clip, or be caught by the regression decode
  (SI-SDR against the intact decode below `REGRESSION_SI_SDR_DB`); `SensitivityRow.shortfall`
  says by how much each threshold is missed.

The regression check itself is `conformance.golden.manifest.verify_manifest`; the report that
runs all three is `conformance.golden.report`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from conformance.golden.breakers import BREAKERS, FORWARD_INVARIANT, applicable_breakers
from conformance.golden.runs import clip_audio, encode_decode
from conformance.golden.thresholds import QUALITY_METRICS, speech_clips_of
from conformance.model.encodec import EncodecModel
from conformance.quality.metrics import MetricResult, compute_metrics, si_sdr
from conformance.quality.plausibility import implausible
from conformance.quality.thresholds import CheckOutcome, ThresholdSet
from conformance.status import Status

__all__ = ["CODEWORD_MIN_DISTANCE", "DECODE_PATH", "REGRESSION_SI_SDR_DB", "QualityRow",
           "SensitivityRow", "live_quality_rows", "near_duplicate_codewords", "not_applicable",
           "quality_rows", "sensitivity_rows"]

#: A broken variant's decode is "caught by regression" below this SI-SDR (dB) against the
#: intact decode (the same bar as the stored regression decodes).
REGRESSION_SI_SDR_DB = 50.0
#: Codewords of one codebook closer than this (Euclidean) are near-duplicates: an input between
#: them picks one or the other depending on float summation order (thread count, BLAS kernel),
#: so its codes are not reproducible from machine to machine. Measured: a 32 kHz checkpoint
#: with 27 such pairs (seven codewords of stage 0 within 5e-4 of each other, 6e-8 at the
#: closest; the code silence maps to among them) encoded silence differently with 1 and 2
#: threads; the bundled checkpoints are >= 1.4e-3 apart and encode identically.
CODEWORD_MIN_DISTANCE = 1e-3
#: Breakers checked by decoding the INTACT model's codes (as a tokenizer decodes an LM's
#: tokens): a permuted codebook partly cancels in the broken model's own encode -> decode,
#: because its encoder searches the permuted codebooks too (row shuffles cancel exactly).
DECODE_PATH: frozenset[str] = FORWARD_INVARIANT | {"shuffled_codebooks"}


def near_duplicate_codewords(model: EncodecModel, tol: float = CODEWORD_MIN_DISTANCE
                             ) -> list[tuple[int, int, int, float]]:
    """(stage, i, j, distance) for every pair of codewords i < j of one stage closer than
    `tol`: the places where encoding is not reproducible across machines."""
    out = []
    for stage, layer in enumerate(model.quantizer.vq.layers):
        embed = layer._codebook.embed.detach().double()
        dist = torch.cdist(embed, embed)
        close = torch.triu(dist < tol, diagonal=1).nonzero().tolist()
        out.extend((stage, i, j, float(dist[i, j])) for i, j in close)
    return out


# ------------------------------------------------------------------------------ quality
def _results(entry: Mapping[str, Any]) -> dict[str, MetricResult]:
    out = {}
    for name, m in entry["metrics"].items():
        out[name] = (MetricResult(name, m["value"], Status.COMPUTED) if "value" in m
                     else MetricResult(name, None, Status.NOT_COMPUTED, m["reason"]))
    return out


@dataclass(frozen=True)
class QualityRow:
    """Thresholds checked for one clip x bandwidth."""

    clip: str
    bandwidth: float
    outcomes: tuple[CheckOutcome, ...]

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)


def quality_rows(family: str, manifest: Mapping[str, Any],
                 thresholds: ThresholdSet) -> list[QualityRow]:
    """Check the manifest's recorded metrics on every speech clip x bandwidth."""
    rows = []
    for clip in speech_clips_of(manifest):
        per_bw = manifest["clips"][clip]["bandwidths"]
        for key, entry in sorted(per_bw.items(), key=lambda kv: float(kv[0])):  # 3 before 12
            bw = float(key)
            outcomes = thresholds.check(family, bw, _results(entry), QUALITY_METRICS)
            rows.append(QualityRow(clip, bw, tuple(outcomes)))
    return rows


def live_quality_rows(family: str, model: EncodecModel, thresholds: ThresholdSet,
                      clips: Sequence[str], *, seconds: float | None = None,
                      bandwidths: Sequence[float] | None = None) -> list[QualityRow]:
    """Encode and decode each clip at each bandwidth (default: the model's ladder) now,
    compute the metrics and check them against `thresholds`."""
    rows = []
    for clip in clips:
        wav = clip_audio(clip, model, seconds)
        for bw in bandwidths or model.bandwidths:
            _, out = encode_decode(model, wav, float(bw))
            results = compute_metrics(wav, out, model.sample_rate, list(QUALITY_METRICS))
            outcomes = thresholds.check(family, float(bw), results, QUALITY_METRICS)
            rows.append(QualityRow(clip, float(bw), tuple(outcomes)))
    return rows


# -------------------------------------------------------------------------- sensitivity
@dataclass(frozen=True)
class SensitivityRow:
    """One breaker on one speech clip at the top bandwidth: the thresholds' outcomes."""

    breaker: str
    clip: str
    bandwidth: float
    path: str  # "forward" (own encode -> decode) or "decode" (the intact model's codes)
    outcomes: tuple[CheckOutcome, ...]
    metrics: dict[str, float | None] = field(default_factory=dict)
    #: SI-SDR (dB) of this decode against the intact model's decode of the same clip
    regression_si_sdr: float | None = None
    #: metric -> why its value cannot be trusted (`conformance.quality.plausibility`)
    implausible: dict[str, str] = field(default_factory=dict)

    @property
    def caught(self) -> bool:
        """True when at least one quality threshold fails, or a metric is implausible (an
        implausible value is never counted as a pass)."""
        return any(o.status is Status.FAILED for o in self.outcomes) or bool(self.implausible)

    @property
    def caught_by_regression(self) -> bool:
        """True when the decode is below REGRESSION_SI_SDR_DB against the intact decode."""
        return self.regression_si_sdr is not None and \
            self.regression_si_sdr < REGRESSION_SI_SDR_DB

    @property
    def shortfall(self) -> dict[str, float]:
        """Per failed metric, how far the value falls short of its threshold."""
        return {o.metric: float(o.shortfall) for o in self.outcomes
                if o.status is Status.FAILED}


def sensitivity_rows(family: str, model: EncodecModel, thresholds: ThresholdSet,
                     clips: Sequence[str], *, seconds: float | None = None,
                     breakers: Sequence[str] | None = None,
                     include_intact: bool = True) -> list[SensitivityRow]:
    """Run each applicable breaker (default: all) on `model` over `clips` at the top bandwidth
    and check the thresholds. The intact model comes first (`breaker="intact"`)."""
    bw = float(model.bandwidths[-1])
    reasons = applicable_breakers(model)
    names = [n for n in (breakers or BREAKERS) if reasons[n] is None]
    variants: list[tuple[str, EncodecModel]] = [("intact", model)] if include_intact else []
    variants += [(n, BREAKERS[n](model).eval()) for n in names]
    rows = []
    for clip in clips:
        wav = clip_audio(clip, model, seconds)
        _, intact = encode_decode(model, wav, bw)
        for name, variant in variants:
            path = "decode" if name in DECODE_PATH else "forward"
            coder = model if path == "decode" else variant
            out = intact if variant is model else encode_decode(coder, wav, bw,
                                                                decoder=variant)[1]
            results = compute_metrics(wav, out, model.sample_rate, list(QUALITY_METRICS))
            outcomes = thresholds.check(family, bw, results, QUALITY_METRICS)
            reg = si_sdr(intact, out, model.sample_rate)
            rows.append(SensitivityRow(name, clip, bw, path, tuple(outcomes),
                                       {k: r.value for k, r in results.items()},
                                       reg.value if reg.ok else None,
                                       implausible(results, wav, out, model.sample_rate)))
    return rows


def not_applicable(model: EncodecModel) -> dict[str, str]:
    """Breakers that do not apply to `model`, with the reason."""
    return {n: r for n, r in applicable_breakers(model).items() if r is not None}
