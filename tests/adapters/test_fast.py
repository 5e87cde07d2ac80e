"""The fast inference path, plugged in through `conformance.adapters.fast`, passes every
implementation check: float32 under the fp32 tolerance (identical codes, decodes within 1e-4),
bfloat16 under the bf16 tolerance (decodes within SI-SDR >= 25 dB); the bfloat16 path is not
passed off as float32; the factories refuse what they cannot run, with the reason."""

from __future__ import annotations

import pytest
import torch

from conformance.adapters import fast as fast_module
from conformance.adapters import fast_adapter, fast_bf16_adapter
from conformance.adapters.fast import FastAdapter
from conformance.checks.engine import implementation_subject, run_subject, verdict
from conformance.errors import ExitCode, InvalidArgument
from conformance.model.inference import InferenceModel, reduced_precision_supported
from conformance.status import Status
from conformance.testing.weights import random_model
from tests.configs import CHUNKED_48

FAMILY = "encodec_32khz"  # mono, unchunked, 4 codebooks: the fastest golden family
BF16 = reduced_precision_supported(torch.bfloat16, "cpu")
needs_bf16 = pytest.mark.skipif(not BF16, reason="this CPU has no bfloat16 convolutions "
                                "(AVX512-BF16 or AMX)")


def _run(factory, tmp_path, family=FAMILY, select=None, **options):
    subject = implementation_subject(factory, family, workdir=tmp_path, **options)
    keep = None if select is None else (lambda c: c.id in select)
    return subject, {o.id: o for o in run_subject(subject, select=keep)}


def _assert_conformant(subject, out) -> None:
    against = [o.message() for o in out.values() if o.counts_against]
    assert not against, "\n".join(against)
    assert verdict([subject]) == ("conformant", ExitCode.OK)
    passed = {o.check for o in out.values() if o.status is Status.PASSED}
    assert {"impl.codes", "impl.decode", "impl.forward", "impl.decode_length",
            "impl.batch", "impl.latents", "impl.input_intact", "impl.properties"} <= passed
    na = {k for k, o in out.items() if o.status is Status.NOT_APPLICABLE}
    assert na == {f"impl.scales[{FAMILY}]", f"impl.stereo[{FAMILY}]"}  # mono, no scales


@pytest.mark.slow
def test_the_fp32_fast_path_passes_every_check(tmp_path):
    subject, out = _run(fast_adapter, tmp_path)
    _assert_conformant(subject, out)
    assert subject.context.adapter.name == "fast-float32"


@pytest.mark.slow
@needs_bf16
def test_the_bf16_fast_path_passes_every_check_under_the_bf16_tolerance(tmp_path):
    subject, out = _run(fast_bf16_adapter, tmp_path, tolerance="bf16")
    _assert_conformant(subject, out)
    assert subject.context.adapter.name == "fast-bfloat16"
    assert subject.context.adapter.model.dtype == torch.bfloat16


@needs_bf16
def test_the_bf16_fast_path_fails_the_fp32_tolerance(tmp_path):
    """The checks tell the precisions apart: a bf16 decode is not within 1e-4."""
    check = f"impl.decode[{FAMILY}-music-2.2kbps]"
    subject, out = _run(fast_bf16_adapter, tmp_path, select={check})
    assert out[check].status is Status.FAILED, out[check].reason
    assert "max|audio - reference|=" in out[check].reason
    assert verdict([subject])[1] == ExitCode.CHECK_FAILED


def test_the_adapter_wraps_only_an_inference_model():
    model = random_model(CHUNKED_48, seed=0)
    with pytest.raises(InvalidArgument, match="InferenceModel"):
        FastAdapter(model)  # type: ignore[arg-type]
    adapter = FastAdapter.from_model(model)
    assert isinstance(adapter.model, InferenceModel)
    assert (adapter.sample_rate, adapter.channels) == (model.sample_rate, model.channels)
    wav = 0.1 * torch.randn(2, model.channels, int(1.7 * CHUNKED_48.segment_length),
                            generator=torch.Generator().manual_seed(1))
    frames = adapter.encode(wav, model.bandwidths[-1])
    ref = model.encode(wav, model.bandwidths[-1])
    assert len(frames) == len(ref.chunks) > 1
    assert all(torch.equal(c, r.codes) and torch.equal(s, r.scale)
               for (c, s), r in zip(frames, ref.chunks))
    out = adapter.decode(frames, length=wav.shape[-1])
    assert out.shape == wav.shape
    with torch.no_grad():
        want = model.decode(ref)[..., : wav.shape[-1]]
    assert float((out - want).abs().max()) <= 1e-4 * max(1.0, float(want.abs().max()))


def test_the_bf16_factory_refuses_a_cpu_without_bf16(monkeypatch):
    monkeypatch.setattr(fast_module, "reduced_precision_supported", lambda *a, **k: False)
    with pytest.raises(InvalidArgument, match="AVX512-BF16 or AMX"):
        fast_bf16_adapter(object())  # type: ignore[arg-type]
