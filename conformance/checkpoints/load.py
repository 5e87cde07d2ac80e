"""Loading any EnCodec checkpoint into the reference model, weights first, in one pass:

    read       formats.read_checkpoint      format, safe unpickling, tensors checked finite
    name       naming.name_tensors          key style; every tensor under its canonical name,
                                            from the key names alone (no config needed)
    infer      infer.infer_from_weights     the architecture the tensors imply
    resolve    resolve.resolve_config       the file's config, file name, preset and flags,
                                            each checked against the weights
    check      check_layout                 every key of the resolved layout present exactly
                                            once with its shape, nothing extra
    build      build_model                  the reference model, loaded strictly

Each step runs once and hands one object to the next; nothing is loaded partially. The one
tolerated extra: shortcut-conv tensors in a file whose own config disables shortcuts (see
`dead_shortcut_tensors`) are left out with a warning naming each of them.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from conformance.checkpoints.audiocraft_config import from_audiocraft_dict
from conformance.checkpoints.formats import RawCheckpoint, read_checkpoint
from conformance.checkpoints.hf_config import from_hf_dict
from conformance.checkpoints.infer import infer_from_weights
from conformance.checkpoints.keymap import MappingReport, compare_state_dict, expected_keys
from conformance.checkpoints.naming import NamedWeights, hf_name, name_tensors
from conformance.checkpoints.resolve import ResolvedConfig, resolve_config
from conformance.errors import (
    CheckpointWarning,
    ConfigError,
    KeyMappingError,
    KeyStyleError,
)
from conformance.model.config import EncodecConfig
from conformance.model.encodec import EncodecModel
from conformance.model.presets import PRESETS

__all__ = ["LoadedCheckpoint", "build_model", "check_layout", "dead_shortcut_tensors",
           "load_checkpoint", "load_raw", "name_weights"]


@dataclass
class LoadedCheckpoint:
    """A checkpoint read, named, resolved and strictly loaded into a reference model."""

    raw: RawCheckpoint
    named: NamedWeights
    weights_info: dict[str, Any]
    resolved: ResolvedConfig
    report: MappingReport
    model: EncodecModel
    notes: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  #: dead shortcut tensors (file's names)

    @property
    def config(self) -> EncodecConfig:
        return self.resolved.config

    @property
    def format(self) -> str:
        return self.raw.format

    @property
    def state_dict(self) -> dict[str, torch.Tensor]:
        """The tensors under canonical names, in the model's key order."""
        return {k: self.named.state_dict[k] for k in expected_keys(self.config)}


# ----------------------------------------------------------------------------------- name
def _best_effort_config(raw: RawCheckpoint, preset: str | None,
                        overrides: Mapping[str, Any] | None) -> EncodecConfig | None:
    """A config from the file, a preset or complete flags -- or None -- to list the keys a
    model would have needed."""
    try:
        if raw.config_kind == "hf" and raw.config:
            return from_hf_dict(raw.config)
        if raw.config_kind == "audiocraft" and raw.config:
            return from_audiocraft_dict(raw.config)
        if overrides and {"sample_rate", "ratios", "n_q"} <= set(overrides):
            return EncodecConfig.from_dict(dict(overrides))
        if preset in PRESETS:
            return PRESETS[preset]
    except (ConfigError, KeyError, TypeError, ValueError):
        return None
    return None


def name_weights(raw: RawCheckpoint, preset: str | None = None,
                 overrides: Mapping[str, Any] | None = None) -> NamedWeights:
    """Step 2: the tensors under canonical names.

    When no key is an EnCodec key at all (every key renamed, a wrapper prefix, a nested
    checkpoint) -- the load a non-strict `load_state_dict` would silently turn into static
    noise -- KeyMappingError names every key of the file, and every key the model needs when
    a config says which.
    """
    try:
        return name_tensors(raw.state_dict)
    except KeyStyleError as exc:
        cfg = _best_effort_config(raw, preset, overrides)
        if cfg is not None:
            report = compare_state_dict(raw.state_dict, expected_keys(cfg),
                                        source=str(raw.path),
                                        target=f"EnCodec ({cfg.name}) canonical keys")
        else:
            report = MappingReport(source=str(raw.path), target="EnCodec keys")
            report.unexpected = list(raw.state_dict)
        report.hints.insert(0, exc.message)
        raise KeyMappingError(report) from exc


# ------------------------------------------------------------------------- tolerated extras
_SHORTCUT_KEY = re.compile(
    r"^(encoder|decoder)\.model\.\d+\.shortcut\.conv\.conv\.(weight_g|weight_v|weight|bias)$")


def _shortcuts_disabled(raw: RawCheckpoint) -> bool:
    """Whether the file's own config turns the residual shortcut convs off."""
    if raw.config_kind == "hf" and raw.config is not None:
        return raw.config.get("use_conv_shortcut", True) is False
    if raw.config_kind == "audiocraft" and raw.config is not None:
        return bool((raw.config.get("seanet") or {}).get("true_skip", False))
    return False


