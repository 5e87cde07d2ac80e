"""`pytest --encodec-checkpoint CKPT --encodec-audio DIR`: one test per file, ids are the
relative paths, under xdist too; unreadable files skip, files worse than the tail limit fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.corpus.conftest import write_checkpoint, write_wav


def _pytest(cwd, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                           "-rfEs", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=900)


@pytest.fixture()
def project(tmp_path):
    corpus = tmp_path / "corpus"
    write_wav(corpus / "a.wav", 0.6, 24000, seed=1)
    write_wav(corpus / "speech" / "b.flac", 0.7, 16000, seed=2, format="FLAC")
    write_wav(corpus / "speech" / "c.wav", 0.5, 48000, channels=2, seed=3)
    (corpus / "speech" / "broken.wav").write_bytes(b"RIFF....")
    work = tmp_path / "work"
    work.mkdir()
    return work, corpus, write_checkpoint(tmp_path)


def test_one_test_per_file_named_by_its_relative_path(project):
    work, corpus, ckpt = project
    run = _pytest(work, "--encodec-checkpoint", str(ckpt), "--encodec-audio", str(corpus),
                  "--collect-only")
    assert run.returncode == 0, run.stdout[-3000:]
    for rel in ("a.wav", "speech/b.flac", "speech/c.wav", "speech/broken.wav"):
        assert f"test_audio_file[{rel}]" in run.stdout
    assert "test_check[" not in run.stdout  # the files instead of the checkpoint checks


def test_files_pass_and_unreadable_ones_skip_under_xdist(project):
    work, corpus, ckpt = project
    run = _pytest(work, "--encodec-checkpoint", str(ckpt), "--encodec-audio", str(corpus),
                  "-n", "2", "--junitxml", str(work / "junit.xml"))
    assert run.returncode == 0, run.stdout[-3000:]
    assert "3 passed, 1 skipped" in run.stdout and "broken.wav" in run.stdout
    junit = (work / "junit.xml").read_text()
    assert "encodec_record" in junit and "speech/b.flac" in junit


def test_a_file_worse_than_the_tail_limit_fails(project):
    work, corpus, ckpt = project
    strict = work / "t.json"
    strict.write_text(json.dumps({"base": "none", "thresholds": [
        {"bandwidth_kbps": 1.8, "metric": "mel_distance", "statistic": "p95",
         "maximum": 1e-6}]}))
    run = _pytest(work, "--encodec-checkpoint", str(ckpt), "--encodec-audio", str(corpus),
                  "--encodec-audio-thresholds", str(strict), "-k", "b.flac")
    assert run.returncode == 1, run.stdout[-3000:]
    assert "speech/b.flac: mel_distance at 1.8 kbps" in run.stdout
    assert "(the corpus p95 limit)" in run.stdout


def test_audio_needs_exactly_one_checkpoint(project):
    work, corpus, _ = project
    run = _pytest(work, "--encodec-audio", str(corpus))
    assert run.returncode != 0
    assert "--encodec-audio needs exactly one --encodec-checkpoint" in run.stdout + run.stderr
