"""Media embedded in the HTML report as data: URIs, so the page needs no other file and no
network.

- Figures: WebP at quality `WEBP_QUALITY` (about a fifth of the PNG's size for a spectrogram,
  text still crisp), or PNG where Pillow was built without WebP.
- Audio: Ogg Vorbis at VBR quality `VORBIS_QUALITY` (transparent next to the codec's own
  artefacts, about a third of FLAC's size), or 16-bit FLAC where libsndfile has no Vorbis.
  Samples are written as they are (no normalisation: levels are part of what is heard),
  clipped to [-1, 1].
"""

from __future__ import annotations

import base64
import io
from typing import Any

import torch

from conformance.errors import InvalidArgument

__all__ = ["VORBIS_QUALITY", "WEBP_QUALITY", "audio_bytes", "audio_data_uri", "data_uri",
           "figure_bytes", "figure_data_uri"]

#: WebP quality (0-100) of the embedded figures.
WEBP_QUALITY = 85
#: Ogg Vorbis VBR quality (0-1) of the embedded audio.
VORBIS_QUALITY = 0.5


def data_uri(data: bytes, mime: str) -> str:
    """`data:<mime>;base64,...`."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _webp_supported() -> bool:
    from PIL import features

    return bool(features.check("webp"))


def figure_bytes(fig: Any) -> tuple[bytes, str]:
    """(`fig` rendered as WebP, or PNG without WebP support, its MIME type). The figure is a
    matplotlib Figure from `conformance.reporting.plots`."""
    from conformance.reporting.plots import figure_png

    if not _webp_supported():
        return figure_png(fig), "image/png"
    buf = io.BytesIO()
    fig.savefig(buf, format="webp", dpi=fig.dpi,
                pil_kwargs={"quality": WEBP_QUALITY, "method": 6})
    return buf.getvalue(), "image/webp"


def figure_data_uri(fig: Any) -> str:
    """`fig` as a data: URI (see `figure_bytes`)."""
    return data_uri(*figure_bytes(fig))


def audio_bytes(wav: torch.Tensor, sample_rate: int) -> tuple[bytes, str]:
    """(`wav` [T] or [C, T] encoded as Ogg Vorbis, or FLAC without Vorbis support, its MIME
    type)."""
    import soundfile

    x = torch.as_tensor(wav).detach().float().cpu()
    if x.dim() == 1:
        x = x[None]
    if x.dim() != 2 or x.shape[-1] == 0:
        raise InvalidArgument(f"audio of shape {tuple(x.shape)}: expected [T] or [C, T] with "
                              "at least one sample")
    if not bool(torch.isfinite(x).all()):
        raise InvalidArgument("audio contains NaN or infinite samples: an excerpt needs finite "
                              "samples")
    data = x.clamp(-1.0, 1.0).numpy().T
    buf = io.BytesIO()
    if "VORBIS" in soundfile.available_subtypes("OGG"):
        soundfile.write(buf, data, int(sample_rate), format="OGG", subtype="VORBIS",
                        compression_level=1.0 - VORBIS_QUALITY)
        return buf.getvalue(), "audio/ogg"
    soundfile.write(buf, data, int(sample_rate), format="FLAC", subtype="PCM_16")
    return buf.getvalue(), "audio/flac"


def audio_data_uri(wav: torch.Tensor, sample_rate: int) -> str:
    """`wav` as a data: URI (see `audio_bytes`)."""
    return data_uri(*audio_bytes(wav, sample_rate))
