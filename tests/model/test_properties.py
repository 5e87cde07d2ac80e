"""Shape, frame-rate and behaviour invariants of the reference model over random configs.

Every property is stated independently of the implementation (tests/helpers.py restates the
spec's formulas), so a bug in the model cannot hide by also being in the expectation.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from conformance.model.chunking import linear_overlap_add, overlap_add_weight
from conformance.testing.assertions import (
    assert_close,
    assert_codes_equal,
    assert_equal,
    assert_shape,
)
from conformance.testing.strategies import batch_sizes, config_and_length, configs, seeds
from conformance.testing.weights import random_model
from tests.helpers import encoder_context, signal, spec_chunks, spec_n_q

pytestmark = pytest.mark.usefixtures("no_grad")


def _call(cfg, length, **extra) -> str:
    parts = [f"L={length}", f"hop={cfg.hop_length}", f"causal={cfg.causal}",
             f"segment={cfg.segment}"] + [f"{k}={v}" for k, v in extra.items()]
    return f"encode({', '.join(parts)})"


@given(config_and_length(), batch_sizes, seeds)
def test_frame_counts_and_lengths(cl, batch, seed):
    """frames = ceil(L_chunk / hop) per chunk; decode = frames * hop (overlap-added for
    chunks); forward = L; codes are int64 in [0, bins)."""
    cfg, length = cl
    model = random_model(cfg, seed % 5)
    wav = signal(batch, cfg.channels, length, seed)
    enc = model.encode(wav, "all")
    chunks = spec_chunks(cfg, length)
    call = _call(cfg, length)
    assert_equal("len(chunks)", len(enc.chunks), len(chunks), call)
    for chunk, (_, n) in zip(enc.chunks, chunks):
        assert_shape("codes", chunk.codes, (batch, cfg.n_q, math.ceil(n / cfg.hop_length)), call)
        assert_equal("codes.dtype", chunk.codes.dtype, torch.int64, call)
        assert int(chunk.codes.min()) >= 0 and int(chunk.codes.max()) < cfg.bins, call
        if cfg.renormalize:
            assert_shape("scale", chunk.scale, (batch, 1), call)
        else:
            assert chunk.scale is None, call
    decoded = model.decode(enc)
    # each chunk decodes to whole hops; the output reaches the furthest chunk end
    want = max(off + math.ceil(n / cfg.hop_length) * cfg.hop_length for off, n in chunks)
    assert_shape("decoded", decoded, (batch, cfg.channels, want), call)
    out = model(wav, "all")
    assert_shape("forward", out, (batch, cfg.channels, length), call)
    assert bool(torch.isfinite(out).all()), call


@given(configs())
def test_frame_rate_and_hop(cfg):
    model = random_model(cfg)
    assert model.hop_length == math.prod(cfg.ratios)
    assert model.frame_rate == cfg.sample_rate / math.prod(cfg.ratios)
    z = model.encoder(torch.zeros(1, cfg.channels, model.hop_length * 3))
    assert_shape("latent", z, (1, cfg.dimension, 3), "encoder(L=3*hop)")


@given(configs(), seeds)
def test_bandwidth_to_codebooks(cfg, seed):
    """n_q = floor(bw*1000 / (frame_rate*log2(bins))), monotonic in bw; 'all' and 'smallest'
    are the two ecosystems' defaults; no bandwidth at all is an error, not a silent choice."""
    model = random_model(cfg, seed % 3)
    counts = [model.n_q_for_bandwidth(bw) for bw in model.bandwidths]
    assert counts == [spec_n_q(cfg, bw) for bw in model.bandwidths]
    assert counts == sorted(counts) and counts[-1] <= cfg.n_q
    assert model.n_q_for_bandwidth("all") == cfg.n_q
    assert model.n_q_for_bandwidth("smallest") == counts[0]
    wav = signal(1, cfg.channels, cfg.hop_length * 2, seed)
    for bw, k in zip(model.bandwidths, counts):
        assert model.encode(wav, bw).codes.shape[1] == k
    with pytest.raises(ValueError, match="no implicit default"):
        model.n_q_for_bandwidth(None)
    with pytest.raises(ValueError, match="exactly one"):
        model.encode(wav)
    with pytest.raises(ValueError, match="not supported"):
        model.encode(wav, max(model.bandwidths) * 7.3 + 0.123)


@given(config_and_length(), st.integers(2, 3), seeds)
def test_batch_equals_single_runs(cl, batch, seed):
    """Items of a batch never influence each other (renormalisation, chunking, LSTM)."""
    cfg, length = cl
    model = random_model(cfg, seed % 5)
    wav = signal(batch, cfg.channels, length, seed)
    enc = model.encode(wav, "all")
    dec = model.decode(enc)
    for i in range(batch):
        single = model.encode(wav[i:i + 1], "all")
        call = _call(cfg, length, item=i, batch=batch)
        assert_codes_equal("codes", enc.codes[i:i + 1], single.codes, call)
        ref = model.decode(single)
        assert_close("decoded", dec[i:i + 1], ref, call, atol=1e-5, rtol=1e-5)


