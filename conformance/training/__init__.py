"""Training small golden EnCodec checkpoints: corpus, data, losses, discriminator, training VQ.

The trained model is always a plain reference `conformance.model.EncodecModel`; everything the
training needs beyond it (EMA codebook state) lives in the model's own quantizer buffers, so its
state dict loads strictly wherever a released checkpoint does.
"""

from __future__ import annotations

__all__: list[str] = []
