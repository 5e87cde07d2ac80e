"""The corpus report as one self-contained HTML page (inline CSS, no script, no external asset):
verdict and reasons, file counts and throughput, the thresholds and their outcomes, the
statistics of every bandwidth x metric with the worst files, the files that were not
evaluated, and the run's checkpoint and settings. Every string is HTML-escaped."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conformance.corpus.thresholds import tail_statistic
from conformance.fileio import atomic_write_text

__all__ = ["render_html", "write_html"]

_CSS = """
body { margin: 2em auto; max-width: 72em; padding: 0 1em; color: #1f2328;
  font: 14px/1.45 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; }
h1, h2 { font-weight: 600; } h2 { margin-top: 1.6em; border-bottom: 1px solid #d1d9e0; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #d1d9e0; padding: .25em .6em; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.passed, .conformant { color: #1a7f37; } .failed, .not_conformant, .error { color: #cf222e; }
.refused { color: #82071e; } .not_computed, .not_applicable { color: #59636e; }
.verdict { font-size: 1.4em; font-weight: 600; }
pre { background: #f6f8fa; padding: .6em; overflow-x: auto; }
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _num(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _table(head: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return "<p>none</p>"
    out = ["<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"]
    out += ["<tr>" + "".join(rows_cell for rows_cell in row) + "</tr>" for row in rows]
    return "".join(out) + "</table>"


def _td(value: Any, cls: str = "") -> str:
    return f'<td class="{_e(cls)}">{_e(value)}</td>' if cls else f"<td>{_e(value)}</td>"


def render_html(report: Mapping[str, Any]) -> str:
    """The page for a corpus report (`conformance.corpus.aggregate.build_report`)."""
    f = report["files"]
    t = report.get("timing") or {}
    parts = [f"<h1>Corpus validation: {_e(report['checkpoint'].get('source'))}</h1>",
             f'<p class="verdict {_e(report["verdict"])}">{_e(report["verdict"])} '
             f"(exit code {_e(report['exit_code'])})</p>"]
    if report["reasons"]:
        parts.append("<ul>" + "".join(f"<li>{_e(r)}</li>" for r in report["reasons"])
                     + "</ul>")
    parts.append("<h2>Files</h2>" + _table(
        ["total", "evaluated", "converted", "not computed", "not converted", "error",
         "ignored (not audio)", "audio seconds", "files/s", "audio-s/s"],
        [[_td(f["total"]), _td(f["computed"]), _td(f.get("converted")), _td(f["not_computed"]),
          _td(f["not_applicable"]), _td(f["error"]), _td(f["ignored"]),
          f'<td class="num">{report["audio_seconds"]:.1f}</td>',
          f'<td class="num">{_num(t.get("files_per_second"))}</td>',
          f'<td class="num">{_num(t.get("audio_seconds_per_second"))}</td>']]))
    th = report.get("thresholds")
    parts.append("<h2>Thresholds</h2>")
    if th:
        parts.append(f"<p>{_e(th['name'])}: {_e(th['source'])}</p>")
        parts.append(_table(
            ["status", "kbps", "metric", "statistic", "limit", "observed", "source"],
            [[_td(o["status"], o["status"]), _td(f"{o['bandwidth_kbps']:g}"),
              _td(o["metric"]), _td(o["statistic"]),
              _td(f"{'>=' if o['direction'] == 'minimum' else '<='} {o['limit']:.4f}"),
              f'<td class="num">{_num(o["observed"])}</td>', _td(o["source"])]
             for o in th["outcomes"]]))
    else:
        parts.append("<p>none given</p>")
    parts.append("<h2>Statistics</h2>")
    rows = []
    for s in report["statistics"]:
        worst = "; ".join(f"{w['path']} ({w['value']:.3f})" for w in s["worst"][:3])
        rows.append([_td(f"{s['bandwidth_kbps']:g}"), _td(s["metric"]), _td(s["better"]),
                     _td(s["files"]), _td(s["not_computed"]),
                     *(f'<td class="num">{_num(s[k])}</td>'
                       for k in ("mean", "p05", "p50", "p95", "min", "max")),
                     _td(f"{tail_statistic(s['metric'])}"), _td(worst)])
    parts.append(_table(["kbps", "metric", "better", "files", "not computed", "mean", "p05",
                         "p50", "p95", "min", "max", "tail", "worst files"], rows))
    for title, key in (("Unreadable or not codable", "unreadable"),
                       ("Not converted", "not_converted"), ("Errors", "errors")):
        if report[key]:
            parts.append(f"<h2>{_e(title)}</h2>" + _table(
                ["file", "reason"], [[_td(x["path"]), _td(x["reason"])] for x in report[key]]))
    if report["nonfinite"]:
        parts.append("<h2>Decodes with NaN or inf</h2>" + _table(
            ["file", "kbps", "samples"], [[_td(x["path"]), _td(f"{x['bandwidth_kbps']:g}"),
                                           _td(x["samples"])] for x in report["nonfinite"]]))
    parts.append("<h2>Run</h2><pre>" + _e(json.dumps(
        {"checkpoint": {k: v for k, v in report["checkpoint"].items() if k != "config"},
         "family": report["family"], "settings": report["settings"],
         "shards": report["shards"], "tool": report["tool"], "created": report["created"]},
        indent=1)) + "</pre>")
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Corpus validation: {_e(report['verdict'])}</title>"
            f"<style>{_CSS}</style></head><body>" + "\n".join(parts) + "</body></html>\n")


def write_html(path: str | Path, report: Mapping[str, Any]) -> Path:
    """Write the page atomically."""
    return atomic_write_text(path, render_html(report))