@given(config_and_length(), seeds)
def test_deterministic(cl, seed):
    cfg, length = cl
    model = random_model(cfg, seed % 5)
    wav = signal(1, cfg.channels, length, seed)
    a, b = model.encode(wav, "all"), model.encode(wav, "all")
    assert torch.equal(a.codes, b.codes)
    assert torch.equal(model.decode(a), model.decode(b))


@given(config_and_length(causal=True), seeds, st.data())
def test_causal_codes_ignore_the_future(cl, seed, data):
    """For a causal model, changing samples at or after t never changes the codes (or latents)
    of frames that end at or before t. With reflect padding the left edge mirrors a few
    samples from inside the signal, so there t must lie past the encoder's reach."""
    cfg, length = cl
    floor = 1 if cfg.pad_mode != "reflect" else encoder_context(cfg)
    assume(length > floor + 1)
    t = data.draw(st.integers(floor, length - 1), label="t")
    model = random_model(cfg, seed % 5)
    wav = signal(1, cfg.channels, length, seed)
    changed = wav.clone()
    changed[..., t:] = signal(1, cfg.channels, length - t, seed + 1) * 3
    safe = t // cfg.hop_length  # frames [0, safe) end at or before t
    assume(safe >= 1)
    call = _call(cfg, length, t=t)
    za, zb = model.encoder(wav), model.encoder(changed)
    assert_close("latent[..., :safe]", zb[..., :safe], za[..., :safe], call, atol=1e-6,
                 rtol=1e-6)
    ca = model.encode(wav, "all").codes[..., :safe]
    cb = model.encode(changed, "all").codes[..., :safe]
    assert_codes_equal("codes[..., :safe]", cb, ca, call)


@given(st.integers(1, 64))
def test_overlap_add_weight_is_the_spec_triangle(frame_length):
    """w[i] = 0.5 - |(i + 1) / (F + 1) - 0.5|: peaks mid-frame, symmetric, never zero."""
    w = overlap_add_weight(frame_length, dtype=torch.float64)
    i = torch.arange(frame_length, dtype=torch.float64)
    expected = 0.5 - ((i + 1) / (frame_length + 1) - 0.5).abs()
    assert_close("weight", w, expected, f"overlap_add_weight({frame_length})", atol=1e-12)
    assert bool((w > 0).all()) and torch.allclose(w, w.flip(0))


@given(st.integers(2, 40), st.integers(1, 40), st.integers(1, 6), st.integers(0, 2**16))
def test_overlap_add_reconstructs_consistent_frames(frame_length, stride, n_frames, seed):
    """Frames cut from one signal at multiples of `stride` blend back into that signal (the
    weights are normalised), whatever the last frame's length."""
    assume(stride <= frame_length)
    gen = torch.Generator().manual_seed(seed)
    last = int(torch.randint(1, frame_length + 1, (1,), generator=gen))
    total = stride * (n_frames - 1) + last
    sig = torch.randn(2, total, generator=gen, dtype=torch.float64)
    frames = [sig[:, k * stride: k * stride + frame_length] for k in range(n_frames - 1)]
    frames.append(sig[:, (n_frames - 1) * stride:])
    assume(all(f.shape[-1] <= frame_length for f in frames))
    out = linear_overlap_add(frames, stride)
    assert_close("overlap-add", out, sig, f"linear_overlap_add(F={frame_length}, "
                 f"stride={stride}, n={n_frames})", atol=1e-9)


@given(config_and_length(chunked=True), seeds)
def test_chunked_decode_is_the_weighted_blend_of_chunks(cl, seed):
    """A chunked decode equals the spec's triangle-weighted blend of the per-chunk decodes,
    each multiplied by its own chunk's scale."""
    cfg, length = cl
    model = random_model(cfg, seed % 5)
    wav = signal(2, cfg.channels, length, seed)
    enc = model.encode(wav, "all")
    chunks = spec_chunks(cfg, length)
    seg = int(cfg.segment * cfg.sample_rate)
    stride = max(1, int((1 - cfg.overlap) * seg))
    pieces = []
    for chunk in enc.chunks:
        y = model.decoder(model.quantizer.decode(chunk.codes))
        pieces.append(y * chunk.scale.view(-1, 1, 1) if cfg.renormalize else y)
    full_len = pieces[0].shape[-1]
    i = torch.arange(full_len, dtype=torch.float64)
    w = 0.5 - ((i + 1) / (full_len + 1) - 0.5).abs()
    total = max(off + p.shape[-1] for (off, _), p in zip(chunks, pieces))
    num = torch.zeros(2, cfg.channels, total, dtype=torch.float64)
    den = torch.zeros(total, dtype=torch.float64)
    for (off, _), p in zip(chunks, pieces):
        n = p.shape[-1]
        num[..., off:off + n] += w[:n] * p.double()
        den[off:off + n] += w[:n]
    expected = (num / den).float()
    got = model.decode(enc)
    assert_close("decoded", got, expected, _call(cfg, length, stride=stride), atol=1e-5,
                 rtol=1e-5)


