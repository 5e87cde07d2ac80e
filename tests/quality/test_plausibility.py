"""Implausible metrics: a good score the signal's spectrum or the other metric contradicts is
flagged, with the numbers; an honest good score is not."""

from __future__ import annotations

import math

import pytest
import torch

from conformance.quality.metrics import MetricResult
from conformance.quality.plausibility import band_energy_fraction, implausible
from conformance.status import Status

SR = 16000


def _tone(freq: float, seconds: float = 1.0, amp: float = 0.5) -> torch.Tensor:
    t = torch.arange(int(seconds * SR), dtype=torch.float64) / SR
    return (amp * torch.sin(2 * math.pi * freq * t)).float()


def _scores(**values: float) -> dict[str, MetricResult]:
    return {k: MetricResult(k, v, Status.COMPUTED) for k, v in values.items()}


def test_band_energy_fraction_measures_where_the_energy_is():
    assert band_energy_fraction(_tone(1000), SR, 100, 7900) == pytest.approx(1.0, abs=1e-3)
    assert band_energy_fraction(_tone(7990), SR, 100, 7900) < 0.01
    assert band_energy_fraction(torch.full((SR,), 0.3), SR, 100, 7900) < 1e-6  # DC
    assert band_energy_fraction(torch.zeros(SR), SR, 100, 7900) == 0.0
    stereo = torch.stack([_tone(1000), _tone(1000)])
    assert band_energy_fraction(stereo, SR, 100, 7900) == pytest.approx(1.0, abs=1e-3)


def test_a_good_pesq_on_a_decode_that_is_mostly_dc_is_flagged():
    reference = _tone(440)
    decode = torch.full_like(reference, 0.4) + 0.01 * reference  # static: DC, faint speech
    flags = implausible(_scores(pesq_wb=4.23, stoi=0.48), reference, decode, SR)
    assert "pesq_wb" in flags and "the band pesq_wb hears" in flags["pesq_wb"]


def test_contradicting_metrics_are_flagged_both_ways():
    x = _tone(440)
    assert "unintelligible" in implausible(_scores(pesq_wb=3.4, stoi=0.5), x, x, SR)["pesq_wb"]
    assert "stoi" in implausible(_scores(pesq_wb=1.1, stoi=0.95), x, x, SR)


def test_honest_scores_good_or_bad_are_not_flagged():
    x = _tone(440)
    assert implausible(_scores(pesq_wb=4.4, stoi=0.97), x, x, SR) == {}
    assert implausible(_scores(pesq_wb=1.2, stoi=0.5), x, torch.zeros_like(x), SR) == {}
    missing = {"pesq_wb": MetricResult("pesq_wb", None, Status.NOT_COMPUTED, "pesq missing")}
    assert implausible(missing, x, x, SR) == {}
