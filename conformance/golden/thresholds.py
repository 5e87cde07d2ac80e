"""The golden checkpoints' quality thresholds and their acceptance floors.

- **Acceptance floors** (`ACCEPTANCE_FLOORS`): the least a golden checkpoint must score on the
  speech clips at its family's top bandwidth to be bundled at all.
- **Golden thresholds**: measured on the speech clips when a checkpoint is installed (the worst
  clip minus `MARGINS`, or times 1 + margin for distances; never looser than the acceptance
  floor when the checkpoint meets it) and stored in the golden folder's `thresholds.json`. They
  are what the quality check enforces, and what every breaker must fail.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from conformance._data import golden_dir
from conformance.errors import ThresholdError
from conformance.fileio import atomic_write_text
from conformance.golden.bundle import THRESHOLDS_FILE
from conformance.quality.thresholds import Threshold, ThresholdSet, load_thresholds

__all__ = ["ACCEPTANCE_FLOORS", "MARGINS", "QUALITY_METRICS", "acceptance_rows",
           "golden_thresholds", "measure_thresholds", "speech_clips_of", "write_thresholds"]

#: Metrics the golden thresholds cover (speech clips only: STOI/PESQ are speech measures).
QUALITY_METRICS: tuple[str, ...] = ("stoi", "pesq_wb", "mel_distance")
#: Margin below the worst measured value (scores) or above it (distances, relative).
#: Metrics are deterministic on a CPU for a given checkpoint, so the margins only absorb
#: machine-to-machine float drift; tight margins keep the breakers visible.
MARGINS: dict[str, float] = {"stoi": 0.02, "pesq_wb": 0.05, "mel_distance": 0.02}
#: What a golden checkpoint must reach on every speech clip at its top bandwidth.
ACCEPTANCE_FLOORS: dict[str, dict[str, float]] = {
    "encodec_24khz": {"stoi": 0.85, "pesq_wb": 1.3},
    "encodec_32khz": {"stoi": 0.75},
    "encodec_48khz": {"stoi": 0.75},
}


def speech_clips_of(manifest: Mapping[str, Any]) -> list[str]:
    """The manifest's clips that are speech recordings."""
    return [c for c, info in manifest["clips"].items() if info["kind"] == "speech"]


def _entry_at(manifest: Mapping[str, Any], clip: str, bandwidth: float) -> Mapping[str, Any]:
    per_bw = manifest["clips"][clip]["bandwidths"]
    return next(v for k, v in per_bw.items() if float(k) == float(bandwidth))


def golden_thresholds(path: str | Path | None = None) -> ThresholdSet:
    """The measured golden thresholds (default: the bundled `thresholds.json`)."""
    path = golden_dir() / THRESHOLDS_FILE if path is None else Path(path)
    if not path.is_file():
        raise ThresholdError(f"{path}: no golden thresholds file (scripts/install_golden.py "
                             "writes it when it installs a checkpoint)")
    return load_thresholds(path, base="none")


def acceptance_rows(family: str, manifest: Mapping[str, Any]
                    ) -> list[tuple[str, str, float, float, bool]]:
    """(clip, metric, observed, floor, met) for the acceptance floors at the top bandwidth."""
    top = max(float(b) for b in manifest["bandwidths"])
    rows = []
    for clip in speech_clips_of(manifest):
        entry = _entry_at(manifest, clip, top)
        for metric, floor in ACCEPTANCE_FLOORS.get(family, {}).items():
            m = entry["metrics"][metric]
            value = float(m["value"]) if "value" in m else float("nan")
            rows.append((clip, metric, value, floor, value >= floor))
    return rows


def measure_thresholds(family: str, manifest: Mapping[str, Any],
                       margins: Mapping[str, float] = MARGINS) -> list[Threshold]:
    """Thresholds per bandwidth x metric from the manifest's speech clips: the worst value
    minus the margin (scores) or times 1 + margin (distances). Where that is looser than the
    acceptance floor, the floor is kept if every clip meets it; otherwise the threshold is
    the measurement and its note says the floor is missed."""
    clips = speech_clips_of(manifest)
    if not clips:
        raise ThresholdError(f"{family}: the manifest has no speech clips to measure on")
    top = max(float(b) for b in manifest["bandwidths"])
    out = []
    for bw in manifest["bandwidths"]:
        for metric in QUALITY_METRICS:
            values = []
            for clip in clips:
                m = _entry_at(manifest, clip, bw)["metrics"][metric]
                if "value" not in m:
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
                floor = ACCEPTANCE_FLOORS.get(family, {}).get(metric) if bw == top else None
                if floor is not None:
                    if min(values) >= floor:
                        lim = max(lim, floor)
                        note += f", no looser than the acceptance floor {floor}"
                    else:
                        note += (f"; the checkpoint MISSES the acceptance floor {floor} "
                                 f"(worst clip {min(values):.3f})")
                    sources.append(f"acceptance floor: {metric} >= {floor}")
                limit = {"minimum": lim}
            out.append(Threshold(family=family, bandwidth_kbps=float(bw), metric=metric,
                                 anchor_value=round(statistics.median(values), 4),
                                 anchor_range=(min(values), max(values)),
                                 sources=tuple(sources), margin_note=note, measured=True,
                                 provenance="golden measured", **limit))
    return out


def write_thresholds(thresholds: Iterable[Threshold], path: str | Path,
                     replace_families: Sequence[str] = ()) -> Path:
    """Merge `thresholds` into the JSON file at `path` (entries of `replace_families` are
    dropped first) and write it atomically."""
    path = Path(path)
    existing: list[dict] = []
    if path.is_file():
        existing = [t for t in json.loads(path.read_text(encoding="utf-8"))["thresholds"]
                    if t["family"] not in set(replace_families)]
    entries = existing + [t.to_dict() for t in thresholds]
    entries.sort(key=lambda t: (t["family"], t["bandwidth_kbps"], t["metric"]))
    text = json.dumps({"base": "none", "name": "golden", "thresholds": entries}, indent=1)
    return atomic_write_text(path, text + "\n")
