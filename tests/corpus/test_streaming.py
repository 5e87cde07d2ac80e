"""Streaming a causal model block by block gives whole-file coding: the same codes, and
latents and audio equal to float rounding (the whole-file pass itself differs by as much
between one and two threads)."""

from __future__ import annotations

import pytest
import torch

from conformance.corpus.streaming import StreamingDecoder, StreamingEncoder, streamable
from conformance.errors import InvalidArgument
from conformance.model.presets import PRESETS
from tests.configs import small
from tests.corpus.conftest import CAUSAL, assert_float_equal, signal
from tests.helpers import signal as make_signal

BLOCKINGS = [[24000], [1, 2, 5, 7, 3000], [12345], [10], [320 * 7 + 1, 64]]


def _stream(stream, x: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    parts, i, k = [], 0, 0
    while i < x.shape[-1]:
        n = sizes[k % len(sizes)]
        parts.append(stream.step(x[..., i:i + n]))
        i, k = i + n, k + 1
    tail = stream.flush()
    if tail is not None:
        parts.append(tail)
    return torch.cat([p for p in parts if p.shape[-1]], dim=-1)


@pytest.mark.parametrize("sizes", BLOCKINGS)
@pytest.mark.parametrize("length", [1, 5, 319, 321, 24000 + 17])
def test_streamed_encoder_and_decoder_equal_the_whole_pass(causal_model, sizes, length):
    m = causal_model
    x = make_signal(1, 1, length, seed=length)
    with torch.inference_mode():
        z = m.encoder(x)
        zs = _stream(StreamingEncoder(m), x, sizes)
        assert zs.shape == z.shape
        assert_float_equal(zs, z)
        assert torch.equal(m.quantizer.encode(zs, 4), m.quantizer.encode(z, 4))
        q = m.quantizer.decode(m.quantizer.encode(z, 4))
        y = m.decoder(q)
        ys = _stream(StreamingDecoder(m), q, [max(1, s // 8) for s in sizes])
        assert ys.shape == y.shape
        assert_float_equal(ys, y)


@pytest.mark.parametrize("changes", [dict(pad_mode="constant"), dict(pad_mode="replicate"),
                                     dict(lstm=0), dict(trim_right_ratio=0.5),
                                     dict(n_residual_layers=2, true_skip=True),
                                     dict(ratios=(5, 3), kernel_size=4, last_kernel_size=2)])
def test_every_causal_layout_streams(changes):
    from conformance.testing.weights import random_model

    m = random_model(CAUSAL.replace(**changes), seed=7).eval()
    x = signal(0.7, 24000, seed=2)[None]
    with torch.inference_mode():
        z = m.encoder(x)
        zs = _stream(StreamingEncoder(m), x, [999, 13])
        assert_float_equal(zs, z)
        assert torch.equal(m.quantizer.encode(zs, 4), m.quantizer.encode(z, 4))
        assert_float_equal(_stream(StreamingDecoder(m), z, [3, 11]), m.decoder(z))


def test_the_golden_24khz_checkpoint_streams_exactly():
    from conformance._data import golden_dir
    from conformance.checkpoints.load import load_checkpoint
    from conformance.golden.runs import clip_audio

    m = load_checkpoint(golden_dir() / "encodec_24khz.th").model
    wav = clip_audio("speech_male_16k_cmu_arctic_awb_a0007", m, 4.0)[None]
    with torch.inference_mode():
        z = m.encoder(wav)
        zs = _stream(StreamingEncoder(m), wav, [24000, 7777])
        codes, codes_s = m.quantizer.encode(z, 8), m.quantizer.encode(zs, 8)
        assert torch.equal(codes, codes_s)
        y = m.decoder(m.quantizer.decode(codes))
        ys = _stream(StreamingDecoder(m), m.quantizer.decode(codes_s), [75, 10])
    assert_float_equal(ys, y)


@pytest.mark.parametrize("family, why", [("encodec_32khz", "not causal"),
                                         ("encodec_48khz", "not causal")])
def test_models_that_cannot_stream_are_refused(family, why):
    from conformance.model.encodec import EncodecModel

    ok, reason = streamable(PRESETS[family])
    assert not ok and why in reason
    with pytest.raises(InvalidArgument, match="cannot be streamed"):
        StreamingEncoder(EncodecModel(small(family)))


def test_chunked_and_circular_causal_models_cannot_stream():
    assert not streamable(CAUSAL.replace(segment=1.0))[0]
    ok, reason = streamable(CAUSAL.replace(pad_mode="circular"))
    assert not ok and "circular" in reason
