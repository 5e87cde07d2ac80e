"""Objective metrics: anchor values, monotonicity, failure statuses, RNG isolation, resampling."""

from __future__ import annotations

import json
import math
import sys
import warnings

import numpy as np
import pytest
import torch

from conformance._data import reference_audio_dir
from conformance.audio.io import convert_audio, load_audio
from conformance.quality import metrics as M
from conformance.quality.metrics import MetricResult, compute_metrics, format_table

SPEECH = reference_audio_dir() / "speech_female_16k_cmu_arctic_slt_a0009.wav"
SNRS = (30.0, 20.0, 10.0, 0.0)
PERCEPTUAL = ("pesq_wb", "pesq_nb", "stoi", "estoi")
HIGHER_IS_BETTER = (*PERCEPTUAL, "si_sdr")
LOWER_IS_BETTER = ("mel_distance", "log_spectral_distance")
INSTALL_REASON = "is not installed (pip install encodec-conformance[metrics])"

def _require(*modules: str) -> None:
    for name in modules:
        pytest.importorskip(name)


@pytest.fixture(scope="module")
def speech() -> tuple[torch.Tensor, int]:
    wav, sr = load_audio(SPEECH)
    assert sr == 16000 and wav.shape[0] == 1
    return wav.double(), sr


def _noisy(ref: torch.Tensor, snr_db: float, seed: int = 0) -> torch.Tensor:
    """`ref` plus white noise whose power is `snr_db` below the zero-mean reference's power."""
    noise = torch.from_numpy(np.random.default_rng(seed).standard_normal(ref.shape))
    p_ref = (ref - ref.mean()).pow(2).mean()
    return ref + noise * (p_ref / noise.pow(2).mean()).sqrt() * 10 ** (-snr_db / 20)


@pytest.fixture(scope="module")
def ladder(speech) -> dict[float, dict[str, MetricResult]]:
    _require("pesq", "pystoi")
    ref, sr = speech
    return {snr: compute_metrics(ref, _noisy(ref, snr), sr) for snr in SNRS}


# ------------------------------------------------------------------------------- anchor values
def test_identical_signals_hit_the_anchors(speech):
    _require("pesq", "pystoi")
    ref, sr = speech
    res = compute_metrics(ref, ref.clone(), sr)
    assert all(r.ok for r in res.values()), format_table(res)
    assert res["pesq_wb"].value == pytest.approx(4.644, abs=0.01)
    assert res["pesq_nb"].value == pytest.approx(4.549, abs=0.01)
    assert res["stoi"].value > 0.99
    assert res["estoi"].value > 0.99
    assert res["si_sdr"].value > 100
    assert res["mel_distance"].value == pytest.approx(0.0, abs=1e-9)
    assert res["log_spectral_distance"].value == pytest.approx(0.0, abs=1e-9)
    assert res["pesq_wb"].details["pesq_rate"] == 16000
    assert res["pesq_nb"].details["pesq_rate"] == 8000


def test_scores_move_monotonically_with_noise(ladder):
    for name in HIGHER_IS_BETTER:
        values = [ladder[snr][name].value for snr in SNRS]
        assert all(a > b for a, b in zip(values, values[1:])), (name, values)
    for name in LOWER_IS_BETTER:
        values = [ladder[snr][name].value for snr in SNRS]
        assert all(a < b for a, b in zip(values, values[1:])), (name, values)
    # White noise at 0 dB SNR is badly degraded speech; at 30 dB it is still intelligible.
    assert ladder[0.0]["pesq_wb"].value < 1.5
    assert ladder[30.0]["stoi"].value > 0.95
    assert ladder[0.0]["stoi"].value < 0.9


@pytest.mark.parametrize("snr", SNRS)
def test_si_sdr_recovers_the_snr(ladder, snr):
    assert ladder[snr]["si_sdr"].value == pytest.approx(snr, abs=0.5)


