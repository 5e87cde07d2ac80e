"""Bounded-memory coding: the pieces cover the input exactly; chunked models equal whole-file
coding bit for bit; causal models stream it; non-causal unchunked models are exact up to one
segment plus context and close beyond."""

from __future__ import annotations

import pytest
import torch

from conformance.corpus.segments import SegmentCoder, strategy_for
from conformance.errors import InvalidArgument
from conformance.golden.runs import encode_decode
from tests.corpus.conftest import assert_float_equal, signal


def _code(model, x: torch.Tensor, block: int, **options):
    bws = list(model.bandwidths)
    coder = SegmentCoder(model, bws, **options)
    pieces = []
    for i in range(0, x.shape[-1], block):
        pieces += coder.feed(x[:, i:i + block])
    pieces += coder.finish()
    assert torch.equal(torch.cat([p.reference for p in pieces], -1), x)
    assert all(p.decodes[bw].shape == p.reference.shape for p in pieces for bw in bws)
    return {bw: torch.cat([p.decodes[bw] for p in pieces], -1) for bw in bws}, coder


def _whole(model, x):
    return {bw: encode_decode(model, x, bw)[1] for bw in model.bandwidths}


def test_each_model_gets_its_strategy(causal_model, chunked_model, noncausal_model):
    assert strategy_for(causal_model)[0] == "streaming"
    assert strategy_for(chunked_model)[0] == "chunks"
    assert strategy_for(noncausal_model)[0] == "overlap"


@pytest.mark.parametrize("seconds, block", [(0.01, 97), (0.05, 2400), (0.3, 1000),
                                            (1.013, 48000), (0.7, 7)])
def test_chunked_coding_is_whole_file_coding_bit_for_bit(chunked_model, seconds, block):
    x = signal(seconds, 48000, 2, seed=int(seconds * 1000))
    got, coder = _code(chunked_model, x, block)
    for bw, want in _whole(chunked_model, x).items():
        assert torch.equal(got[bw], want), bw
    assert coder.describe()["stride_samples"] == chunked_model.cfg.segment_stride


@pytest.mark.parametrize("seconds, block", [(0.013, 50), (0.9, 24000), (2.5, 3333)])
def test_streamed_coding_is_whole_file_coding(causal_model, seconds, block):
    x = signal(seconds, 24000, seed=3)
    got, _ = _code(causal_model, x, block, segment_seconds=0.25)
    for bw, want in _whole(causal_model, x).items():
        assert_float_equal(got[bw], want)


def test_overlapped_segments_are_exact_up_to_one_segment_and_context(noncausal_model):
    x = signal(1.2, 32000, seed=4)
    got, coder = _code(noncausal_model, x, 5000, segment_seconds=1.0, context_seconds=0.25)
    hop = noncausal_model.hop_length
    context = -(-8000 // hop) * hop  # 0.25 s, in whole hops
    core = max(round(32000 / hop) * hop, 4 * context)  # a core is at least four contexts
    assert coder.describe()["exact_up_to_seconds"] == (core + context) / 32000
    for bw, want in _whole(noncausal_model, x).items():
        assert torch.equal(got[bw], want)


def test_overlapped_segments_stay_close_to_whole_file_coding(noncausal_model):
    x = signal(3.0, 32000, seed=5)
    got, _ = _code(noncausal_model, x, 7000, segment_seconds=0.5, context_seconds=0.25)
    for bw, want in _whole(noncausal_model, x).items():
        err = (got[bw] - want).pow(2).sum() / want.pow(2).sum()
        assert float(err) < 1e-6, bw  # better than 60 dB: the context covers the receptive field


def test_a_lower_bandwidth_decodes_a_prefix_of_the_top_codes(causal_model):
    x = signal(0.4, 24000, seed=6)
    coder = SegmentCoder(causal_model, [0.9])
    pieces = coder.feed(x) + coder.finish()
    low = torch.cat([p.decodes[0.9] for p in pieces], -1)
    assert_float_equal(low, encode_decode(causal_model, x, 0.9)[1])


def test_bad_use_is_refused(causal_model):
    with pytest.raises(InvalidArgument, match="no bandwidth"):
        SegmentCoder(causal_model, [])
    with pytest.raises(InvalidArgument, match="segment_seconds"):
        SegmentCoder(causal_model, [0.9], segment_seconds=0)
    coder = SegmentCoder(causal_model, [0.9])
    with pytest.raises(InvalidArgument, match="expected \\[1, n\\]"):
        coder.feed(torch.zeros(2, 10))
    with pytest.raises(InvalidArgument, match="no samples"):
        coder.finish()
