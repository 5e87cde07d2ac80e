"""Decode and encode throughput of each implementation (pytest-benchmark).

Every implementation carries the same seeded random weights; each decodes the codes it
encoded. `extra_info` records the real-time factor (audio-seconds per wall-second), frames
per second, the roofline fraction against the measured device peaks, the dtype, device,
thread count and torch version. `pytest-benchmark compare` reads the saved runs
(`--benchmark-save`/`--benchmark-json`). For fair ratios between implementations on a noisy
machine, use `encodec-conformance bench`, which interleaves them within each case.
"""

from __future__ import annotations

import pytest
import torch

from conformance.bench.implementations import get_implementation
from conformance.bench.roofline import count_work, measure_peaks, roofline
from conformance.bench.runner import default_bandwidth, input_signal
from conformance.model.presets import PRESETS
from conformance.testing.weights import random_model

pytestmark = pytest.mark.bench

IMPLS = ["reference", "fast-fp32", "fast-bf16", "transformers", "encodec"]
#: (family, batch, seconds) per case: the 24 kHz decode at batch 1 and 8, one per other family
CASES = [("encodec_24khz", 1, 1.0), ("encodec_24khz", 8, 1.0), ("encodec_32khz", 1, 1.0),
         ("encodec_48khz", 1, 1.5)]


@pytest.fixture(scope="session")
def peaks():
    return measure_peaks("cpu")


@pytest.fixture(scope="session")
def models():
    cache: dict[str, object] = {}

    def get(family: str):
        if family not in cache:
            cache[family] = random_model(PRESETS[family], seed=0)
        return cache[family]
    return get


def _build(models, impl_name: str, family: str):
    impl = get_implementation(impl_name)
    reason = impl.available("cpu")
    if reason:
        pytest.skip(f"{impl_name}: {reason}")
    return impl, impl.build(models(family), "cpu")


def _record(benchmark, work, peaks, impl, itemsizes, batch, seconds, family, op):
    median = benchmark.stats.stats.median
    roof = roofline(work.flops, work.min_bytes(itemsizes or 4), peaks,
                    impl.dtype if op == "decode" else torch.float32)
    cfg = PRESETS[family]
    frames = batch * -(-int(seconds * cfg.sample_rate) // cfg.hop_length)
    benchmark.extra_info.update({
        "op": op, "realtime_factor": batch * seconds / median, "frames_per_s": frames / median,
        "roofline_fraction": roof.fraction(median), "flops": roof.flops, "dtype":
        impl.dtype_name, "device": "cpu", "threads": torch.get_num_threads(),
        "torch_version": torch.__version__})


@pytest.mark.parametrize("impl_name", IMPLS)
@pytest.mark.parametrize("family, batch, seconds", CASES)
def test_decode_throughput(benchmark, models, peaks, impl_name, family, batch, seconds):
    impl, codec = _build(models, impl_name, family)
    cfg = PRESETS[family]
    bw = default_bandwidth(cfg)
    wav = input_signal(cfg, batch, seconds)
    with torch.inference_mode():
        codes = codec.encode(wav, bw)
        audio = benchmark.pedantic(codec.decode, args=(codes,), rounds=3, warmup_rounds=1)
        work = count_work(models(family), "decode", wav[:1], bw).scaled(batch)
    assert audio.shape[:2] == (batch, cfg.channels)
    assert audio.shape[-1] >= wav.shape[-1] and bool(torch.isfinite(audio).all())
    benchmark.group = f"decode {family} b{batch} {seconds:g}s"
    _record(benchmark, work, peaks, impl, codec.decoder_itemsizes, batch, seconds, family,
            "decode")


@pytest.mark.parametrize("impl_name", IMPLS)
def test_encode_throughput(benchmark, models, peaks, impl_name):
    family, batch, seconds = "encodec_24khz", 8, 1.0
    impl, codec = _build(models, impl_name, family)
    cfg = PRESETS[family]
    bw = default_bandwidth(cfg)
    wav = input_signal(cfg, batch, seconds)
    with torch.inference_mode():
        codes = benchmark.pedantic(codec.encode, args=(wav, bw), rounds=3, warmup_rounds=1)
        work = count_work(models(family), "encode", wav[:1], bw).scaled(batch)
    assert codes is not None
    benchmark.group = f"encode {family} b{batch} {seconds:g}s"
    _record(benchmark, work, peaks, impl, codec.encoder_itemsizes, batch, seconds, family,
            "encode")
