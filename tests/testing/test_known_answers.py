"""The reference reproduces codes and audio produced by the peer implementations (stored as
known-answer vectors by tests/known_answers.py), without needing the peers installed."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from conformance.checkpoints.keymap import load_state_dict_strict
from conformance.model.config import EncodecConfig
from conformance.model.encodec import EncodecModel
from conformance.testing.assertions import assert_close, assert_codes_equal
from tests.known_answers import CASES, DATA, case_input

pytestmark = pytest.mark.usefixtures("no_grad")


def _load(name: str):
    meta = json.loads((DATA / f"{name}.json").read_text())
    tensors = load_file(str(DATA / f"{name}.safetensors"))
    cfg = EncodecConfig.from_dict(meta["config"])
    model = EncodecModel(cfg)
    weights = {k.split("/", 1)[1]: v for k, v in tensors.items() if k.startswith("weight/")}
    load_state_dict_strict(model, weights)
    return cfg, model.eval(), tensors, meta


@pytest.mark.parametrize("name", list(CASES))
def test_reference_reproduces_peer_outputs(name):
    cfg, model, tensors, meta = _load(name)
    assert cfg == CASES[name][0], "stored config differs from tests/known_answers.py"
    wav = tensors["input"]
    assert torch.equal(wav, case_input(cfg, meta["length"]))
    for bw, info in meta["outputs"].items():
        enc = model.encode(wav, float(bw))
        call = f"{name}: encode(bw={bw}) vs peers {meta['peers']}"
        assert len(enc.chunks) == info["chunks"], call
        for i, chunk in enumerate(enc.chunks):
            assert_codes_equal(f"codes[chunk {i}]", chunk.codes, tensors[f"codes/{bw}/{i}"], call)
            if chunk.scale is not None:
                assert_close(f"scale[chunk {i}]", chunk.scale.reshape(-1),
                             tensors[f"scale/{bw}/{i}"], call, atol=1e-7)
        expected = tensors[f"audio/{bw}"]
        peak = max(1.0, float(expected.abs().max()))
        assert_close("decoded", model.decode(enc), expected, call, atol=1e-5 * peak)


@pytest.mark.peers
@pytest.mark.parametrize("name", list(CASES))
def test_vectors_match_installed_peers(name):
    """The stored vectors are what the installed peers produce today (else regenerate)."""
    pytest.importorskip("transformers")
    pytest.importorskip("encodec")
    from conformance.adapters.encodec_package import EncodecPackageAdapter
    from conformance.adapters.transformers import TransformersAdapter

    cfg, model, tensors, meta = _load(name)
    for peer_name in CASES[name][2]:
        peer = {"transformers": TransformersAdapter,
                "encodec": EncodecPackageAdapter}[peer_name].from_model(model)
        for bw in meta["outputs"]:
            frames = peer.encode(tensors["input"], float(bw))
            audio = peer.decode(frames)
            for i, (codes, _) in enumerate(frames):
                assert torch.equal(codes, tensors[f"codes/{bw}/{i}"]), (peer_name, bw, i)
            assert (audio - tensors[f"audio/{bw}"]).abs().max() <= 1e-5 * max(
                1.0, float(audio.abs().max()))
