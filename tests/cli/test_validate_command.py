"""`encodec-conformance validate`: exit 0 conformant, 1 not, 2 refused; JSON that follows the
schema; --impl, --check, --xfails."""

from __future__ import annotations

import json
import os

import pytest
import torch

from conformance.checks.report import validate_report
from conformance.cli.main import main
from tests.checks.conftest import write


def test_a_clean_checkpoint_passes_the_selected_checks_and_writes_json(tmp_path, capsys):
    out = tmp_path / "report.json"
    code = main(["validate", str(write(tmp_path)), "--check", "load", "--check", "config.*",
                 "--json", str(out), "--no-progress"])
    assert code == 0, capsys.readouterr().out
    report = json.loads(out.read_text())
    validate_report(report)
    ids = {o["id"] for o in report["subjects"][0]["outcomes"]}
    assert ids == {"load.format", "load.safe_read", "load.finite", "load.keys", "load.dtype",
                   "config.resolved", "config.consistent", "config.ambiguities"}
    assert "CONFORMANT (exit code 0)" in capsys.readouterr().out


def test_a_noise_decoder_is_not_conformant_exit_1_naming_the_check(tmp_path, capsys):
    code = main(["validate", str(write(tmp_path)), "--check", "audio.silence",
                 "--no-progress"])
    text = capsys.readouterr().out
    assert code == 1 and "audio.silence" in text and "below -40 dBFS" in text


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_a_hostile_file_is_refused_exit_2_and_nothing_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.th"
    torch.save({"best_state": _Evil()}, path)
    assert main(["validate", str(path), "--no-progress"]) == 2
    assert not (tmp_path / "PWNED").exists()
    assert "posix.system" in capsys.readouterr().out


def test_an_implementation_is_validated_on_a_golden_family(tmp_path, capsys):
    out = tmp_path / "impl.json"
    code = main(["validate", "--impl", "conformance.adapters:reference_adapter", "--family",
                 "encodec_32khz", "--check", "impl.codes", "--json", str(out),
                 "--no-progress"])
    assert code == 0, capsys.readouterr().out
    report = json.loads(out.read_text())
    validate_report(report)
    (subject,) = report["subjects"]
    assert subject["kind"] == "implementation" and subject["family"] == "encodec_32khz"
    assert {o["check"] for o in subject["outcomes"]} == {"impl.codes"}


@pytest.mark.parametrize(("spec", "words"), [
    ("no_colon", "expected MODULE:FACTORY"),
    ("not_a_module_xyz:f", "cannot import 'not_a_module_xyz'"),
    ("conformance.adapters:nothing_here", "has no callable 'nothing_here'"),
])
def test_a_bad_impl_spec_is_refused_naming_it(spec, words, capsys):
    code = main(["validate", "--impl", spec, "--family", "encodec_32khz", "--check",
                 "impl.metadata", "--no-progress"])
    assert code == 2
    assert words in capsys.readouterr().err


def test_a_factory_that_raises_fails_every_check_naming_why(tmp_path, capsys, monkeypatch):
    (tmp_path / "brokencodec.py").write_text(
        "def factory(weights):\n    raise RuntimeError('cannot read weights_g')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code = main(["validate", "--impl", "brokencodec:factory", "--family", "encodec_32khz",
                 "--check", "impl.metadata", "--no-progress"])
    assert code == 1
    assert "cannot read weights_g" in capsys.readouterr().out


def test_stale_xfails_are_reported_and_a_missing_reason_refused(tmp_path, capsys):
    xfails = tmp_path / "xf.txt"
    xfails.write_text("audio.silence  random weights\nload.kees  a typo\n")
    out = tmp_path / "r.json"
    code = main(["validate", str(write(tmp_path)), "--check", "audio.silence", "--check",
                 "load", "--xfails", str(xfails), "--json", str(out), "--no-progress"])
    assert code == 0, capsys.readouterr().out
    assert json.loads(out.read_text())["expected_failures"]["unmatched"] == [
        f"load.kees ({xfails})"]
    xfails.write_text("audio.silence\n")
    assert main(["validate", str(write(tmp_path)), "--xfails", str(xfails),
                 "--no-progress"]) == 2
    assert "has no reason" in capsys.readouterr().err
