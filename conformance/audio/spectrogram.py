"""Log-magnitude spectrogram images as PNG, with no plotting library.

`write_spectrogram_png(path, [reference, decoded], sample_rate)` stacks one panel per signal
(top to bottom, separated by a white line): time runs left to right, frequency bottom (0 Hz) to
top (Nyquist), colour from black (-80 dB below the loudest bin of all panels) through purple
and orange to pale yellow (0 dB).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

#: Colour map anchors (position, RGB): black -> purple -> orange -> pale yellow.
_ANCHORS = ((0.0, (0, 0, 4)), (0.35, (120, 28, 109)), (0.7, (237, 105, 37)),
            (1.0, (252, 255, 164)))
DYNAMIC_RANGE_DB = 80.0


def _colormap(x: np.ndarray) -> np.ndarray:
    """x in [0, 1] -> uint8 RGB, piecewise linear through _ANCHORS."""
    pos = np.array([a[0] for a in _ANCHORS])
    out = np.empty((*x.shape, 3), dtype=np.uint8)
    for c in range(3):
        out[..., c] = np.interp(x, pos, [a[1][c] for a in _ANCHORS]).round().astype(np.uint8)
    return out


def log_spectrogram(wav: torch.Tensor, n_fft: int = 512) -> np.ndarray:
    """dB magnitude [freq, frames] of a mono mix of `wav` ([T] or [C, T])."""
    x = wav.detach().float().cpu()
    if x.dim() == 2:
        x = x.mean(0)
    if x.dim() != 1 or x.numel() < n_fft:
        raise ValueError(f"need a [T] or [C, T] signal of at least {n_fft} samples, got "
                         f"{tuple(wav.shape)}")
    spec = torch.stft(x, n_fft, hop_length=n_fft // 4, window=torch.hann_window(n_fft),
                      return_complex=True).abs()
    return (20 * torch.log10(spec.clamp_min(1e-10))).numpy()


def _png(rgb: np.ndarray) -> bytes:
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[i].tobytes() for i in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def spectrogram_image(signals: Sequence[torch.Tensor], n_fft: int = 512) -> np.ndarray:
    """The stacked RGB image [H, W, 3] (uint8) that `write_spectrogram_png` writes."""
    if not signals:
        raise ValueError("no signals to plot")
    specs = [log_spectrogram(s, n_fft) for s in signals]
    top = max(float(s.max()) for s in specs)
    width = min(s.shape[1] for s in specs)
    panels = []
    for i, s in enumerate(specs):
        x = np.clip((s[::-1, :width] - top + DYNAMIC_RANGE_DB) / DYNAMIC_RANGE_DB, 0.0, 1.0)
        panels.append(_colormap(x))
        if i < len(specs) - 1:
            panels.append(np.full((2, width, 3), 255, dtype=np.uint8))
    return np.concatenate(panels, axis=0)


def write_spectrogram_png(path: str | Path, signals: Sequence[torch.Tensor],
                          n_fft: int = 512) -> Path:
    """Write the stacked spectrograms of `signals` to `path` (atomically)."""
    from conformance.fileio import atomic_write_bytes

    data = _png(spectrogram_image(signals, n_fft))
    return atomic_write_bytes(path, lambda tmp: Path(tmp).write_bytes(data))


__all__ = ["DYNAMIC_RANGE_DB", "log_spectrogram", "spectrogram_image", "write_spectrogram_png"]
