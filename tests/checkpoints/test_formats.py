"""Format detection and reading of every checkpoint layout, with the tensor checks."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from conformance.checkpoints.audiocraft_config import to_audiocraft_dict
from conformance.checkpoints.formats import (
    AUDIOCRAFT_EXPORTED,
    AUDIOCRAFT_POINTER,
    AUDIOCRAFT_TRAINING,
    ENCODEC,
    HF,
    RawCheckpoint,
    detect_format,
    pointer_target,
    read_checkpoint,
    sha256_file,
)
from conformance.checkpoints.hf_config import to_hf_dict
from conformance.errors import CheckpointError, CheckpointWarning
from tests.checkpoint_files import (
    SMALL,
    canonical_state_dict,
    file_fingerprint,
    hf_model,
    write_audiocraft_exported,
    write_audiocraft_pointer,
    write_audiocraft_training,
    write_encodec_th,
    write_hf_dir,
)


def _read(path: Path | str, **kw: object) -> RawCheckpoint:
    with warnings.catch_warnings():
        warnings.simplefilter("error", CheckpointWarning)  # a clean file reads without warnings
        return read_checkpoint(path, **kw)


def _assert_same_tensors(got: dict[str, torch.Tensor], want: dict[str, torch.Tensor]) -> None:
    assert list(got) == list(want)
    bad = [k for k in want if not torch.equal(got[k], want[k])]
    assert not bad, bad


# ------------------------------------------------------------------------------- detection

def _exported(d: Path) -> Path:
    return write_audiocraft_exported(d / "exported.th")


def _training(d: Path) -> Path:
    return write_audiocraft_training(d / "checkpoint.th")


def _pointer(d: Path) -> Path:
    return write_audiocraft_pointer(d / "pointer.th")


def _package_dir(d: Path) -> Path:
    write_audiocraft_exported(d / "compression_state_dict.bin")
    return d


def _hf_dir(d: Path) -> Path:
    return write_hf_dir(d / "hf")


def _hf_bin_dir(d: Path) -> Path:
    return write_hf_dir(d / "hfbin", bin_file=True)


def _hf_file(d: Path) -> Path:
    src = write_hf_dir(d / "hf")
    return shutil.copy(src / "model.safetensors", d / "weights.safetensors")


def _encodec(d: Path) -> Path:
    return write_encodec_th(d)


BUILDERS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "exported": (_exported, AUDIOCRAFT_EXPORTED),
    "training": (_training, AUDIOCRAFT_TRAINING),
    "pointer": (_pointer, AUDIOCRAFT_POINTER),
    "package-dir": (_package_dir, AUDIOCRAFT_EXPORTED),
    "hf-dir": (_hf_dir, HF),
    "hf-bin-dir": (_hf_bin_dir, HF),
    "hf-file": (_hf_file, HF),
    "encodec-th": (_encodec, ENCODEC),
}


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_detect_format(tmp_path: Path, kind: str) -> None:
    build, expected = BUILDERS[kind]
    assert detect_format(build(tmp_path)) == expected


@pytest.mark.parametrize("kind", [k for k in BUILDERS if k != "pointer"])
def test_reading_leaves_the_source_untouched(tmp_path: Path, kind: str) -> None:
    path = BUILDERS[kind][0](tmp_path)
    files = sorted(p for p in ([path] if path.is_file() else path.iterdir()))
    before = [file_fingerprint(f) for f in files]
    before_names = sorted(p.name for p in tmp_path.rglob("*"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CheckpointWarning)
        raw = read_checkpoint(path)
    assert raw.format == BUILDERS[kind][1]
    assert [file_fingerprint(f) for f in files] == before
    assert sorted(p.name for p in tmp_path.rglob("*")) == before_names, "files were created"


# ----------------------------------------------------------------------------- AudioCraft

def test_read_exported(tmp_path: Path) -> None:
    path = write_audiocraft_exported(tmp_path / "exported.th")
    raw = _read(path)
    assert raw.format == AUDIOCRAFT_EXPORTED and raw.config_kind == "audiocraft"
    _assert_same_tensors(raw.state_dict, canonical_state_dict())
    assert raw.config == to_audiocraft_dict(SMALL)
    assert raw.meta["version"] == "1.3.0" and raw.meta["exported"] is True
    assert raw.meta["weights_from"] == "best_state"
    assert raw.meta["sha256"] == sha256_file(path)
    assert raw.warnings == []


def test_exported_yaml_references_are_resolved(tmp_path: Path) -> None:
    """AudioCraft's exporter writes `OmegaConf.to_yaml(cfg)` unresolved: `${channels}` etc."""
    path = write_audiocraft_exported(tmp_path / "exported.th", interpolate=True)
    raw = _read(path)
    want = to_audiocraft_dict(SMALL)
    want["rvq"]["dimension"] = SMALL.dimension
    assert raw.config == want


