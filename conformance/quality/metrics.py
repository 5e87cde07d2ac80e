"""Objective audio-quality metrics that report failure as a status, never as a number.

Every metric is a function ``(reference, degraded, sample_rate, *, degraded_rate=None)`` that
returns a :class:`MetricResult`. Inputs are ``torch.Tensor`` or ``numpy.ndarray`` of shape [T]
or [C, T], float samples in [-1, 1]; they are converted to float64 and, when their lengths
differ, both are trimmed to the shorter one (recorded as ``details["trimmed_samples"]``).

Channels:
- PESQ, STOI and ESTOI score the mono mix (mean over channels).
- SI-SDR is computed per channel and averaged over the channels whose reference is not silent.
- mel_distance and log_spectral_distance are averaged over channels (every channel counts).

A computed metric has status `computed` and a finite value. A metric that cannot be computed
returns status `not_computed` with ``value=None`` and a ``reason``. This covers a silent or
near-silent reference (RMS below ``SILENCE_DBFS``; not applied to mel/LSD, which stay well
defined on silence), inputs too short for the metric,
NaN/inf samples, mismatched channel counts, mismatched sample rates (``degraded_rate``), a
missing optional dependency, and any error raised by ``pesq`` or ``pystoi`` (``pesq``'s
NoUtterancesError, BufferTooShortError, InvalidSampleRateError, ValueError; pystoi's 1e-5
placeholder returned with a "Not enough STFT frames" RuntimeWarning, or its exceptions).

Resampling (PESQ only: to 16 kHz for WB, 8 kHz for NB) uses
``conformance.audio.io.convert_audio`` and its pinned resampler. pystoi resamples to 10 kHz
itself, so STOI is given the native rate.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from conformance.audio.io import convert_audio
from conformance.errors import InvalidArgument
from conformance.status import Status

__all__ = ["ESTOI_SEED", "LSD_FLOOR", "LSD_WINDOW", "MEL_FLOOR", "MEL_SCALES", "METRICS",
           "SILENCE_DBFS", "SI_SDR_CAP_DB", "ArrayLike", "Impl", "MetricResult",
           "compute_metrics", "estoi", "format_table", "log_spectral_distance",
           "mel_distance", "pesq_nb", "pesq_wb", "si_sdr", "stoi"]

ArrayLike = torch.Tensor | np.ndarray

#: Reference RMS (dBFS, full scale = 1.0) below which a reference counts as silent.
SILENCE_DBFS = -80.0
#: Seed for the global NumPy RNG while ESTOI runs (the caller's RNG state is restored).
ESTOI_SEED = 0
#: (window, n_mels) per scale of mel_distance; hop = window // 4.
MEL_SCALES: tuple[tuple[int, int], ...] = ((2048, 128), (1024, 64), (512, 32), (256, 16))
#: Floor applied to mel magnitudes before log10.
MEL_FLOOR = 1e-5
#: STFT window (hop = window // 4) and power floor of log_spectral_distance.
LSD_WINDOW = 2048
LSD_FLOOR = 1e-10
#: SI-SDR is capped at this value (reached by identical signals).
SI_SDR_CAP_DB = 200.0
_EXTRA_HINT = "pip install encodec-conformance[metrics]"


@dataclass
class MetricResult:
    """One metric's outcome: a finite value with status `computed`, or None with a reason
    (status `not_computed`)."""

    name: str
    value: float | None
    status: Status
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.status = Status(self.status)
        if self.status is Status.COMPUTED:
            if self.value is None or not math.isfinite(self.value):
                raise ValueError(f"{self.name}: status 'computed' needs a finite value, "
                                 f"got {self.value!r}")
            self.value = float(self.value)
        elif self.status is Status.NOT_COMPUTED:
            if self.value is not None or not self.reason:
                raise ValueError(f"{self.name}: status 'not_computed' needs value=None and a "
                                 "reason")
        else:
            raise ValueError(f"{self.name}: a metric is computed or not_computed, not "
                             f"{self.status.value!r}")

    @property
    def ok(self) -> bool:
        """True when the metric was computed."""
        return self.status is Status.COMPUTED

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-serialisable form."""
        return {"name": self.name, "value": self.value, "status": self.status.value,
                "reason": self.reason, "details": dict(self.details)}


