"""`codebook.*`: the RVQ codebooks are initialised, finite, free of dead or duplicate
codewords, and their norms shrink from stage to stage as residual quantisation implies."""

from __future__ import annotations

import torch

from conformance.checks.checkpoint.context import CheckpointContext
from conformance.checks.registry import register
from conformance.checks.results import failed, not_applicable, passed

__all__ = ["DEAD_FRACTION", "NORM_GROWTH"]

#: A stage with more than this share of dead codewords fails.
DEAD_FRACTION = 0.1
#: A stage's median codeword norm may exceed the previous stage's by at most this factor.
NORM_GROWTH = 1.25


def _codebooks(ctx: CheckpointContext):
    return [layer._codebook for layer in ctx.model().value.quantizer.vq.layers]


def _blocked(ctx: CheckpointContext, check: str, case: tuple[str, ...]):
    if not ctx.loaded():
        stage, err = ctx.first_error()
        return not_applicable(check, case, f"the checkpoint did not load ({stage}: "
                              f"{err.message})")
    return None


def _reproduce(ctx: CheckpointContext, expr: str) -> str:
    return ("from conformance import load_checkpoint\n"
            f"model = load_checkpoint({str(ctx.source)!r}).model\n"
            "books = [layer._codebook for layer in model.quantizer.vq.layers]\n"
            f"{expr}")


@register("codebook.finite", "checkpoint", "every codeword is finite")
def check_finite(ctx: CheckpointContext, case: tuple[str, ...]):
    if blocked := _blocked(ctx, "codebook.finite", case):
        return blocked
    bad = [i for i, cb in enumerate(_codebooks(ctx)) if not bool(torch.isfinite(cb.embed).all())]
    if bad:
        return failed("codebook.finite", case, f"codebook stage(s) {bad} hold NaN or inf",
                      reproduce=_reproduce(ctx, "print([bool(b.embed.isfinite().all()) "
                                                "for b in books])"))
    return passed("codebook.finite", case, f"all {len(_codebooks(ctx))} codebooks are finite")


@register("codebook.inited", "checkpoint", "every codebook is marked initialised (inited = 1)")
def check_inited(ctx: CheckpointContext, case: tuple[str, ...]):
    if blocked := _blocked(ctx, "codebook.inited", case):
        return blocked
    bad = [i for i, cb in enumerate(_codebooks(ctx)) if not bool((cb.inited != 0).all())]
    if bad:
        return failed("codebook.inited", case, f"codebook stage(s) {bad} were never initialised "
                      "(inited == 0): an untrained or freshly built quantizer",
                      observed={"uninitialised stages": bad}, expected="inited == 1 everywhere",
                      reproduce=_reproduce(ctx, "print([float(b.inited) for b in books])"))
    return passed("codebook.inited", case, "every codebook is initialised")


@register("codebook.dead", "checkpoint", f"no stage has more than {DEAD_FRACTION:.0%} dead "
          "codewords (all-zero vectors, or never assigned during training)")
def check_dead(ctx: CheckpointContext, case: tuple[str, ...]):
    if blocked := _blocked(ctx, "codebook.dead", case):
        return blocked
    per_stage = {}
    for i, cb in enumerate(_codebooks(ctx)):
        zero = cb.embed.abs().sum(dim=1) == 0
        unused = (cb.cluster_size == 0) if bool((cb.cluster_size > 0).any()) else \
            torch.zeros_like(zero)
        per_stage[i] = int((zero | unused).sum())
    bins = _codebooks(ctx)[0].embed.shape[0]
    bad = {i: n for i, n in per_stage.items() if n > DEAD_FRACTION * bins}
    if bad:
        return failed("codebook.dead", case, "dead codewords (all-zero or never assigned) in "
                      + ", ".join(f"stage {i}: {n} of {bins}" for i, n in bad.items()),
                      details={"dead_per_stage": per_stage},
                      reproduce=_reproduce(ctx, "print([int((b.embed.abs().sum(1) == 0).sum()) "
                                                "for b in books])"))
    return passed("codebook.dead", case, f"at most {max(per_stage.values())} dead codeword(s) "
                  f"per stage of {bins}", details={"dead_per_stage": per_stage})


@register("codebook.duplicates", "checkpoint", "no two codewords of a stage are identical")
def check_duplicates(ctx: CheckpointContext, case: tuple[str, ...]):
    if blocked := _blocked(ctx, "codebook.duplicates", case):
        return blocked
    exact, near = {}, {}
    for i, cb in enumerate(_codebooks(ctx)):
        embed = cb.embed.detach().double()
        dist = torch.cdist(embed, embed)
        upper = torch.triu(torch.ones_like(dist, dtype=torch.bool), diagonal=1)
        scale = float(embed.norm(dim=1).median()) or 1.0
        n_exact = int(((dist <= 1e-7 * scale) & upper).sum())
        n_near = int(((dist < 1e-3) & upper).sum())
        if n_exact:
            exact[i] = n_exact
        if n_near:
            near[i] = n_near
    if exact:
        return failed("codebook.duplicates", case, "identical codewords (two codes that decode "
                      "to the same vector) in " + ", ".join(f"stage {i}: {n} pair(s)"
                                                             for i, n in exact.items()),
                      details={"identical_pairs": exact, "near_pairs": near})
    note = (f"; {sum(near.values())} pair(s) closer than 1e-3 (inputs between them may encode "
            "differently from machine to machine)") if near else ""
    return passed("codebook.duplicates", case, "no identical codewords" + note,
                  details={"near_pairs": near})


@register("codebook.norms", "checkpoint", "codeword norms are finite, bounded, and shrink from "
          "stage to stage (each stage quantises what the previous ones left)")
def check_norms(ctx: CheckpointContext, case: tuple[str, ...]):
    if blocked := _blocked(ctx, "codebook.norms", case):
        return blocked
    medians = [float(cb.embed.detach().double().norm(dim=1).median()) for cb in _codebooks(ctx)]
    shown = [round(m, 4) for m in medians]
    if not all(0.0 < m < 1e4 for m in medians):
        return failed("codebook.norms", case, f"median codeword norms {shown}: every stage "
                      "should have norms in (0, 1e4)", details={"median_norms": shown})
    grew = [(i, medians[i] / medians[i - 1]) for i in range(1, len(medians))
            if medians[i] > NORM_GROWTH * medians[i - 1]]
    if grew:
        i, factor = grew[0]
        return failed("codebook.norms", case, f"stage {i}'s codewords are {factor:.1f}x larger "
                      f"than stage {i - 1}'s: residual stages should shrink (stages out of "
                      "order, or from another model?)", details={"median_norms": shown},
                      observed=shown, expected="non-increasing median norms",
                      reproduce=_reproduce(ctx, "print([float(b.embed.norm(dim=1).median()) "
                                                "for b in books])"))
    return passed("codebook.norms", case, f"median norms shrink stage by stage: {shown}",
                  details={"median_norms": shown})