def test_si_sdr_is_scale_invariant_and_zero_mean(speech):
    ref, sr = speech
    deg = _noisy(ref, 12.0, seed=3)
    base = M.si_sdr(ref, deg, sr).value
    for gain in (0.01, 0.5, 7.0, -2.0):
        assert M.si_sdr(ref, gain * deg, sr).value == pytest.approx(base, abs=1e-9)
    assert M.si_sdr(ref, deg + 0.2, sr).value == pytest.approx(base, abs=1e-9)  # DC offset
    assert M.si_sdr(3 * ref, deg, sr).value == pytest.approx(base, abs=1e-9)
    # ...but not invariant to what is added: more noise, lower score
    assert M.si_sdr(ref, _noisy(ref, 6.0, seed=3), sr).value < base - 5


def test_spectral_distances_are_not_gain_blind(speech):
    ref, sr = speech
    assert M.mel_distance(ref, 0.5 * ref, sr).value == pytest.approx(math.log10(2), rel=1e-6)
    assert M.log_spectral_distance(ref, 0.5 * ref, sr).value == pytest.approx(
        20 * math.log10(2), rel=1e-3)


# ------------------------------------------------------------------------------ not_computed
def _assert_not_computed(result: MetricResult, *words: str) -> None:
    assert result.status == "not_computed", result
    assert result.value is None
    assert not result.ok
    assert result.reason and any(w in result.reason.lower() for w in words), result.reason


@pytest.mark.parametrize("name", HIGHER_IS_BETTER)
def test_silent_or_near_silent_reference_is_not_computed(speech, name):
    _require("pesq", "pystoi")
    ref, sr = speech
    zeros = torch.zeros_like(ref)
    # pesq scores a 1e-6 noise reference ~1.03 and pystoi scores all-zero inputs 0.0: neither
    # may leak out as a number.
    tiny = 1e-6 * torch.from_numpy(np.random.default_rng(1).standard_normal(ref.shape))
    for reference, degraded in ((zeros, ref), (zeros, zeros), (tiny, ref)):
        _assert_not_computed(M.METRICS[name](reference, degraded, sr), "silent", "utterance")


def test_silent_degraded_signal(speech):
    _require("pesq", "pystoi")
    ref, sr = speech
    zeros = torch.zeros_like(ref)
    # pesq itself dies with "cannot convert float NaN to integer" here
    _assert_not_computed(M.pesq_wb(ref, zeros, sr), "silent")
    _assert_not_computed(M.si_sdr(ref, zeros, sr), "silent")
    # STOI of speech against silence is a real (bad) score
    assert M.stoi(ref, zeros, sr).value < 0.1
    assert M.mel_distance(ref, zeros, sr).value > 1.0


@pytest.mark.parametrize("name", [*PERCEPTUAL, *LOWER_IS_BETTER])
def test_too_short_input_is_not_computed(speech, name):
    _require("pesq", "pystoi")
    ref, sr = speech
    clip = ref[:, 16000:17600]  # 0.1 s of voiced speech
    _assert_not_computed(M.METRICS[name](clip, clip.clone(), sr), "short")


