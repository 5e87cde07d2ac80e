"""What a checkpoint's weights say about its config, and how the full config is resolved.

`infer_from_weights` reads only what tensor names and shapes determine (widths, ratios, layer
counts, kernel sizes, norm, shortcut, codebooks). Everything else -- sample rate, causality,
padding mode, renormalisation, chunking, dilation, bandwidths -- must come from somewhere else:
`resolve_config` combines flags, the file's own config, a preset or the file name, and defaults,
and refuses (ConfigConflictError) when a config contradicts the weights.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .config import (
    _HF_FIELDS,
    HF_DEFAULTS,
    ConfigError,
    EncodecConfig,
    from_audiocraft_dict,
    from_hf_dict,
    n_q_for_bandwidth,
)
from .keymap import MappingReport, detect_key_style, map_state_dict, weight_g_spelling
from .presets import PRESETS

#: Fields the weights determine (when the layers that show them are present).
STRUCTURAL_FIELDS = ("channels", "dimension", "n_filters", "n_residual_layers", "ratios",
                     "kernel_size", "last_kernel_size", "residual_kernel_size", "norm",
                     "true_skip", "compress", "lstm", "bins", "n_q")
#: Fields no tensor shape reveals; they come from a config, a preset, the file name or a flag.
NOT_FROM_WEIGHTS = ("sample_rate", "causal", "pad_mode", "renormalize", "segment", "overlap",
                    "trim_right_ratio", "dilation_base", "target_bandwidths")
#: Fields that pick a model family: a preset or file name disagreeing on them is an error.
FAMILY_FIELDS = ("channels", "norm", "ratios")
#: Fields that must come from something better than the defaults.
REQUIRED_FIELDS = ("sample_rate", "causal")
FILE_CONFIG_KINDS = frozenset({"hf", "audiocraft"})

_SEANET_RE = re.compile(r"^(encoder|decoder)\.model\.(\d+)\.(.+)$")
_CODEBOOK_RE = re.compile(r"^quantizer\.vq\.layers\.(\d+)\._codebook\.(\w+)$")
_LSTM_RE = re.compile(r"^lstm\.weight_ih_l(\d+)$")
_FILENAME_PRESETS = {name: re.compile(rf"(?:^|[^a-z0-9]){name}(?:[^a-z0-9]|$)")
                     for name in PRESETS}
_HF_META_KEYS = frozenset({"model_type", "architectures", "torch_dtype", "dtype",
                           "transformers_version", "_name_or_path", "codebook_dim",
                           "chunk_length_s", "overlap"})
_HF_OLD_NAMES = frozenset({"ratios", "dimension", "norm", "causal", "true_skip", "segment",
                           "chunk_in_sec", "audio_normalize", "bins", "lstm", "dilation_base"})

Shape = tuple[int, ...]


class InferenceError(ConfigError):
    """The weights are not an EnCodec canonical state dict a config can be read from."""


class ConfigResolutionError(ConfigError):
    """Not enough information to build a config (the message says what to pass)."""


class ConfigConflictError(ConfigResolutionError):
    """A config contradicts the weights; the message names each field and both values."""


# ------------------------------------------------------------------------------ inference
@dataclass
class _Conv:
    shape: Shape  # the conv weight: [out, in, k] (Conv1d) or [in, out, k] (ConvTranspose1d)
    norm: str


def _shapes(sd: Mapping[str, Any]) -> dict[str, Shape]:
    out = {}
    for key, value in sd.items():
        shape = getattr(value, "shape", None)
        if shape is not None:
            out[weight_g_spelling(key)] = tuple(int(d) for d in shape)
    return out


def _conv(sub: Mapping[str, Shape], path: str, inner: str) -> _Conv | None:
    """The conv at `path` (prefix inside a layer, e.g. '' or 'block.1.') of kind `inner`."""
    base = f"{path}{inner}.{inner}."
    shape = sub.get(base + "weight_v") or sub.get(base + "weight")
    if shape is None or len(shape) != 3:
        return None
    if base + "weight_g" in sub:
        norm = "weight_norm"
    elif f"{path}{inner}.norm.weight" in sub:
        norm = "time_group_norm"
    else:
        norm = "none"
    return _Conv(shape, norm)


def _kind(sub: Mapping[str, Shape]) -> str:
    heads = {name.split(".", 1)[0] for name in sub}
    if "lstm" in heads:
        return "lstm"
    if heads & {"block", "shortcut"}:
        return "res"
    if "convtr" in heads:
        return "convtr"
    return "conv" if "conv" in heads else "unknown"


def _split(shapes: Mapping[str, Shape]) -> tuple[dict, dict, dict, list[str]]:
    """Group keys by (side, layer index) and codebook index; return the leftovers too."""
    sides: dict[str, dict[int, dict[str, Shape]]] = {"encoder": {}, "decoder": {}}
    books: dict[int, dict[str, Shape]] = {}
    other = []
    for key, shape in shapes.items():
        if m := _SEANET_RE.match(key):
            sides[m[1]].setdefault(int(m[2]), {})[m[3]] = shape
        elif m := _CODEBOOK_RE.match(key):
            books.setdefault(int(m[1]), {})[m[2]] = shape
        else:
            other.append(key)
    return sides["encoder"], sides["decoder"], books, other


def _lstm_layers(sub: Mapping[str, Shape]) -> int:
    return sum(1 for name in sub if _LSTM_RE.match(name))


def _compress(pairs: set[tuple[int, int]]) -> int | None:
    """The compress ratio c with width // c == hidden for every (width, hidden) pair: an exact
    divisor when there is one, else the smallest (all candidates build identical layers)."""
    top = max(width for width, _ in pairs)
    fits = [c for c in range(1, top + 1) if all(w // c == h for w, h in pairs)]
    exact = [c for c in fits if all(w % c == 0 for w, _ in pairs)]
    return (exact or fits or [None])[0]


def _resblock_info(blocks: list[dict[str, Shape]], notes: list[str], side: str) -> dict:
    """residual_kernel_size, true_skip and the (width, hidden) pairs from residual blocks."""
    info: dict[str, Any] = {}
    firsts = [c for c in (_conv(b, "block.1.", "conv") for b in blocks) if c is not None]
    if firsts:
        info["residual_kernel_size"] = firsts[0].shape[2]
        info["_widths"] = {(c.shape[1], c.shape[0]) for c in firsts}
    shortcuts = [any(n.startswith("shortcut.") for n in b) for b in blocks]
    if all(shortcuts) or not any(shortcuts):
        info["true_skip"] = not shortcuts[0]
    else:
        notes.append(f"{side}: {sum(shortcuts)} of {len(blocks)} residual blocks have a "
                     "shortcut conv; true_skip is ambiguous")
    return info


def _blocks_per_step(inner: list[tuple[int, str]], updown: str, side: str,
                     notes: list[str]) -> list[int]:
    """Residual blocks per resampling conv: the encoder's precede their down conv, the
    decoder's follow their up conv."""
    counts, cur = [], 0
    for _, kind in inner:
        if kind == "res":
            cur += 1
        elif kind == updown:
            counts.append(cur)
            cur = 0
    stray = cur if side == "encoder" else (counts[0] if counts else cur)
    if side == "decoder" and counts:
        counts = counts[1:] + [cur]
    if stray:
        where = "after the last down" if side == "encoder" else "before the first up"
        notes.append(f"{side}: {stray} residual block(s) {where}-sampling conv")
    return counts


