"""The bundled golden checkpoints and the three checks run on them.

- **regression**: `golden.verify_manifest` (codes exact, decodes bitwise or within bands, the
  stored regression decodes at SI-SDR >= 50 dB);
- **quality**: every speech clip x bandwidth in a manifest meets the golden thresholds
  (`golden_checkpoints/thresholds.json`, measured on these clips minus a margin);
- **sensitivity**: every applicable breaker (`conformance.breakers`) run on a golden model must
  FAIL those thresholds on every speech clip; `SensitivityRow.margin` says by how much.

`python -m conformance.cli golden` runs all three and prints the report.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .breakers import BREAKERS, FORWARD_INVARIANT, applicable_breakers
from .golden import read_manifest
from .metrics import MetricResult, compute_metrics, si_sdr
from .model import EncodecModel
from .reference import load_reference
from .thresholds import (
    CheckOutcome,
    Threshold,
    ThresholdError,
    ThresholdSet,
    load_thresholds,
)

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "golden_checkpoints"
THRESHOLDS_FILE = GOLDEN_DIR / "thresholds.json"
FAMILIES: tuple[str, ...] = ("encodec_24khz", "encodec_32khz", "encodec_48khz")
#: Metrics the golden thresholds cover (speech clips only: STOI/PESQ are speech measures).
QUALITY_METRICS: tuple[str, ...] = ("stoi", "pesq_wb", "mel_distance")
#: Margin below the worst measured value (scores) or above it (distances, relative).
#: Metrics are deterministic on a CPU for a given checkpoint, so the margins only absorb
#: machine-to-machine float drift; tight margins keep the breakers visible.
MARGINS: dict[str, float] = {"stoi": 0.02, "pesq_wb": 0.05, "mel_distance": 0.02}
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
#: The issue's floors at each family's top bandwidth (speech).
ISSUE_FLOORS: dict[str, dict[str, float]] = {
    "encodec_24khz": {"stoi": 0.85, "pesq_wb": 1.3},
    "encodec_32khz": {"stoi": 0.75},
    "encodec_48khz": {"stoi": 0.75},
}


@dataclass(frozen=True)
class GoldenCheckpoint:
    """One bundled golden checkpoint: its family, file and manifest."""

    family: str
    checkpoint: Path
    manifest_path: Path

    @property
    def manifest(self) -> dict:
        return read_manifest(self.manifest_path)


def golden_checkpoints(directory: str | Path = GOLDEN_DIR) -> list[GoldenCheckpoint]:
    """The golden checkpoints present in `directory` (`<family>.th` + manifest)."""
    d = Path(directory)
    out = []
    for family in FAMILIES:
        ckpt, man = d / f"{family}.th", d / f"{family}.manifest.json"
        if ckpt.is_file() and man.is_file():
            out.append(GoldenCheckpoint(family, ckpt, man))
    return out


def golden_thresholds(path: str | Path = THRESHOLDS_FILE) -> ThresholdSet:
    """The measured golden thresholds (ThresholdError if the file is missing or invalid)."""
    path = Path(path)
    if not path.is_file():
        raise ThresholdError(f"{path}: no golden thresholds file (golden_checkpoints/build.py "
                             "writes it)")
    return load_thresholds(path, base="none")


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
def speech_clips_of(manifest: Mapping[str, Any]) -> list[str]:
    """The manifest's clips that are speech recordings."""
    return [c for c, info in manifest["clips"].items() if info["kind"] == "speech"]


def _results(entry: Mapping[str, Any]) -> dict[str, MetricResult]:
    out = {}
    for name, m in entry["metrics"].items():
        out[name] = (MetricResult(name, m["value"], "ok") if m["status"] == "ok"
                     else MetricResult(name, None, "not_computed", m["reason"]))
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
            out = decode_with(model, model, wav, float(bw))
            results = compute_metrics(wav, out, model.sample_rate, list(QUALITY_METRICS))
            outcomes = thresholds.check(family, float(bw), results, QUALITY_METRICS)
            rows.append(QualityRow(clip, float(bw), tuple(outcomes)))
    return rows


