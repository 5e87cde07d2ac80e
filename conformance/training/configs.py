"""Small golden model configs, one per family, and the training recipe that goes with each.

The models keep each family's defining traits (rate, channels, causality, norm, ratios,
shortcuts, codebook size, renormalisation and chunking) at a width small enough to train on a
CPU. `python -m conformance.training.configs` prints the parameter counts and file sizes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.model.config import EncodecConfig
from conformance.training.corpus import CORPUS_KINDS

__all__ = ["GOLDEN", "GOLDEN_24KHZ", "GOLDEN_32KHZ", "GOLDEN_48KHZ", "GOLDEN_WEIGHTS",
           "LossWeights", "TrainRecipe", "get_recipe", "model_size"]

#: 24 kHz mono, causal, weight norm, 10-bit codebooks: ladder 1.5 / 3 / 6 kbps (2 / 4 / 8
#: codebooks), the first three rungs of the released ladder.
GOLDEN_24KHZ = EncodecConfig(
    name="encodec_24khz_golden",
    sample_rate=24000, channels=1, causal=True, norm="weight_norm", n_filters=12, dimension=64,
    ratios=(8, 5, 4, 2), lstm=1, bins=1024, n_q=8, target_bandwidths=(1.5, 3.0, 6.0),
    true_skip=False, pad_mode="reflect", renormalize=False, segment=None,
)

#: 32 kHz MusicGen-style: non-causal, weight norm, true skips, ratios 8-5-4-4 (50 Hz), four
#: 11-bit codebooks (2.2 kbps).
GOLDEN_32KHZ = EncodecConfig(
    name="encodec_32khz_golden",
    sample_rate=32000, channels=1, causal=False, norm="weight_norm", n_filters=8, dimension=32,
    ratios=(8, 5, 4, 4), lstm=1, bins=2048, n_q=4, target_bandwidths=(2.2,),
    true_skip=True, pad_mode="reflect", renormalize=False, segment=None,
)

#: 48 kHz stereo: non-causal, time_group_norm, renormalised 1 s chunks with 1 % overlap;
#: ladder 3 / 6 / 12 kbps (2 / 4 / 8 codebooks), the first three released rungs.
GOLDEN_48KHZ = EncodecConfig(
    name="encodec_48khz_golden",
    sample_rate=48000, channels=2, causal=False, norm="time_group_norm", n_filters=8,
    dimension=32, ratios=(8, 5, 4, 2), lstm=1, bins=1024, n_q=8,
    target_bandwidths=(3.0, 6.0, 12.0), true_skip=False, pad_mode="reflect", renormalize=True,
    segment=1.0, overlap=0.01,
)


@dataclass(frozen=True)
class LossWeights:
    """Weights of the generator loss terms (EnCodec's fixed-weight form, no gradient balancer)."""

    l1: float = 0.1
    mel: float = 1.0
    commit: float = 1.0
    #: multi-resolution linear STFT loss (0: off, EnCodec's recipe has none)
    stft: float = 0.0
    adv: float = 3.0
    feat: float = 3.0


@dataclass(frozen=True)
class TrainRecipe:
    """Everything that decides a training run besides the data and the seed."""

    family: str
    config: EncodecConfig
    segment_seconds: float = 1.0
    batch_size: int = 8
    lr: float = 5e-4
    betas: tuple[float, float] = (0.8, 0.99)
    weight_decay: float = 1e-4
    warmup_steps: int = 300
    min_lr_ratio: float = 0.05
    grad_clip: float = 1.0
    weights: LossWeights = field(default_factory=LossWeights)
    #: mel windows 2**i for i in mel_scales, hop window/4, n_mels bins each
    mel_scales: tuple[int, ...] = (6, 7, 8, 9, 10, 11)
    n_mels: int = 64
    #: floor of the mel magnitudes before log10 (1e-5 = -100 dB; a higher floor stops the loss
    #: from spending the model on near-silent bins)
    mel_floor: float = 1e-5
    #: adversarial training: on when adv_start < 1, from that fraction of the planned steps on
    adv_start: float = 0.5
    #: the discriminator costs several generator steps on a CPU: it trains every adv_every
    #: steps, on the first adv_items segments of the batch
    adv_every: int = 2
    adv_items: int = 2
    disc_filters: int = 8
    disc_n_ffts: tuple[int, ...] = (1024, 512, 256)
    disc_lr: float = 3e-4
    #: quantizer dropout: with this probability a batch uses a random rung of the ladder
    q_dropout: float = 0.5
    ema_decay: float = 0.99
    laplace_eps: float = 1e-5
    dead_code_threshold: float = 2.0
    #: the threshold is in EMA counts for a batch of this many vectors (AudioCraft's 64 x 1 s at
    #: 75 Hz); smaller batches scale it down, or every code would count as dead. With 2048
    #: codes and 400 vectors a batch (32 kHz) a code gets 0.2 vectors a step on average, so the
    #: 32 kHz recipe doubles this (else ~1,000 of 8,192 codes were replaced every step)
    dead_code_ref_vectors: int | None = 4800
    kmeans_iters: int = 50
    #: relative sampling weights of the corpus kinds
    data_mix: dict[str, float] = field(default_factory=lambda: {"speech": 1.0, "music": 0.5})
    gain_db: tuple[float, float] = (-12.0, 4.0)

    def replace(self, **changes: Any) -> TrainRecipe:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["config"] = self.config.to_dict()
        return d

    def with_overrides(self, pairs: Sequence[str]) -> TrainRecipe:
        """A copy with `field=value` changes (tuples comma-separated, loss weights as
        `weights.adv=0`, data kinds as `data_mix.music=0.25`, model config fields as
        `config.n_filters=16`), each value parsed as its field's current type; a config change
        is checked like any config."""
        changes: dict[str, Any] = {}
        weights = dataclasses.asdict(self.weights)
        config_changes: dict[str, Any] = {}
        for pair in pairs:
            key, sep, text = pair.partition("=")
            key = key.strip()
            if not sep:
                raise ValueError(f"--set {pair!r}: expected field=value")
            if key.startswith("weights."):
                name = key.split(".", 1)[1]
                if name not in weights:
                    raise ValueError(f"--set {key}: no loss weight {name!r}; known: "
                                     f"{', '.join(weights)}")
                weights[name] = float(text)
                continue
            if key.startswith("data_mix."):
                name = key.split(".", 1)[1]
                if name not in CORPUS_KINDS:
                    raise ValueError(f"--set {key}: no data kind {name!r}; known: "
                                     f"{', '.join(CORPUS_KINDS)}")
                weight = float(text)
                if weight < 0:
                    raise ValueError(f"--set {key}: a sampling weight cannot be negative")
                changes.setdefault("data_mix", dict(self.data_mix))[name] = weight
                continue
            if key.startswith("config."):
                name = key.split(".", 1)[1]
                if name not in {f.name for f in dataclasses.fields(self.config)}:
                    raise ValueError(f"--set {key}: the model config has no field {name!r}")
                current = getattr(self.config, name)
                config_changes[name] = (text.strip() if isinstance(current, str)
                                        else _parse_like(current, text))
                continue
            if key in ("family", "config", "weights", "data_mix") or not hasattr(self, key):
                raise ValueError(f"--set {key}: not a settable recipe field")
            changes[key] = _parse_like(getattr(self, key), text)
        if "data_mix" in changes and not any(w > 0 for w in changes["data_mix"].values()):
            raise ValueError("--set data_mix.*: at least one data kind needs a positive weight")
        if config_changes:
            changes["config"] = dataclasses.replace(self.config, **config_changes)
        return dataclasses.replace(self, weights=LossWeights(**weights), **changes)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainRecipe:
        """Inverse of `to_dict` (lists back to tuples)."""
        kw = dict(d)
        kw["config"] = EncodecConfig.from_dict(dict(d["config"]))
        kw["weights"] = LossWeights(**d["weights"])
        for f in dataclasses.fields(cls):
            if isinstance(kw.get(f.name), list):
                kw[f.name] = tuple(kw[f.name])
        return cls(**kw)


def _parse_like(current: Any, text: str) -> Any:
    if isinstance(current, tuple):
        return tuple(_parse_like(current[0] if current else 0.0, t) for t in text.split(","))
    if isinstance(current, bool):
        return text.strip().lower() in ("1", "true", "yes")
    if isinstance(current, int) or current is None:
        return int(text) if text.strip().lstrip("-").isdigit() else float(text)
    return float(text)


#: EnCodec's loss weights without the adversarial terms. (Tried: waveform L1 at 2.0, to tie
#: the decoded phase to the input. Without a discriminator the models decode with a phase of
#: their own (SI-SDR -15 to -45 dB against the input, also without quantization), and a heavy
#: L1 then only shrinks the output: 10 dB quieter, STOI down 0.01 in 420 steps.)
GOLDEN_WEIGHTS = LossWeights()

GOLDEN: dict[str, TrainRecipe] = {
    "encodec_24khz": TrainRecipe(
        family="encodec_24khz", config=GOLDEN_24KHZ, weights=GOLDEN_WEIGHTS, adv_start=1.0,
        data_mix={"speech": 1.0, "music": 0.25}),
    "encodec_32khz": TrainRecipe(
        family="encodec_32khz", config=GOLDEN_32KHZ, weights=GOLDEN_WEIGHTS, q_dropout=0.0,
        adv_start=1.0, dead_code_ref_vectors=9600,
        # speech-heavy: it is scored on speech, and with music : speech = 1 : 1 the model sat
        # at STOI 0.68-0.72 for 3,000-4,500 steps (8 or 12 filters); 0.25 : 1 reached 0.756
        # after 1,643 steps
        data_mix={"music": 0.25, "speech": 1.0}),
    "encodec_48khz": TrainRecipe(
        family="encodec_48khz", config=GOLDEN_48KHZ, weights=GOLDEN_WEIGHTS,
        segment_seconds=0.99, batch_size=4, adv_start=1.0,
        data_mix={"music": 1.0, "speech": 1.0}),
}


def get_recipe(family: str) -> TrainRecipe:
    """The golden recipe for `family` (KeyError lists the known ones)."""
    try:
        return GOLDEN[family]
    except KeyError:
        raise KeyError(f"unknown family {family!r}; known: {', '.join(GOLDEN)}") from None


def model_size(cfg: EncodecConfig) -> dict[str, int]:
    """Parameter and buffer counts of the reference model, and its float32 file size in bytes."""
    from conformance.model.encodec import EncodecModel

    model = EncodecModel(cfg)
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for b in model.buffers())
    return {"parameters": params, "buffers": buffers, "bytes_float32": 4 * (params + buffers)}


if __name__ == "__main__":  # pragma: no cover - a report for the README
    for name, recipe in GOLDEN.items():
        s = model_size(recipe.config)
        print(f"{name}: {s['parameters'] / 1e6:.2f} M parameters, {s['buffers'] / 1e6:.2f} M "
              f"buffer values, {s['bytes_float32'] / 1e6:.2f} MB float32")
