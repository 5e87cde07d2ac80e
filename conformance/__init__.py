"""encodec-conformance: a reference EnCodec and the checks that prove other EnCodecs equal to it."""

from .config import ConfigError, EncodecConfig, n_q_for_bandwidth
from .model import EncodecModel, Encoded, EncodedChunk, InputError
from .presets import PRESETS, get_preset

__all__ = [
    "ConfigError",
    "EncodecConfig",
    "Encoded",
    "EncodedChunk",
    "EncodecModel",
    "InputError",
    "PRESETS",
    "get_preset",
    "n_q_for_bandwidth",
]
__version__ = "0.1.0"
