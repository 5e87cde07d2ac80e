"""What the training corpus must never contain: the evaluation clips.

`EvalExclusion` recognises an evaluation clip by name fragment, by file sha256 and by the sha256
of its decoded samples (so a re-encoding of a clip is caught too).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from conformance._data import reference_audio_dir
from conformance.errors import InvalidArgument
from conformance.fileio import sha256_bytes, sha256_file

__all__ = [
    "EVAL_NAMES",
    "EVAL_SHA256",
    "LICENSE_EXCLUDED",
    "EvalExclusion",
    "ExcludedClipError",
    "pcm_sha256",
]

#: sha256 of the vendored evaluation clips (also read from reference_audio/SHA256SUMS).
EVAL_SHA256 = frozenset({
    "03391e78b21b82f999f6cd89b30e648b95c9afa68b1536a2825241d277af8b6f",
    "8ba451538fc24990448dce87e90d078c28a150b757dcc13165c784bee9172b35",
    "198d856649b370c483609bdc61558e515c6349210e6dd755e975ab1d2e468936",
})
#: Name fragments of evaluation material: the vendored clips' sources and CMU ARCTIC a0007.
EVAL_NAMES = ("arctic_a0009", "arctic_a0007", "guit_em9", "guit_e_slide", "loop_tabla")
#: Left out for their license, not because they are evaluation material.
LICENSE_EXCLUDED = ("loop_amen",)


class ExcludedClipError(InvalidArgument):
    """A file that must not be in the training corpus (an evaluation clip or a copy of one)."""


def pcm_sha256(path: str | os.PathLike) -> str | None:
    """sha256 of the decoded 16-bit samples (frames x channels), or None if unreadable: the
    same audio in another container (WAV / FLAC / AIFF) hashes the same."""
    try:
        data, _ = sf.read(str(path), dtype="int16", always_2d=True)
    except (sf.LibsndfileError, RuntimeError):
        return None
    return sha256_bytes(np.ascontiguousarray(data).tobytes())


@dataclass
class EvalExclusion:
    """What the corpus must never contain: evaluation clips by name, file hash and PCM hash."""

    names: tuple[str, ...] = EVAL_NAMES
    file_sha256: frozenset[str] = EVAL_SHA256
    pcm_sha256: frozenset[str] = frozenset()

    @classmethod
    def from_reference_dir(cls, ref_dir: str | os.PathLike | None = None) -> EvalExclusion:
        """Built-in hashes plus `SHA256SUMS` and the decoded samples of every clip in ref_dir
        (default: the package's reference audio, `conformance._data.reference_audio_dir()`)."""
        ref = Path(ref_dir) if ref_dir is not None else reference_audio_dir()
        sums, pcm = set(EVAL_SHA256), set()
        if (ref / "SHA256SUMS").is_file():
            for line in (ref / "SHA256SUMS").read_text().splitlines():
                if line.strip():
                    sums.add(line.split()[0].lower())
        if ref.is_dir():
            for clip in sorted(ref.iterdir()):
                if clip.suffix.lower() in (".wav", ".flac"):
                    sums.add(sha256_file(clip))
                    h = pcm_sha256(clip)
                    if h:
                        pcm.add(h)
        return cls(file_sha256=frozenset(sums), pcm_sha256=frozenset(pcm))

    def check_name(self, name: str) -> None:
        low = Path(name).name.lower()
        for frag in self.names:
            if frag in low:
                raise ExcludedClipError(f"{name}: evaluation material ('{frag}'), never "
                                        "part of the training corpus")

    def check_file(self, path: str | os.PathLike, name: str | None = None) -> None:
        """Raise ExcludedClipError when `path` is (a copy of) an evaluation clip."""
        self.check_name(name or str(path))
        digest = sha256_file(path)
        if digest in self.file_sha256:
            raise ExcludedClipError(f"{path}: sha256 {digest[:16]}... is an evaluation clip "
                                    "(reference_audio/SHA256SUMS)")
        if self.pcm_sha256:
            pcm = pcm_sha256(path)
            if pcm in self.pcm_sha256:
                raise ExcludedClipError(f"{path}: its samples equal an evaluation clip's")
