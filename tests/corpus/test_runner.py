"""Evaluating a corpus: one record per file, bad files reported and skipped, an interrupted
or killed run resumed to the same results, shards merged to the same numbers as one run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from conformance.corpus.aggregate import build_report, merge
from conformance.corpus.discover import CorpusFile, list_corpus
from conformance.corpus.results import read_results
from conformance.corpus.runner import (
    CorpusSettings,
    evaluate_file,
    resolve_device,
    run_corpus,
    threshold_family,
    weights_sha256,
)
from conformance.corpus.thresholds import default_thresholds
from conformance.errors import InvalidArgument
from conformance.model.presets import PRESETS
from tests.corpus.conftest import CAUSAL, write_checkpoint, write_wav

SETTINGS = CorpusSettings(metrics=("si_sdr", "mel_distance"))
CHECKPOINT = {"source": "small.th", "format": "audiocraft-exported", "sha256": None}


def _corpus(root):
    write_wav(root / "a.wav", 0.6, 24000, seed=1)
    write_wav(root / "speech" / "b.flac", 0.9, 16000, seed=2, format="FLAC")
    write_wav(root / "speech" / "c.wav", 0.4, 44100, channels=2, seed=3)
    write_wav(root / "music" / "d.wav", 1.1, 48000, channels=2, seed=4)
    write_wav(root / "music" / "e.ogg", 0.7, 24000, seed=5, format="OGG")
    write_wav(root / "z" / "f.wav", 0.3, 24000, seed=6)
    (root / "music" / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt " + b"\x00" * 40)
    (root / "speech" / "fake.mp3").write_text("this is not an mp3")
    (root / "notes.txt").write_text("transcripts")
    return root


def _strip(records):
    """Records without their timing, by path."""
    return {r["path"]: {k: v for k, v in r.items() if k != "seconds"} for r in records}


@pytest.fixture()
def corpus(tmp_path):
    return _corpus(tmp_path / "corpus")


def test_every_file_gets_a_record_and_bad_files_are_skipped(corpus, causal_model):
    result = run_corpus(corpus, causal_model, checkpoint=CHECKPOINT, settings=SETTINGS)
    records = {r["path"]: r for r in result.records}
    assert sorted(records) == ["a.wav", "music/corrupt.wav", "music/d.wav", "music/e.ogg",
                               "speech/b.flac", "speech/c.wav", "speech/fake.mp3", "z/f.wav"]
    assert result.listing.ignored == ["notes.txt"]
    for bad in ("music/corrupt.wav", "speech/fake.mp3"):
        assert records[bad]["status"] == "not_computed"
        assert records[bad]["skipped"] == "unreadable" and bad in records[bad]["reason"]
        assert str(corpus) not in records[bad]["reason"]  # named relative to the corpus
    good = records["speech/b.flac"]
    assert good["status"] == "computed" and good["duration"] == pytest.approx(0.9)
    assert good["conversion"]["from"] == {"sample_rate": 16000, "channels": 1}
    assert good["conversion"]["resampler"]["function"] == "torchaudio.functional.resample"
    assert records["a.wav"]["conversion"] is None
    assert records["speech/c.wav"]["conversion"]["remix"] == "mean of the channels"
    assert good["coding"]["strategy"] == "streaming"
    assert set(good["bandwidths"]) == {"0.9", "1.8"}
    assert set(good["bandwidths"]["0.9"]["metrics"]) == {"si_sdr", "mel_distance"}
    assert good["sha256"] == CorpusFile(corpus, "speech/b.flac", 0).sha256()
    assert all(isinstance(r["seconds"], float) for r in result.records)


def test_a_record_is_the_file_evaluated_whole_when_it_fits_one_window(tmp_path, causal_model):
    from conformance.audio.io import load_audio
    from conformance.golden.runs import encode_decode
    from conformance.quality.metrics import compute_metrics

    path = write_wav(tmp_path / "x.wav", 0.8, 24000, seed=9)
    rec = evaluate_file(causal_model, CorpusFile(tmp_path, "x.wav", path.stat().st_size),
                        SETTINGS.for_model(causal_model))
    wav, _ = load_audio(path)
    for bw in (0.9, 1.8):
        want = compute_metrics(wav, encode_decode(causal_model, wav, bw)[1], 24000,
                               ["si_sdr", "mel_distance"])
        got = rec["bandwidths"][f"{bw:g}"]["metrics"]
        for name, r in want.items():  # streamed coding: equal to float rounding
            assert got[name]["value"] == pytest.approx(r.value, rel=1e-4, abs=1e-4)


def test_conversion_off_marks_other_rates_not_applicable(corpus, causal_model):
    settings = CorpusSettings(metrics=("si_sdr",), convert=False)
    records = {r["path"]: r for r in run_corpus(corpus, causal_model, checkpoint=CHECKPOINT,
                                                 settings=settings).records}
    assert records["speech/b.flac"]["status"] == "not_applicable"
    assert records["speech/b.flac"]["skipped"] == "not_converted"
    assert records["a.wav"]["status"] == "computed"


def test_an_interrupted_run_resumes_to_the_uninterrupted_results(corpus, causal_model, tmp_path):
    whole = run_corpus(corpus, causal_model, checkpoint=CHECKPOINT, settings=SETTINGS,
                       jsonl=tmp_path / "whole.jsonl")
    seen = []

    def stop_after_three(rec):
        seen.append(rec["path"])
        if len(seen) == 3:
            raise KeyboardInterrupt

    out = tmp_path / "run.jsonl"
    with pytest.raises(KeyboardInterrupt):
        run_corpus(corpus, causal_model, checkpoint=CHECKPOINT, settings=SETTINGS, jsonl=out,
                   on_record=stop_after_three)
    assert len(read_results(out).records) == 3 and not read_results(out).complete
    redone = []
    again = run_corpus(corpus, causal_model, checkpoint=CHECKPOINT, settings=SETTINGS,
                       jsonl=out, resume=True, on_record=lambda r: redone.append(r["path"]))
    assert again.resumed == 3 and not set(redone) & set(seen)
    assert _strip(read_results(out).records) == _strip(whole.records)
    assert read_results(out).complete


KILLER = """
import os, signal, sys
import torch
torch.set_num_threads(1)  # as the test process: the same float rounding
from conformance.checkpoints.load import load_checkpoint
from conformance.corpus.runner import CorpusSettings, run_corpus
corpus, ckpt, out, k = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
done = []
def on_record(rec):
    done.append(rec)
    if len(done) == k:
        os.kill(os.getpid(), signal.SIGKILL)
