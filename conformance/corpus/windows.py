"""Quality metrics of a long file in bounded memory: scored window by window, then combined.

`WindowedMetrics(sample_rate, bandwidths, metrics, window_seconds)` takes aligned pieces of
input and decodes (`conformance.corpus.segments.Piece`) and cuts them into windows of
`window_seconds` (default 30 s); each window is scored with
`conformance.quality.metrics.compute_metrics`, exactly as a whole clip is, and only the window
being filled is held in memory. The last window takes the remainder; a remainder shorter than
half a window is joined to the window before it (so no window is shorter than half a window,
unless the file is), which needs half a window of look-ahead.

A file no longer than 1.5 windows is one window: its metrics ARE the whole-file metrics.
For a longer file, a metric's value is the mean over the windows where it was computed,
weighted by each window's length in samples (`math.fsum`, so the order of the windows does not
change the last bit); windows where it could not be computed (silence for PESQ and STOI, too
little speech for STOI) are left out of the mean and counted. A metric is `not_computed` for
the file only when no window computed it; its reason is then the first window's. Windowed
PESQ/STOI/SI-SDR differ from a single whole-file score (these metrics are not additive), which
is why the results record `windows` with each value.

Each decode is also checked for NaN/inf and its peak recorded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from conformance.corpus.segments import Piece
from conformance.errors import InvalidArgument
from conformance.quality.metrics import METRICS, compute_metrics
from conformance.status import Status

__all__ = ["DEFAULT_METRICS", "DEFAULT_WINDOW_SECONDS", "WindowedMetrics", "bandwidth_key"]

#: The metrics a corpus run computes by default: the audio check's three and SI-SDR.
DEFAULT_METRICS: tuple[str, ...] = ("pesq_wb", "stoi", "mel_distance", "si_sdr")
#: Metric window, seconds.
DEFAULT_WINDOW_SECONDS = 30.0


@dataclass
class _Score:
    """One metric of one bandwidth over the windows so far."""

    values: list[float] = field(default_factory=list)  # per computed window
    samples: list[int] = field(default_factory=list)
    skipped: int = 0
    reason: str | None = None

    def add(self, value: float | None, reason: str | None, samples: int) -> None:
        if value is None:
            self.skipped += 1
            self.reason = self.reason or reason
        else:
            self.values.append(value)
            self.samples.append(samples)

    def result(self) -> dict[str, Any]:
        windows = {"computed": len(self.samples), "not_computed": self.skipped}
        if not self.samples:
            return {"value": None, "status": Status.NOT_COMPUTED.value,
                    "reason": self.reason or "no window computed it", "windows": windows}
        if len(self.values) == 1:
            value = self.values[0]
        else:
            value = (math.fsum(v * n for v, n in zip(self.values, self.samples))
                     / math.fsum(self.samples))
        return {"value": value, "status": Status.COMPUTED.value, "reason": None,
                "windows": windows}


class WindowedMetrics:
    """Per-bandwidth metrics of a stream of pieces; see the module doc."""

    def __init__(self, sample_rate: int, bandwidths: list[float],
                 metrics: tuple[str, ...] | list[str] = DEFAULT_METRICS,
                 window_seconds: float = DEFAULT_WINDOW_SECONDS) -> None:
        unknown = [m for m in metrics if m not in METRICS]
        if unknown:
            raise InvalidArgument(f"unknown metric(s) {unknown}: choose from {list(METRICS)}")
        if not metrics:
            raise InvalidArgument("no metric to compute")
        if not (window_seconds > 0 and math.isfinite(window_seconds)):
            raise InvalidArgument(f"window_seconds={window_seconds}: must be > 0")
        self.sample_rate = int(sample_rate)
        self.bandwidths = [float(b) for b in bandwidths]
        self.metrics = list(metrics)
        self.window = max(1, int(round(window_seconds * sample_rate)))
        self.ref: list[torch.Tensor] = []
        self.dec: dict[float, list[torch.Tensor]] = {bw: [] for bw in self.bandwidths}
        self.held = 0
        self.windows = 0
        self.scores = {bw: {m: _Score() for m in self.metrics} for bw in self.bandwidths}
        self.peak = {bw: 0.0 for bw in self.bandwidths}
        self.nonfinite = {bw: 0 for bw in self.bandwidths}

    def feed(self, piece: Piece) -> None:
        for bw in self.bandwidths:
            d = piece.decodes[bw]
            finite = torch.isfinite(d)
            bad = int((~finite).sum())
            self.nonfinite[bw] += bad
            if bad < d.numel():
                self.peak[bw] = max(self.peak[bw], float(d[finite].abs().max()))
            self.dec[bw].append(d)
        self.ref.append(piece.reference)
        self.held += piece.samples
        while self.held >= self.window + self.window // 2:
            self._score(self.window)

    def _take(self, parts: list[torch.Tensor], n: int) -> torch.Tensor:
        whole = torch.cat(parts, dim=-1) if len(parts) > 1 else parts[0]
        parts.clear()
        if whole.shape[-1] > n:
            parts.append(whole[..., n:])
        return whole[..., :n]

    def _score(self, n: int) -> None:
        ref = self._take(self.ref, n)
        self.held -= n
        self.windows += 1
        for bw in self.bandwidths:
            dec = self._take(self.dec[bw], n)
            results = compute_metrics(ref, dec, self.sample_rate, self.metrics)
            for name, r in results.items():
                self.scores[bw][name].add(r.value if r.ok else None, r.reason, n)

    def finish(self) -> dict[str, Any]:
        """{"windows", "window_seconds", "bandwidths": {bw: {"metrics": ..., "peak",
        "nonfinite_samples"}}} once every piece has been fed."""
        if self.held:
            self._score(self.held)
        if self.windows == 0:
            raise InvalidArgument("no samples were scored")
        return {"windows": self.windows, "window_seconds": self.window / self.sample_rate,
                "bandwidths": {
                    bandwidth_key(bw): {"metrics": {m: s.result() for m, s in per.items()},
                                  "peak": self.peak[bw],
                                  "nonfinite_samples": self.nonfinite[bw]}
                    for bw, per in self.scores.items()}}


def bandwidth_key(bw: float) -> str:
    """The JSON key of a bandwidth: "1.5", "6", "2.2"."""
    return f"{bw:g}"
