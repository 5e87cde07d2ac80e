"""Reading a checkpoint (the first step of loading): detect its format, read it safely, and
return its tensors, its own config and metadata in one checked form, `RawCheckpoint`.

Formats:

- `audiocraft-exported`: `{'best_state': <flat state dict>, 'xp.cfg': <YAML str>, 'version',
  'exported': True}`, also MusicGen/AudioGen `compression_state_dict.bin`.
- `audiocraft-training`: flashy solver checkpoint, `best_state = {'model': <state dict>}` and an
  OmegaConf `xp.cfg` object.
- `audiocraft-pointer`: `{'pretrained': 'facebook/encodec_32khz', ...}`: a name, no weights.
- `hf`: a transformers directory (`config.json` + `model.safetensors` or `pytorch_model.bin`),
  or one weights file with `encoder.layers.*` keys.
- `encodec`: the original package's plain `.th` state dict (`encoder.model.*` keys).

Reading never modifies the source, never unpickles outside the allowlist of
`conformance.safe_load`, and never touches the network (hub names come from the local cache).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from conformance.checkpoints.hub import looks_like_hub_name, resolve_hub_name
from conformance.checkpoints.naming import CANONICAL_PREFIXES, HF_PREFIXES
from conformance.checkpoints.omegaconf_plain import resolve_interpolations, to_plain
from conformance.checkpoints.unpickler import load_safetensors, load_torch, looks_like_safetensors
from conformance.errors import CheckpointError, CheckpointWarning, ConfigFileError
from conformance.fileio import sha256_file
from conformance.safe_parse import MAX_TEXT_BYTES, parse_json, parse_yaml

AUDIOCRAFT_EXPORTED = "audiocraft-exported"
AUDIOCRAFT_TRAINING = "audiocraft-training"
AUDIOCRAFT_POINTER = "audiocraft-pointer"
HF = "hf"
ENCODEC = "encodec"
#: Every checkpoint format this module detects.
FORMATS: tuple[str, ...] = (AUDIOCRAFT_EXPORTED, AUDIOCRAFT_TRAINING, AUDIOCRAFT_POINTER, HF,
                            ENCODEC)
#: The formats that hold weights (a pointer only names a model).
LOADABLE_FORMATS: tuple[str, ...] = tuple(f for f in FORMATS if f != AUDIOCRAFT_POINTER)

AUDIOCRAFT_PACKAGE = "compression_state_dict.bin"
HF_CONFIG = "config.json"
HF_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")

_HASHED_NAME = re.compile(r"^(?P<stem>.+)-(?P<sha>[0-9a-f]{8})\.th$")
_HALF_DTYPES = (torch.float16, torch.bfloat16)

ConfigKind = Literal["hf", "audiocraft"]


@dataclass
class RawCheckpoint:
    """A checkpoint as stored: flat tensors (file key names, float32), its own config, metadata.

    `config` is the file's own config as plain dicts (HF `config.json`, or AudioCraft `xp.cfg`
    with `${...}` references resolved); `config_kind` says which. `meta` holds `sha256`,
    `source_files`, `weights_from`, and per format `version`, `exported`, `hub_name`, ...
    """

    format: str
    path: Path
    state_dict: dict[str, torch.Tensor]
    config: dict[str, Any] | None
    config_kind: ConfigKind | None
    meta: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Source:
    """What was found at a path, before classification."""

    path: Path
    weights_file: Path
    obj: Any
    config_file: Path | None = None
    weight_files: list[Path] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


# -------------------------------------------------------------------------------- utilities


def _listing(keys: list[Any], limit: int = 8) -> str:
    shown = ", ".join(str(k) for k in keys[:limit])
    return shown + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")


def _check_hashed_name(path: Path) -> None:
    """`<name>-<8 hex>.th` (original package naming) must match the file's SHA-256 prefix."""
    m = _HASHED_NAME.match(path.name)
    if m is None:
        return
    actual = sha256_file(path)[:8]
    if actual != m["sha"]:
        raise CheckpointError(
            f"{path}: SHA-256 mismatch, the file name expects a hash starting with {m['sha']} but "
            f"the file's hash starts with {actual}; it is corrupt, truncated or renamed.")


