"""The sample corpus: the package's recordings cut into clips and the generated signals at
several rates, at least 200 files, the same samples every time."""

from __future__ import annotations

import soundfile as sf

from conformance.corpus.sample import write_long_signal, write_sample_corpus
from conformance.fileio import sha256_file


def test_the_sample_corpus_has_200_clips_of_every_kind(tmp_path):
    files = write_sample_corpus(tmp_path, clip_seconds=0.25, long_clips=100)
    assert len(files) >= 200
    kinds = {f.relative_to(tmp_path).parts[0] for f in files}
    assert kinds == {"speech", "music", "signals", "long"}
    rates = {sf.info(str(f)).samplerate for f in files}
    assert {16000, 24000, 44100, 48000} <= rates
    speech = [f for f in files if f.parts[-2] == "speech"]
    assert all(abs(sf.info(str(f)).duration - 0.25) < 1e-3 for f in speech)
    assert {sf.info(str(f)).channels for f in files} == {1, 2}


def test_the_same_arguments_write_the_same_samples(tmp_path):
    a = write_sample_corpus(tmp_path / "a", clip_seconds=0.5, rates=(24000,), long_clips=3)
    b = write_sample_corpus(tmp_path / "b", clip_seconds=0.5, rates=(24000,), long_clips=3)
    assert [f.relative_to(tmp_path / "a") for f in a] == [f.relative_to(tmp_path / "b")
                                                          for f in b]
    assert [sha256_file(f) for f in a] == [sha256_file(f) for f in b]


def test_a_long_signal_is_written_to_the_requested_length(tmp_path):
    path = write_long_signal(tmp_path / "long.wav", 130.5, sample_rate=8000, channels=2)
    info = sf.info(str(path))
    assert (info.frames, info.samplerate, info.channels) == (130.5 * 8000, 8000, 2)
    assert info.subtype == "PCM_16"
