"""Fixtures shared by the training tests: the reference audio and a tiny built corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance._data import reference_audio_dir
from conformance.training.corpus import CorpusSpec, build_corpus


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The bundled reference audio (the evaluation clips)."""
    return reference_audio_dir()


@pytest.fixture(scope="session")
def speech_clip(reference_dir: Path) -> Path:
    """An evaluation clip the corpus must never contain."""
    return reference_dir / "speech_female_16k_cmu_arctic_slt_a0009.wav"


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few seconds of synthesised music, all in the train split."""
    root = tmp_path_factory.mktemp("corpus")
    build_corpus(root, CorpusSpec(sources=("music",), music_minutes=0.05, valid_percent=0.0),
                 log=lambda msg: None)
    return root
