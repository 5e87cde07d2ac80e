"""The safe loaders: hostile pickles never run, broken files give one clear error."""

from __future__ import annotations

import collections
import io
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from conformance.checkpoints.omegaconf_plain import resolve_interpolations, to_plain
from conformance.checkpoints.unpickler import (
    ALLOWED_GLOBALS,
    DictConfigStub,
    RefusedGlobalError,
    RestrictedUnpickler,
    load_safetensors,
    load_torch,
)
from conformance.errors import CheckpointError, ConfigFileError
from conformance.safe_parse import parse_yaml as load_yaml
from tests.checkpoint_files import (
    Hostile,
    HostileSystem,
    canonical_state_dict,
    training_package,
    write_audiocraft_training,
    write_plain_pickle,
)

# ---------------------------------------------------------------------------- hostile input


def _assert_refused(path: Path, marker: Path, global_name: str) -> None:
    with pytest.raises(CheckpointError) as info:
        load_torch(path)
    msg = str(info.value)
    assert global_name in msg and str(path) in msg, msg
    assert "refused" in msg
    assert not marker.exists(), "the hostile payload ran"


def test_hostile_torch_save_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "evil.th"
    torch.save({"weight": torch.zeros(2), "x": HostileSystem(marker)}, path)
    _assert_refused(path, marker, f"{os.system.__module__}.system")


def test_hostile_plain_pickle_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = write_plain_pickle(tmp_path / "evil.pkl", {"x": Hostile(marker)})
    _assert_refused(path, marker, "builtins.exec")


def test_hostile_protocol0_pickle_is_refused(tmp_path: Path) -> None:
    """Protocol 0 names builtins `__builtin__`; the Python 2 name mapping must not bypass us."""
    marker = tmp_path / "marker"
    data = f"c__builtin__\nexec\n(V open({str(marker)!r}, 'w')\ntR.".encode()
    path = tmp_path / "evil0.pkl"
    path.write_bytes(data)
    _assert_refused(path, marker, "builtins.exec")


def test_hostile_training_checkpoint_is_refused_on_the_fallback_path(tmp_path: Path) -> None:
    """A file that weights_only refuses anyway (OmegaConf + defaultdict) still cannot run code."""
    marker = tmp_path / "marker"
    path = tmp_path / "checkpoint.th"
    torch.save(training_package(evil=Hostile(marker)), path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)  # so the restricted fallback is what refuses
    _assert_refused(path, marker, "builtins.exec")


def test_hostile_legacy_torch_format_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "legacy.th"
    torch.save({"x": HostileSystem(marker)}, path, _use_new_zipfile_serialization=False)
    _assert_refused(path, marker, "system")


def test_hostile_defaultdict_factory_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = write_plain_pickle(tmp_path / "dd.pkl",
                              collections.defaultdict(HostileSystem(marker).__reduce__()[0]))
    _assert_refused(path, marker, "system")


def test_codecs_encode_only_for_text(tmp_path: Path) -> None:
    """Protocol-2 bytes use `_codecs.encode(s, 'latin1')`; other codecs are refused."""
    ok = write_plain_pickle(tmp_path / "bytes.pkl", {"b": b"\x00\xffab"}, protocol=2)
    assert load_torch(ok) == {"b": b"\x00\xffab"}
    bad = tmp_path / "rot13.pkl"
    bad.write_bytes(b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x05\x00\x00\x00rot13\x86R.")
    with pytest.raises(CheckpointError, match="rot13"):
        load_torch(bad)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torchscript_archive_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(path))
    with pytest.raises(CheckpointError, match="a TorchScript archive, not a checkpoint"):
        load_torch(path)


def test_yaml_python_tags_are_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    text = f"!!python/object/apply:os.system ['touch {marker}']"
    with pytest.raises(ConfigFileError, match="YAML"):
        load_yaml(text, "xp.cfg")
    assert not marker.exists()
    assert load_yaml("a: {b: [1, 2]}") == {"a": {"b": [1, 2]}}


def test_allowlist_is_exact() -> None:
    """Only containers, scalars, torch rebuild/storage/dtype globals and the OmegaConf stand-ins."""
    prefixes = ("builtins.", "collections.", "_codecs.", "torch.", "omegaconf.", "typing.")
    assert all(k.startswith(prefixes) for k in ALLOWED_GLOBALS), sorted(ALLOWED_GLOBALS)
    builtin_names = {k for k in ALLOWED_GLOBALS if k.startswith("builtins.")}
    assert builtin_names == {f"builtins.{n}" for n in (
        "dict", "list", "tuple", "set", "frozenset", "int", "float", "complex", "str", "bytes",
        "bytearray", "bool")}
    assert {k for k in ALLOWED_GLOBALS if k.startswith("collections.")} == {
        "collections.OrderedDict", "collections.defaultdict"}
    torch_callables = {k for k, v in ALLOWED_GLOBALS.items()
                       if k.startswith("torch.") and callable(v) and not isinstance(v, type)
                       and "Storage" not in k}
    assert torch_callables == {
        "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_tensor_v3", "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state", "torch._tensor._rebuild_from_type_v2"}
    # stand-ins, never the real OmegaConf classes
    assert ALLOWED_GLOBALS["omegaconf.dictconfig.DictConfig"] is DictConfigStub