run_corpus(corpus, load_checkpoint(ckpt).model, checkpoint={checkpoint!r},
           settings=CorpusSettings(metrics=("si_sdr", "mel_distance")), jsonl=out,
           on_record=on_record)
"""


def test_a_killed_run_resumes_to_the_uninterrupted_results(corpus, tmp_path):
    from conformance.checkpoints.load import load_checkpoint

    ckpt = write_checkpoint(tmp_path)
    model = load_checkpoint(ckpt).model
    whole = run_corpus(corpus, model, checkpoint=CHECKPOINT, settings=SETTINGS)
    out = tmp_path / "killed.jsonl"
    script = tmp_path / "killer.py"
    script.write_text(KILLER.format(checkpoint=CHECKPOINT))
    run = subprocess.run([sys.executable, str(script), str(corpus), str(ckpt), str(out), "4"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == -9, run.stderr[-2000:]  # SIGKILL: no cleanup ran
    killed = read_results(out)
    assert len(killed.records) == 4 and killed.end is None
    with out.open("a") as f:  # as if killed in the middle of the fifth write
        f.write('{"type": "file", "path": "z/f.wav", "sta')
    again = run_corpus(corpus, model, checkpoint=CHECKPOINT, settings=SETTINGS, jsonl=out,
                       resume=True)
    assert again.resumed == 4 and again.evaluated == 4
    assert _strip(read_results(out).records) == _strip(whole.records)


def test_resume_redoes_a_file_that_changed(corpus, causal_model, tmp_path):
    out = tmp_path / "r.jsonl"
    run_corpus(corpus, causal_model, checkpoint=CHECKPOINT, settings=SETTINGS, jsonl=out)
    write_wav(corpus / "a.wav", 0.6, 24000, seed=99)  # same size, other samples
    redone = []
    again = run_corpus(corpus, causal_model, checkpoint=CHECKPOINT, settings=SETTINGS,
                       jsonl=out, resume=True, on_record=lambda r: redone.append(r["path"]))
    assert redone == ["a.wav"] and again.dropped == ["a.wav"]


def test_shards_merge_to_the_numbers_of_one_run(tmp_path, causal_model):
    """>= 200 clips (the package's recordings cut up, and generated signals at four rates):
    two shards merged give exactly the statistics of one unsharded run."""
    from conformance.corpus.sample import write_sample_corpus

    root = tmp_path / "sample"
    assert len(write_sample_corpus(root, clip_seconds=0.25)) >= 200
    settings = CorpusSettings(metrics=("si_sdr", "mel_distance", "stoi"))
    paths = []
    for shard in ((1, 2), (2, 2)):
        paths.append(tmp_path / f"shard{shard[0]}.jsonl")
        run_corpus(root, causal_model, checkpoint=CHECKPOINT, settings=settings,
                   jsonl=paths[-1], shard=shard)
    sizes = [len(read_results(p).records) for p in paths]
    assert min(sizes) > 50  # a real split, not everything in one shard
    one = run_corpus(root, causal_model, checkpoint=CHECKPOINT, settings=settings,
                     jsonl=tmp_path / "one.jsonl")
    thresholds = default_thresholds("encodec_24khz", "golden")
    run, records, shards = merge(paths)
    merged = build_report(run, records, thresholds, shards=shards)
    single = build_report(one.run, one.records, thresholds, shards=[])
    assert merged["files"]["total"] == sum(sizes) == len(one.records) >= 200
    for key in ("statistics", "files", "thresholds", "verdict", "exit_code", "unreadable",
                "audio_seconds"):
        if key == "files":
            assert {k: v for k, v in merged[key].items() if k != "ignored"} == {
                k: v for k, v in single[key].items() if k != "ignored"}
        else:
            assert merged[key] == single[key], key
    assert _strip(records) == _strip(one.records)


def test_devices(monkeypatch):
    assert resolve_device(None) == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(InvalidArgument, match="no CUDA device"):
        resolve_device("cuda:0")
    with pytest.raises(InvalidArgument, match="expected cpu, cuda or cuda:N"):
        resolve_device("tpu")


def test_whose_thresholds_apply():
    from conformance._data import golden_dir
    from conformance.checkpoints.load import load_checkpoint

    golden = load_checkpoint(golden_dir() / "encodec_32khz.th").config
    assert threshold_family(golden) == ("encodec_32khz", "golden")
    assert threshold_family(PRESETS["encodec_24khz"]) == ("encodec_24khz", "released")
    assert threshold_family(CAUSAL) == (None, "none")
    assert threshold_family(CAUSAL, "encodec_24khz") == ("encodec_24khz", "golden")


def test_the_weights_digest_follows_the_values_not_the_file(causal_model, tmp_path):
    from conformance.checkpoints.load import load_checkpoint
    from conformance.checkpoints.write import write_hf

    write_hf(tmp_path / "hf", CAUSAL, causal_model.state_dict())
    assert weights_sha256(load_checkpoint(tmp_path / "hf").model) == weights_sha256(causal_model)
    other = load_checkpoint(write_checkpoint(tmp_path, seed=4)).model
    assert weights_sha256(other) != weights_sha256(causal_model)


def test_the_results_are_json_lines(corpus, causal_model, tmp_path):
    out = tmp_path / "r.jsonl"
    run_corpus(corpus, causal_model, checkpoint=CHECKPOINT, settings=SETTINGS, jsonl=out)
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["type"] for x in lines] == ["run"] + ["file"] * 8 + ["end"]
    assert lines[0]["settings"]["bandwidths"] == [0.9, 1.8]
    assert len(list_corpus(corpus).files) == 8
