"""Roofline: the least time a call could take on this device, and a run's fraction of it.

- **FLOPs** of an encode or decode: `torch.utils.flop_counter.FlopCounterMode` around the
  reference model's call (convolutions and matrix products), plus the LSTMs, which it does not
  count (`aten::mkldnn_rnn_layer` has no formula): `8 * H * (I + H)` per step, layer and item
  (four gates, an input and a recurrent product, two FLOPs per multiply-add).
- **Minimum bytes**: every top-level layer reads its input and writes its output once (ELUs
  are fused into the next layer), plus every weight once. The high-rate layers' activations
  dominate. The element size of each layer is the dtype the implementation computes it in.
- **Device peaks**: measured, not looked up: the best of a few large square matmuls per dtype
  (FLOP/s) and of a large tensor copy (bytes read + written per second).

The floor is `max(FLOPs / peak FLOP/s, bytes / peak bandwidth)`; a run's roofline fraction is
`floor / measured time` (1.0 = at the floor).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from conformance.bench.timing import Timer, timer_for
from conformance.errors import InvalidArgument
from conformance.model.encodec import EncodecModel, Encoded
from conformance.model.seanet import StreamableLSTM

__all__ = ["DevicePeaks", "Roofline", "WorkCount", "count_flops", "count_work",
           "layer_traffic", "lstm_flops", "measure_peaks", "roofline"]


@dataclass(frozen=True)
class DevicePeaks:
    """Measured peaks of a device: FLOP/s per dtype name and copy bandwidth in bytes/s."""

    device: str
    flops_per_s: dict[str, float]
    bytes_per_s: float
    method: str

    def peak_flops(self, dtype: torch.dtype | str) -> float:
        key = str(dtype).replace("torch.", "")
        if key not in self.flops_per_s:
            raise InvalidArgument(f"no measured peak for {key}; measured: "
                                  f"{sorted(self.flops_per_s)}")
        return self.flops_per_s[key]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure_peaks(device: torch.device | str = "cpu",
                  dtypes: Sequence[torch.dtype] = (torch.float32, torch.bfloat16), *,
                  matmul_size: int = 2048, copy_mib: int = 256, repeat: int = 5,
                  timer: Timer | None = None) -> DevicePeaks:
    """Peak FLOP/s per dtype (best of `repeat` n x n matmuls, 2 n^3 FLOPs each) and copy
    bandwidth (best of `repeat` copies of `copy_mib` MiB: 2 x size bytes moved)."""
    device = torch.device(device)
    timer = timer or timer_for(device)
    flops: dict[str, float] = {}
    n = matmul_size
    for dtype in dtypes:
        a = torch.randn(n, n, device=device).to(dtype)
        b = torch.randn(n, n, device=device).to(dtype)
        a @ b  # warm-up (oneDNN/cuBLAS plans)
        best = min(timer.time(lambda a=a, b=b: a @ b) for _ in range(repeat))
        flops[str(dtype).replace("torch.", "")] = 2.0 * n ** 3 / max(best, 1e-12)
        del a, b
    numel = copy_mib * (1 << 20) // 4
    src = torch.empty(numel, device=device).fill_(1.0)
    dst = torch.empty_like(src)
    dst.copy_(src)
    best = min(timer.time(lambda: dst.copy_(src)) for _ in range(repeat))
    bandwidth = 2.0 * numel * 4 / max(best, 1e-12)
    method = (f"best of {repeat}: {n}x{n} @ {n}x{n} matmul per dtype (2n^3 FLOPs); "
              f"copy_ of {copy_mib} MiB float32 (read + write) with "
              f"{torch.get_num_threads()} thread(s)")
    return DevicePeaks(str(device), flops, bandwidth, method)


def lstm_flops(layers: int, input_size: int, hidden: int, steps: int, batch: int) -> int:
    """FLOPs of an LSTM: 8 * H * (I + H) per step, layer and item (the first layer's input
    size is `input_size`, the others' is H)."""
    total = 0
    for layer in range(layers):
        i = input_size if layer == 0 else hidden
        total += 8 * hidden * (i + hidden) * steps * batch
    return total


def count_flops(fn: Callable[[], Any]) -> int:
    """FLOPs FlopCounterMode sees while `fn` runs (convolutions, matrix products; no LSTM)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


@dataclass(frozen=True)
class WorkCount:
    """What one call does: FLOPs (LSTM included) and the per-layer activation traffic, as
    (input elements, output elements) per top-level layer, plus the weights' elements."""

    flops: int
    lstm_flops: int
    layer_elements: tuple[tuple[int, int], ...]
    weight_elements: int

    def min_bytes(self, itemsizes: Sequence[int] | int = 4) -> int:
        """Bytes if every layer reads its input and writes its output once (element sizes
        per layer, or one for all), plus the weights at 4 bytes."""
        if isinstance(itemsizes, int):
            itemsizes = [itemsizes] * len(self.layer_elements)
        if len(itemsizes) != len(self.layer_elements):
            raise InvalidArgument(f"{len(itemsizes)} element sizes for "
                                  f"{len(self.layer_elements)} layers")
        acts = sum((i + o) * size for (i, o), size in zip(self.layer_elements, itemsizes))
        return int(acts + 4 * self.weight_elements)

    def scaled(self, factor: int) -> WorkCount:
        """The work of `factor` independent copies (e.g. batch items) of this call."""
        return WorkCount(self.flops * factor, self.lstm_flops * factor,
                         tuple((i * factor, o * factor) for i, o in self.layer_elements),
                         self.weight_elements)


def layer_traffic(net: nn.Sequential, fn: Callable[[], Any]) -> tuple[tuple[int, int], ...]:
    """(input elements, output elements) of each non-ELU top-level layer of `net` while `fn`
    runs, summed over calls (a chunked model calls each layer once per chunk)."""
    layers = [m for m in net if not isinstance(m, nn.ELU)]
    sizes = [[0, 0] for _ in layers]
    hooks = []
    for k, module in enumerate(layers):
        def hook(_module, inputs, output, k=k):
            sizes[k][0] += int(inputs[0].numel())
            sizes[k][1] += int(output.numel())
        hooks.append(module.register_forward_hook(hook))
    try:
        fn()
    finally:
        for h in hooks:
            h.remove()
    return tuple((i, o) for i, o in sizes)


def _lstm_hook_flops(model: EncodecModel, fn: Callable[[], Any]) -> int:
    total = [0]
    hooks = []
    for module in model.modules():
        if isinstance(module, StreamableLSTM):
            lstm = module.lstm

            def hook(_module, inputs, _output, lstm=lstm):
                batch, _, steps = inputs[0].shape
                total[0] += lstm_flops(lstm.num_layers, lstm.input_size, lstm.hidden_size,
                                       steps, batch)
            hooks.append(module.register_forward_hook(hook))
    try:
        fn()
    finally:
        for h in hooks:
            h.remove()
    return total[0]


@torch.inference_mode()
def count_work(model: EncodecModel, op: str, wav: torch.Tensor, bandwidth: float) -> WorkCount:
    """FLOPs and layer traffic of the reference `model`'s `op` ("encode" or "decode") on
    `wav` [B, C, T] at `bandwidth`; decode counts the decode of the reference's codes."""
    if op not in ("encode", "decode"):
        raise InvalidArgument(f"op={op!r}: must be 'encode' or 'decode'")
    net = model.encoder.model if op == "encode" else model.decoder.model
    if op == "encode":
        def call() -> Any:
            return model.encode(wav, bandwidth)
    else:
        encoded: Encoded = model.encode(wav, bandwidth)

        def call() -> Any:
            return model.decode(encoded)
    flops = count_flops(call)
    lstm = _lstm_hook_flops(model, call)
    traffic = layer_traffic(net, call)
    weights = sum(p.numel() for p in net.parameters())
    return WorkCount(flops + lstm, lstm, traffic, int(weights))


@dataclass(frozen=True)
class Roofline:
    """The floor of one call on a device and what a measured time makes of it."""

    flops: int
    bytes: int
    peak_flops: float
    peak_bytes_per_s: float

    @property
    def compute_time(self) -> float:
        return self.flops / self.peak_flops

    @property
    def memory_time(self) -> float:
        return self.bytes / self.peak_bytes_per_s

    @property
    def floor(self) -> float:
        """The least time: the larger of the compute and memory times."""
        return max(self.compute_time, self.memory_time)

    @property
    def bound(self) -> str:
        return "compute" if self.compute_time >= self.memory_time else "memory"

    def fraction(self, seconds: float) -> float:
        """floor / measured seconds (1.0 = at the floor)."""
        if not seconds > 0:
            raise InvalidArgument(f"seconds={seconds}: must be > 0")
        return self.floor / seconds

    def achieved_flops(self, seconds: float) -> float:
        return self.flops / seconds

    def as_dict(self) -> dict[str, Any]:
        return {"flops": self.flops, "bytes": self.bytes, "peak_flops": self.peak_flops,
                "peak_bytes_per_s": self.peak_bytes_per_s,
                "compute_time_s": self.compute_time, "memory_time_s": self.memory_time,
                "floor_s": self.floor, "bound": self.bound}


def roofline(flops: int, min_bytes: int, peaks: DevicePeaks,
             dtype: torch.dtype | str) -> Roofline:
    """The roofline of `flops` and `min_bytes` on `peaks`, computing in `dtype`."""
    if flops < 0 or min_bytes < 0:
        raise InvalidArgument(f"flops={flops}, bytes={min_bytes}: must be >= 0")
    return Roofline(int(flops), int(min_bytes), peaks.peak_flops(dtype), peaks.bytes_per_s)
