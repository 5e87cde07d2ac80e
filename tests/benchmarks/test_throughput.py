"""Decode and encode throughput of each implementation (pytest-benchmark), on the CPU and,
when one is present, on a CUDA device (each device its own set of cases).

Every implementation carries the same seeded random weights; each decodes the codes it
encoded. `extra_info` records the real-time factor (audio-seconds per wall-second), frames
per second, the roofline fraction against the device's measured peaks, the dtype, device,
thread count, torch/CUDA versions and GPU name. `pytest-benchmark compare` reads the saved
runs (`--benchmark-autosave`, `--benchmark-json`). For fair ratios between implementations on
a noisy machine, use `encodec-conformance bench`, which interleaves them within each case.
Under xdist (benchmarks disabled) each case runs once and only its result is checked.
"""

from __future__ import annotations

import pytest
import torch

from conformance.bench.implementations import get_implementation
from conformance.bench.roofline import count_work, measure_peaks, roofline
from conformance.bench.runner import default_bandwidth, environment, input_signal, peak_dtypes
from conformance.model.presets import PRESETS
from conformance.testing.weights import random_model

pytestmark = pytest.mark.bench

DEVICES = [pytest.param("cpu", id="cpu"),
           pytest.param("cuda", id="cuda", marks=pytest.mark.skipif(
               not torch.cuda.is_available(), reason="no CUDA device on this machine"))]
IMPLS = ["reference", "fast-fp32", "fast-bf16", "fast-fp16", "transformers", "encodec"]
#: (family, batch, seconds) per case: 24 kHz at batch 1 and 8, one case per other family
CASES = [("encodec_24khz", 1, 1.0), ("encodec_24khz", 8, 1.0), ("encodec_32khz", 1, 1.0),
         ("encodec_48khz", 1, 1.5)]


@pytest.fixture(scope="session")
def peaks():
    cache: dict[str, object] = {}

    def get(device: str):
        if device not in cache:
            cache[device] = measure_peaks(device, peak_dtypes(device))
        return cache[device]
    return get


@pytest.fixture(scope="session")
def models():
    cache: dict[str, object] = {}

    def get(family: str):
        if family not in cache:
            cache[family] = random_model(PRESETS[family], seed=0)
        return cache[family]
    return get


def _build(models, impl_name: str, family: str, device: str):
    impl = get_implementation(impl_name)
    reason = impl.available(device)
    if reason:
        pytest.skip(f"{impl_name} on {device}: {reason}")
    return impl, impl.build(models(family), device)


def _time(benchmark, device: str, fn, *args):
    """pytest-benchmark's rounds; on CUDA each call ends with a synchronisation, so the
    host-side timer counts the queued kernels."""
    if device == "cpu":
        return benchmark.pedantic(fn, args=args, rounds=3, warmup_rounds=1)

    def synced():
        out = fn(*args)
        torch.cuda.synchronize(device)
        return out
    torch.cuda.synchronize(device)
    return benchmark.pedantic(synced, rounds=3, warmup_rounds=1)


def _record(benchmark, work, peaks, impl, itemsizes, batch, seconds, family, op, device):
    """Throughput, roofline and environment in extra_info (nothing when benchmarks are off)."""
    if benchmark.disabled or benchmark.stats is None:
        return
    median = benchmark.stats.stats.median
    roof = roofline(work.flops, work.min_bytes(itemsizes or 4), peaks, impl.op_dtype(op))
    cfg = PRESETS[family]
    frames = batch * -(-int(seconds * cfg.sample_rate) // cfg.hop_length)
    env = environment(device, torch.get_num_threads())
    benchmark.extra_info.update({
        "op": op, "realtime_factor": batch * seconds / median, "frames_per_s": frames / median,
        "roofline_fraction": roof.fraction(median), "roofline": roof.as_dict(),
        "dtype": str(impl.op_dtype(op)).replace("torch.", ""), "device": device,
        "threads": env["threads"],
        "torch_version": env["torch"], "cuda_version": env.get("cuda"),
        "driver_version": env.get("driver"), "gpu": env.get("gpu"),
        "processor": env["processor"], "peaks_method": peaks.method})


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("impl_name", IMPLS)
@pytest.mark.parametrize("family, batch, seconds", CASES)
def test_decode_throughput(benchmark, models, peaks, impl_name, family, batch, seconds, device):
    impl, codec = _build(models, impl_name, family, device)
    cfg = PRESETS[family]
    bw = default_bandwidth(cfg)
    wav = input_signal(cfg, batch, seconds).to(device)
    with torch.inference_mode():
        codes = codec.encode(wav, bw)
        audio = _time(benchmark, device, codec.decode, codes)
        work = count_work(models(family), "decode", wav[:1].cpu(), bw).scaled(batch)
    assert audio.shape[:2] == (batch, cfg.channels)
    assert audio.shape[-1] >= wav.shape[-1] and bool(torch.isfinite(audio).all())
    benchmark.group = f"decode {family} b{batch} {seconds:g}s {device}"
    _record(benchmark, work, peaks(device), impl, codec.decoder_itemsizes, batch, seconds,
            family, "decode", device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("impl_name", IMPLS)
def test_encode_throughput(benchmark, models, peaks, impl_name, device):
    family, batch, seconds = "encodec_24khz", 8, 1.0
    impl, codec = _build(models, impl_name, family, device)
    cfg = PRESETS[family]
    bw = default_bandwidth(cfg)
    wav = input_signal(cfg, batch, seconds).to(device)
    with torch.inference_mode():
        frames = _time(benchmark, device, codec.encode, wav, bw)
        work = count_work(models(family), "encode", wav[:1].cpu(), bw).scaled(batch)
    assert frames is not None
    benchmark.group = f"encode {family} b{batch} {seconds:g}s {device}"
    _record(benchmark, work, peaks(device), impl, codec.encoder_itemsizes, batch, seconds,
            family, "encode", device)
