"""Metric values that cannot be trusted: a good score the other measurements contradict.

Every perceptual metric hears only part of a signal. PESQ-WB resamples to 16 kHz and weighs
roughly 100-7,000 Hz; STOI looks at third-octave envelopes from 150 Hz to about 4.5 kHz. A
decode whose energy sits mostly at DC or above 8 kHz is judged by PESQ on the small rest alone.
Measured: the 32 kHz golden model at its fresh initialisation (the "static noise" of a load in
which no key mapped) decodes the female speech clip to a DC offset and tones at 4, 8 and
16 kHz plus a faint, linearly filtered copy of the speech: PESQ-WB 4.23 -- a near-perfect
score -- while STOI is 0.48, SI-SDR -63.7 dB, mel distance 1.22, and only 0.7 % of the
decode's energy lies in PESQ's band (the reference: 100 %).

So a metric is *implausible* -- flagged, never counted as a pass -- when it claims a good score
and

- the decode's energy in that metric's band is less than half of the reference's share (the
  metric judged a small part of the signal), or
- PESQ-WB and STOI contradict each other (PESQ-WB >= 3.0 with STOI < 0.6, or STOI >= 0.9
  with PESQ-WB < 1.3).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from conformance.quality.metrics import MetricResult

__all__ = ["BANDS", "GOOD", "band_energy_fraction", "implausible"]

#: The band (Hz) each perceptual metric hears.
BANDS: dict[str, tuple[float, float]] = {"pesq_wb": (100.0, 7900.0), "pesq_nb": (300.0, 3400.0),
                                         "stoi": (150.0, 4500.0), "estoi": (150.0, 4500.0)}
#: A score at or above this is a claim of good quality that must be backed.
GOOD: dict[str, float] = {"pesq_wb": 2.5, "pesq_nb": 2.5, "stoi": 0.85, "estoi": 0.8}


def band_energy_fraction(x: torch.Tensor, sample_rate: int, low: float, high: float) -> float:
    """Share of the energy of the mono mix of `x` ([T] or [C, T]) between `low` and `high` Hz."""
    x = x.detach().double().cpu()
    if x.dim() == 2:
        x = x.mean(0)
    power = torch.fft.rfft(x).abs().pow(2)
    total = float(power.sum())
    if total <= 0.0:
        return 0.0
    freqs = torch.fft.rfftfreq(x.shape[-1], 1.0 / sample_rate)
    return float(power[(freqs >= low) & (freqs <= high)].sum()) / total


def implausible(results: Mapping[str, MetricResult], reference: torch.Tensor,
                degraded: torch.Tensor, sample_rate: int) -> dict[str, str]:
    """metric name -> why its (good) value cannot be trusted, for every implausible metric."""
    flags: dict[str, str] = {}
    values = {k: r.value for k, r in results.items() if r.ok}
    for name, value in values.items():
        if name not in GOOD or value < GOOD[name]:
            continue
        low, high = BANDS[name]
        ref = band_energy_fraction(reference, sample_rate, low, high)
        deg = band_energy_fraction(degraded, sample_rate, low, high)
        if deg < 0.5 * ref:
            flags[name] = (f"{name}={value:.3f} is implausible: only {deg:.1%} of the decode's "
                           f"energy lies in {low:g}-{high:g} Hz, the band {name} hears (the "
                           f"reference: {ref:.1%}); the rest is at DC or outside that band")
    pesq, stoi = values.get("pesq_wb"), values.get("stoi")
    if pesq is not None and stoi is not None:
        if pesq >= 3.0 and stoi < 0.6:
            flags.setdefault("pesq_wb", f"pesq_wb={pesq:.3f} is implausible: STOI is {stoi:.3f} "
                                        "(a good PESQ-WB with unintelligible speech)")
        if stoi >= 0.9 and pesq < 1.3:
            flags.setdefault("stoi", f"stoi={stoi:.3f} is implausible: PESQ-WB is {pesq:.3f}")
    return flags
