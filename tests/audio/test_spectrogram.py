"""Spectrogram PNGs: a valid file whose pixels put a sine's energy at its frequency."""

from __future__ import annotations

import math
import struct
import zlib

import numpy as np
import pytest
import torch

from conformance.audio.spectrogram import spectrogram_image, write_spectrogram_png

SR = 16000


def _sine(freq: float, seconds: float = 0.5) -> torch.Tensor:
    t = torch.arange(int(SR * seconds)) / SR
    return 0.5 * torch.sin(2 * math.pi * freq * t)


def _read_png(path) -> np.ndarray:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, size = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, kind
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h = size
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(h, 1 + 3 * w)
    assert (raw[:, 0] == 0).all()  # filter type "none" on every row
    return raw[:, 1:].reshape(h, w, 3)


def test_png_round_trips_and_the_sine_is_the_brightest_row(tmp_path) -> None:
    path = write_spectrogram_png(tmp_path / "s.png", [_sine(2000.0), _sine(6000.0)])
    img = _read_png(path)
    assert np.array_equal(img, spectrogram_image([_sine(2000.0), _sine(6000.0)]))
    bins = 512 // 2 + 1
    assert img.shape[0] == 2 * bins + 2
    assert (img[bins:bins + 2] == 255).all()  # the separator
    for panel, freq in ((img[:bins], 2000.0), (img[bins + 2:], 6000.0)):
        brightness = panel.astype(float).sum(axis=(1, 2))
        row = int(brightness.argmax())  # row 0 is Nyquist
        expected = round((1 - freq / (SR / 2)) * (bins - 1))
        assert abs(row - expected) <= 1, (freq, row, expected)


def test_stereo_is_mixed_and_short_signals_are_refused(tmp_path) -> None:
    stereo = torch.stack([_sine(1000.0), _sine(1000.0)])
    assert spectrogram_image([stereo]).shape == spectrogram_image([_sine(1000.0)]).shape
    with pytest.raises(ValueError, match="at least 512 samples"):
        write_spectrogram_png(tmp_path / "x.png", [torch.zeros(100)])
    assert not (tmp_path / "x.png").exists()
    with pytest.raises(ValueError, match="no signals"):
        spectrogram_image([])
