"""What a checkpoint's weights say about its architecture (the third step of loading).

`infer_from_weights` reads only what tensor names and shapes determine: widths, ratios, layer
counts, kernel sizes, norm, shortcut, codebooks (`STRUCTURAL_FIELDS`). Everything else --
sample rate, causality, padding mode, renormalisation, chunking, dilation, bandwidths
(`NOT_FROM_WEIGHTS`) -- no tensor shape reveals; `conformance.checkpoints.resolve` gets those
from the file's config, a preset, the file name or the user's flags, and checks every source
against what the weights imply.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.checkpoints.naming import weight_g_spelling

__all__ = ["NOT_FROM_WEIGHTS", "STRUCTURAL_FIELDS", "infer_from_weights"]

#: Fields the weights determine (when the layers that show them are present).
STRUCTURAL_FIELDS = ("channels", "dimension", "n_filters", "n_residual_layers", "ratios",
                     "kernel_size", "last_kernel_size", "residual_kernel_size", "norm",
                     "true_skip", "compress", "lstm", "bins", "n_q")
#: Fields no tensor shape reveals; they come from a config, a preset, the file name or a flag.
NOT_FROM_WEIGHTS = ("sample_rate", "causal", "pad_mode", "renormalize", "segment", "overlap",
                    "trim_right_ratio", "dilation_base", "target_bandwidths")

_SEANET_RE = re.compile(r"^(encoder|decoder)\.model\.(\d+)\.(.+)$")
_CODEBOOK_RE = re.compile(r"^quantizer\.vq\.layers\.(\d+)\._codebook\.(\w+)$")
_LSTM_RE = re.compile(r"^lstm\.weight_ih_l(\d+)$")

Shape = tuple[int, ...]


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


def infer_from_weights(sd_canonical: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The config fields a canonical state dict determines, and notes on anything odd.

    Returns only `STRUCTURAL_FIELDS` (and only those the present layers show: `compress`,
    `residual_kernel_size` and `true_skip` need a residual block). `ratios` are in decoder
    order. Fields in `NOT_FROM_WEIGHTS` are never guessed.
    HF keys must be named first (`conformance.checkpoints.naming.name_tensors`); keys outside
    the canonical layout are listed in the notes and otherwise ignored.
    """
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
    return {k: info[k] for k in STRUCTURAL_FIELDS if k in info}, notes
