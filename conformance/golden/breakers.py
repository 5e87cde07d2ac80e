"""Deliberately broken variants of a model, for sensitivity tests of the conformance checks.

Each breaker takes a reference `EncodecModel` and returns a NEW model (the input is never
mutated, and no tensor is shared with it) that reproduces one real-world loading or conversion
bug. A check that passes a broken variant is not sensitive enough to catch that bug.

Two ways of seeing a breakage (see `relative_change`):

- ``"forward"``: encode then decode the same audio with the broken model.
- ``"decode"``: decode codes produced by the INTACT model (stored tokens, e.g. a MusicGen or
  VALL-E output) with the broken model.

`shuffled_codebook_rows` is invisible to ``"forward"`` (the encoder picks the same vectors at
their new indices, so the round trip is unchanged): only decoding stored codes exposes it.
`FORWARD_INVARIANT` lists such breakers.

A breaker that does not apply to a config (`wrong_causal` on a time_group_norm model,
`shuffled_codebooks` with a single codebook) raises `BreakerNotApplicable`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch

from conformance.checkpoints.keymap import load_state_dict_strict
from conformance.errors import BreakerNotApplicable, ConfigError, InvalidArgument
from conformance.model.config import EncodecConfig
from conformance.model.encodec import BandwidthChoice, EncodecModel
from conformance.testing.weights import realistic_random_

__all__ = ["BREAKERS", "FORWARD_INVARIANT", "Breaker", "applicable_breakers",
           "decoder_weight_noise", "relative_change", "shuffled_codebook_rows",
           "shuffled_codebooks", "static_noise", "wrong_causal", "wrong_pad_mode",
           "wrong_weights"]

Breaker = Callable[[EncodecModel], EncodecModel]


# ------------------------------------------------------------------------------- helpers
def _like(model: EncodecModel) -> dict:
    """Device and dtype of the model's first parameter (for `.to`)."""
    p = next(model.parameters())
    return {"device": p.device, "dtype": p.dtype}


def _fresh(cfg: EncodecConfig, seed: int) -> EncodecModel:
    """`EncodecModel(cfg)` at PyTorch's default init, seeded, without touching the global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return EncodecModel(cfg)


def _finish(new: EncodecModel, model: EncodecModel) -> EncodecModel:
    """Match the input's device, dtype and train/eval mode."""
    new = new.to(**_like(model))
    new.train(model.training)
    return new


def _with_config(model: EncodecModel, cfg: EncodecConfig) -> EncodecModel:
    """The same weights (copied, loaded strictly) in a model built from another config."""
    new = _fresh(cfg, 0)
    sd = {k: v.detach().clone().cpu() for k, v in model.state_dict().items()}
    load_state_dict_strict(new, sd)
    return _finish(new, model)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _derangement(n: int, seed: int) -> list[int]:
    """A seeded permutation of range(n) with no fixed point (n >= 2)."""
    gen = _gen(seed)
    while True:
        perm = torch.randperm(n, generator=gen).tolist()
        if all(i != p for i, p in enumerate(perm)):
            return perm


# ------------------------------------------------------------------------------ breakers
def wrong_weights(model: EncodecModel, seed: int = 1234) -> EncodecModel:
    """Same architecture, other realistic random weights (`realistic_random_`).

    Simulates: a checkpoint whose keys and shapes all match but whose tensors are the wrong
    ones (a file from another run or an untrained export, a converter that regenerated tensors
    instead of copying them). Output is plausible-looking audio of the wrong content. If `seed`
    happens to reproduce the input's weights, the next seed is used.
    """
    reference = model.state_dict()
    for s in range(seed, seed + 100):
        new = _fresh(model.cfg, s)
        realistic_random_(new, s)
        if any(not torch.equal(v.cpu(), reference[k].cpu())
               for k, v in new.state_dict().items() if v.is_floating_point()):
            return _finish(new, model)
    raise RuntimeError("wrong_weights: 100 seeds reproduced the input's weights")  # unreachable


def static_noise(model: EncodecModel, seed: int = 0) -> EncodecModel:
    """The architecture at its fresh PyTorch default initialisation, nothing loaded.

    Simulates: a non-strict `load_state_dict` of a checkpoint whose keys were all renamed
    (HF names into the original layout, a `module.` prefix, weight-norm spellings): every key
    is "missing" or "unexpected", nothing is copied, no error is raised, and the decoder
    outputs static noise. Built directly as a fresh `EncodecModel(cfg)`, which is what such a
    load leaves, so no non-strict load exists anywhere in the package.
    """
    return _finish(_fresh(model.cfg, seed), model)


@torch.no_grad()
def decoder_weight_noise(model: EncodecModel, rel: float = 0.05, seed: int = 0) -> EncodecModel:
    """Gaussian noise of std `rel` x RMS(p) added to every decoder parameter p (5 % default).

    Simulates: a lossy or corrupted conversion of the decoder (a float16/bfloat16 round trip
    with the wrong scaling, weight norm folded approximately, a checkpoint from another
    training step): everything loads, the audio is close but degraded.
    """
    if rel <= 0:
        raise InvalidArgument(f"rel={rel}: must be > 0")
    new = copy.deepcopy(model)
    gen = _gen(seed)
    for p in new.decoder.parameters():
        rms = p.detach().float().pow(2).mean().sqrt()
        noise = torch.randn(p.shape, generator=gen).to(p.device, torch.float32)
        p.add_((rel * rms * noise).to(p.dtype))
    return new


_CODEBOOK_BUFFERS = ("inited", "cluster_size", "embed", "embed_avg")


