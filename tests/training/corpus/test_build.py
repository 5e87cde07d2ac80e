"""Building and verifying a corpus: seeded and documented in its manifest."""

from __future__ import annotations

import json
from pathlib import Path

from conformance.training.corpus.build import build_corpus, verify_corpus
from conformance.training.corpus.spec import CorpusSpec


def test_corpus_build_is_seeded_and_documented(tiny_corpus: Path, tmp_path: Path) -> None:
    manifest = json.loads((tiny_corpus / "manifest.json").read_text())
    assert manifest["files"] and manifest["spec"]["seed"] == 0
    entry = manifest["files"][0]
    for key in ("file", "source", "license", "duration", "sha256", "kind", "split"):
        assert key in entry
    assert entry["channels"] == 2 and entry["sample_rate"] == 48000
    assert verify_corpus(tiny_corpus) == len(manifest["files"])
    again = build_corpus(tmp_path / "again", CorpusSpec(sources=("music",), music_minutes=0.05,
                                                        valid_percent=0.0), log=lambda m: None)
    assert [e["sha256"] for e in again["files"]] == [e["sha256"] for e in manifest["files"]]
