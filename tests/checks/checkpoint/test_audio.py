"""audio.*: decodes judged on the reference clips; random weights are caught by silence and
clipping, and by quality once thresholds apply."""

from __future__ import annotations

import pytest

from conformance.golden.thresholds import golden_thresholds
from conformance.status import Status
from tests.checks.conftest import run, write


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    path = write(tmp_path_factory.mktemp("audio"))
    return run(path, select={"audio"}, thresholds=golden_thresholds(),
               family="encodec_24khz")[1]


def test_every_clip_and_bandwidth_is_a_case(outcomes):
    quality = [k for k in outcomes if k.startswith("audio.quality[")]
    assert len(quality) == 4 * 2  # four reference clips x the model's two bandwidths
    assert "audio.quality[speech_male_16k_cmu_arctic_awb_a0007-1.8kbps]" in quality


def test_random_weights_fail_quality_against_the_family_thresholds(outcomes):
    bad = outcomes["audio.quality[speech_male_16k_cmu_arctic_awb_a0007-1.8kbps]"]
    assert bad.status is Status.FAILED
    assert "stoi=0.4" in bad.reason and "but should be >=" in bad.reason


def test_speech_thresholds_do_not_judge_music_and_say_so(outcomes):
    music = outcomes["audio.quality[music_tabla_loop_44k_sonicpi-1.8kbps]"]
    assert music.status is Status.NOT_APPLICABLE
    assert "speech measures" in music.reason and "stoi" in music.reason


def test_silence_and_clipping_catch_a_decoder_that_emits_noise(outcomes):
    assert outcomes["audio.silence"].status is Status.FAILED
    assert "but should be below -40 dBFS" in outcomes["audio.silence"].reason
    assert outcomes["audio.clipping"].status is Status.FAILED
    assert outcomes["audio.finite"].status is Status.PASSED


def test_without_thresholds_metrics_are_reported_without_a_verdict(tmp_path):
    _, out = run(write(tmp_path), select={"audio"})
    q = out["audio.quality[speech_female_16k_cmu_arctic_slt_a0009-1.8kbps]"]
    assert q.status is Status.NOT_APPLICABLE and "pesq_wb" in q.reason
