"""The reference EnCodec: config, presets, building blocks and the model."""

from conformance.errors import ConfigError, ModelInputError
from conformance.model.config import EncodecConfig, n_q_for_bandwidth
from conformance.model.encodec import EncodecModel, Encoded, EncodedChunk
from conformance.model.presets import PRESETS, get_preset

__all__ = ["ConfigError", "EncodecConfig", "Encoded", "EncodedChunk", "EncodecModel",
           "ModelInputError", "PRESETS", "get_preset", "n_q_for_bandwidth"]
