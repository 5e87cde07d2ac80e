"""`impl.*`: an implementation (behind an adapter) against the reference, on a golden family.

Cases are (family, signal[, bandwidth]); the signals are real speech and music, silence,
impulses, clipping, speech 6 dB over full scale, a signal shorter than one hop, an odd length,
a long one (three chunks or more for chunked models), and for chunked models a length where a
partial last chunk ends before the first one and one whose last two chunks are both partial
(`context.signal_names`).
"""

from __future__ import annotations

import math

import torch

from conformance.adapters.protocol import Frames, supports_decode_length
from conformance.checks.implementation.compare import (
    compare_audio,
    compare_codes,
    compare_scales,
)
from conformance.checks.implementation.context import (
    ImplementationContext,
    overruns,
    partial_chunks,
    signal_names,
)
from conformance.checks.outcome import Outcome
from conformance.checks.registry import register
from conformance.checks.results import error, failed, not_applicable, passed
from conformance.checks.tolerance import Tolerance

#: Bitwise equality (determinism).
EXACT = Tolerance("exact", 1.0, 0.0, None, 0.0)

__all__ = ["EDGE_LAYOUTS", "EXACT", "SILENCE_DBFS", "properties_examples"]

#: Silence must decode to an RMS below this (dBFS), as the reference's does.
SILENCE_DBFS = -60.0


def _bw(text: str) -> float:
    return float(text.removesuffix("kbps"))


def _top(ctx: ImplementationContext) -> float:
    return float(ctx.config.bandwidths[-1])


def _signal_cases(ctx: ImplementationContext) -> list[tuple[str, ...]]:
    return [(ctx.family, s) for s in signal_names(ctx.config)]


def _signal_bw_cases(ctx: ImplementationContext) -> list[tuple[str, ...]]:
    return [(ctx.family, s, f"{b:g}kbps") for s in signal_names(ctx.config)
            for b in ctx.config.bandwidths]


def _one(ctx: ImplementationContext) -> list[tuple[str, ...]]:
    return [(ctx.family,)]


#: Chunk layouts where the original encodec package or transformers raise instead of
#: decoding: an implementation that raises there too is told so, not failed (unless the
#: context is strict about layouts); one that returns wrong audio there still fails.
EDGE_LAYOUTS = {
    "chunk_overrun": "the original encodec package and transformers raise on this layout too",
    "partial_chunks": "transformers raises on this layout too",
}


def _own_codes(got: Frames, want: Frames) -> Frames:
    """The implementation's codes with the reference's scales: what the reference decodes to
    compare audio once the codes were judged equal up to near-ties (scales have their own
    check)."""
    return [(g, w_scale) for (g, _), (_, w_scale) in zip(got, want)]


def _codes_differ(got: Frames, want: Frames) -> bool:
    return any(tuple(g.shape) != tuple(w.shape) or not torch.equal(g.long(), w.long())
               for (g, _), (w, _) in zip(got, want))


def _only_near_ties(ctx: ImplementationContext, got: Frames, want: Frames,
                    audio: str | torch.Tensor) -> bool:
    """Whether the implementation's codes differ from the reference's, and only at near-ties
    (`ctx.arbiter`); then its audio is judged against the reference's decode of its codes."""
    return _codes_differ(got, want) and \
        compare_codes(got, want, ctx.tolerance, ctx.arbiter(audio)) is None


