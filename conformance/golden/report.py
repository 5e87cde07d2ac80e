"""The golden report (`encodec-conformance golden`): the regression, quality and sensitivity
checks on each golden checkpoint, as Markdown tables and JSON, and an optional listening pack.

The verdict is "pass" only when all three hold; the acceptance floors are shown for information
(the measured golden thresholds are what pass or fail).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance._data import golden_dir
from conformance.checkpoints.load import load_checkpoint
from conformance.errors import InvalidArgument
from conformance.fileio import atomic_write_text
from conformance.golden.bundle import (
    FAMILIES,
    THRESHOLDS_FILE,
    GoldenCheckpoint,
    golden_checkpoints,
)
from conformance.golden.checks import (
    QualityRow,
    SensitivityRow,
    not_applicable,
    quality_rows,
    sensitivity_rows,
)
from conformance.golden.manifest import format_findings, verify_manifest
from conformance.golden.runs import clip_audio, encode_decode
from conformance.golden.thresholds import (
    QUALITY_METRICS,
    acceptance_rows,
    golden_thresholds,
    speech_clips_of,
)
from conformance.status import Status

__all__ = ["FamilyReport", "check_golden", "format_quality", "format_report",
           "format_sensitivity", "run_golden", "summary_table", "write_listening_pack"]


@dataclass
class FamilyReport:
    """Everything checked for one golden checkpoint."""

    family: str
    checkpoint: str
    sha256: str
    regression: dict[str, int] = field(default_factory=dict)
    regression_failures: list[str] = field(default_factory=list)
    quality: list[QualityRow] = field(default_factory=list)
    sensitivity: list[SensitivityRow] = field(default_factory=list)
    not_applicable: dict[str, str] = field(default_factory=dict)
    floors: list[tuple[str, str, float, float, bool]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def regression_ok(self) -> bool:
        return (self.regression.get(Status.FAILED.value, 0) == 0
                and self.regression.get(Status.PASSED.value, 0) > 0)

    @property
    def quality_ok(self) -> bool:
        return bool(self.quality) and all(r.passed for r in self.quality)

    @property
    def sensitivity_ok(self) -> bool | None:
        if not self.sensitivity:
            return None
        intact_ok = all(not r.caught for r in self.sensitivity if r.breaker == "intact")
        broken_ok = all(r.caught or r.caught_by_regression
                        for r in self.sensitivity if r.breaker != "intact")
        return intact_ok and broken_ok

    @property
    def passed(self) -> bool:
        return self.regression_ok and self.quality_ok and self.sensitivity_ok is not False

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family, "checkpoint": self.checkpoint, "sha256": self.sha256,
            "passed": self.passed, "seconds": round(self.seconds, 1),
            "regression": dict(self.regression),
            "regression_failures": list(self.regression_failures),
            "quality": [{"clip": r.clip, "bandwidth": r.bandwidth, "passed": r.passed,
                         "outcomes": [o.to_dict() for o in r.outcomes]} for r in self.quality],
            "sensitivity": [{"breaker": r.breaker, "clip": r.clip, "bandwidth": r.bandwidth,
                             "path": r.path, "caught": r.caught,
                             "caught_by_regression": r.caught_by_regression,
                             "regression_si_sdr": r.regression_si_sdr, "metrics": r.metrics,
                             "shortfall": r.shortfall, "implausible": r.implausible}
                            for r in self.sensitivity],
            "not_applicable": dict(self.not_applicable),
            "acceptance_floors": [{"clip": c, "metric": m, "observed": v, "floor": f,
                                   "met": ok} for c, m, v, f, ok in self.floors],
        }


def _progress(msg: str) -> None:
    print(f"[golden] {msg}", file=sys.stderr, flush=True)


def check_golden(gc: GoldenCheckpoint, *, sensitivity: bool = True,
                 thresholds_path: str | Path | None = None) -> FamilyReport:
    """Run the regression, quality and sensitivity checks on one golden checkpoint
    (thresholds from `thresholds_path`, default: thresholds.json beside the checkpoint)."""
    t0 = time.time()
    manifest = gc.manifest
    thresholds = golden_thresholds(thresholds_path or gc.directory / THRESHOLDS_FILE)
    rep = FamilyReport(gc.family, gc.checkpoint.name, manifest["checkpoint"]["sha256"])
    _progress(f"{gc.family}: regression against {gc.manifest_path.name}")
    findings = verify_manifest(gc.checkpoint, gc.manifest_path)
    for f in findings:
        rep.regression[f.status.value] = rep.regression.get(f.status.value, 0) + 1
    rep.regression_failures = format_findings(findings, failures_only=True).splitlines()
    _progress(f"{gc.family}: quality thresholds")
    rep.quality = quality_rows(gc.family, manifest, thresholds)
    rep.floors = acceptance_rows(gc.family, manifest)
    if sensitivity:
        _progress(f"{gc.family}: sensitivity (every breaker must fail the thresholds)")
        model = load_checkpoint(gc.checkpoint).model.eval()
        rep.sensitivity = sensitivity_rows(gc.family, model, thresholds,
                                           speech_clips_of(manifest),
                                           seconds=manifest.get("seconds"))
        rep.not_applicable = not_applicable(model)
    rep.seconds = time.time() - t0
    return rep


def write_listening_pack(gc: GoldenCheckpoint, out_dir: str | Path) -> list[str]:
    """For every clip of the manifest at the top bandwidth: the input, the decoded audio
    (both as 16-bit WAV at the model's rate, unnormalised) and a spectrogram PNG (input,
    decode and their difference, drawn by `conformance.reporting.plots`: needs the report
    extra). Returns Markdown lines linking them."""
    from conformance.audio.io import audio_write
    from conformance.reporting.plots import require_matplotlib, write_comparison_png

    require_matplotlib()

    out = Path(out_dir)
    manifest = gc.manifest
    model = load_checkpoint(gc.checkpoint).model.eval()
    top = float(max(manifest["bandwidths"]))
    lines = [f"| {gc.family} clip @ {top:g} kbps | input | decoded | spectrograms "
             "(input, decode, difference) |", "|---|---|---|---|"]
    for clip in manifest["clips"]:
        wav = clip_audio(clip, model, manifest.get("seconds"))
        _, dec = encode_decode(model, wav, top)
        stem = f"{gc.family}.{clip}"
        audio_write(out / f"{stem}.input.wav", wav, model.sample_rate, strategy="clip")
        audio_write(out / f"{stem}.decoded.wav", dec, model.sample_rate, strategy="clip")
        try:
            write_comparison_png(out / f"{stem}.png", wav, dec, model.sample_rate,
                                 title=f"{gc.family}: {clip}",
                                 decode_label=f"decode @ {top:g} kbps")
            png = f"![{clip}]({stem}.png)"
        except ValueError as exc:  # shorter than one FFT window
            png = f"n/a ({exc})"
        lines.append(f"| {clip} | [wav]({stem}.input.wav) | [wav]({stem}.decoded.wav) | "
                     f"{png} |")
    return lines


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
        caught = ", ".join([f"{m} ({s:.3f})" for m, s in r.shortfall.items()]
                           + [f"{m} implausible" for m in r.implausible])
        if r.breaker == "intact":
            verdict = "none (passes)" if not r.caught else f"FAILS: {caught}"
        else:
            verdict = caught or "NOT CAUGHT"
        reg = "n/a" if r.regression_si_sdr is None else f"{r.regression_si_sdr:.1f} dB"
        if r.breaker != "intact":
            reg += " (caught)" if r.caught_by_regression else " (NOT caught)"
        cells = [_fmt(r.metrics.get(m)) + (" (implausible)" if m in r.implausible else "")
                 for m in QUALITY_METRICS]
        lines.append(f"| {r.breaker} | {r.clip} | {r.path} | " + " | ".join(cells)
                     + f" | {verdict} | {reg} |")
    return "\n".join(lines)


def _yes(v: bool | None) -> str:
    return "skipped" if v is None else ("pass" if v else "FAIL")


def format_report(reports: Sequence[FamilyReport]) -> str:
    """The printed report: a summary table, then each family's tables."""
    lines = ["# Golden checkpoints: validation report", "",
             "| family | sha256 | regression | quality | sensitivity | verdict | time |",
             "|---|---|---|---|---|---|---|"]
    for r in reports:
        reg = (f"{r.regression.get(Status.PASSED.value, 0)} passed / "
               f"{r.regression.get(Status.FAILED.value, 0)} failed")
        q = sum(x.passed for x in r.quality)
        sens = r.sensitivity_ok
        broken = [x for x in r.sensitivity if x.breaker != "intact"]
        s_text = (f"thresholds {sum(x.caught for x in broken)}/{len(broken)}, regression "
                  f"{sum(x.caught_by_regression for x in broken)}/{len(broken)}, {_yes(sens)}"
                  if sens is not None else "skipped")
        lines.append(f"| {r.family} | {r.sha256[:12]} | {reg}, {_yes(r.regression_ok)} | "
                     f"{q}/{len(r.quality)}, {_yes(r.quality_ok)} | {s_text} | "
                     f"{'PASS' if r.passed else 'FAIL'} | {r.seconds:.0f} s |")
    lines += ["", "Acceptance floors at the top bandwidth on speech (informational: the golden "
              "thresholds above are what pass or fail):", "",
              "| family | clip | metric | observed | floor | met |", "|---|---|---|---|---|---|"]
    for r in reports:
        for clip, metric, value, floor, met in r.floors:
            lines.append(f"| {r.family} | {clip} | {metric} | {value:.3f} | {floor} | "
                         f"{'yes' if met else 'NO'} |")
    for r in reports:
        lines += ["", f"## {r.family}", ""]
        if r.regression_failures:
            lines += ["Regression failures:", "", "```", *r.regression_failures, "```", ""]
        lines += [format_quality(r.family, r.quality), ""]
        if r.sensitivity:
            lines += [format_sensitivity(r.family, r.sensitivity), ""]
        if r.not_applicable:
            lines += ["Breakers not applicable: " + "; ".join(
                f"{k} ({v})" for k, v in r.not_applicable.items()), ""]
    return "\n".join(lines)


