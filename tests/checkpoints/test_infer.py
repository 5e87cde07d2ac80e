"""Inferring the architecture from the weights: every structural field is read back from
the tensors, odd weights are noted, and only canonical names are read."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given

from conformance.checkpoints.infer import (
    NOT_FROM_WEIGHTS,
    STRUCTURAL_FIELDS,
    infer_from_weights,
)
from conformance.checkpoints.keymap import map_state_dict
from conformance.checkpoints.load import check_layout
from conformance.checkpoints.naming import name_tensors
from conformance.errors import KeyMappingError
from conformance.model.encodec import EncodecModel
from conformance.testing.strategies import configs, configs_with_lstm

#: Structural fields a config.json / xp.cfg can be made to contradict, and how.
_MUTATIONS = {
    "n_filters": lambda c: {"n_filters": c.n_filters * 2},
    "dimension": lambda c: {"dimension": c.dimension + 1},
    "n_residual_layers": lambda c: {"n_residual_layers": c.n_residual_layers + 1},
    "kernel_size": lambda c: {"kernel_size": c.kernel_size + 1},
    "last_kernel_size": lambda c: {"last_kernel_size": c.last_kernel_size + 1},
    "true_skip": lambda c: {"true_skip": not c.true_skip},
    "lstm": lambda c: {"lstm": 3 - c.lstm},
    "ratios": lambda c: {"ratios": c.ratios[::-1] if c.ratios[::-1] != c.ratios else
                         (c.ratios[0] + 1,) + c.ratios[1:], "target_bandwidths": ()},
}


def _weights(cfg) -> dict[str, torch.Tensor]:
    return EncodecModel(cfg).state_dict()


def _compress_equivalent(cfg, value: int) -> bool:
    widths = [cfg.n_filters * 2 ** r for r in range(len(cfg.ratios) + 1)]
    return all(w // value == w // cfg.compress for w in widths)


# -------------------------------------------------------------------------------- inference
@given(configs())
def test_infer_recovers_every_structural_field(cfg):
    info, notes = infer_from_weights(_weights(cfg))
    assert notes == [], f"{notes} [{cfg}]"
    needs_block = {"compress", "residual_kernel_size", "true_skip"}
    want = set(STRUCTURAL_FIELDS) - (needs_block if cfg.n_residual_layers == 0 else set())
    assert set(info) == want, f"inferred {sorted(info)} [{cfg}]"
    assert not set(info) & set(NOT_FROM_WEIGHTS)
    for key, value in info.items():
        if key == "compress":
            assert _compress_equivalent(cfg, value), f"compress={value} [{cfg}]"
        else:
            assert value == getattr(cfg, key), f"{key}={value!r}, but should be " \
                                               f"{getattr(cfg, key)!r} [{cfg}]"


@given(configs())
def test_infer_accepts_parametrization_spelling(cfg):
    sd = {k.replace(".weight_g", ".parametrizations.weight.original0")
          .replace(".weight_v", ".parametrizations.weight.original1"): v
          for k, v in _weights(cfg).items()}
    assert infer_from_weights(sd) == infer_from_weights(_weights(cfg))


@given(configs_with_lstm())
def test_infer_reads_only_canonical_names(cfg):
    hf, _ = map_state_dict(_weights(cfg), "canonical", "hf", cfg)
    info, notes = infer_from_weights(hf)  # HF names must be named first (naming.py)
    assert info == {} or set(info) <= {"n_q", "bins", "dimension"}
    assert any("outside the encoder/decoder/quantizer layout" in n for n in notes)


@given(configs().filter(lambda c: c.n_q >= 2))
def test_infer_notes_odd_weights(cfg):
    sd = dict(_weights(cfg))
    for b in ("inited", "cluster_size", "embed", "embed_avg"):
        del sd[f"quantizer.vq.layers.0._codebook.{b}"]
    sd["quantizer.vq.layers.1._codebook.inited"] = torch.zeros(1)
    sd["encoder.extra_scale"] = torch.ones(1)
    info, notes = infer_from_weights(sd)
    text = "\n".join(notes)
    assert info["n_q"] == cfg.n_q - 1
    assert f"codebook layer indices {list(range(1, cfg.n_q))}" in text
    assert "inited == 0): quantizer.vq.layers.1._codebook.inited" in text
    assert "encoder.extra_scale" in text
    # the gap itself is the layout check's to name, once the config is resolved
    named = name_tensors(sd)
    with pytest.raises(KeyMappingError) as err:
        check_layout(named, cfg)
    assert "quantizer.vq.layers.0._codebook.embed" in err.value.report.missing
    assert "encoder.extra_scale" in err.value.report.unexpected


@given(configs())
def test_infer_notes_missing_decoder(cfg):
    sd = {k: v for k, v in _weights(cfg).items() if not k.startswith("decoder.")}
    info, notes = infer_from_weights(sd)
    assert "no decoder weights" in notes
    assert info["ratios"] == cfg.ratios and info["lstm"] == cfg.lstm


# ------------------------------------------------------------------------------ resolution
















# ----------------------------------------------------------------- plain .th files (no config)












# ------------------------------------------------------------------- 32 kHz pad_mode question
