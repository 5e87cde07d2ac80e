"""The reports' figures, drawn with matplotlib (the `report` extra) and returned as PNG bytes.

`comparison_figure(input, decode, sample_rate)` puts three spectrograms side by side: the input
and the decode on one dB colour scale (their colour bar: dB relative to the loudest bin of the
two), and decode minus input in dB on a diverging scale (red: the decode is louder there,
blue: quieter; its own colour bar). Every panel has a title, time in seconds and frequency in
Hz. `figure_png` renders a figure to PNG bytes; `comparison_png` and `write_comparison_png` do
both. The HTML report and the golden listening pack draw with the same code.

matplotlib is imported only when a figure is drawn, through the object-oriented API on the Agg
canvas (no pyplot state, no display); `require_matplotlib` raises a clear error naming the
extra when it is missing.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import torch

from conformance.audio.spectrogram import DYNAMIC_RANGE_DB, Spectrogram, log_spectrogram
from conformance.errors import InvalidArgument
from conformance.fileio import atomic_write_bytes

__all__ = ["DIFFERENCE_RANGE_DB", "comparison_figure", "comparison_png", "figure_png",
           "require_matplotlib", "write_comparison_png"]

#: The difference panel's colour scale spans +/- this many dB.
DIFFERENCE_RANGE_DB = 20.0
#: Figure size (inches) and resolution of a comparison: 1100 x 270 pixels.
_FIGSIZE = (11.0, 2.7)
_DPI = 100
_MAGNITUDE_CMAP = "magma"
_DIFFERENCE_CMAP = "RdBu_r"
_INSTALL_HINT = "pip install 'encodec-conformance[report]'"


def require_matplotlib() -> None:
    """Raise InvalidArgument naming the `report` extra unless matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise InvalidArgument(
            f"the HTML report and spectrogram images need matplotlib, which is not installed "
            f"({exc}); install the report extra: {_INSTALL_HINT}") from exc


def _figure(figsize: tuple[float, float], dpi: int) -> Any:
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _draw(ax: Any, spec: Spectrogram, values: np.ndarray, title: str, **imshow: Any) -> Any:
    hop = float(spec.times[1] - spec.times[0]) if len(spec.times) > 1 else 0.0
    extent = (0.0, float(spec.times[-1]) + hop, 0.0, float(spec.freqs[-1]))
    image = ax.imshow(values, origin="lower", aspect="auto", extent=extent,
                      interpolation="antialiased", **imshow)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("time (s)", fontsize=9)
    ax.set_ylabel("frequency (Hz)", fontsize=9)
    ax.tick_params(labelsize=8)
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(5, integer=True))
    return image


def comparison_figure(input: torch.Tensor, decode: torch.Tensor, sample_rate: int, *,
                      title: str | None = None, decode_label: str = "decode") -> Any:
    """A matplotlib Figure: spectrograms of `input`, `decode` ([T] or [C, T], mixed to mono)
    and decode minus input (dB), with axes, titles and colour bars. Raises InvalidArgument for
    signals shorter than one STFT window or of different lengths."""
    if input.shape[-1] != decode.shape[-1]:
        raise InvalidArgument(f"input has {input.shape[-1]} samples and the decode "
                              f"{decode.shape[-1]}: a comparison needs equal lengths")
    ref, dec = log_spectrogram(input, sample_rate), log_spectrogram(decode, sample_rate)
    top = max(float(ref.db.max()), float(dec.db.max()))
    floor = top - DYNAMIC_RANGE_DB
    ref_db, dec_db = np.maximum(ref.db - top, -DYNAMIC_RANGE_DB), np.maximum(dec.db - top,
                                                                           -DYNAMIC_RANGE_DB)
    diff = np.maximum(dec.db, floor) - np.maximum(ref.db, floor)

    fig = _figure(_FIGSIZE, _DPI)
    axes = fig.subplots(1, 3, sharey=True)
    magnitude = {"cmap": _MAGNITUDE_CMAP, "vmin": -DYNAMIC_RANGE_DB, "vmax": 0.0}
    _draw(axes[0], ref, ref_db, "input", **magnitude)
    shown = _draw(axes[1], dec, dec_db, decode_label, **magnitude)
    delta = _draw(axes[2], dec, diff, f"{decode_label} \u2212 input",
                  cmap=_DIFFERENCE_CMAP, vmin=-DIFFERENCE_RANGE_DB, vmax=DIFFERENCE_RANGE_DB)
    for ax in axes[1:]:
        ax.set_ylabel("")
    bar = fig.colorbar(shown, ax=list(axes[:2]), pad=0.01, aspect=15)
    bar.set_label("dB re loudest bin", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    bar = fig.colorbar(delta, ax=axes[2], pad=0.01, aspect=15, extend="both")
    bar.set_label("dB difference", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def figure_png(fig: Any) -> bytes:
    """`fig` rendered as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi, metadata={"Software": None})
    return buf.getvalue()


def comparison_png(input: torch.Tensor, decode: torch.Tensor, sample_rate: int,
                   **kwargs: Any) -> bytes:
    """`comparison_figure(...)` as PNG bytes."""
    return figure_png(comparison_figure(input, decode, sample_rate, **kwargs))


def write_comparison_png(path: str | Path, input: torch.Tensor, decode: torch.Tensor,
                         sample_rate: int, **kwargs: Any) -> Path:
    """Write `comparison_png(...)` to `path` atomically."""
    data = comparison_png(input, decode, sample_rate, **kwargs)
    return atomic_write_bytes(path, lambda tmp: Path(tmp).write_bytes(data))