def issue_floor_rows(family: str, manifest: Mapping[str, Any]) -> list[tuple[str, str, float,
                                                                             float, bool]]:
    """(clip, metric, observed, floor, met) for the issue's floors at the top bandwidth."""
    top = max(float(b) for b in manifest["bandwidths"])
    rows = []
    for clip in speech_clips_of(manifest):
        per_bw = manifest["clips"][clip]["bandwidths"]
        entry = next(v for k, v in per_bw.items() if float(k) == top)
        for metric, floor in ISSUE_FLOORS.get(family, {}).items():
            m = entry["metrics"][metric]
            value = float(m["value"]) if m["status"] == "ok" else float("nan")
            rows.append((clip, metric, value, floor, value >= floor))
    return rows


def measure_thresholds(family: str, manifest: Mapping[str, Any],
                       margins: Mapping[str, float] = MARGINS) -> list[Threshold]:
    """Thresholds per bandwidth x metric from the manifest's speech clips: the worst value
    minus the margin (scores) or times 1 + margin (distances). Where that is looser than the
    issue's floor, the floor is kept only if every clip meets it; otherwise the threshold is
    the measurement and its note says the floor is missed."""
    clips = speech_clips_of(manifest)
    if not clips:
        raise ThresholdError(f"{family}: the manifest has no speech clips to measure on")
    top = max(float(b) for b in manifest["bandwidths"])
    out = []
    for bw in manifest["bandwidths"]:
        key = next(k for k in manifest["clips"][clips[0]]["bandwidths"] if float(k) == bw)
        for metric in QUALITY_METRICS:
            values = []
            for clip in clips:
                m = manifest["clips"][clip]["bandwidths"][key]["metrics"][metric]
                if m["status"] != "ok":
                    raise ThresholdError(f"{family} {clip} @ {bw:g}: {metric} not computed "
                                         f"({m['reason']})")
                values.append(float(m["value"]))
            margin = margins[metric]
            sources = [f"measured on {', '.join(clips)}: "
                       f"{', '.join(f'{v:.4f}' for v in values)}"]
            if metric == "mel_distance":
                limit = {"maximum": round(max(values) * (1 + margin), 4)}
                note = f"worst measured x (1 + {margin})"
            else:
                lim = round(min(values) - margin, 4)
                note = f"worst measured - {margin}"
                floor = ISSUE_FLOORS.get(family, {}).get(metric) if bw == top else None
                if floor is not None:
                    if min(values) >= floor:
                        lim = max(lim, floor)
                        note += f", no looser than the issue's floor {floor}"
                    else:
                        note += (f"; the checkpoint MISSES the issue's floor {floor} "
                                 f"(worst clip {min(values):.3f})")
                    sources.append(f"golden-checkpoint issue floor: {metric} >= {floor}")
                limit = {"minimum": lim}
            out.append(Threshold(family=family, bandwidth_kbps=float(bw), metric=metric,
                                 anchor_value=round(statistics.median(values), 4),
                                 anchor_range=(min(values), max(values)),
                                 sources=tuple(sources), margin_note=note, measured=True,
                                 provenance="golden measured", **limit))
    return out


def write_thresholds(thresholds: Iterable[Threshold], path: str | Path = THRESHOLDS_FILE,
                     replace_families: Sequence[str] = ()) -> Path:
    """Merge `thresholds` into the JSON file at `path` (entries of `replace_families` are
    dropped first) and write it atomically."""
    from .audio_io import atomic_write_bytes

    path = Path(path)
    existing: list[dict] = []
    if path.is_file():
        existing = [t for t in json.loads(path.read_text())["thresholds"]
                    if t["family"] not in set(replace_families)]
    entries = existing + [t.to_dict() for t in thresholds]
    entries.sort(key=lambda t: (t["family"], t["bandwidth_kbps"], t["metric"]))
    text = json.dumps({"base": "none", "name": "golden", "thresholds": entries}, indent=1)
    return atomic_write_bytes(path, lambda tmp: Path(tmp).write_text(text + "\n"))


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

    @property
    def caught(self) -> bool:
        """True when at least one quality threshold fails."""
        return any(o.status == "failed" for o in self.outcomes)

    @property
    def caught_by_regression(self) -> bool:
        """True when the decode is below REGRESSION_SI_SDR_DB against the intact decode."""
        return self.regression_si_sdr is not None and \
            self.regression_si_sdr < REGRESSION_SI_SDR_DB

    @property
    def margin(self) -> dict[str, float]:
        """Per failed metric, how far the value falls short of its threshold."""
        return {o.metric: float(o.shortfall) for o in self.outcomes if o.status == "failed"}


