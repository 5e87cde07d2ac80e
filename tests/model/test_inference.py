"""The fast inference path (`conformance.model.inference`) against the reference model.

float32: identical codes and decodes within 1e-4 on random configs, the four presets and the
golden checkpoints (absolute for audio in [-1, 1]; random weights can decode far beyond full
scale, e.g. a peak of 234, where float32 itself resolves only ~1.5e-5, so there the bound is
1e-4 x the peak, the convention of the peer comparisons), with every option and with tiles
down to one frame; bfloat16: SI-SDR >= 25 dB against the float32 reference on the reference
clips, the golden PESQ/STOI/mel thresholds on speech, and near-silent items decoded in
float32; the folded weights are the reference's bitwise; nothing is shared with the source
model; bad inputs raise the reference's errors.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional as F

from conformance.audio.clips import music_clips, speech_clips
from conformance.checkpoints.load import load_checkpoint
from conformance.errors import ConformanceError, InvalidArgument
from conformance.golden.bundle import golden_checkpoints
from conformance.golden.runs import clip_audio
from conformance.golden.thresholds import QUALITY_METRICS, golden_thresholds
from conformance.model.conv import StreamableConv1d
from conformance.model.encodec import Encoded, EncodedChunk
from conformance.model.inference import (
    FastConv1d,
    FastConvTranspose1d,
    FastResBlock,
    InferenceModel,
    InferenceOptions,
    _polyphase_weight,
    fold_weight_norm,
    reduced_precision_supported,
)
from conformance.model.presets import PRESETS
from conformance.model.seanet import ResnetBlock
from conformance.quality.metrics import compute_metrics
from conformance.testing.strategies import configs, lengths
from conformance.testing.weights import random_model
from tests.configs import CHUNKED_48, LADDER_24, small

pytestmark = pytest.mark.usefixtures("no_grad")

#: the float32 fast path's decode tolerance (absolute up to full scale, then x the peak)
ATOL = 1e-4


def tolerance(expected: torch.Tensor) -> float:
    peak = float(expected.abs().max()) if expected.numel() else 0.0
    return ATOL * max(1.0, peak)
#: the reduced-precision decode's floor against the float32 reference
MIN_SI_SDR_DB = 25.0


def assert_conformant(ref, fast, wav: torch.Tensor, bandwidth="all") -> None:
    """Identical codes (every chunk, scales bitwise) and decodes within ATOL."""
    enc_ref = ref.encode(wav, bandwidth)
    enc_fast = fast.encode(wav, bandwidth)
    assert len(enc_ref.chunks) == len(enc_fast.chunks)
    for i, (a, b) in enumerate(zip(enc_ref.chunks, enc_fast.chunks)):
        assert torch.equal(a.codes, b.codes), f"chunk {i}: codes differ"
        assert a.length == b.length
        assert (a.scale is None) == (b.scale is None)
        if a.scale is not None:
            assert torch.equal(a.scale, b.scale), f"chunk {i}: scales differ"
    assert (enc_ref.length, enc_ref.n_q, enc_ref.bandwidth) == (
        enc_fast.length, enc_fast.n_q, enc_fast.bandwidth)
    out_ref = ref.decode(enc_ref)
    out_fast = fast.decode(enc_ref)
    assert out_fast.shape == out_ref.shape and out_fast.dtype == torch.float32
    err = float((out_fast - out_ref).abs().max()) if out_ref.numel() else 0.0
    assert err <= tolerance(out_ref), f"decode differs by {err:.3g} (> {tolerance(out_ref)})"


# ------------------------------------------------------------------------ float32, random
@given(cfg=configs(), data=st.data(), seed=st.integers(0, 2**16))
def test_fp32_equals_reference_on_random_configs(cfg, data, seed):
    length = data.draw(lengths(cfg), label="length")
    batch = data.draw(st.integers(1, 2), label="batch")
    ref = random_model(cfg, seed)
    fast = ref.for_inference()
    wav = 0.1 * torch.randn(batch, cfg.channels, length,
                            generator=torch.Generator().manual_seed(seed))
    assert_conformant(ref, fast, wav)
    out, want = fast(wav, "all"), ref(wav, "all")
    assert out.shape == wav.shape
    assert float((out - want).abs().max()) <= tolerance(want)


@pytest.mark.parametrize("name", list(PRESETS))
def test_fp32_equals_reference_on_presets(name):
    """Full-size presets with realistic random weights: shorter than one hop, a length that
    is not a hop multiple, and (48 kHz) 1.51 s, whose last chunk is short."""
    cfg = PRESETS[name]
    ref = random_model(cfg, seed=1)
    fast = ref.for_inference()
    gen = torch.Generator().manual_seed(2)
    seconds = 1.51 if cfg.segment else 0.3
    for length in (cfg.hop_length // 2, int(seconds * cfg.sample_rate) + 7):
        wav = 0.1 * torch.randn(2, cfg.channels, length, generator=gen)
        assert_conformant(ref, fast, wav, cfg.bandwidths[-1])


@pytest.fixture(scope="module")
def golden_models():
    found = {g.family: load_checkpoint(g.checkpoint).model.eval()
             for g in golden_checkpoints()}
    assert found, "no golden checkpoint bundled"
    return found


@pytest.mark.parametrize("family", ["encodec_24khz", "encodec_32khz", "encodec_48khz"])
def test_fp32_equals_reference_on_golden_checkpoints(golden_models, family):
    model = golden_models[family]
    fast = model.for_inference()
    for clip in speech_clips()[:1] + music_clips()[:1]:
        wav = clip_audio(clip, model, seconds=1.51)[None]
        for bw in model.bandwidths:
            assert_conformant(model, fast, wav, bw)


def test_default_tiles_equal_the_reference_on_a_long_golden_input(golden_models):
    """Batch 2 x 6 s at 24 kHz: long enough for the default tiles, run by two workers."""
    model = golden_models["encodec_24khz"]
    fast = model.for_inference(tile_workers=2)
    clip = clip_audio(speech_clips()[0], model, seconds=2.0)
    wav = torch.stack([clip.repeat(1, 3), clip.flip(-1).repeat(1, 3)])
    enc = model.encode(wav, 6.0)
    assert len(fast.decoder._tiles(model.quantizer.decode(enc.codes))) > 2
    assert_conformant(model, fast, wav, 6.0)
    bf16 = model.for_inference(dtype=torch.bfloat16)
    ref = model.decode(enc)
    assert _si_sdr(ref[1], bf16.decode(enc)[1], model.sample_rate) >= MIN_SI_SDR_DB


@pytest.mark.parametrize("options", [
    {"fuse_elu_pad": False}, {"polyphase": False}, {"pointwise": "conv"},
    {"fuse_shortcut": False}, {"fold_weight_norm": False, "polyphase": False},
    {"batch_chunks": False}, {"narrow_matmul_channels": 0}, {"max_batch_samples": 1},
    {"narrow_matmul_channels": 64}, {"tile_samples": 0}, {"tile_samples": 1, "tile_frames": 1},
    {"tile_samples": 3000, "tile_frames": 2},
], ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("cfg", [LADDER_24, CHUNKED_48, small("encodec_32khz"),
                                 small("audiogen_16khz")], ids=lambda c: c.name)
def test_every_option_stays_conformant(cfg, options):
    ref = random_model(cfg, seed=5)
    fast = ref.for_inference(**options)
    wav = 0.1 * torch.randn(2, cfg.channels, 3 * cfg.hop_length + 5,
                            generator=torch.Generator().manual_seed(6))
    assert_conformant(ref, fast, wav)
    if cfg.segment:  # a few chunks, the last one short
        wav = 0.1 * torch.randn(1, cfg.channels, int(2.3 * cfg.segment_length))
        assert_conformant(ref, fast, wav)


@settings(max_examples=25)
@given(cfg=configs(), data=st.data(), seed=st.integers(0, 2**16))
def test_tiles_of_one_frame_equal_the_reference_on_random_configs(cfg, data, seed):
    """The smallest tiles (one latent frame each, the receptive field as overlap) on random
    architectures: kernels, dilations, ratios, causal or not, every padding mode."""
    length = data.draw(lengths(cfg), label="length")
    ref = random_model(cfg, seed)
    fast = ref.for_inference(tile_samples=1, tile_frames=1)
    wav = 0.1 * torch.randn(2, cfg.channels, length,
                            generator=torch.Generator().manual_seed(seed))
    assert_conformant(ref, fast, wav)


def test_tiles_cover_the_input_once():
    ref = random_model(LADDER_24, seed=3)
    net = ref.for_inference(tile_samples=4 * LADDER_24.hop_length, tile_frames=3).decoder
    assert net.tile_halo is not None and net.tile_halo > 0
    x = torch.zeros(5, 8, 20)
    tiles = net._tiles(x)
    assert tiles is not None and len(tiles) > 2
    covered = torch.zeros(5, 20, dtype=torch.int64)
    for items, (a, b) in tiles:
        assert b - a >= 3 or b == 20
        covered[items, a:b] += 1
    assert bool((covered == 1).all())
    assert net._tiles(torch.zeros(1, 8, 2)) is None  # fits in one tile
    assert ref.for_inference(tile_samples=0).decoder._tiles(x) is None
    # an encoder is never tiled (its strided layers change the length before the LSTM)
    bf16 = ref.for_inference(encode_dtype=torch.bfloat16, tile_samples=1, tile_frames=1)
    assert bf16.encoder.tile_samples == 0 and bf16.decoder.tile_samples == 1
    codes = bf16.encode(0.1 * torch.randn(3, 1, 40 * LADDER_24.hop_length), "all").codes
    assert codes.shape == (3, LADDER_24.n_q, 40)


def test_tile_workers_give_the_sequential_result_in_any_grad_mode():
    ref = random_model(LADDER_24, seed=6)
    pooled = ref.for_inference(tile_samples=LADDER_24.hop_length, tile_frames=2, tile_workers=2)
    serial = ref.for_inference(tile_samples=LADDER_24.hop_length, tile_frames=2, tile_workers=1)
    z = ref.quantizer.decode(ref.encode(0.1 * torch.randn(3, 1, 30 * LADDER_24.hop_length),
                                        "all").codes)
    threads = torch.get_num_threads()
    want = serial.decoder(z)
    assert len(pooled.decoder._tiles(z)) > 4
    with torch.inference_mode():
        got = pooled.decoder(z)
        assert got.is_inference()
    assert float((got - want).abs().max()) <= tolerance(want)
    with torch.enable_grad():  # the caller's modes reach the workers
        again = pooled.decoder(z)
        assert not again.requires_grad and not again.is_inference()
    assert torch.get_num_threads() == threads  # the pool leaves the caller's count alone


def test_group_norm_models_are_split_by_item_only():
    cfg = LADDER_24.replace(norm="time_group_norm", causal=False)
    ref = random_model(cfg, seed=4)
    fast = ref.for_inference(tile_samples=cfg.hop_length, tile_frames=1)
    assert fast.decoder.tile_halo is None
    tiles = fast.decoder._tiles(torch.zeros(3, 8, 10))
    assert tiles is not None and [(t[0].start, t[1]) for t in tiles] == [
        (0, (0, 10)), (1, (0, 10)), (2, (0, 10))]
    assert_conformant(ref, fast, 0.1 * torch.randn(3, 1, 10 * cfg.hop_length + 3))


def test_bare_codes_and_latent_paths_equal_the_reference():
    ref = random_model(LADDER_24, seed=7)
    fast = ref.for_inference()
    wav = 0.1 * torch.randn(2, 1, 1000)
    codes = ref.encode(wav, 3.0).codes
    want = ref.decode(codes)
    assert float((fast.decode(codes) - want).abs().max()) <= tolerance(want)
    z = ref.quantizer.decode(codes)
    for layout, latents in (("BDT", z), ("BTD", z.transpose(1, 2))):
        got = fast.decode_latents(latents, mean=0.5, std=2.0, layout=layout)
        want = ref.decode_latents(latents, mean=0.5, std=2.0, layout=layout)
        assert float((got - want).abs().max()) <= tolerance(want)


def test_properties_match_the_reference():
    ref = random_model(CHUNKED_48, seed=0)
    fast = InferenceModel.from_model(ref)
    for name in ("sample_rate", "channels", "hop_length", "frame_rate", "bandwidths", "n_q",
                 "bins", "cfg"):
        assert getattr(fast, name) == getattr(ref, name), name
    for bw in (*ref.bandwidths, "all", "smallest"):
        assert fast.n_q_for_bandwidth(bw) == ref.n_q_for_bandwidth(bw)


# ----------------------------------------------------------------- polyphase and weights
@settings(max_examples=30)
@given(stride=st.integers(1, 6), extra=st.integers(-1, 4), frames=st.integers(1, 9),
       c_in=st.integers(1, 3), c_out=st.integers(1, 3), data=st.data())
def test_polyphase_weight_reproduces_the_transposed_convolution(stride, extra, frames, c_in,
                                                               c_out, data):
    """Every kept window [offset, offset + frames * stride) of conv_transpose1d."""
    kernel = max(1, 2 * stride + extra)
    full = (frames - 1) * stride + kernel
    offset = data.draw(st.integers(0, max(0, full - frames * stride)), label="offset")
    gen = torch.Generator().manual_seed(frames * 31 + stride)
    weight = torch.randn(c_in, c_out, kernel, generator=gen, dtype=torch.float64)
    x = torch.randn(2, c_in, frames, generator=gen, dtype=torch.float64)
    want = F.conv_transpose1d(x, weight, stride=stride)[..., offset: offset + frames * stride]
    poly, left, right = _polyphase_weight(weight, stride, offset)
    assert left >= 0 and right >= 0  # every window inside the full output needs no crop
    y = F.conv1d(F.pad(x, (left, right)), poly)
    assert y.shape == (2, c_out * stride, frames)  # one column per input frame
    got = y.view(2, c_out, stride, frames).transpose(2, 3).reshape(2, c_out, -1)
    assert got.shape == want.shape
    assert torch.allclose(got, want, atol=1e-10), float((got - want).abs().max())


def _conv_pairs(fast_net, source_seq):
    """(FastConv1d, source StreamableConv1d) pairs of one SEANet, in layer order."""
    sources = []
    for module in source_seq:
        if isinstance(module, ResnetBlock):
            sources += [module.block[1], module.block[3]]
            if isinstance(module.shortcut, StreamableConv1d):
                sources.append(module.shortcut)
        elif isinstance(module, StreamableConv1d):
            sources.append(module)
    fasts = []
    for layer in fast_net.layers:
        if isinstance(layer, FastResBlock):
            fasts += [layer.conv1, layer.conv2] + ([layer.shortcut] if layer.shortcut else [])
        elif isinstance(layer, FastConv1d):
            fasts.append(layer)
    assert len(fasts) == len(sources) > 0
    return list(zip(fasts, sources))


def test_folded_weights_are_torch_weight_norm_bitwise():
    ref = random_model(LADDER_24, seed=11)
    fast = ref.for_inference(polyphase=False)
    pairs = (_conv_pairs(fast.encoder, ref.encoder.model)
             + _conv_pairs(fast.decoder, ref.decoder.model))
    for layer, source in pairs:
        conv = source.conv.conv
        assert torch.equal(layer.weight, torch._weight_norm(conv.weight_v, conv.weight_g, 0))
        assert torch.equal(layer.bias, conv.bias)
    convtrs = [m for m in fast.decoder.layers if isinstance(m, FastConvTranspose1d)]
    sources = [m.convtr.convtr for m in ref.decoder.model
               if type(m).__name__ == "StreamableConvTranspose1d"]
    assert len(convtrs) == len(sources) == len(LADDER_24.ratios)
    for layer, conv in zip(convtrs, sources):
        assert torch.equal(layer.weight, torch._weight_norm(conv.weight_v, conv.weight_g, 0))
    weight, bias = fold_weight_norm(sources[0])
    assert torch.equal(weight, torch._weight_norm(sources[0].weight_v, sources[0].weight_g, 0))


def test_nothing_is_shared_with_the_source_model():
    ref = random_model(CHUNKED_48.replace(norm="weight_norm"), seed=12)
    fast = ref.for_inference()
    wav = 0.1 * torch.randn(1, 2, 3000, generator=torch.Generator().manual_seed(1))
    enc = fast.encode(wav, "all")
    before = fast.decode(enc)
    ref_ptrs = {t.untyped_storage().data_ptr() for t in ref.state_dict().values()}
    fast_ptrs = {t.untyped_storage().data_ptr() for t in fast.state_dict().values()}
    assert ref_ptrs.isdisjoint(fast_ptrs)
    assert all(k.startswith(("encoder.", "decoder.", "quantizer.")) for k in fast.state_dict())
    for p in ref.parameters():
        p.add_(1.0)
    for name, buf in ref.named_buffers():
        if name.endswith("embed"):
            buf.mul_(-3.0)
    again = fast.encode(wav, "all")
    assert all(torch.equal(a.codes, b.codes) for a, b in zip(enc.chunks, again.chunks))
    assert torch.equal(fast.decode(enc), before)
    assert not torch.equal(ref.decode(enc), before)  # the mutation did reach the source


# ---------------------------------------------------------------------------- bf16 quality
def _si_sdr(reference: torch.Tensor, estimate: torch.Tensor, sample_rate: int) -> float:
    result = compute_metrics(reference, estimate, sample_rate, ["si_sdr"])["si_sdr"]
    assert result.ok, result.reason
    return float(result.value)


@pytest.mark.parametrize("family", ["encodec_24khz", "encodec_32khz", "encodec_48khz"])
def test_bf16_decode_meets_si_sdr_and_the_golden_thresholds(golden_models, family):
    model = golden_models[family]
    fast = model.for_inference(dtype=torch.bfloat16)
    thresholds = golden_thresholds()
    top = max(model.bandwidths)
    for clip in speech_clips() + music_clips():
        wav = clip_audio(clip, model)
        enc = model.encode(wav[None], top)
        ref = model.decode(enc)[0, :, : wav.shape[-1]]
        out = fast.decode(enc)[0, :, : wav.shape[-1]]
        assert out.dtype == torch.float32
        sdr = _si_sdr(ref, out, model.sample_rate)
        assert sdr >= MIN_SI_SDR_DB, f"{family} {clip}: SI-SDR {sdr:.1f} dB"
        if clip in speech_clips():
            results = compute_metrics(wav, out, model.sample_rate, list(QUALITY_METRICS))
            outcomes = thresholds.check(family, top, results, QUALITY_METRICS)
            failed = [o.message for o in outcomes if not o.passed]
            assert not failed, f"{family} {clip}: {failed}"


def test_near_silent_items_are_decoded_in_float32(golden_models):
    """bf16 rounding leaves an error floor near -70 dBFS: a silent item would keep a few dB
    of SI-SDR; it is decoded again in float32, the speech item next to it stays bf16."""
    from conformance.checks.implementation.compare import si_sdr_db

    model = golden_models["encodec_24khz"]
    fast = model.for_inference(dtype=torch.bfloat16)
    plain = model.for_inference(dtype=torch.bfloat16, fp32_below_dbfs=None)
    assert plain.decoder_fp32 is None and fast.decoder_fp32 is not None
    assert model.for_inference().decoder_fp32 is None
    speech = clip_audio(speech_clips()[0], model, seconds=0.5)
    wav = torch.stack([speech, torch.zeros_like(speech)])
    enc = model.encode(wav, 6.0)
    ref, out, raw = model.decode(enc), fast.decode(enc), plain.decode(enc)
    assert si_sdr_db(out[1], ref[1]) >= MIN_SI_SDR_DB > si_sdr_db(raw[1], ref[1])
    assert float((out[1] - ref[1]).abs().max()) <= ATOL
    assert torch.equal(out[0], raw[0])  # the loud item: bf16, untouched by the fallback
    assert si_sdr_db(out[0], ref[0]) >= MIN_SI_SDR_DB


def test_bf16_decode_is_close_on_random_presets():
    cfg = PRESETS["encodec_24khz"]
    ref = random_model(cfg, seed=3)
    fast = ref.for_inference(dtype=torch.bfloat16)
    wav = clip_audio(speech_clips()[0], ref, seconds=1.0)[None]
    enc = ref.encode(wav, 6.0)
    assert torch.equal(fast.encode(wav, 6.0).codes, enc.codes)  # float32 encoder
    sdr = _si_sdr(ref.decode(enc)[0], fast.decode(enc)[0], cfg.sample_rate)
    assert sdr >= MIN_SI_SDR_DB


def test_reduced_precision_runs_where_asked():
    ref = random_model(LADDER_24, seed=4)
    fast = ref.for_inference(dtype=torch.bfloat16, fp32_tail_layers=0)
    dtypes = {b.dtype for name, b in fast.decoder.named_buffers() if "lstm" not in name}
    assert dtypes == {torch.float32, torch.bfloat16}
    assert fast.decoder.dtypes[-1] == torch.bfloat16
    assert all(b.dtype == torch.float32 for b in fast.encoder.buffers())
    assert fast.decoder.dtypes[0] == torch.float32  # the low-rate part stays float32
    bf16_encoder = ref.for_inference(dtype=torch.bfloat16, encode_dtype=torch.bfloat16)
    codes = bf16_encoder.encode(0.1 * torch.randn(1, 1, 999), "all").codes
    assert codes.dtype == torch.int64 and int(codes.max()) < ref.bins
    assert isinstance(reduced_precision_supported(torch.bfloat16), bool)
    assert reduced_precision_supported(torch.float32)


# ---------------------------------------------------------------------------------- errors
def _raised(call, *models):
    try:
        call(*models)
    except Exception as exc:  # noqa: BLE001 - compared type and message
        return type(exc), str(exc)
    return None


def test_bad_inputs_raise_the_reference_errors():
    ref = random_model(LADDER_24, seed=8)
    ref48 = random_model(CHUNKED_48, seed=9)
    fast, fast48 = ref.for_inference(), ref48.for_inference()
    codes = ref.encode(0.1 * torch.randn(1, 1, 800), 1.5).codes
    enc48 = ref48.encode(0.1 * torch.randn(1, 2, 800), "all")
    no_scale = Encoded([EncodedChunk(c.codes, None, c.length) for c in enc48.chunks], 800, 4)
    calls = {
        "channels": lambda m, m48: m.encode(torch.zeros(1, 2, 100), 1.5),
        "dims": lambda m, m48: m.encode(torch.zeros(1, 100), 1.5),
        "empty": lambda m, m48: m.encode(torch.zeros(1, 1, 0), 1.5),
        "int": lambda m, m48: m.encode(torch.zeros(1, 1, 100, dtype=torch.int16), 1.5),
        "nan": lambda m, m48: m.encode(torch.full((1, 1, 100), float("nan")), 1.5),
        "rate": lambda m, m48: m.encode(torch.zeros(1, 1, 100), 1.5, sample_rate=16000),
        "both": lambda m, m48: m.encode(torch.zeros(1, 1, 100), 1.5, n_q=2),
        "neither": lambda m, m48: m.encode(torch.zeros(1, 1, 100)),
        "bandwidth": lambda m, m48: m.encode(torch.zeros(1, 1, 100), 7.0),
        "word": lambda m, m48: m.encode(torch.zeros(1, 1, 100), "most"),
        "n_q": lambda m, m48: m.encode(torch.zeros(1, 1, 100), n_q=99),
        "codes range": lambda m, m48: m.decode(codes + 5000),
        "codes dims": lambda m, m48: m.decode(codes[0]),
        "codes dtype": lambda m, m48: m.decode(codes.float()),
        "codes K": lambda m, m48: m.decode(torch.zeros(1, 99, 3, dtype=torch.long)),
        "scale": lambda m, m48: m.decode(codes, scale=torch.ones(1, 1)),
        "chunked bare": lambda m, m48: m48.decode(enc48.codes),
        "scale kw": lambda m, m48: m48.decode(enc48, scale=torch.ones(1, 1)),
        "no scale": lambda m, m48: m48.decode(no_scale),
        "layout": lambda m, m48: m.decode_latents(torch.zeros(1, 8, 3), layout="TDB"),
        "latent dim": lambda m, m48: m.decode_latents(torch.zeros(1, 5, 3)),
        "latent stat": lambda m, m48: m.decode_latents(torch.zeros(1, 8, 3),
                                                       mean=torch.zeros(3)),
    }
    for name, call in calls.items():
        want = _raised(call, ref, ref48)
        got = _raised(call, fast, fast48)
        assert want is not None and issubclass(want[0], ConformanceError), name
        assert got == want, f"{name}: {got} != {want}"


def test_options_are_validated():
    ref = random_model(LADDER_24, seed=0)
    bad = [{"speed": "max"}, {"pointwise": "gemm"}, {"max_batch_samples": 0},
           {"fp32_tail_layers": -1}, {"lstm_dtype": torch.int8}, {"cuda_graphs": True},
           {"max_graphs": True}, {"fp32_below_dbfs": 3.0}, {"fp32_below_dbfs": float("nan")},
           {"tile_samples": -1}, {"tile_frames": 0}, {"tile_workers": 0}]
    for options in bad:
        with pytest.raises(InvalidArgument):
            ref.for_inference(**options)
    with pytest.raises(InvalidArgument, match="dtype"):
        ref.for_inference(dtype=torch.float64)
    with pytest.raises(InvalidArgument):
        InferenceModel.from_model(object())  # type: ignore[arg-type]
    fast = ref.for_inference()
    with pytest.raises(InvalidArgument, match="inference only"):
        fast.train()
    assert InferenceOptions().fp32_tail_layers == 2
    assert fast.describe()["options"]["pointwise"] == "matmul"


def test_chunk_batching_respects_the_sample_budget():
    ref = random_model(CHUNKED_48, seed=10)
    calls = []
    fast = ref.for_inference(max_batch_samples=3 * CHUNKED_48.segment_length)
    net = fast.runners["decode"]
    fast.runners["decode"] = lambda z: calls.append(z.shape[0]) or net(z)
    wav = 0.1 * torch.randn(1, 2, int(7.5 * CHUNKED_48.segment_length))
    enc = ref.encode(wav, "all")
    out, want = fast.decode(enc), ref.decode(enc)
    assert float((out - want).abs().max()) <= tolerance(want)
    assert len(enc.chunks) >= 8 and sum(calls) == len(enc.chunks)
    assert max(calls) <= 3 and len(calls) >= math.ceil(len(enc.chunks) / 3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_path_equals_the_reference():  # pragma: no cover - needs a GPU
    ref = random_model(LADDER_24, seed=13)
    wav = 0.1 * torch.randn(2, 1, 5000)
    enc = ref.encode(wav, "all")
    want = ref.decode(enc)
    for kwargs in ({}, {"cuda_graphs": True}, {"dtype": torch.float16},
                   {"dtype": torch.bfloat16}):
        fast = ref.for_inference(device="cuda", **kwargs)
        got = fast.decode(enc).cpu()
        if "dtype" in kwargs:
            assert _si_sdr(want[0], got[0], ref.sample_rate) >= MIN_SI_SDR_DB
        else:
            assert float((got - want).abs().max()) <= tolerance(want)
            codes = fast.encode(wav.cuda(), "all").codes.cpu()
            assert codes.shape == enc.codes.shape
