"""The results file: JSON lines written as files finish, read back, resumed safely."""

from __future__ import annotations

import json

import pytest

from conformance.corpus.results import RESULTS_SCHEMA, ResultsFile, read_results, same_run
from conformance.errors import InvalidArgument


def _run(**changes):
    run = {"type": "run", "schema": RESULTS_SCHEMA, "schema_version": 1,
           "checkpoint": {"weights_sha256": "ab" * 32, "config": {"sample_rate": 24000}},
           "settings": {"bandwidths": [1.5], "metrics": ["si_sdr"]},
           "shard": {"index": 1, "count": 2}}
    run.update(changes)
    return run


def _rec(path, size=10, sha="s"):
    return {"type": "file", "path": path, "size": size, "sha256": sha, "status": "computed"}


def _current(*names):
    return {n: (10, "s") for n in names}


def test_records_are_appended_and_read_back(tmp_path):
    path = tmp_path / "r.jsonl"
    out = ResultsFile.open(path, _run(), resume=False, current=_current("a", "b"))
    out.write(_rec("a"))
    out.write(_rec("b"))
    out.finish()
    back = read_results(path)
    assert back.run == _run() and [r["path"] for r in back.records] == ["a", "b"]
    assert back.complete and back.end == {"type": "end", "files": 2}
    assert all(json.loads(line) for line in path.read_text().splitlines())


def test_an_existing_file_needs_resume(tmp_path):
    path = tmp_path / "r.jsonl"
    ResultsFile.open(path, _run(), resume=False, current={}).close()
    with pytest.raises(InvalidArgument, match="pass --resume"):
        ResultsFile.open(path, _run(), resume=False, current={})


def test_resume_keeps_finished_files_and_drops_a_partial_line_and_the_end(tmp_path):
    path = tmp_path / "r.jsonl"
    out = ResultsFile.open(path, _run(), resume=False, current=_current("a", "b", "c"))
    out.write(_rec("a"))
    out.write(_rec("b"))
    out.finish()
    with path.open("a") as f:
        f.write('{"type": "file", "path": "c", "si')  # killed in the middle of a write
    assert read_results(path).dropped_partial
    again = ResultsFile.open(path, _run(created="later"), resume=True,
                             current=_current("a", "b", "c"))
    assert sorted(again.done) == ["a", "b"] and again.dropped == []
    again.write(_rec("c"))
    again.finish()
    back = read_results(path)
    assert [r["path"] for r in back.records] == ["a", "b", "c"] and back.complete
    assert "created" not in back.run  # the original run line is kept


def test_resume_drops_records_of_changed_or_removed_files(tmp_path):
    path = tmp_path / "r.jsonl"
    out = ResultsFile.open(path, _run(), resume=False, current=_current("a", "b", "c"))
    for name in "abc":
        out.write(_rec(name))
    out.close()
    again = ResultsFile.open(path, _run(), resume=True,
                             current={"a": (10, "s"), "b": (11, "s"), "d": (10, "s")})
    assert sorted(again.done) == ["a"] and sorted(again.dropped) == ["b", "c"]
    again.close()
    assert [r["path"] for r in read_results(path).records] == ["a"]


def test_resume_refuses_another_run(tmp_path):
    path = tmp_path / "r.jsonl"
    ResultsFile.open(path, _run(), resume=False, current={}).close()
    other = _run(settings={"bandwidths": [3.0], "metrics": ["si_sdr"]})
    with pytest.raises(InvalidArgument, match="different run") as info:
        ResultsFile.open(path, other, resume=True, current={})
    assert "settings" in info.value.message
    assert same_run(_run(), _run(shard={"index": 2, "count": 2})) == ["shard"]
    assert same_run(_run(), _run(shard={"index": 2, "count": 2}), shard=False) == []


@pytest.mark.parametrize("text, match", [("", "not a corpus results file"),
                                         ("not json\n", "not a JSON object"),
                                         ('{"type": "file"}\n', "first line must be the run"),
                                         ('[1]\n', "expected an object")])
def test_other_files_are_refused(tmp_path, text, match):
    path = tmp_path / "r.jsonl"
    path.write_text(text)
    with pytest.raises(InvalidArgument, match=match):
        read_results(path)


def test_a_record_after_the_end_is_refused(tmp_path):
    path = tmp_path / "r.jsonl"
    lines = [_run(), {"type": "end", "files": 0}, _rec("a")]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    with pytest.raises(InvalidArgument, match="after the end line"):
        read_results(path)