# ---------------------------------------------------------------------------------- opening


def _resolve_input(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """An existing path, or a hub name resolved from the local cache."""
    p = Path(path).expanduser()
    if p.exists():
        return p, {}
    if isinstance(path, str) and looks_like_hub_name(path):
        snapshot = resolve_hub_name(path)
        return snapshot, {"hub_name": path, "snapshot": str(snapshot)}
    raise CheckpointError(f"{p}: no such file or directory.")


def _open_directory(path: Path) -> _Source:
    if (path / AUDIOCRAFT_PACKAGE).is_file():
        pkg = path / AUDIOCRAFT_PACKAGE
        return _Source(path, pkg, _load_weights_file(pkg), weight_files=[pkg])
    config = path / HF_CONFIG
    if config.is_file():
        for name in HF_WEIGHTS:
            if (path / name).is_file():
                files, obj = _load_hf_weights(path / name)
                return _Source(path, path / name, obj, config_file=config, weight_files=files)
        raise CheckpointError(f"{path}: holds {HF_CONFIG} but no weights "
                              f"({' or '.join(HF_WEIGHTS)}).")
    found = sorted(p.name for p in path.iterdir())
    raise CheckpointError(
        f"{path}: a directory that is neither a Hugging Face model ({HF_CONFIG} + weights) nor "
        f"an AudioCraft package ({AUDIOCRAFT_PACKAGE}); it holds: {_listing(found) or 'nothing'}.")


def _load_hf_weights(path: Path) -> tuple[list[Path], dict[str, Any]]:
    """A weights file, or every shard named by a `model.safetensors.index.json`."""
    if not path.name.endswith(".index.json"):
        return [path], _load_weights_file(path)
    index = parse_json(_read_config_bytes(path), str(path))
    try:
        shards = sorted(set(index["weight_map"].values()))
    except (KeyError, TypeError, AttributeError) as e:
        raise CheckpointError(f"{path}: not a valid safetensors index ({e}).") from e
    bad = [s for s in shards if not isinstance(s, str) or Path(s).name != s or s in (".", "..")]
    if bad:
        raise CheckpointError(f"{path}: shard names must be plain file names: {_listing(bad)}.")
    files = [path.parent / s for s in shards]
    merged: dict[str, Any] = {}
    for f in files:
        merged.update(load_safetensors(f))
    return [path, *files], merged


def _load_weights_file(path: Path) -> Any:
    if looks_like_safetensors(path):
        return load_safetensors(path)
    if path.suffix == ".safetensors":
        return load_safetensors(path)  # raises a clear "not a valid safetensors file"
    return load_torch(path)


def _open(path: str | Path, config_path: str | Path | None) -> _Source:
    p, meta = _resolve_input(path)
    if p.is_dir():
        src = _open_directory(p)
    else:
        _check_hashed_name(p)
        src = _Source(p, p, _load_weights_file(p), weight_files=[p])
    src.meta.update(meta)
    if config_path is not None:
        cfg = Path(config_path).expanduser()
        if not cfg.is_file():
            raise CheckpointError(f"{cfg}: no such config file.")
        src.config_file = cfg
    return src


# ----------------------------------------------------------------------------- classifying


def _is_flat(d: Mapping[Any, Any]) -> bool:
    return not any(isinstance(v, Mapping) for v in d.values())


def _classify(obj: Any) -> str | None:
    """The format a loaded object has, or None when it matches none: a `pretrained` name is a
    pointer; `exported` or a flat `best_state` an exported package; `best_state['model']` a
    training checkpoint; top-level `encoder.model.*` keys the original package; `encoder.layers.*`
    transformers."""
    if not isinstance(obj, Mapping):
        return None
    if "pretrained" in obj:
        return AUDIOCRAFT_POINTER
    best = obj.get("best_state")
    if "exported" in obj or (isinstance(best, Mapping) and _is_flat(best)):
        return AUDIOCRAFT_EXPORTED
    if isinstance(best, Mapping) and isinstance(best.get("model"), Mapping):
        return AUDIOCRAFT_TRAINING
    if "xp.cfg" in obj and isinstance(obj.get("model"), Mapping):
        return AUDIOCRAFT_TRAINING
    keys = [k for k in obj if isinstance(k, str)]
    if any(k.startswith(CANONICAL_PREFIXES) for k in keys):
        return ENCODEC
    if any(k.startswith(HF_PREFIXES) for k in keys):
        return HF
    return None


def _describe(obj: Any) -> str:
    if isinstance(obj, Mapping):
        return f"a dict with keys {_listing(list(obj))}" if obj else "an empty dict"
    return f"a {type(obj).__name__}"


def _format_of(src: _Source, forced: str | None) -> str:
    found = _classify(src.obj)
    if forced is not None and forced not in FORMATS:
        raise CheckpointError(f"format {forced!r} is unknown; known formats: "
                              f"{', '.join(FORMATS)}.")
    if found is None:
        flat_ok = isinstance(src.obj, Mapping) and _is_flat(src.obj) and forced in (HF, ENCODEC)
        if flat_ok:
            return forced  # type: ignore[return-value]
        raise CheckpointError(f"{src.weights_file}: matches no known EnCodec checkpoint format; "
                              f"it holds {_describe(src.obj)}.")
    if forced is not None and forced != found:
        raise CheckpointError(f"{src.weights_file}: format {forced!r} was requested, but the file "
                              f"is {found!r}.")
    return found


def detect_format(path: str | Path, config_path: str | Path | None = None) -> str:
    """The format of a file, directory or cached hub name (one of `FORMATS`)."""
    return _format_of(_open(path, config_path), None)


def pointer_target(path: str | Path) -> str:
    """The model name an AudioCraft pointer file names (CheckpointError for other files)."""
    src = _open(path, None)
    if _classify(src.obj) != AUDIOCRAFT_POINTER:
        raise CheckpointError(f"{src.weights_file}: not an AudioCraft pretrained pointer.")
    return str(src.obj["pretrained"])


# ------------------------------------------------------------------------------- state dicts


def _state_dict_of(src: _Source, fmt: str) -> tuple[Any, str, list[str]]:
    """(state dict, where it was found, warnings) for a classified object."""
    obj = src.obj
    if fmt in (HF, ENCODEC):
        return obj, "<root>", []
    best = obj.get("best_state")
    if fmt == AUDIOCRAFT_EXPORTED:
        if isinstance(best, Mapping) and not _is_flat(best):
            raise CheckpointError(f"{src.weights_file}: marked exported but its best_state is "
                                  "nested (a training checkpoint layout).")
        if best is None:
            raise CheckpointError(f"{src.weights_file}: an AudioCraft package without best_state "
                                  "(no weights).")
        return best, "best_state", []
    if isinstance(best, Mapping) and isinstance(best.get("model"), Mapping) and best["model"]:
        return best["model"], "best_state.model", []
    ema = obj.get("ema")
    ema_model = ema.get("state", {}).get("model") if isinstance(ema, Mapping) else None
    if isinstance(ema_model, Mapping) and ema_model:
        return ema_model, "ema.state.model", [
            "best_state.model is empty or missing: read the EMA weights (ema.state.model), as "
            "AudioCraft's legacy exporter did."]
    return obj.get("model"), "model", [
        "best_state.model and ema.state.model are empty or missing: read the last training "
        "weights ('model'), which may not be the best ones."]


def check_state_dict(sd: Any, where: str, path: Path, *, finite: bool = True
                     ) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Validate a raw state dict; fp16/bf16 tensors become float32 with a warning.

    Raises CheckpointError for: not a mapping, empty, non-string keys, non-tensor values,
    sparse/meta tensors, NaN or inf values (every offending key is named).
    """
    if not isinstance(sd, Mapping):
        raise CheckpointError(f"{path}: {where} is {_describe(sd)}, not a state dict.")
    if not sd:
        raise CheckpointError(f"{path}: {where} holds no tensors (an empty state dict).")
    bad_keys = [repr(k) for k in sd if not isinstance(k, str)]
    if bad_keys:
        raise CheckpointError(f"{path}: {where} has non-string keys: {_listing(bad_keys)}.")
    not_tensors = [f"{k}: {type(v).__name__}" for k, v in sd.items()
                   if not isinstance(v, torch.Tensor)]
    if not_tensors:
        raise CheckpointError(f"{path}: {len(not_tensors)} value(s) in {where} are not tensors.",
                              details=not_tensors)
    odd = [f"{k}: layout {v.layout}" if v.layout != torch.strided else f"{k}: no data (meta)"
           for k, v in sd.items() if v.layout != torch.strided or v.is_meta]
    if odd:
        raise CheckpointError(f"{path}: {len(odd)} tensor(s) in {where} are not dense CPU "
                              "tensors.", details=odd)
    if finite:
        check_finite(sd, where, path)
    out: dict[str, torch.Tensor] = {}
    half: dict[torch.dtype, list[str]] = {}
    for k, v in sd.items():
        v = v.detach()
        if v.dtype in _HALF_DTYPES:
            half.setdefault(v.dtype, []).append(k)
            v = v.float()
        out[k] = v
    notes = [f"{path}: {len(keys)} tensor(s) are stored as {dtype} and were converted to float32 "
             f"(their precision is already lost): {_listing(keys)}."
             for dtype, keys in half.items()]
    return out, notes


def check_finite(sd: Mapping[str, torch.Tensor], where: str, path: Path) -> None:
    """CheckpointError naming every tensor that holds NaN or inf values."""
    bad = []
    for k, v in sd.items():
        if not (v.is_floating_point() or v.is_complex()) or v.numel() == 0:
            continue
        n_nan = int(torch.isnan(v).sum())
        n_inf = int(torch.isinf(v).sum())
        if n_nan or n_inf:
            bad.append((k, f"{k}: {n_nan} NaN, {n_inf} inf of {v.numel()} values"))
    if bad:
        raise CheckpointError(
            f"{path}: {len(bad)} tensor(s) in {where} hold NaN or inf values: "
            f"{', '.join(k for k, _ in bad)}.", details=[d for _, d in bad])


# ---------------------------------------------------------------------------------- configs


def _read_config_bytes(path: Path) -> bytes:
    """The bytes of a config file, refused unread when it is larger than a config can be."""
    try:
        size = path.stat().st_size
        if size > MAX_TEXT_BYTES:
            raise ConfigFileError(f"{path}: {size} bytes, more than the {MAX_TEXT_BYTES} bytes "
                                  "a config may have; refused")
        return path.read_bytes()
    except OSError as e:
        raise ConfigFileError(f"{path}: not readable ({e.strerror or e}).") from e


def _read_json_config(path: Path) -> dict[str, Any]:
    cfg = parse_json(_read_config_bytes(path), str(path))
    if not isinstance(cfg, dict):
        raise CheckpointError(f"{path}: holds a JSON {type(cfg).__name__}, not a config object.")
    model_type = cfg.get("model_type")
    if model_type is not None and model_type != "encodec":
        raise CheckpointError(f"{path}: model_type is {model_type!r}, not 'encodec'.")
    return cfg


def _audiocraft_config(raw: Any, path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """xp.cfg (YAML string, OmegaConf stand-in or dict) -> plain dict with references resolved."""
    if raw is None:
        return None, [f"{path}: holds no xp.cfg; the config must be given or inferred."]
    source = f"{path} (xp.cfg)"
    if isinstance(raw, (str, bytes)):
        try:
            cfg = parse_yaml(raw, source)
        except ConfigFileError as e:  # the checkpoint itself is refused
            raise CheckpointError(e.message, e.details) from e
    else:  # an unpickled OmegaConf stand-in: to_plain bounds its expansion
        try:
            cfg = to_plain(raw)
        except ValueError as e:
            raise CheckpointError(f"{path}: xp.cfg cannot be read ({e}).") from e
    if not isinstance(cfg, dict):
        return None, [f"{path}: xp.cfg is {_describe(cfg)}, not a mapping; ignored."]
    cfg, problems = resolve_interpolations(cfg)
    notes = [f"{path}: xp.cfg reference left unresolved: {p}" for p in problems]
    return cfg, notes


def _config_of(src: _Source, fmt: str) -> tuple[dict[str, Any] | None, ConfigKind | None,
                                                list[str]]:
    if fmt in (AUDIOCRAFT_EXPORTED, AUDIOCRAFT_TRAINING):
        if src.config_file is not None:
            raise CheckpointError(f"{src.weights_file}: an AudioCraft checkpoint carries its own "
                                  f"xp.cfg, so config_path={src.config_file} is not accepted.")
        cfg, notes = _audiocraft_config(src.obj.get("xp.cfg"), src.weights_file)
        return cfg, ("audiocraft" if cfg is not None else None), notes
    config_file = src.config_file
    if config_file is None and fmt == HF and (src.weights_file.parent / HF_CONFIG).is_file():
        config_file = src.weights_file.parent / HF_CONFIG
    if config_file is None:
        return None, None, ([f"{src.weights_file}: no {HF_CONFIG} next to the weights; the "
                             "config must be given or inferred."] if fmt == HF else [])
    src.config_file = config_file
    return _read_json_config(config_file), "hf", []


# ------------------------------------------------------------------------------------ reading


def read_checkpoint(path: str | Path, format: str | None = None,
                    config_path: str | Path | None = None, *,
                    check_finite_values: bool = True) -> RawCheckpoint:
    """Read a checkpoint file, directory or cached hub name into a checked `RawCheckpoint`.

    `format` forces a format (CheckpointError when the file is another one); `config_path`
    names a `config.json` for a bare HF or encodec weights file. Half-precision tensors are
    converted to float32 with a `CheckpointWarning`; a pointer file raises CheckpointError
    naming the model it points to.
    """
    src = _open(path, config_path)
    fmt = _format_of(src, format)
    if fmt == AUDIOCRAFT_POINTER:
        target = src.obj.get("pretrained")
        raise CheckpointError(
            f"{src.weights_file}: an AudioCraft pointer, it points to pretrained model "
            f"{target!r} and holds no weights.",
            details=[f"read {target!r} itself instead (a local path, or a Hugging Face name "
                     "resolved from the local cache)."])
    raw_sd, where, notes = _state_dict_of(src, fmt)
    state_dict, dtype_notes = check_state_dict(raw_sd, where, src.weights_file,
                                               finite=check_finite_values)
    config, kind, config_notes = _config_of(src, fmt)
    meta = _meta(src, fmt, where)
    all_notes = [*notes, *dtype_notes, *config_notes]
    for note in all_notes:
        warnings.warn(note, CheckpointWarning, stacklevel=2)
    return RawCheckpoint(format=fmt, path=src.path, state_dict=state_dict, config=config,
                         config_kind=kind, meta=meta, warnings=all_notes)


def _meta(src: _Source, fmt: str, where: str) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "sha256": sha256_file(src.weights_file),
        "size_bytes": src.weights_file.stat().st_size,
        "weights_file": str(src.weights_file),
        "source_files": [str(f) for f in src.weight_files],
        "weights_from": where,
        **src.meta,
    }
    if src.config_file is not None:
        meta["config_file"] = str(src.config_file)
        meta["source_files"].append(str(src.config_file))
    if fmt in (AUDIOCRAFT_EXPORTED, AUDIOCRAFT_TRAINING):
        meta["version"] = src.obj.get("version")
        meta["exported"] = bool(src.obj.get("exported", False))
        meta["top_level_keys"] = sorted(str(k) for k in src.obj)
    m = _HASHED_NAME.match(src.weights_file.name)
    if m is not None:
        meta["sha256_checked"] = m["sha"]
    return meta


__all__ = [
    "LOADABLE_FORMATS",
    "AUDIOCRAFT_EXPORTED",
    "AUDIOCRAFT_POINTER",
    "AUDIOCRAFT_TRAINING",
    "ENCODEC",
    "FORMATS",
    "HF",
    "RawCheckpoint",
    "check_finite",
    "check_state_dict",
    "detect_format",
    "pointer_target",
    "read_checkpoint",
]
