"""Corpus statistics and the corpus verdict, from the per-file records of one run or of the
shards of one run (`merge`).

Per bandwidth and metric, over the files where the metric was computed: count, mean
(`math.fsum`, exactly rounded, so it does not depend on the order of the files), the 5th,
50th and 95th percentiles (linear interpolation between the sorted values, numpy's default),
min, max, and the worst files (lowest scores / highest distances; ties by path). The same
files give the same numbers, bit for bit, however they were split into shards.

Verdict, with the run's exit code:

- `refused` (2): no file could be evaluated (none found, or none readable);
- `not_conformant` (1): a corpus threshold failed, a file's decode held NaN or inf samples, or
  coding a readable file raised (status `error`);
- `conformant` (0) otherwise. Unreadable files are listed, never fatal; a threshold whose
  statistic no file computed is `not_computed` and does not fail the run.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.corpus.results import Results, read_results, same_run
from conformance.corpus.thresholds import CorpusThresholds, tail_statistic
from conformance.errors import ExitCode, InvalidArgument
from conformance.quality.thresholds import LOWER_IS_BETTER
from conformance.status import Status

__all__ = ["REPORT_SCHEMA", "REPORT_SCHEMA_VERSION", "WORST_FILES", "build_report",
           "format_summary", "load_schema", "merge", "percentile", "statistics",
           "validate_report"]

REPORT_SCHEMA = "encodec-conformance/corpus-report"
REPORT_SCHEMA_VERSION = 1
#: Files listed as the worst of each statistic.
WORST_FILES = 10


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of ascending values, linearly interpolated."""
    if not sorted_values:
        raise InvalidArgument("percentile of no values")
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    frac = pos - lo
    a, b = sorted_values[lo], sorted_values[hi]
    return a if frac == 0 or a == b else a + (b - a) * frac


def _bandwidths(records: Iterable[Mapping[str, Any]]) -> list[str]:
    keys = {k for r in records for k in (r.get("bandwidths") or {})}
    return sorted(keys, key=float)


def statistics(records: Sequence[Mapping[str, Any]], metrics: Sequence[str],
               worst: int = WORST_FILES) -> list[dict[str, Any]]:
    """One entry per bandwidth x metric (see the module doc)."""
    out = []
    evaluated = [r for r in records if r.get("status") == Status.COMPUTED.value]
    for bw in _bandwidths(evaluated):
        for metric in metrics:
            pairs, missing = [], Counter()
            for r in evaluated:
                m = ((r["bandwidths"].get(bw) or {}).get("metrics") or {}).get(metric)
                if m is None:
                    continue
                if m.get("value") is None:
                    missing[m.get("reason") or "not computed"] += 1
                else:
                    pairs.append((float(m["value"]), r["path"]))
            lower = metric in LOWER_IS_BETTER
            values = sorted(v for v, _ in pairs)
            entry: dict[str, Any] = {
                "bandwidth_kbps": float(bw), "metric": metric,
                "better": "lower" if lower else "higher", "files": len(values),
                "not_computed": sum(missing.values()),
                "not_computed_reasons": dict(sorted(missing.items())),
                "mean": None, "p05": None, "p50": None, "p95": None, "min": None,
                "max": None, "worst": []}
            if values:
                entry.update(mean=math.fsum(values) / len(values),
                             p05=percentile(values, 5), p50=percentile(values, 50),
                             p95=percentile(values, 95), min=values[0], max=values[-1])
                ranked = sorted(pairs, key=lambda p: ((-p[0] if lower else p[0]), p[1]))
                entry["worst"] = [{"path": p, "value": v} for v, p in ranked[:worst]]
            out.append(entry)
    return out


def _judge(stats: list[dict[str, Any]], thresholds: CorpusThresholds | None,
           metrics: Sequence[str]) -> list[dict[str, Any]]:
    """The thresholds' outcomes on the statistics (thresholds of metrics the run did not
    compute are left out; those of a bandwidth it did not code are not_applicable)."""
    if thresholds is None:
        return []
    by_key = {(s["bandwidth_kbps"], s["metric"]): s for s in stats}
    outcomes = []
    for t in thresholds.entries:
        if t.metric not in metrics:  # a metric this run did not compute
            continue
        s = next((v for (bw, m), v in by_key.items()
                  if m == t.metric and math.isclose(bw, t.bandwidth_kbps, rel_tol=1e-9)), None)
        if s is None:
            o = t.judge(None, f"{t.statistic} {t.metric} at {t.bandwidth_kbps:g} kbps: the run "
                              "did not code this bandwidth")
            o["status"] = Status.NOT_APPLICABLE.value
        else:
            o = t.judge(s[t.statistic], None if s[t.statistic] is not None else
                        f"no file computed {t.metric} at {t.bandwidth_kbps:g} kbps")
        outcomes.append(o)
    return outcomes


