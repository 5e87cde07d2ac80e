"""The key layout of a config, and mapping reports that name every key that does not fit.

`expected_keys(cfg)` lists every canonical state-dict key of a model with config `cfg`, with
its shape, generated from the layer-index structure of the config (never from a fixed list),
so any number of ratios, residual layers or LSTM layers, either shortcut and every norm are
covered; `expected_hf_keys` gives transformers' names for the same tensors.

The point of the module is that nothing is dropped silently: `map_state_dict` and
`compare_state_dict` return a `MappingReport` naming every missing, unexpected, duplicated or
mis-shaped key, and `load_state_dict_strict` refuses to load anything that is not an exact
match. (Loading renamed weights non-strictly leaves the model at its random initial values: a
decoder that outputs static noise and raises no error.)
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from conformance.checkpoints.naming import (
    CANONICAL_PREFIXES,
    HF_PREFIXES,
    KEY_STYLES,
    WEIGHT_NORM_STYLES,
    KeyStyle,
    WeightNormStyle,
    _style_counts,
    hf_name,
    rename_to_canonical,
    respell,
    weight_g_spelling,
)
from conformance.errors import ConfigError, KeyMappingError, UnknownKeyError
from conformance.model.config import EncodecConfig

__all__ = ["MappingReport", "Shape", "canonical_to_hf_key", "compare_state_dict",
           "expected_hf_keys", "expected_keys", "fold_weight_norm", "hf_to_canonical_key",
           "load_state_dict_strict", "map_state_dict"]

_CODEBOOK_BUFFERS = ("inited", "cluster_size", "embed", "embed_avg")

Shape = tuple[int, ...]


# ------------------------------------------------------------------------------ the layout
@dataclass(frozen=True)
class _Struct:
    """The config fields that decide key names and shapes (the cache key of a layout)."""

    channels: int
    dimension: int
    n_filters: int
    n_residual_layers: int
    ratios: tuple[int, ...]
    kernel_size: int
    last_kernel_size: int
    residual_kernel_size: int
    norm: str
    true_skip: bool
    compress: int
    lstm: int
    bins: int
    n_q: int

    @classmethod
    def of(cls, cfg: EncodecConfig) -> _Struct:
        return cls(**{f.name: getattr(cfg, f.name) for f in dataclasses.fields(cls)})


Layout = list[tuple[str, Shape]]


def _conv_entries(path: str, in_ch: int, out_ch: int, kernel: int, norm: str,
                  transposed: bool = False) -> Layout:
    """The tensors of one (transposed) conv wrapper at module path `path`:
    `<path>.conv.conv.*` and `<path>.conv.norm.*` (`convtr` for transposed convs)."""
    inner = "convtr" if transposed else "conv"
    weight = (in_ch, out_ch, kernel) if transposed else (out_ch, in_ch, kernel)
    if norm == "weight_norm":  # weight_g is [dim 0 of the weight, 1, 1]: [in] for convtr
        leaves = [("weight_g", (weight[0], 1, 1)), ("weight_v", weight), ("bias", (out_ch,))]
    else:
        leaves = [("weight", weight), ("bias", (out_ch,))]
    out = [(f"{path}.{inner}.{inner}.{leaf}", shape) for leaf, shape in leaves]
    if norm == "time_group_norm":
        out += [(f"{path}.{inner}.norm.{leaf}", (out_ch,)) for leaf in ("weight", "bias")]
    return out


def _resblock_entries(path: str, dim: int, s: _Struct) -> Layout:
    """A residual block of width `dim`: block.1 (k, dim -> dim/compress), block.3, shortcut."""
    hidden = dim // s.compress
    out = _conv_entries(f"{path}.block.1", dim, hidden, s.residual_kernel_size, s.norm)
    out += _conv_entries(f"{path}.block.3", hidden, dim, 1, s.norm)
    if not s.true_skip:
        out += _conv_entries(f"{path}.shortcut", dim, dim, 1, s.norm)
    return out


def _lstm_entries(path: str, dim: int, layers: int) -> Layout:
    """nn.LSTM(dim, dim, layers): weight_ih/hh [4*dim, dim], bias_ih/hh [4*dim] per layer."""
    shapes = {"weight_ih": (4 * dim, dim), "weight_hh": (4 * dim, dim), "bias_ih": (4 * dim,),
              "bias_hh": (4 * dim,)}
    return [(f"{path}.lstm.{name}_l{k}", shape)
            for k in range(layers) for name, shape in shapes.items()]


def _encoder_entries(s: _Struct) -> Layout:
    """Encoder indices (n = residual layers, r = position in reversed ratios, R = len(ratios)):
    residual blocks 1 + (n+2)r + j, down conv (n+2)(r+1), LSTM (n+2)R + 1, last conv after it."""
    n2, big_r = s.n_residual_layers + 2, len(s.ratios)
    at = "encoder.model.{}".format
    out = _conv_entries(at(0), s.channels, s.n_filters, s.kernel_size, s.norm)
    for r, ratio in enumerate(reversed(s.ratios)):
        width = s.n_filters * 2 ** r
        for j in range(s.n_residual_layers):
            out += _resblock_entries(at(1 + n2 * r + j), width, s)
        out += _conv_entries(at(n2 * (r + 1)), width, 2 * width, 2 * ratio, s.norm)
    top = s.n_filters * 2 ** big_r
    if s.lstm:
        out += _lstm_entries(at(n2 * big_r + 1), top, s.lstm)
    last = n2 * big_r + 2 + (1 if s.lstm else 0)
    out += _conv_entries(at(last), top, s.dimension, s.last_kernel_size, s.norm)
    return out


def _decoder_entries(s: _Struct) -> Layout:
    """Decoder indices (shifted down by one without an LSTM): LSTM 1, up conv 3 + (n+2)r,
    residual blocks 4 + (n+2)r + j, last conv 3 + (n+2)R."""
    n2, big_r = s.n_residual_layers + 2, len(s.ratios)
    shift = 1 if s.lstm else 0
    at = "decoder.model.{}".format
    top = s.n_filters * 2 ** big_r
    out = _conv_entries(at(0), s.dimension, top, s.kernel_size, s.norm)
    if s.lstm:
        out += _lstm_entries(at(1), top, s.lstm)
    for r, ratio in enumerate(s.ratios):
        width = s.n_filters * 2 ** (big_r - r)
        out += _conv_entries(at(2 + shift + n2 * r), width, width // 2, 2 * ratio, s.norm,
                             transposed=True)
        for j in range(s.n_residual_layers):
            out += _resblock_entries(at(3 + shift + n2 * r + j), width // 2, s)
    out += _conv_entries(at(2 + shift + n2 * big_r), s.n_filters, s.channels,
                         s.last_kernel_size, s.norm)
    return out


def _quantizer_entries(s: _Struct) -> Layout:
    shapes = {"inited": (1,), "cluster_size": (s.bins,), "embed": (s.bins, s.dimension),
              "embed_avg": (s.bins, s.dimension)}
    return [(f"quantizer.vq.layers.{i}._codebook.{b}", shapes[b])
            for i in range(s.n_q) for b in _CODEBOOK_BUFFERS]


@functools.lru_cache(maxsize=256)
def _layout_of(s: _Struct) -> tuple[tuple[str, Shape], ...]:
    return tuple(_encoder_entries(s) + _decoder_entries(s) + _quantizer_entries(s))


def _check_style(style: str) -> None:
    if style not in KEY_STYLES:
        raise ValueError(f"key style {style!r}: must be one of {sorted(KEY_STYLES)}")


def _check_wn(style: str) -> None:
    if style not in WEIGHT_NORM_STYLES:
        raise ValueError(f"weight_norm={style!r}: must be one of {sorted(WEIGHT_NORM_STYLES)}")


def _require_hf(cfg: EncodecConfig) -> None:
    if cfg.lstm < 1:
        raise ConfigError(f"lstm={cfg.lstm}: transformers always builds an LSTM block, so a "
                          "model without one has no Hugging Face key layout")


# ----------------------------------------------------------------------------- public keys
def expected_keys(cfg: EncodecConfig) -> dict[str, Shape]:
    """Every canonical state-dict key of a model with config `cfg`, with its shape, in
    `EncodecModel(cfg).state_dict()` order."""
    return dict(_layout_of(_Struct.of(cfg)))


def expected_hf_keys(cfg: EncodecConfig,
                     weight_norm: WeightNormStyle = "weight_g") -> dict[str, Shape]:
    """Every transformers `EncodecModel` state-dict key for `cfg`, with its shape.

    `weight_norm` picks the spelling of weight-norm tensors: `weight_g`/`weight_v` (old torch
    API, what the Hub files hold) or `parametrizations.weight.original0/1` (torch >= 2.1).
    """
    _check_wn(weight_norm)
    _require_hf(cfg)
    return {hf_name(k, weight_norm): shape for k, shape in expected_keys(cfg).items()}


def canonical_to_hf_key(key: str, cfg: EncodecConfig,
                        weight_norm: WeightNormStyle = "weight_g") -> str:
    """The transformers name of canonical `key` (UnknownKeyError if `cfg` has no such key)."""
    _check_wn(weight_norm)
    _require_hf(cfg)
    if weight_g_spelling(key) not in expected_keys(cfg):
        raise UnknownKeyError(f"{key!r} is not a canonical key of a model with this config "
                              f"({_describe(cfg)})")
    return hf_name(key, weight_norm)


def hf_to_canonical_key(key: str, cfg: EncodecConfig) -> str:
    """The canonical name of transformers `key`, in either weight-norm spelling.

    HF calls transposed convs `decoder.layers.N.conv` too; the config tells which N they are.
    """
    _require_hf(cfg)
    for canonical in expected_keys(cfg):
        if hf_name(canonical) == weight_g_spelling(key):
            return canonical
    raise UnknownKeyError(f"{key!r} is not a Hugging Face key of a model with this config "
                          f"({_describe(cfg)})")


def _describe(cfg: EncodecConfig) -> str:
    return (f"ratios={list(cfg.ratios)}, n_residual_layers={cfg.n_residual_layers}, "
            f"lstm={cfg.lstm}, norm={cfg.norm}, true_skip={cfg.true_skip}, n_q={cfg.n_q}")


# --------------------------------------------------------------------------------- reports
@dataclass
class MappingReport:
    """What happened to every key of a state dict mapped onto (or checked against) a target.

    `mapped` holds (source, target) pairs; `missing` target keys nobody provided; `unexpected`
    source keys that map to nothing; `shape_mismatches` (source key, got, expected);
    `duplicates` (target, [sources]) when several source keys land on one target (the first is
    kept); `spelling_only` the (source, target) pairs whose weight-norm spelling changed.
    """

    source: str = "source"
    target: str = "target"
    mapped: list[tuple[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    shape_mismatches: list[tuple[str, Shape | None, Shape]] = field(default_factory=list)
    duplicates: list[tuple[str, list[str]]] = field(default_factory=list)
    spelling_only: list[tuple[str, str]] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every target key got exactly one source tensor of the right shape."""
        return not (self.missing or self.unexpected or self.shape_mismatches or self.duplicates)

    @property
    def n_problems(self) -> int:
        return (len(self.missing) + len(self.unexpected) + len(self.shape_mismatches)
                + len(self.duplicates))

    def format(self) -> str:
        """A human-readable account naming every problem key (never truncated)."""
        head = (f"state dict {self.source} -> {self.target}: {len(self.mapped)} key(s) mapped, "
                f"{self.n_problems} problem(s)")
        lines = [head if not self.ok else head + " (OK)"]
        if self.missing:
            lines.append(f"missing ({len(self.missing)}): expected by {self.target}, absent "
                         "from the source (a non-strict load would leave them at random values):")
            lines += [f"  - {k}" for k in self.missing]
        if self.unexpected:
            lines.append(f"unexpected ({len(self.unexpected)}): source keys that match no key "
                         f"of {self.target}:")
            lines += [f"  - {k}" for k in self.unexpected]
        if self.shape_mismatches:
            lines.append(f"shape mismatches ({len(self.shape_mismatches)}):")
            lines += [f"  - {k}: shape={_fmt_shape(got)}, but should be {_fmt_shape(want)}"
                      for k, got, want in self.shape_mismatches]
        if self.duplicates:
            lines.append(f"duplicates ({len(self.duplicates)}): several source keys for one "
                         "target key:")
            lines += [f"  - {dst} <- {', '.join(srcs)}" for dst, srcs in self.duplicates]
        if self.spelling_only:
            lines.append(f"weight-norm spelling changed for {len(self.spelling_only)} key(s) "
                         "(weight_g/weight_v <-> parametrizations.weight.original0/1; same "
                         "tensors)")
        lines += [f"hint: {h}" for h in self.hints]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists), with `ok` added."""
        d = dataclasses.asdict(self)
        d["mapped"] = [list(p) for p in self.mapped]
        d["spelling_only"] = [list(p) for p in self.spelling_only]
        d["shape_mismatches"] = [[k, None if g is None else list(g), list(w)]
                                 for k, g, w in self.shape_mismatches]
        d["duplicates"] = [[dst, list(srcs)] for dst, srcs in self.duplicates]
        d["ok"] = self.ok
        return d

    def raise_if_problems(self) -> None:
        """Raise KeyMappingError(self) unless `ok`."""
        if not self.ok:
            raise KeyMappingError(self)


def _fmt_shape(shape: Shape | None) -> str:
    return "(not a tensor)" if shape is None else str(tuple(shape))


def _shape_of(value: Any) -> Shape | None:
    shape = getattr(value, "shape", None)
    return None if shape is None else tuple(int(d) for d in shape)


# ----------------------------------------------------------------------------------- mapping
def map_state_dict(sd: Mapping[str, Any], src: KeyStyle, dst: KeyStyle, cfg: EncodecConfig,
                   weight_norm: WeightNormStyle = "weight_g") -> tuple[dict[str, Any],
                                                                     MappingReport]:
    """Rename every key of `sd` from layout `src` to layout `dst` for a model with config `cfg`.

    Both weight-norm spellings are accepted on input; `weight_norm` is the spelling of an HF
    output (canonical output always uses weight_g/weight_v, which the original package and
    AudioCraft load). Nothing is dropped or invented silently: keys that map to nothing, target
    keys left unfilled, several sources for one target and wrong shapes are all in the report
    (check `report.ok`, or call `report.raise_if_problems()`). Unmappable keys are not copied;
    for duplicates the first source is kept. The output follows the target's key order.
    """
    _check_style(src)
    _check_style(dst)
    _check_wn(weight_norm)
    if "hf" in (src, dst):
        _require_hf(cfg)
    report = MappingReport(source=f"{src} keys", target=f"{dst} keys ({_describe(cfg)})")
    layout = expected_keys(cfg)
    prefixes = CANONICAL_PREFIXES if src == "canonical" else HF_PREFIXES
    in_src = [k for k in sd if isinstance(k, str) and k.startswith(prefixes)]
    names = rename_to_canonical(in_src) if in_src else {}
    out_param = dst == "hf" and weight_norm == "parametrizations"
    got: dict[str, Any] = {}
    sources: dict[str, list[str]] = {}
    for key, value in sd.items():
        canonical = names.get(key)
        if canonical is None or canonical not in layout:
            report.unexpected.append(key)
            continue
        target = canonical if dst == "canonical" else hf_name(canonical, weight_norm)
        sources.setdefault(target, []).append(key)
        if len(sources[target]) > 1:
            continue
        got[target] = value
        report.mapped.append((key, target))
        was_param = weight_g_spelling(key) != key
        if canonical.endswith((".weight_g", ".weight_v")) and was_param != out_param:
            report.spelling_only.append((key, target))
        shape, want = _shape_of(value), layout[canonical]
        if shape != want:
            report.shape_mismatches.append((key, shape, want))
    report.duplicates = [(t, s) for t, s in sources.items() if len(s) > 1]
    expected = layout if dst == "canonical" else expected_hf_keys(cfg, weight_norm)
    report.missing = [k for k in expected if k not in got]
    report.hints = _hints(report, sd, src, dst)
    return {k: got[k] for k in expected if k in got}, report


def compare_state_dict(sd: Mapping[str, Any], expected: Mapping[str, Shape],
                       source: str = "state dict", target: str = "model") -> MappingReport:
    """Check `sd` against `expected` {key: shape} exactly (names as given, no renaming)."""
    report = MappingReport(source=source, target=target)
    for key, value in sd.items():
        if key not in expected:
            report.unexpected.append(key)
            continue
        report.mapped.append((key, key))
        shape = _shape_of(value)
        if shape != tuple(expected[key]):
            report.shape_mismatches.append((key, shape, tuple(expected[key])))
    report.missing = [k for k in expected if k not in sd]
    report.hints = _hints(report, sd, None, None, target_keys=list(expected))
    return report


def load_state_dict_strict(model: nn.Module, sd: Mapping[str, Any]) -> MappingReport:
    """Load `sd` into `model` only if its keys and shapes match the model's exactly.

    The check runs first and raises KeyMappingError (its message names every problem key) on
    any missing, unexpected or mis-shaped key; then `model.load_state_dict(sd, strict=True)`.
    """
    target = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    report = compare_state_dict(sd, target, source="checkpoint",
                                target=f"{type(model).__name__} state dict")
    report.raise_if_problems()
    model.load_state_dict(dict(sd), strict=True)
    return report


# ------------------------------------------------------------------------------- diagnosis
def _hints(report: MappingReport, sd: Mapping[str, Any], src: str | None, dst: str | None,
           target_keys: list[str] | None = None) -> list[str]:
    """Likely causes of the problems in `report`, for humans."""
    hints = []
    if report.unexpected and not report.mapped:
        canonical, hf = _style_counts(sd)
        seen = "canonical" if canonical > hf else "hf" if hf else None
        if seen and src and seen != src:
            hints.append(f"the source keys are in the {seen!r} layout but were read as {src!r}")
        elif seen and target_keys is not None:
            want_c, want_h = _style_counts(target_keys)
            want = "canonical" if want_c > want_h else "hf" if want_h else None
            if want and want != seen:
                hints.append(f"the checkpoint uses {seen!r} key names but the model expects "
                             f"{want!r} names: convert with map_state_dict(sd, {seen!r}, "
                             f"{want!r}, cfg) first")
        hints.append("no key matched at all: a non-strict load of this would load nothing "
                      "and leave a randomly initialised model (static-noise output)")
    if report.unexpected and report.missing:
        wanted = set(report.missing)
        respelled = [k for k in report.unexpected
                     if weight_g_spelling(k) in wanted or respell(k, "parametrizations") in wanted]
        if respelled:
            hints.append(f"{len(respelled)} unexpected key(s) differ from missing ones only in "
                         "weight-norm spelling (weight_g/weight_v vs parametrizations.weight."
                         "original0/1): rename them with map_state_dict")
        folded = [k for k in report.unexpected if k.endswith(".weight")
                  and k[: -len("weight")] + "weight_v" in wanted]
        if folded:
            hints.append(f"{len(folded)} conv weight(s) are plain `weight` where weight_g/"
                         "weight_v are expected: the weights were folded (weight norm removed) "
                         "or the config's norm is wrong")
    if report.shape_mismatches:
        swapped = [k for k, g, w in report.shape_mismatches
                   if g is not None and len(g) == 3 and g[:2] == (w[1], w[0])]
        if swapped:
            hints.append(f"{len(swapped)} weight(s) have in/out channels swapped: a conv and a "
                         "transposed conv store weights as [out,in,k] and [in,out,k]")
    return hints


# ---------------------------------------------------------------------------- weight norm
def fold_weight_norm(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Replace every weight-norm pair (either spelling) by its effective `weight`
    (`w = g * v / ||v||`, norm over all dims but 0, computed as `torch._weight_norm(v, g, 0)`).

    Canonical `...conv.conv.weight_g/_v` become `...conv.conv.weight`; HF
    `...conv.parametrizations.weight.original0/1` become `...conv.weight`.
    """
    out: dict[str, torch.Tensor] = {}
    pairs: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in sd.items():
        head, _, leaf = weight_g_spelling(key).rpartition(".")
        if leaf in ("weight_g", "weight_v"):
            pairs.setdefault(head, {})[leaf] = value
        else:
            out[key] = value
    for head, pair in pairs.items():
        if set(pair) != {"weight_g", "weight_v"}:
            raise KeyMappingError(f"{head}: weight-norm pair incomplete, only {sorted(pair)} "
                                  "present")
        g, v = pair["weight_g"], pair["weight_v"]
        if g.shape != (v.shape[0],) + (1,) * (v.dim() - 1):
            raise KeyMappingError(f"{head}: weight_g.shape={tuple(g.shape)}, but should be "
                              f"{(v.shape[0],) + (1,) * (v.dim() - 1)} for weight_v.shape="
                              f"{tuple(v.shape)}")
        out[f"{head}.weight"] = torch._weight_norm(v, g, 0)
    return out
