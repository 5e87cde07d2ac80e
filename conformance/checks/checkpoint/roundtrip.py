"""`roundtrip.*`: the checkpoint converts to every other format and reads back bitwise equal,
and where the target library is installed the converted file loads strictly in it and gives
the reference's codes."""

from __future__ import annotations

import importlib.util

import torch

from conformance.checks.checkpoint.context import CheckpointContext
from conformance.checks.checkpoint.peers import peer_reason
from conformance.checks.registry import register
from conformance.checks.results import error, failed, not_applicable, passed
from conformance.errors import ConformanceError

__all__ = ["TARGETS"]

#: target format -> the library that reads it, if any is installable beside this package
TARGETS: dict[str, str | None] = {"hf": "transformers", "audiocraft": None,
                                  "encodec": "encodec"}
_CLIP = "speech_female_16k_cmu_arctic_slt_a0009"


def _library_codes(ctx: CheckpointContext, target: str, out) -> torch.Tensor:
    model = ctx.model().value
    wav = ctx.clip(_CLIP)[..., : int(1.51 * model.sample_rate)][None]
    bw = model.bandwidths[-1]
    if target == "hf":
        from conformance.adapters.transformers import TransformersAdapter, load_transformers_model

        frames = TransformersAdapter(load_transformers_model(out)).encode(wav, bw)
    else:
        from conformance.adapters.encodec_package import EncodecPackageAdapter, build_original
        from conformance.checkpoints.keymap import load_state_dict_strict
        from conformance.checkpoints.unpickler import load_torch

        library_model = build_original(ctx.config)
        load_state_dict_strict(library_model, load_torch(out))
        frames = EncodecPackageAdapter(library_model).encode(wav, bw)
    ours = model.encode(wav, bandwidth=bw).codes
    return torch.cat([c for c, _ in frames], dim=-1), ours


def _check_roundtrip(target: str, ctx: CheckpointContext, case: tuple[str, ...]):
    check = f"roundtrip.{target}"
    if not ctx.loaded():
        stage, err = ctx.first_error()
        return not_applicable(check, case, f"the checkpoint did not load ({stage}: "
                              f"{err.message})")
    if target == "hf" and ctx.config.lstm < 1:
        return not_applicable(check, case, "transformers always builds an LSTM: a model "
                              "without one has no Hugging Face form")
    from conformance.checkpoints.write import convert

    suffix = "" if target == "hf" else ".th"
    out = ctx.directory / "roundtrip" / f"{target}{suffix}"
    try:
        result = convert(ctx.source, out, target, src_format=ctx.format,
                         config_path=ctx.config_path, preset=ctx.preset,
                         overrides=ctx.overrides, overwrite=True)
    except ConformanceError as exc:
        return failed(check, case, f"converting to {target} failed: {exc.message}",
                      details={"details": exc.details},
                      reproduce=("from conformance.checkpoints.write import convert\n"
                                 f"convert({str(ctx.source)!r}, 'out', {target!r})"))
    notes = list(result.verified)
    library = TARGETS[target]
    if library is None:
        notes.append("AudioCraft itself is not a dependency (it pins an old torch): read back "
                     "by this tool only")
    elif (why := peer_reason(library, ctx.config)) or importlib.util.find_spec(library) is None:
        notes.append(f"not loaded in {library}: {why}")
    else:
        try:
            theirs, ours = _library_codes(ctx, target, result.path)
        except Exception as exc:  # noqa: BLE001 - the library failing is the outcome
            return error(check, case, f"{library} could not load the converted file: "
                         f"{type(exc).__name__}: {exc}")
        if not torch.equal(theirs.long(), ours):
            return failed(check, case, f"the converted file gives other codes in {library} "
                          "than the reference", observed=tuple(theirs.shape),
                          expected=tuple(ours.shape))
        notes.append(f"loads strictly in {library} with identical codes")
    return passed(check, case, "; ".join(notes), details={"path": str(result.path),
                                                         "notes": result.notes})


_WHO = {"hf": "transformers", "audiocraft": "AudioCraft", "encodec": "the encodec package"}
for _target in TARGETS:
    register(f"roundtrip.{_target}", "checkpoint", f"converts to the {_target} format and reads "
             f"back bitwise equal; loads strictly in {_WHO[_target]} with identical codes "
             "where it is installed")(
        lambda ctx, case, _target=_target: _check_roundtrip(_target, ctx, case))
