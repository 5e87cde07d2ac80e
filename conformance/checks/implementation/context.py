"""What the implementation checks share for one golden family: the golden weights in every
format, the implementation's adapter (built once by the factory), the reference adapter, the
test signals, and every encode and decode computed once."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import torch

from conformance.adapters.protocol import (
    CodecWeights,
    Frames,
    adapter_name,
    declared_unsupported,
    load_factory,
)
from conformance.adapters.reference import ReferenceAdapter
from conformance.audio.clips import load_reference
from conformance.audio.signals import generate
from conformance.checkpoints.load import load_checkpoint
from conformance.checks.tolerance import Tolerance, get_tolerance
from conformance.errors import InvalidArgument
from conformance.fileio import owned_tempdir
from conformance.golden.bundle import FAMILIES, GoldenCheckpoint, golden_checkpoints
from conformance.model.config import EncodecConfig
from conformance.model.near_ties import CodeArbiter

__all__ = ["ImplementationContext", "first_overrun_length", "golden_weights", "overruns",
           "partial_chunks", "signal_names", "test_signal"]


def overruns(cfg: EncodecConfig, length: int) -> bool:
    """Whether an earlier chunk of a `length`-sample input, decoded to whole hops, ends after
    the last chunk (where the original package and transformers crash)."""
    seg, stride, hop = cfg.segment_length, cfg.segment_stride, cfg.hop_length
    if seg is None or length <= stride:
        return False
    starts = list(range(0, length, stride))
    ends = [s + math.ceil(min(seg, length - s) / hop) * hop for s in starts]
    return max(ends[:-1]) > ends[-1]


def partial_chunks(cfg: EncodecConfig, length: int) -> int:
    """How many chunks of a `length`-sample input are shorter than a segment (0 for a model
    that does not chunk)."""
    seg, stride = cfg.segment_length, cfg.segment_stride
    if seg is None:
        return 0
    return sum(1 for s in range(0, length, stride) if length - s < seg)


def first_overrun_length(cfg: EncodecConfig) -> int | None:
    """The shortest two-chunk input length that `overruns`, or None."""
    if cfg.segment_length is None:
        return None
    return next((n for n in range(cfg.segment_stride + 1,
                                  cfg.segment_stride + cfg.segment_length + 1)
                 if overruns(cfg, n)), None)


def signal_names(cfg: EncodecConfig) -> list[str]:
    """The signals the implementation checks run on, for a config."""
    names = ["speech", "music", "silence", "impulses", "clipping", "loud", "short",
             "odd_length", "long"]
    if first_overrun_length(cfg) is not None:
        names.append("chunk_overrun")
    if cfg.segment_length is not None and cfg.segment_stride < cfg.segment_length:
        names.append("partial_chunks")
    return names


def test_signal(cfg: EncodecConfig, name: str) -> torch.Tensor:
    """Signal `name` [C, T] at the config's rate and channels (deterministic)."""
    sr, ch, hop = cfg.sample_rate, cfg.channels, cfg.hop_length
    seconds = 1.5 if cfg.segment is not None else 1.0  # two chunks, the last one partial
    if name == "speech":
        return load_reference("speech_female_16k_cmu_arctic_slt_a0009", sr, ch)[
            :, int(0.4 * sr): int(0.4 * sr) + int(seconds * sr)].contiguous()
    if name == "music":
        return load_reference("music_guitar_em9_stereo_44k_sonicpi", sr, ch)[
            :, : int(seconds * sr)].contiguous()
    if name in ("silence", "impulses"):
        return generate(name, sr, ch)[:, : sr // 2].contiguous()
    if name == "clipping":
        return generate("clipping", sr, ch)[:, : sr // 2].contiguous()
    if name == "loud":  # 6 dB over full scale: valid input that must not be clamped
        speech = test_signal(cfg, "speech")[:, : sr // 2]
        return (speech * (2.0 / float(speech.abs().max()))).contiguous()
    if name == "long":  # three chunks or more (the third one partial), an odd length
        length = (2 * cfg.segment_stride + cfg.segment_length // 2 + 37
                  if cfg.segment_length is not None else int(2.5 * sr) + 37)
        speech = test_signal(cfg, "speech")
        return speech.repeat(1, -(-length // speech.shape[-1]))[:, :length].contiguous()
    if name == "partial_chunks":  # the last two chunks shorter than a segment, ragged
        length = 2 * cfg.segment_stride + 1
        speech = test_signal(cfg, "speech")
        return speech.repeat(1, -(-length // speech.shape[-1]))[:, :length].contiguous()
    if name == "short":
        return test_signal(cfg, "speech")[:, : max(2, hop - 7)].contiguous()
    if name == "odd_length":
        return test_signal(cfg, "speech")[:, : 13 * hop + 1].contiguous()
    if name == "chunk_overrun":
        length = first_overrun_length(cfg)
        speech = test_signal(cfg, "speech")
        reps = -(-length // speech.shape[-1])
        return speech.repeat(1, reps)[:, :length].contiguous()
    raise InvalidArgument(f"unknown test signal {name!r}; known: {signal_names(cfg)}")


def golden_weights(family: str, directory: str | Path | None = None) -> CodecWeights:
    """The bundled golden checkpoint of `family` as a `CodecWeights` (what a factory gets)."""
    found = {g.family: g for g in golden_checkpoints()}
    if family not in found:
        raise InvalidArgument(f"no golden checkpoint for {family!r}; known: {', '.join(found)}")
    loaded = load_checkpoint(found[family].checkpoint)
    return CodecWeights(family, loaded.config, loaded.state_dict,
                        directory=None if directory is None else Path(directory))


@dataclass
class ImplementationContext:
    """The implementation made by `factory` (`MODULE:FACTORY` or a callable) on one golden
    family, checked under `tolerance`."""

    family: str
    factory: Any
    tolerance: Tolerance | str = "fp32"
    workdir: Path | None = None
    #: whether an exception on an edge chunk layout (`checks.EDGE_LAYOUTS`) is an error
    strict_layouts: bool = False
    _frames: dict[tuple[str, str, float], Frames] = field(default_factory=dict, repr=False)
    _decodes: dict[tuple[str, str, float], torch.Tensor] = field(default_factory=dict,
                                                                 repr=False)

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise InvalidArgument(f"family {self.family!r}: choose one of {', '.join(FAMILIES)}")
        self.tolerance = get_tolerance(self.tolerance)

    @property
    def spec(self) -> str:
        """How the reproduction snippets name the factory."""
        if isinstance(self.factory, str):
            return self.factory
        return f"{self.factory.__module__}:{self.factory.__qualname__}"

    @cached_property
    def golden(self) -> GoldenCheckpoint:
        return {g.family: g for g in golden_checkpoints()}[self.family]

    @cached_property
    def weights(self) -> CodecWeights:
        """The golden weights; their files go to a private folder removed with the context."""
        return golden_weights(self.family, owned_tempdir(self, "encodec-impl-", self.workdir))

    @property
    def config(self) -> EncodecConfig:
        return self.weights.config

    @cached_property
    def reference(self) -> ReferenceAdapter:
        return ReferenceAdapter(load_checkpoint(self.golden.checkpoint).model)

    @cached_property
    def adapter(self) -> Any:
        """The implementation under test (an exception here fails every check with it)."""
        return load_factory(self.factory)(self.weights)

    @cached_property
    def name(self) -> str:
        return adapter_name(self.adapter)

    @cached_property
    def unsupported(self) -> dict[str, str]:
        return declared_unsupported(self.adapter)

    @cached_property
    def expected_failures(self) -> dict[str, str]:
        return dict(getattr(self.adapter, "expected_failures", None) or {})

    def arbiter(self, audio: str | torch.Tensor) -> CodeArbiter | None:
        """Judge of near-tie code differences on a signal (name) or audio [B, C, T], under
        this tolerance (None when the profile allows no ties)."""
        rtol = self.tolerance.code_tie_rtol
        if rtol is None:
            return None
        if not isinstance(audio, str):
            return CodeArbiter(self.reference.model, audio, rtol)
        cache = self.__dict__.setdefault("_arbiters", {})
        if audio not in cache:
            cache[audio] = CodeArbiter(self.reference.model, self.signal(audio)[None], rtol)
        return cache[audio]

    def signal(self, name: str) -> torch.Tensor:
        cache = self.__dict__.setdefault("_signals", {})
        if name not in cache:
            cache[name] = test_signal(self.config, name)
        return cache[name]

    # ------------------------------------------------------------------------ computations
    def encode(self, who: str, signal: str, bandwidth: float) -> Frames:
        """`who` ("impl" or "ref") encodes signal [1, C, T] at `bandwidth`, once."""
        key = (who, signal, float(bandwidth))
        if key not in self._frames:
            adapter = self.adapter if who == "impl" else self.reference
            audio = self.signal(signal)[None].clone()
            self._frames[key] = adapter.encode(audio, float(bandwidth))
        return self._frames[key]

    def decode(self, who: str, codes_of: str, signal: str, bandwidth: float) -> torch.Tensor:
        """`who` decodes the frames `codes_of` produced, once."""
        key = (who + "<" + codes_of, signal, float(bandwidth))
        if key not in self._decodes:
            adapter = self.adapter if who == "impl" else self.reference
            self._decodes[key] = adapter.decode(self.encode(codes_of, signal, bandwidth))
        return self._decodes[key]

    def call(self, what: str, signal: str, bandwidth: float | None = None) -> str:
        """A short description of the call, for observed/expected messages."""
        bw = "" if bandwidth is None else f", bandwidth={bandwidth:g}"
        n = self.signal(signal).shape[-1]
        return f"{self.name}.{what}({signal} [1, {self.config.channels}, {n}]{bw}) on the " \
               f"{self.family} golden weights"

    def reproduce(self, body: str, signal: str, bandwidth: float | None = None) -> str:
        """A snippet that rebuilds the implementation and the reference and runs `body`."""
        bw = self.config.bandwidths[-1] if bandwidth is None else bandwidth
        return (
            "from conformance.adapters import load_factory, reference_adapter\n"
            "from conformance.checks.implementation import golden_weights, test_signal\n"
            f"weights = golden_weights({self.family!r})\n"
            f"impl = load_factory({self.spec!r})(weights)\n"
            "ref = reference_adapter(weights)\n"
            f"audio = test_signal(weights.config, {signal!r})[None]\n"
            f"bandwidth = {bw:g}\n" + body)
