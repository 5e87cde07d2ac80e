"""The corpus writer refuses to keep a file that is an evaluation clip."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf

from conformance.training.corpus.exclusion import EvalExclusion, ExcludedClipError
from conformance.training.corpus.spec import CorpusSpec
from conformance.training.corpus.writer import CorpusWriter


def test_corpus_builder_refuses_to_write_an_evaluation_clip(tmp_path: Path,
                                                             reference_dir: Path,
                                                             speech_clip: Path) -> None:
    w = CorpusWriter(tmp_path, CorpusSpec(), EvalExclusion.from_reference_dir(reference_dir),
                     lambda m: None)
    data, sr = sf.read(speech_clip, dtype="float64")
    with pytest.raises(ExcludedClipError):
        w.add("speech/copy.flac", data, sr, kind="speech", source="test", license="-",
              origin="copy")
    assert not (tmp_path / "speech/copy.flac").exists() and not w.entries
