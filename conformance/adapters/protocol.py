"""The adapter protocol: how an EnCodec implementation is plugged into the implementation checks.

A *factory* (`MODULE:FACTORY`, e.g. `mypackage.codec:make_adapter`) is called once per golden
checkpoint with a `CodecWeights`: the family, the canonical config and the same weights
materialised in every format (an AudioCraft exported checkpoint, a transformers directory, an
original-package `.th`), so the implementation loads whichever it reads. It returns an adapter:

    class MyAdapter:
        sample_rate: int                       # e.g. 24000
        channels: int                          # 1 or 2
        def encode(self, audio, bandwidth_kbps):
            # audio: float32 [B, C, T]; returns one (codes, scale) per chunk, the original
            # package's convention: codes int64 [B, K, T_i], scale [B, 1] or None
            ...
        def decode(self, frames):              # -> float32 [B, C, T'] (not trimmed)
            ...
        # optional, each checked when present:
        #   def decode(self, frames, length=None)  -> trimmed to `length` samples when given
        #                                             (a padding mask, in transformers' terms)
        #   def forward(self, audio, bandwidth_kbps) -> [B, C, T], the input's length
        #   def decode_latents(self, latents)      -> latents [B, D, T] decoded, no quantizer
        #   unsupported: dict[str, str]            feature -> reason; features: "chunking",
        #                                          "batch", "decode_length", "forward",
        #                                          "decode_latents"
        #   expected_failures: dict[str, str]      check-id pattern -> reason (fnmatch)
        #   name: str

A feature the adapter declares unsupported makes its checks "not applicable" with that reason;
an optional method it does not have does the same. Nothing is ever skipped silently.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch

from conformance.errors import InvalidArgument
from conformance.fileio import owned_tempdir
from conformance.model.config import EncodecConfig

__all__ = ["FEATURES", "CodecAdapter", "CodecWeights", "Frames", "adapter_name",
           "declared_unsupported", "load_factory", "supports_decode_length"]

#: One (codes [B, K, T_i] int64, scale [B, 1] or None) per chunk.
Frames = list[tuple[torch.Tensor, torch.Tensor | None]]
#: What an adapter may declare unsupported.
FEATURES = frozenset({"chunking", "batch", "decode_length", "forward", "decode_latents"})


@runtime_checkable
class CodecAdapter(Protocol):
    """What the implementation checks call (see the module docstring for the optional parts)."""

    sample_rate: int
    channels: int

    def encode(self, audio: torch.Tensor, bandwidth_kbps: float) -> Frames: ...

    def decode(self, frames: Frames) -> torch.Tensor: ...


@dataclass
class CodecWeights:
    """One set of weights, as an implementation under test receives it.

    `state_dict` holds the canonical tensors (`encoder.model.0.conv.conv.weight_g`, ...);
    `path(fmt)` writes the weights in format `fmt` ("audiocraft", "hf" or "encodec") into
    `directory` on first use and returns where (a file, or the transformers directory).
    """

    family: str
    config: EncodecConfig
    state_dict: Mapping[str, torch.Tensor]
    directory: Path | None = None
    _paths: dict[str, Path] = field(default_factory=dict, repr=False)

    FORMATS = ("audiocraft", "hf", "encodec")

    def path(self, fmt: str) -> Path:
        """The weights in format `fmt`, written on first use."""
        if fmt not in self.FORMATS:
            raise InvalidArgument(f"format {fmt!r}: choose one of {', '.join(self.FORMATS)}")
        if fmt not in self._paths:
            from conformance.checkpoints.write import write_audiocraft, write_encodec, write_hf

            if self.directory is None:
                self.directory = owned_tempdir(self, "encodec-conformance-")
            base = Path(self.directory)
            if fmt == "audiocraft":
                self._paths[fmt] = write_audiocraft(base / f"{self.family}.th", self.config,
                                                    self.state_dict)
            elif fmt == "hf":
                write_hf(base / f"{self.family}-hf", self.config, self.state_dict)
                self._paths[fmt] = base / f"{self.family}-hf"
            else:
                self._paths[fmt] = write_encodec(base / f"{self.family}-original.th",
                                                 self.state_dict)
        return self._paths[fmt]

    @property
    def paths(self) -> dict[str, Path]:
        """Every format, written on first use."""
        return {fmt: self.path(fmt) for fmt in self.FORMATS}


def load_factory(spec: str | Callable[[CodecWeights], Any]) -> Callable[[CodecWeights], Any]:
    """The factory named by `MODULE:FACTORY` (or a callable, returned as is)."""
    if callable(spec):
        return spec
    module_name, sep, attr = str(spec).partition(":")
    if not sep or not module_name or not attr:
        raise InvalidArgument(f"--encodec-impl {spec!r}: expected MODULE:FACTORY, e.g. "
                              "conformance.adapters:transformers_adapter")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidArgument(f"--encodec-impl {spec!r}: cannot import {module_name!r} "
                              f"({exc})") from exc
    factory: Any = module
    for part in attr.split("."):
        factory = getattr(factory, part, None)
    if not callable(factory):
        raise InvalidArgument(f"--encodec-impl {spec!r}: {module_name} has no callable "
                              f"{attr!r}")
    return factory


def declared_unsupported(adapter: Any) -> dict[str, str]:
    """The features the adapter says it does not support, with the reasons."""
    declared = dict(getattr(adapter, "unsupported", None) or {})
    unknown = sorted(set(declared) - FEATURES)
    if unknown:
        raise InvalidArgument(f"adapter {adapter_name(adapter)!r} declares unknown "
                              f"unsupported feature(s) {unknown}; known: {sorted(FEATURES)}")
    return {k: str(v) for k, v in declared.items()}


def supports_decode_length(adapter: Any) -> bool:
    """Whether `adapter.decode` takes a `length` (the padding-mask path)."""
    try:
        return "length" in inspect.signature(adapter.decode).parameters
    except (TypeError, ValueError):
        return False


def adapter_name(adapter: Any) -> str:
    return str(getattr(adapter, "name", None) or type(adapter).__name__)
