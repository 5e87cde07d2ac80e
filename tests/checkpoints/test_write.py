"""load_checkpoint, convert and export: round trips between every pair of formats are bitwise,
partial or contradictory checkpoints are errors that name every key or field, and nothing
written is half-written or overwrites a source."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.checkpoints.formats import read_checkpoint
from conformance.checkpoints.keymap import KeyMappingError
from conformance.checkpoints.load import load_checkpoint
from conformance.checkpoints.write import convert, export, write_audiocraft, write_encodec, write_hf
from conformance.errors import CheckpointError, ConfigConflictError, InvalidArgument
from conformance.model.presets import ENCODEC_24KHZ, ENCODEC_32KHZ, ENCODEC_48KHZ
from conformance.testing.strategies import configs
from conformance.testing.weights import random_model
from tests.checkpoint_files import file_fingerprint, write_audiocraft_training
from tests.configs import small
from tests.helpers import signal

pytestmark = pytest.mark.usefixtures("no_grad")
FAMILIES = [ENCODEC_24KHZ, ENCODEC_48KHZ, ENCODEC_32KHZ]




def overrides_of(cfg):
    d = cfg.to_dict()
    d.pop("name")
    return d


def write_source(kind: str, directory: Path, cfg, sd) -> tuple[Path, dict | None]:
    """Write `sd` in format `kind`; return its path and the overrides needed to read it."""
    if kind == "hf":
        return write_hf(directory / "hf", cfg, sd)[0].parent, None
    if kind == "hf-param":
        return write_hf(directory / "hfp", cfg, sd, weight_norm="parametrizations")[0].parent, None
    if kind == "audiocraft":
        return write_audiocraft(directory / "ac.th", cfg, sd), None
    if kind == "training":
        return write_audiocraft_training(directory / "train.th", cfg, best=sd), None
    return write_encodec(directory / "model.th", sd), overrides_of(cfg)


def assert_same_model(a, b, cfg, seed=0):
    assert set(a.state_dict()) == set(b.state_dict())
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key
    wav = signal(2, cfg.channels, cfg.hop_length * 9 + 5, seed)
    ea, eb = a.encode(wav, "all"), b.encode(wav, "all")
    assert torch.equal(ea.codes, eb.codes)
    assert torch.equal(a.decode(ea), b.decode(eb))


SOURCES = ["hf", "hf-param", "audiocraft", "training", "encodec"]
TARGETS = ["hf", "audiocraft", "encodec"]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(configs(hf_compatible=True), st.sampled_from(SOURCES), st.sampled_from(TARGETS),
       st.sampled_from(TARGETS))
def test_convert_between_every_pair_is_bitwise(tmp_path_factory, cfg, source, first, second):
    """source -> first -> second: tensors, codes and audio bitwise equal to the original."""
    work = tmp_path_factory.mktemp("conv")
    model = random_model(cfg, seed=1)
    src, ov = write_source(source, work, cfg, model.state_dict())
    out1 = work / ("one" if first == "hf" else "one.th")
    r1 = convert(src, out1, first, overrides=ov)
    assert r1.verified and "bitwise" in r1.verified[0]
    ov1 = overrides_of(cfg) if first == "encodec" else None
    out2 = work / ("two" if second == "hf" else "two.th")
    convert(out1, out2, second, overrides=ov1)
    back = load_checkpoint(out2, overrides=overrides_of(cfg) if second == "encodec" else None)
    assert back.config == cfg
    assert_same_model(back.model, model, cfg)


@pytest.mark.parametrize("base", FAMILIES, ids=lambda c: c.name)
def test_original_th_families_are_told_apart(tmp_path, base):
    """Plain .th files carry no config: the 24/48 kHz family comes from the file name or from
    channels + norm; widths and codebook counts always come from the weights."""
    cfg = small(base)
    model = random_model(cfg, seed=2)
    path = write_encodec(tmp_path / f"{base.name}.th", model.state_dict())
    if base.name == "encodec_32khz":  # mono weight_norm looks like 24 kHz: needs the preset
        loaded = load_checkpoint(path, preset="encodec_32khz")
    else:
        loaded = load_checkpoint(path)
    assert loaded.config == cfg
    assert loaded.resolved.provenance["n_filters"] == "weights"
    assert_same_model(loaded.model, model, cfg)


def test_static_noise_case_is_an_error_naming_every_key(tmp_path):
    """Every key renamed (nothing would load): an error listing all of them, never a model
    with random weights."""
    cfg = small(ENCODEC_24KHZ)
    sd = random_model(cfg).state_dict()
    renamed = {f"model.{k}": v for k, v in sd.items()}
    path = tmp_path / "renamed.th"
    torch.save(renamed, path)
    with pytest.raises((KeyMappingError, CheckpointError)) as info:
        load_checkpoint(path, format="encodec", overrides=overrides_of(cfg))
    text = str(info.value)
    missing = [k for k in sd if k not in text]
    assert not missing, f"{len(missing)} keys not named, e.g. {missing[:3]}"


def test_one_missing_codebook_and_a_wrong_shape(tmp_path):
    cfg = small(ENCODEC_24KHZ)
    sd = random_model(cfg).state_dict()
    fewer = {k: v for k, v in sd.items() if not k.startswith("quantizer.vq.layers.31.")}
    path = write_audiocraft(tmp_path / "fewer.th", cfg, fewer)
    with pytest.raises((KeyMappingError, ConfigConflictError)) as info:
        load_checkpoint(path)
    assert "n_q" in str(info.value) or "quantizer.vq.layers.31" in str(info.value)
    bad = dict(sd)
    key = "decoder.model.0.conv.conv.weight_v"
    bad[key] = bad[key].transpose(0, 1).contiguous()
    path = write_audiocraft(tmp_path / "transposed.th", cfg, bad)
    with pytest.raises((KeyMappingError, ConfigConflictError)) as info:
        load_checkpoint(path)
    assert "decoder" in str(info.value)


def test_config_contradicting_weights_names_the_field(tmp_path):
    cfg = small(ENCODEC_24KHZ)
    sd = random_model(cfg).state_dict()
    lying = cfg.replace(ratios=(8, 5, 2, 4))  # same hop, other kernels
    path = write_audiocraft(tmp_path / "lying.th", lying, sd)
    with pytest.raises((ConfigConflictError, KeyMappingError)) as info:
        load_checkpoint(path)
    assert "ratios" in str(info.value) or "decoder.model" in str(info.value)


def test_export_training_checkpoint(tmp_path):
    cfg = small(ENCODEC_32KHZ)
    model = random_model(cfg, seed=4)
    train = write_audiocraft_training(tmp_path / "checkpoint.th", cfg, best=model.state_dict())
    before = file_fingerprint(train)
    result = export(train, tmp_path / "exported.th")
    assert file_fingerprint(train) == before
    pkg = torch.load(result.path, map_location="cpu", weights_only=True)  # no pickle tricks
    assert set(pkg) == {"best_state", "xp.cfg", "version", "exported"}
    assert pkg["exported"] is True and isinstance(pkg["xp.cfg"], str)
    assert set(pkg["best_state"]) == set(model.state_dict())
    assert read_checkpoint(result.path).format == "audiocraft-exported"
    assert_same_model(load_checkpoint(result.path).model, model, cfg)
    with pytest.raises(CheckpointError, match="already exported"):
        export(result.path, tmp_path / "again.th")
    with pytest.raises(InvalidArgument, match="already exists"):
        export(train, tmp_path / "exported.th")


def test_convert_refuses_overwrite_and_same_file(tmp_path):
    cfg = small(ENCODEC_24KHZ)
    src = write_audiocraft(tmp_path / "ac.th", cfg, random_model(cfg).state_dict())
    before = file_fingerprint(src)
    with pytest.raises(InvalidArgument, match="already exists"):
        convert(src, src, "audiocraft")
    with pytest.raises(InvalidArgument, match="source"):
        convert(src, src, "audiocraft", overwrite=True)
    assert file_fingerprint(src) == before


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    """A crash while writing the weights leaves no partial output file behind."""
    import safetensors.torch

    cfg = small(ENCODEC_24KHZ)
    src = write_audiocraft(tmp_path / "ac.th", cfg, random_model(cfg).state_dict())

    def boom(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", boom)
    with pytest.raises(OSError, match="disk full"):
        convert(src, tmp_path / "hf", "hf")
    leftovers = list((tmp_path / "hf").iterdir()) if (tmp_path / "hf").exists() else []
    assert leftovers == []


def test_hf_output_matches_hub_layout(tmp_path):
    """A converted 24 kHz model has the Hub's 252-tensor layout with weight_g/weight_v names
    and a config.json with float bandwidths."""
    import json

    cfg = small(ENCODEC_24KHZ)
    src = write_audiocraft(tmp_path / "ac.th", cfg, random_model(cfg).state_dict())
    convert(src, tmp_path / "hf", "hf")
    conf = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert conf["model_type"] == "encodec" and conf["use_causal_conv"] is True
    assert all(isinstance(b, float) for b in conf["target_bandwidths"])
    from safetensors import safe_open

    with safe_open(tmp_path / "hf" / "model.safetensors", "pt") as fh:
        keys = list(fh.keys())
    assert len(keys) == 252
    assert "decoder.layers.3.conv.weight_g" in keys and "quantizer.layers.0.codebook.embed" in keys
    shutil.rmtree(tmp_path / "hf")


def _with_shortcut_tensors(directory: Path, cfg, square: bool = True) -> list[str]:
    """Add shortcut-conv tensors to a HF directory whose config disables them (the layout of
    facebook/encodec_32khz's Hub weights)."""
    from safetensors.torch import load_file, save_file

    path = directory / "model.safetensors"
    tensors = load_file(str(path))
    added = []
    for key, value in list(tensors.items()):
        if key.endswith("block.3.conv.bias"):
            width = value.shape[0]
            base = key[: -len("block.3.conv.bias")] + "shortcut.conv."
            extra = {"weight_g": torch.ones(width, 1, 1),
                     "weight_v": torch.randn(width, width if square else width + 1, 1),
                     "bias": torch.zeros(width)}
            for leaf, t in extra.items():
                tensors[base + leaf] = t
                added.append(base + leaf)
    save_file(tensors, str(path))
    return added


def test_dead_shortcut_tensors_are_listed_and_left_out(tmp_path):
    cfg = small(ENCODEC_32KHZ)
    model = random_model(cfg, seed=12)
    write_hf(tmp_path / "hf", cfg, model.state_dict())
    added = _with_shortcut_tensors(tmp_path / "hf", cfg)
    assert len(added) == 24
    with pytest.warns(UserWarning, match="ignored 24 shortcut-conv tensor") as record:
        loaded = load_checkpoint(tmp_path / "hf")
    text = " ".join(str(w.message) for w in record)
    assert all(k in text for k in added)
    assert sorted(loaded.ignored) == sorted(added) and loaded.config == cfg
    assert_same_model(loaded.model, model, cfg)
    with pytest.raises((KeyMappingError, ConfigConflictError)):
        load_checkpoint(tmp_path / "hf", ignore_dead_shortcuts=False)


def test_non_square_shortcut_tensors_stay_an_error(tmp_path):
    cfg = small(ENCODEC_32KHZ)
    write_hf(tmp_path / "hf", cfg, random_model(cfg).state_dict())
    _with_shortcut_tensors(tmp_path / "hf", cfg, square=False)
    with pytest.raises((KeyMappingError, ConfigConflictError)):
        load_checkpoint(tmp_path / "hf")