def test_unresolvable_reference_is_a_warning(tmp_path: Path) -> None:
    path = write_audiocraft_exported(tmp_path / "exported.th")
    pkg = torch.load(path, weights_only=True)
    pkg["xp.cfg"] = pkg["xp.cfg"].replace("pad_mode: reflect", "pad_mode: ${nowhere.pad}")
    torch.save(pkg, path)
    with pytest.warns(CheckpointWarning, match=r"seanet\.pad_mode.*unknown key"):
        raw = read_checkpoint(path)
    assert raw.config["seanet"]["pad_mode"] == "${nowhere.pad}"


def test_package_directory_reads_compression_state_dict(tmp_path: Path) -> None:
    raw = _read(_package_dir(tmp_path))
    assert raw.format == AUDIOCRAFT_EXPORTED
    assert raw.meta["weights_file"].endswith("compression_state_dict.bin")
    _assert_same_tensors(raw.state_dict, canonical_state_dict())


def test_read_training_prefers_best_state(tmp_path: Path) -> None:
    sd = canonical_state_dict()
    other = {k: v + 1 for k, v in sd.items()}
    path = write_audiocraft_training(tmp_path / "checkpoint.th", model=other, ema=other)
    raw = _read(path)
    assert raw.format == AUDIOCRAFT_TRAINING and raw.config_kind == "audiocraft"
    _assert_same_tensors(raw.state_dict, sd)
    assert raw.meta["weights_from"] == "best_state.model"
    assert raw.meta["exported"] is False
    want = to_audiocraft_dict(SMALL)
    assert raw.config == want  # `${channels}` resolved, OmegaConf stand-ins made plain
    assert type(raw.config["seanet"]["ratios"]) is list


def test_training_without_best_state_reads_ema(tmp_path: Path) -> None:
    ema = {k: v * 2 for k, v in canonical_state_dict().items()}
    path = write_audiocraft_training(tmp_path / "checkpoint.th", best={}, ema=ema)
    with pytest.warns(CheckpointWarning, match="EMA"):
        raw = read_checkpoint(path)
    assert raw.meta["weights_from"] == "ema.state.model"
    _assert_same_tensors(raw.state_dict, ema)


def test_pointer_is_refused_naming_its_target(tmp_path: Path) -> None:
    path = write_audiocraft_pointer(tmp_path / "pointer.th", "facebook/encodec_32khz")
    with pytest.raises(CheckpointError) as info:
        read_checkpoint(path)
    msg = str(info.value)
    assert "points to pretrained model 'facebook/encodec_32khz'" in msg
    assert "holds no weights" in msg and str(path) in msg
    assert pointer_target(path) == "facebook/encodec_32khz"


# ------------------------------------------------------------------------------ HF / encodec

def test_read_hf_directory(tmp_path: Path) -> None:
    d = write_hf_dir(tmp_path / "hf")
    raw = _read(d)
    assert raw.format == HF and raw.config_kind == "hf"
    want = {k: v for k, v in hf_model().state_dict().items()}
    _assert_same_tensors(dict(sorted(raw.state_dict.items())), dict(sorted(want.items())))
    assert any(".parametrizations.weight.original0" in k for k in raw.state_dict)
    for key, value in to_hf_dict(SMALL).items():
        assert raw.config[key] == value, key
    assert str(d / "config.json") in raw.meta["source_files"]


def test_read_hf_bin_directory(tmp_path: Path) -> None:
    raw = _read(write_hf_dir(tmp_path / "hf", bin_file=True))
    assert raw.format == HF and raw.meta["weights_file"].endswith("pytorch_model.bin")
    assert raw.config["codebook_size"] == SMALL.bins


