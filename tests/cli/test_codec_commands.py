"""encode / decode from the command line: audio file -> codes file -> audio file."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from conformance.checkpoints.write import write_audiocraft
from conformance.cli.main import main
from conformance.testing.weights import random_model
from tests.configs import small

SMALL48 = small("encodec_48khz")


SMALL24 = small("encodec_24khz")


@pytest.fixture()
def ckpt(tmp_path):
    return write_audiocraft(tmp_path / "ac48.th", SMALL48, random_model(SMALL48, 3).state_dict())


def test_encode_decode_files(ckpt, tmp_path, capsys):
    sr = 44100
    t = np.arange(int(0.3 * sr)) / sr
    sf.write(tmp_path / "in.wav", 0.3 * np.sin(2 * np.pi * 330 * t), sr)  # mono, 44.1 kHz
    codes = tmp_path / "c.npz"
    assert main(["encode", str(ckpt), str(tmp_path / "in.wav"), "--bandwidth", "6",
                 "--out", str(codes)]) == 0
    captured = capsys.readouterr()
    assert "converted to 48000 Hz, 2 ch" in captured.err
    with np.load(codes, allow_pickle=False) as z:
        assert z["codes"].shape[:2] == (1, 4) and z["codes"].dtype == np.int64
        assert int(z["length"]) == round(0.3 * 48000)
        assert z["scales"].shape == (1, 1, 1)
    assert main(["decode", str(ckpt), str(codes), "--out", str(tmp_path / "o.wav")]) == 0
    data, out_sr = sf.read(tmp_path / "o.wav")
    assert out_sr == 48000 and data.shape == (round(0.3 * 48000), 2)


def test_bad_audio_and_codes_exit_2(ckpt, tmp_path, capsys):
    (tmp_path / "t.txt").write_text("hello")
    assert main(["encode", str(ckpt), str(tmp_path / "t.txt"), "--bandwidth", "6",
                 "--out", str(tmp_path / "c.npz")]) == 2
    assert main(["encode", str(ckpt), str(tmp_path / "t.txt"), "--bandwidth", "7",
                 "--out", str(tmp_path / "c.npz")]) == 2
    assert "7.0 kbps is not supported" in capsys.readouterr().err
    np.savez(tmp_path / "wrong.npz", codes=np.zeros((1, 2, 3), np.int64))
    assert main(["decode", str(ckpt), str(tmp_path / "wrong.npz"), "--out",
                 str(tmp_path / "o.wav")]) == 2
    assert "not written by `encode`" in capsys.readouterr().err
    assert not (tmp_path / "o.wav").exists() and not (tmp_path / "c.npz").exists()
