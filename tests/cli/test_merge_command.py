"""`merge-reports`: shard results into one corpus report, with the CLI's exit codes."""

from __future__ import annotations

import json

import pytest

from conformance.cli.main import main
from conformance.corpus.aggregate import validate_report
from tests.corpus.conftest import write_checkpoint, write_wav

FAST = ["--metric", "si_sdr", "--metric", "mel_distance"]


@pytest.fixture()
def shards(tmp_path):
    corpus = tmp_path / "corpus"
    for i in range(8):
        write_wav(corpus / f"clip{i}.wav", 0.3 + 0.05 * i, 24000, seed=i)
    (corpus / "zz_broken.wav").write_text("no")
    ckpt = write_checkpoint(tmp_path)
    paths = []
    for i in (1, 2, 3):
        paths.append(tmp_path / f"s{i}.jsonl")
        assert main(["validate", str(ckpt), "--audio", str(corpus), "--shard", f"{i}/3",
                     "--jsonl", str(paths[-1]), *FAST]) == 0
    assert main(["validate", str(ckpt), "--audio", str(corpus), "--jsonl",
                 str(tmp_path / "one.jsonl"), "--json", str(tmp_path / "one.json"),
                 *FAST]) == 0
    return paths, tmp_path


def test_merged_shards_report_what_one_run_reports(shards, capsys):
    paths, tmp = shards
    capsys.readouterr()
    out = tmp / "merged.json"
    assert main(["merge-reports", *map(str, paths), "--json", str(out), "--html",
                 str(tmp / "merged.html")]) == 0
    merged, one = json.loads(out.read_text()), json.loads((tmp / "one.json").read_text())
    validate_report(merged)
    assert merged["statistics"] == one["statistics"]
    assert merged["files"] == one["files"] and merged["files"]["total"] == 9
    assert merged["unreadable"] == one["unreadable"] == [
        {"path": "zz_broken.wav", "reason": merged["unreadable"][0]["reason"],
         "skipped": "unreadable"}]
    assert [s["index"] for s in merged["shards"]] == [1, 2, 3]
    assert "corpus: 9 file(s)" in capsys.readouterr().out
    assert (tmp / "merged.html").read_text().startswith("<!DOCTYPE html>")


def test_thresholds_and_family_at_merge_time(shards, capsys):
    paths, tmp = shards
    strict = tmp / "t.json"
    strict.write_text(json.dumps([{"bandwidth_kbps": 1.8, "metric": "mel_distance",
                                   "statistic": "p95", "maximum": 1e-6}]))
    assert main(["merge-reports", *map(str, paths), "--json", str(tmp / "m.json"),
                 "--thresholds", str(strict)]) == 1
    report = json.loads((tmp / "m.json").read_text())
    assert report["verdict"] == "not_conformant"
    assert report["thresholds"]["outcomes"][0]["status"] == "failed"
    assert main(["merge-reports", *map(str, paths), "--json", str(tmp / "g.json"),
                 "--family", "encodec_24khz"]) in (0, 1)
    assert json.loads((tmp / "g.json").read_text())["thresholds"]["family"] == "encodec_24khz"


def test_a_missing_or_unfinished_shard_is_refused(shards, capsys):
    paths, tmp = shards
    assert main(["merge-reports", str(paths[0]), str(paths[2]), "--json",
                 str(tmp / "m.json")]) == 2
    err = capsys.readouterr().err
    assert "every shard 1..3 exactly once" in err and "missing: 2/3" in err
    lines = paths[1].read_text().splitlines()
    paths[1].write_text("\n".join(lines[:-1]) + "\n")  # drop the end line
    assert main(["merge-reports", *map(str, paths), "--json", str(tmp / "m.json")]) == 2
    assert "unfinished run" in capsys.readouterr().err
    assert not (tmp / "m.json").exists()


def test_json_is_required():
    with pytest.raises(SystemExit) as info:
        main(["merge-reports", "a.jsonl"])
    assert info.value.code == 2
