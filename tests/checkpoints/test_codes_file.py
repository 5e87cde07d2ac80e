"""The codes file: an Encoded round-trips exactly, and a file that is not one, or belongs to
another model, is refused before anything is decoded."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conformance.checkpoints.codes_file import read_codes, write_codes
from conformance.errors import CodesFileError
from conformance.testing.weights import random_model
from tests.configs import CHUNKED_48, LADDER_24
from tests.helpers import signal


@pytest.mark.parametrize("cfg", [LADDER_24, CHUNKED_48], ids=["24khz", "48khz-chunked"])
def test_round_trip_is_exact(cfg, tmp_path, no_grad):
    model = random_model(cfg, seed=2)
    enc = model.encode(signal(2, cfg.channels, 3 * cfg.hop_length * 7 + 5), cfg.bandwidths[-1])
    path = write_codes(tmp_path / "c.npz", enc, model)
    back = read_codes(path, model)
    assert back.length == enc.length and back.n_q == enc.n_q
    assert back.bandwidth == enc.bandwidth and len(back.chunks) == len(enc.chunks)
    for a, b in zip(back.chunks, enc.chunks):
        assert torch.equal(a.codes, b.codes) and a.length == b.length
        assert (a.scale is None) == (b.scale is None)
        if a.scale is not None:
            assert torch.equal(a.scale, b.scale.float())
    assert torch.equal(model.decode(back), model.decode(enc))


def _arrays(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


@pytest.fixture()
def written(tmp_path):
    model = random_model(LADDER_24, seed=2)
    with torch.no_grad():
        enc = model.encode(signal(1, 1, 4000), 3.0)
    return write_codes(tmp_path / "c.npz", enc, model), model


@pytest.mark.parametrize(("change", "match"), [
    ({"sample_rate": np.array(16000)}, "sample_rate=16000, but this checkpoint has 24000"),
    ({"bins": np.array(2048)}, "bins=2048"),
    ({"chunk_frames": np.array([3])}, "does not match the chunk frame counts"),
    ({"codes": np.zeros((1, 4, 13), dtype=np.float32)}, "should be an integer type"),
    ({"length": np.array(0)}, "positive sample count"),
])
def test_inconsistent_files_are_refused(written, change, match, tmp_path):
    path, model = written
    arrays = {**_arrays(path), **change}
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(CodesFileError, match=match):
        read_codes(bad, model)


def test_missing_arrays_and_non_archives_are_refused(written, tmp_path):
    path, model = written
    arrays = _arrays(path)
    del arrays["chunk_lengths"]
    np.savez(tmp_path / "partial.npz", **arrays)
    with pytest.raises(CodesFileError, match=r"lacks \['chunk_lengths'\]"):
        read_codes(tmp_path / "partial.npz", model)
    (tmp_path / "text.npz").write_text("not an archive")
    with pytest.raises(CodesFileError, match="not a readable codes file"):
        read_codes(tmp_path / "text.npz", model)
    with pytest.raises(CodesFileError, match="not readable"):
        read_codes(tmp_path / "absent.npz", model)


def test_object_arrays_are_never_unpickled(written, tmp_path):
    path, model = written
    arrays = _arrays(path)
    arrays["codes"] = np.array([object()], dtype=object)
    np.savez(tmp_path / "pickled.npz", **arrays)
    with pytest.raises(CodesFileError, match="not a readable codes file"):
        read_codes(tmp_path / "pickled.npz", model)
