"""Resolving a checkpoint's config (the fourth step of loading): every source of a field,
checked against what the weights imply.

Sources, weakest to strongest: defaults < the family implied by the weights (for files with no
config, preset or known name) < the file name (files with no config of their own) < a preset <
the file's own config (`config.json`, `xp.cfg`) < the user's flags. Structural fields always
take the weights' values: a flag, the file's config, or a preset / file name disagreeing on
channels, norm or ratios raises `ConfigConflictError`, naming the field in the source's own
terms, the claimed value and what the weights imply, e.g.
`upsampling_ratios [8, 5, 4, 4] in config.json, the weights imply [8, 5, 4, 2]`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.checkpoints.audiocraft_config import (
    CANONICAL_TO_AUDIOCRAFT,
    from_audiocraft_dict,
)
from conformance.checkpoints.hf_config import (
    CANONICAL_TO_HF,
    HF_DEFAULTS,
    HF_FIELDS,
    HF_METADATA_FIELDS,
    HF_PRE_RELEASE_FIELDS,
    from_hf_dict,
)
from conformance.checkpoints.infer import NOT_FROM_WEIGHTS, STRUCTURAL_FIELDS
from conformance.errors import ConfigConflictError, ConfigError, ConfigResolutionError
from conformance.model.config import EncodecConfig, n_q_for_bandwidth
from conformance.model.presets import PRESETS

__all__ = ["FAMILY_FIELDS", "REQUIRED_FIELDS", "ResolvedConfig", "matching_presets",
           "resolve_config"]

#: Fields that pick a model family: a preset or file name disagreeing on them is an error.
FAMILY_FIELDS = ("channels", "norm", "ratios")
#: Fields that must come from something better than the defaults.
REQUIRED_FIELDS = ("sample_rate", "causal")
FILE_CONFIG_KINDS = frozenset({"hf", "audiocraft"})
_FILENAME_PRESETS = {name: re.compile(rf"(?:^|[^a-z0-9]){name}(?:[^a-z0-9]|$)")
                     for name in PRESETS}


@dataclass
class ResolvedConfig:
    """A config and, per field, where its value came from.

    Provenance values: 'weights', 'flag', 'config.json', 'config.json (transformers default)',
    'xp.cfg', 'preset:<name>', 'filename' (the preset named by the file name),
    'weights-family:<name>' (the family implied by channels and norm), 'default'.
    `conflicts` lists disagreements that were settled (the weights or a flag won);
    `ambiguities` lists choices the inputs do not settle for certain.
    """

    config: EncodecConfig
    provenance: dict[str, str]
    ambiguities: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)

    def format(self) -> str:
        lines = [f"{k} = {getattr(self.config, k)!r}  [{self.provenance.get(k, '?')}]"
                 for k in self.provenance]
        lines += [f"ambiguity: {a}" for a in self.ambiguities]
        lines += [f"conflict (settled): {c}" for c in self.conflicts]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "provenance": dict(self.provenance),
                "ambiguities": list(self.ambiguities), "conflicts": list(self.conflicts)}


@dataclass
class _Layer:
    """One source of field values; `strict` sources must agree with the weights."""

    label: str
    values: dict[str, Any]
    strict: bool = False
    family: bool = False
    provenance: dict[str, str] = field(default_factory=dict)
    desc: str = ""
    raw: Mapping[str, Any] | None = None  #: the file's own config, for messages in its terms

    def label_of(self, key: str) -> str:
        return self.provenance.get(key, self.label)

    def describe(self, key: str) -> str:
        return self.desc or self.label_of(key)

    def _terms(self, key: str, value: Any) -> tuple[str, Any]:
        """The field name and value as this source writes them."""
        if self.label == "config.json":
            if key == "true_skip":
                return "use_conv_shortcut", not value
            return CANONICAL_TO_HF.get(key, key), value
        if self.label == "xp.cfg":
            return CANONICAL_TO_AUDIOCRAFT.get(key, key), value
        return key, value

    def claim(self, key: str) -> str:
        """What this source says about `key`, in its own terms."""
        value = self.values[key]
        name, shown = self._terms(key, value)
        if self.label == "config.json":
            given = self.raw is not None and name in self.raw
            if given:
                shown = self.raw[name]
            text = f"{name} {_plain(shown)} in config.json"
            if key == "n_q":
                text += f" ({value} codebooks, transformers' num_quantizers)"
            if not given:
                text += " (transformers' default: the file does not set it)"
            return text
        if self.label == "xp.cfg":
            return f"{name} {_plain(shown)} in xp.cfg"
        if self.label == "flag":
            return f"{key}={_plain(value)} given as an override"
        return f"{self.describe(key)} says {key}={_plain(value)}"

    def implied(self, key: str, weights_value: Any) -> str:
        """What the weights imply for `key`, in this source's terms."""
        if key == "n_q":
            return f"the weights imply {weights_value} codebooks"
        name, shown = self._terms(key, weights_value)
        if key == "true_skip":
            what = "no shortcut convs" if weights_value else "shortcut convs"
            prefix = f"{name} " if self.label == "config.json" else ""
            return f"the weights imply {prefix}{_plain(shown)} ({what})"
        return f"the weights imply {_plain(shown)}"


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(EncodecConfig) if f.name != "name")