def _listed(records: Iterable[Mapping[str, Any]], status: str) -> list[dict[str, Any]]:
    return [{"path": r["path"], "reason": r.get("reason"), "skipped": r.get("skipped")}
            for r in records if r.get("status") == status]


def build_report(run: Mapping[str, Any], records: Sequence[Mapping[str, Any]],
                 thresholds: CorpusThresholds | None, *, shards: list[dict[str, Any]],
                 ignored: int = 0, worst: int = WORST_FILES) -> dict[str, Any]:
    """The corpus report (schema `report.schema.json` beside this module)."""
    records = sorted(records, key=lambda r: r["path"])
    metrics = list(run["settings"]["metrics"])
    stats = statistics(records, metrics, worst)
    outcomes = _judge(stats, thresholds, metrics)
    counts = Counter(r.get("status") for r in records)
    evaluated = [r for r in records if r.get("status") == Status.COMPUTED.value]
    nonfinite = [{"path": r["path"], "bandwidth_kbps": float(bw),
                  "samples": int(v.get("nonfinite_samples", 0))}
                 for r in evaluated for bw, v in sorted(r["bandwidths"].items(),
                                                        key=lambda kv: float(kv[0]))
                 if v.get("nonfinite_samples")]
    reasons = []
    if not evaluated:
        verdict, code = "refused", ExitCode.REFUSED
        reasons.append("no audio file could be evaluated" + (
            "" if records else " (none was found)"))
    else:
        failed = [o for o in outcomes if o["status"] == Status.FAILED.value]
        errors = _listed(records, Status.ERROR.value)
        reasons += [o["reason"] for o in failed]
        reasons += [f"{e['path']}: coding raised: {e['reason']}" for e in errors]
        reasons += [f"{n['path']}: {n['samples']} NaN/inf samples at "
                    f"{n['bandwidth_kbps']:g} kbps" for n in nonfinite]
        if reasons:
            verdict, code = "not_conformant", ExitCode.CHECK_FAILED
        else:
            verdict, code = "conformant", ExitCode.OK
            if not outcomes:
                reasons.append("no corpus threshold applies: statistics reported without a "
                               "verdict on quality")
    audio = math.fsum(float(r.get("duration") or 0.0) for r in evaluated)
    wall = math.fsum(float(r.get("seconds") or 0.0) for r in records)
    return {
        "schema": REPORT_SCHEMA, "schema_version": REPORT_SCHEMA_VERSION,
        "tool": {"name": "encodec-conformance", "version": __version__},
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "checkpoint": run["checkpoint"], "family": run.get("family"),
        "settings": run["settings"], "shards": shards,
        "files": {"total": len(records), "computed": counts.get(Status.COMPUTED.value, 0),
                  "not_computed": counts.get(Status.NOT_COMPUTED.value, 0),
                  "not_applicable": counts.get(Status.NOT_APPLICABLE.value, 0),
                  "error": counts.get(Status.ERROR.value, 0), "ignored": ignored,
                  "converted": sum(1 for r in evaluated if r.get("conversion"))},
        "audio_seconds": audio,
        "timing": {"file_seconds": wall,
                   "files_per_second": len(records) / wall if wall > 0 else None,
                   "audio_seconds_per_second": audio / wall if wall > 0 else None},
        "statistics": stats,
        "thresholds": None if thresholds is None else {
            **thresholds.to_dict(), "outcomes": outcomes},
        "unreadable": _listed(records, Status.NOT_COMPUTED.value),
        "not_converted": _listed(records, Status.NOT_APPLICABLE.value),
        "errors": _listed(records, Status.ERROR.value),
        "nonfinite": nonfinite,
        "verdict": verdict, "exit_code": int(code), "reasons": reasons,
    }


