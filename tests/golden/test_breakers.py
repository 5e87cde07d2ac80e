"""Breakers: broken model variants never touch their input and change the audio substantially."""

from __future__ import annotations

import copy

import pytest
import torch

from conformance.golden.breakers import (
    BREAKERS,
    FORWARD_INVARIANT,
    BreakerNotApplicable,
    applicable_breakers,
    decoder_weight_noise,
    relative_change,
    shuffled_codebook_rows,
    shuffled_codebooks,
    static_noise,
    wrong_causal,
    wrong_pad_mode,
    wrong_weights,
)
from conformance.model.encodec import EncodecModel
from conformance.testing.weights import random_model
from tests.configs import BREAKER_CONFIGS
from tests.helpers import signal

SMALL = BREAKER_CONFIGS
#: Smallest relative L2 change a breaker must cause (measured: >= 0.26 for 0.2 s of audio on
#: every config below; a no-op gives exactly 0).
MIN_CHANGE = 0.1


#: (config, breaker) pairs where the breaker applies; the one exception (flipping causal on a
#: time_group_norm model is an invalid config) is asserted in its own test below.
NOT_APPLICABLE = {("groupnorm48", "wrong_causal")}
CASES = [(c, b) for c in SMALL for b in BREAKERS if (c, b) not in NOT_APPLICABLE]
_MODELS: dict[str, EncodecModel] = {}


def _model(config: str) -> EncodecModel:
    if config not in _MODELS:
        _MODELS[config] = random_model(SMALL[config], seed=0)
    return _MODELS[config]


def test_not_applicable_pairs_are_refused():
    for config, name in NOT_APPLICABLE:
        m = _model(config)
        assert applicable_breakers(m)[name] is not None
        with pytest.raises(BreakerNotApplicable):
            BREAKERS[name](m)


def _wav(m: EncodecModel) -> torch.Tensor:
    return signal(1, m.channels, m.sample_rate // 5, seed=3)


def _snapshot(m: EncodecModel) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in m.state_dict().items()}


def _apply(name: str, m: EncodecModel) -> EncodecModel:
    assert applicable_breakers(m)[name] is None, name
    return BREAKERS[name](m)


@pytest.mark.parametrize("config, name", CASES)
def test_breaker_never_mutates_nor_shares_with_its_input(config, name) -> None:
    model = _model(config)
    before, cfg, mode = _snapshot(model), model.cfg, model.training
    broken = _apply(name, model)
    assert broken is not model and model.cfg is cfg and model.training == mode
    after = model.state_dict()
    assert after.keys() == before.keys()
    assert all(torch.equal(after[k], v) for k, v in before.items()), name
    ptrs = {t.data_ptr() for t in model.state_dict().values()}
    assert not ptrs & {t.data_ptr() for t in broken.state_dict().values()}
    assert broken.training == model.training


@pytest.mark.parametrize("config, name", CASES)
@torch.no_grad()
def test_breaker_changes_the_decoded_audio(config, name) -> None:
    model = _model(config)
    broken = _apply(name, model)
    wav = _wav(model)
    assert relative_change(model, copy.deepcopy(model), wav, n_q=model.n_q) == 0.0  # no-op
    change = relative_change(model, broken, wav, n_q=model.n_q, path="decode")
    assert change > MIN_CHANGE, f"{name}: decoded output changed by {change:.3f} only"
    fwd = relative_change(model, broken, wav, n_q=model.n_q, path="forward")
    if name in FORWARD_INVARIANT:
        assert fwd < 1e-6, f"{name}: expected an unchanged round trip, got {fwd:.3g}"
    else:
        assert fwd > MIN_CHANGE, f"{name}: encode->decode output changed by {fwd:.3f} only"


