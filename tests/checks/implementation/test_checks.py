"""impl.*: the reference passes its own checks; a bug in a wrapped reference fails the check
that names it; declared limits are "not applicable" with the adapter's reason; an adapter
that does not build makes every check an error naming why. (Bugs injected into the peers are
in tests/checks/test_injected_bugs.py.)"""

from __future__ import annotations

import pytest
import torch

from conformance.adapters.reference import ReferenceAdapter, reference_adapter
from conformance.checks.engine import implementation_subject, run_subject, verdict
from conformance.errors import ExitCode
from conformance.status import Status

FAMILY = "encodec_32khz"  # mono, unchunked, 4 codebooks: the fastest golden family


def _run(factory, tmp_path, family=FAMILY, select=None, **options):
    subject = implementation_subject(factory, family, workdir=tmp_path, **options)
    keep = None if select is None else (lambda c: c.check.id in select)
    return subject, {o.id: o for o in run_subject(subject, select=keep)}


def test_the_reference_passes_every_check_with_reasons_for_the_rest(tmp_path):
    subject, out = _run(reference_adapter, tmp_path)
    assert verdict([subject]) == ("conformant", ExitCode.OK)
    na = {k: o.reason for k, o in out.items() if o.status is Status.NOT_APPLICABLE}
    assert set(na) == {f"impl.scales[{FAMILY}]", f"impl.stereo[{FAMILY}]"}
    assert f"impl.codes[{FAMILY}-long-2.2kbps]" in out
    assert f"impl.input_intact[{FAMILY}]" in out


class _OffByOne(ReferenceAdapter):
    """Decodes codes shifted by one codeword: a classic porting bug."""

    def decode(self, frames, length=None):
        shifted = [((c + 1) % 2048, s) for c, s in frames]
        return super().decode(shifted, length)


class _ClampsInput(ReferenceAdapter):
    def encode(self, audio, bandwidth_kbps):
        return super().encode(audio.clamp(-1.0, 1.0), bandwidth_kbps)


class _Float64(ReferenceAdapter):
    def decode(self, frames, length=None):
        return super().decode(frames, length).double()


class _Mutates(ReferenceAdapter):
    def encode(self, audio, bandwidth_kbps):
        audio.mul_(0.5)
        return super().encode(audio * 2.0, bandwidth_kbps)


def _wrap(cls):
    return lambda weights: cls(reference_adapter(weights).model)


@pytest.mark.parametrize(("cls", "check", "words"), [
    (_OffByOne, f"impl.decode[{FAMILY}-speech-2.2kbps]", "max|audio - reference|="),
    (_ClampsInput, f"impl.codes[{FAMILY}-loud-2.2kbps]", "codes"),
    (_Float64, f"impl.decode[{FAMILY}-speech-2.2kbps]", "audio.dtype=torch.float64"),
    (_Mutates, f"impl.input_intact[{FAMILY}]", "encode modified its input in place"),
], ids=["off_by_one", "clamps_input", "float64", "mutates_input"])
def test_a_bug_fails_the_check_that_names_it(tmp_path, cls, check, words):
    subject, out = _run(_wrap(cls), tmp_path, select={check.split("[")[0]})
    assert out[check].status is Status.FAILED, out[check].reason
    assert words in out[check].reason
    assert out[check].reproduce and "load_factory(" in out[check].reproduce
    assert verdict([subject])[1] == ExitCode.CHECK_FAILED


class _Limited(ReferenceAdapter):
    name = "limited"
    unsupported = {"batch": "one item at a time", "decode_latents": "no latent API"}


def test_declared_limits_are_not_applicable_with_the_adapters_reason(tmp_path):
    _, out = _run(_wrap(_Limited), tmp_path, select={"impl.batch", "impl.latents"})
    assert out[f"impl.batch[{FAMILY}]"].status is Status.NOT_APPLICABLE
    assert "limited does not support batch: one item at a time" in \
        out[f"impl.batch[{FAMILY}]"].reason


def test_a_factory_that_raises_makes_every_check_an_error_naming_it(tmp_path):
    def broken(weights):
        raise RuntimeError("weights file layout not understood")

    subject, out = _run(broken, tmp_path, select={"impl.metadata", "impl.codes"})
    assert {o.status for o in out.values()} == {Status.ERROR}
    assert all("weights file layout not understood" in o.reason for o in out.values())
    assert verdict([subject])[1] == ExitCode.CHECK_FAILED


class _CrashesOnRaggedChunks(ReferenceAdapter):
    def decode(self, frames, length=None):
        if len({c.shape[-1] for c, _ in frames}) > 2:
            raise RuntimeError("ragged chunks")
        return super().decode(frames, length)


@pytest.mark.slow
def test_a_crash_on_an_edge_chunk_layout_is_named_not_failed_unless_strict(tmp_path):
    check = "impl.decode[encodec_48khz-partial_chunks-6kbps]"
    _, out = _run(_wrap(_CrashesOnRaggedChunks), tmp_path, family="encodec_48khz",
                  select={"impl.decode"})
    assert out[check].status is Status.NOT_APPLICABLE, sorted(out)
    assert "cannot code the partial_chunks chunk layout" in out[check].reason
    assert "RuntimeError: ragged chunks" in out[check].reason
    assert out["impl.decode[encodec_48khz-speech-6kbps]"].status is Status.PASSED
    _, strict = _run(_wrap(_CrashesOnRaggedChunks), tmp_path, family="encodec_48khz",
                     select={"impl.decode"}, strict_layouts=True)
    assert strict[check].status is Status.ERROR


def test_the_implementation_is_called_on_a_copy_of_the_audio(tmp_path):
    seen = []

    class _Spy(ReferenceAdapter):
        def encode(self, audio, bandwidth_kbps):
            seen.append(audio)
            return super().encode(audio, bandwidth_kbps)

    _run(_wrap(_Spy), tmp_path, select={"impl.codes"})
    assert seen and all(isinstance(a, torch.Tensor) and a.dim() == 3 for a in seen)