class _NotComputed(Exception):
    """Raised inside a metric to turn into a not_computed MetricResult."""

    def __init__(self, reason: str, **details: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


def _not_computed(name: str, reason: str, **details: Any) -> MetricResult:
    return MetricResult(name, None, Status.NOT_COMPUTED, reason, details)


# -------------------------------------------------------------------------------- input checks
def _as_2d(x: ArrayLike, what: str) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        try:
            x = torch.from_numpy(np.ascontiguousarray(x))
        except TypeError as exc:
            raise _NotComputed(f"{what} has unsupported dtype {x.dtype}") from exc
    elif not isinstance(x, torch.Tensor):
        raise _NotComputed(f"{what} must be a torch.Tensor or numpy.ndarray, "
                           f"got {type(x).__name__}")
    x = x.detach().cpu()
    if x.is_complex() or x.dtype == torch.bool:
        raise _NotComputed(f"{what} has dtype {x.dtype}: expected real samples")
    x = x.to(torch.float64)
    if x.dim() == 1:
        x = x[None]
    if x.dim() != 2:
        raise _NotComputed(f"{what}.shape={tuple(x.shape)}: expected [T] or [C, T]")
    if x.shape[0] > x.shape[1] and x.shape[1] > 0:
        raise _NotComputed(f"{what}.shape={tuple(x.shape)} has more channels than samples: "
                           "expected [C, T] (transpose a [T, C] array)")
    if x.shape[1] == 0 or x.shape[0] == 0:
        raise _NotComputed(f"{what} is empty (shape {tuple(x.shape)})")
    if not bool(torch.isfinite(x).all()):
        raise _NotComputed(f"{what} contains NaN or infinite samples")
    return x


def _prepare(reference: ArrayLike, degraded: ArrayLike, sample_rate: int,
             degraded_rate: int | None) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
    """Validate and convert both signals to float64 [C, T] of a common length."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) \
            or sample_rate <= 0:
        raise _NotComputed(f"invalid sample rate {sample_rate!r}: expected a positive integer")
    if degraded_rate is not None and degraded_rate != sample_rate:
        raise _NotComputed(
            f"sample rate mismatch: reference {sample_rate} Hz, degraded {degraded_rate} Hz; "
            "resample the degraded signal first (audio_io.convert_audio)")
    ref = _as_2d(reference, "reference")
    deg = _as_2d(degraded, "degraded")
    if ref.shape[0] != deg.shape[0]:
        raise _NotComputed(f"mismatched channel counts: reference has {ref.shape[0]}, "
                           f"degraded has {deg.shape[0]}")
    length = min(ref.shape[1], deg.shape[1])
    details: dict[str, Any] = {"sample_rate": int(sample_rate), "channels": ref.shape[0],
                               "seconds": length / sample_rate,
                               "trimmed_samples": abs(ref.shape[1] - deg.shape[1])}
    return ref[:, :length], deg[:, :length], details


def _rms_dbfs(x: torch.Tensor) -> float:
    rms = float(x.pow(2).mean().sqrt())
    return 20 * math.log10(rms) if rms > 0 else -math.inf


def _check_not_silent(x: torch.Tensor, what: str) -> None:
    level = _rms_dbfs(x)
    if level < SILENCE_DBFS:
        raise _NotComputed(f"{what} is silent or near-silent (RMS {level:.1f} dBFS < "
                           f"{SILENCE_DBFS:.0f} dBFS)", rms_dbfs=level)


def _check_length(n: int, minimum: int, sample_rate: int, metric: str) -> None:
    if n < minimum:
        raise _NotComputed(f"too short for {metric}: needs at least {minimum} samples "
                           f"({minimum / sample_rate:.3f} s at {sample_rate} Hz), got {n}")


Impl = Callable[[torch.Tensor, torch.Tensor, int], tuple[float, dict[str, Any]]]


def _run(name: str, impl: Impl, reference: ArrayLike, degraded: ArrayLike, sample_rate: int,
         degraded_rate: int | None) -> MetricResult:
    """Validate inputs, call `impl(ref, deg, sample_rate) -> (value, details)`, wrap the result."""
    details: dict[str, Any] = {}
    try:
        ref, deg, details = _prepare(reference, degraded, sample_rate, degraded_rate)
        value, extra = impl(ref, deg, int(sample_rate))
    except _NotComputed as exc:
        return _not_computed(name, exc.reason, **{**details, **exc.details})
    if not math.isfinite(value):
        return _not_computed(name, f"{name} evaluated to a non-finite value ({value})",
                             **details)
    return MetricResult(name, float(value), Status.COMPUTED, None, {**details, **extra})


# ------------------------------------------------------------------------------------- PESQ
def _pesq(ref: torch.Tensor, deg: torch.Tensor, sample_rate: int,
          mode: Literal["wb", "nb"]) -> tuple[float, dict[str, Any]]:
    try:
        import pesq as pesq_lib
    except ImportError as exc:
        raise _NotComputed(f"pesq is not installed ({_EXTRA_HINT})") from exc
    rate = 16000 if mode == "wb" else 8000
    ref = ref.mean(dim=0, keepdim=True)
    deg = deg.mean(dim=0, keepdim=True)
    _check_not_silent(ref, "reference")
    if float(deg.abs().max()) == 0.0:  # pesq fails with "cannot convert float NaN to integer"
        raise _NotComputed("degraded signal is silent (all zeros): PESQ is undefined")
    ref = convert_audio(ref, sample_rate, rate, 1)[0]
    deg = convert_audio(deg, sample_rate, rate, 1)[0]
    n = min(ref.shape[-1], deg.shape[-1])
    ref_np, deg_np = ref[:n].numpy(), deg[:n].numpy()
    seconds = n / rate
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            value = pesq_lib.pesq(rate, ref_np, deg_np, mode)
    except pesq_lib.NoUtterancesError as exc:
        raise _NotComputed("PESQ detected no utterances (silent or near-silent speech, or "
                           f"the signals could not be aligned): {_msg(exc)}") from exc
    except pesq_lib.BufferTooShortError as exc:
        raise _NotComputed(f"too short for PESQ: needs at least 0.25 s, got {seconds:.3f} s "
                           f"({_msg(exc)})") from exc
    except pesq_lib.InvalidSampleRateError as exc:
        raise _NotComputed(f"PESQ refused the sample rate {rate} Hz: {_msg(exc)}") from exc
    except pesq_lib.PesqError as exc:
        raise _NotComputed(f"PESQ failed ({type(exc).__name__}): {_msg(exc)}") from exc
    except ValueError as exc:
        raise _NotComputed(f"PESQ refused its inputs (ValueError): {exc}") from exc
    return float(value), {"mode": mode, "pesq_rate": rate}


def _msg(exc: BaseException) -> str:
    arg = exc.args[0] if exc.args else ""
    return arg.decode(errors="replace") if isinstance(arg, bytes) else str(arg or exc)


def pesq_wb(reference: ArrayLike, degraded: ArrayLike, sample_rate: int, *,
            degraded_rate: int | None = None) -> MetricResult:
    """Wide-band PESQ (P.862.2 MOS-LQO, about 1.04-4.64) on the mono mix resampled to 16 kHz."""
    return _run("pesq_wb", lambda r, d, sr: _pesq(r, d, sr, "wb"), reference, degraded,
                sample_rate, degraded_rate)


def pesq_nb(reference: ArrayLike, degraded: ArrayLike, sample_rate: int, *,
            degraded_rate: int | None = None) -> MetricResult:
    """Narrow-band PESQ (P.862.1 MOS-LQO, about 1.02-4.55) on the mono mix resampled to 8 kHz."""
    return _run("pesq_nb", lambda r, d, sr: _pesq(r, d, sr, "nb"), reference, degraded,
                sample_rate, degraded_rate)


# ------------------------------------------------------------------------------------- STOI
def _stoi(ref: torch.Tensor, deg: torch.Tensor, sample_rate: int,
          extended: bool) -> tuple[float, dict[str, Any]]:
    try:
        from pystoi import stoi as stoi_fn
    except ImportError as exc:
        raise _NotComputed(f"pystoi is not installed ({_EXTRA_HINT})") from exc
    ref = ref.mean(dim=0)
    deg = deg.mean(dim=0)
    _check_not_silent(ref, "reference")
    seconds = ref.shape[-1] / sample_rate
    rng_state = np.random.get_state() if extended else None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if extended:  # ESTOI draws from the global NumPy RNG: pin it, restore it after
                np.random.seed(ESTOI_SEED)
            value = stoi_fn(ref.numpy(), deg.numpy(), sample_rate, extended=extended)
    except Exception as exc:  # pystoi raises numpy AxisError and others on tiny inputs
        raise _NotComputed(f"pystoi failed on {seconds:.3f} s of audio (too short?): "
                           f"{type(exc).__name__}: {exc}") from exc
    finally:
        if rng_state is not None:
            np.random.set_state(rng_state)
    for w in caught:
        if "Not enough STFT frames" in str(w.message):
            raise _NotComputed(
                f"too short or too little non-silent speech for STOI ({seconds:.3f} s in): "
                "pystoi needs 30 STFT frames (about 0.4 s at 10 kHz after dropping frames "
                f"40 dB below the loudest) and returned its {value!r} placeholder")
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    details: dict[str, Any] = {"extended": extended}
    if extended:
        details["numpy_seed"] = ESTOI_SEED
    return float(value), details


def stoi(reference: ArrayLike, degraded: ArrayLike, sample_rate: int, *,
         degraded_rate: int | None = None) -> MetricResult:
    """STOI (pystoi, ~0-1) on the mono mix at the native rate (pystoi resamples to 10 kHz)."""
    return _run("stoi", lambda r, d, sr: _stoi(r, d, sr, extended=False), reference, degraded,
                sample_rate, degraded_rate)


def estoi(reference: ArrayLike, degraded: ArrayLike, sample_rate: int, *,
          degraded_rate: int | None = None) -> MetricResult:
    """Extended STOI on the mono mix; the global NumPy RNG is seeded, then restored (so not
    thread-safe)."""
    return _run("estoi", lambda r, d, sr: _stoi(r, d, sr, extended=True), reference, degraded,
                sample_rate, degraded_rate)


# ------------------------------------------------------------------------------------ SI-SDR
def _si_sdr(ref: torch.Tensor, deg: torch.Tensor, sr: int) -> tuple[float, dict[str, Any]]:
    ref = ref - ref.mean(dim=-1, keepdim=True)
    deg = deg - deg.mean(dim=-1, keepdim=True)
    values: list[float] = []
    skipped: list[int] = []
    for c in range(ref.shape[0]):
        r, d = ref[c], deg[c]
        if _rms_dbfs(r) < SILENCE_DBFS:
            skipped.append(c)
            continue
        if float(d.abs().max()) == 0.0:
            raise _NotComputed(f"degraded channel {c} is silent (zero after removing the "
                               "mean): SI-SDR is undefined")
        alpha = torch.dot(d, r) / torch.dot(r, r)
        target = alpha * r
        noise = d - target
        p_target = float(target.pow(2).sum())
        p_noise = float(noise.pow(2).sum())
        if p_noise <= p_target * 10 ** (-SI_SDR_CAP_DB / 10):
            values.append(SI_SDR_CAP_DB)
        elif p_target == 0.0:
            raise _NotComputed(f"degraded channel {c} is orthogonal to the reference: "
                               "SI-SDR is -inf")
        else:
            values.append(10 * math.log10(p_target / p_noise))
    if not values:
        level = _rms_dbfs(ref)
        raise _NotComputed(f"reference is silent or near-silent (RMS {level:.1f} dBFS < "
                           f"{SILENCE_DBFS:.0f} dBFS)", rms_dbfs=level)
    details: dict[str, Any] = {"per_channel": values}
    if skipped:
        details["silent_channels_skipped"] = skipped
    return sum(values) / len(values), details


def si_sdr(reference: ArrayLike, degraded: ArrayLike, sample_rate: int, *,
           degraded_rate: int | None = None) -> MetricResult:
    """Scale-invariant SDR in dB (both zero-mean), per channel, averaged over the channels
    whose reference is not silent; capped at SI_SDR_CAP_DB."""
    return _run("si_sdr", _si_sdr, reference, degraded, sample_rate, degraded_rate)


# ------------------------------------------------------------------------- spectral distances
def _stft_mag(x: torch.Tensor, window: int) -> torch.Tensor:
    """|STFT| [C, F, frames] with a Hann window, hop window // 4, centred (reflect)."""
    return torch.stft(x, n_fft=window, hop_length=window // 4,
                      window=torch.hann_window(window, dtype=x.dtype), center=True,
                      pad_mode="reflect", return_complex=True).abs()


def _mel_distance(ref: torch.Tensor, deg: torch.Tensor, sr: int) -> tuple[float, dict[str, Any]]:
    import torchaudio.functional as AF

    _check_length(ref.shape[-1], max(w for w, _ in MEL_SCALES), sr, "mel_distance")
    per_scale: dict[str, float] = {}
    for window, n_mels in MEL_SCALES:
        fb = AF.melscale_fbanks(window // 2 + 1, 0.0, sr / 2, n_mels, sr, norm=None,
                                mel_scale="htk").to(torch.float64)
        logs = [torch.log10((_stft_mag(x, window).transpose(-1, -2) @ fb).clamp(min=MEL_FLOOR))
                for x in (ref, deg)]
        per_scale[str(window)] = float((logs[0] - logs[1]).abs().mean())
    return sum(per_scale.values()) / len(per_scale), {"per_scale": per_scale}


def mel_distance(reference: ArrayLike, degraded: ArrayLike, sample_rate: int, *,
                 degraded_rate: int | None = None) -> MetricResult:
    """Multi-scale log-mel L1 distance: for each (window, n_mels) in MEL_SCALES, the mean
    |log10(max(mel_ref, 1e-5)) - log10(max(mel_deg, 1e-5))| of magnitude mel spectrograms
    (Hann, hop = window / 4, HTK mel 0..sr/2 from torchaudio); averaged over scales and
    channels. 0 for identical signals."""
    return _run("mel_distance", _mel_distance, reference, degraded, sample_rate, degraded_rate)


def _log_spectral_distance(ref: torch.Tensor, deg: torch.Tensor,
                           sr: int) -> tuple[float, dict[str, Any]]:
    _check_length(ref.shape[-1], LSD_WINDOW, sr, "log_spectral_distance")
    logs = [10 * torch.log10(_stft_mag(x, LSD_WINDOW).pow(2).clamp(min=LSD_FLOOR))
            for x in (ref, deg)]
    per_frame = (logs[0] - logs[1]).pow(2).mean(dim=-2).sqrt()  # [C, frames]
    return float(per_frame.mean()), {"window": LSD_WINDOW}


def log_spectral_distance(reference: ArrayLike, degraded: ArrayLike, sample_rate: int, *,
                          degraded_rate: int | None = None) -> MetricResult:
    """Log-spectral distance in dB: per frame, the RMS over frequency of
    10*log10(max(P_ref, 1e-10)) - 10*log10(max(P_deg, 1e-10)) (power STFT, Hann window
    LSD_WINDOW, hop / 4); mean over frames and channels. 0 for identical signals."""
    return _run("log_spectral_distance", _log_spectral_distance, reference, degraded,
                sample_rate, degraded_rate)


# ------------------------------------------------------------------------------- aggregation
METRICS: dict[str, Callable[..., MetricResult]] = {
    "pesq_wb": pesq_wb,
    "pesq_nb": pesq_nb,
    "stoi": stoi,
    "estoi": estoi,
    "si_sdr": si_sdr,
    "mel_distance": mel_distance,
    "log_spectral_distance": log_spectral_distance,
}


def compute_metrics(reference: ArrayLike, degraded: ArrayLike, sample_rate: int,
                    names: list[str] | tuple[str, ...] | None = None, *,
                    degraded_rate: int | None = None) -> dict[str, MetricResult]:
    """Run the metrics in `names` (default: all of METRICS, in order) on one pair of signals.

    Raises ValueError for an unknown metric name; every other problem is a not_computed result.
    """
    names = list(METRICS) if names is None else list(names)
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise InvalidArgument(f"unknown metric(s) {unknown}: choose from {list(METRICS)}")
    return {n: METRICS[n](reference, degraded, sample_rate, degraded_rate=degraded_rate)
            for n in names}


def format_table(results: dict[str, MetricResult] | list[MetricResult]) -> str:
    """A two-column text table: metric name, then the value or "n/a: <reason>"."""
    rows = list(results.values()) if isinstance(results, dict) else list(results)
    cells = [(r.name, f"{r.value:.4f}" if r.ok else f"n/a: {r.reason}") for r in rows]
    width = max([len("metric"), *(len(name) for name, _ in cells)])
    lines = [f"{'metric':<{width}}  value", f"{'-' * width}  {'-' * 5}"]
    lines += [f"{name:<{width}}  {text}" for name, text in cells]
    return "\n".join(lines)