def _normalise(values: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        if key in ("ratios", "target_bandwidths") and value is not None:
            value = tuple(value)
        out[key] = value
    return out


def _plain(value: Any) -> str:
    """A value as a config file writes it (tuples as lists)."""
    return repr(list(value)) if isinstance(value, tuple) else repr(value)


def _defaults_layer() -> _Layer:
    cfg = EncodecConfig()
    return _Layer("default", {k: getattr(cfg, k) for k in _FIELD_NAMES})


def _preset_values(name: str, only: tuple[str, ...] = _FIELD_NAMES) -> dict[str, Any]:
    preset = PRESETS[name]
    return {k: getattr(preset, k) for k in only}


def _hf_layer(hf: Mapping[str, Any], notes: list[str]) -> _Layer:
    cfg = from_hf_dict(dict(hf), name="config.json")
    values = {k: getattr(cfg, k) for k in _FIELD_NAMES}
    given = set(hf)
    prov = {}
    for hf_key, canon in HF_FIELDS.items():
        prov[canon] = "config.json" if hf_key in given else "config.json (transformers default)"
    prov["true_skip"] = ("config.json" if "use_conv_shortcut" in given
                         else "config.json (transformers default)")
    prov["n_q"] = ("config.json" if "target_bandwidths" in given
                   else "config.json (transformers default)")
    prov["segment"] = prov["overlap"] = "config.json"
    unknown = sorted(set(hf) - set(HF_DEFAULTS) - HF_METADATA_FIELDS)
    old = [k for k in unknown if k in HF_PRE_RELEASE_FIELDS]
    if old:
        notes.append(f"config.json uses pre-release field names {old}: transformers ignores "
                     "them and uses its defaults instead")
    elif unknown:
        notes.append(f"config.json fields not understood (ignored): {unknown}")
    return _Layer("config.json", values, strict=True, provenance=prov, raw=hf)


def _file_layer(file_config: Mapping[str, Any], kind: str | None, notes: list[str]) -> _Layer:
    if kind not in FILE_CONFIG_KINDS:
        raise ConfigError(f"file_config_kind={kind!r}: must be one of "
                          f"{sorted(FILE_CONFIG_KINDS)} when a file config is given")
    if kind == "hf":
        return _hf_layer(file_config, notes)
    cfg = from_audiocraft_dict(dict(file_config), name="xp.cfg")
    return _Layer("xp.cfg", {k: getattr(cfg, k) for k in _FIELD_NAMES}, strict=True)


def _filename_preset(filename: str | None) -> str | None:
    if not filename:
        return None
    base = re.split(r"[\\/]", filename)[-1].lower()
    hits = [name for name, pat in _FILENAME_PRESETS.items() if pat.search(base)]
    return hits[0] if len(hits) == 1 else None


def _weights_family(weights: Mapping[str, Any]) -> str | None:
    """The original-package family implied by channels + norm (for files with no config)."""
    channels, norm = weights.get("channels"), weights.get("norm")
    if channels == 2 and norm == "time_group_norm":
        return "encodec_48khz"
    if channels == 1 and norm == "weight_norm" and weights.get("true_skip") is not True:
        return "encodec_24khz"
    return None


def matching_presets(weights: Mapping[str, Any]) -> list[str]:
    """Presets whose structure agrees with every field the weights determine."""
    return [name for name, p in PRESETS.items()
            if all(getattr(p, k) == _normalise({k: v})[k] for k, v in weights.items())]


def _flag_layer(overrides: Mapping[str, Any]) -> _Layer:
    unknown = sorted(set(overrides) - set(_FIELD_NAMES))
    if unknown:
        raise ConfigError(f"unknown config field(s) in overrides: {', '.join(unknown)}; "
                          f"known: {', '.join(_FIELD_NAMES)}")
    return _Layer("flag", _normalise(overrides), strict=True)


def _layers(weights: Mapping[str, Any], file_config: Mapping[str, Any] | None,
            file_config_kind: str | None, preset: str | None, overrides: Mapping[str, Any] | None,
            filename: str | None, notes: list[str]) -> list[_Layer]:
    """Sources from the weakest to the strongest (the weights are checked separately)."""
    layers = [_defaults_layer()]
    # the file name is only a hint for files that carry no config of their own
    by_name = _filename_preset(filename) if file_config is None else None
    if file_config is None and preset is None and by_name is None:
        family = _weights_family(weights)
        if family is not None:
            layers.append(_Layer(f"weights-family:{family}",
                                 _preset_values(family, NOT_FROM_WEIGHTS)))
    if by_name is not None:
        layers.append(_Layer("filename", _preset_values(by_name), family=True,
                             desc=f"the file name {filename!r} (preset {by_name})"))
    if preset is not None:
        if preset not in PRESETS:
            raise ConfigError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
        layers.append(_Layer(f"preset:{preset}", _preset_values(preset), family=True))
    if file_config is not None:
        layers.append(_file_layer(file_config, file_config_kind, notes))
    if overrides:
        layers.append(_flag_layer(overrides))
    return layers


def _pick(layers: list[_Layer]) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """The strongest layer's value per field; disagreements between non-default layers."""
    values: dict[str, Any] = {}
    prov: dict[str, str] = {}
    conflicts = []
    for layer in layers:
        for key, value in layer.values.items():
            old = prov.get(key)
            if old not in (None, "default") and values[key] != value:
                conflicts.append(f"{key}: {layer.label_of(key)} says {value!r}, overriding "
                                 f"{old} {values[key]!r}")
            values[key], prov[key] = value, layer.label_of(key)
    return values, prov, conflicts


def _same_layout(key: str, value: Any, weight_value: Any, weights: Mapping[str, Any]) -> bool:
    """Whether a config value builds the same tensors as the weights' value (compress values
    with equal hidden widths are interchangeable)."""
    if value == weight_value:
        return True
    if key != "compress" or "n_filters" not in weights or "ratios" not in weights:
        return False
    widths = [weights["n_filters"] * 2 ** r for r in range(len(weights["ratios"]) + 1)]
    return isinstance(value, int) and value >= 1 and all(
        w // value == w // weight_value for w in widths)


def _check_weights(weights: Mapping[str, Any], layers: list[_Layer], values: dict[str, Any],
                   prov: dict[str, str], conflicts: list[str]) -> None:
    """Make the weights win every structural field; raise on contradicting configs."""
    errors = []
    for key, w in weights.items():
        for layer in layers:
            if (key not in layer.values or layer.label == "default"
                    or _same_layout(key, layer.values[key], w, weights)):
                continue
            claim, implied = layer.claim(key), layer.implied(key, w)
            if layer.strict or (layer.family and key in FAMILY_FIELDS):
                errors.append(f"{claim}, {implied}")
            else:
                conflicts.append(f"{claim}, {implied}; using the weights' value")
        if not _same_layout(key, values[key], w, weights):
            values[key] = w
        if values[key] == w:
            prov[key] = "weights"
    if errors:
        first = errors[0] if len(errors) == 1 else f"{len(errors)} fields"
        raise ConfigConflictError(f"the config contradicts the weights: {first} (a model "
                                  "built from it would not load them)", details=errors)


def _fit_bandwidths(values: dict[str, Any], prov: dict[str, str], strict: set[str],
                    conflicts: list[str]) -> None:
    """Drop ladder steps needing more codebooks than the weights have (weak sources only)."""
    ladder = tuple(values.get("target_bandwidths") or ())
    if not ladder or prov.get("target_bandwidths") in strict:
        return
    try:
        probe = EncodecConfig(**{**values, "target_bandwidths": ()})
    except ConfigError:
        return
    kept = tuple(b for b in ladder if n_q_for_bandwidth(probe, b) <= probe.n_q)
    if kept != ladder:
        conflicts.append(f"target_bandwidths: {prov['target_bandwidths']} gives {list(ladder)}, "
                         f"but {list(b for b in ladder if b not in kept)} need more than the "
                         f"weights' n_q={probe.n_q} codebooks; using {list(kept)}")
        values["target_bandwidths"] = kept


def _fit_compress(values: dict[str, Any], prov: dict[str, str], strict: set[str],
                  conflicts: list[str]) -> None:
    """Without residual blocks compress builds nothing; a weak source's value that would make
    the config invalid (n_filters // compress == 0) is replaced by 1."""
    nf, compress = values.get("n_filters"), values.get("compress")
    if (values.get("n_residual_layers") == 0 and prov.get("compress") not in strict
            and isinstance(nf, int) and isinstance(compress, int) and nf // compress < 1):
        conflicts.append(f"compress: {prov['compress']} gives {compress}, invalid with "
                         f"n_filters={nf}; using 1 (no residual blocks, so it builds nothing)")
        values["compress"], prov["compress"] = 1, "weights"


def _require(prov: dict[str, str], weights: Mapping[str, Any]) -> None:
    unset = [k for k in REQUIRED_FIELDS if prov.get(k) == "default"]
    if not unset:
        return
    candidates = matching_presets(weights)
    hint = (f"; presets with this structure: {', '.join(candidates)}" if candidates
            else "; no preset has this structure")
    raise ConfigResolutionError(
        f"cannot determine {', '.join(unset)}: the file has no config, its name names no known "
        f"model, and the weights ({_summary(weights)}) imply no family. Pass preset=<name> or "
        f"overrides like sample_rate=..., causal=...{hint}")


def _summary(weights: Mapping[str, Any]) -> str:
    keys = ("channels", "norm", "n_filters", "ratios", "true_skip", "bins", "n_q")
    return ", ".join(f"{k}={weights[k]!r}" for k in keys if k in weights) or "nothing inferred"


_PAD_MODE_NOTE = {
    "encodec_32khz": "the 32 kHz MusicGen codec's HF config.json says pad_mode 'reflect' but "
                     "AudioCraft's default yaml (which trained it) says 'constant'",
    "audiogen_16khz": "AudioGen's 16 kHz codec was trained with AudioCraft's default yaml "
                      "pad_mode 'constant'; transformers' default is 'reflect'",
}


def _pad_mode_ambiguity(cfg: EncodecConfig, prov: dict[str, str], weights: Mapping[str, Any],
                        preset: str | None) -> list[str]:
    names = {n for n in matching_presets(weights) if n in _PAD_MODE_NOTE}
    if preset in _PAD_MODE_NOTE:
        names.add(preset)
    names = {n for n in names if PRESETS[n].sample_rate == cfg.sample_rate} or (
        {preset} if preset in _PAD_MODE_NOTE else set())
    out = []
    for name in sorted(names):
        src = prov["pad_mode"]
        if src in ("config.json", "xp.cfg"):
            tail = f"this checkpoint's own {src} says {cfg.pad_mode!r} (used)"
        elif src == "config.json (transformers default)":
            tail = (f"this checkpoint's config.json does not set it, so transformers' default "
                    f"{cfg.pad_mode!r} is used")
        else:
            tail = (f"no config in the file sets it; using {cfg.pad_mode!r} from {src}: pass "
                    "pad_mode=... if you know how it was trained")
        out.append(f"pad_mode: {_PAD_MODE_NOTE[name]}; {tail}")
    return out


def _family_ambiguity(layers: list[_Layer], weights: Mapping[str, Any]) -> list[str]:
    family = next((la.label.split(":", 1)[1] for la in layers
                   if la.label.startswith("weights-family:")), None)
    if family is None:
        return []
    others = [n for n in matching_presets(weights) if n != family]
    also = f"; the structure also fits {', '.join(others)}" if others else ""
    return [f"family: the file has no config and its name names no model, so the family "
            f"{family} (sample rate, causality, chunking) was chosen from channels="
            f"{weights.get('channels')} and norm={weights.get('norm')!r} alone{also}; pass "
            "preset=<name> to be sure"]


def resolve_config(weights_info: Mapping[str, Any], file_config: Mapping[str, Any] | None = None,
                   file_config_kind: str | None = None, preset: str | None = None,
                   overrides: Mapping[str, Any] | None = None,
                   filename: str | None = None) -> ResolvedConfig:
    """Build the config of a checkpoint from everything known about it.

    Precedence: `overrides` (flags) > the file's own config > preset > file name (used only
    when the file has no config) > the family implied by the weights (mono weight_norm with
    shortcut convs => 24 kHz causal; stereo time_group_norm => 48 kHz chunked, renormalised),
    only for files with no config, preset or known name > defaults. Structural fields always
    take the weights' values (`weights_info`, from `infer_from_weights`): a flag, file config,
    or a preset/file name disagreeing on channels/norm/ratios raises ConfigConflictError naming
    the field and both values; a preset disagreeing on widths or counts is noted in
    `conflicts`. ConfigResolutionError when nothing but the defaults gives sample_rate/causal.
    """
    weights = _normalise({k: v for k, v in weights_info.items() if k in STRUCTURAL_FIELDS})
    ambiguities: list[str] = []
    layers = _layers(weights, file_config, file_config_kind, preset, overrides, filename,
                     ambiguities)
    values, prov, conflicts = _pick(layers)
    _check_weights(weights, layers, values, prov, conflicts)
    _require(prov, weights)
    strict = {layer.label_of(k) for layer in layers if layer.strict for k in layer.values}
    _fit_compress(values, prov, strict, conflicts)
    _fit_bandwidths(values, prov, strict, conflicts)
    name = preset or (_filename_preset(filename) if file_config is None else None) or next(
        (la.label.split(":", 1)[1] for la in layers if la.label.startswith("weights-family")),
        "resolved")
    try:
        cfg = EncodecConfig(name=name, **values)
    except ConfigError as exc:
        sources = ", ".join(f"{k} from {v}" for k, v in prov.items() if v != "default")
        raise ConfigResolutionError(f"the resolved config is invalid: {exc} [{sources}]") from exc
    ambiguities += _family_ambiguity(layers, weights)
    ambiguities += _pad_mode_ambiguity(cfg, prov, weights, preset)
    return ResolvedConfig(cfg, prov, ambiguities, conflicts)
