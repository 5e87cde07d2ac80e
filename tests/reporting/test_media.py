"""Embedded media: figures as WebP (or PNG) and audio as Ogg Vorbis (or FLAC) data: URIs that
decode back to what was given."""

from __future__ import annotations

import base64
import io
import math

import pytest
import soundfile
import torch
from PIL import Image

from conformance.errors import InvalidArgument
from conformance.reporting.media import audio_bytes, audio_data_uri, data_uri, figure_data_uri
from conformance.reporting.plots import comparison_figure

SR = 24000


def _tone(channels: int = 1, seconds: float = 0.5, amplitude: float = 0.5) -> torch.Tensor:
    t = torch.arange(int(SR * seconds)) / SR
    return amplitude * torch.sin(2 * math.pi * 440.0 * t).repeat(channels, 1)


def _decode_uri(uri: str) -> tuple[str, bytes]:
    head, body = uri.split(",", 1)
    assert head.startswith("data:") and head.endswith(";base64")
    return head[5:-7], base64.b64decode(body)


def test_data_uri_round_trips():
    assert _decode_uri(data_uri(b"\x00\xffabc", "x/y")) == ("x/y", b"\x00\xffabc")


@pytest.mark.parametrize("channels", [1, 2])
def test_audio_decodes_back_at_its_rate_channels_and_length(channels):
    wav = _tone(channels)
    mime, data = _decode_uri(audio_data_uri(wav, SR))
    assert mime in ("audio/ogg", "audio/flac")
    back, rate = soundfile.read(io.BytesIO(data), always_2d=True)
    assert rate == SR and back.shape == (wav.shape[-1], channels)
    rms = float(torch.as_tensor(back).pow(2).mean().sqrt())
    assert rms == pytest.approx(0.5 / math.sqrt(2), rel=0.05)  # level kept, not normalised


def test_audio_is_clipped_not_rescaled_and_bad_audio_is_refused():
    loud, _ = audio_bytes(_tone(amplitude=4.0), SR)
    back, _ = soundfile.read(io.BytesIO(loud))
    rms = float((back ** 2).mean() ** 0.5)
    assert rms > 0.85  # a clipped loud sine is nearly square; a rescaled one would be 0.71
    assert abs(back).max() < 1.2  # lossy coding may overshoot full scale a little
    with pytest.raises(InvalidArgument, match="NaN or infinite"):
        audio_bytes(torch.full((100,), float("inf")), SR)
    with pytest.raises(InvalidArgument, match="at least one sample"):
        audio_bytes(torch.zeros(1, 0), SR)


def test_figures_are_embedded_as_images_of_the_figure_size():
    fig = comparison_figure(_tone(seconds=0.3)[0], _tone(seconds=0.3)[0], SR)
    mime, data = _decode_uri(figure_data_uri(fig))
    assert mime in ("image/webp", "image/png")
    assert Image.open(io.BytesIO(data)).size == (1100, 270)