@torch.no_grad()
def shuffled_codebooks(model: EncodecModel, seed: int = 0) -> EncodecModel:
    """The RVQ stages' codebooks in another order (a seeded permutation that moves every stage).

    Simulates: a converter that orders stages wrongly, e.g. sorting keys as strings
    (`layers.10` before `layers.2`) or an off-by-one between `quantizer.layers.<i>` and
    `quantizer.vq.layers.<i>`. Stage i then decodes its codes with another stage's vectors.
    """
    layers = model.quantizer.vq.layers
    if len(layers) < 2:
        raise BreakerNotApplicable(f"shuffled_codebooks needs >= 2 codebooks; n_q="
                                   f"{len(layers)}")
    perm = _derangement(len(layers), seed)
    new = copy.deepcopy(model)
    for i, j in enumerate(perm):
        src, dst = layers[j]._codebook, new.quantizer.vq.layers[i]._codebook
        for name in _CODEBOOK_BUFFERS:
            getattr(dst, name).copy_(getattr(src, name))
    return new


@torch.no_grad()
def shuffled_codebook_rows(model: EncodecModel, seed: int = 0) -> EncodecModel:
    """Within every codebook, the rows (codes) in another seeded order (no row stays put).

    Simulates: a converter that reorders code entries (a transposed or reshaped embedding,
    entries sorted by usage, an index offset): code k then decodes to another vector. The
    encode -> decode round trip is unchanged (see module doc); decoding stored codes is not.
    """
    new = copy.deepcopy(model)
    for i, layer in enumerate(new.quantizer.vq.layers):
        cb = layer._codebook
        perm = torch.tensor(_derangement(cb.embed.shape[0], seed + i), device=cb.embed.device)
        for name in ("cluster_size", "embed", "embed_avg"):
            buf = getattr(cb, name)
            buf.copy_(buf[perm])
    return new


def wrong_pad_mode(model: EncodecModel) -> EncodecModel:
    """Same weights, `pad_mode` flipped ('reflect' -> 'constant', anything else -> 'reflect').

    Simulates: taking pad_mode from the wrong source (encodec_32khz: its HF config.json says
    'reflect', AudioCraft's yaml 'constant'), or a loader's default instead of the
    checkpoint's value. Only the samples near the edges of each padded conv change.
    """
    flipped = "constant" if model.cfg.pad_mode == "reflect" else "reflect"
    return _with_config(model, model.cfg.replace(pad_mode=flipped))


def wrong_causal(model: EncodecModel) -> EncodecModel:
    """Same weights, `causal` flipped (padding all-left <-> split), where the config allows it.

    Simulates: `use_causal_conv` misread or defaulted (transformers' default is causal, right
    for 24 kHz and wrong for 32/48 kHz). Not applicable to time_group_norm or renormalising
    models (they cannot be causal) nor to a causal model with trim_right_ratio != 1.
    """
    try:
        cfg = model.cfg.replace(causal=not model.cfg.causal)
    except ConfigError as exc:
        raise BreakerNotApplicable(
            f"wrong_causal is not applicable to {model.cfg.name!r} (causal={model.cfg.causal}, "
            f"norm={model.cfg.norm!r}, renormalize={model.cfg.renormalize}): the flipped "
            f"config is invalid ({exc})") from exc
    return _with_config(model, cfg)


#: Every breaker, by name, callable as `BREAKERS[name](model)` with its default arguments.
BREAKERS: dict[str, Breaker] = {
    "wrong_weights": wrong_weights,
    "static_noise": static_noise,
    "decoder_weight_noise": decoder_weight_noise,
    "shuffled_codebooks": shuffled_codebooks,
    "shuffled_codebook_rows": shuffled_codebook_rows,
    "wrong_pad_mode": wrong_pad_mode,
    "wrong_causal": wrong_causal,
}

#: Breakers whose encode -> decode round trip equals the intact model's ("decode" shows them).
FORWARD_INVARIANT = frozenset({"shuffled_codebook_rows"})


def applicable_breakers(model: EncodecModel) -> dict[str, str | None]:
    """For each breaker: None if it applies to `model`, else the reason it does not."""
    out: dict[str, str | None] = {name: None for name in BREAKERS}
    if model.cfg.n_q < 2:
        out["shuffled_codebooks"] = f"needs >= 2 codebooks; n_q={model.cfg.n_q}"
    try:
        model.cfg.replace(causal=not model.cfg.causal)
    except ConfigError as exc:
        out["wrong_causal"] = f"the flipped config is invalid ({exc})"
    return out


# ------------------------------------------------------------------------------ measuring
@torch.no_grad()
def relative_change(reference: EncodecModel, broken: EncodecModel, wav: torch.Tensor,
                    bandwidth: BandwidthChoice | None = None, *, n_q: int | None = None,
                    path: str = "decode") -> float:
    """||y_broken - y_ref|| / ||y_ref|| for audio `wav` [B, C, T].

    `path="decode"` decodes the intact model's codes with both models; `path="forward"` runs
    each model's own encode -> decode. Give `bandwidth` or `n_q` as for `EncodecModel.encode`.
    """
    if path == "decode":
        codes = reference.encode(wav, bandwidth, n_q=n_q)
        y_ref, y_bad = reference.decode(codes), broken.decode(codes)
    elif path == "forward":
        y_ref, y_bad = reference(wav, bandwidth, n_q=n_q), broken(wav, bandwidth, n_q=n_q)
    else:
        raise InvalidArgument(f"path={path!r}: must be 'decode' or 'forward'")
    n = min(y_ref.shape[-1], y_bad.shape[-1])
    y_ref, y_bad = y_ref[..., :n].double(), y_bad[..., :n].double()
    return float((y_bad - y_ref).norm() / y_ref.norm().clamp_min(1e-12))