def clip_audio(name: str, model: EncodecModel, seconds: float | None) -> torch.Tensor:
    """Reference clip `name` at the model's rate and channels, cut to `seconds`."""
    wav = load_reference(name, model.sample_rate, model.channels)
    if seconds is not None:
        wav = wav[..., : int(round(seconds * model.sample_rate))]
    return wav


@torch.inference_mode()
def decode_with(model: EncodecModel, coder: EncodecModel, wav: torch.Tensor,
                bw: float) -> torch.Tensor:
    """`model` decodes what `coder` encodes from `wav` [C, T] at `bw` kbps; [C, T] out."""
    enc = coder.encode(wav[None], bandwidth=bw)
    return model.decode(enc)[0, :, : wav.shape[-1]].float()


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
        intact = decode_with(model, model, wav, bw)
        for name, variant in variants:
            path = "decode" if name in DECODE_PATH else "forward"
            coder = model if path == "decode" else variant
            out = intact if variant is model else decode_with(variant, coder, wav, bw)
            results = compute_metrics(wav, out, model.sample_rate, list(QUALITY_METRICS))
            outcomes = thresholds.check(family, bw, results, QUALITY_METRICS)
            reg = si_sdr(intact, out, model.sample_rate)
            rows.append(SensitivityRow(name, clip, bw, path, tuple(outcomes),
                                       {k: r.value for k, r in results.items()},
                                       reg.value if reg.ok else None))
    return rows


def not_applicable(model: EncodecModel) -> dict[str, str]:
    """Breakers that do not apply to `model`, with the reason."""
    return {n: r for n, r in applicable_breakers(model).items() if r is not None}


# ------------------------------------------------------------------------------ tables
def _fmt(v: float | None, digits: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def format_quality(family: str, rows: Sequence[QualityRow]) -> str:
    """A Markdown table: clip, bandwidth, then each metric as `value (limit)` and a verdict."""
    lines = [f"| {family} clip | kbps | " + " | ".join(QUALITY_METRICS) + " | verdict |",
             "|---|---|" + "---|" * len(QUALITY_METRICS) + "---|"]
    for r in rows:
        by = {o.metric: o for o in r.outcomes}
        cells = []
        for m in QUALITY_METRICS:
            o = by[m]
            sign = ">=" if o.threshold.direction == "minimum" else "<="
            cells.append(f"{_fmt(o.observed)} ({sign} {o.threshold.limit:.3f})")
        lines.append(f"| {r.clip} | {r.bandwidth:g} | " + " | ".join(cells)
                     + f" | {'pass' if r.passed else 'FAIL'} |")
    return "\n".join(lines)


def format_sensitivity(family: str, rows: Sequence[SensitivityRow]) -> str:
    """A Markdown table: breaker, clip, metrics, and the failed thresholds with shortfalls."""
    lines = [f"| {family} breaker | clip | path | " + " | ".join(QUALITY_METRICS)
             + " | thresholds failed (shortfall) | SI-SDR vs intact decode |",
             "|---|---|---|" + "---|" * len(QUALITY_METRICS) + "---|---|"]
    for r in rows:
        caught = ", ".join(f"{m} ({s:.3f})" for m, s in r.margin.items())
        if r.breaker == "intact":
            verdict = "none (passes)" if not r.caught else f"FAILS: {caught}"
        else:
            verdict = caught or "NOT CAUGHT"
        reg = "n/a" if r.regression_si_sdr is None else f"{r.regression_si_sdr:.1f} dB"
        if r.breaker != "intact":
            reg += " (caught)" if r.caught_by_regression else " (NOT caught)"
        lines.append(f"| {r.breaker} | {r.clip} | {r.path} | "
                     + " | ".join(_fmt(r.metrics.get(m)) for m in QUALITY_METRICS)
                     + f" | {verdict} | {reg} |")
    return "\n".join(lines)


__all__ = [
    "DECODE_PATH", "FAMILIES", "GOLDEN_DIR", "ISSUE_FLOORS", "MARGINS", "QUALITY_METRICS",
    "REGRESSION_SI_SDR_DB", "THRESHOLDS_FILE", "clip_audio", "decode_with",
    "GoldenCheckpoint", "QualityRow", "SensitivityRow", "format_quality", "format_sensitivity",
    "golden_checkpoints", "golden_thresholds", "issue_floor_rows", "live_quality_rows",
    "measure_thresholds", "not_applicable", "quality_rows", "sensitivity_rows", "speech_clips_of",
    "write_thresholds",
]