def run_golden(families: Sequence[str] | None = None, *, sensitivity: bool = True,
               json_path: str | Path | None = None, directory: str | Path | None = None,
               out_dir: str | Path | None = None) -> tuple[list[FamilyReport], str]:
    """Check the golden checkpoints (all, or `families`); return the reports and the text.
    With `out_dir`, also write report.md there with the input/decoded audio and spectrograms
    of every clip."""
    directory = golden_dir() if directory is None else Path(directory)
    found = golden_checkpoints(directory)
    if families:
        unknown = sorted(set(families) - {g.family for g in found})
        if unknown:
            raise InvalidArgument(f"no golden checkpoint for {', '.join(unknown)} in "
                                  f"{directory}")
        found = [g for g in found if g.family in families]
    if not found:
        raise InvalidArgument(f"no golden checkpoints in {directory}")
    reports = [check_golden(g, sensitivity=sensitivity) for g in found]
    text = format_report(reports)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        pack = []
        for g in found:
            _progress(f"{g.family}: writing audio and spectrograms to {out}")
            pack += ["", *write_listening_pack(g, out)]
        full = text + "\n\n## Listen\n" + "\n".join(pack) + "\n"
        atomic_write_text(out / "report.md", full)
    if json_path is not None:
        data = json.dumps({"passed": all(r.passed for r in reports),
                           "families": [r.to_dict() for r in reports]}, indent=1, default=str)
        atomic_write_text(json_path, data + "\n")
    return reports, text


