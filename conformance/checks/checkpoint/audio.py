"""`audio.*`: the checkpoint decodes the reference clips well enough, at every bandwidth.

- `audio.quality`: PESQ-WB, STOI and mel distance against thresholds (the released family's,
  a user's thresholds file, or the golden ones); music clips and families without thresholds
  are reported without a verdict. A metric that claims a good score the others contradict is
  implausible (`conformance.quality.plausibility`) and fails: no single metric passes a broken
  decode on its own.
- `audio.ladder`: more bandwidth is not worse.
- `audio.silence`: silence decodes to near-silence.
- `audio.finite`, `audio.clipping`: no NaN or inf, no clipping storm.
"""

from __future__ import annotations

import math

import torch

from conformance.audio.clips import reference_clip
from conformance.checks.checkpoint.context import AUDIO_CLIPS, CheckpointContext
from conformance.checks.registry import register
from conformance.checks.results import failed, not_applicable, not_computed, passed
from conformance.errors import NoThresholdError
from conformance.quality.metrics import compute_metrics
from conformance.quality.plausibility import implausible
from conformance.status import Status

__all__ = ["CLIPPING_FRACTION", "LADDER_TOLERANCE", "QUALITY_METRICS", "SILENCE_DBFS"]

QUALITY_METRICS: tuple[str, ...] = ("pesq_wb", "stoi", "mel_distance")
#: Silence must decode to an RMS below this (dBFS).
SILENCE_DBFS = -40.0
#: At most this share of a decode's samples may sit at full scale (|x| >= 0.999).
CLIPPING_FRACTION = 1e-3
#: A higher rung may be this much worse and still count as "not worse" (metric noise).
LADDER_TOLERANCE = {"stoi": 0.01, "mel_distance": 0.02}


def _blocked(ctx: CheckpointContext, check: str, case: tuple[str, ...]):
    if not ctx.loaded():
        stage, err = ctx.first_error()
        return not_applicable(check, case, f"the checkpoint did not load ({stage}: "
                              f"{err.message})")
    return None


def _bw(text: str) -> float:
    return float(text.removesuffix("kbps"))


def _quality_cases(ctx: CheckpointContext) -> list[tuple[str, ...]]:
    if not ctx.loaded():
        return [()]
    return [(clip, f"{bw:g}kbps") for clip in AUDIO_CLIPS for bw in ctx.config.bandwidths]


def _metrics(ctx: CheckpointContext, clip: str, bw: float):
    cache = ctx.__dict__.setdefault("_metrics", {})
    if (clip, bw) not in cache:
        wav = ctx.clip(clip)
        _, out = ctx.decode(clip, bw)
        results = compute_metrics(wav, out, ctx.config.sample_rate, list(QUALITY_METRICS))
        cache[(clip, bw)] = (results, implausible(results, wav, out, ctx.config.sample_rate))
        ctx.keep_excerpt(clip, bw, wav, out)  # for the HTML report, when it asks for them
    return cache[(clip, bw)]


def _reproduce(ctx: CheckpointContext, clip: str, bw: float) -> str:
    return ("from conformance import load_checkpoint\n"
            "from conformance.golden.runs import clip_audio, encode_decode\n"
            "from conformance.quality.metrics import compute_metrics\n"
            f"model = load_checkpoint({str(ctx.source)!r}).model\n"
            f"wav = clip_audio({clip!r}, model, {ctx.clip_seconds})\n"
            f"_, out = encode_decode(model, wav, {bw:g})\n"
            "print(compute_metrics(wav, out, model.sample_rate, "
            f"{list(QUALITY_METRICS)}))")


@register("audio.quality", "checkpoint", "PESQ-WB, STOI and mel distance of each reference clip "
          "at each bandwidth meet the thresholds, and no value is implausible",
          cases=_quality_cases)
def check_quality(ctx: CheckpointContext, case: tuple[str, ...]):
    check = "audio.quality"
    if blocked := _blocked(ctx, check, case):
        return blocked
    clip, bw = case[0], _bw(case[1])
    results, flags = _metrics(ctx, clip, bw)
    values = {k: (round(r.value, 4) if r.ok else f"not computed: {r.reason}")
              for k, r in results.items()}
    details = {"metrics": values, "implausible": flags}
    if flags:
        name, why = next(iter(flags.items()))
        return failed(check, case, why, details=details, observed=values,
                      expected="metric values the other measurements agree with",
                      reproduce=_reproduce(ctx, clip, bw))
    family = ctx.threshold_family
    if reference_clip(clip).kind != "speech":
        return not_applicable(check, case, "metrics reported without a verdict: the thresholds "
                              f"are speech measures ({_shown(values)})", details=details)
    if ctx.thresholds is None or family is None:
        return not_applicable(check, case, "metrics reported without a verdict: no thresholds "
                              f"for this model ({_shown(values)}); give a thresholds file",
                              details=details)
    try:
        outcomes = ctx.thresholds.check(family, bw, results, [
            m for m in QUALITY_METRICS if m in ctx.thresholds.metrics(family)])
    except NoThresholdError as exc:
        return not_applicable(check, case, f"metrics reported without a verdict: "
                              f"{exc.message} ({_shown(values)})", details=details)
    details["thresholds"] = [o.to_dict() for o in outcomes]
    bad = [o for o in outcomes if o.status is Status.FAILED]
    missing = [o for o in outcomes if o.status is Status.NOT_COMPUTED]
    if bad:
        return failed(check, case, "; ".join(o.message for o in bad), details=details,
                      observed=values, expected={o.metric: o.threshold.describe()
                                                 for o in outcomes},
                      reproduce=_reproduce(ctx, clip, bw))
    if missing:
        return not_computed(check, case, "; ".join(o.message for o in missing),
                            details=details)
    return passed(check, case, _shown(values) + f" meet the {ctx.thresholds.name} thresholds "
                  f"of {family}", details=details)


