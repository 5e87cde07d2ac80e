"""What the checkpoint checks share: one checkpoint read, named, resolved and loaded once, each
stage's result or error kept, and the decodes of the reference clips computed once."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import torch

from conformance.audio.clips import reference_clip
from conformance.checkpoints.formats import RawCheckpoint, check_finite, read_checkpoint
from conformance.checkpoints.infer import infer_from_weights
from conformance.checkpoints.load import (
    build_model,
    check_layout,
    dead_shortcut_tensors,
    name_weights,
)
from conformance.checkpoints.naming import NamedWeights
from conformance.checkpoints.resolve import ResolvedConfig, resolve_config
from conformance.errors import ConformanceError
from conformance.fileio import owned_tempdir
from conformance.golden.runs import clip_audio, encode_decode
from conformance.model.config import EncodecConfig
from conformance.model.encodec import EncodecModel
from conformance.model.presets import PRESETS
from conformance.quality.thresholds import ThresholdSet

__all__ = ["AUDIO_CLIPS", "CLIP_SECONDS", "EXCERPT_SECONDS", "CheckpointContext", "Excerpt",
           "Stage", "released_family"]

#: The clips the audio checks decode (speech first: the thresholds are speech measures).
AUDIO_CLIPS: tuple[str, ...] = ("speech_female_16k_cmu_arctic_slt_a0009",
                                "speech_male_16k_cmu_arctic_awb_a0007",
                                "music_guitar_em9_stereo_44k_sonicpi",
                                "music_tabla_loop_44k_sonicpi")
#: Length each clip is cut to (the speech clips are 3-4 s; the music clips 10 s).
CLIP_SECONDS = 4.0
#: Length of the excerpts kept for the HTML report (`CheckpointContext.excerpt_seconds`).
EXCERPT_SECONDS = 2.5


@dataclass(frozen=True)
class Excerpt:
    """The same window of a reference clip (`input`) and of its decode at `bandwidth` kbps
    (`decode`), both [C, T] float32 at `sample_rate`, starting `start` seconds into the clip."""

    clip: str
    bandwidth: float
    sample_rate: int
    start: float
    input: torch.Tensor
    decode: torch.Tensor


def _loudest_start(wav: torch.Tensor, length: int) -> int:
    """The start of the `length`-sample window of `wav` [C, T] with the most energy (searched
    in steps of an eighth of the window)."""
    if wav.shape[-1] <= length:
        return 0
    energy = torch.cat([torch.zeros(1, dtype=torch.float64),
                        wav.double().pow(2).sum(0).cumsum(0)])
    starts = torch.arange(0, wav.shape[-1] - length + 1, max(1, length // 8))
    return int(starts[int((energy[starts + length] - energy[starts]).argmax())])


@dataclass
class Stage:
    """A loading step's result, or the error that stopped it."""

    value: Any = None
    error: ConformanceError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def released_family(cfg: EncodecConfig) -> str | None:
    """The released family whose preset equals `cfg` in every field (its name aside)."""
    for name, preset in PRESETS.items():
        if all(getattr(cfg, f) == getattr(preset, f) for f in cfg.to_dict() if f != "name"):
            return name
    return None


