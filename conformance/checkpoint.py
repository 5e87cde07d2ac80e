"""Load any EnCodec checkpoint into the reference model: read -> map keys -> resolve config ->
strict load. Every step reports; nothing is loaded partially.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .config import ConfigError, EncodecConfig, from_audiocraft_dict, from_hf_dict
from .errors import CheckpointError, CheckpointWarning
from .formats import RawCheckpoint, read_checkpoint
from .infer import ResolvedConfig, infer_from_weights, resolve_config
from .keymap import (
    KeyMappingError,
    KeyStyleError,
    MappingReport,
    compare_state_dict,
    detect_key_style,
    expected_keys,
    load_state_dict_strict,
    map_state_dict,
)
from .model import EncodecModel
from .presets import get_preset


@dataclass
class LoadedCheckpoint:
    """A checkpoint read, mapped to canonical keys, with its resolved config and a loaded model."""

    raw: RawCheckpoint
    resolved: ResolvedConfig
    state_dict: dict[str, torch.Tensor]
    report: MappingReport
    model: EncodecModel
    notes: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # dead shortcut tensors left out

    @property
    def config(self):
        return self.resolved.config

    @property
    def format(self) -> str:
        return self.raw.format


def _best_effort_config(raw: RawCheckpoint, preset: str | None,
                        overrides: Mapping[str, Any] | None):
    """A config from the file, a preset or complete flags -- or None -- to list missing keys."""
    try:
        if raw.config_kind == "hf" and raw.config:
            return from_hf_dict(raw.config)
        if raw.config_kind == "audiocraft" and raw.config:
            return from_audiocraft_dict(raw.config)
        if overrides and {"sample_rate", "ratios", "n_q"} <= set(overrides):
            return EncodecConfig.from_dict(dict(overrides))
        if preset:
            return get_preset(preset)
    except (ConfigError, KeyError, TypeError):
        return None
    return None


def _no_encodec_keys(raw: RawCheckpoint, exc: KeyStyleError, preset: str | None,
                     overrides: Mapping[str, Any] | None) -> KeyMappingError:
    """The 'static noise' case: no key is an EnCodec key. Name every one of them, and every
    key the model would have needed when a config says which."""
    cfg = _best_effort_config(raw, preset, overrides)
    if cfg is not None:
        report = compare_state_dict(raw.state_dict, expected_keys(cfg), source=str(raw.path),
                                    target=f"EnCodec ({cfg.name}) canonical keys")
    else:
        report = MappingReport(source=str(raw.path), target="EnCodec keys")
        report.unexpected = list(raw.state_dict)
    report.hints.insert(0, str(exc))
    return KeyMappingError(report)


def canonical_state_dict(raw: RawCheckpoint, preset: str | None = None,
                         overrides: Mapping[str, Any] | None = None,
                         ) -> tuple[dict[str, torch.Tensor], list[str]]:
    """The checkpoint's tensors under canonical names (HF names need the file's config.json to
    know which decoder layers are transposed convolutions)."""
    try:
        style = detect_key_style(raw.state_dict)
    except KeyStyleError as exc:
        raise _no_encodec_keys(raw, exc, preset, overrides) from exc
    if style == "canonical":
        return dict(raw.state_dict), []
    if raw.config_kind != "hf" or raw.config is None:
        raise CheckpointError(f"{raw.path}: Hugging Face key names but no config.json to map "
                              "them with; pass the config path")
    try:
        cfg = from_hf_dict(raw.config)
    except ConfigError as exc:
        raise CheckpointError(f"{raw.path}: its config.json is invalid: {exc}") from exc
    mapped, report = map_state_dict(raw.state_dict, "hf", "canonical", cfg)
    if not report.ok:
        raise KeyMappingError(report)
    notes = []
    if report.spelling_only:
        notes.append(f"{len(report.spelling_only)} weight-norm tensors renamed from the "
                     "parametrizations spelling")
    return mapped, notes


_SHORTCUT_KEY = re.compile(
    r"^(encoder|decoder)\.(model|layers)\.\d+\.shortcut\.(conv\.conv\.|conv\.)?"
    r"(weight_g|weight_v|weight|bias|parametrizations\.weight\.original[01])$")


def _shortcuts_disabled(raw: RawCheckpoint) -> bool:
    """Whether the file's own config turns the residual shortcut convs off."""
    if raw.config_kind == "hf" and raw.config is not None:
        return raw.config.get("use_conv_shortcut", True) is False
    if raw.config_kind == "audiocraft" and raw.config is not None:
        return bool((raw.config.get("seanet") or {}).get("true_skip", False))
    return False


def dead_shortcut_tensors(raw: RawCheckpoint) -> list[str]:
    """Keys of shortcut-conv tensors in a file whose own config disables shortcuts.

    facebook/encodec_32khz's Hub weights were converted while its config still said
    `use_conv_shortcut: true` and keep those 24 tensors, which transformers ignores. Only
    square 1x1 convs (the only shape a shortcut can have) qualify; anything else stays an error.
    """
    if not _shortcuts_disabled(raw):
        return []
    keys = [k for k in raw.state_dict if ".shortcut." in k]
    for key in keys:
        shape = tuple(raw.state_dict[key].shape)
        leaf = key.rsplit(".", 1)[-1]
        square = (len(shape) == 3 and shape[2] == 1 and (
            shape[1] == 1 if leaf in ("weight_g", "original0") else shape[0] == shape[1]))
        if not _SHORTCUT_KEY.match(key) or not (square or len(shape) == 1):
            return []  # not the recognised case: let the mapping report every key
    return keys


def load_checkpoint(path: str | Path, format: str | None = None, *,
                    config_path: str | Path | None = None, preset: str | None = None,
                    overrides: Mapping[str, Any] | None = None,
                    ignore_dead_shortcuts: bool = True) -> LoadedCheckpoint:
    """Read `path` (any supported format, or a cached hub name) into a reference model.

    Raises CheckpointError (unreadable/refused), KeyMappingError (keys or shapes do not fit;
    the message lists every key), or a ConfigError subclass (config missing or contradicting
    the weights). The one tolerated extra: shortcut-conv tensors in a file whose own config
    disables shortcuts (see `dead_shortcut_tensors`) are left out with a warning naming each
    of them; `ignore_dead_shortcuts=False` makes them an error too.
    """
    raw = read_checkpoint(path, format=format, config_path=config_path)
    ignored = dead_shortcut_tensors(raw) if ignore_dead_shortcuts else []
    if ignored:
        raw.state_dict = {k: v for k, v in raw.state_dict.items() if k not in set(ignored)}
        message = (f"ignored {len(ignored)} shortcut-conv tensor(s) that the file's own config "
                   f"disables (use_conv_shortcut=false / true_skip=true), as transformers does: "
                   + ", ".join(ignored))
        warnings.warn(message, CheckpointWarning, stacklevel=2)
        raw.warnings.append(message)
    sd, notes = canonical_state_dict(raw, preset, overrides)
    info, weight_notes = infer_from_weights(sd)
    resolved = resolve_config(info, raw.config, raw.config_kind, preset=preset,
                              overrides=overrides, filename=Path(str(path)).name)
    mapped, report = map_state_dict(sd, "canonical", "canonical", resolved.config)
    if not report.ok:
        raise KeyMappingError(report)
    model = EncodecModel(resolved.config)
    load_state_dict_strict(model, mapped)
    model.eval()
    return LoadedCheckpoint(raw=raw, resolved=resolved, state_dict=mapped, report=report,
                            model=model, notes=notes + list(weight_notes), ignored=ignored)
