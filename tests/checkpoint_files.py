"""Writers of small checkpoint files in every supported format, for tests.

Each writer takes a destination under pytest's `tmp_path` and returns the path it wrote.
`omegaconf` (training checkpoints) and `transformers` (HF directories) are imported lazily:
they are test dependencies only.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import torch
import yaml

from conformance.checkpoints.audiocraft_config import to_audiocraft_dict
from conformance.checkpoints.hf_config import to_hf_dict
from conformance.model.config import EncodecConfig
from conformance.testing.weights import random_model
from tests.configs import CHECKPOINT_24

SMALL = CHECKPOINT_24


@functools.lru_cache(maxsize=8)
def _state_dict(cfg: EncodecConfig, seed: int) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in random_model(cfg, seed).state_dict().items()}


def canonical_state_dict(cfg: EncodecConfig = SMALL, seed: int = 0) -> dict[str, torch.Tensor]:
    """A fresh copy of the reference model's state dict (canonical `encoder.model.*` keys)."""
    return {k: v.clone() for k, v in _state_dict(cfg, seed).items()}


def audiocraft_yaml(cfg: EncodecConfig = SMALL, interpolate: bool = False) -> str:
    """`xp.cfg` as AudioCraft's exporter writes it; `interpolate` keeps `${...}` references
    the way AudioCraft's own yaml files use them (OmegaConf.to_yaml does not resolve them)."""
    d = to_audiocraft_dict(cfg)
    if interpolate:
        d["encodec"]["sample_rate"] = "${sample_rate}"
        d["encodec"]["channels"] = "${channels}"
        d["seanet"]["channels"] = "${channels}"
        d["seanet"]["causal"] = "${encodec.causal}"
        d["rvq"]["dimension"] = "${seanet.dimension}"
    return yaml.safe_dump(d)


def write_audiocraft_exported(path: Path, cfg: EncodecConfig = SMALL,
                              sd: dict[str, torch.Tensor] | None = None,
                              interpolate: bool = False, **extra: Any) -> Path:
    """AudioCraft `export_encodec` package: flat best_state, YAML xp.cfg, version, exported."""
    pkg = {"best_state": canonical_state_dict(cfg) if sd is None else sd,
           "xp.cfg": audiocraft_yaml(cfg, interpolate), "version": "1.3.0", "exported": True,
           **extra}
    torch.save(pkg, path)
    return path


def training_package(cfg: EncodecConfig = SMALL, best: dict[str, torch.Tensor] | None = None,
                     model: dict[str, torch.Tensor] | None = None,
                     ema: dict[str, torch.Tensor] | None = None, **extra: Any) -> dict[str, Any]:
    """An AudioCraft (flashy) training checkpoint dict, with a real OmegaConf `xp.cfg`."""
    from omegaconf import OmegaConf

    sd = canonical_state_dict(cfg)
    xp_cfg = OmegaConf.create(to_audiocraft_dict(cfg))
    xp_cfg.seanet.channels = "${channels}"  # as AudioCraft's yaml has it
    OmegaConf.set_struct(xp_cfg, True)  # Hydra sets the struct flag
    first = next(iter(sd.values()))
    return {
        "xp.cfg": xp_cfg,
        "model": sd if model is None else model,
        "best_state": {"model": sd if best is None else best},
        "optimizer": {
            "state": {0: {"step": torch.tensor(10.0), "exp_avg": torch.zeros_like(first),
                          "exp_avg_sq": torch.zeros_like(first)}},
            "param_groups": [{"lr": 3e-4, "betas": (0.5, 0.9), "eps": 1e-8, "weight_decay": 0.0,
                              "amsgrad": False, "params": [0]}],
        },
        "ema": {"state": {"model": sd if ema is None else ema},
                "counts": collections.defaultdict(int, {"model": 10})},
        "history": [{"train": {"loss": 1.25, "sisnr": -3.5}}],
        **extra,
    }


