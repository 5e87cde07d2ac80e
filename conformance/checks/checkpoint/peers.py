"""`peers.*`: the same weights give identical codes and audio in the reference and in each
installed peer (transformers, the original `encodec` package), at every bandwidth of the
ladder -- what proves the file means the same thing in every ecosystem."""

from __future__ import annotations

import importlib.util
from typing import Any

import torch

from conformance.adapters.protocol import CodecWeights
from conformance.checks.checkpoint.context import CheckpointContext
from conformance.checks.registry import register
from conformance.checks.results import error, failed, not_applicable, passed
from conformance.checks.tolerance import TOLERANCES

__all__ = ["PEERS", "peer_reason"]

#: peer name -> (python module, adapter factory path)
PEERS: dict[str, tuple[str, str]] = {
    "transformers": ("transformers", "conformance.adapters:transformers_adapter"),
    "encodec": ("encodec", "conformance.adapters:encodec_adapter"),
}
_CLIP = "speech_female_16k_cmu_arctic_slt_a0009"


def peer_reason(peer: str, cfg: Any) -> str | None:
    """Why `peer` cannot run a model with `cfg` here, or None."""
    module = PEERS[peer][0]
    if importlib.util.find_spec(module) is None:
        return f"{module} is not installed (pip install encodec-conformance[peers])"
    if peer == "transformers":
        if cfg.lstm < 1:
            return "transformers always builds an LSTM: a model without one has no equivalent"
        if cfg.norm not in ("weight_norm", "time_group_norm"):
            return f"transformers supports weight_norm and time_group_norm, not {cfg.norm!r}"
        if cfg.trim_right_ratio != 1.0:
            return "transformers cannot express trim_right_ratio != 1"
    return None


def _cases(ctx: CheckpointContext) -> list[tuple[str, ...]]:
    return [(f"{b:g}kbps",) for b in ctx.config.bandwidths] if ctx.loaded() else [()]


def _adapter(ctx: CheckpointContext, peer: str):
    cache = ctx.__dict__.setdefault("_peer_adapters", {})
    if peer not in cache:
        from conformance.adapters.protocol import load_factory

        weights = CodecWeights(ctx.config.name, ctx.config, ctx.named().value[0].state_dict,
                               directory=ctx.directory / "peers")
        cache[peer] = load_factory(PEERS[peer][1])(weights)
    return cache[peer]


def _check_peer(peer: str, ctx: CheckpointContext, case: tuple[str, ...]):
    check = f"peers.{peer}"
    if not ctx.loaded():
        stage, err = ctx.first_error()
        return not_applicable(check, case, f"the checkpoint did not load ({stage}: "
                              f"{err.message})")
    reason = peer_reason(peer, ctx.config)
    if reason:
        return not_applicable(check, case, reason)
    bw = float(case[0].removesuffix("kbps"))
    model = ctx.model().value
    wav = ctx.clip(_CLIP)[..., : int(1.51 * model.sample_rate)][None]
    try:
        adapter = _adapter(ctx, peer)
        theirs = adapter.encode(wav, bw)
        ours = model.encode(wav, bandwidth=bw)
    except Exception as exc:  # noqa: BLE001 - a peer crashing is an outcome, not our bug
        return error(check, case, f"{peer} failed: {type(exc).__name__}: {exc}")
    call = (f"{peer}: encode(speech clip [..., :{wav.shape[-1]}], bandwidth={bw:g}) of "
            f"{ctx.name}")
    if len(theirs) != len(ours.chunks):
        return failed(check, case, f"{peer} gives {len(theirs)} chunk(s), the reference "
                      f"{len(ours.chunks)} [{call}]")
    for i, ((codes, _), chunk) in enumerate(zip(theirs, ours.chunks)):
        if codes.shape != chunk.codes.shape or not torch.equal(codes.long(), chunk.codes):
            diff = (codes.shape != chunk.codes.shape) or int((codes != chunk.codes).sum())
            return failed(check, case, f"{peer} codes of chunk {i} differ from the reference's "
                          f"({diff} codes) [{call}]", observed=tuple(codes.shape),
                          expected=tuple(chunk.codes.shape))
    with torch.inference_mode():
        decoded = model.decode(ours)
    theirs_audio = adapter.decode(theirs)
    if theirs_audio.shape != decoded.shape:
        return failed(check, case, f"{peer} decodes to shape {tuple(theirs_audio.shape)}, the "
                      f"reference to {tuple(decoded.shape)} [{call}]")
    atol = TOLERANCES["fp32"].decode_atol * max(1.0, float(decoded.abs().max()))
    err = float((theirs_audio.double() - decoded.double()).abs().max())
    if not err <= atol:
        return failed(check, case, f"max|{peer} audio - reference audio|={err:.3g}, but should "
                      f"be <= {atol:.3g} [{call}]", observed=err, expected=atol)
    return passed(check, case, f"identical codes; audio within {err:.2g} of the reference",
                  details={"max_abs_diff": err, "chunks": len(ours.chunks)})


for _peer in PEERS:
    register(f"peers.{_peer}", "checkpoint", f"{_peer} gives the reference's codes exactly and "
             "its audio within 1e-4 with the same weights, at every bandwidth",
             cases=_cases)(lambda ctx, case, _peer=_peer: _check_peer(_peer, ctx, case))