@dataclass
class CheckpointContext:
    """One checkpoint under validation.

    `source` is a path or a cached hub name; `format`, `config_path`, `preset` and `overrides`
    are the loading options; `thresholds` the set the audio checks use for `family` (None:
    metrics are reported without a verdict). Temporary files (conversions) go to `workdir`,
    never next to the checkpoint.
    """

    source: str
    format: str | None = None
    config_path: str | Path | None = None
    preset: str | None = None
    overrides: Mapping[str, Any] | None = None
    thresholds: ThresholdSet | None = None
    family: str | None = None
    label: str | None = None
    clip_seconds: float = CLIP_SECONDS
    workdir: Path | None = None
    ignore_dead_shortcuts: bool = True
    excerpt_seconds: float = 0.0
    _stages: dict[str, Stage] = field(default_factory=dict, repr=False)
    _decodes: dict[tuple[str, float], tuple[Any, torch.Tensor]] = field(default_factory=dict,
                                                                         repr=False)
    _excerpts: dict[tuple[str, float], Excerpt] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        """How reports and test ids name this checkpoint."""
        return self.label or Path(str(self.source)).name or str(self.source)

    # ---------------------------------------------------------------------------- stages
    def _stage(self, key: str, fn) -> Stage:
        if key not in self._stages:
            try:
                self._stages[key] = Stage(fn())
            except ConformanceError as exc:
                self._stages[key] = Stage(error=exc)
        return self._stages[key]

    def read(self) -> Stage:
        """Read (format detection, safe unpickling), without the finiteness check."""
        return self._stage("read", lambda: read_checkpoint(
            self.source, self.format, self.config_path, check_finite_values=False))

    def finite(self) -> Stage:
        raw: RawCheckpoint = self.read().value
        return self._stage("finite", lambda: check_finite(raw.state_dict, "the weights",
                                                          raw.path))

    def named(self) -> Stage:
        def run() -> tuple[NamedWeights, list[str]]:
            raw = self.read().value
            named = name_weights(raw, self.preset, self.overrides)
            dead = dead_shortcut_tensors(raw, named) if self.ignore_dead_shortcuts else []
            for key in dead:
                del named.state_dict[key]
            return named, dead
        return self._stage("named", run)

    def inferred(self) -> Stage:
        return self._stage("inferred", lambda: infer_from_weights(self.named().value[0]
                                                                  .state_dict))

    def resolved(self) -> Stage:
        raw = self.read().value
        return self._stage("resolved", lambda: resolve_config(
            self.inferred().value[0], raw.config, raw.config_kind, preset=self.preset,
            overrides=self.overrides, filename=Path(str(self.source)).name))

    def layout(self) -> Stage:
        cfg = self.resolved().value.config
        return self._stage("layout", lambda: check_layout(self.named().value[0], cfg,
                                                          source=str(self.source)))

    def model(self) -> Stage:
        def run() -> EncodecModel:
            return build_model(self.config, self.named().value[0].state_dict)
        return self._stage("model", run)

    def loaded(self) -> bool:
        """Whether every stage up to the built model succeeded."""
        for stage in (self.read, self.finite, self.named, self.inferred, self.resolved,
                      self.layout, self.model):
            if not stage().ok:
                return False
        return True

    def first_error(self) -> tuple[str, ConformanceError] | None:
        for name in ("read", "finite", "named", "inferred", "resolved", "layout", "model"):
            stage = getattr(self, name)()
            if not stage.ok:
                return name, stage.error
        return None

    @property
    def config(self) -> EncodecConfig:
        resolved: ResolvedConfig = self.resolved().value
        return resolved.config

    @property
    def threshold_family(self) -> str | None:
        """The family whose thresholds apply: the one given, else the released family whose
        preset this checkpoint's config equals."""
        return self.family or released_family(self.config)

    # ------------------------------------------------------------------------------ audio
    @cached_property
    def directory(self) -> Path:
        """A private temporary folder for conversions (removed by `close`, or with the
        context)."""
        return owned_tempdir(self, "encodec-validate-", self.workdir)

    def close(self) -> None:
        if "directory" in self.__dict__:
            shutil.rmtree(self.__dict__["directory"], ignore_errors=True)

    def clip(self, name: str) -> torch.Tensor:
        """Reference clip `name` at the model's rate and channels, cut to `clip_seconds`."""
        model = self.model().value
        seconds = self.clip_seconds if reference_clip(name).kind != "edge" else None
        return clip_audio(name, model, seconds)

    def decode(self, clip: str, bandwidth: float) -> tuple[Any, torch.Tensor]:
        """(codes, decode [C, T]) of `clip` at `bandwidth`, computed once."""
        key = (clip, float(bandwidth))
        if key not in self._decodes:
            self._decodes[key] = encode_decode(self.model().value, self.clip(clip),
                                               float(bandwidth))
        return self._decodes[key]

    def keep_excerpt(self, clip: str, bandwidth: float, wav: torch.Tensor,
                     decode: torch.Tensor) -> None:
        """Keep `excerpt_seconds` of `wav` and of its `decode` at `bandwidth` for the HTML
        report (nothing when `excerpt_seconds` is 0): the loudest window of the input, the
        same for every bandwidth of a clip. Memory stays bounded: one input window per clip
        and one decode window per (clip, bandwidth), copied out of the full signals."""
        key = (clip, float(bandwidth))
        if self.excerpt_seconds <= 0 or key in self._excerpts:
            return
        rate = self.config.sample_rate
        length = min(wav.shape[-1], max(1, int(round(self.excerpt_seconds * rate))))
        same = next((e for e in self._excerpts.values() if e.clip == clip), None)
        if same is not None:
            start, window = int(round(same.start * rate)), same.input
        else:
            start = _loudest_start(wav, length)
            window = wav[..., start:start + length].detach().float().cpu().clone()
        self._excerpts[key] = Excerpt(
            clip, float(bandwidth), rate, start / rate, window,
            decode[..., start:start + length].detach().float().cpu().clone())

    @property
    def excerpts(self) -> list[Excerpt]:
        """The kept excerpts, by clip (in `AUDIO_CLIPS` order) and bandwidth."""
        order = {c: i for i, c in enumerate(AUDIO_CLIPS)}
        return sorted(self._excerpts.values(),
                      key=lambda e: (order.get(e.clip, len(order)), e.clip, e.bandwidth))

    def edge_clip(self, signal: str) -> str:
        """The generated signal's clip name at this model's channel count."""
        suffix = "24k_mono" if self.config.channels == 1 else "48k_stereo"
        return f"{signal}_{suffix}"