def _shown(values: dict) -> str:
    return ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} n/a"
                     for k, v in values.items())


def _speech_cases(ctx: CheckpointContext) -> list[tuple[str, ...]]:
    return [(c,) for c in AUDIO_CLIPS if reference_clip(c).kind == "speech"]


@register("audio.ladder", "checkpoint", "more bandwidth is not worse: STOI does not fall and mel "
          "distance does not rise up the ladder", cases=_speech_cases)
def check_ladder(ctx: CheckpointContext, case: tuple[str, ...]):
    check = "audio.ladder"
    if blocked := _blocked(ctx, check, case):
        return blocked
    ladder = ctx.config.bandwidths
    if len(ladder) < 2:
        return not_applicable(check, case, f"the model has one bandwidth ({ladder[0]:g} kbps)")
    (clip,) = case
    series = {m: [] for m in ("stoi", "mel_distance")}
    for bw in ladder:
        results, _ = _metrics(ctx, clip, bw)
        for m in series:
            series[m].append(results[m].value if results[m].ok else math.nan)
    worse = []
    for i, (lo, hi) in enumerate(zip(ladder, ladder[1:])):
        if series["stoi"][i + 1] < series["stoi"][i] - LADDER_TOLERANCE["stoi"]:
            worse.append(f"STOI {series['stoi'][i]:.3f} at {lo:g} kbps falls to "
                         f"{series['stoi'][i + 1]:.3f} at {hi:g} kbps")
        limit = series["mel_distance"][i] * (1 + LADDER_TOLERANCE["mel_distance"])
        if series["mel_distance"][i + 1] > limit:
            worse.append(f"mel distance {series['mel_distance'][i]:.3f} at {lo:g} kbps rises "
                         f"to {series['mel_distance'][i + 1]:.3f} at {hi:g} kbps")
    details = {m: [round(v, 4) for v in vs] for m, vs in series.items()}
    details["bandwidths"] = list(ladder)
    if worse:
        return failed(check, case, "more bandwidth is worse: " + "; ".join(worse),
                      details=details)
    return passed(check, case, f"STOI {details['stoi']} and mel distance "
                  f"{details['mel_distance']} do not get worse up the ladder", details=details)


@register("audio.silence", "checkpoint", f"silence decodes to near-silence (RMS below "
          f"{SILENCE_DBFS:g} dBFS) at every bandwidth")
def check_silence(ctx: CheckpointContext, case: tuple[str, ...]):
    check = "audio.silence"
    if blocked := _blocked(ctx, check, case):
        return blocked
    clip = ctx.edge_clip("silence")
    levels = {}
    for bw in ctx.config.bandwidths:
        _, out = ctx.decode(clip, bw)
        rms = float(out.double().pow(2).mean().sqrt())
        levels[f"{bw:g}kbps"] = round(20 * math.log10(rms), 1) if rms > 0 else -math.inf
    loud = {k: v for k, v in levels.items() if v > SILENCE_DBFS}
    if loud:
        return failed(check, case, "silence decodes to sound: RMS "
                      + ", ".join(f"{v} dBFS at {k}" for k, v in loud.items())
                      + f", but should be below {SILENCE_DBFS:g} dBFS",
                      details={"rms_dbfs": levels}, observed=loud,
                      expected=f"< {SILENCE_DBFS:g} dBFS")
    return passed(check, case, f"silence decodes to at most {max(levels.values())} dBFS",
                  details={"rms_dbfs": levels})


def _all_decodes(ctx: CheckpointContext):
    clips = [*AUDIO_CLIPS, ctx.edge_clip("silence"), ctx.edge_clip("impulses")]
    for clip in clips:
        for bw in ctx.config.bandwidths:
            yield clip, bw, ctx.decode(clip, bw)[1]


@register("audio.finite", "checkpoint", "every decode is finite (no NaN, no inf)")
def check_audio_finite(ctx: CheckpointContext, case: tuple[str, ...]):
    check = "audio.finite"
    if blocked := _blocked(ctx, check, case):
        return blocked
    bad = [f"{clip} @ {bw:g} kbps" for clip, bw, out in _all_decodes(ctx)
           if not bool(torch.isfinite(out).all())]
    if bad:
        return failed(check, case, f"{len(bad)} decode(s) hold NaN or inf: {', '.join(bad)}")
    return passed(check, case, "every decode is finite")


@register("audio.clipping", "checkpoint", f"no clipping storm: at most {CLIPPING_FRACTION:.1%} "
          "of a decode's samples at full scale")
def check_clipping(ctx: CheckpointContext, case: tuple[str, ...]):
    check = "audio.clipping"
    if blocked := _blocked(ctx, check, case):
        return blocked
    worst, where = 0.0, ""
    for clip, bw, out in _all_decodes(ctx):
        share = float((out.abs() >= 0.999).double().mean())
        if share > worst:
            worst, where = share, f"{clip} @ {bw:g} kbps"
    if worst > CLIPPING_FRACTION:
        return failed(check, case, f"{worst:.2%} of the samples of {where} are at full scale, "
                      f"but at most {CLIPPING_FRACTION:.1%} should be",
                      observed=worst, expected=CLIPPING_FRACTION)
    return passed(check, case, f"at most {worst:.3%} of a decode's samples at full scale")
