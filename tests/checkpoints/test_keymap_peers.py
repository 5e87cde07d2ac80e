"""The generated key layouts against the real peer models: transformers' EncodecModel (both
weight-norm spellings) and the original `encodec` package."""

from __future__ import annotations

import contextlib
import warnings

import pytest
import torch
from hypothesis import given

from conformance.checkpoints.hf_config import to_hf_dict
from conformance.checkpoints.keymap import (
    KeyMappingError,
    expected_hf_keys,
    expected_keys,
    load_state_dict_strict,
    map_state_dict,
)
from conformance.model.encodec import EncodecModel
from conformance.testing.strategies import configs

pytestmark = pytest.mark.peers

transformers = pytest.importorskip("transformers")
encodec = pytest.importorskip("encodec")


@contextlib.contextmanager
def _old_weight_norm():
    """Make transformers fall back to torch.nn.utils.weight_norm (weight_g / weight_v names),
    as it does on torch < 2.1."""
    mod = torch.nn.utils.parametrizations
    saved = mod.weight_norm
    del mod.weight_norm
    try:
        yield
    finally:
        mod.weight_norm = saved


def _hf_model(cfg) -> torch.nn.Module:
    fields = {k: v for k, v in to_hf_dict(cfg).items() if k not in ("model_type", "architectures")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return transformers.EncodecModel(transformers.EncodecConfig(**fields)).eval()


def _original_model(cfg) -> torch.nn.Module:
    from encodec.model import EncodecModel as OrigModel
    from encodec.modules import SEANetDecoder, SEANetEncoder
    from encodec.quantization import ResidualVectorQuantizer

    common = dict(channels=cfg.channels, dimension=cfg.dimension, n_filters=cfg.n_filters,
                  n_residual_layers=cfg.n_residual_layers, ratios=list(cfg.ratios),
                  norm=cfg.norm, kernel_size=cfg.kernel_size,
                  last_kernel_size=cfg.last_kernel_size,
                  residual_kernel_size=cfg.residual_kernel_size, dilation_base=cfg.dilation_base,
                  causal=cfg.causal, pad_mode=cfg.pad_mode, true_skip=cfg.true_skip,
                  compress=cfg.compress, lstm=cfg.lstm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return OrigModel(SEANetEncoder(**common),
                         SEANetDecoder(trim_right_ratio=cfg.trim_right_ratio, **common),
                         ResidualVectorQuantizer(dimension=cfg.dimension, n_q=cfg.n_q,
                                                 bins=cfg.bins),
                         target_bandwidths=list(cfg.bandwidths), sample_rate=cfg.sample_rate,
                         channels=cfg.channels, normalize=cfg.renormalize,
                         segment=cfg.segment, overlap=cfg.overlap).eval()


def _shapes(model: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


@given(configs(hf_compatible=True))
def test_hf_keys_equal_transformers_parametrized(cfg):
    assert _shapes(_hf_model(cfg)) == expected_hf_keys(cfg, "parametrizations"), f"[{cfg}]"


@given(configs(hf_compatible=True))
def test_hf_keys_equal_transformers_weight_g(cfg):
    with _old_weight_norm():
        model = _hf_model(cfg)
    assert _shapes(model) == expected_hf_keys(cfg, "weight_g"), f"[{cfg}]"


@given(configs())
def test_canonical_keys_equal_original_package(cfg):
    original = _original_model(cfg)
    assert _shapes(original) == expected_keys(cfg), f"[{cfg}]"
    load_state_dict_strict(EncodecModel(cfg), original.state_dict())


@given(configs(hf_compatible=True))
def test_transformers_weights_load_into_reference(cfg):
    """HF -> canonical with the config deciding which decoder convs are transposed: the
    reference decoder then computes what the transformers decoder computes."""
    hf = _hf_model(cfg)
    sd, report = map_state_dict(hf.state_dict(), "hf", "canonical", cfg)
    assert report.ok, report.format()
    ours = EncodecModel(cfg).eval()
    load_state_dict_strict(ours, sd)
    z = torch.randn(2, cfg.dimension, 5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = hf.decoder(z)
        got = ours.decoder(z)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


@given(configs(hf_compatible=True))
def test_canonical_names_into_transformers_is_an_error(cfg):
    """The static-noise bug against the real transformers model: nothing matches, and the
    error names every key instead of loading nothing."""
    hf = _hf_model(cfg)
    canonical = EncodecModel(cfg).state_dict()
    with pytest.raises(KeyMappingError) as info:
        load_state_dict_strict(hf, canonical)
    msg = str(info.value)
    for key in [*canonical, *hf.state_dict()]:
        assert f"  - {key}\n" in msg + "\n", f"{key} not named"
