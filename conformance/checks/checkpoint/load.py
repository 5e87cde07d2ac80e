"""`load.*`: the checkpoint is read safely, every tensor is named and used exactly once, the
weights are finite, and their stored precision is noted."""

from __future__ import annotations

from collections import Counter

import torch

from conformance.checks.checkpoint.context import CheckpointContext
from conformance.checks.registry import register
from conformance.checks.results import failed, not_applicable, passed
from conformance.errors import HostileCheckpointError, KeyMappingError

__all__: list[str] = []


def _reproduce(ctx: CheckpointContext) -> str:
    return ("from conformance import load_checkpoint\n"
            f"load_checkpoint({str(ctx.source)!r})")


@register("load.format", "checkpoint", "the file is a checkpoint of a known EnCodec format")
def check_format(ctx: CheckpointContext, case: tuple[str, ...]):
    read = ctx.read()
    if isinstance(read.error, HostileCheckpointError):
        return not_applicable("load.format", case, "the file was refused before its format "
                              "could be read (see load.safe_read)")
    if not read.ok:
        return failed("load.format", case, read.error.message, details={
            "details": read.error.details}, reproduce=_reproduce(ctx))
    raw = read.value
    return passed("load.format", case, f"format {raw.format} ({raw.meta.get('weights_from')})",
                  details={"format": raw.format, "meta": raw.meta})


@register("load.safe_read", "checkpoint",
          "read without running code: only allowlisted globals are unpickled")
def check_safe_read(ctx: CheckpointContext, case: tuple[str, ...]):
    read = ctx.read()
    if isinstance(read.error, HostileCheckpointError):
        return failed("load.safe_read", case, read.error.message,
                      details={"details": read.error.details}, reproduce=_reproduce(ctx))
    if not read.ok:
        return passed("load.safe_read", case, "nothing ran: the file was refused as "
                      "unreadable before any object was rebuilt from it")
    return passed("load.safe_read", case, "read with torch's weights-only unpickler, the "
                  "allowlisted unpickler or safetensors; no code ran")


def _blocked(ctx: CheckpointContext, check: str, case: tuple[str, ...]):
    if not ctx.read().ok:
        return not_applicable(check, case, "the checkpoint could not be read "
                              f"({ctx.read().error.message})")
    return None


@register("load.finite", "checkpoint", "every weight is finite (no NaN, no inf)")
def check_finite(ctx: CheckpointContext, case: tuple[str, ...]):
    if blocked := _blocked(ctx, "load.finite", case):
        return blocked
    stage = ctx.finite()
    if not stage.ok:
        return failed("load.finite", case, stage.error.message,
                      details={"tensors": stage.error.details}, reproduce=_reproduce(ctx))
    return passed("load.finite", case, f"all {len(ctx.read().value.state_dict)} tensors are "
                  "finite")


@register("load.keys", "checkpoint", "every tensor maps to exactly one key of the model, with "
          "its shape; none is missing, left over, or left at its initial value")
def check_keys(ctx: CheckpointContext, case: tuple[str, ...]):
    if blocked := _blocked(ctx, "load.keys", case):
        return blocked
    named = ctx.named()
    if not named.ok:
        report = getattr(named.error, "report", None)
        # the first hint says why nothing could be named (e.g. a wrapper prefix); the report's
        # head line only counts the problems
        reason = report.hints[0] if report is not None and report.hints else named.error.message
        return failed("load.keys", case, reason,
                      details=report.to_dict() if report else {}, reproduce=_reproduce(ctx))
    if not ctx.inferred().ok or not ctx.resolved().ok:
        return not_applicable("load.keys", case, "no config could be resolved to check the "
                              "keys against (see config.resolved / config.consistent)")
    layout = ctx.layout()
    if not layout.ok:
        err = layout.error
        report = err.report if isinstance(err, KeyMappingError) else None
        n = report.n_problems if report else 0
        return failed("load.keys", case, f"{n} key(s) do not fit the model: {err.message}",
                      details=report.to_dict() if report else {},
                      observed=(report.missing[:3] + report.unexpected[:3]) if report else None,
                      expected="every key of the model exactly once", reproduce=_reproduce(ctx))
    model = ctx.model()
    if not model.ok:
        return failed("load.keys", case, model.error.message, reproduce=_reproduce(ctx))
    sd = ctx.named().value[0].state_dict
    untouched = [k for k, v in model.value.state_dict().items()
                 if not torch.equal(v, sd[k].to(v.dtype))]
    if untouched:
        return failed("load.keys", case, f"{len(untouched)} tensor(s) of the model do not hold "
                      "the checkpoint's values after loading", details={"keys": untouched})
    dead = ctx.named().value[1]
    report = layout.value
    note = (f"; {len(dead)} shortcut tensor(s) the file's own config disables were left out"
            if dead else "")
    return passed("load.keys", case, f"all {len(report.mapped)} tensors map to the model "
                  f"exactly once and load strictly{note}",
                  details={"mapped": len(report.mapped), "ignored": dead,
                           "renamed": len(ctx.named().value[0].renamed),
                           "key_style": ctx.named().value[0].style})


@register("load.dtype", "checkpoint", "the stored precision of the weights is noted")
def check_dtype(ctx: CheckpointContext, case: tuple[str, ...]):
    if blocked := _blocked(ctx, "load.dtype", case):
        return blocked
    raw = ctx.read().value
    stored = Counter(w.split(" are stored as ")[1].split(" ")[0]
                     for w in raw.warnings if " are stored as " in w)
    n = len(raw.state_dict)
    if not stored:
        dtypes = Counter(str(v.dtype).replace("torch.", "") for v in raw.state_dict.values())
        return passed("load.dtype", case, f"{n} tensors stored as "
                      + ", ".join(f"{k} ({v})" for k, v in dtypes.items()),
                      details={"dtypes": dict(dtypes)})
    return passed("load.dtype", case, "half-precision tensors were converted to float32 (their "
                  "precision is already lost): " + ", ".join(f"{k}" for k in stored),
                  details={"half_precision": [w for w in raw.warnings if "stored as" in w]})