def test_stoi_short_input_paths(speech):
    _require("pesq", "pystoi")
    ref, sr = speech
    tiny = ref[:, 16000:16160]  # 10 ms: pystoi raises AxisError
    _assert_not_computed(M.stoi(tiny, tiny, sr), "short")
    mid = ref[:, 16000:20800]  # 0.3 s: PESQ works, pystoi returns its 1e-5 placeholder
    assert M.pesq_wb(mid, mid, sr).value == pytest.approx(4.644, abs=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the pystoi warning is absorbed
        result = M.stoi(mid, mid, sr)
    _assert_not_computed(result, "short")
    assert "1e-05" in result.reason


@pytest.mark.parametrize("name", list(M.METRICS))
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_input_is_not_computed(speech, name, bad):
    ref, sr = speech
    broken = ref.clone()
    broken[0, 1000] = bad
    _assert_not_computed(M.METRICS[name](broken, ref, sr), "nan")
    _assert_not_computed(M.METRICS[name](ref, broken, sr), "nan")


@pytest.mark.parametrize("name", list(M.METRICS))
def test_invalid_shapes_and_rates_are_not_computed(speech, name):
    ref, sr = speech
    fn = M.METRICS[name]
    stereo = ref.repeat(2, 1)
    _assert_not_computed(fn(ref, stereo, sr), "channel")
    _assert_not_computed(fn(stereo.T, stereo.T, sr), "[c, t]")
    _assert_not_computed(fn(ref[None], ref[None], sr), "expected [t] or [c, t]")
    _assert_not_computed(fn(ref[:, :0], ref[:, :0], sr), "empty")
    _assert_not_computed(fn(ref, ref, sr, degraded_rate=24000), "sample rate mismatch")
    _assert_not_computed(fn(ref, ref, 0), "sample rate")
    _assert_not_computed(fn(ref, [0.0] * 10, sr), "numpy")
    _assert_not_computed(fn(ref, np.array(["a"] * 10), sr), "dtype")


def test_missing_dependencies_are_reported(speech, monkeypatch):
    ref, sr = speech
    monkeypatch.setitem(sys.modules, "pesq", None)  # makes `import pesq` raise ImportError
    monkeypatch.setitem(sys.modules, "pystoi", None)
    res = compute_metrics(ref, ref, sr)
    for name, lib in (("pesq_wb", "pesq"), ("pesq_nb", "pesq"), ("stoi", "pystoi"),
                      ("estoi", "pystoi")):
        _assert_not_computed(res[name], "not installed")
        assert res[name].reason == f"{lib} {INSTALL_REASON}"
    assert res["si_sdr"].ok and res["mel_distance"].ok


@pytest.mark.parametrize("error, words", [
    ("NoUtterancesError", ("no utterances",)),
    ("BufferTooShortError", ("too short", "0.25 s")),
    ("InvalidSampleRateError", ("sample rate",)),
    ("OutOfMemoryError", ("outofmemoryerror",)),
    (ValueError("fs should be 8000 or 16000"), ("valueerror",)),
])
def test_pesq_errors_map_to_reasons(speech, monkeypatch, error, words):
    _require("pesq")
    import pesq

    exc = getattr(pesq, error)(b"from C") if isinstance(error, str) else error

    def boom(*args, **kwargs):
        raise exc

    monkeypatch.setattr(pesq, "pesq", boom)
    ref, sr = speech
    result = M.pesq_wb(ref, ref, sr)
    _assert_not_computed(result, words[0])
    assert all(w in result.reason.lower() for w in words), result.reason


# ------------------------------------------------------------------- determinism, resampling
def test_estoi_is_reproducible_and_leaves_the_global_rng_alone(speech):
    _require("pystoi")
    ref, sr = speech
    deg = _noisy(ref, 5.0, seed=2)
    np.random.seed(123)
    expected_draw = np.random.standard_normal(4)
    np.random.seed(123)
    first = M.estoi(ref, deg, sr).value
    assert np.array_equal(np.random.standard_normal(4), expected_draw)
    np.random.seed(999)
    assert M.estoi(ref, deg, sr).value == first
    np.random.seed(123)
    state = np.random.get_state()
    M.estoi(ref, deg, sr)
    after = np.random.get_state()
    assert all(np.array_equal(a, b) for a, b in zip(state, after))


def test_pesq_resamples_with_the_pinned_resampler(speech):
    _require("pesq")
    ref16, sr = speech
    deg16 = _noisy(ref16, 15.0, seed=4)
    ref24 = convert_audio(ref16, sr, 24000, 1)
    deg24 = convert_audio(deg16, sr, 24000, 1)
    for fn, rate in ((M.pesq_wb, 16000), (M.pesq_nb, 8000)):
        at24 = fn(ref24, deg24, 24000).value
        by_hand = fn(convert_audio(ref24, 24000, rate, 1), convert_audio(deg24, 24000, rate, 1),
                     rate).value
        assert at24 == by_hand
    # Another resampler gives another score, so the equality above has teeth.
    import torchaudio.functional as AF

    kaiser = {"resampling_method": "sinc_interp_kaiser", "lowpass_filter_width": 16,
              "rolloff": 0.85}
    other = M.pesq_wb(AF.resample(ref24, 24000, 16000, **kaiser),
                      AF.resample(deg24, 24000, 16000, **kaiser), 16000).value
    assert other != M.pesq_wb(ref24, deg24, 24000).value


# ------------------------------------------------------------------- channels, lengths, types
def test_multichannel_handling(speech):
    _require("pesq", "pystoi")
    ref, sr = speech
    noisy = _noisy(ref, 10.0, seed=5)
    stereo_ref = torch.cat([ref, ref])
    assert M.pesq_wb(stereo_ref, stereo_ref, sr).value == pytest.approx(4.644, abs=0.01)
    # PESQ/STOI score the mono mix
    other = _noisy(ref, 5.0, seed=6)
    for fn in (M.pesq_wb, M.stoi):
        mix = fn(torch.cat([ref, other]), torch.cat([noisy, ref]), sr).value
        assert mix == pytest.approx(fn((ref + other) / 2, (noisy + ref) / 2, sr).value,
                                    abs=1e-6), fn.__name__
    # SI-SDR: mean over channels; a silent reference channel is skipped
    res = M.si_sdr(stereo_ref, torch.cat([ref, noisy]), sr)
    assert res.details["per_channel"][0] == M.SI_SDR_CAP_DB
    assert res.value == pytest.approx((M.SI_SDR_CAP_DB + 10.0) / 2, abs=0.5)
    res = M.si_sdr(torch.cat([ref, torch.zeros_like(ref)]), torch.cat([noisy, noisy]), sr)
    assert res.value == pytest.approx(10.0, abs=0.5)
    assert res.details["silent_channels_skipped"] == [1]
    # mel distance: mean over channels
    one = M.mel_distance(ref, noisy, sr).value
    two = M.mel_distance(stereo_ref, torch.cat([ref, noisy]), sr).value
    assert two == pytest.approx(one / 2, rel=1e-9)


def test_lengths_are_trimmed_and_numpy_is_accepted(speech):
    _require("pesq")
    ref, sr = speech
    padded = torch.nn.functional.pad(ref, (0, 123))
    res = M.pesq_wb(ref, padded, sr)
    assert res.value == pytest.approx(4.644, abs=0.01)
    assert res.details["trimmed_samples"] == 123
    deg = _noisy(ref, 10.0)
    as_numpy = M.pesq_wb(ref[0].numpy().astype(np.float32), deg[0].numpy(), sr).value
    assert as_numpy == pytest.approx(M.pesq_wb(ref, deg, sr).value, abs=1e-4)
    reversed_view = ref[0].numpy()[::-1]  # negative strides
    assert M.si_sdr(reversed_view, reversed_view, sr).ok


# ----------------------------------------------------------------------------- result, table
def test_metric_result_never_carries_a_number_for_a_failure():
    with pytest.raises(ValueError):
        MetricResult("x", 1.0, "not_computed", "boom")
    with pytest.raises(ValueError):
        MetricResult("x", None, "not_computed")
    with pytest.raises(ValueError):
        MetricResult("x", None, "computed")
    with pytest.raises(ValueError):
        MetricResult("x", math.nan, "computed")
    ok = MetricResult("x", 2, "computed")
    assert ok.ok and isinstance(ok.value, float)
    assert ok.to_dict() == {"name": "x", "value": 2.0, "status": "computed", "reason": None,
                            "details": {}}


def test_compute_metrics_and_format_table(speech):
    ref, sr = speech
    res = compute_metrics(ref, torch.zeros_like(ref), sr, names=["si_sdr", "mel_distance"])
    assert list(res) == ["si_sdr", "mel_distance"]
    json.dumps([r.to_dict() for r in res.values()], allow_nan=False)
    table = format_table(res)
    lines = table.splitlines()
    assert lines[0].split() == ["metric", "value"]
    assert lines[2].startswith("si_sdr") and "n/a: degraded channel 0 is silent" in lines[2]
    assert lines[3].startswith("mel_distance") and f"{res['mel_distance'].value:.4f}" in lines[3]
    assert format_table(list(res.values())) == table
    with pytest.raises(ValueError, match="unknown metric"):
        compute_metrics(ref, ref, sr, names=["pesq"])
