"""The pytest plugin, as a third party runs it: from an empty directory, on their own
implementation or checkpoint, with -k, xdist and an expected-failures file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.checks.conftest import write

BUGGY = '''
from conformance.adapters.reference import ReferenceAdapter, reference_adapter


class ClampsInput(ReferenceAdapter):
    name = "clamps"

    def encode(self, audio, bandwidth_kbps):
        return super().encode(audio.clamp(-1.0, 1.0), bandwidth_kbps)


def factory(weights):
    return ClampsInput(reference_adapter(weights).model)
'''


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env["PYTHONPATH"] = str(cwd)  # where the user's adapter module lives
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "-q", "-rfEx", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture()
def project(tmp_path):
    (tmp_path / "mycodec.py").write_text(BUGGY)
    return tmp_path


def test_a_clean_implementation_passes_from_an_empty_directory(tmp_path):
    run = _pytest(tmp_path, "--encodec-impl", "conformance.adapters:reference_adapter",
                  "--encodec-family", "encodec_32khz", "-k", "impl.codes or impl.metadata")
    assert run.returncode == 0, run.stdout[-3000:]
    assert " passed" in run.stdout and "failed" not in run.stdout


def test_a_buggy_implementation_fails_like_a_bug_report(project):
    run = _pytest(project, "--encodec-impl", "mycodec:factory", "--encodec-family",
                  "encodec_32khz", "-k", "impl.codes")
    assert run.returncode == 1, run.stdout[-3000:]
    assert "encodec_32khz-impl.codes-loud-2.2kbps" in run.stdout
    assert "reproduce with:" in run.stdout and "load_factory('mycodec:factory')" in run.stdout
    assert "encodec_32khz-impl.codes-speech-2.2kbps" not in run.stdout.split("FAILED", 1)[1]


def test_expected_failures_xfail_and_stale_entries_are_reported(project):
    xfails = project / "xfails.txt"
    xfails.write_text("impl.codes[*-loud-*]  our port clamps input (tracked)\n"
                      "impl.codez  a typo\n")
    run = _pytest(project, "--encodec-impl", "mycodec:factory", "--encodec-family",
                  "encodec_32khz", "-k", "impl.codes", "--encodec-xfails", str(xfails),
                  "-n", "2")
    assert run.returncode == 0, run.stdout[-3000:]
    assert "xfailed" in run.stdout and "our port clamps input" in run.stdout
    assert "'impl.codez' matches no check case" in run.stdout


def test_a_checkpoint_is_validated_with_one_test_per_case(tmp_path):
    path = write(tmp_path)
    run = _pytest(tmp_path, "--encodec-checkpoint", str(path), "-k", "load or codebook",
                  "--collect-only")
    assert run.returncode == 0, run.stdout[-3000:]
    assert "test_check[model.th-load.keys]" in run.stdout
    run = _pytest(tmp_path, "--encodec-checkpoint", str(path), "-k", "load or codebook")
    assert run.returncode == 0 and "10 passed" in run.stdout, run.stdout[-3000:]