def merge(paths: Sequence[str | Path]) -> tuple[dict[str, Any], list[dict[str, Any]],
                                                 list[dict[str, Any]]]:
    """(run, records, shards) of the results files of one run's shards; InvalidArgument
    unless they are the same run, every shard 1..n exactly once (or one unsharded file), each
    complete, and no file twice."""
    if not paths:
        raise InvalidArgument("merge-reports needs at least one results file")
    files: list[Results] = [read_results(p) for p in paths]
    first = files[0]
    for r in files[1:]:
        diff = same_run(first.run, r.run, shard=False)
        if diff:
            raise InvalidArgument(f"{r.path} is not a shard of the same run as {first.path}: "
                                  f"they differ in {', '.join(diff)}")
    shards = [r.run.get("shard") for r in files]
    if any(s is None for s in shards):
        if len(files) > 1:
            raise InvalidArgument("an unsharded results file can only be merged alone: "
                                  + ", ".join(str(r.path) for r, s in zip(files, shards)
                                              if s is None))
    else:
        counts = {s["count"] for s in shards}
        if len(counts) != 1:
            raise InvalidArgument(f"the shards were cut in different counts: {sorted(counts)}")
        count = counts.pop()
        seen = Counter(s["index"] for s in shards)
        twice = sorted(i for i, n in seen.items() if n > 1)
        missing = sorted(set(range(1, count + 1)) - set(seen))
        if twice or missing:
            raise InvalidArgument(
                f"merge-reports needs every shard 1..{count} exactly once",
                ([f"missing: {', '.join(f'{i}/{count}' for i in missing)}"] if missing else [])
                + ([f"given twice: {', '.join(f'{i}/{count}' for i in twice)}"]
                   if twice else []))
    incomplete = [r for r in files if not r.complete]
    if incomplete:
        raise InvalidArgument(
            "results file(s) of an unfinished run: finish them with --resume first",
            [f"{r.path}: {len(r.records)} file records, "
             + ("no end line" if r.end is None else f"end line says {r.end.get('files')}")
             for r in incomplete])
    owner: dict[str, Path] = {}
    records: list[dict[str, Any]] = []
    for r in files:
        for rec in r.records:
            if rec["path"] in owner:
                raise InvalidArgument(f"{rec['path']} is in two results files: "
                                      f"{owner[rec['path']]} and {r.path}")
            owner[rec["path"]] = r.path
            records.append(rec)
    info = [{"file": str(r.path), "index": (r.run.get("shard") or {}).get("index"),
             "count": (r.run.get("shard") or {}).get("count"), "files": len(r.records),
             "ignored": int(r.run.get("ignored_files", 0))} for r in files]
    return first.run, records, info


def load_schema() -> dict[str, Any]:
    """The JSON Schema of the corpus report (shipped beside this module)."""
    text = resources.files("conformance.corpus").joinpath("report.schema.json").read_text(
        encoding="utf-8")
    return json.loads(text)


def validate_report(report: Mapping[str, Any]) -> None:
    """Raise jsonschema's ValidationError when `report` does not follow the schema."""
    import jsonschema

    jsonschema.validate(report, load_schema(),
                        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def format_summary(report: Mapping[str, Any]) -> str:
    """A few lines for people: counts, the statistics table, failed thresholds, verdict."""
    f = report["files"]
    lines = [f"corpus: {f['total']} file(s): {f['computed']} evaluated, {f['not_computed']} "
             f"unreadable or not codable, {f['not_applicable']} not converted, {f['error']} "
             f"error(s); {report['audio_seconds']:.1f} s of audio"]
    if f.get("converted"):
        lines.append(f"converted: {f['converted']} file(s) resampled or remixed to the model's "
                     "rate and channels (each record says how)")
    t = report.get("timing") or {}
    if t.get("files_per_second"):
        lines.append(f"throughput: {t['files_per_second']:.2f} files/s, "
                     f"{t['audio_seconds_per_second']:.2f} audio-s/s (per-file time)")
    lines.append(f"{'kbps':>6}  {'metric':<14} {'files':>5}  {'mean':>8} {'tail':>8}  worst")
    for s in report["statistics"]:
        tail = tail_statistic(s["metric"])
        worst = s["worst"][0] if s["worst"] else None
        lines.append(f"{s['bandwidth_kbps']:>6g}  {s['metric']:<14} {s['files']:>5}  "
                     f"{_fmt(s['mean']):>8} {_fmt(s[tail]):>8}  "
                     + (f"{worst['path']} ({worst['value']:.3f})" if worst else "-"))
    th = report.get("thresholds")
    if th:
        lines.append(f"thresholds: {th['name']} ({len(th['outcomes'])} checked)")
        lines += [f"  {o['status']:<12} {o['reason']}" for o in th["outcomes"]
                  if o["status"] != Status.PASSED.value]
    for u in report["unreadable"][:20]:
        lines.append(f"unreadable: {u['path']}: {u['reason']}")
    if len(report["unreadable"]) > 20:
        lines.append(f"... and {len(report['unreadable']) - 20} more unreadable file(s)")
    for e in report["errors"][:20]:
        lines.append(f"error: {e['path']}: {e['reason']}")
    lines.append(f"verdict: {report['verdict']} (exit {report['exit_code']})"
                 + (f": {report['reasons'][0]}" if report["reasons"] else ""))
    return "\n".join(lines)
