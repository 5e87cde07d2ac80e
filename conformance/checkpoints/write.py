"""Write checkpoints (HF directory, AudioCraft exported, original `.th`), export AudioCraft
training checkpoints, and convert between formats -- always atomically, always verified by
reading the output back.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
import yaml

from conformance import __version__
from conformance.checkpoints.audiocraft_config import to_audiocraft_dict
from conformance.checkpoints.formats import (
    AUDIOCRAFT_EXPORTED,
    AUDIOCRAFT_TRAINING,
    ENCODEC,
    HF,
    RawCheckpoint,
    read_checkpoint,
)
from conformance.checkpoints.hf_config import to_hf_dict
from conformance.checkpoints.keymap import map_state_dict
from conformance.checkpoints.load import LoadedCheckpoint, load_checkpoint, load_raw
from conformance.errors import CheckpointError, InvalidArgument, VerificationError
from conformance.fileio import atomic_write_bytes, atomic_write_text, sha256_file
from conformance.model.config import EncodecConfig

__all__ = ["EXPORT_VERSION", "TARGETS", "WriteResult", "convert", "export", "hash_named",
           "write_audiocraft", "write_encodec", "write_hf"]

Target = Literal["hf", "audiocraft", "encodec"]
TARGETS = {"hf": HF, "audiocraft": AUDIOCRAFT_EXPORTED, "encodec": ENCODEC}
EXPORT_VERSION = f"encodec-conformance {__version__}"


@dataclass
class WriteResult:
    """Where the output went, what was checked, and anything the target format could not hold."""

    path: Path
    format: str
    tensors: int
    verified: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------- writers
def _save_torch(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, lambda tmp: torch.save(obj, tmp))


def _save_text(path: Path, text: str) -> None:
    atomic_write_text(path, text)


def write_hf(out_dir: str | Path, cfg: EncodecConfig, sd: Mapping[str, torch.Tensor],
             weight_norm: str = "weight_g") -> list[Path]:
    """A transformers directory: config.json, preprocessor_config.json, model.safetensors."""
    from safetensors.torch import save_file

    out_dir = Path(out_dir)
    hf_sd, report = map_state_dict(sd, "canonical", "hf", cfg, weight_norm=weight_norm)
    report.raise_if_problems()
    hf_cfg = to_hf_dict(cfg)
    hf_cfg["torch_dtype"] = "float32"
    pre = {
        "feature_extractor_type": "EncodecFeatureExtractor",
        "feature_size": cfg.channels,
        "sampling_rate": cfg.sample_rate,
        "padding_value": 0.0,
        "padding_side": "right",
        "return_attention_mask": True,
        "chunk_length_s": cfg.segment,
        "overlap": cfg.overlap if cfg.segment is not None else None,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous().to(torch.float32) for k, v in hf_sd.items()}
    weights = out_dir / "model.safetensors"
    atomic_write_bytes(weights, lambda tmp: save_file(tensors, tmp, metadata={"format": "pt"}))
    _save_text(out_dir / "preprocessor_config.json", json.dumps(pre, indent=2) + "\n")
    # config.json last: a directory without it is not mistaken for a complete checkpoint
    _save_text(out_dir / "config.json", json.dumps(hf_cfg, indent=2) + "\n")
    return [out_dir / "config.json", out_dir / "preprocessor_config.json", weights]


def write_audiocraft(path: str | Path, cfg: EncodecConfig, sd: Mapping[str, torch.Tensor],
                     xp_cfg: Mapping[str, Any] | None = None) -> Path:
    """An AudioCraft exported checkpoint: flat best_state, xp.cfg as YAML, version, exported."""
    path = Path(path)
    cfg_dict = dict(xp_cfg) if xp_cfg is not None else to_audiocraft_dict(cfg)
    pkg = {
        "best_state": OrderedDict((k, v.detach().clone()) for k, v in sd.items()),
        "xp.cfg": yaml.safe_dump(cfg_dict, sort_keys=False),
        "version": EXPORT_VERSION,
        "exported": True,
    }
    _save_torch(path, pkg)
    return path


def write_encodec(path: str | Path, sd: Mapping[str, torch.Tensor]) -> Path:
    """An original-package `.th`: a plain state dict with canonical names (no config inside)."""
    path = Path(path)
    _save_torch(path, OrderedDict((k, v.detach().clone()) for k, v in sd.items()))
    return path


def hash_named(path: Path) -> Path:
    """Rename `<stem>.th` to `<stem>-<first 8 hex of sha256>.th`, the original package's rule."""
    target = path.with_name(f"{path.stem}-{sha256_file(path)[:8]}{path.suffix}")
    os.replace(path, target)
    return target