def _value(metrics: dict, name: str) -> str:
    entry = metrics.get(name, {})
    return f"{entry['value']:.3f}" if "value" in entry else "n/c"


def summary_table(directory: str | Path | None = None) -> str:
    """A Markdown table of the installed golden checkpoints, read from their manifests: one row
    per family x bandwidth x speech clip with file size, training steps and CPU time, STOI,
    PESQ-WB and mel distance (missing families are listed as such)."""
    found = {g.family: g for g in golden_checkpoints(directory)}
    lines = ["| family | file | trained | kbps | clip | STOI | PESQ-WB | mel distance |",
             "|---|---|---|---|---|---|---|---|"]
    for family in FAMILIES:
        if family not in found:
            lines.append(f"| {family} | not installed | | | | | | |")
            continue
        manifest = found[family].manifest
        size = manifest["checkpoint"]["size_bytes"] / 1e6
        training = manifest.get("training", {})
        trained = (f"{training.get('steps', '?')} steps, "
                   f"{training.get('train_seconds', 0) / 60:.0f} CPU-min")
        first = True
        for bandwidth in manifest["bandwidths"]:
            for name in sorted(speech_clips_of(manifest)):
                metrics = manifest["clips"][name]["bandwidths"][str(bandwidth)]["metrics"]
                who = "female" if "female" in name else "male" if "male" in name else name
                head = (f"{family} | {size:.1f} MB | {trained}" if first else " | | ")
                first = False
                lines.append(f"| {head} | {bandwidth:g} | {who} | {_value(metrics, 'stoi')} | "
                             f"{_value(metrics, 'pesq_wb')} | "
                             f"{_value(metrics, 'mel_distance')} |")
    return "\n".join(lines)
