"""The corpus report as an HTML page: verdict, thresholds, statistics, skipped files, all
escaped."""

from __future__ import annotations

from conformance.corpus.aggregate import build_report
from conformance.corpus.html import render_html, write_html
from conformance.corpus.thresholds import CorpusThreshold, CorpusThresholds
from tests.corpus.test_aggregate import RUN, _rec


def _report():
    records = [_rec("good.wav", 0.9), _rec("<script>x</script>.wav", 0.1),
               _rec("broken.wav", 0, status="not_computed")]
    t = CorpusThresholds("t", "encodec_24khz", (CorpusThreshold(6.0, "stoi", "p05",
                                                                minimum=0.5, source="test"),))
    return build_report(RUN, records, t, shards=[])


def test_the_page_shows_the_verdict_statistics_and_skipped_files():
    page = render_html(_report())
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert 'class="verdict not_conformant"' in page
    assert "p05" in page and "stoi" in page and "broken.wav" in page
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;.wav" in page


def test_the_page_is_written_atomically(tmp_path):
    path = write_html(tmp_path / "out" / "corpus.html", _report())
    assert path.read_text().count("<h2>") >= 4
    assert [p.name for p in path.parent.iterdir()] == ["corpus.html"]
