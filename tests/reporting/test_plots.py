"""The comparison figure: three spectrogram panels with titles, time and frequency axes and two
colour bars, rendered to PNG and written atomically; matplotlib missing is a clear error."""

from __future__ import annotations

import io
import math
import sys

import pytest
import torch
from PIL import Image

from conformance.errors import InvalidArgument
from conformance.reporting.plots import (
    comparison_figure,
    comparison_png,
    require_matplotlib,
    write_comparison_png,
)

SR = 16000


def _sine(freq: float, seconds: float = 1.0) -> torch.Tensor:
    t = torch.arange(int(SR * seconds)) / SR
    return 0.5 * torch.sin(2 * math.pi * freq * t)


@pytest.fixture(scope="module")
def figure():
    return comparison_figure(_sine(1000.0), _sine(1000.0) + 0.01 * _sine(3000.0), SR,
                             title="a clip", decode_label="decode @ 6 kbps")


def test_three_panels_with_titles_and_axes(figure):
    panels = [ax for ax in figure.axes if ax.get_images() and ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["input", "decode @ 6 kbps",
                                                 "decode @ 6 kbps \u2212 input"]
    for ax in panels:
        assert ax.get_xlabel() == "time (s)"
        assert ax.get_ylim() == pytest.approx((0.0, SR / 2))
        assert ax.get_xlim()[1] == pytest.approx(1.0, abs=0.05)
    assert panels[0].get_ylabel() == "frequency (Hz)"
    assert figure.get_suptitle() == "a clip"


def test_two_colour_bars_in_db(figure):
    bars = [ax for ax in figure.axes if not ax.get_title() and ax.get_ylabel()]
    assert sorted(ax.get_ylabel() for ax in bars) == ["dB difference", "dB re loudest bin"]


def test_the_difference_panel_is_centred_on_zero(figure):
    panels = [ax for ax in figure.axes if ax.get_images() and ax.get_title()]
    lo, hi = panels[2].get_images()[0].get_clim()
    assert lo == -hi and hi > 0
    assert panels[0].get_images()[0].get_clim() == panels[1].get_images()[0].get_clim()


def test_png_bytes_and_atomic_file(tmp_path):
    data = comparison_png(_sine(500.0), _sine(500.0), SR)
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.size == (1100, 270)
    path = write_comparison_png(tmp_path / "s.png", _sine(500.0), _sine(700.0), SR)
    assert Image.open(path).size == (1100, 270)
    assert [p.name for p in tmp_path.iterdir()] == ["s.png"]


def test_signals_that_cannot_be_compared_are_refused(tmp_path):
    with pytest.raises(InvalidArgument, match="equal lengths"):
        comparison_figure(_sine(500.0, 1.0), _sine(500.0, 0.5), SR)
    with pytest.raises(InvalidArgument, match="at least 512 samples"):
        write_comparison_png(tmp_path / "x.png", torch.zeros(100), torch.zeros(100), SR)
    assert not list(tmp_path.iterdir())


def test_without_matplotlib_the_error_names_the_report_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(InvalidArgument, match=r"encodec-conformance\[report\]"):
        require_matplotlib()
    with pytest.raises(InvalidArgument, match="matplotlib"):
        comparison_figure(_sine(500.0), _sine(500.0), SR)
