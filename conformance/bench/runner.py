"""The benchmark matrix: decode and encode throughput, roofline fraction and peak memory per
family x batch x duration x device x implementation.

For each device and family one reference model with realistic random weights
(`conformance.testing.weights.random_model`, seeded) is built, and every implementation is
built from copies of its weights. The input is the female CMU ARCTIC reference clip at the
model's rate, tiled to the duration (each batch item starting elsewhere in it). Per case, the
implementations run interleaved (round robin, `conformance.bench.timing.interleaved`), each
decoding the codes it encoded itself; then each runs once more for its peak memory.

Throughput is audio-seconds per wall-second (the real-time factor: 10.0 = ten times faster
than real time) and latent frames per second; the ratio to transformers is the median
time of transformers over the implementation's (> 1: faster), within the same interleaved run.
"""

from __future__ import annotations

import datetime
import math
import platform
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from conformance.audio.clips import load_reference
from conformance.bench.implementations import DEFAULT_IMPLS, get_implementation
from conformance.bench.memory import MemoryPeak, peak_memory
from conformance.bench.roofline import (
    DevicePeaks,
    Roofline,
    WorkCount,
    count_work,
    measure_peaks,
    roofline,
)
from conformance.bench.timing import TimingStats, interleaved, pinned_threads, timer_for
from conformance.errors import InvalidArgument
from conformance.model.config import EncodecConfig
from conformance.model.presets import PRESETS
from conformance.testing.weights import random_model

__all__ = ["BENCH_FAMILIES", "FULL", "QUICK", "BenchRun", "BenchSpec", "CaseResult",
           "default_bandwidth", "environment", "input_signal", "peak_dtypes",
           "run_benchmarks"]

#: Families with a benchmark (the released codecs; AudioGen's shapes are 32 kHz's).
BENCH_FAMILIES: tuple[str, ...] = ("encodec_24khz", "encodec_32khz", "encodec_48khz")
#: The clip every benchmark input is cut from.
INPUT_CLIP = "speech_female_16k_cmu_arctic_slt_a0009"
OPS = ("decode", "encode")


@dataclass(frozen=True)
class BenchSpec:
    """What to run. `configs` maps extra family names to configs (tests use tiny ones)."""

    families: tuple[str, ...] = ("encodec_24khz",)
    batches: tuple[int, ...] = (1, 8)
    durations: tuple[float, ...] = (1.0,)
    impls: tuple[str, ...] = DEFAULT_IMPLS
    ops: tuple[str, ...] = OPS
    devices: tuple[str, ...] = ("cpu",)
    rounds: int = 3
    warmup: int = 1
    threads: int | None = None
    seed: int = 0
    memory: bool = True
    bandwidth: float | None = None
    configs: Mapping[str, EncodecConfig] = field(default_factory=dict)

    def __post_init__(self) -> None:
        known = {**PRESETS, **self.configs}
        for name in self.families:
            if name not in known:
                raise InvalidArgument(f"unknown family {name!r}; known: {', '.join(known)}")
        for name in self.impls:
            get_implementation(name)
        for op in self.ops:
            if op not in OPS:
                raise InvalidArgument(f"op {op!r}: must be one of {', '.join(OPS)}")
        if not self.families or not self.batches or not self.durations or not self.impls \
                or not self.ops or not self.devices:
            raise InvalidArgument("empty benchmark matrix: give at least one family, batch, "
                                  "duration, implementation, op and device")
        if any(isinstance(b, bool) or not isinstance(b, int) or b < 1 for b in self.batches):
            raise InvalidArgument(f"batches={self.batches}: must be integers >= 1")
        if any(not (math.isfinite(s) and s > 0) for s in self.durations):
            raise InvalidArgument(f"durations={self.durations}: must be seconds > 0")

    def config(self, family: str) -> EncodecConfig:
        return self.configs.get(family) or PRESETS[family]

    def cases(self) -> int:
        return (len(self.devices) * len(self.families) * len(self.durations)
                * len(self.batches) * len(self.ops) * len(self.impls))


#: The CLI's default: 24 kHz, 1 s, batch 1 and 8, every implementation, 3 rounds.
QUICK = BenchSpec()
#: Every family, batch 1/8/32, 1 s and 10 s.
FULL = BenchSpec(families=BENCH_FAMILIES, batches=(1, 8, 32), durations=(1.0, 10.0))


