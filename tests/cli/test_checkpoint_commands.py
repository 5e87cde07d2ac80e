"""inspect / convert / export from the command line."""

from __future__ import annotations

import json

import pytest
import torch

from conformance.checkpoints.write import write_audiocraft
from conformance.cli.main import main
from conformance.testing.weights import random_model
from tests.checkpoint_files import (
    file_fingerprint,
    write_audiocraft_training,
)
from tests.configs import small

SMALL48 = small("encodec_48khz")


SMALL24 = small("encodec_24khz")


@pytest.fixture()
def ckpt(tmp_path):
    return write_audiocraft(tmp_path / "ac48.th", SMALL48, random_model(SMALL48, 3).state_dict())


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


def test_key_mismatch_exits_1_naming_keys(tmp_path, capsys):
    sd = random_model(SMALL24).state_dict()
    sd.pop("decoder.model.15.conv.conv.bias")
    path = write_audiocraft(tmp_path / "partial.th", SMALL24, sd)
    assert main(["inspect", str(path)]) == 1
    err = capsys.readouterr().err
    assert "decoder.model.15.conv.conv.bias" in err and "Traceback" not in err


def test_set_overrides_and_preset(tmp_path, capsys):
    path = tmp_path / "m.th"
    torch.save(random_model(SMALL24).state_dict(), path)
    assert main(["inspect", str(path), "--set", "pad_mode=constant"]) == 0
    out = capsys.readouterr().out
    assert "pad_mode             = constant" in out and "[flag]" in out
    assert main(["inspect", str(path), "--set", "nonsense"]) == 2
