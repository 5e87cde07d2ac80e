"""The test signals: deterministic, at the model's rate and channels, each with the layout
its name promises."""

from __future__ import annotations

import pytest
import torch

from conformance.checks.implementation.context import (
    first_overrun_length,
    overruns,
    partial_chunks,
    signal_names,
)
from conformance.checks.implementation.context import (
    test_signal as make_signal,
)
from conformance.errors import InvalidArgument
from conformance.model.presets import PRESETS


@pytest.mark.parametrize("family", ["encodec_24khz", "encodec_48khz"])
def test_every_signal_is_deterministic_and_shaped_for_the_model(family):
    cfg = PRESETS[family]
    for name in signal_names(cfg):
        a, b = make_signal(cfg, name), make_signal(cfg, name)
        assert torch.equal(a, b) and a.shape[0] == cfg.channels and a.dtype == torch.float32


def test_the_loud_signal_is_6_db_over_full_scale_and_short_is_under_a_hop():
    cfg = PRESETS["encodec_24khz"]
    assert float(make_signal(cfg, "loud").abs().max()) == pytest.approx(2.0)
    assert make_signal(cfg, "short").shape[-1] < cfg.hop_length
    assert make_signal(cfg, "odd_length").shape[-1] % cfg.hop_length == 1


def test_chunked_layouts_long_overrun_and_two_partial_chunks():
    cfg = PRESETS["encodec_48khz"]
    long = make_signal(cfg, "long").shape[-1]
    assert long > 2 * cfg.segment_stride and partial_chunks(cfg, long) == 1
    overrun = make_signal(cfg, "chunk_overrun").shape[-1]
    assert overrun == first_overrun_length(cfg) == 47681 and overruns(cfg, overrun)
    two = make_signal(cfg, "partial_chunks").shape[-1]
    assert partial_chunks(cfg, two) == 2 and not overruns(cfg, two)
    assert "partial_chunks" not in signal_names(PRESETS["encodec_24khz"])


def test_an_unknown_signal_names_the_known_ones():
    with pytest.raises(InvalidArgument, match="unknown test signal 'hum'.*speech"):
        make_signal(PRESETS["encodec_24khz"], "hum")
