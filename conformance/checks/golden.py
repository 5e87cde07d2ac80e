"""`golden.*`: the bundled golden checkpoints against their own records -- regression (codes
and decodes equal the manifest), quality (the measured thresholds), acceptance (the floors a
golden checkpoint must reach), sensitivity (every breaker fails the thresholds or the
regression decode). Planned only for a bundled golden checkpoint."""

from __future__ import annotations

from typing import Any

from conformance.checks.checkpoint.context import CheckpointContext
from conformance.checks.registry import register
from conformance.checks.results import failed, not_applicable, passed
from conformance.golden.breakers import BREAKERS, applicable_breakers
from conformance.golden.bundle import GoldenCheckpoint
from conformance.golden.checks import quality_rows, sensitivity_rows
from conformance.golden.manifest import verify_manifest
from conformance.golden.thresholds import acceptance_rows, speech_clips_of
from conformance.status import Status

__all__: list[str] = []


def _golden(ctx: CheckpointContext) -> GoldenCheckpoint | None:
    return getattr(ctx, "golden", None)


def _blocked(ctx: CheckpointContext, check: str, case: tuple[str, ...]):
    if _golden(ctx) is None:
        return not_applicable(check, case, "not a bundled golden checkpoint")
    if not ctx.loaded():
        stage, err = ctx.first_error()
        return not_applicable(check, case, f"the checkpoint did not load ({stage}: "
                              f"{err.message})")
    return None


@register("golden.regression", "golden", "codes equal the manifest's on every clip and "
          "bandwidth, decodes are bitwise equal (or within 0.1 % RMS), the stored regression "
          "decodes match at SI-SDR >= 50 dB, metrics stay in their bands")
def check_regression(ctx: CheckpointContext, case: tuple[str, ...]):
    if blocked := _blocked(ctx, "golden.regression", case):
        return blocked
    gc = _golden(ctx)
    findings = verify_manifest(gc.checkpoint, gc.manifest_path)
    bad = [f for f in findings if f.status is Status.FAILED]
    counts = {s.value: sum(f.status is s for f in findings) for s in Status
              if any(f.status is s for f in findings)}
    if bad:
        return failed("golden.regression", case, f"{len(bad)} of {len(findings)} regression "
                      f"findings fail; first: {bad[0].message}",
                      details={"counts": counts, "failures": [f.message for f in bad]})
    return passed("golden.regression", case, f"{counts.get('passed', 0)} findings pass "
                  f"against {gc.manifest_path.name}", details={"counts": counts})


@register("golden.quality", "golden", "every speech clip x bandwidth of the manifest meets the "
          "golden thresholds")
def check_quality(ctx: CheckpointContext, case: tuple[str, ...]):
    if blocked := _blocked(ctx, "golden.quality", case):
        return blocked
    gc = _golden(ctx)
    rows = quality_rows(gc.family, gc.manifest, ctx.thresholds)
    bad = [r for r in rows if not r.passed]
    table = [{"clip": r.clip, "bandwidth": r.bandwidth,
              "outcomes": [o.to_dict() for o in r.outcomes]} for r in rows]
    if bad:
        return failed("golden.quality", case, f"{len(bad)} of {len(rows)} clip x bandwidth "
                      "rows miss a threshold: " + "; ".join(
                          o.message for r in bad for o in r.outcomes if not o.passed)[:400],
                      details={"rows": table})
    return passed("golden.quality", case, f"all {len(rows)} speech clip x bandwidth rows meet "
                  "the golden thresholds", details={"rows": table})


@register("golden.acceptance", "golden", "every speech clip at the top bandwidth reaches the "
          "acceptance floor of its family")
def check_acceptance(ctx: CheckpointContext, case: tuple[str, ...]):
    if blocked := _blocked(ctx, "golden.acceptance", case):
        return blocked
    rows = acceptance_rows(_golden(ctx).family, _golden(ctx).manifest)
    shown = [{"clip": c, "metric": m, "observed": round(v, 4), "floor": f, "met": ok}
             for c, m, v, f, ok in rows]
    missed = [r for r in shown if not r["met"]]
    if missed:
        return failed("golden.acceptance", case, "below the acceptance floor: " + ", ".join(
            f"{r['clip']} {r['metric']} {r['observed']} < {r['floor']}" for r in missed),
            details={"rows": shown})
    return passed("golden.acceptance", case, "every speech clip reaches the acceptance floor",
                  details={"rows": shown})


def _breaker_cases(ctx: CheckpointContext) -> list[tuple[str, ...]]:
    return [(name,) for name in BREAKERS]


def _rows(ctx: CheckpointContext) -> list[Any]:
    cache = ctx.__dict__.setdefault("_sensitivity", None)
    if cache is None:
        gc = _golden(ctx)
        manifest = gc.manifest
        cache = sensitivity_rows(gc.family, ctx.model().value, ctx.thresholds,
                                 speech_clips_of(manifest), seconds=manifest.get("seconds"))
        ctx.__dict__["_sensitivity"] = cache
    return cache


@register("golden.sensitivity", "golden", "each broken variant of the golden model (wrong "
          "weights, static noise, decoder noise, shuffled codebooks, wrong pad mode or causal "
          "flag) fails the thresholds or the regression decode on every speech clip",
          cases=_breaker_cases)
def check_sensitivity(ctx: CheckpointContext, case: tuple[str, ...]):
    check = "golden.sensitivity"
    if blocked := _blocked(ctx, check, case):
        return blocked
    (breaker,) = case
    reason = applicable_breakers(ctx.model().value)[breaker]
    if reason is not None:
        return not_applicable(check, case, reason)
    rows = [r for r in _rows(ctx) if r.breaker == breaker]
    intact = [r for r in _rows(ctx) if r.breaker == "intact"]
    if any(r.caught for r in intact):
        return failed(check, case, "the intact golden model itself fails its thresholds, so "
                      "the breakers prove nothing")
    missed = [r for r in rows if not (r.caught or r.caught_by_regression)]
    details = {"rows": [{"clip": r.clip, "metrics": r.metrics, "shortfall": r.shortfall,
                         "implausible": r.implausible,
                         "regression_si_sdr": r.regression_si_sdr} for r in rows]}
    if missed:
        return failed(check, case, f"{breaker} is NOT caught on "
                      + ", ".join(r.clip for r in missed), details=details)
    how = ["thresholds" if r.caught else "regression decode" for r in rows]
    return passed(check, case, f"{breaker} is caught on every speech clip (by "
                  + ", ".join(sorted(set(how))) + ")", details=details)
