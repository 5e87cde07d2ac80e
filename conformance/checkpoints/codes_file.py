"""The codes file: an `Encoded` on disk (`.npz`, no pickle), as `encode` writes it and `decode`
reads it.

Arrays (format_version 1):

| array | shape | meaning |
|---|---|---|
| `codes` | [B, K, sum T_i] int64 | every chunk's codes, concatenated along time |
| `chunk_frames` | [n_chunks] int64 | frames T_i of each chunk |
| `chunk_lengths` | [n_chunks] int64 | input samples of each chunk |
| `scales` | [n_chunks, B, 1] float32, or [0] | each chunk's scale (renormalising models) |
| `length` | scalar | input samples |
| `sample_rate`, `channels`, `hop_length`, `n_q`, `bins` | scalar | the model the codes belong to |
| `bandwidth` | scalar | kbps, NaN when chosen by codebook count |
| `format_version` | scalar | 1 |

`read_codes` refuses (CodesFileError) a file that is not such an archive, lacks an array,
belongs to a model with another sample rate, hop or codebook size, or whose codes do not
match its chunk layout, before anything is decoded.
"""

from __future__ import annotations

import io
import math
import os
import zipfile
from pathlib import Path

import numpy as np
import torch

from conformance.errors import CodesFileError
from conformance.fileio import atomic_write_bytes
from conformance.model.encodec import EncodecModel, Encoded, EncodedChunk

__all__ = ["FORMAT_VERSION", "REQUIRED_ARRAYS", "read_codes", "write_codes"]

FORMAT_VERSION = 1
REQUIRED_ARRAYS = frozenset({"codes", "chunk_frames", "chunk_lengths", "scales", "length",
                             "sample_rate", "hop_length", "bins"})
#: A codes file larger than this is refused unread (an hour at 24 kbps is about 100 MB).
MAX_BYTES = 1 << 31


def write_codes(path: str | os.PathLike, encoded: Encoded, model: EncodecModel) -> Path:
    """Write `encoded` (from `model.encode`) to `path`, atomically."""
    scales = [c.scale for c in encoded.chunks]
    has_scales = all(s is not None for s in scales)
    arrays = {
        "codes": encoded.codes.cpu().numpy().astype(np.int64),
        "chunk_frames": np.array([c.codes.shape[-1] for c in encoded.chunks], dtype=np.int64),
        "chunk_lengths": np.array([c.length for c in encoded.chunks], dtype=np.int64),
        "scales": (np.stack([s.detach().cpu().float().numpy() for s in scales]) if has_scales
                   else np.zeros((0,), np.float32)),
        "length": np.array(encoded.length),
        "sample_rate": np.array(model.sample_rate),
        "channels": np.array(model.channels),
        "hop_length": np.array(model.hop_length),
        "n_q": np.array(encoded.n_q),
        "bins": np.array(model.bins),
        "bandwidth": np.array(np.nan if encoded.bandwidth is None else encoded.bandwidth),
        "format_version": np.array(FORMAT_VERSION),
    }

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)

    return atomic_write_bytes(path, write)


def _load_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CodesFileError(f"{path}: not readable ({exc.strerror or exc})") from exc
    if size > MAX_BYTES:
        raise CodesFileError(f"{path}: {size} bytes, larger than a codes file can be "
                             f"({MAX_BYTES} bytes)")
    try:
        data = path.read_bytes()
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise CodesFileError(f"{path} is not a readable codes file (an .npz written by "
                             f"`encode`): {exc}") from exc


def read_codes(path: str | os.PathLike, model: EncodecModel) -> Encoded:
    """The `Encoded` stored at `path`, checked against `model` (CodesFileError otherwise)."""
    path = Path(path)
    data = _load_arrays(path)
    missing = REQUIRED_ARRAYS - set(data)
    if missing:
        raise CodesFileError(f"{path} lacks {sorted(missing)}: not written by `encode`")
    for field_name, want in (("sample_rate", model.sample_rate),
                             ("hop_length", model.hop_length), ("bins", model.bins)):
        if data[field_name].shape != () or int(data[field_name]) != want:
            raise CodesFileError(f"{path} was encoded with {field_name}="
                                 f"{data[field_name].tolist()}, but this checkpoint has {want}")
    codes_np = data["codes"]
    if codes_np.dtype.kind not in "iu":
        raise CodesFileError(f"{path}: codes.dtype={codes_np.dtype}, but should be an integer "
                             "type")
    codes = torch.from_numpy(codes_np.astype(np.int64))
    frames = data["chunk_frames"].astype(np.int64).reshape(-1)
    lengths = data["chunk_lengths"].astype(np.int64).reshape(-1)
    bounds = np.cumsum([0, *frames.tolist()])
    if codes.dim() != 3 or len(frames) == 0 or bounds[-1] != codes.shape[-1] \
            or len(lengths) != len(frames) or (frames < 0).any():
        raise CodesFileError(f"{path}: codes.shape={tuple(codes.shape)} does not match the "
                             f"chunk frame counts {frames.tolist()} and lengths "
                             f"{lengths.tolist()}")
    scales = data["scales"]
    if scales.size and (scales.shape[0] != len(frames)
                        or not np.isfinite(scales).all()):
        raise CodesFileError(f"{path}: scales.shape={scales.shape} (or non-finite scales), "
                             f"but should hold one finite [B, 1] scale per chunk "
                             f"({len(frames)} chunks)")
    length = int(data["length"])
    if length < 1 or not math.isfinite(length):
        raise CodesFileError(f"{path}: length={length}, but should be a positive sample count")
    chunks = []
    for i in range(len(frames)):
        scale = torch.from_numpy(scales[i].astype(np.float32)) if scales.size else None
        chunks.append(EncodedChunk(codes[..., bounds[i]:bounds[i + 1]], scale, int(lengths[i])))
    bandwidth = float(data["bandwidth"]) if "bandwidth" in data else math.nan
    return Encoded(chunks=chunks, length=length, n_q=codes.shape[1],
                   bandwidth=None if math.isnan(bandwidth) else bandwidth,
                   sample_rate=model.sample_rate)
