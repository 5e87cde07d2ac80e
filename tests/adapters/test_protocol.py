"""The adapter protocol: weights in every format on demand, factories by name, declared
limits checked against the known features."""

from __future__ import annotations

import pytest

from conformance.adapters.protocol import (
    CodecAdapter,
    CodecWeights,
    declared_unsupported,
    load_factory,
    supports_decode_length,
)
from conformance.adapters.reference import ReferenceAdapter, reference_adapter
from conformance.checkpoints.load import load_checkpoint
from conformance.errors import InvalidArgument
from conformance.testing.weights import random_model
from tests.configs import CHECKPOINT_24


@pytest.fixture()
def weights(tmp_path):
    return CodecWeights("encodec_24khz", CHECKPOINT_24,
                        random_model(CHECKPOINT_24, 5).state_dict(), directory=tmp_path)


def test_each_format_is_written_once_on_demand_and_loads_back_equal(weights, tmp_path):
    assert list(tmp_path.iterdir()) == []
    paths = weights.paths
    assert set(paths) == {"audiocraft", "hf", "encodec"}
    assert (paths["hf"] / "config.json").is_file() and paths["audiocraft"].is_file()
    assert weights.path("hf") is paths["hf"]  # written once
    for fmt in ("audiocraft", "hf"):
        loaded = load_checkpoint(paths[fmt])
        for k, v in weights.state_dict.items():
            assert loaded.state_dict[k].equal(v), (fmt, k)
    with pytest.raises(InvalidArgument, match="choose one of audiocraft, hf, encodec"):
        weights.path("onnx")


def test_the_reference_adapter_follows_the_protocol(weights):
    adapter = reference_adapter(weights)
    assert isinstance(adapter, CodecAdapter) and supports_decode_length(adapter)
    assert adapter.sample_rate == 24000 and adapter.channels == 1


def test_factories_are_named_module_colon_attribute():
    assert load_factory("conformance.adapters:reference_adapter") is reference_adapter
    assert load_factory(reference_adapter) is reference_adapter
    for spec, words in [("x", "expected MODULE:FACTORY"), ("nope_mod:f", "cannot import"),
                        ("conformance.adapters:ReferenceAdapterX", "has no callable")]:
        with pytest.raises(InvalidArgument, match=words):
            load_factory(spec)


def test_declared_limits_must_be_known_features(weights):
    class Odd(ReferenceAdapter):
        unsupported = {"batch": "one at a time", "streaming": "not yet"}

    with pytest.raises(InvalidArgument, match=r"unknown unsupported feature\(s\) \['streaming'\]"):
        declared_unsupported(Odd(reference_adapter(weights).model))

    class NoLength:
        def decode(self, frames):
            return frames

    assert not supports_decode_length(NoLength())