def test_hf_single_file_with_and_without_config(tmp_path: Path) -> None:
    src = write_hf_dir(tmp_path / "hf")
    weights = Path(shutil.copy(src / "model.safetensors", tmp_path / "weights.safetensors"))
    with pytest.warns(CheckpointWarning, match="no config.json"):
        bare = read_checkpoint(weights)
    assert bare.config is None and bare.config_kind is None
    raw = _read(weights, config_path=src / "config.json")
    assert raw.config_kind == "hf" and raw.config["num_filters"] == SMALL.n_filters
    assert raw.state_dict.keys() == bare.state_dict.keys()


def test_hf_config_of_another_model_is_refused(tmp_path: Path) -> None:
    d = write_hf_dir(tmp_path / "hf")
    text = (d / "config.json").read_text().replace('"model_type": "encodec"',
                                                   '"model_type": "dac"')
    (d / "config.json").write_text(text)
    with pytest.raises(CheckpointError, match="model_type is 'dac'"):
        read_checkpoint(d)


def test_read_encodec_th_checks_hash(tmp_path: Path) -> None:
    path = write_encodec_th(tmp_path)
    raw = _read(path)
    assert raw.format == ENCODEC and raw.config is None
    assert raw.meta["sha256"].startswith(raw.meta["sha256_checked"])
    _assert_same_tensors(raw.state_dict, canonical_state_dict())


def test_encodec_th_hash_mismatch(tmp_path: Path) -> None:
    path = write_encodec_th(tmp_path, wrong_hash=True)
    expected = path.stem.rsplit("-", 1)[1]
    actual = sha256_file(path)[:8]
    with pytest.raises(CheckpointError, match="SHA-256 mismatch") as info:
        read_checkpoint(path)
    assert expected in str(info.value) and actual in str(info.value)


# ---------------------------------------------------------------------------- forced format

def test_forced_format(tmp_path: Path) -> None:
    path = write_audiocraft_exported(tmp_path / "exported.th")
    assert _read(path, format=AUDIOCRAFT_EXPORTED).format == AUDIOCRAFT_EXPORTED
    with pytest.raises(CheckpointError, match="'hf' was requested.*'audiocraft-exported'"):
        read_checkpoint(path, format=HF)
    with pytest.raises(CheckpointError, match="unknown"):
        read_checkpoint(path, format="onnx")


def test_forced_format_for_unrecognised_flat_keys(tmp_path: Path) -> None:
    path = tmp_path / "odd.th"
    torch.save({"something.weight": torch.ones(2)}, path)
    with pytest.raises(CheckpointError, match="matches no known EnCodec checkpoint format"):
        read_checkpoint(path)
    assert _read(path, format=ENCODEC).state_dict.keys() == {"something.weight"}


# ----------------------------------------------------------------------------- tensor checks

def test_nan_and_inf_are_refused_naming_every_key(tmp_path: Path) -> None:
    sd = canonical_state_dict()
    keys = list(sd)
    sd[keys[0]].view(-1)[0] = float("nan")
    sd[keys[5]].view(-1)[-1] = float("inf")
    sd["quantizer.vq.layers.0._codebook.embed"][3, 1] = float("-inf")
    path = write_encodec_th(tmp_path, sd=sd)
    with pytest.raises(CheckpointError, match="NaN or inf") as info:
        read_checkpoint(path)
    msg = str(info.value)
    for k in (keys[0], keys[5], "quantizer.vq.layers.0._codebook.embed"):
        assert k in msg, k
    assert "3 tensor(s)" in msg


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_converted_with_a_warning(tmp_path: Path, dtype: torch.dtype) -> None:
    sd = canonical_state_dict()
    half = {k: v.to(dtype) for k, v in sd.items()}
    path = write_audiocraft_exported(tmp_path / "half.th", sd=half)
    with pytest.warns(CheckpointWarning, match=str(dtype)) as record:
        raw = read_checkpoint(path)
    first = next(iter(sd))
    assert any(first in str(w.message) for w in record)
    assert all(v.dtype == torch.float32 for v in raw.state_dict.values())
    _assert_same_tensors(raw.state_dict, {k: v.float() for k, v in half.items()})
    assert any(str(dtype) in w for w in raw.warnings)


def test_non_tensor_values_are_refused(tmp_path: Path) -> None:
    sd = canonical_state_dict()
    sd["encoder.model.0.conv.conv.bias"] = [0.0, 1.0]
    path = write_audiocraft_exported(tmp_path / "bad.th", sd=sd)
    with pytest.raises(CheckpointError, match="not tensors") as info:
        read_checkpoint(path)
    assert "encoder.model.0.conv.conv.bias: list" in str(info.value)


