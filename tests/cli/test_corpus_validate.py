"""`validate CKPT --audio DIR`: the corpus branch of the command, its options and exit codes."""

from __future__ import annotations

import json

import pytest

from conformance.cli.main import main
from conformance.corpus.aggregate import validate_report
from conformance.corpus.results import read_results
from tests.corpus.conftest import write_checkpoint, write_wav

FAST = ["--metric", "si_sdr", "--metric", "mel_distance"]


@pytest.fixture()
def setup(tmp_path):
    corpus = tmp_path / "corpus"
    for i in range(5):
        write_wav(corpus / f"d{i % 2}" / f"clip{i}.wav", 0.4 + 0.1 * i, 24000, seed=i)
    write_wav(corpus / "other_rate.wav", 0.5, 16000, seed=9)
    (corpus / "broken.flac").write_bytes(b"fLaC but not really")
    return corpus, write_checkpoint(tmp_path)


def test_a_corpus_run_writes_results_and_a_valid_report(setup, tmp_path, capsys):
    corpus, ckpt = setup
    code = main(["validate", str(ckpt), "--audio", str(corpus), "--jsonl",
                 str(tmp_path / "r.jsonl"), "--json", str(tmp_path / "r.json"), "--html",
                 str(tmp_path / "r.html"), *FAST])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "corpus: 7 file(s): 6 evaluated, 1 unreadable" in out.out
    assert "unreadable: broken.flac" in out.out
    report = json.loads((tmp_path / "r.json").read_text())
    validate_report(report)
    assert report["verdict"] == "conformant" and report["family"] is None
    assert "no corpus threshold applies" in report["reasons"][0]
    assert len(read_results(tmp_path / "r.jsonl").records) == 7
    assert "conformant" in (tmp_path / "r.html").read_text()


def test_a_failing_threshold_exits_1_and_a_bad_thresholds_file_exits_2(setup, tmp_path,
                                                                      capsys):
    corpus, ckpt = setup
    strict = tmp_path / "t.yaml"
    strict.write_text("base: none\nthresholds:\n  - {bandwidth_kbps: 0.9, metric: si_sdr, "
                      "statistic: mean, minimum: 100}\n")
    assert main(["validate", str(ckpt), "--audio", str(corpus), "--thresholds", str(strict),
                 *FAST]) == 1
    assert "verdict: not_conformant (exit 1): mean si_sdr at 0.9 kbps" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {metric: si_sdr}\n")
    assert main(["validate", str(ckpt), "--audio", str(corpus), "--thresholds", str(bad),
                 *FAST]) == 2
    assert "missing bandwidth_kbps, statistic" in capsys.readouterr().err


def test_shards_exit_0_and_say_the_verdict_is_merge_reports(setup, tmp_path, capsys):
    corpus, ckpt = setup
    for i in (1, 2):
        assert main(["validate", str(ckpt), "--audio", str(corpus), "--shard", f"{i}/2",
                     "--jsonl", str(tmp_path / f"s{i}.jsonl"), *FAST]) == 0
    assert "merge-reports judges the corpus" in capsys.readouterr().err
    total = sum(len(read_results(tmp_path / f"s{i}.jsonl").records) for i in (1, 2))
    assert total == 7


def test_resume_continues_and_refuses_other_options(setup, tmp_path, capsys):
    corpus, ckpt = setup
    out = tmp_path / "r.jsonl"
    assert main(["validate", str(ckpt), "--audio", str(corpus), "--jsonl", str(out),
                 *FAST]) == 0
    assert main(["validate", str(ckpt), "--audio", str(corpus), "--jsonl", str(out),
                 *FAST]) == 2
    assert "pass --resume" in capsys.readouterr().err
    assert main(["validate", str(ckpt), "--audio", str(corpus), "--jsonl", str(out),
                 "--resume", *FAST]) == 0
    assert "resumed: 7 file(s) already done" in capsys.readouterr().err
    assert main(["validate", str(ckpt), "--audio", str(corpus), "--jsonl", str(out),
                 "--resume", "--metric", "si_sdr"]) == 2
    assert "different run" in capsys.readouterr().err


def test_no_convert_skips_other_rates(setup, capsys):
    corpus, ckpt = setup
    assert main(["validate", str(ckpt), "--audio", str(corpus), "--no-convert", *FAST]) == 0
    assert "1 not converted" in capsys.readouterr().out


@pytest.mark.parametrize("extra, message", [
    (["--impl", "conformance.adapters:reference_adapter"], "not --impl"),
    (["--resume"], "--resume needs --jsonl"),
    (["--shard", "3/2"], "--shard"),
    (["--bandwidth", "7"], "bandwidth=7.0 kbps is not supported"),
    (["--device", "tpu"], "expected cpu, cuda or cuda:N")])
def test_bad_arguments_exit_2(setup, capsys, extra, message):
    corpus, ckpt = setup
    assert main(["validate", str(ckpt), "--audio", str(corpus), *FAST, *extra]) == 2
    assert message in capsys.readouterr().err


def test_one_checkpoint_and_a_real_directory_are_needed(setup, tmp_path, capsys):
    corpus, ckpt = setup
    assert main(["validate", str(ckpt), str(ckpt), "--audio", str(corpus)]) == 2
    assert "exactly one checkpoint" in capsys.readouterr().err
    assert main(["validate", str(ckpt), "--audio", str(tmp_path / "none")]) == 2
    assert "not a directory" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["validate", str(ckpt), "--audio", str(empty), *FAST]) == 2
    assert "no audio file could be evaluated (none was found)" in capsys.readouterr().out


def test_the_progress_bar_can_be_forced(setup, capsys):
    corpus, ckpt = setup
    assert main(["validate", str(ckpt), "--audio", str(corpus), "--progress", *FAST]) == 0
    err = capsys.readouterr().err
    assert "corpus:" in err and "7/7" in err
