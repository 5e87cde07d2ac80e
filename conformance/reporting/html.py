"""The validation report as one self-contained HTML page.

`render_html(report, media)` turns the JSON report of `encodec-conformance validate`
(`conformance.checks.report.build_report`) and, per subject, the excerpts its audio checks kept
(`CheckpointContext.excerpts`) into a page with no external asset and no script: CSS inline,
figures and audio as data: URIs (`conformance.reporting.media`). From the top:

- the verdict, exit code, counts, and tool / torch / Python versions and the date;
- an overview of the subjects;
- per subject: every outcome in one table grouped by area (status, case id, reason; failures
  with observed, expected and a reproduction snippet), then for checkpoints the metrics of each
  clip x bandwidth against their thresholds (pass / fail colouring), per clip the spectrograms
  of input, decode and their difference with players for the input and the decodes at the
  lowest and highest bandwidth, the key-mapping report and the config with the source of each
  field; for implementations the tolerance and what the adapter does not support;
- the environment and the options of the run.

Every string from the report is HTML-escaped. Size: with `EXCERPT_SECONDS` excerpts the report
of the three bundled golden checkpoints stays under `GOLDEN_BUDGET_BYTES`.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from conformance.checks.checkpoint.context import Excerpt
from conformance.errors import InvalidArgument
from conformance.fileio import atomic_write_text

__all__ = ["GOLDEN_BUDGET_BYTES", "render_html", "write_html_report"]

#: Size budget of the HTML report of the three bundled golden checkpoints (bytes).
GOLDEN_BUDGET_BYTES = 3_000_000

#: Failure details longer than this are cut (the JSON report keeps them whole).
_DETAILS_CHARS = 4000
_STATUS_ORDER = ("passed", "failed", "error", "not_computed", "not_applicable")
_STATUS_LABEL = {"passed": "passed", "failed": "failed", "error": "error",
                 "not_applicable": "not applicable", "not_computed": "not computed"}
_VERDICT_LABEL = {"conformant": "Conformant", "not_conformant": "Not conformant",
                  "refused": "Refused"}
_VERDICT_NOTE = {"conformant": "every check passed or does not apply",
                 "not_conformant": "at least one check failed",
                 "refused": "an input was unreadable or refused"}
_METRIC_LABEL = {"pesq_wb": "PESQ-WB", "stoi": "STOI", "mel_distance": "mel distance",
                 "si_sdr": "SI-SDR (dB)"}

_CSS = """
:root { --ink:#1f2328; --muted:#59636e; --line:#d1d9e0; --soft:#f6f8fa;
  --ok:#1a7f37; --ok-bg:#dafbe1; --bad:#cf222e; --bad-bg:#ffebe9; --err:#82071e;
  --err-bg:#ffcecb; --na:#59636e; --na-bg:#eff2f5; --nc:#7d4e00; --nc-bg:#fff8c5;
  --warn:#9a6700; --warn-bg:#fff1d6; --accent:#0969da; }
* { box-sizing:border-box; }
body { margin:0; color:var(--ink); background:#fff; line-height:1.45;
  font:14px/1.45 -apple-system,"Segoe UI","Noto Sans",Helvetica,Arial,sans-serif; }
main { max-width:1320px; margin:0 auto; padding:24px 32px 48px; }
h1 { font-size:22px; margin:0 0 4px; }
h2 { font-size:19px; margin:0; }
h3 { font-size:15px; margin:28px 0 8px; padding-bottom:4px; border-bottom:1px solid var(--line); }
h4 { font-size:14px; margin:0 0 6px; }
a { color:var(--accent); text-decoration:none; }
a:hover { text-decoration:underline; }
code, .mono { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12.5px; }
.muted { color:var(--muted); }
.small { font-size:12.5px; }
.verdict { display:flex; align-items:center; gap:20px; padding:18px 22px; border-radius:8px;
  border:1px solid; margin:14px 0 18px; }
.verdict .word { font-size:26px; font-weight:700; letter-spacing:.2px; }
.verdict.conformant { background:var(--ok-bg); border-color:#4ac26b; color:var(--ok); }
.verdict.not_conformant { background:var(--bad-bg); border-color:#ff8182; color:var(--bad); }
.verdict.refused { background:var(--warn-bg); border-color:#d4a72c; color:var(--warn); }
.verdict .facts { color:var(--ink); }
.meta { display:flex; flex-wrap:wrap; gap:6px 18px; color:var(--muted); font-size:12.5px; }
.meta b { color:var(--ink); font-weight:600; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; vertical-align:top; padding:5px 8px;
  border-bottom:1px solid var(--line); }
thead th { background:var(--soft); font-weight:600; font-size:12.5px; color:var(--muted);
  border-bottom:1px solid var(--line); }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
.pill { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px;
  font-weight:600; white-space:nowrap; }
.s-passed { background:var(--ok-bg); color:var(--ok); }
.s-failed { background:var(--bad-bg); color:var(--bad); }
.s-error { background:var(--err-bg); color:var(--err); }
.s-not_applicable { background:var(--na-bg); color:var(--na); }
.s-not_computed { background:var(--nc-bg); color:var(--nc); }
.v-conformant { background:var(--ok-bg); color:var(--ok); }
.v-not_conformant { background:var(--bad-bg); color:var(--bad); }
.v-refused { background:var(--warn-bg); color:var(--warn); }
.tag { display:inline-block; padding:0 6px; border-radius:4px; font-size:11.5px;
  background:#ddf4ff; color:#0550ae; margin-left:6px; }
section.subject { margin-top:36px; padding-top:18px; border-top:3px solid var(--ink); }
.subject-head { display:flex; align-items:baseline; gap:12px; flex-wrap:wrap; }
dl.facts { display:grid; grid-template-columns:max-content 1fr; gap:2px 14px; margin:10px 0 0; }
dl.facts dt { color:var(--muted); }
dl.facts dd { margin:0; overflow-wrap:anywhere; }
table.checks { table-layout:fixed; }
table.checks col.c-status { width:128px; } table.checks col.c-id { width:38%; }
table.checks td.id { overflow-wrap:anywhere; }
table.checks td.reason { overflow-wrap:anywhere; }
table.keys { width:auto; } table.keys td { padding:2px 14px 2px 8px; }
table.checks tr.area th { background:#eef1f4; color:var(--ink); font-size:13px;
  border-top:1px solid #b7c0c8; }
table.checks tr.area .counts { font-weight:400; color:var(--muted); margin-left:8px; }
table.checks tr.row-failed td, table.checks tr.row-error td { background:#fff5f5; }
details { margin-top:4px; }
details summary { cursor:pointer; color:var(--accent); font-size:12.5px; }
pre { background:var(--soft); border:1px solid var(--line); border-radius:6px; padding:8px;
  overflow-x:auto; margin:4px 0; font-size:12px; white-space:pre-wrap; overflow-wrap:anywhere; }
table.metrics { width:auto; min-width:70%; }
table.metrics td.clip { font-weight:600; overflow-wrap:anywhere; width:320px; }
table.metrics th.num, table.metrics td.m { min-width:110px; }
table.metrics td.m { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
table.metrics td.m .lim { display:block; font-size:11.5px; font-weight:400; opacity:.85; }
td.m.ok { background:var(--ok-bg); color:var(--ok); font-weight:600; }
td.m.bad { background:var(--bad-bg); color:var(--bad); font-weight:700; }
td.m.nc { background:var(--nc-bg); color:var(--nc); }
td.m.nv { color:var(--ink); }
table.metrics tr.first-of-clip td { border-top:1px solid #b7c0c8; }
.legend { display:flex; gap:14px; flex-wrap:wrap; margin:6px 0 0; font-size:12.5px;
  color:var(--muted); align-items:center; }
.swatch { display:inline-block; width:12px; height:12px; border-radius:3px;
  vertical-align:-2px; margin-right:4px; border:1px solid rgba(0,0,0,.08); }
.clip { border:1px solid var(--line); border-radius:8px; padding:12px 14px; margin:12px 0; }
.clip img { display:block; width:100%; max-width:1100px; height:auto; margin:6px 0 8px; }
.players { display:flex; flex-wrap:wrap; gap:10px 22px; }
.player { display:flex; flex-direction:column; gap:2px; font-size:12.5px; color:var(--muted); }
.player audio { width:300px; height:36px; }
.grid2 { display:grid; grid-template-columns:minmax(0,1fr) minmax(0,1fr); gap:0 28px;
  align-items:start; }
table.stats { width:auto; }
table.stats th { color:var(--muted); font-weight:400; padding-right:18px; }
table.stats td { font-weight:600; padding-right:28px; }
ul.warnings { margin:6px 0; padding-left:20px; }
ul.warnings li { overflow-wrap:anywhere; }
.note { color:var(--muted); font-size:12.5px; margin:4px 0 8px; }
footer { margin-top:40px; color:var(--muted); font-size:12.5px; }
"""


def _e(value: Any) -> str:
    """HTML-escaped text of `value` (quotes included, so it is safe in attributes too)."""
    return html.escape("" if value is None else str(value), quote=True)


def _pill(status: str) -> str:
    return f'<span class="pill s-{_e(status)}">{_e(_STATUS_LABEL.get(status, status))}</span>'


def _verdict_pill(verdict: str) -> str:
    return (f'<span class="pill v-{_e(verdict)}" data-verdict="{_e(verdict)}">'
            f"{_e(_VERDICT_LABEL.get(verdict, verdict))}</span>")


def _counts_text(counts: Mapping[str, int]) -> str:
    parts = [f"{counts[s]} {_STATUS_LABEL[s]}" for s in _STATUS_ORDER if counts.get(s)]
    return ", ".join(parts) or "nothing ran"


def _fmt_value(metric: str, value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "n/a"
    return f"{value:.1f}" if metric == "si_sdr" else f"{value:.3f}"


def _json_block(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=1, default=str)
    return f"<pre>{_e(text)}</pre>"


# ------------------------------------------------------------------------------ top of page
def _banner(report: Mapping[str, Any]) -> str:
    verdict = str(report.get("verdict"))
    env = report.get("environment") or {}
    tool = report.get("tool") or {}
    summary = report.get("summary") or {}
    facts = (f"exit code {_e(report.get('exit_code'))} &middot; "
             f"{_e(summary.get('subjects', len(report.get('subjects', []))))} subject(s) "
             f"&middot; {_e(_counts_text(summary.get('counts') or {}))} &middot; "
             f"{_e(summary.get('seconds', 0))} s")
    return (f'<header><h1>EnCodec conformance report</h1>'
            f'<div class="meta"><span><b>{_e(tool.get("name", "encodec-conformance"))}</b> '
            f'{_e(tool.get("version"))}</span><span>torch <b>{_e(env.get("torch"))}</b></span>'
            f'<span>Python <b>{_e(env.get("python"))}</b></span>'
            f'<span>created <b>{_e(report.get("created"))}</b></span></div>'
            f'<div class="verdict {_e(verdict)}" id="verdict" data-verdict="{_e(verdict)}">'
            f'<span class="word">{_e(_VERDICT_LABEL.get(verdict, verdict))}</span>'
            f'<span class="facts">{_e(_VERDICT_NOTE.get(verdict, ""))}<br>'
            f'<span class="small">{facts}</span></span></div></header>')


def _overview(report: Mapping[str, Any]) -> str:
    rows = []
    for i, sub in enumerate(report.get("subjects", [])):
        counts = sub.get("counts") or {}
        cells = "".join(f'<td class="num">{_e(counts.get(s, 0))}</td>' for s in _STATUS_ORDER)
        rows.append(f'<tr><td><a href="#subject-{i}">{_e(sub.get("name"))}</a></td>'
                    f'<td>{_e(sub.get("kind"))}</td><td>{_verdict_pill(str(sub.get("verdict")))}'
                    f'</td>{cells}<td class="num">{_e(sub.get("seconds"))} s</td></tr>')
    head = "".join(f'<th class="num">{_e(_STATUS_LABEL[s])}</th>' for s in _STATUS_ORDER)
    unmatched = (report.get("expected_failures") or {}).get("unmatched") or []
    note = ""
    if unmatched:
        note = ('<p class="note">Expected-failure entries that matched nothing: '
                + ", ".join(f"<code>{_e(u)}</code>" for u in unmatched) + "</p>")
    return (f'<h3>Subjects</h3><table class="overview"><thead><tr><th>subject</th><th>kind</th>'
            f'<th>verdict</th>{head}<th class="num">time</th></tr></thead><tbody>'
            f'{"".join(rows)}</tbody></table>{note}')


# ---------------------------------------------------------------------------------- checks
def _outcome_row(o: Mapping[str, Any]) -> str:
    status = str(o.get("status"))
    extra = ""
    if o.get("expected_failure"):
        extra += f'<span class="tag">expected: {_e(o["expected_failure"])}</span>'
    more = []
    if o.get("observed") is not None or o.get("expected") is not None:
        more.append(f"<b>observed</b>{_json_block(o.get('observed'))}"
                    f"<b>expected</b>{_json_block(o.get('expected'))}")
    if o.get("reproduce"):
        more.append(f"<b>reproduce with</b>{_json_block(o['reproduce'])}")
    details = o.get("details") or {}
    if status == "error" and details.get("traceback"):
        more.append(f"<b>traceback</b>{_json_block(details['traceback'])}")
    elif status in ("failed", "error") and details:
        text = json.dumps(details, indent=1, default=str)
        if len(text) > _DETAILS_CHARS:
            text = text[:_DETAILS_CHARS] + "\n... (cut here; the JSON report has all of it)"
        more.append(f"<b>details</b>{_json_block(text)}")
    if more:
        extra += f"<details><summary>details</summary>{''.join(more)}</details>"
    return (f'<tr class="row-{_e(status)}" data-check="{_e(o.get("check"))}">'
            f"<td>{_pill(status)}</td><td class=\"id mono\">{_e(o.get('id'))}</td>"
            f'<td class="reason">{_e(o.get("reason"))}{extra}</td></tr>')


def _checks_table(sub: Mapping[str, Any]) -> str:
    outcomes = list(sub.get("outcomes") or [])
    if not outcomes:
        return '<h3>Checks</h3><p class="note">No check ran on this subject.</p>'
    areas: dict[str, list[Mapping[str, Any]]] = {}
    for o in outcomes:
        areas.setdefault(str(o.get("check", "")).split(".", 1)[0], []).append(o)
    body = []
    for area, items in areas.items():
        counts = Counter(str(o.get("status")) for o in items)
        body.append(f'<tr class="area"><th colspan="3">{_e(area)}'
                    f'<span class="counts">{_e(_counts_text(counts))}</span></th></tr>')
        body += [_outcome_row(o) for o in items]
    return ('<h3>Checks</h3><table class="checks"><colgroup><col class="c-status">'
            '<col class="c-id"><col></colgroup><thead><tr><th>status</th><th>check [case]</th>'
            f'<th>reason</th></tr></thead><tbody>{"".join(body)}</tbody></table>')


# --------------------------------------------------------------------------------- metrics
def _quality_outcomes(sub: Mapping[str, Any]) -> dict[tuple[str, str], Mapping[str, Any]]:
    return {tuple(o.get("case") or ()): o for o in sub.get("outcomes") or []
            if o.get("check") == "audio.quality"}


def _limit_text(threshold: Mapping[str, Any]) -> str:
    if threshold.get("minimum") is not None:
        return f"\u2265 {threshold['minimum']:.3f}"
    if threshold.get("maximum") is not None:
        return f"\u2264 {threshold['maximum']:.3f}"
    return ""


def _metric_cell(metric: str, value: Any, judged: Mapping[str, Any] | None,
                 implausible: Mapping[str, Any], not_computed: Mapping[str, Any]) -> str:
    shown = _fmt_value(metric, value)
    if metric in implausible:
        return (f'<td class="m bad" title="{_e(implausible[metric])}">{shown}'
                f'<span class="lim">implausible</span></td>')
    if value is None:
        return (f'<td class="m nc" title="{_e(not_computed.get(metric, ""))}">not computed'
                f"</td>")
    if judged is None:
        return f'<td class="m nv">{shown}</td>'
    status = str(judged.get("status"))
    css = {"passed": "ok", "failed": "bad"}.get(status, "nc")
    limit = _limit_text(judged.get("threshold") or {})
    return (f'<td class="m {css}" data-status="{_e(status)}">{shown}'
            f'<span class="lim">{_e(limit)}</span></td>')


def _metrics_table(sub: Mapping[str, Any]) -> str:
    rows = list(sub.get("metrics") or [])
    if not rows:
        return ""
    metrics: list[str] = []
    for r in rows:
        for m in (r.get("values") or {}):
            if m not in metrics:
                metrics.append(m)
    quality = _quality_outcomes(sub)
    by_clip: dict[str, list[Mapping[str, Any]]] = {case[0]: [] for case in quality if case}
    for r in rows:
        by_clip.setdefault(str(r.get("clip")), []).append(r)
    body, provenance = [], set()
    for clip, items in by_clip.items():
        if not items:
            continue
        items = sorted(items, key=lambda r: float(r.get("bandwidth_kbps") or 0))
        for j, r in enumerate(items):
            bw = float(r.get("bandwidth_kbps") or 0)
            outcome = quality.get((clip, f"{bw:g}kbps"))
            judged = {t.get("metric"): t for t in ((outcome or {}).get("details") or {})
                      .get("thresholds") or []}
            provenance |= {str((t.get("threshold") or {}).get("provenance"))
                           for t in judged.values() if (t.get("threshold") or {})
                           .get("provenance")}
            cells = "".join(_metric_cell(m, (r.get("values") or {}).get(m), judged.get(m),
                                         r.get("implausible") or {},
                                         r.get("not_computed") or {}) for m in metrics)
            verdict = _pill(str(outcome.get("status"))) if outcome else ""
            clip_cell = (f'<td class="clip" rowspan="{len(items)}">{_e(clip)}</td>'
                         if j == 0 else "")
            body.append(f'<tr class="{"first-of-clip" if j == 0 else ""}">{clip_cell}'
                        f'<td class="num">{bw:g}</td>{cells}<td>{verdict}</td></tr>')
    head = "".join(f'<th class="num">{_e(_METRIC_LABEL.get(m, m))}</th>' for m in metrics)
    source = (f" Thresholds: {_e(', '.join(sorted(provenance)))}." if provenance else "")
    legend = ('<div class="legend"><span><span class="swatch" style="background:#dafbe1">'
              '</span>meets its threshold</span><span><span class="swatch" '
              'style="background:#ffebe9"></span>misses it, or implausible</span><span>'
              '<span class="swatch" style="background:#fff8c5"></span>not computed</span>'
              '<span><span class="swatch" style="background:#fff"></span>no verdict (no '
              'threshold applies, e.g. music)</span></div>')
    return (f'<h3>Audio quality per clip and bandwidth</h3><p class="note">Each cell: the '
            f"value and, below it, the threshold it is judged against.{source}</p>"
            f'<table class="metrics"><thead><tr><th>clip</th><th class="num">kbps</th>{head}'
            f'<th>verdict</th></tr></thead><tbody>{"".join(body)}</tbody></table>{legend}')


# ------------------------------------------------------------------------------- listening
def _clip_kind(clip: str) -> str:
    from conformance.audio.clips import reference_clip

    try:
        return reference_clip(clip).kind
    except KeyError:
        return "clip"


def _player(label: str, wav: Any, sample_rate: int) -> str:
    from conformance.reporting.media import audio_data_uri

    return (f'<label class="player">{_e(label)}<audio controls preload="metadata" '
            f'src="{audio_data_uri(wav, sample_rate)}"></audio></label>')


def _clip_card(clip: str, excerpts: Sequence[Excerpt]) -> str:
    from conformance.reporting.media import figure_data_uri
    from conformance.reporting.plots import comparison_figure

    lo, hi = excerpts[0], excerpts[-1]
    seconds = hi.input.shape[-1] / hi.sample_rate
    try:
        fig = comparison_figure(hi.input, hi.decode, hi.sample_rate,
                                decode_label=f"decode @ {hi.bandwidth:g} kbps")
        figure = (f'<img alt="spectrograms of {_e(clip)}: input, decode at {hi.bandwidth:g} '
                  f'kbps and their difference" src="{figure_data_uri(fig)}">')
    except InvalidArgument as exc:
        figure = f'<p class="note">No spectrogram: {_e(exc.message)}</p>'
    players = [_player("input", hi.input, hi.sample_rate)]
    players += [_player(f"decode @ {e.bandwidth:g} kbps", e.decode, e.sample_rate)
                for e in ([lo, hi] if lo is not hi else [hi])]
    return (f'<div class="clip" data-clip="{_e(clip)}"><h4>{_e(clip)} '
            f'<span class="tag">{_e(_clip_kind(clip))}</span></h4>'
            f'<div class="note">{seconds:.2f} s excerpt from {hi.start:.2f} s, '
            f"{hi.sample_rate} Hz, {hi.input.shape[0]} channel(s)</div>{figure}"
            f'<div class="players">{"".join(players)}</div></div>')


def _listening(excerpts: Sequence[Excerpt]) -> str:
    if not excerpts:
        return ""
    by_clip: dict[str, list[Excerpt]] = {}
    for e in excerpts:
        by_clip.setdefault(e.clip, []).append(e)
    cards = "".join(_clip_card(c, sorted(es, key=lambda e: e.bandwidth))
                    for c, es in by_clip.items())
    return ('<h3>Listen and look</h3><p class="note">Excerpts of the run\'s own decodes (the '
            "loudest window of each clip). Spectrograms: input and decode at the highest "
            "bandwidth on one dB scale, and decode minus input (red: the decode is louder, "
            "blue: quieter). Players: the input and the decodes at the lowest and highest "
            "bandwidth, as Ogg Vorbis (metrics are computed on the full, unencoded decodes)."
            f"</p>{cards}")


# ------------------------------------------------------------------------ mapping / config
def _key_list(title: str, keys: Sequence[Any]) -> str:
    items = "".join(f"<li><code>{_e(k if isinstance(k, str) else json.dumps(k))}</code></li>"
                    for k in keys)
    return f'<p class="note">{_e(title)} ({len(keys)}):</p><ul class="warnings">{items}</ul>'


def _mapping(sub: Mapping[str, Any]) -> str:
    mapping = sub.get("mapping") or {}
    keys = next((o.get("details") or {} for o in sub.get("outcomes") or []
                 if o.get("check") == "load.keys"), {})
    if not mapping and not keys:
        return ('<h3>Key mapping</h3><p class="note">No mapping report: the weights did not '
                "reach the key mapping.</p>")
    problems = [(name, keys.get(field) or []) for name, field in (
        ("missing from the checkpoint", "missing"), ("unexpected in the checkpoint",
                                                     "unexpected"),
        ("shape mismatches", "shape_mismatches"), ("mapped twice", "duplicates"),
        ("spelling differs only", "spelling_only"), ("hints", "hints"))]
    mapped = keys.get("mapped")
    ignored = mapping.get("ignored") or []
    stats = [("tensors mapped", mapping.get("mapped", len(mapped) if isinstance(mapped, list)
                                            else mapped)),
             ("problems", mapping.get("problems", sum(len(v) for _, v in problems[:4]))),
             ("key style", mapping.get("key_style", "n/a")),
             ("renamed keys", mapping.get("renamed", "n/a")), ("ignored tensors", len(ignored))]
    head = "".join(f"<th>{_e(k)}</th>" for k, _ in stats)
    cells = "".join(f"<td>{_e(v)}</td>" for _, v in stats)
    parts = [f'<h3>Key mapping</h3><table class="stats mapping"><thead><tr>{head}</tr></thead>'
             f"<tbody><tr>{cells}</tr></tbody></table>"]
    parts += [_key_list(name, values) for name, values in problems if values]
    if ignored:
        parts.append(_key_list("ignored (dead shortcut tensors)", ignored))
    if isinstance(mapped, list) and mapped:
        rows = "".join(f"<tr><td class=\"mono\">{_e(pair[0])}</td><td class=\"mono\">"
                       f"{_e(pair[1])}</td></tr>" for pair in mapped
                       if isinstance(pair, (list, tuple)) and len(pair) == 2)
        parts.append(f"<details><summary>every checkpoint key and the model key it loads into "
                     f"({len(mapped)})</summary><table class=\"keys\"><thead><tr><th>checkpoint"
                     f"</th><th>model</th></tr></thead><tbody>{rows}</tbody></table></details>")
    return "".join(parts)


def _config(sub: Mapping[str, Any]) -> str:
    config = sub.get("config")
    if not config:
        return ('<h3>Config and provenance</h3><p class="note">No config: it could not be '
                "resolved.</p>")
    provenance = sub.get("provenance") or {}
    rows = [f"<tr><td class=\"mono\">{_e(k)}</td><td class=\"mono\">{_e(json.dumps(v))}</td>"
            f"<td>{_e(provenance.get(k, ''))}</td></tr>" for k, v in config.items()]
    half = (len(rows) + 1) // 2
    head = "<thead><tr><th>field</th><th>value</th><th>from</th></tr></thead>"
    tables = "".join(f'<table class="config">{head}<tbody>{"".join(part)}</tbody></table>'
                     for part in (rows[:half], rows[half:]) if part)
    return ('<h3>Config and provenance</h3><p class="note">The resolved config; "from" names '
            f'where each field was read.</p><div class="grid2">{tables}</div>')


def _implementation(sub: Mapping[str, Any]) -> str:
    unsupported = sub.get("unsupported") or {}
    if not unsupported:
        return ""
    body = "".join(f"<tr><td class=\"mono\">{_e(k)}</td><td>{_e(v)}</td></tr>"
                   for k, v in unsupported.items())
    return ('<h3>Not supported by the adapter</h3><table><thead><tr><th>feature</th>'
            f"<th>why</th></tr></thead><tbody>{body}</tbody></table>")


def _facts(sub: Mapping[str, Any]) -> str:
    cfg = sub.get("config") or {}
    pairs = [("kind", sub.get("kind")), ("source", sub.get("source"))]
    if sub.get("kind") == "checkpoint":
        pairs += [("format", sub.get("format")), ("sha256", sub.get("sha256"))]
        if cfg:
            pairs.append(("model", f"{cfg.get('sample_rate')} Hz, {cfg.get('channels')} "
                                   f"channel(s), bandwidths {cfg.get('target_bandwidths')}"))
    else:
        pairs += [("family", sub.get("family")), ("tolerance", sub.get("tolerance"))]
    pairs += [("outcomes", _counts_text(sub.get("counts") or {})),
              ("time", f"{sub.get('seconds')} s")]
    return '<dl class="facts">' + "".join(
        f"<dt>{_e(k)}</dt><dd class=\"{'mono' if k in ('source', 'sha256') else ''}\">{_e(v)}"
        "</dd>" for k, v in pairs if v not in (None, "")) + "</dl>"


def _subject(index: int, sub: Mapping[str, Any], excerpts: Sequence[Excerpt]) -> str:
    parts = [f'<section class="subject" id="subject-{index}"><div class="subject-head">'
             f'<h2>{_e(sub.get("name"))}</h2>{_verdict_pill(str(sub.get("verdict")))}</div>',
             _facts(sub)]
    warnings = sub.get("warnings") or []
    if warnings:
        parts.append('<h3>Warnings</h3><ul class="warnings">'
                     + "".join(f"<li>{_e(w)}</li>" for w in warnings) + "</ul>")
    parts.append(_checks_table(sub))
    if sub.get("kind") == "checkpoint":
        parts += [_metrics_table(sub), _listening(excerpts), _mapping(sub), _config(sub)]
    else:
        parts.append(_implementation(sub))
    parts.append("</section>")
    return "".join(parts)


def _environment(report: Mapping[str, Any]) -> str:
    env = report.get("environment") or {}
    rows = "".join(f"<tr><th>{_e(k)}</th><td class=\"mono\">{_e(v)}</td></tr>"
                   for k, v in env.items())
    options = {k: v for k, v in (report.get("options") or {}).items() if v not in (None, [])}
    return ('<section class="environment"><h3>Environment and options</h3><div class="grid2">'
            f"<table><tbody>{rows}</tbody></table><div><p class=\"note\">Command:</p>"
            f"{_json_block(report.get('command', ''))}<p class=\"note\">Options:</p>"
            f"{_json_block(options)}</div></div></section>")


def render_html(report: Mapping[str, Any],
                media: Sequence[Sequence[Excerpt]] | None = None) -> str:
    """The page for `report`; `media[i]` holds the excerpts of `report["subjects"][i]` (none:
    no spectrograms or players)."""
    subjects = list(report.get("subjects") or [])
    media = list(media or [])
    if len(media) > len(subjects):
        raise InvalidArgument(f"{len(media)} media lists for {len(subjects)} subjects: "
                              "expected at most one per subject")
    media += [[] for _ in range(len(subjects) - len(media))]
    if any(media):
        from conformance.reporting.plots import require_matplotlib

        require_matplotlib()
    title = f"EnCodec conformance: {_VERDICT_LABEL.get(str(report.get('verdict')), '?')}"
    body = [_banner(report), _overview(report)]
    body += [_subject(i, sub, media[i]) for i, sub in enumerate(subjects)]
    body.append(_environment(report))
    tool = report.get("tool") or {}
    body.append(f"<footer>Written by {_e(tool.get('name', 'encodec-conformance'))} "
                f"{_e(tool.get('version'))} on {_e(report.get('created'))}; report schema "
                f"{_e(report.get('schema'))} v{_e(report.get('schema_version'))}.</footer>")
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>"
            + "".join(body) + "</main></body></html>\n")


def write_html_report(path: str | Path, report: Mapping[str, Any],
                      subjects: Sequence[Any] = ()) -> Path:
    """Write the page of `report` to `path` (atomically); the excerpts come from the
    `subjects` the report was built from (`conformance.checks.engine.Subject`, same order)."""
    media = [list(getattr(s.context, "excerpts", None) or []) for s in subjects]
    return atomic_write_text(path, render_html(report, media))
