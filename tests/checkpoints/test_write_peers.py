"""Converted files load in the real libraries, and the libraries' own files load here -- with
no missing or unexpected keys and exactly the codes each library produces (tox env `peers`)."""

from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import HealthCheck, given, settings

from conformance.checkpoints.formats import sha256_file
from conformance.checkpoints.load import load_checkpoint
from conformance.checkpoints.write import convert, write_audiocraft
from conformance.testing.strategies import configs
from conformance.testing.weights import random_model
from tests.configs import small
from tests.helpers import signal

pytestmark = [pytest.mark.peers, pytest.mark.usefixtures("no_grad")]
transformers = pytest.importorskip("transformers")
pytest.importorskip("encodec")

from conformance.adapters.encodec_package import EncodecPackageAdapter  # noqa: E402
from conformance.adapters.transformers import TransformersAdapter, encode_chunks  # noqa: E402

FAMILIES = [small(name, dimension=16) for name in
            ("encodec_24khz", "encodec_48khz", "encodec_32khz")]


def _hf_codes(hf_model, wav, bw):
    return torch.cat([c for c, _ in encode_chunks(hf_model, wav, bw)[1]], dim=-1)


def _check_hf_dir(directory, model, cfg):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hf, info = transformers.EncodecModel.from_pretrained(directory, output_loading_info=True)
    hf.eval()
    for kind in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        assert not info.get(kind), f"transformers reports {kind}: {info[kind]}"
    wav = signal(2, cfg.channels, cfg.hop_length * 11 + 3, seed=1)
    for bw in cfg.bandwidths:
        ours = model.encode(wav, bw).codes
        assert torch.equal(_hf_codes(hf, wav, bw), ours), f"bandwidth {bw}"


@pytest.mark.parametrize("cfg", FAMILIES, ids=lambda c: c.name)
@pytest.mark.parametrize("weight_norm", ["weight_g", "parametrizations"])
def test_converted_hf_dir_loads_in_transformers(tmp_path, cfg, weight_norm):
    model = random_model(cfg, seed=3)
    src = write_audiocraft(tmp_path / "ac.th", cfg, model.state_dict())
    convert(src, tmp_path / "hf", "hf", weight_norm=weight_norm)
    _check_hf_dir(tmp_path / "hf", model, cfg)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(configs(hf_compatible=True))
def test_random_configs_convert_into_transformers(tmp_path_factory, cfg):
    work = tmp_path_factory.mktemp("hfconv")
    model = random_model(cfg, seed=5)
    src = write_audiocraft(work / "ac.th", cfg, model.state_dict())
    convert(src, work / "hf", "hf")
    _check_hf_dir(work / "hf", model, cfg)


@pytest.mark.parametrize("cfg", FAMILIES, ids=lambda c: c.name)
def test_converted_th_loads_strictly_in_encodec(tmp_path, cfg):
    model = random_model(cfg, seed=4)
    src = write_audiocraft(tmp_path / "ac.th", cfg, model.state_dict())
    convert(src, tmp_path / "out.th", "encodec")
    orig = EncodecPackageAdapter.from_model(model)  # the package's own architecture
    state = torch.load(tmp_path / "out.th", map_location="cpu", weights_only=True)
    for p in orig.model.parameters():
        p.data.zero_()
    orig.model.load_state_dict(state, strict=True)
    wav = signal(1, cfg.channels, cfg.hop_length * 13 + 1, seed=2)
    for bw in cfg.bandwidths:
        theirs = orig.encode(wav, bw)
        assert torch.equal(torch.cat([c for c, _ in theirs], -1), model.encode(wav, bw).codes)


def test_transformers_save_pretrained_output_loads_here(tmp_path):
    """A directory written by transformers itself (safetensors and .bin): same codes here as
    in transformers."""
    cfg = FAMILIES[1]
    model = random_model(cfg, seed=6)
    hf = TransformersAdapter.from_model(model).model
    for safe in (True, False):
        out = tmp_path / f"hf_{safe}"
        hf.save_pretrained(out, safe_serialization=safe)
        loaded = load_checkpoint(out)
        assert loaded.format == "hf" and loaded.config.segment == cfg.segment
        wav = signal(1, cfg.channels, 50_000, seed=7)
        for bw in cfg.bandwidths:
            assert torch.equal(loaded.model.encode(wav, bw).codes, _hf_codes(hf, wav, bw))


def test_encodec_package_th_loads_here(tmp_path):
    """A state dict saved from the encodec package under its naming rule
    (`encodec_24khz-<sha8>.th`) loads by file name alone and gives the package's codes."""
    cfg = FAMILIES[0]
    model = random_model(cfg, seed=8)
    orig = EncodecPackageAdapter.from_model(model)
    tmp = tmp_path / "tmp.th"
    torch.save(orig.model.state_dict(), tmp)
    named = tmp_path / f"encodec_24khz-{sha256_file(tmp)[:8]}.th"
    tmp.rename(named)
    loaded = load_checkpoint(named)
    assert loaded.config == cfg
    wav = signal(1, 1, 4000, seed=9)
    for bw in cfg.bandwidths:
        theirs = orig.encode(wav, bw)
        assert torch.equal(loaded.model.encode(wav, bw).codes,
                           torch.cat([c for c, _ in theirs], -1))


def test_hub_style_dead_shortcuts_give_transformers_codes(tmp_path):
    """Like facebook/encodec_32khz on the Hub: shortcut tensors present, config.json says
    use_conv_shortcut=false. transformers ignores them; so do we, naming each -- same codes."""
    import json

    cfg = FAMILIES[2]
    model = random_model(cfg, seed=13)
    with_shortcuts = cfg.replace(true_skip=False)
    donor = random_model(with_shortcuts, seed=14).state_dict()
    sd = dict(model.state_dict())
    sd.update({k: v for k, v in donor.items() if ".shortcut." in k})
    from conformance.checkpoints.write import write_hf

    write_hf(tmp_path / "hub", with_shortcuts, sd)
    conf_path = tmp_path / "hub" / "config.json"
    conf = json.loads(conf_path.read_text())
    conf["use_conv_shortcut"] = False
    conf_path.write_text(json.dumps(conf))
    with pytest.warns(UserWarning, match="ignored 24 shortcut-conv"):
        loaded = load_checkpoint(tmp_path / "hub")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hf = transformers.EncodecModel.from_pretrained(tmp_path / "hub").eval()
    wav = signal(1, 1, 640 * 9 + 3, seed=4)
    for bw in cfg.bandwidths:
        assert torch.equal(loaded.model.encode(wav, bw).codes, _hf_codes(hf, wav, bw))