@given(config_and_length(), seeds)
def test_decode_latents_of_quantized_equals_decode(cl, seed):
    """decode_latents(quantizer.decode(codes)) == decode(codes), chunk by chunk (times the
    chunk's scale when the model renormalises); BTD layout and denormalisation agree."""
    cfg, length = cl
    model = random_model(cfg, seed % 5)
    wav = signal(2, cfg.channels, length, seed)
    enc = model.encode(wav, "all")
    for chunk in enc.chunks:
        z = model.quantizer.decode(chunk.codes)
        via_latents = model.decode_latents(z)
        if cfg.renormalize:
            via_latents = via_latents * chunk.scale.view(-1, 1, 1)
        single = type(enc)(chunks=[chunk], length=chunk.length, n_q=enc.n_q)
        assert torch.equal(via_latents, model.decode(single))
    z = model.quantizer.decode(enc.chunks[0].codes)
    mean = torch.linspace(-0.5, 0.5, cfg.dimension)
    std = torch.linspace(0.5, 2.0, cfg.dimension)
    normed = ((z - mean.view(1, -1, 1)) / std.view(1, -1, 1)).transpose(1, 2)
    got = model.decode_latents(normed, mean=mean, std=std, layout="BTD")
    assert_close("decode_latents(BTD)", got, model.decode_latents(z),
                 "decode_latents(z*std+mean, layout='BTD')", atol=1e-4, rtol=1e-4)


@given(configs(), seeds)
def test_rvq_is_greedy_nearest_neighbour(cfg, seed):
    """Each stage picks the code nearest (float64, within rounding) to the residual left by
    the previous stages; decoding K codebooks is the sum of their first K embeddings; codes
    for k codebooks are the first k rows of the codes for all."""
    model = random_model(cfg, seed % 5)
    wav = signal(1, cfg.channels, cfg.hop_length * 6 + 1, seed)
    z = model.encoder(wav)
    codes = model.quantizer.encode(z, cfg.n_q)
    residual = z.double().transpose(1, 2).reshape(-1, cfg.dimension)
    summed = torch.zeros_like(residual)
    for k, layer in enumerate(model.quantizer.vq.layers):
        embed = layer._codebook.embed.double()
        dist = torch.cdist(residual, embed) ** 2
        chosen = codes[:, k].reshape(-1)
        picked = dist.gather(1, chosen[:, None])[:, 0]
        slack = 1e-4 * (1 + dist.min(1).values)
        assert bool((picked <= dist.min(1).values + slack).all()), f"stage {k} not nearest"
        residual = residual - embed[chosen]
        summed = summed + embed[chosen]
        partial = model.quantizer.decode(codes[:, : k + 1])
        assert_close(f"quantizer.decode(K={k + 1})", partial.double().transpose(1, 2).reshape(
            -1, cfg.dimension), summed, "sum of embeddings", atol=1e-5, rtol=1e-6)
        prefix = model.quantizer.encode(z, k + 1)
        assert torch.equal(prefix, codes[:, : k + 1])


@given(config_and_length(causal=False), seeds)
def test_renormalised_models_are_gain_invariant(cl, seed):
    """A renormalising model encodes 4*x like x (latents equal within rounding) and decodes it
    4 times louder; the scale is the RMS of the channel mean over the chunk."""
    cfg, length = cl
    assume(cfg.renormalize)
    model = random_model(cfg, seed % 5)
    wav = signal(1, cfg.channels, length, seed)
    a, b = model.encode(wav, "all"), model.encode(wav * 4, "all")
    for (off, n), ca, cb in zip(spec_chunks(cfg, length), a.chunks, b.chunks):
        mono = wav[..., off:off + n].mean(dim=1)
        rms = mono.pow(2).mean(dim=-1).sqrt()
        assert_close("scale", ca.scale.view(-1), rms + 1e-8, "rms of the channel mean",
                     atol=1e-7, rtol=1e-5)
        assert_close("scale(4x)", cb.scale, 4 * ca.scale, "4x gain", atol=1e-7, rtol=1e-5)
    out_a, out_b = model.decode(a), model.decode(b)
    same = a.codes == b.codes
    if bool(same.all()):
        assert_close("decode(4x)", out_b, 4 * out_a, "4x gain", atol=1e-5, rtol=1e-4)


@given(configs(), st.floats(0.001, 100.0, allow_nan=False))
def test_codebooks_for_any_bandwidth_follow_the_floor_formula(cfg, bandwidth):
    """Between ladder steps too: floor (never round) of bw*1000 / (frame_rate*log2(bins)), at
    least one codebook, and monotonic in the bandwidth."""
    from conformance.model.config import n_q_for_bandwidth

    got = n_q_for_bandwidth(cfg, bandwidth)
    assert got == spec_n_q(cfg, bandwidth), (cfg.sample_rate, cfg.hop_length, cfg.bins, bandwidth)
    assert got <= n_q_for_bandwidth(cfg, bandwidth * 1.5)
    step = cfg.codebook_frame_rate * math.log2(cfg.bins) / 1000
    if bandwidth > step:  # 0.6 of a step more never adds a codebook past the floor
        assert n_q_for_bandwidth(cfg, (math.floor(bandwidth / step) + 0.6) * step) == max(
            1, math.floor(bandwidth / step))
