"""CheckpointContext's excerpts for the HTML report: kept only when asked, the loudest window of
the input, the same window for every bandwidth, copies of the run's own decodes; the quality
check keeps them as it measures."""

from __future__ import annotations

import pytest
import torch

from conformance.checks.checkpoint.audio import check_quality
from conformance.checks.checkpoint.context import CheckpointContext, _loudest_start
from tests.checks.conftest import write

CLIP = "speech_male_16k_cmu_arctic_awb_a0007"


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    return write(tmp_path_factory.mktemp("context"))


def test_the_loudest_window_is_found():
    wav = torch.zeros(1, 10_000)
    wav[0, 6_000:7_000] = 1.0
    start = _loudest_start(wav, 2_000)
    assert start <= 6_000 and start + 2_000 >= 7_000
    assert _loudest_start(wav, 20_000) == 0  # shorter than the window: from the start


def test_no_excerpts_unless_asked(path):
    ctx = CheckpointContext(str(path))
    wav = ctx.clip(CLIP)
    ctx.keep_excerpt(CLIP, 0.9, wav, ctx.decode(CLIP, 0.9)[1])
    assert ctx.excerpts == []
    ctx.close()


def test_excerpts_are_windows_of_the_run_s_own_input_and_decodes(path):
    ctx = CheckpointContext(str(path), excerpt_seconds=0.5, clip_seconds=2.0)
    wav = ctx.clip(CLIP)
    for bw in (1.8, 0.9):
        ctx.keep_excerpt(CLIP, bw, wav, ctx.decode(CLIP, bw)[1])
    low, high = ctx.excerpts
    rate = ctx.config.sample_rate
    assert (low.bandwidth, high.bandwidth) == (0.9, 1.8) and low.sample_rate == rate
    start = round(low.start * rate)
    assert high.start == low.start and high.input is low.input  # one input window per clip
    assert low.input.shape == (1, rate // 2)
    assert torch.equal(low.input, wav[..., start:start + rate // 2])
    assert torch.equal(high.decode, ctx.decode(CLIP, 1.8)[1][..., start:start + rate // 2])
    assert low.input.data_ptr() != wav.data_ptr()  # a copy: the full clip is not held
    ctx.keep_excerpt(CLIP, 0.9, wav, torch.zeros_like(wav))  # kept once: not replaced
    assert torch.equal(ctx.excerpts[0].decode, low.decode)
    ctx.close()


def test_the_quality_check_keeps_an_excerpt_as_it_measures(path):
    ctx = CheckpointContext(str(path), excerpt_seconds=0.25, clip_seconds=1.0)
    check_quality(ctx, (CLIP, "1.8kbps"))
    (excerpt,) = ctx.excerpts
    assert (excerpt.clip, excerpt.bandwidth) == (CLIP, 1.8)
    assert excerpt.decode.shape == excerpt.input.shape == (1, ctx.config.sample_rate // 4)
    ctx.close()
