"""The golden report: the CLI passes the bundle and writes JSON, fails a tampered manifest, refuses
an empty folder; the summary table."""

from __future__ import annotations

import copy
import json
import shutil

import pytest

from conformance.cli.main import main as cli_main
from conformance.golden.bundle import golden_checkpoints


def _metric(v):
    return {"status": "computed", "value": v}


def _manifest(stoi=(0.90, 0.88), pesq=(1.6, 1.4), mel=(0.50, 0.60)) -> dict:
    clips = {}
    for i, name in enumerate(("speech_a", "speech_b")):
        clips[name] = {"kind": "speech", "bandwidths": {
            "1.5": {"metrics": {"stoi": _metric(stoi[i] - 0.1), "pesq_wb": _metric(pesq[i] - 0.2),
                                "mel_distance": _metric(mel[i] + 0.1),
                                "si_sdr": _metric(1.0)}},
            "6.0": {"metrics": {"stoi": _metric(stoi[i]), "pesq_wb": _metric(pesq[i]),
                                "mel_distance": _metric(mel[i]), "si_sdr": _metric(3.0)}}}}
    clips["music"] = {"kind": "music", "bandwidths": {
        "1.5": {"metrics": {"stoi": _metric(0.1), "pesq_wb": _metric(1.0),
                            "mel_distance": _metric(9.0), "si_sdr": _metric(0.0)}},
        "6.0": {"metrics": {"stoi": _metric(0.1), "pesq_wb": _metric(1.0),
                            "mel_distance": _metric(9.0), "si_sdr": _metric(0.0)}}}}
    return {"bandwidths": [1.5, 6.0], "clips": clips}


def _copy_golden(tmp_path, family: str):
    g = next(g for g in golden_checkpoints() if g.family == family)
    for f in g.checkpoint.parent.glob(f"{family}.*"):
        shutil.copy(f, tmp_path / f.name)
    shutil.copy(g.checkpoint.parent / "thresholds.json", tmp_path / "thresholds.json")
    return tmp_path / f"{family}.manifest.json"


@pytest.mark.golden
def test_golden_cli_passes_the_bundle_and_writes_json(tmp_path, capsys) -> None:
    out = tmp_path / "report.json"
    rc = cli_main(["golden", "--family", "encodec_32khz", "--no-sensitivity", "--json",
                   str(out)])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "| encodec_32khz |" in text and "PASS" in text
    data = json.loads(out.read_text())
    assert data["passed"] is True and data["families"][0]["regression"].get("failed", 0) == 0
    assert data["families"][0]["regression"]["passed"] > 0


@pytest.mark.golden
def test_golden_cli_fails_a_tampered_manifest(tmp_path, capsys) -> None:
    man = _copy_golden(tmp_path, "encodec_32khz")
    data = json.loads(man.read_text())
    bad = copy.deepcopy(data)
    clip = next(iter(bad["clips"]))
    entry = next(iter(bad["clips"][clip]["bandwidths"].values()))
    entry["codes_sha256"] = "0" * 64
    man.write_text(json.dumps(bad))
    rc = cli_main(["golden", "--dir", str(tmp_path), "--no-sensitivity"])
    text = capsys.readouterr().out
    assert rc == 1 and "FAIL" in text and clip in text


def test_golden_cli_refuses_a_folder_without_checkpoints(tmp_path, capsys) -> None:
    assert cli_main(["golden", "--dir", str(tmp_path)]) == 2
    assert "no golden checkpoints" in capsys.readouterr().err


def test_summary_table_lists_each_family_bandwidth_and_speech_clip(tmp_path) -> None:
    from conformance.golden import report as summary

    m = _manifest(stoi=(0.912, 0.871), pesq=(1.61, 1.42))
    m["clips"]["speech_female_x"] = m["clips"].pop("speech_a")
    m["clips"]["speech_male_y"] = m["clips"].pop("speech_b")
    m["checkpoint"] = {"size_bytes": 3_400_000}
    m["training"] = {"steps": 1234, "train_seconds": 1800.0}
    m["manifest_version"] = 2
    (tmp_path / "encodec_24khz.th").write_bytes(b"not read")
    (tmp_path / "encodec_24khz.manifest.json").write_text(json.dumps(m))
    lines = summary.summary_table(tmp_path).splitlines()
    rows = [line for line in lines if "| female |" in line or "| male |" in line]
    assert len(rows) == 4  # 2 bandwidths x 2 speech clips; music is not a speech clip
    assert "3.4 MB" in lines[2] and "1234 steps, 30 CPU-min" in lines[2]
    assert any("| 6 | female | 0.912 | 1.610 |" in r for r in rows)
    assert any("| 6 | male | 0.871 | 1.420 |" in r for r in rows)
    assert any("encodec_48khz | not installed" in line for line in lines)


@pytest.mark.golden
def test_listening_pack_has_audio_and_spectrograms_with_axes(tmp_path) -> None:
    from PIL import Image

    from conformance.golden.report import write_listening_pack

    g = next(g for g in golden_checkpoints() if g.family == "encodec_24khz")
    lines = write_listening_pack(g, tmp_path)
    clips = list(g.manifest["clips"])
    assert len(lines) == 2 + len(clips) and "(input, decode, difference)" in lines[0]
    for clip in clips:
        stem = f"encodec_24khz.{clip}"
        assert (tmp_path / f"{stem}.input.wav").exists()
        assert (tmp_path / f"{stem}.decoded.wav").exists()
        assert Image.open(tmp_path / f"{stem}.png").size == (1100, 270)  # the report's figure
        assert any(f"]({stem}.png)" in line for line in lines)
