"""`config.*`: the config is resolved with a source for every field, nothing in the file's own
config (or its name, a preset, a flag) contradicts the weights, and ambiguities are reported."""

from __future__ import annotations

from conformance.checks.checkpoint.context import CheckpointContext
from conformance.checks.registry import register
from conformance.checks.results import failed, not_applicable, passed
from conformance.errors import ConfigConflictError

__all__: list[str] = []


def _blocked(ctx: CheckpointContext, check: str, case: tuple[str, ...]):
    for stage in (ctx.read, ctx.named, ctx.inferred):
        if not stage().ok:
            return not_applicable(check, case, "the weights could not be read or named "
                                  f"({stage().error.message})")
    return None


def _reproduce(ctx: CheckpointContext) -> str:
    return ("from conformance import load_checkpoint\n"
            f"print(load_checkpoint({str(ctx.source)!r}).resolved.format())")


@register("config.resolved", "checkpoint",
          "every config field is resolved, and says where its value came from")
def check_resolved(ctx: CheckpointContext, case: tuple[str, ...]):
    if blocked := _blocked(ctx, "config.resolved", case):
        return blocked
    stage = ctx.resolved()
    if isinstance(stage.error, ConfigConflictError):
        return not_applicable("config.resolved", case, "the config contradicts the weights "
                              "(see config.consistent)")
    if not stage.ok:
        return failed("config.resolved", case, stage.error.message,
                      details={"details": stage.error.details}, reproduce=_reproduce(ctx))
    resolved = stage.value
    sources = sorted(set(resolved.provenance.values()))
    return passed("config.resolved", case, f"{resolved.config.name}: fields from "
                  + ", ".join(sources),
                  details={"config": resolved.config.to_dict(),
                           "provenance": dict(resolved.provenance)})


@register("config.consistent", "checkpoint", "no config the file carries or names contradicts "
          "what the weights imply")
def check_consistent(ctx: CheckpointContext, case: tuple[str, ...]):
    if blocked := _blocked(ctx, "config.consistent", case):
        return blocked
    stage = ctx.resolved()
    if isinstance(stage.error, ConfigConflictError):
        found = list(stage.error.details)
        reason = "; ".join(found[:3]) + (f"; and {len(found) - 3} more" if len(found) > 3
                                         else "") if found else stage.error.message
        return failed("config.consistent", case, reason,
                      details={"contradictions": found},
                      observed=stage.error.details, expected="the values the weights imply",
                      reproduce=_reproduce(ctx))
    if not stage.ok:
        return not_applicable("config.consistent", case, "no config could be resolved "
                              "(see config.resolved)")
    settled = stage.value.conflicts
    return passed("config.consistent", case, "the config agrees with the weights"
                  + (f" ({len(settled)} weaker source(s) overruled)" if settled else ""),
                  details={"settled": settled})


@register("config.ambiguities", "checkpoint", "choices the file does not settle (e.g. the "
          "32 kHz pad mode, a family guessed from the weights) are reported")
def check_ambiguities(ctx: CheckpointContext, case: tuple[str, ...]):
    if blocked := _blocked(ctx, "config.ambiguities", case):
        return blocked
    if not ctx.resolved().ok:
        return not_applicable("config.ambiguities", case, "no config could be resolved")
    found = ctx.resolved().value.ambiguities
    if not found:
        return passed("config.ambiguities", case, "none: the file settles every field the "
                      "weights do not show")
    return passed("config.ambiguities", case, f"{len(found)} reported (a warning, not a "
                  "failure): " + found[0].split(";")[0], details={"warnings": found})