def _walk(side: str, layers: dict[int, dict[str, Shape]], notes: list[str]) -> dict[str, Any]:
    """Read one SEANet side: conv-in | groups | LSTM? | conv-out (decoder: LSTM first)."""
    mods = [(i, _kind(layers[i])) for i in sorted(layers)]
    kinds = [k for _, k in mods]
    if "unknown" in kinds:
        bad = [i for i, k in mods if k == "unknown"]
        notes.append(f"{side}: layer(s) {bad} hold keys of no known module")
    if len(mods) < 2 or kinds[0] != "conv" or kinds[-1] != "conv":
        notes.append(f"{side}: expected a conv first and last, found {kinds}")
        return {}
    conv_in = _conv(layers[mods[0][0]], "", "conv")
    conv_out = _conv(layers[mods[-1][0]], "", "conv")
    inner = mods[1:-1]
    lstms = [i for i, k in inner if k == "lstm"]
    updown = "convtr" if side == "decoder" else "conv"
    steps = [layers[i] for i, k in inner if k == updown]
    blocks = [layers[i] for i, k in inner if k == "res"]
    counts = _blocks_per_step(inner, updown, side, notes)
    info: dict[str, Any] = {}
    if conv_in is None or conv_out is None:
        notes.append(f"{side}: the first or last conv has no 3-d weight")
        return {}
    convs = [_conv(s, "", updown) for s in steps]
    if any(c is None for c in convs):
        notes.append(f"{side}: a {updown} layer has no 3-d weight")
        return {}
    kernels = [c.shape[2] for c in convs]
    if any(k % 2 for k in kernels):
        notes.append(f"{side}: odd resampling kernel(s) {kernels}: EnCodec uses kernel 2*ratio")
    ratios = [k // 2 for k in kernels]
    if side == "encoder":
        info.update(channels=conv_in.shape[1], n_filters=conv_in.shape[0],
                    kernel_size=conv_in.shape[2], dimension=conv_out.shape[0],
                    last_kernel_size=conv_out.shape[2], ratios=tuple(reversed(ratios)))
    else:
        info.update(dimension=conv_in.shape[1], kernel_size=conv_in.shape[2],
                    channels=conv_out.shape[0], n_filters=conv_out.shape[1],
                    last_kernel_size=conv_out.shape[2], ratios=tuple(ratios))
    if len(set(counts)) > 1:
        notes.append(f"{side}: residual blocks per ratio differ: {counts}")
    info["n_residual_layers"] = Counter(counts).most_common(1)[0][0] if counts else 0
    if len(lstms) > 1:
        notes.append(f"{side}: {len(lstms)} LSTM layers found at indices {lstms}; expected one")
    info["lstm"] = _lstm_layers(layers[lstms[0]]) if lstms else 0
    if blocks:
        info.update(_resblock_info(blocks, notes, side))
    norms = {conv_in.norm, conv_out.norm} | {c.norm for c in convs}
    if len(norms) > 1:
        notes.append(f"{side}: convs use different norms {sorted(norms)}")
    info["norm"] = conv_in.norm
    return info


def _codebooks(books: dict[int, dict[str, Shape]], notes: list[str]) -> dict[str, Any]:
    if not books:
        notes.append("no codebook (quantizer.vq.layers.*._codebook.*) keys")
        return {}
    idx = sorted(books)
    if idx != list(range(len(idx))):
        notes.append(f"codebook layer indices {idx} are not 0..{len(idx) - 1}")
    embeds = {books[i].get("embed") for i in idx}
    if None in embeds or len(embeds) != 1:
        notes.append(f"codebook embed shapes differ or are missing: {sorted(map(str, embeds))}")
    shape = books[idx[0]].get("embed")
    info: dict[str, Any] = {"n_q": len(idx)}
    if shape is not None and len(shape) == 2:
        info.update(bins=shape[0], dimension=shape[1])
    return info


def _merge(parts: list[tuple[str, dict[str, Any]]], notes: list[str]) -> dict[str, Any]:
    """Combine what each part says; the first part's value wins, disagreements are noted."""
    out: dict[str, Any] = {}
    source: dict[str, str] = {}
    for name, part in parts:
        for key, value in part.items():
            if key not in out:
                out[key], source[key] = value, name
            elif out[key] != value:
                notes.append(f"{key}: the {source[key]} says {out[key]!r}, the {name} says "
                             f"{value!r}")
    return out


def _initialised(sd: Mapping[str, Any], notes: list[str]) -> None:
    bad = [key for key, value in sd.items()
           if key.endswith("._codebook.inited") and hasattr(value, "numel") and value.numel()
           and not bool((value != 0).all())]
    if bad:
        notes.append(f"codebook(s) never initialised (inited == 0): {', '.join(bad)}")


def _layout_check(info: dict[str, Any], sd: Mapping[str, Any], notes: list[str]) -> None:
    """Compare the weights with the full layout the inferred structure implies."""
    fields = {k: v for k, v in info.items() if k in STRUCTURAL_FIELDS}
    fields.setdefault("compress", 1)  # no residual block: the keys do not depend on it
    try:
        cfg = EncodecConfig(causal=False, target_bandwidths=(), **fields)
    except (ConfigError, TypeError) as exc:
        notes.append(f"the inferred structure is not a valid config: {exc}")
        return
    _, report = map_state_dict(sd, "canonical", "canonical", cfg)
    if not report.ok:
        problems = ([f"missing {k}" for k in report.missing]
                    + [f"unexpected {k}" for k in report.unexpected]
                    + [f"{k} shape {g} (layout says {w})" for k, g, w in report.shape_mismatches]
                    + [f"duplicate {d} <- {s}" for d, s in report.duplicates])
        notes.append(f"the weights do not fit the layout of the inferred structure "
                     f"({len(problems)} problem(s)): " + "; ".join(problems))


def infer_from_weights(sd_canonical: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The config fields a canonical state dict determines, and notes on anything odd.

    Returns only `STRUCTURAL_FIELDS` (and only those the present layers show: `compress`,
    `residual_kernel_size` and `true_skip` need a residual block). `ratios` are in decoder
    order. Fields in `NOT_FROM_WEIGHTS` are never guessed. InferenceError when the keys are
    not canonical EnCodec keys (HF keys must be mapped first, with the file's config).
    """
    style = detect_key_style(sd_canonical)
    if style != "canonical":
        raise InferenceError("the weights use Hugging Face key names: map them to canonical "
                             "names first (map_state_dict(sd, 'hf', 'canonical', cfg), with "
                             "the config from config.json)")
    notes: list[str] = []
    enc, dec, books, other = _split(_shapes(sd_canonical))
    if other:
        notes.append(f"{len(other)} key(s) outside the encoder/decoder/quantizer layout: "
                     + ", ".join(other))
    parts = []
    if enc:
        parts.append(("encoder", _walk("encoder", enc, notes)))
    else:
        notes.append("no encoder weights")
    if dec:
        parts.append(("decoder", _walk("decoder", dec, notes)))
    else:
        notes.append("no decoder weights")
    parts.append(("codebooks", _codebooks(books, notes)))
    widths = set().union(*(part.pop("_widths", set()) for _, part in parts))
    if widths:
        compress = _compress(widths)
        if compress is None:
            notes.append(f"no compress ratio gives the residual (width, hidden) pairs "
                         f"{sorted(widths)}")
        else:
            parts.append(("residual blocks", {"compress": compress}))
    info = _merge(parts, notes)
    _initialised(sd_canonical, notes)
    _layout_check(info, sd_canonical, notes)
    return {k: info[k] for k in STRUCTURAL_FIELDS if k in info}, notes


# ----------------------------------------------------------------------------- resolution
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

    def label_of(self, key: str) -> str:
        return self.provenance.get(key, self.label)

    def describe(self, key: str) -> str:
        return self.desc or self.label_of(key)


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(EncodecConfig) if f.name != "name")


def _normalise(values: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        if key in ("ratios", "target_bandwidths") and value is not None:
            value = tuple(value)
        out[key] = value
    return out


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
    for hf_key, canon in _HF_FIELDS.items():
        prov[canon] = "config.json" if hf_key in given else "config.json (transformers default)"
    prov["true_skip"] = ("config.json" if "use_conv_shortcut" in given
                         else "config.json (transformers default)")
    prov["n_q"] = ("config.json" if "target_bandwidths" in given
                   else "config.json (transformers default)")
    prov["segment"] = prov["overlap"] = "config.json"
    unknown = sorted(set(hf) - set(HF_DEFAULTS) - _HF_META_KEYS)
    old = [k for k in unknown if k in _HF_OLD_NAMES]
    if old:
        notes.append(f"config.json uses pre-release field names {old}: transformers ignores "
                     "them and uses its defaults instead")
    elif unknown:
        notes.append(f"config.json fields not understood (ignored): {unknown}")
    return _Layer("config.json", values, strict=True, provenance=prov)


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
            said = f"{layer.describe(key)} says {key}={layer.values[key]!r}"
            if key == "n_q" and layer.label == "config.json":
                said += " (transformers' num_quantizers, from target_bandwidths)"
            if layer.strict or (layer.family and key in FAMILY_FIELDS):
                errors.append(f"{key}: {said}, but the weights have {key}={w!r}")
            else:
                conflicts.append(f"{key}: {said}; using the weights' {w!r}")
        if not _same_layout(key, values[key], w, weights):
            values[key] = w
        if values[key] == w:
            prov[key] = "weights"
    if errors:
        raise ConfigConflictError("the config contradicts the weights (a model built from it "
                                  "would not load them):\n  - " + "\n  - ".join(errors))


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


def check_weights_fit(sd_canonical: Mapping[str, Any], cfg: EncodecConfig) -> MappingReport:
    """The full key/shape report of canonical weights against the layout of `cfg`."""
    return map_state_dict(sd_canonical, "canonical", "canonical", cfg)[1]


__all__ = [
    "ConfigConflictError",
    "ConfigResolutionError",
    "InferenceError",
    "NOT_FROM_WEIGHTS",
    "ResolvedConfig",
    "STRUCTURAL_FIELDS",
    "check_weights_fit",
    "infer_from_weights",
    "matching_presets",
    "resolve_config",
]
