"""The evaluation clips are recognised by name, file hash and PCM hash."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import soundfile as sf

from conformance.training.corpus.exclusion import EvalExclusion, ExcludedClipError


def test_exclusion_refuses_evaluation_clips(tmp_path: Path, reference_dir: Path,
                                            speech_clip: Path) -> None:
    ex = EvalExclusion.from_reference_dir(reference_dir)
    with pytest.raises(ExcludedClipError, match="evaluation"):
        ex.check_file(speech_clip)
    renamed = tmp_path / "innocent.wav"  # same bytes, other name: caught by file sha256
    shutil.copy(speech_clip, renamed)
    with pytest.raises(ExcludedClipError, match="sha256"):
        ex.check_file(renamed)
    data, sr = sf.read(speech_clip, dtype="int16")  # same samples in FLAC: caught by PCM hash
    sf.write(tmp_path / "innocent.flac", data, sr, subtype="PCM_16")
    with pytest.raises(ExcludedClipError, match="samples"):
        ex.check_file(tmp_path / "innocent.flac")
    for name in ("arctic_a0007.wav", "guit_em9.flac", "x/loop_tabla.flac"):
        with pytest.raises(ExcludedClipError):
            ex.check_name(name)
    sf.write(tmp_path / "fine.flac", data[::-1].copy(), sr, subtype="PCM_16")
    ex.check_file(tmp_path / "fine.flac")  # other audio passes


def test_builtin_hashes_match_sha256sums(reference_dir: Path, speech_clip: Path) -> None:
    sums = {line.split()[0]
            for line in (reference_dir / "SHA256SUMS").read_text().splitlines() if line}
    assert EvalExclusion().file_sha256 <= sums | EvalExclusion().file_sha256
    assert speech_clip.is_file()
    assert EvalExclusion.from_reference_dir(reference_dir).file_sha256 >= sums
