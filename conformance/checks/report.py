"""The validation report: a JSON document with a versioned schema (`report.schema.json`,
shipped beside this module) and a summary table for people.

Top level: `schema`, `schema_version`, `tool`, `created`, `environment` (python, torch and the
peers' versions, platform, threads), `options`, `verdict` (conformant / not_conformant /
refused) with its `exit_code`, `subjects` (each checkpoint or implementation: its verdict,
format, config with provenance, key mapping, every outcome, metrics per clip x bandwidth,
warnings, time), `expected_failures` (entries that matched nothing) and `summary` (counts).
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import platform
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any

import torch

from conformance import __version__
from conformance.checks.checkpoint.context import CheckpointContext
from conformance.checks.engine import Subject, refused, subject_verdict, verdict
from conformance.checks.expected import unmatched_entries
from conformance.checks.outcome import jsonable
from conformance.status import Status

__all__ = ["SCHEMA_NAME", "SCHEMA_VERSION", "build_report", "environment", "format_summary",
           "load_schema", "validate_report"]

SCHEMA_NAME = "encodec-conformance/validation-report"
SCHEMA_VERSION = 1


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    return {"python": platform.python_version(), "platform": platform.platform(),
            "torch": torch.__version__, "transformers": _version("transformers"),
            "encodec": _version("encodec"), "pesq": _version("pesq"),
            "pystoi": _version("pystoi"), "threads": torch.get_num_threads()}


def _checkpoint_part(ctx: CheckpointContext) -> dict[str, Any]:
    out: dict[str, Any] = {"source": str(ctx.source), "format": None, "sha256": None,
                           "config": None, "provenance": None, "mapping": None,
                           "metrics": [], "warnings": []}
    read = ctx.read()
    if read.ok:
        out["format"] = read.value.format
        out["sha256"] = read.value.meta.get("sha256")
        out["warnings"] += list(read.value.warnings)
    resolved = ctx.resolved() if ctx.read().ok and ctx.named().ok and ctx.inferred().ok \
        else None
    if resolved is not None and resolved.ok:
        out["config"] = jsonable(resolved.value.config.to_dict())
        out["provenance"] = dict(resolved.value.provenance)
        out["warnings"] += list(resolved.value.ambiguities)
    if resolved is not None and resolved.ok and ctx.layout().ok:
        report = ctx.layout().value
        out["mapping"] = {"mapped": len(report.mapped), "problems": report.n_problems,
                          "key_style": ctx.named().value[0].style,
                          "ignored": list(ctx.named().value[1]),
                          "renamed": len(ctx.named().value[0].renamed)}
    for (clip, bw), (results, flags) in sorted(ctx.__dict__.get("_metrics", {}).items()):
        out["metrics"].append({
            "clip": clip, "bandwidth_kbps": bw,
            "values": {k: (r.value if r.ok else None) for k, r in results.items()},
            "not_computed": {k: r.reason for k, r in results.items() if not r.ok},
            "implausible": flags})
    return out


def _subject_part(subject: Subject) -> dict[str, Any]:
    counts = Counter(o.status.value for o in subject.outcomes)
    part: dict[str, Any] = {
        "kind": subject.kind, "name": subject.name, "verdict": subject_verdict(subject),
        "refused": refused(subject), "seconds": round(subject.seconds, 2),
        "counts": dict(counts),
        "outcomes": [o.to_dict() for o in subject.outcomes],
    }
    ctx = subject.context
    if isinstance(ctx, CheckpointContext):
        part.update(_checkpoint_part(ctx))
    else:
        part.update({"source": ctx.spec, "family": ctx.family,
                     "tolerance": ctx.tolerance.describe()})
        try:
            part["unsupported"] = dict(ctx.unsupported)
        except Exception:  # noqa: BLE001 - an adapter that did not build has none
            part["unsupported"] = {}
    return part


def build_report(subjects: Iterable[Subject], options: Mapping[str, Any] | None = None
                 ) -> dict[str, Any]:
    """The JSON-ready report of subjects already run."""
    subjects = list(subjects)
    word, code = verdict(subjects)
    # an adapter's own entries are its business (and apply only under --strict-layouts)
    unmatched = [u for u in unmatched_entries([s.expected for s in subjects])
                 if "(adapter " not in u]
    counts = Counter(o.status.value for s in subjects for o in s.outcomes)
    return {
        "schema": SCHEMA_NAME, "schema_version": SCHEMA_VERSION,
        "tool": {"name": "encodec-conformance", "version": __version__},
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "environment": environment(),
        "options": jsonable(dict(options or {})),
        "verdict": word, "exit_code": int(code),
        "subjects": [_subject_part(s) for s in subjects],
        "expected_failures": {"unmatched": unmatched},
        "summary": {"subjects": len(subjects), "counts": dict(counts),
                    "seconds": round(sum(s.seconds for s in subjects), 2)},
    }


def load_schema() -> dict[str, Any]:
    text = resources.files("conformance.checks").joinpath("report.schema.json").read_text(
        encoding="utf-8")
    return json.loads(text)


def validate_report(report: Mapping[str, Any]) -> None:
    """jsonschema.ValidationError unless `report` follows the schema."""
    import jsonschema

    jsonschema.validate(instance=report, schema=load_schema())


def format_summary(report: Mapping[str, Any], *, all_outcomes: bool = False) -> str:
    """A plain-text table per subject: checks by area with their counts, then every outcome
    that is not a pass (or every outcome, with `all_outcomes`)."""
    lines = [f"encodec-conformance {report['tool']['version']}: "
             f"{report['verdict'].upper().replace('_', ' ')} (exit code "
             f"{report['exit_code']})", ""]
    for sub in report["subjects"]:
        lines.append(f"== {sub['kind']} {sub['name']}: {sub['verdict'].replace('_', ' ')} "
                     f"({sub['seconds']:.1f} s)")
        if sub.get("format"):
            cfg = sub.get("config") or {}
            lines.append(f"   {sub['format']}, {cfg.get('sample_rate', '?')} Hz, "
                         f"{cfg.get('channels', '?')} ch, bandwidths "
                         f"{cfg.get('target_bandwidths') or 'derived'}")
        by_area: dict[str, Counter] = {}
        for o in sub["outcomes"]:
            by_area.setdefault(o["check"].split(".")[0], Counter())[o["status"]] += 1
        header = f"   {'area':10s} " + " ".join(f"{s.value:>14s}" for s in Status
                                                 if s is not Status.COMPUTED)
        lines.append(header)
        for area, counts in by_area.items():
            lines.append(f"   {area:10s} " + " ".join(
                f"{counts.get(s.value, 0):>14d}" for s in Status if s is not Status.COMPUTED))
        shown = [o for o in sub["outcomes"] if all_outcomes or o["status"] != "passed"]
        grouped: dict[str, list[str]] = {}
        for o in shown:
            if o["status"] == "not_applicable" and not all_outcomes:
                grouped.setdefault(o["reason"].split(" (")[0][:120], []).append(o["id"])
                continue
            mark = " (expected: " + o["expected_failure"][:60] + ")" if o[
                "expected_failure"] else ""
            lines.append(f"   {o['status']:<14s} {o['id']}: {o['reason'][:200]}{mark}")
        for reason, ids in grouped.items():
            which = ids[0] if len(ids) == 1 else f"{len(ids)} cases, e.g. {ids[0]}"
            lines.append(f"   {'not_applicable':<14s} {which}: {reason}")
        for w in sub.get("warnings", []):
            lines.append(f"   warning: {w[:200]}")
        lines.append("")
    if report["expected_failures"]["unmatched"]:
        lines.append("expected-failure entries that matched nothing: "
                     + ", ".join(report["expected_failures"]["unmatched"]))
    c = report["summary"]["counts"]
    lines.append("total: " + ", ".join(f"{v} {k}" for k, v in sorted(c.items()))
                 + f" in {report['summary']['seconds']:.1f} s")
    return "\n".join(lines)