# ------------------------------------------------------------------------------ verifying
def _verify(path: Path, fmt: str, src: LoadedCheckpoint | None, cfg: EncodecConfig,
            sd: Mapping[str, torch.Tensor], overrides: Mapping[str, Any] | None) -> list[str]:
    """Read `path` back and prove tensor-level (bitwise) and config equality."""
    back = load_checkpoint(path, format=fmt, overrides=overrides)
    checked = []
    if set(back.state_dict) != set(sd):
        raise VerificationError(f"{path}: read back {len(back.state_dict)} tensors, wrote "
                                f"{len(sd)}; differing keys: "
                                f"{sorted(set(back.state_dict) ^ set(sd))}")
    bad = [k for k, v in sd.items() if not torch.equal(back.state_dict[k], v.to(torch.float32))]
    if bad:
        raise VerificationError(f"{path}: {len(bad)} tensors differ after reading back: {bad}")
    checked.append(f"{len(sd)} tensors bitwise equal after reading back")
    if back.config != cfg:
        diffs = {f: (getattr(back.config, f), getattr(cfg, f))
                 for f in cfg.to_dict() if getattr(back.config, f) != getattr(cfg, f)}
        raise VerificationError(f"{path}: config read back differs (got, wanted): {diffs}")
    checked.append("config read back equal")
    return checked


# ------------------------------------------------------------------------------- commands
def convert(src: str | Path, dst: str | Path, to: Target, *, src_format: str | None = None,
            config_path: str | Path | None = None, preset: str | None = None,
            overrides: Mapping[str, Any] | None = None, weight_norm: str = "weight_g",
            overwrite: bool = False, ignore_dead_shortcuts: bool = True) -> WriteResult:
    """Convert any readable checkpoint to `to` ('hf', 'audiocraft', 'encodec'); verify it."""
    if to not in TARGETS:
        raise InvalidArgument(f"--to {to!r}: must be one of {sorted(TARGETS)}")
    dst = Path(dst)
    _refuse_existing(dst, overwrite)
    loaded = load_checkpoint(src, src_format, config_path=config_path, preset=preset,
                             overrides=overrides, ignore_dead_shortcuts=ignore_dead_shortcuts)
    _refuse_same_file(loaded.raw, dst)
    cfg, sd = loaded.config, loaded.state_dict
    notes = list(loaded.notes) + [w for w in loaded.raw.warnings if w.startswith("ignored")]
    verify_overrides = None
    if to == "hf":
        write_hf(dst, cfg, sd, weight_norm=weight_norm)
        out = dst
    elif to == "audiocraft":
        out = write_audiocraft(dst, cfg, sd)
        if cfg.segment is not None:
            notes.append("AudioCraft never chunks: its loaders ignore the chunking kept in "
                         "xp.cfg's 'encodec_conformance' section")
    else:
        out = write_encodec(dst, sd)
        verify_overrides = cfg.to_dict()
        verify_overrides.pop("name")
        notes.append("an original-package .th holds no config: reading it back needs the "
                     "family (file name encodec_24khz-*/encodec_48khz-*) or --preset/--set "
                     f"flags for {cfg.name}")
    verified = _verify(out, TARGETS[to], loaded, cfg, sd, verify_overrides)
    return WriteResult(out, TARGETS[to], len(sd), verified, notes)


def export(src: str | Path, dst: str | Path, *, overwrite: bool = False) -> WriteResult:
    """AudioCraft training checkpoint -> slim exported checkpoint (flat best_state, YAML
    xp.cfg, version, exported=True), like AudioCraft's own export; verified by reading back."""
    dst = Path(dst)
    _refuse_existing(dst, overwrite)
    raw = read_checkpoint(src)
    if raw.format != AUDIOCRAFT_TRAINING:
        hint = " (it is already exported)" if raw.format == AUDIOCRAFT_EXPORTED else ""
        raise CheckpointError(f"{src}: export needs an AudioCraft training checkpoint, but "
                              f"this is {raw.format}{hint}")
    loaded = load_raw(raw, filename=Path(str(src)).name)
    _refuse_same_file(raw, dst)
    out = write_audiocraft(dst, loaded.config, raw.state_dict, xp_cfg=raw.config)
    verified = _verify(out, AUDIOCRAFT_EXPORTED, loaded, loaded.config, loaded.state_dict, None)
    notes = list(raw.warnings)
    return WriteResult(out, AUDIOCRAFT_EXPORTED, len(raw.state_dict), verified, notes)


def _refuse_existing(dst: Path, overwrite: bool) -> None:
    if dst.exists() and not overwrite:
        raise InvalidArgument(f"{dst} already exists; pass --overwrite to replace it")


def _refuse_same_file(raw: RawCheckpoint, dst: Path) -> None:
    sources = [Path(p).resolve() for p in raw.meta.get("source_files", [])] + [
        Path(raw.path).resolve()]
    target = dst.resolve()
    if any(s == target or (target.is_dir() and target in s.parents) for s in sources):
        raise InvalidArgument(f"{dst} is the source checkpoint: a source file is never "
                              "modified; write somewhere else")
