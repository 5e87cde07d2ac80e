"""The checkpoint checks: `load.*`, `config.*`, `codebook.*`, `peers.*`, `roundtrip.*` and
`audio.*` (each module registers its checks; `conformance.checks.registry.AREAS` orders them)."""

from conformance.checks.checkpoint import audio, codebook, config, load, peers, roundtrip
from conformance.checks.checkpoint.context import CheckpointContext

__all__ = ["CheckpointContext", "audio", "codebook", "config", "load", "peers", "roundtrip"]
