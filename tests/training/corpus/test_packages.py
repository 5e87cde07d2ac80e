"""The real-file sources: the Sonic Pi license parser and a directory of your own."""

from __future__ import annotations

import shutil
from pathlib import Path

import soundfile as sf

from conformance.training.corpus.build import build_corpus
from conformance.training.corpus.packages import sonic_pi_cc0
from conformance.training.corpus.spec import CorpusSpec


def test_sonic_pi_license_parser() -> None:
    text = ("Files: *\nCopyright: 2016 X\nLicense: MIT\n\n"
            "Files: etc/samples/a.flac\nCopyright: 2013 Someone\nSource: http://x\n"
            "License: CC0\n\nFiles: etc/samples/b.flac\nCopyright: 2014 Other\n"
            "License: CC-BY-SA-4.0\n")
    assert sonic_pi_cc0(text) == {"a.flac": "2013 Someone"}


def test_corpus_extra_dir_is_checked(tmp_path: Path, speech_clip: Path) -> None:
    extra = tmp_path / "mine"
    extra.mkdir()
    data, sr = sf.read(speech_clip, dtype="int16")
    sf.write(extra / "ok.wav", data[::-1].copy(), sr)
    shutil.copy(speech_clip, extra / "sneaky.wav")
    manifest = build_corpus(tmp_path / "c", CorpusSpec(sources=(), extra_dir=str(extra),
                                                       extra_license="CC0"), log=lambda m: None)
    assert [e["origin"] for e in manifest["files"]] == ["ok.wav"]
    assert manifest["files"][0]["license"] == "CC0"
    assert manifest["skipped"][0]["origin"] == "sneaky.wav"
