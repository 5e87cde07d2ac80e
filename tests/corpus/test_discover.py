"""Listing a corpus recursively, and the hash split into shards."""

from __future__ import annotations

import pytest

from conformance.corpus.discover import (
    audio_extensions,
    list_corpus,
    parse_shard,
    select_shard,
    shard_of,
)
from conformance.errors import InvalidArgument
from tests.corpus.conftest import write_wav


def test_audio_files_are_listed_recursively_by_relative_path(tmp_path):
    write_wav(tmp_path / "b.wav", 0.1)
    write_wav(tmp_path / "sub" / "deeper" / "a.flac", 0.1, format="FLAC")
    write_wav(tmp_path / "A.WAV", 0.1)
    (tmp_path / "notes.txt").write_text("not audio")
    (tmp_path / ".hidden.wav").write_bytes(b"x")
    (tmp_path / ".git").mkdir()
    write_wav(tmp_path / ".git" / "c.wav", 0.1)
    listing = list_corpus(tmp_path)
    assert [f.relative for f in listing.files] == ["A.WAV", "b.wav", "sub/deeper/a.flac"]
    assert listing.ignored == ["notes.txt"]
    assert listing.files[2].path == tmp_path / "sub" / "deeper" / "a.flac"
    assert listing.files[1].size == (tmp_path / "b.wav").stat().st_size


def test_the_installed_libsndfile_reads_the_four_formats():
    assert {".wav", ".flac", ".ogg", ".mp3"} <= set(audio_extensions())


def test_a_missing_directory_is_refused(tmp_path):
    with pytest.raises(InvalidArgument, match="not a directory"):
        list_corpus(tmp_path / "nope")


def test_every_file_is_in_exactly_one_shard():
    paths = [f"dir{i % 7}/clip_{i:04d}.wav" for i in range(500)]
    for count in (1, 2, 3, 8):
        shards = [shard_of(p, count) for p in paths]
        assert set(shards) <= set(range(1, count + 1))
        if count > 1:  # a hash split: every shard gets a fair share
            assert min(shards.count(i) for i in range(1, count + 1)) > 500 / count / 2


def test_adding_files_moves_no_file_to_another_shard(tmp_path):
    for i in range(20):
        write_wav(tmp_path / f"c{i:02d}.wav", 0.05)
    before = {f.relative: shard_of(f.relative, 4) for f in list_corpus(tmp_path).files}
    for i in range(20, 40):
        write_wav(tmp_path / f"c{i:02d}.wav", 0.05)
    after = {f.relative: shard_of(f.relative, 4) for f in list_corpus(tmp_path).files}
    assert all(after[p] == s for p, s in before.items())
    files = list_corpus(tmp_path).files
    parts = [select_shard(files, i, 4) for i in range(1, 5)]
    assert sorted(f.relative for part in parts for f in part) == [f.relative for f in files]


def test_the_split_is_the_documented_hash():
    import hashlib

    digest = hashlib.sha256(b"speech/a.wav").digest()
    assert shard_of("speech/a.wav", 5) == int.from_bytes(digest[:8], "big") % 5 + 1


@pytest.mark.parametrize("text, expected", [("1/2", (1, 2)), (" 3 / 3 ", (3, 3))])
def test_shard_arguments(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0", ""])
def test_bad_shard_arguments_are_refused(text):
    with pytest.raises(InvalidArgument, match="--shard"):
        parse_shard(text)
