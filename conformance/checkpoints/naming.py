"""Naming the tensors: which key style a state dict uses, and its keys in the other style.

Two key styles name EnCodec tensors:

- canonical (the original `encodec` package and AudioCraft): `encoder.model.3.conv.conv.weight_g`,
  `decoder.model.3.convtr.convtr.weight_g`, `quantizer.vq.layers.0._codebook.embed`;
- Hugging Face (transformers): `encoder.layers.3.conv.weight_g`, `decoder.layers.3.conv.weight_g`
  (transposed convolutions are called `conv` too), `quantizer.layers.0.codebook.embed`.

Weight-norm pairs have two spellings in either style: `weight_g`/`weight_v` (the old
`torch.nn.utils.weight_norm`) and `parametrizations.weight.original0/1` (torch >= 2.1).

Renaming needs no config: a transformers decoder is conv-in, LSTM, then per ratio an ELU, an
up-sampling transposed conv and residual blocks, then ELU and conv-out, so among the decoder
layers that hold a bare `conv`, every one but the first and the last is a transposed conv.
`name_tensors` therefore turns any state dict into canonical names from its keys alone; which
config those tensors imply is the next step's job (`conformance.checkpoints.infer`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from conformance.errors import KeyStyleError

__all__ = ["CANONICAL_PREFIXES", "HF_PREFIXES", "KEY_STYLES", "WEIGHT_NORM_STYLES", "KeyStyle",
           "NamedWeights", "WeightNormStyle", "detect_key_style", "hf_name", "name_tensors",
           "rename_to_canonical", "respell", "weight_g_spelling"]

KeyStyle = Literal["canonical", "hf"]
WeightNormStyle = Literal["weight_g", "parametrizations"]
KEY_STYLES = frozenset({"canonical", "hf"})
WEIGHT_NORM_STYLES = frozenset({"weight_g", "parametrizations"})
CANONICAL_PREFIXES = ("encoder.model.", "decoder.model.", "quantizer.vq.")
HF_PREFIXES = ("encoder.layers.", "decoder.layers.", "quantizer.layers.")

#: weight_g / weight_v and their parametrization spelling.
_TO_PARAM = {"weight_g": "parametrizations.weight.original0",
             "weight_v": "parametrizations.weight.original1"}
_FROM_PARAM = {v: k for k, v in _TO_PARAM.items()}

_HF_SEANET = re.compile(r"^(encoder|decoder)\.layers\.(\d+)\.(.+)$")
_HF_BOOK = re.compile(r"^quantizer\.layers\.(\d+)\.codebook\.(\w+)$")
_CANON_SEANET = re.compile(r"^(encoder|decoder)\.model\.(\d+)\.(.+)$")
_CANON_BOOK = re.compile(r"^quantizer\.vq\.layers\.(\d+)\._codebook\.(\w+)$")
_SUB = r"(?:block\.\d+|shortcut)"


# --------------------------------------------------------------------------- weight norm
def weight_g_spelling(key: str) -> str:
    """`key` with `parametrizations.weight.original0/1` renamed `weight_g/weight_v`."""
    for param, plain in _FROM_PARAM.items():
        if key.endswith("." + param):
            return key[: -len(param)] + plain
    return key


def respell(key: str, style: WeightNormStyle) -> str:
    """`key` in the given weight-norm spelling (other keys unchanged)."""
    if style not in WEIGHT_NORM_STYLES:
        raise ValueError(f"weight_norm={style!r}: must be one of {sorted(WEIGHT_NORM_STYLES)}")
    plain = weight_g_spelling(key)
    if style == "parametrizations":
        head, _, leaf = plain.rpartition(".")
        if leaf in _TO_PARAM:
            return f"{head}.{_TO_PARAM[leaf]}"
    return plain


# ---------------------------------------------------------------------------- key styles
def _style_counts(keys: Iterable[str]) -> tuple[int, int]:
    keys = [k for k in keys if isinstance(k, str)]
    return (sum(k.startswith(CANONICAL_PREFIXES) for k in keys),
            sum(k.startswith(HF_PREFIXES) for k in keys))


def detect_key_style(sd: Mapping[str, Any] | Iterable[str]) -> KeyStyle:
    """'canonical' (`encoder.model.*`, `quantizer.vq.*`) or 'hf' (`encoder.layers.*`,
    `quantizer.layers.*`); KeyStyleError for neither or a mixture."""
    keys = list(sd.keys() if isinstance(sd, Mapping) else sd)
    canonical, hf = _style_counts(keys)
    if canonical and hf:
        c_ex = next(k for k in keys if k.startswith(CANONICAL_PREFIXES))
        h_ex = next(k for k in keys if k.startswith(HF_PREFIXES))
        raise KeyStyleError(f"mixed key styles: {canonical} canonical key(s) (e.g. {c_ex!r}) "
                            f"and {hf} Hugging Face key(s) (e.g. {h_ex!r}) in one state dict")
    if canonical:
        return "canonical"
    if hf:
        return "hf"
    sample = ", ".join(repr(k) for k in keys[:5]) or "(no keys)"
    raise KeyStyleError(
        f"no EnCodec keys: expected names starting with {' / '.join(CANONICAL_PREFIXES)} "
        f"(original/AudioCraft) or {' / '.join(HF_PREFIXES)} (transformers); got {len(keys)} "
        f"key(s), e.g. {sample}. A wrapper prefix ('model.', 'module.') or a nested "
        "checkpoint ('best_state', 'state_dict') must be removed first")


# ------------------------------------------------------------------------------ renaming
def _transposed_indices(hf_keys: Iterable[str]) -> frozenset[int]:
    """Decoder layers holding a bare `conv` that are transposed convs: all but first and last."""
    direct = sorted({int(m[2]) for k in hf_keys if (m := _HF_SEANET.match(k))
                     and m[1] == "decoder" and m[3].startswith(("conv.", "norm."))})
    return frozenset(direct[1:-1])


def _hf_to_canonical(key: str, transposed: frozenset[int]) -> str | None:
    plain = weight_g_spelling(key)
    if m := _HF_BOOK.match(plain):
        return f"quantizer.vq.layers.{m[1]}._codebook.{m[2]}"
    m = _HF_SEANET.match(plain)
    if m is None:
        return None
    side, index, rest = m[1], int(m[2]), m[3]
    inner = "convtr" if side == "decoder" and index in transposed else "conv"
    if rest.startswith("lstm."):
        new = rest
    elif rest.startswith("conv."):
        new = f"{inner}.{inner}.{rest[len('conv.'):]}"
    elif rest.startswith("norm."):
        new = f"{inner}.norm.{rest[len('norm.'):]}"
    elif sub := re.match(rf"^({_SUB})\.(conv|norm)\.(.+)$", rest):
        new = f"{sub[1]}.conv.{sub[2]}.{sub[3]}"
    else:
        return None
    return f"{side}.model.{index}.{new}"


def _canonical(key: str) -> str | None:
    """A canonical key in the weight_g spelling, or None when it is no canonical EnCodec name."""
    plain = weight_g_spelling(key)
    if _CANON_BOOK.match(plain):
        return plain
    m = _CANON_SEANET.match(plain)
    if m is None:
        return None
    rest = m[3]
    ok = (rest.startswith(("lstm.", "conv.conv.", "conv.norm.", "convtr.convtr.", "convtr.norm."))
          or re.match(rf"^{_SUB}\.conv\.(conv|norm)\.", rest))
    return plain if ok else None


def rename_to_canonical(keys: Iterable[str], style: KeyStyle | None = None
                        ) -> dict[str, str | None]:
    """Every key -> its canonical name (weight_g spelling), or None when it is not an EnCodec
    name. HF and canonical keys may be given (the style is detected from the set unless
    `style` says which)."""
    keys = list(keys)
    style = style or detect_key_style(keys)
    if style == "canonical":
        return {k: _canonical(k) for k in keys}
    transposed = _transposed_indices(keys)
    return {k: _hf_to_canonical(k, transposed) for k in keys}


def hf_name(canonical_key: str, weight_norm: WeightNormStyle = "weight_g") -> str:
    """The transformers name of a canonical key (ValueError for a non-canonical name)."""
    plain = _canonical(canonical_key)
    if plain is None:
        raise ValueError(f"{canonical_key!r} is not a canonical EnCodec key")
    if m := _CANON_BOOK.match(plain):
        return f"quantizer.layers.{m[1]}.codebook.{m[2]}"
    m = _CANON_SEANET.match(plain)
    side, index, rest = m[1], m[2], m[3]
    for inner in ("conv", "convtr"):
        if rest.startswith(f"{inner}.{inner}."):
            rest = "conv." + rest[len(f"{inner}.{inner}."):]
        elif rest.startswith(f"{inner}.norm."):
            rest = "norm." + rest[len(f"{inner}.norm."):]
    rest = re.sub(rf"^({_SUB})\.conv\.(conv|norm)\.", r"\1.\2.", rest)
    return respell(f"{side}.layers.{index}.{rest}", weight_norm)


# --------------------------------------------------------------------------- the step
@dataclass
class NamedWeights:
    """A state dict under canonical names: the second step of loading a checkpoint.

    `state_dict` has every tensor under its canonical name (weight_g spelling); a key that is
    no EnCodec name keeps its own name (the strict load reports it as unexpected). `style` is
    the file's key style; `renamed` the (file key, canonical key) pairs that changed;
    `respelled` those whose only change was the weight-norm spelling; `duplicates` the
    canonical keys given by several file keys (the first one is kept).
    """

    state_dict: dict[str, Any]
    style: KeyStyle
    renamed: list[tuple[str, str]] = field(default_factory=list)
    respelled: list[tuple[str, str]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, list[str]]] = field(default_factory=list)

    def notes(self) -> list[str]:
        """Human-readable lines about the renaming."""
        out = []
        if self.style == "hf":
            out.append(f"{len(self.renamed)} tensor(s) renamed from transformers' key names")
        if self.respelled:
            out.append(f"{len(self.respelled)} weight-norm tensor(s) renamed from the "
                       "parametrizations spelling (parametrizations.weight.original0/1)")
        return out


def name_tensors(sd: Mapping[str, Any]) -> NamedWeights:
    """Put every tensor of `sd` under its canonical name, from the key names alone.

    KeyStyleError when no key is an EnCodec name, or when both styles are mixed.
    """
    style = detect_key_style(sd)
    names = rename_to_canonical(sd, style)
    out: dict[str, Any] = {}
    sources: dict[str, list[str]] = {}
    named = NamedWeights(out, style)
    for key, value in sd.items():
        new = names[key]
        if new is None:
            named.unknown.append(key)
            new = key
        sources.setdefault(new, []).append(key)
        if len(sources[new]) > 1:
            continue
        out[new] = value
        if new != key:
            named.renamed.append((key, new))
            if weight_g_spelling(key) == new:
                named.respelled.append((key, new))
    named.duplicates = [(k, s) for k, s in sources.items() if len(s) > 1]
    return named