@pytest.mark.parametrize("module,name", [
    ("builtins", "eval"), ("__builtin__", "eval"), ("builtins", "getattr"), ("os", "system"),
    ("posix", "system"), ("subprocess", "Popen"), ("torch", "load"), ("_operator", "getitem"),
    ("omegaconf", "OmegaConf"), ("collections", "namedtuple")])
def test_find_class_refuses_everything_else(module: str, name: str) -> None:
    with pytest.raises(RefusedGlobalError) as info:
        RestrictedUnpickler(io.BytesIO(b"")).find_class(module, name)
    assert info.value.global_name.endswith(name)


# ------------------------------------------------------------------ AudioCraft training files


def test_training_checkpoint_loads_with_stand_ins(tmp_path: Path) -> None:
    path = write_audiocraft_training(tmp_path / "checkpoint.th")
    pkg = load_torch(path)
    assert isinstance(pkg["xp.cfg"], DictConfigStub)
    assert isinstance(pkg["ema"]["counts"], collections.defaultdict)
    assert pkg["ema"]["counts"]["model"] == 10
    sd = canonical_state_dict()
    assert pkg["best_state"]["model"].keys() == sd.keys()
    assert all(torch.equal(pkg["best_state"]["model"][k], v) for k, v in sd.items())
    expected = OmegaConf.to_container(training_package()["xp.cfg"], resolve=False)
    assert to_plain(pkg["xp.cfg"]) == expected
    resolved, problems = resolve_interpolations(to_plain(pkg["xp.cfg"]))
    assert problems == []
    assert resolved["seanet"]["channels"] == 1
    assert pkg["optimizer"]["param_groups"][0]["betas"] == (0.5, 0.9)


def test_legacy_format_training_checkpoint_loads(tmp_path: Path) -> None:
    path = tmp_path / "legacy.th"
    torch.save(training_package(), path, _use_new_zipfile_serialization=False)
    pkg = load_torch(path)
    assert to_plain(pkg["xp.cfg"])["rvq"]["bins"] == 16


def test_omegaconf_is_not_needed_at_runtime(tmp_path: Path) -> None:
    """Loading a training checkpoint must work where omegaconf cannot be imported at all."""
    path = write_audiocraft_training(tmp_path / "checkpoint.th")
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'omegaconf': raise ImportError('blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from conformance.checkpoints.unpickler import load_torch\n"
        "from conformance.checkpoints.omegaconf_plain import to_plain\n"
        f"cfg = to_plain(load_torch({str(path)!r})['xp.cfg'])\n"
        "assert cfg['rvq']['n_q'] == 4, cfg\n"
        "assert 'omegaconf' not in sys.modules\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_plain_pickle_of_safe_data_loads(tmp_path: Path) -> None:
    data = {"a": [1, 2.5, None, True], "b": collections.OrderedDict(x=(1, 2)), "c": {3, 4}}
    assert load_torch(write_plain_pickle(tmp_path / "ok.pkl", data)) == data


# ------------------------------------------------------------------------------ broken files


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.th"
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"empty \(0 bytes\)") as info:
        load_torch(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such file"):
        load_torch(tmp_path / "nope.th")


def test_truncated_torch_file(tmp_path: Path) -> None:
    good = tmp_path / "good.th"
    torch.save(canonical_state_dict(), good)
    data = good.read_bytes()
    for cut in (len(data) // 2, len(data) - 10):
        path = tmp_path / f"cut{cut}.th"
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="truncated or corrupt") as info:
            load_torch(path)
        assert str(path) in str(info.value)


def test_corrupt_tensor_data_in_zip(tmp_path: Path) -> None:
    """A zip whose central directory is intact but whose tensor record is damaged."""
    good = tmp_path / "good.th"
    torch.save({"w": torch.arange(1000.0)}, good)
    with zipfile.ZipFile(good) as zf:
        entries = {i.filename: zf.read(i.filename) for i in zf.infolist()}
    path = tmp_path / "bad.th"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data[:10] if name.endswith("/data/0") else data)
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_torch(path)


def test_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.th"
    path.write_text("hello, this is not a checkpoint\n")
    with pytest.raises(CheckpointError, match="neither a PyTorch checkpoint nor a pickle"):
        load_torch(path)


def test_zip_of_text(tmp_path: Path) -> None:
    path = tmp_path / "archive.th"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(CheckpointError, match=r"zip archive but not a PyTorch checkpoint.*readme"):
        load_torch(path)


def test_safetensors_given_to_load_torch(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "w.bin"
    save_file({"w": torch.ones(2)}, str(path))
    with pytest.raises(CheckpointError, match="safetensors file, not a PyTorch pickle"):
        load_torch(path)


def test_safetensors_good_and_corrupt(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "model.safetensors"
    save_file({"a": torch.arange(6.0).reshape(2, 3)}, str(path))
    loaded = load_safetensors(path)
    assert torch.equal(loaded["a"], torch.arange(6.0).reshape(2, 3))
    data = path.read_bytes()
    for name, bad in {"cut": data[:-8], "header": b"\xff" * 8 + data[8:],
                      "text": b"not safetensors at all"}.items():
        p = tmp_path / f"{name}.safetensors"
        p.write_bytes(bad)
        with pytest.raises(CheckpointError, match="not a valid safetensors file") as info:
            load_safetensors(p)
        assert str(p) in str(info.value)


# --------------------------------------------------------------------------- plain conversion