def write_audiocraft_training(path: Path, cfg: EncodecConfig = SMALL, **kw: Any) -> Path:
    """`torch.save` of `training_package(...)` (refused by torch's weights-only unpickler)."""
    torch.save(training_package(cfg, **kw), path)
    return path


def write_audiocraft_pointer(path: Path, name: str = "facebook/encodec_32khz") -> Path:
    """AudioCraft `export_pretrained_compression_model` pointer: a name and no weights."""
    torch.save({"pretrained": name, "exported": True, "version": "1.3.0"}, path)
    return path


def write_encodec_th(directory: Path, sd: dict[str, torch.Tensor] | None = None,
                     stem: str = "encodec_24khz", wrong_hash: bool = False) -> Path:
    """Original-package `.th`: a plain state dict named `<stem>-<first 8 hex of sha256>.th`."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{stem}.tmp"
    torch.save(collections.OrderedDict(canonical_state_dict() if sd is None else sd), tmp)
    sha8 = hashlib.sha256(tmp.read_bytes()).hexdigest()[:8]
    if wrong_hash:
        sha8 = f"{(int(sha8, 16) + 1) % 16**8:08x}"
    path = directory / f"{stem}-{sha8}.th"
    os.replace(tmp, path)
    return path


@functools.lru_cache(maxsize=2)
def hf_model(cfg: EncodecConfig = SMALL) -> Any:
    """A transformers EncodecModel for `cfg` (its own random init; built once, ~3 s).

    Skips the calling test when transformers (the `peers` extra) is not installed."""
    import pytest

    transformers = pytest.importorskip("transformers")

    kw = {k: v for k, v in to_hf_dict(cfg).items() if k not in ("model_type", "architectures")}
    torch.manual_seed(0)
    return transformers.EncodecModel(transformers.EncodecConfig(**kw)).eval()


def write_hf_dir(directory: Path, cfg: EncodecConfig = SMALL, bin_file: bool = False) -> Path:
    """`save_pretrained` output: config.json + model.safetensors (or pytorch_model.bin)."""
    model = hf_model(cfg)
    model.save_pretrained(directory)
    if bin_file:  # transformers 5 always writes safetensors; the .bin is the older layout
        (directory / "model.safetensors").unlink()
        torch.save(collections.OrderedDict(model.state_dict()), directory / "pytorch_model.bin")
    return directory


def write_hf_cache(cache: Path, repo: str, source_dir: Path, revision: str = "main",
                   commit: str = "0123456789abcdef0123456789abcdef01234567") -> Path:
    """A Hugging Face hub cache entry (blobs + snapshot symlinks + refs) for `source_dir`."""
    repo_dir = cache / ("models--" + repo.replace("/", "--"))
    snapshot = repo_dir / "snapshots" / commit
    (repo_dir / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    for f in sorted(source_dir.iterdir()):
        blob = repo_dir / "blobs" / hashlib.sha256(f.read_bytes()).hexdigest()
        shutil.copyfile(f, blob)
        (snapshot / f.name).symlink_to(os.path.relpath(blob, snapshot))
    (repo_dir / "refs").mkdir(exist_ok=True)
    (repo_dir / "refs" / revision).write_text(commit)
    return snapshot


class Hostile:
    """Unpickling this creates `marker` (via `builtins.exec`), proving code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (f"open({self.marker!r}, 'w').write('pwned')",))


class HostileSystem:
    """Unpickling this runs `touch marker` through `os.system`."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch '{self.marker}'",))


def write_plain_pickle(path: Path, obj: Any, protocol: int = pickle.HIGHEST_PROTOCOL) -> Path:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=protocol)
    return path


def file_fingerprint(path: Path) -> tuple[str, int, int]:
    """(sha256, size, mtime_ns) of a file, to prove reading left it untouched."""
    st = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), st.st_size, st.st_mtime_ns
