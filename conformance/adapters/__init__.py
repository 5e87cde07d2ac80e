"""Implementations behind one adapter protocol (`conformance.adapters.protocol`), so the
implementation checks run on any of them:

- `reference_adapter`: this package's reference model;
- `transformers_adapter`: transformers' `EncodecModel` (`adapter.model`);
- `encodec_adapter`: the original `encodec` package's `EncodecModel` (`adapter.model`);
- `fast_adapter`, `fast_bf16_adapter`: the reference's fast inference path in float32 and in
  bfloat16 (check the latter with the `bf16` tolerance).

    pytest --encodec-impl conformance.adapters:transformers_adapter
"""

from conformance.adapters.encodec_package import encodec_adapter
from conformance.adapters.fast import fast_adapter, fast_bf16_adapter
from conformance.adapters.protocol import CodecAdapter, CodecWeights, Frames, load_factory
from conformance.adapters.reference import reference_adapter
from conformance.adapters.transformers import transformers_adapter

__all__ = ["CodecAdapter", "CodecWeights", "Frames", "encodec_adapter", "fast_adapter",
           "fast_bf16_adapter", "load_factory", "reference_adapter", "transformers_adapter"]
