"""Hub names resolve only from the local Hugging Face cache, never the network; a miss says
where it looked."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from conformance.checkpoints.formats import (
    AUDIOCRAFT_EXPORTED,
    AUDIOCRAFT_POINTER,
    AUDIOCRAFT_TRAINING,
    ENCODEC,
    HF,
    RawCheckpoint,
    detect_format,
    read_checkpoint,
)
from conformance.checkpoints.hub import resolve_hub_name
from conformance.errors import CheckpointError, CheckpointWarning
from tests.checkpoint_files import (
    SMALL,
    write_audiocraft_exported,
    write_audiocraft_pointer,
    write_audiocraft_training,
    write_encodec_th,
    write_hf_cache,
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


def test_hub_name_resolves_from_local_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("HF_HOME", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    src = write_hf_dir(tmp_path / "hf")
    snapshot = write_hf_cache(tmp_path / "cache", "facebook/encodec_small", src)
    assert resolve_hub_name("facebook/encodec_small") == snapshot
    assert resolve_hub_name(f"facebook/encodec_small@{snapshot.name}") == snapshot
    raw = _read("facebook/encodec_small")
    assert raw.format == HF and raw.config["num_filters"] == SMALL.n_filters
    assert raw.meta["hub_name"] == "facebook/encodec_small"
    assert detect_format("facebook/encodec_small") == HF


def test_hub_revision_and_hf_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    src = write_hf_dir(tmp_path / "hf")
    commit = "f" * 40
    snapshot = write_hf_cache(tmp_path / "home" / "hub", "facebook/encodec_small", src,
                              revision="v1", commit=commit)
    assert resolve_hub_name("facebook/encodec_small@v1") == snapshot
    with pytest.raises(CheckpointError, match="no revision 'main'"):
        resolve_hub_name("facebook/encodec_small")


def test_uncached_hub_name_says_where_it_looked(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    with pytest.raises(CheckpointError, match="not in the local Hugging Face cache") as info:
        read_checkpoint("facebook/encodec_32khz")
    msg = str(info.value)
    assert str(tmp_path / "cache") in msg
    assert "models--facebook--encodec_32khz" in msg


def test_missing_path_that_is_no_hub_name(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such file or directory"):
        read_checkpoint(tmp_path / "missing.th")