@dataclass
class CaseResult:
    """One implementation on one case."""

    family: str
    op: str
    batch: int
    seconds: float
    device: str
    impl: str
    dtype: str
    bandwidth: float
    frame_rate: float
    stats: TimingStats | None = None
    skipped: str | None = None
    roofline: Roofline | None = None
    memory: MemoryPeak | None = None
    ratio_to_transformers: float | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def audio_seconds(self) -> float:
        return self.batch * self.seconds

    @property
    def frames(self) -> int:
        return self.batch * math.ceil(self.seconds * self.frame_rate)

    @property
    def realtime_factor(self) -> float | None:
        """Audio-seconds per wall-second (median round)."""
        return None if self.stats is None else self.audio_seconds / self.stats.median

    @property
    def frames_per_s(self) -> float | None:
        return None if self.stats is None else self.frames / self.stats.median

    @property
    def roofline_fraction(self) -> float | None:
        if self.stats is None or self.roofline is None:
            return None
        return self.roofline.fraction(self.stats.median)

    @property
    def case_name(self) -> str:
        return (f"{self.op}[{self.family}-b{self.batch}-{self.seconds:g}s-{self.device}-"
                f"{self.impl}]")


@dataclass
class BenchRun:
    """A whole run: the spec, every case, the measured peaks and the environment."""

    spec: BenchSpec
    results: list[CaseResult]
    peaks: dict[str, DevicePeaks]
    environment: dict[str, Any]
    started: str
    finished: str = ""


def default_bandwidth(cfg: EncodecConfig, bandwidth: float | None = None) -> float:
    """`bandwidth` if given (it must be on the ladder), else the highest rung <= 6 kbps (the
    smallest rung when none is)."""
    ladder = list(cfg.bandwidths)
    if bandwidth is not None:
        if not any(math.isclose(bandwidth, b, rel_tol=1e-9) for b in ladder):
            raise InvalidArgument(f"bandwidth {bandwidth} kbps is not on {cfg.name}'s ladder "
                                  f"{ladder}")
        return float(bandwidth)
    low = [b for b in ladder if b <= 6.0]
    return float(max(low) if low else min(ladder))