def _guard(ctx: ImplementationContext, check: str, case: tuple[str, ...], fn) -> Outcome:
    """Run `fn()`; an exception raised by the implementation is an `error` outcome (on an
    edge chunk layout, `not_applicable` naming the exception, unless `ctx.strict_layouts`)."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - the implementation's crash is the outcome
        raised = f"{type(exc).__name__}: {exc}"
        layout = case[1] if len(case) > 1 else None
        if layout in EDGE_LAYOUTS and not ctx.strict_layouts:
            return not_applicable(check, case, f"{ctx.name} cannot code the {layout} chunk "
                                  f"layout (it raised {raised}); {EDGE_LAYOUTS[layout]}. "
                                  "--strict-layouts counts this as an error",
                                  details={"exception": type(exc).__name__})
        return error(check, case, f"the implementation raised {raised}",
                     details={"exception": type(exc).__name__})


def _unsupported(ctx: ImplementationContext, check: str, case: tuple[str, ...],
                 feature: str) -> Outcome | None:
    if feature in ctx.unsupported:
        return not_applicable(check, case, f"{ctx.name} does not support {feature}: "
                              f"{ctx.unsupported[feature]}")
    return None


def _chunked(ctx: ImplementationContext, check: str, case: tuple[str, ...],
             signal: str) -> Outcome | None:
    """Signals of several chunks are not applicable to an adapter that cannot chunk."""
    cfg = ctx.config
    if cfg.segment_length is not None and ctx.signal(signal).shape[-1] > cfg.segment_length:
        return _unsupported(ctx, check, case, "chunking")
    return None


# ------------------------------------------------------------------------------- metadata
@register("impl.metadata", "implementation", "sample rate and channels (and, where the adapter "
          "gives them, frame rate and bandwidth ladder) equal the reference's", cases=_one)
def check_metadata(ctx: ImplementationContext, case: tuple[str, ...]):
    def run():
        cfg = ctx.config
        want = {"sample_rate": cfg.sample_rate, "channels": cfg.channels,
                "frame_rate": cfg.frame_rate, "bandwidths": list(cfg.bandwidths)}
        got = {k: getattr(ctx.adapter, k) for k in want if hasattr(ctx.adapter, k)}
        got = {k: (list(v) if k == "bandwidths" else v) for k, v in got.items()}
        wrong = {k: v for k, v in got.items()
                 if not (math.isclose(float(v), float(want[k])) if k == "frame_rate"
                         else v == want[k])}
        if wrong:
            return failed("impl.metadata", case, ", ".join(
                f"{k}={v!r}, but should be {want[k]!r}" for k, v in wrong.items()),
                observed=wrong, expected={k: want[k] for k in wrong},
                reproduce=ctx.reproduce("print(impl.sample_rate, impl.channels)", "speech"))
        return passed("impl.metadata", case, ", ".join(f"{k} {v}" for k, v in got.items()))
    return _guard(ctx, "impl.metadata", case, run)


# ---------------------------------------------------------------------------------- codes
@register("impl.frames", "implementation", "the same chunks as the reference, each with "
          "ceil(L / hop) frames", cases=_signal_cases)
def check_frames(ctx: ImplementationContext, case: tuple[str, ...]):
    signal = case[1]
    if skip := _chunked(ctx, "impl.frames", case, signal):
        return skip

    def run():
        bw = _top(ctx)
        got, want = ctx.encode("impl", signal, bw), ctx.encode("ref", signal, bw)
        shape = [tuple(c.shape[-1:]) for c, _ in got]
        expected = [tuple(c.shape[-1:]) for c, _ in want]
        if shape != expected:
            return failed("impl.frames", case, f"frames per chunk {shape}, but should be "
                          f"{expected} [{ctx.call('encode', signal, bw)}]",
                          observed=shape, expected=expected,
                          reproduce=ctx.reproduce("print([c.shape for c, _ in "
                                                  "impl.encode(audio, bandwidth)])", signal))
        return passed("impl.frames", case, f"{len(shape)} chunk(s) of {expected} frames")
    return _guard(ctx, "impl.frames", case, run)


@register("impl.codes_dtype", "implementation", "codes are int64 in [0, bins), with one "
          "codebook per kbps step of the ladder", cases=_signal_cases)
def check_codes_dtype(ctx: ImplementationContext, case: tuple[str, ...]):
    signal = case[1]
    if skip := _chunked(ctx, "impl.codes_dtype", case, signal):
        return skip

    def run():
        problems = []
        for bw in ctx.config.bandwidths:
            n_q = ctx.reference.model.n_q_for_bandwidth(bw)
            for i, (codes, _) in enumerate(ctx.encode("impl", signal, bw)):
                if codes.dtype != torch.int64:
                    problems.append(f"@{bw:g} kbps chunk {i}: codes.dtype={codes.dtype}, but "
                                    "should be torch.int64")
                elif codes.numel() and (int(codes.min()) < 0
                                        or int(codes.max()) >= ctx.config.bins):
                    problems.append(f"@{bw:g} kbps chunk {i}: codes in [{int(codes.min())}, "
                                    f"{int(codes.max())}], but should be in [0, "
                                    f"{ctx.config.bins})")
                elif codes.dim() != 3 or codes.shape[1] != n_q:
                    problems.append(f"@{bw:g} kbps chunk {i}: codes.shape={tuple(codes.shape)}"
                                    f", but should be [B, {n_q}, T]")
        if problems:
            call = ctx.call("encode", signal)
            return failed("impl.codes_dtype", case, f"{problems[0]} [{call}]",
                          details={"problems": problems},
                          reproduce=ctx.reproduce("codes = impl.encode(audio, bandwidth)[0][0]\n"
                                                  "print(codes.dtype, codes.min(), codes.max(),"
                                                  " codes.shape)", signal))
        return passed("impl.codes_dtype", case, f"int64 codes in [0, {ctx.config.bins}) at "
                      "every bandwidth")
    return _guard(ctx, "impl.codes_dtype", case, run)


@register("impl.codes", "implementation", "codes equal the reference's (exactly under the fp32 "
          "profile, but for near-ties that float32 rounding decides) for every signal at every "
          "bandwidth", cases=_signal_bw_cases)
def check_codes(ctx: ImplementationContext, case: tuple[str, ...]):
    signal, bw = case[1], _bw(case[2])
    if skip := _chunked(ctx, "impl.codes", case, signal):
        return skip

    def run():
        got, want = ctx.encode("impl", signal, bw), ctx.encode("ref", signal, bw)
        arbiter = ctx.arbiter(signal)
        before = 0 if arbiter is None else arbiter.accepted
        mismatch = compare_codes(got, want, ctx.tolerance, arbiter)
        if mismatch:
            reason, observed, expected = mismatch
            return failed("impl.codes", case, f"{reason} [{ctx.call('encode', signal, bw)}]",
                          observed=observed, expected=expected,
                          reproduce=ctx.reproduce(
                              "got = impl.encode(audio, bandwidth)\n"
                              "want = ref.encode(audio, bandwidth)\n"
                              "print([(g != w).sum().item() for (g, _), (w, _) in zip(got, "
                              "want)])", signal, bw))
        ties = 0 if arbiter is None else arbiter.accepted - before
        if ties:
            return passed("impl.codes", case, f"codes equal the reference's except {ties} "
                          "near-tie choice(s) that float32 rounding decides")
        return passed("impl.codes", case, "codes equal the reference's")
    return _guard(ctx, "impl.codes", case, run)


def _scale_cases(ctx: ImplementationContext) -> list[tuple[str, ...]]:
    return _signal_cases(ctx) if ctx.config.renormalize else _one(ctx)


@register("impl.scales", "implementation", "each renormalised chunk's scale equals the "
          "reference's, relatively (a scale of 0 against 1e-8 on silence is a bug)",
          cases=_scale_cases)
def check_scales(ctx: ImplementationContext, case: tuple[str, ...]):
    if not ctx.config.renormalize:
        return not_applicable("impl.scales", case, f"{ctx.family} does not renormalise: its "
                              "chunks have no scale")
    signal = case[1]
    if skip := _chunked(ctx, "impl.scales", case, signal):
        return skip

    def run():
        bw = _top(ctx)
        mismatch = compare_scales(ctx.encode("impl", signal, bw), ctx.encode("ref", signal, bw),
                                  ctx.tolerance)
        if mismatch:
            reason, observed, expected = mismatch
            return failed("impl.scales", case, f"{reason} [{ctx.call('encode', signal, bw)}]",
                          observed=observed, expected=expected,
                          reproduce=ctx.reproduce(
                              "print([s for _, s in impl.encode(audio, bandwidth)])\n"
                              "print([s for _, s in ref.encode(audio, bandwidth)])", signal))
        return passed("impl.scales", case, "scales equal the reference's")
    return _guard(ctx, "impl.scales", case, run)


# ------------------------------------------------------------------------------- decoding
@register("impl.decode", "implementation", "decoding the reference's codes gives the "
          "reference's audio (within 1e-4 under fp32)", cases=_signal_bw_cases)
def check_decode(ctx: ImplementationContext, case: tuple[str, ...]):
    signal, bw = case[1], _bw(case[2])
    if skip := _chunked(ctx, "impl.decode", case, signal):
        return skip

    def run():
        got = ctx.decode("impl", "ref", signal, bw)
        want = ctx.decode("ref", "ref", signal, bw)
        mismatch = compare_audio(got, want, ctx.tolerance)
        if mismatch:
            reason, observed, expected = mismatch
            return failed("impl.decode", case, f"{reason} [{ctx.name}.decode(reference codes "
                          f"of {signal} at {bw:g} kbps)]", observed=observed, expected=expected,
                          reproduce=ctx.reproduce(
                              "frames = ref.encode(audio, bandwidth)\n"
                              "print((impl.decode(frames) - ref.decode(frames)).abs().max())",
                              signal, bw))
        return passed("impl.decode", case, "the reference's codes decode to the reference's "
                      "audio")
    return _guard(ctx, "impl.decode", case, run)


@register("impl.cross_decode", "implementation", "the reference decodes the implementation's "
          "own codes to what the implementation decodes them to", cases=_signal_cases)
def check_cross_decode(ctx: ImplementationContext, case: tuple[str, ...]):
    signal = case[1]
    if skip := _chunked(ctx, "impl.cross_decode", case, signal):
        return skip

    def run():
        bw = _top(ctx)
        got = ctx.decode("impl", "impl", signal, bw)
        want = ctx.decode("ref", "impl", signal, bw)
        mismatch = compare_audio(got, want, ctx.tolerance)
        if mismatch:
            reason, observed, expected = mismatch
            return failed("impl.cross_decode", case, f"{reason} [{ctx.name}.decode(its own "
                          f"codes of {signal}) vs the reference's decode of them]",
                          observed=observed, expected=expected,
                          reproduce=ctx.reproduce(
                              "frames = impl.encode(audio, bandwidth)\n"
                              "print((impl.decode(frames) - ref.decode(frames)).abs().max())",
                              signal))
        return passed("impl.cross_decode", case, "its codes decode the same in both")
    return _guard(ctx, "impl.cross_decode", case, run)


def _length_cases(ctx: ImplementationContext) -> list[tuple[str, ...]]:
    return [(ctx.family, s) for s in ("short", "odd_length", "speech")]


@register("impl.forward", "implementation", "a forward call returns audio of the input's "
          "length equal to the reference's encode -> decode", cases=_length_cases)
def check_forward(ctx: ImplementationContext, case: tuple[str, ...]):
    signal = case[1]
    if skip := _unsupported(ctx, "impl.forward", case, "forward"):
        return skip
    if not callable(getattr(ctx.adapter, "forward", None)):
        return not_applicable("impl.forward", case, f"{ctx.name} has no forward method")
    if skip := _chunked(ctx, "impl.forward", case, signal):
        return skip

    def run():
        bw = _top(ctx)
        audio = ctx.signal(signal)[None].clone()
        got = ctx.adapter.forward(audio, bw)
        want = ctx.reference.forward(audio, bw)
        mismatch = compare_audio(got, want, ctx.tolerance)
        if mismatch:
            own, ref = ctx.encode("impl", signal, bw), ctx.encode("ref", signal, bw)
            if _only_near_ties(ctx, own, ref, signal):
                want = ctx.reference.decode(_own_codes(own, ref), audio.shape[-1])
                mismatch = compare_audio(got, want, ctx.tolerance)
        if mismatch:
            reason, observed, expected = mismatch
            return failed("impl.forward", case, f"{reason} [{ctx.call('forward', signal, bw)}]",
                          observed=observed, expected=expected,
                          reproduce=ctx.reproduce("print(impl.forward(audio, bandwidth).shape, "
                                                  "audio.shape)", signal))
        return passed("impl.forward", case, f"{audio.shape[-1]} samples in, "
                      f"{audio.shape[-1]} out, equal to the reference")
    return _guard(ctx, "impl.forward", case, run)


@register("impl.decode_length", "implementation", "a decode given the input's length (a "
          "padding mask) that is not a multiple of the hop returns exactly that many samples",
          cases=_length_cases)
def check_decode_length(ctx: ImplementationContext, case: tuple[str, ...]):
    signal = case[1]
    if skip := _unsupported(ctx, "impl.decode_length", case, "decode_length"):
        return skip
    if not supports_decode_length(ctx.adapter):
        return not_applicable("impl.decode_length", case, f"{ctx.name}.decode takes no length")
    if skip := _chunked(ctx, "impl.decode_length", case, signal):
        return skip

    def run():
        bw = _top(ctx)
        length = ctx.signal(signal).shape[-1]
        frames = ctx.encode("ref", signal, bw)
        got = ctx.adapter.decode(frames, length=length)
        want = ctx.decode("ref", "ref", signal, bw)[..., :length]
        mismatch = compare_audio(got, want, ctx.tolerance)
        if mismatch:
            reason, observed, expected = mismatch
            return failed("impl.decode_length", case, f"{reason} [{ctx.name}.decode(frames, "
                          f"length={length})]", observed=observed, expected=expected,
                          reproduce=ctx.reproduce(
                              "frames = ref.encode(audio, bandwidth)\n"
                              "print(impl.decode(frames, length=audio.shape[-1]).shape)",
                              signal))
        return passed("impl.decode_length", case, f"exactly {length} samples, equal to the "
                      "reference")
    return _guard(ctx, "impl.decode_length", case, run)


@register("impl.silence", "implementation", f"silence decodes to near-silence (below "
          f"{SILENCE_DBFS:g} dBFS, as the reference's does) at every bandwidth", cases=_one)
def check_silence(ctx: ImplementationContext, case: tuple[str, ...]):
    def run():
        levels = {}
        for bw in ctx.config.bandwidths:
            out = ctx.decode("impl", "impl", "silence", bw)
            rms = float(out.double().pow(2).mean().sqrt())
            levels[f"{bw:g}kbps"] = 20 * math.log10(rms) if rms > 0 else -math.inf
        ref_rms = float(ctx.decode("ref", "ref", "silence", _top(ctx)).double().pow(2).mean()
                        .sqrt())
        ref_db = 20 * math.log10(ref_rms) if ref_rms > 0 else -math.inf
        bound = max(SILENCE_DBFS, ref_db + 6.0)
        loud = {k: round(v, 1) for k, v in levels.items() if not v <= bound}
        if loud:
            return failed("impl.silence", case, "silence decodes to sound: "
                          + ", ".join(f"{v} dBFS at {k}" for k, v in loud.items())
                          + f", but should be below {bound:.1f} dBFS (the reference: "
                          f"{ref_db:.1f} dBFS) [{ctx.call('encode', 'silence')} -> decode]",
                          observed=loud, expected=round(bound, 1),
                          reproduce=ctx.reproduce("print(impl.decode(impl.encode(audio, "
                                                  "bandwidth)).abs().max())", "silence"))
        return passed("impl.silence", case, f"silence decodes to at most "
                      f"{max(levels.values()):.1f} dBFS")
    return _guard(ctx, "impl.silence", case, run)


@register("impl.batch", "implementation", "a batch gives what its items give one by one",
          cases=_one)
def check_batch(ctx: ImplementationContext, case: tuple[str, ...]):
    if skip := _unsupported(ctx, "impl.batch", case, "batch"):
        return skip
    if skip := _chunked(ctx, "impl.batch", case, "speech"):
        return skip

    def run():
        bw = _top(ctx)
        a, b = ctx.signal("speech"), ctx.signal("music")
        batch = torch.stack([a, b])
        frames = ctx.adapter.encode(batch.clone(), bw)
        singles = [ctx.encode("impl", s, bw) for s in ("speech", "music")]
        for i, single in enumerate(singles):
            item = [(c[i:i + 1], None if s is None else s[i:i + 1]) for c, s in frames]
            mismatch = compare_codes(item, single, ctx.tolerance,
                                     ctx.arbiter(("speech", "music")[i]))
            if mismatch:
                return failed("impl.batch", case, f"item {i} of a batch of 2: {mismatch[0]}, "
                              "compared with encoding it alone", observed=mismatch[1],
                              expected=mismatch[2],
                              reproduce=ctx.reproduce(
                                  "import torch\n"
                                  "music = test_signal(weights.config, 'music')[None]\n"
                                  "both = impl.encode(torch.cat([audio, music]), bandwidth)\n"
                                  "alone = impl.encode(audio, bandwidth)\n"
                                  "print((both[0][0][:1] != alone[0][0]).sum())", "speech"))
        audio = ctx.adapter.decode(frames)
        for i, s in enumerate(("speech", "music")):
            item = [(c[i:i + 1], None if sc is None else sc[i:i + 1]) for c, sc in frames]
            alone = ctx.decode("impl", "impl", s, bw) if not _codes_differ(item, singles[i]) \
                else ctx.adapter.decode(item)  # near-tie codes: decode the batch's own
            mismatch = compare_audio(audio[i:i + 1], alone, ctx.tolerance)
            if mismatch:
                return failed("impl.batch", case, f"decoded item {i} of a batch of 2: "
                              f"{mismatch[0]}, compared with decoding it alone",
                              observed=mismatch[1], expected=mismatch[2])
        return passed("impl.batch", case, "a batch of 2 equals its items one by one")
    return _guard(ctx, "impl.batch", case, run)


@register("impl.determinism", "implementation", "the same input gives the same codes and audio "
          "twice", cases=_one)
def check_determinism(ctx: ImplementationContext, case: tuple[str, ...]):
    def run():
        bw = _top(ctx)
        audio = ctx.signal("odd_length")[None]
        first, second = ctx.adapter.encode(audio.clone(), bw), ctx.adapter.encode(audio.clone(),
                                                                                 bw)
        if compare_codes(first, second, EXACT) is not None:
            return failed("impl.determinism", case, "two encodes of the same input differ")
        a, b = ctx.adapter.decode(first), ctx.adapter.decode(first)
        if not torch.equal(a, b):
            return failed("impl.determinism", case, "two decodes of the same codes differ by "
                          f"{float((a - b).abs().max()):.3g}")
        return passed("impl.determinism", case, "identical codes and audio twice")
    return _guard(ctx, "impl.determinism", case, run)


@register("impl.input_intact", "implementation", "encode, decode and forward leave their "
          "inputs (the audio, the codes and scales) unmodified", cases=_one)
def check_input_intact(ctx: ImplementationContext, case: tuple[str, ...]):
    def changed(what: str, before: torch.Tensor, after: torch.Tensor) -> Outcome | None:
        if torch.equal(before, after):
            return None
        diff = float((after.double() - before.double()).abs().max())
        return failed("impl.input_intact", case, f"{what} modified its input in place (max "
                      f"change {diff:.3g}); callers reuse their tensors, so it must not",
                      reproduce=ctx.reproduce("x = audio.clone()\nimpl.encode(x, bandwidth)\n"
                                              "print((x - audio).abs().max())", "loud"))

    def run():
        bw = _top(ctx)
        original = ctx.signal("loud")[None]
        audio = original.clone()
        frames = ctx.adapter.encode(audio, bw)
        if bad := changed(f"{ctx.name}.encode", original, audio):
            return bad
        kept = [(c.clone(), None if s is None else s.clone()) for c, s in frames]
        ctx.adapter.decode(frames)
        for (c0, s0), (c1, s1) in zip(kept, frames, strict=True):
            if bad := changed(f"{ctx.name}.decode (codes)", c0, c1):
                return bad
            if s0 is not None and (bad := changed(f"{ctx.name}.decode (scales)", s0, s1)):
                return bad
        if callable(getattr(ctx.adapter, "forward", None)) and "forward" not in ctx.unsupported:
            ctx.adapter.forward(audio, bw)
            if bad := changed(f"{ctx.name}.forward", original, audio):
                return bad
        return passed("impl.input_intact", case, "inputs are left as they were")
    return _guard(ctx, "impl.input_intact", case, run)


def _stereo_cases(ctx: ImplementationContext) -> list[tuple[str, ...]]:
    return _one(ctx)


@register("impl.stereo", "implementation", "channel order: sound in the left channel only "
          "decodes to the left channel, as the reference's does", cases=_stereo_cases)
def check_stereo(ctx: ImplementationContext, case: tuple[str, ...]):
    if ctx.config.channels != 2:
        return not_applicable("impl.stereo", case, f"{ctx.family} is mono")

    def run():
        bw = _top(ctx)
        speech = ctx.signal("speech")[:, : ctx.config.segment_length or None]
        left = torch.stack([speech[0], torch.zeros_like(speech[0])])[None]
        own, ref = ctx.adapter.encode(left.clone(), bw), ctx.reference.encode(left.clone(), bw)
        got = ctx.adapter.decode(own)
        if _only_near_ties(ctx, own, ref, left):
            ref = _own_codes(own, ref)
        want = ctx.reference.decode(ref)
        energy = [float(got[0, c].double().pow(2).sum()) for c in range(2)]
        ref_energy = [float(want[0, c].double().pow(2).sum()) for c in range(2)]
        # claim a swap only where the reference clearly favours one channel and the
        # implementation clearly favours the other; anything else is an audio mismatch
        clear = 2.0
        ref_left = ref_energy[0] > clear * ref_energy[1]
        ref_right = ref_energy[1] > clear * ref_energy[0]
        if (ref_left and energy[1] > clear * energy[0]) or \
                (ref_right and energy[0] > clear * energy[1]):
            return failed("impl.stereo", case, f"channel energies {energy[0]:.3g} (left), "
                          f"{energy[1]:.3g} (right), but the reference gives "
                          f"{ref_energy[0]:.3g}, {ref_energy[1]:.3g}: channels swapped",
                          observed=energy, expected=ref_energy)
        mismatch = compare_audio(got, want, ctx.tolerance)
        if mismatch:
            return failed("impl.stereo", case, f"left-only input: {mismatch[0]}",
                          observed=mismatch[1], expected=mismatch[2])
        return passed("impl.stereo", case, "left stays left, right stays right")
    return _guard(ctx, "impl.stereo", case, run)


@register("impl.latents", "implementation", "decode_latents of quantised latents equals the "
          "reference's", cases=_one)
def check_latents(ctx: ImplementationContext, case: tuple[str, ...]):
    if skip := _unsupported(ctx, "impl.latents", case, "decode_latents"):
        return skip
    if not callable(getattr(ctx.adapter, "decode_latents", None)):
        return not_applicable("impl.latents", case, f"{ctx.name} has no decode_latents")

    def run():
        frames = ctx.encode("ref", "odd_length", _top(ctx))
        with torch.inference_mode():
            z = ctx.reference.model.quantizer.decode(frames[0][0])
        got, want = ctx.adapter.decode_latents(z.clone()), ctx.reference.decode_latents(z)
        mismatch = compare_audio(got, want, ctx.tolerance)
        if mismatch:
            return failed("impl.latents", case, f"{mismatch[0]} [{ctx.name}.decode_latents]",
                          observed=mismatch[1], expected=mismatch[2])
        return passed("impl.latents", case, "latents decode as the reference's")
    return _guard(ctx, "impl.latents", case, run)


def properties_examples() -> int:
    """How many random lengths and bandwidths the property check draws (from the active
    hypothesis profile when there is one)."""
    try:
        from hypothesis import settings

        return max(1, min(int(settings().max_examples), 50))
    except ImportError:  # pragma: no cover - hypothesis is a test dependency
        return 12


@register("impl.properties", "implementation", "codes and audio equal the reference's for "
          "hypothesis-drawn lengths and bandwidths", cases=_one)
def check_properties(ctx: ImplementationContext, case: tuple[str, ...]):
    def run():
        from hypothesis import HealthCheck, assume, example, given, settings
        from hypothesis import strategies as st

        cfg = ctx.config
        top = (cfg.segment_length or 2 * cfg.sample_rate) - 1
        chunked = "chunking" not in ctx.unsupported and cfg.segment_length is not None
        if chunked:
            top = int(3.2 * cfg.segment_length)
        low = 2 if cfg.norm == "time_group_norm" else 1
        # boundaries drawn every time: one hop either side, and for chunked models each
        # chunk boundary either side up to the fourth chunk
        hop = cfg.hop_length
        edges = {low, hop - 1, hop, hop + 1, top}
        if chunked:
            for k in (1, 2, 3):
                edges |= {k * cfg.segment_stride + d for d in (-1, 1, hop + 1)}
                edges.add(k * cfg.segment_stride + cfg.segment_length // 2)
        edges = sorted(n for n in edges if low <= n <= top and not overruns(cfg, n)
                       and partial_chunks(cfg, n) <= 1)
        speech = ctx.signal("speech")
        failures: list[str] = []

        bandwidths = list(cfg.bandwidths)

        @settings(max_examples=properties_examples(), deadline=None, derandomize=True,
                  database=None, suppress_health_check=list(HealthCheck))
        @given(st.integers(low, top), st.sampled_from(bandwidths))
        def prop(length: int, bw: float) -> None:
            # two chunk layouts have their own signals (and their own expected-failure
            # entries): a partial last chunk that ends before an earlier one (chunk_overrun)
            # and two partial chunks at the end (partial_chunks)
            assume(not overruns(cfg, length) and partial_chunks(cfg, length) <= 1)
            audio = speech.repeat(1, -(-length // speech.shape[-1]))[:, :length][None]
            got, want = ctx.adapter.encode(audio.clone(), bw), ctx.reference.encode(audio, bw)
            mismatch = compare_codes(got, want, ctx.tolerance, ctx.arbiter(audio))
            if mismatch is None:
                mismatch = compare_audio(ctx.adapter.decode(got),
                                         ctx.reference.decode(_own_codes(got, want)),
                                         ctx.tolerance)
            if mismatch is not None:
                failures.append(f"length {length}, {bw:g} kbps: {mismatch[0]}")
                raise AssertionError(failures[-1])

        for i, n in enumerate(edges):
            prop = example(n, bandwidths[i % len(bandwidths)])(prop)
        try:
            prop()
        except AssertionError:
            return failed("impl.properties", case, failures[-1] if failures else
                          "a drawn case failed", details={"failures": failures},
                          reproduce=ctx.reproduce("print(impl.encode(audio[..., :LENGTH], "
                                                  "bandwidth))", "speech"))
        return passed("impl.properties", case, f"{len(edges)} boundary lengths and "
                      f"{properties_examples()} drawn lengths in "
                      f"[{low}, {top}] and bandwidths agree with the reference (lengths where "
                      "a partial last chunk ends before an earlier one, or the last two "
                      "chunks are partial, are the chunk_overrun and partial_chunks signals' "
                      "cases)")
    return _guard(ctx, "impl.properties", case, run)