def dead_shortcut_tensors(raw: RawCheckpoint, named: NamedWeights) -> list[str]:
    """Canonical keys of shortcut-conv tensors in a file whose own config disables shortcuts.

    facebook/encodec_32khz's Hub weights were converted while its config still said
    `use_conv_shortcut: true` and keep those 24 tensors, which transformers ignores. Only
    square 1x1 convs (the only shape a shortcut can have) qualify; anything else stays an error.
    """
    if not _shortcuts_disabled(raw):
        return []
    keys = [k for k in named.state_dict if ".shortcut." in k]
    for key in keys:
        shape = tuple(named.state_dict[key].shape)
        leaf = key.rsplit(".", 1)[-1]
        square = (len(shape) == 3 and shape[2] == 1 and (
            shape[1] == 1 if leaf == "weight_g" else shape[0] == shape[1]))
        if not _SHORTCUT_KEY.match(key) or not (square or len(shape) == 1):
            return []  # not the recognised case: let the layout check report every key
    return keys


def _drop(raw: RawCheckpoint, named: NamedWeights, keys: list[str]) -> list[str]:
    """Leave `keys` (canonical) out, with a warning; returns them under the file's names."""
    sources = {dst: src for src, dst in named.renamed}
    shown = [sources.get(k, k) for k in keys]
    for key in keys:
        del named.state_dict[key]
    message = (f"ignored {len(keys)} shortcut-conv tensor(s) that the file's own config "
               "disables (use_conv_shortcut=false / true_skip=true), as transformers does: "
               + ", ".join(shown))
    warnings.warn(message, CheckpointWarning, stacklevel=3)
    raw.warnings.append(message)
    return shown


# ---------------------------------------------------------------------------------- check
def check_layout(named: NamedWeights, cfg: EncodecConfig, source: str = "checkpoint"
                 ) -> MappingReport:
    """Step 5: every key of `cfg`'s layout present exactly once with its shape, nothing else.

    The report speaks the file's own key names (a transformers file's missing keys are given
    under transformers' names). KeyMappingError names every problem key.
    """
    report = compare_state_dict(named.state_dict, expected_keys(cfg), source=source,
                                target=f"EnCodec model ({cfg.name})")
    report.duplicates = list(named.duplicates)
    if named.style == "hf":
        original = {dst: src for src, dst in named.renamed}
        report.unexpected = [original.get(k, k) for k in report.unexpected]
        report.shape_mismatches = [(original.get(k, k), got, want)
                                   for k, got, want in report.shape_mismatches]
        report.missing = [_hf_or_same(k) for k in report.missing]
        report.mapped = [(original.get(k, k), k) for k, _ in report.mapped]
    report.spelling_only = list(named.respelled)
    if not report.ok:
        raise KeyMappingError(report)
    return report


def _hf_or_same(key: str) -> str:
    try:
        return hf_name(key)
    except ValueError:
        return key


# ---------------------------------------------------------------------------------- build
def build_model(cfg: EncodecConfig, state_dict: Mapping[str, torch.Tensor]) -> EncodecModel:
    """Step 6: the reference model for `cfg` with `state_dict` loaded strictly, in eval mode."""
    model = EncodecModel(cfg)
    model.load_state_dict({k: state_dict[k] for k in expected_keys(cfg)}, strict=True)
    return model.eval()


# --------------------------------------------------------------------------------- the pass
def load_raw(raw: RawCheckpoint, *, preset: str | None = None,
             overrides: Mapping[str, Any] | None = None, filename: str | None = None,
             ignore_dead_shortcuts: bool = True) -> LoadedCheckpoint:
    """Steps 2-6 on a checkpoint already read."""
    named = name_weights(raw, preset, overrides)
    dead = dead_shortcut_tensors(raw, named) if ignore_dead_shortcuts else []
    ignored = _drop(raw, named, dead) if dead else []
    info, weight_notes = infer_from_weights(named.state_dict)
    resolved = resolve_config(info, raw.config, raw.config_kind, preset=preset,
                              overrides=overrides, filename=filename or Path(raw.path).name)
    report = check_layout(named, resolved.config, source=str(raw.path))
    model = build_model(resolved.config, named.state_dict)
    return LoadedCheckpoint(raw=raw, named=named, weights_info=info, resolved=resolved,
                            report=report, model=model,
                            notes=named.notes() + list(weight_notes), ignored=ignored)


def load_checkpoint(path: str | Path, format: str | None = None, *,
                    config_path: str | Path | None = None, preset: str | None = None,
                    overrides: Mapping[str, Any] | None = None,
                    ignore_dead_shortcuts: bool = True) -> LoadedCheckpoint:
    """Read `path` (any supported format, or a cached hub name) into a reference model.

    Raises CheckpointError / ConfigFileError (unreadable or refused), KeyMappingError (keys or
    shapes do not fit; every key is named), ConfigConflictError (a config contradicts the
    weights; the field, the claimed value and what the weights imply are named) or
    ConfigResolutionError (nothing says the sample rate or causality). With
    `ignore_dead_shortcuts=False` the tolerated shortcut tensors are an error too.
    """
    raw = read_checkpoint(path, format=format, config_path=config_path)
    return load_raw(raw, preset=preset, overrides=overrides, filename=Path(str(path)).name,
                    ignore_dead_shortcuts=ignore_dead_shortcuts)
