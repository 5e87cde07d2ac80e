"""Reading block by block with the package's conversion: the same samples as converting the
whole file, the conversion recorded, bad files refused with a reason."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from conformance.audio.io import convert_audio
from conformance.corpus.reader import AudioStream, BlockResampler, probe
from conformance.errors import AudioFileError
from tests.corpus.conftest import tone, write_wav


def _whole(path, rate, channels):
    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return convert_audio(torch.from_numpy(data.T.copy()), sr, rate, channels)


@pytest.mark.parametrize("source, target, block", [
    ((44100, 2), (24000, 1), 0.37), ((16000, 1), (24000, 1), 1.0), ((22050, 1), (48000, 2), 0.1),
    ((48000, 1), (24000, 1), 10.0), ((32000, 2), (32000, 1), 0.05)])
def test_blocks_are_the_whole_file_conversion(tmp_path, source, target, block):
    path = write_wav(tmp_path / "x.wav", 2.3, source[0], source[1], subtype="FLOAT")
    stream = AudioStream(path, *target, block_seconds=block)
    got = torch.cat(list(stream), dim=-1)
    whole = _whole(path, *target)
    assert got.shape == whole.shape
    # the same filter on the same samples; only the convolution's float rounding differs
    torch.testing.assert_close(got, whole, rtol=0, atol=1e-6)
    assert stream.frames_read == round(2.3 * source[0])
    assert stream.conversion["from"] == {"sample_rate": source[0], "channels": source[1]}
    assert stream.conversion["to"] == {"sample_rate": target[0], "channels": target[1]}
    assert (stream.conversion["resampler"] is None) == (source[0] == target[0])
    assert (stream.conversion["remix"] is None) == (source[1] == target[1])


def test_no_conversion_reads_the_samples_exactly(tmp_path):
    path = write_wav(tmp_path / "x.flac", 1.5, 24000, format="FLAC")
    stream = AudioStream(path, 24000, 1, block_seconds=0.1)
    assert torch.equal(torch.cat(list(stream), dim=-1), _whole(path, 24000, 1))
    assert stream.conversion is None


def test_the_resampler_in_tiny_blocks_equals_the_whole_signal():
    x = torch.from_numpy(tone(0.5, 44100).T.copy())
    r = BlockResampler(44100, 24000)
    parts = [r.feed(x[:, i:i + 37]) for i in range(0, x.shape[-1], 37)] + [r.finish()]
    got = torch.cat([p for p in parts if p.numel()], dim=-1)
    whole = convert_audio(x, 44100, 24000, 1)
    assert got.shape == whole.shape
    torch.testing.assert_close(got, whole, rtol=0, atol=1e-6)


def test_conversion_off_refuses_another_rate(tmp_path):
    path = write_wav(tmp_path / "x.wav", 0.2, 16000)
    with pytest.raises(AudioFileError, match="conversion is off"):
        AudioStream(path, 24000, 1, convert=False)
    AudioStream(write_wav(tmp_path / "y.wav", 0.2, 24000), 24000, 1, convert=False)


@pytest.mark.parametrize("content, match", [(b"", "cannot read"), (b"RIFF0000WAVEjunk" * 8,
                                                                    "cannot read"),
                                             (b"hello, not audio at all", "cannot read")])
def test_unreadable_files_are_refused_with_the_reason(tmp_path, content, match):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioFileError, match=match):
        list(AudioStream(path, 24000, 1))


def test_a_truncated_file_is_refused_or_read_to_where_it_ends(tmp_path):
    path = write_wav(tmp_path / "x.flac", 2.0, 24000, format="FLAC")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    try:
        got = torch.cat(list(AudioStream(path, 24000, 1)), dim=-1)
    except AudioFileError as exc:
        assert "x.flac" in exc.message
    else:
        assert 0 < got.shape[-1] < 48000


def test_nan_samples_are_refused(tmp_path):
    x = tone(0.5, 24000)
    x[100] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(str(path), x, 24000, subtype="FLOAT")
    with pytest.raises(AudioFileError, match="NaN or infinite"):
        list(AudioStream(path, 24000, 1))


def test_an_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(str(path), np.zeros((0, 1), np.float32), 24000)
    with pytest.raises(AudioFileError, match="holds no samples"):
        list(AudioStream(path, 24000, 1))


def test_three_channels_cannot_become_stereo(tmp_path):
    path = write_wav(tmp_path / "x.wav", 0.1, 48000, channels=3)
    with pytest.raises(AudioFileError, match="cannot remix 3 channels to 2"):
        AudioStream(path, 48000, 2)


def test_a_rate_whose_filter_bank_is_absurd_is_refused(tmp_path):
    path = write_wav(tmp_path / "x.wav", 0.1, 44101)
    with pytest.raises(AudioFileError, match="convert the file to a common rate"):
        AudioStream(path, 24000, 1)


@pytest.mark.parametrize("fmt, subtype, suffix", [("OGG", "VORBIS", "ogg"),
                                                  ("MP3", "MPEG_LAYER_III", "mp3")])
def test_ogg_and_mp3_are_read(tmp_path, fmt, subtype, suffix):
    path = tmp_path / f"x.{suffix}"
    sf.write(str(path), tone(1.0, 44100), 44100, format=fmt, subtype=subtype)
    info = probe(path)
    assert info.format == fmt and info.sample_rate == 44100
    got = torch.cat(list(AudioStream(path, 24000, 1, block_seconds=0.3)), dim=-1)
    assert abs(got.shape[-1] - 24000) < 2400 and bool(torch.isfinite(got).all())
