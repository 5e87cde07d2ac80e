"""encodec-conformance: a reference EnCodec and the checks that prove other EnCodecs equal to it.

    from conformance import EncodecModel, get_preset, load_checkpoint

Subpackages: `model` (the reference EnCodec), `checkpoints` (reading, naming, inferring,
resolving, loading and writing checkpoints), `audio` (I/O, reference clips, signals), `quality`
(metrics and thresholds), `golden` (the bundled golden checkpoints and their checks),
`testing` (strategies, assertions, realistic weights, peer adapters), `training`, `cli`.
"""

__version__ = "0.2.0"

from conformance.checkpoints.load import LoadedCheckpoint, load_checkpoint  # noqa: E402
from conformance.errors import (  # noqa: E402
    CheckFailed,
    CheckpointError,
    ConfigError,
    ConformanceError,
    InvalidArgument,
    ModelInputError,
    RefusedInput,
)
from conformance.model.config import EncodecConfig, n_q_for_bandwidth  # noqa: E402
from conformance.model.encodec import EncodecModel, Encoded, EncodedChunk  # noqa: E402
from conformance.model.presets import PRESETS, get_preset  # noqa: E402
from conformance.status import Status  # noqa: E402

__all__ = [
    "PRESETS",
    "CheckFailed",
    "CheckpointError",
    "ConfigError",
    "ConformanceError",
    "EncodecConfig",
    "EncodecModel",
    "Encoded",
    "EncodedChunk",
    "InvalidArgument",
    "LoadedCheckpoint",
    "ModelInputError",
    "RefusedInput",
    "Status",
    "__version__",
    "get_preset",
    "load_checkpoint",
    "n_q_for_bandwidth",
]
