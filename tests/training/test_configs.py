"""The golden model configs and training recipes, and recipe overrides."""

from __future__ import annotations

import pytest

from conformance.training.configs import GOLDEN, TrainRecipe, get_recipe, model_size


def test_golden_configs_are_valid_and_small() -> None:
    for family, recipe in GOLDEN.items():
        assert get_recipe(family) is recipe
        assert TrainRecipe.from_dict(recipe.to_dict()) == recipe
        assert model_size(recipe.config)["bytes_float32"] < 12e6
    assert GOLDEN["encodec_48khz"].config.renormalize
    assert GOLDEN["encodec_24khz"].config.causal
    with pytest.raises(KeyError, match="known"):
        get_recipe("nope")


def test_recipe_overrides() -> None:
    r = get_recipe("encodec_24khz").with_overrides(
        ["batch_size=32", "disc_n_ffts=2048,1024", "weights.adv=4", "lr=1e-3",
         "dead_code_ref_vectors=2400"])
    assert (r.batch_size, r.disc_n_ffts, r.weights.adv, r.lr) == (32, (2048, 1024), 4.0, 1e-3)
    assert r.dead_code_ref_vectors == 2400
    for bad in (["config=1"], ["nope=1"], ["weights.x=1"], ["batch_size"], ["config.nope=1"],
                ["config.n_filters=0"], ["config.pad_mode=wrap"]):
        with pytest.raises(ValueError):
            get_recipe("encodec_24khz").with_overrides(bad)


def test_recipe_config_overrides() -> None:
    base = get_recipe("encodec_32khz")
    r = base.with_overrides(["config.n_filters=12", "config.ratios=8,5,4,4",
                             "config.pad_mode=constant"])
    assert (r.config.n_filters, r.config.ratios, r.config.pad_mode) == (12, (8, 5, 4, 4),
                                                                          "constant")
    assert r.config.bins == base.config.bins and r.q_dropout == base.q_dropout
    assert base.config.n_filters == 8  # the golden recipe itself is unchanged


def test_recipe_data_mix_overrides() -> None:
    base = get_recipe("encodec_32khz")
    r = base.with_overrides(["data_mix.music=0.5", "data_mix.speech=2"])
    assert r.data_mix == {"music": 0.5, "speech": 2.0}
    assert base.data_mix == {"music": 0.25, "speech": 1.0}  # unchanged
    for bad in (["data_mix.noise=1"], ["data_mix.music=-1"], ["data_mix.music=lots"],
                ["data_mix.music=0", "data_mix.speech=0"], ["data_mix=1"]):
        with pytest.raises(ValueError):
            base.with_overrides(bad)