def test_empty_state_dict_is_refused(tmp_path: Path) -> None:
    path = write_audiocraft_exported(tmp_path / "empty.th", sd={})
    with pytest.raises(CheckpointError, match="holds no tensors"):
        read_checkpoint(path)


def test_safetensors_file_with_bad_values(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    save_file({"encoder.layers.0.conv.bias": torch.tensor([1.0, float("nan")])}, str(path))
    with pytest.raises(CheckpointError, match=r"encoder\.layers\.0\.conv\.bias"):
        read_checkpoint(path)


def test_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.th"
    torch.save([torch.ones(1)], path)
    with pytest.raises(CheckpointError, match="matches no known .* a list"):
        read_checkpoint(path)


def test_directory_that_is_no_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(CheckpointError, match="neither a Hugging Face model.*notes.txt"):
        read_checkpoint(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(CheckpointError, match="holds config.json but no weights"):
        read_checkpoint(tmp_path)


# ------------------------------------------------------------------------------ hub cache









def test_exported_package_without_flag_is_detected_by_flat_best_state(tmp_path: Path) -> None:
    """Older MusicGen packages may lack 'exported'; a flat best_state is enough."""
    path = tmp_path / "compression_state_dict.bin"
    torch.save({"best_state": canonical_state_dict(), "xp.cfg": "sample_rate: 24000\n",
                "version": "0.0.1"}, path)
    raw = _read(path)
    assert raw.format == AUDIOCRAFT_EXPORTED and raw.meta["exported"] is False
    assert raw.config == {"sample_rate": 24000}


def test_sharded_safetensors_directory(tmp_path: Path) -> None:
    import json

    src = write_hf_dir(tmp_path / "hf")
    sd = hf_model().state_dict()
    keys = sorted(sd)
    half = len(keys) // 2
    shards = {"model-00001-of-00002.safetensors": keys[:half],
              "model-00002-of-00002.safetensors": keys[half:]}
    (src / "model.safetensors").unlink()
    for name, names in shards.items():
        save_file({k: sd[k].contiguous() for k in names}, str(src / name))
    index = {"metadata": {}, "weight_map": {k: n for n, ks in shards.items() for k in ks}}
    (src / "model.safetensors.index.json").write_text(json.dumps(index))
    raw = _read(src)
    assert raw.format == HF and sorted(raw.state_dict) == keys
    assert len(raw.meta["source_files"]) == 4  # index, two shards, config.json
    index["weight_map"][keys[0]] = "../outside.safetensors"
    (src / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(CheckpointError, match="plain file names"):
        read_checkpoint(src)


def test_an_empty_dict_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "empty_dict.th"
    torch.save({}, path)
    with pytest.raises(CheckpointError, match="matches no known .* holds an empty dict"):
        read_checkpoint(path)


def _safetensors(header: bytes, data: bytes = b"\0" * 4) -> bytes:
    return len(header).to_bytes(8, "little") + header + data


def _zip_without_version(path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", b"\0" * (4 << 20))


MALFORMED = {
    "safetensors header length of 2**62": (
        "x.safetensors", lambda p: p.write_bytes((1 << 62).to_bytes(8, "little") + b"{}"),
        "not a valid safetensors file"),
    "safetensors tensor larger than its data": (
        "x.safetensors", lambda p: p.write_bytes(_safetensors(
            b'{"encoder.layers.0.conv.weight_g": {"dtype": "F32", "shape": [1000000, 1000000],'
            b' "data_offsets": [0, 4]}}')), "not a valid safetensors file"),
    "safetensors negative shape": (
        "x.safetensors", lambda p: p.write_bytes(_safetensors(
            b'{"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}')),
        "not a valid safetensors file"),
    "zip without a version record": ("x.th", _zip_without_version, "not a readable PyTorch"),
    "pickle nested 200000 lists deep": (
        "x.th", lambda p: p.write_bytes(b"\x80\x02" + b"]" * 200_000 + b"a" * 199_999 + b"."),
        "matches no known EnCodec checkpoint format"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_files_are_refused_naming_the_problem(tmp_path: Path, case: str) -> None:
    name, make, message = MALFORMED[case]
    path = tmp_path / name
    make(path)
    before = path.read_bytes()
    with pytest.raises(CheckpointError, match=message) as info:
        read_checkpoint(path)
    assert path.name in str(info.value)
    assert path.read_bytes() == before
