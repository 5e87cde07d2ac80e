"""One test per audio file of a corpus (collected by the plugin when `--encodec-audio DIR` is
given with `--encodec-checkpoint`; `conformance/pytest_plugin.py` parametrizes
`encodec_audio_file`, the test ids being the files' paths relative to DIR).

Each test evaluates its file exactly as `validate CKPT --audio DIR` does (bounded memory,
every bandwidth) and fails when a metric is worse than the corpus's worst-5 % limit (the p05
/ p95 thresholds; `--encodec-audio-thresholds FILE` or the defaults of the checkpoint's
family), or when the decode holds NaN/inf, or coding raised. An unreadable file is a skip with
its reason. The file's record is attached to the test report as the user property
`encodec_record` (JSON), so `--junitxml` carries the numbers.
"""

from __future__ import annotations

import json

import pytest

from conformance.status import Status

pytestmark = pytest.mark.encodec_check


def test_audio_file(encodec_audio_file, record_property) -> None:
    """One file of the corpus: evaluated, then judged against the tail thresholds."""
    from conformance.corpus.runner import evaluate_file

    state, file = encodec_audio_file
    model, settings, thresholds = state()
    record = evaluate_file(model, file, settings)
    record_property("encodec_record", json.dumps(record, sort_keys=True, allow_nan=False))
    status = record["status"]
    if status in (Status.NOT_COMPUTED.value, Status.NOT_APPLICABLE.value):
        pytest.skip(f"{status}: {record['reason']}")
    if status == Status.ERROR.value:
        pytest.fail(f"{file.relative}: coding raised: {record['reason']}", pytrace=False)
    bad = [f"{bw} kbps: {v['nonfinite_samples']} NaN/inf samples"
           for bw, v in record["bandwidths"].items() if v["nonfinite_samples"]]
    outcomes = thresholds.judge_file(record)
    bad += [o["reason"] for o in outcomes if o["status"] == Status.FAILED.value]
    if bad:
        pytest.fail(f"{file.relative}: " + "; ".join(bad), pytrace=False)


class AudioState:
    """What every per-file test of one session shares, built on first use in each xdist
    worker: the checkpoint loaded once, the settings and the thresholds."""

    def __init__(self, checkpoint: str, thresholds: str | None, family: str | None) -> None:
        self.checkpoint, self.thresholds, self.family = checkpoint, thresholds, family
        self._built = None

    def __call__(self):
        if self._built is None:
            from conformance.checkpoints.load import load_checkpoint
            from conformance.cli.corpus_validate import corpus_thresholds
            from conformance.corpus.runner import CorpusSettings, threshold_family

            model = load_checkpoint(self.checkpoint).model
            settings = CorpusSettings().for_model(model)
            family, how = threshold_family(model.cfg, self.family)
            self._built = (model, settings, corpus_thresholds(self.thresholds, family, how))
        return self._built


def audio_cases(directory: str, checkpoint: str, thresholds: str | None,
                family: str | None) -> list[tuple[str, tuple[AudioState, object]]]:
    """(test id, (state, file)) for every audio file below `directory`, in path order."""
    from conformance.corpus.discover import list_corpus
    from conformance.errors import InvalidArgument

    try:
        files = list_corpus(directory).files
    except InvalidArgument as exc:
        raise pytest.UsageError(exc.message) from exc
    state = AudioState(checkpoint, thresholds, family)
    return [(f.relative, (state, f)) for f in files]
