"""Atomic writes (nothing half-written on failure, the usual file mode on success) and
temporary folders removed with their owner."""

from __future__ import annotations

import gc
import math
from pathlib import Path

import pytest
import torch

from conformance._data import reference_audio_dir
from conformance.audio.io import (
    atomic_write_bytes,
)
from conformance.fileio import owned_tempdir

REF = reference_audio_dir()


def _tone(seconds=1.0, sr=16000, amp=0.3, channels=1):
    t = torch.arange(int(seconds * sr)) / sr
    return (amp * torch.sin(2 * math.pi * 440 * t)).repeat(channels, 1)


def _db(x):
    return 20 * math.log10(x)


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")

    def broken(tmp):
        Path(tmp).write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write_bytes(target, broken)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_atomic_write_uses_the_usual_file_mode(tmp_path):
    import os

    umask = os.umask(0)
    os.umask(umask)
    path = atomic_write_bytes(tmp_path / "f.bin", lambda tmp: Path(tmp).write_bytes(b"x"))
    assert (path.stat().st_mode & 0o777) == (0o666 & ~umask)


def test_owned_tempdir_goes_with_its_owner(tmp_path):
    class Owner:
        pass

    owner = Owner()
    folder = owned_tempdir(owner, "owned-", tmp_path)
    (folder / "weights.th").write_bytes(b"x" * 10)
    assert folder.parent == tmp_path and folder.name.startswith("owned-")
    del owner
    gc.collect()
    assert not folder.exists()


def test_implementation_context_removes_its_weight_files(tmp_path):
    from conformance.checks.implementation.context import ImplementationContext

    ctx = ImplementationContext("encodec_24khz", "conformance.adapters:reference_adapter",
                                workdir=tmp_path)
    written = ctx.weights.path("audiocraft")
    assert written.is_file() and written.is_relative_to(tmp_path)
    del ctx
    gc.collect()
    assert list(tmp_path.iterdir()) == []