@pytest.mark.parametrize("config", list(SMALL))
def test_static_noise_same_layout_other_values(config) -> None:
    model = _model(config)
    broken = static_noise(model)
    ref, new = model.state_dict(), broken.state_dict()
    assert {k: v.shape for k, v in ref.items()} == {k: v.shape for k, v in new.items()}
    assert all(not torch.equal(ref[k], new[k]) for k, _ in model.named_parameters())
    assert all(not torch.equal(ref[k], new[k]) for k in ref if k.endswith("embed"))
    assert broken.cfg == model.cfg
    fresh = _snapshot(static_noise(model))  # seeded: reproducible, and the global RNG untouched
    state = torch.random.get_rng_state()
    static_noise(model)
    assert torch.equal(state, torch.random.get_rng_state())
    assert all(torch.equal(fresh[k], v) for k, v in static_noise(model).state_dict().items())


def test_random_weights_differs_even_with_the_input_seed() -> None:
    m = random_model(SMALL["causal24"], seed=5)
    broken = wrong_weights(m, seed=5)  # would reproduce m: the next seed is taken
    assert not torch.equal(broken.decoder.model[0].conv.conv.weight_v,
                           m.decoder.model[0].conv.conv.weight_v)


def test_decoder_weight_noise_touches_only_the_decoder() -> None:
    m = random_model(SMALL["causal24"], seed=0)
    broken = decoder_weight_noise(m, rel=0.05)
    ref, new = m.state_dict(), broken.state_dict()
    for k in ref:
        assert torch.equal(ref[k], new[k]) != k.startswith("decoder."), k
    old = torch.cat([p.detach().flatten() for p in m.decoder.parameters()])
    noisy = torch.cat([p.detach().flatten() for p in broken.decoder.parameters()])
    rel = float((noisy - old).norm() / old.norm())
    assert 0.03 < rel < 0.07, rel  # 5 % of each tensor's RMS
    with pytest.raises(ValueError, match="rel"):
        decoder_weight_noise(m, rel=0.0)


def test_codebook_shuffles_permute_and_keep_the_vectors() -> None:
    m = random_model(SMALL["causal24"], seed=0)
    embeds = [layer._codebook.embed for layer in m.quantizer.vq.layers]
    stages = [layer._codebook.embed for layer in shuffled_codebooks(m).quantizer.vq.layers]
    assert all(not torch.equal(a, b) for a, b in zip(embeds, stages))  # every stage moved
    assert sorted(float(e.sum()) for e in embeds) == sorted(float(e.sum()) for e in stages)
    rows = [layer._codebook for layer in shuffled_codebook_rows(m).quantizer.vq.layers]
    for e, cb in zip(embeds, rows):
        assert not torch.equal(e, cb.embed) and torch.equal(cb.embed, cb.embed_avg)
        assert torch.equal(e.sort(dim=0).values, cb.embed.sort(dim=0).values)
    one = random_model(SMALL["causal24"].replace(n_q=1, target_bandwidths=(0.45,)), seed=0)
    with pytest.raises(BreakerNotApplicable, match="n_q=1"):
        shuffled_codebooks(one)


@pytest.mark.parametrize("config", list(SMALL))
def test_config_breakers_change_one_field_and_keep_the_weights(config) -> None:
    model = _model(config)
    broken = wrong_pad_mode(model)
    assert broken.cfg == model.cfg.replace(pad_mode="constant")  # all presets reflect
    sd = broken.state_dict()
    assert all(torch.equal(v, sd[k]) for k, v in model.state_dict().items())
    assert wrong_pad_mode(broken).cfg == model.cfg
    if model.cfg.norm == "time_group_norm":
        with pytest.raises(BreakerNotApplicable, match="not applicable"):
            wrong_causal(model)
        assert "invalid" in applicable_breakers(model)["wrong_causal"]
    else:
        flipped = wrong_causal(model)
        assert flipped.cfg == model.cfg.replace(causal=not model.cfg.causal)
        assert all(torch.equal(v, flipped.state_dict()[k])
                   for k, v in model.state_dict().items())
