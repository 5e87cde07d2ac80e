"""Peak memory of one call.

- CUDA: `torch.cuda.max_memory_allocated` after resetting the peak, minus what was allocated
  before the call: the tensors the call itself needed at its peak (the caching allocator's
  reserve is not counted).
- CPU (Linux): the process's resident-set high-water mark (`VmHWM` in /proc/self/status)
  after resetting it through /proc/self/clear_refs, minus the resident set (`VmRSS`) before
  the call, after asking glibc to return freed heap memory (`malloc_trim`). It counts what the
  call made resident, so memory freed earlier but still mapped can hide part of the peak: read
  it as a close lower bound. `tracemalloc` would see none of torch's allocations.
- Elsewhere: not measured, with the reason.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

__all__ = ["MemoryPeak", "peak_memory"]

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass(frozen=True)
class MemoryPeak:
    """Bytes a call added at its peak (None when not measured), how it was measured."""

    bytes: int | None
    method: str


def _status_kib(key: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _malloc_trim() -> None:
    name = ctypes.util.find_library("c")
    if not name:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(name).malloc_trim(0)


def peak_memory(fn: Callable[[], Any], device: torch.device | str = "cpu") -> MemoryPeak:
    """Run `fn` once and report the memory it added at its peak (see the module docstring)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        fn()
        torch.cuda.synchronize(device)
        return MemoryPeak(int(torch.cuda.max_memory_allocated(device) - before),
                          "torch.cuda.max_memory_allocated - allocated before")
    _malloc_trim()
    try:
        _CLEAR_REFS.write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
    except OSError as exc:
        fn()
        return MemoryPeak(None, f"not measured: cannot reset the RSS peak ({exc})")
    before = _status_kib("VmRSS")
    fn()
    peak = _status_kib("VmHWM")
    if before is None or peak is None:
        return MemoryPeak(None, "not measured: /proc/self/status has no VmRSS/VmHWM")
    return MemoryPeak(max(0, peak - before) * 1024,
                      "VmHWM (reset via /proc/self/clear_refs) - VmRSS before")