def input_signal(cfg: EncodecConfig, batch: int, seconds: float) -> torch.Tensor:
    """[batch, C, seconds * rate]: the input clip tiled, item i starting i/batch of the way
    into it (real speech, so every code and layer does realistic work)."""
    clip = load_reference(INPUT_CLIP, cfg.sample_rate, cfg.channels)
    length = max(1, int(round(seconds * cfg.sample_rate)))
    reps = -(-(length + clip.shape[-1]) // clip.shape[-1])
    tiled = clip.repeat(1, reps)
    items = []
    for i in range(batch):
        start = (i * clip.shape[-1]) // batch
        items.append(tiled[:, start: start + length])
    return torch.stack(items).contiguous()


def environment(device: str, threads: int) -> dict[str, Any]:
    """Versions and device facts that a result depends on."""
    env: dict[str, Any] = {
        "torch": torch.__version__, "python": platform.python_version(),
        "platform": platform.platform(), "processor": _cpu_name(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": threads, "device": device,
        "mkldnn_bf16": bool(getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported",
                                    lambda: False)()),
    }
    if torch.device(device).type == "cuda":
        props = torch.cuda.get_device_properties(torch.device(device))
        env.update({"gpu": props.name, "cuda": torch.version.cuda,
                    "cudnn": torch.backends.cudnn.version(),
                    "gpu_memory": int(props.total_memory)})
        try:
            env["driver"] = torch._C._cuda_getDriverVersion()
        except (AttributeError, RuntimeError):
            env["driver"] = None
    for name in ("transformers", "encodec"):
        try:
            module = __import__(name)
            env[name] = getattr(module, "__version__", "unknown")
        except ImportError:
            env[name] = None
    return env


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def peak_dtypes(device: str) -> tuple[torch.dtype, ...]:
    """The dtypes whose peak FLOP/s are measured on `device`."""
    if torch.device(device).type == "cuda":
        return (torch.float32, torch.bfloat16, torch.float16)
    return (torch.float32, torch.bfloat16)


def run_benchmarks(spec: BenchSpec, *, progress: Callable[[str], None] | None = None,
                   peaks: Mapping[str, DevicePeaks] | None = None) -> BenchRun:
    """Run every case of `spec` (see the module docstring). `peaks` skips measuring them."""
    say = progress or (lambda _msg: None)
    started = datetime.datetime.now(datetime.timezone.utc).isoformat()
    results: list[CaseResult] = []
    measured: dict[str, DevicePeaks] = dict(peaks or {})
    with pinned_threads(spec.threads) as threads:
        env = environment(spec.devices[0], threads)
        for device in spec.devices:
            if torch.device(device).type == "cuda" and not torch.cuda.is_available():
                raise InvalidArgument(f"device {device!r}: no CUDA device on this machine")
            if device not in measured:
                say(f"measuring {device} peaks")
                measured[device] = measure_peaks(device, peak_dtypes(device))
            for family in spec.families:
                results += _run_family(spec, family, device, measured[device], say)
    run = BenchRun(spec, results, measured, env, started)
    run.finished = datetime.datetime.now(datetime.timezone.utc).isoformat()
    return run


@torch.inference_mode()
def _run_family(spec: BenchSpec, family: str, device: str, peaks: DevicePeaks,
                say: Callable[[str], None]) -> list[CaseResult]:
    cfg = spec.config(family)
    say(f"{family}: building the reference model and {len(spec.impls)} implementation(s)")
    with torch.inference_mode(False):
        model = random_model(cfg, spec.seed)
    bw = default_bandwidth(cfg, spec.bandwidth)
    impls = {name: get_implementation(name) for name in spec.impls}
    built, unavailable = {}, {}
    for name, impl in impls.items():
        reason = impl.available(device)
        if reason:
            unavailable[name] = reason
        else:
            built[name] = impl.build(model, device)
    results: list[CaseResult] = []
    for seconds in spec.durations:
        work = {op: count_work(model, op, input_signal(cfg, 1, seconds), bw) for op in spec.ops}
        for batch in spec.batches:
            wav = input_signal(cfg, batch, seconds).to(device)
            for op in spec.ops:
                say(f"{family} {op} batch {batch} x {seconds:g} s on {device}")
                results += _run_case(spec, family, cfg, op, batch, seconds, device, bw, wav,
                                     impls, built, unavailable, work[op].scaled(batch), peaks)
    return results


def _run_case(spec: BenchSpec, family: str, cfg: EncodecConfig, op: str, batch: int,
              seconds: float, device: str, bw: float, wav: torch.Tensor,
              impls: Mapping[str, Any], built: Mapping[str, Any],
              unavailable: Mapping[str, str], work: WorkCount,
              peaks: DevicePeaks) -> list[CaseResult]:
    cases: dict[str, Callable[[], Any]] = {}
    for name, codec in built.items():
        if op == "decode":
            codes = codec.encode(wav, bw)
            cases[name] = lambda codec=codec, codes=codes: codec.decode(codes)
        else:
            cases[name] = lambda codec=codec: codec.encode(wav, bw)
    stats = interleaved(cases, warmup=spec.warmup, rounds=spec.rounds,
                        timer=timer_for(device)) if cases else {}
    out = []
    for name, impl in impls.items():
        compute = impl.op_dtype(op)
        result = CaseResult(family, op, batch, seconds, device, name,
                            str(compute).replace("torch.", ""), bw, cfg.frame_rate,
                            info={"description": impl.description})
        if name in unavailable:
            result.skipped = unavailable[name]
            out.append(result)
            continue
        codec = built[name]
        result.stats = stats[name]
        sizes = codec.decoder_itemsizes if op == "decode" else codec.encoder_itemsizes
        result.roofline = roofline(work.flops, work.min_bytes(sizes or 4), peaks, compute)
        if spec.memory:
            result.memory = peak_memory(cases[name], device)
        result.info.update(codec.info)
        out.append(result)
    base = next((r for r in out if r.impl == "transformers" and r.stats), None)
    for r in out:
        if base is not None and r.stats is not None:
            r.ratio_to_transformers = base.stats.median / r.stats.median
    return out
