"""The `encodec-conformance` command: every subcommand, its exit codes and its messages."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from conformance.cli import build_parser, main
from conformance.presets import ENCODEC_24KHZ, ENCODEC_48KHZ
from conformance.random_weights import random_model
from conformance.writers import write_audiocraft
from tests.checkpoint_files import (
    file_fingerprint,
    write_audiocraft_pointer,
    write_audiocraft_training,
)

SMALL48 = ENCODEC_48KHZ.replace(n_filters=4, dimension=8)
SMALL24 = ENCODEC_24KHZ.replace(n_filters=4, dimension=8)


@pytest.fixture()
def ckpt(tmp_path):
    return write_audiocraft(tmp_path / "ac48.th", SMALL48, random_model(SMALL48, 3).state_dict())


@pytest.mark.parametrize("command", ["demo", "inspect", "convert", "export", "encode", "decode"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([command, "--help"])
    assert info.value.code == 0
    assert "usage" in capsys.readouterr().out


def test_inspect_prints_and_writes_json(ckpt, tmp_path, capsys):
    assert main(["inspect", str(ckpt), "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "audiocraft-exported" in out and "224 tensors" in out
    assert "segment              = 1.0" in out and "[xp.cfg]" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["format"] == "audiocraft-exported"
    assert report["config"]["channels"] == 2 and report["provenance"]["channels"] == "weights"
    assert report["derived"]["codebooks_per_bandwidth"] == {"3.0": 2, "6.0": 4, "12.0": 8,
                                                            "24.0": 16}


def test_convert_export_round_trip_via_cli(ckpt, tmp_path, capsys):
    before = file_fingerprint(ckpt)
    assert main(["convert", str(ckpt), str(tmp_path / "hf"), "--to", "hf"]) == 0
    assert main(["convert", str(tmp_path / "hf"), str(tmp_path / "o.th"), "--to",
                 "encodec"]) == 0
    out = capsys.readouterr().out
    assert out.count("bitwise equal") == 2
    assert file_fingerprint(ckpt) == before
    train = write_audiocraft_training(tmp_path / "train.th", SMALL24,
                                      best=random_model(SMALL24).state_dict())
    assert main(["export", str(train), str(tmp_path / "exp.th")]) == 0
    assert main(["export", str(tmp_path / "exp.th"), str(tmp_path / "x.th")]) == 2
    assert "already exported" in capsys.readouterr().err


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


@pytest.mark.parametrize("case", ["garbage", "empty", "pointer", "missing"])
def test_unreadable_inputs_exit_2_with_one_sentence(case, tmp_path, capsys):
    path = tmp_path / "x.th"
    if case == "garbage":
        path.write_bytes(b"not a checkpoint at all")
    elif case == "empty":
        path.write_bytes(b"")
    elif case == "pointer":
        write_audiocraft_pointer(path, "facebook/encodec_32khz")
    code = main(["inspect", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and "Traceback" not in err
    if case == "pointer":
        assert "facebook/encodec_32khz" in err


def test_key_mismatch_exits_1_naming_keys(tmp_path, capsys):
    sd = random_model(SMALL24).state_dict()
    sd.pop("decoder.model.15.conv.conv.bias")
    path = write_audiocraft(tmp_path / "partial.th", SMALL24, sd)
    assert main(["inspect", str(path)]) == 1
    err = capsys.readouterr().err
    assert "decoder.model.15.conv.conv.bias" in err and "Traceback" not in err


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


def test_set_overrides_and_preset(tmp_path, capsys):
    path = tmp_path / "m.th"
    torch.save(random_model(SMALL24).state_dict(), path)
    assert main(["inspect", str(path), "--set", "pad_mode=constant"]) == 0
    out = capsys.readouterr().out
    assert "pad_mode             = constant" in out and "[flag]" in out
    assert main(["inspect", str(path), "--set", "nonsense"]) == 2
