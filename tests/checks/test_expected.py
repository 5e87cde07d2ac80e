"""Expected-failure files: fnmatch patterns with a reason; unmatched entries are reported."""

from __future__ import annotations

import pytest

from conformance.checks.expected import ExpectedFailures, parse_xfails
from conformance.errors import InvalidArgument


def test_patterns_match_full_ids_and_a_bare_check_id_matches_every_case():
    xf = ExpectedFailures()
    xf.add({"impl.codes[encodec_48khz-chunk_overrun-*]": "known chunking limit",
            "audio.ladder": "a custom ladder", "never.used": "stale"}, "xf.txt")
    assert xf.match("impl.codes[encodec_48khz-chunk_overrun-6kbps]") == "known chunking limit"
    assert xf.match("impl.codes[encodec_24khz-chunk_overrun-6kbps]") is None
    assert xf.match("audio.ladder[clip-3kbps]") == "a custom ladder"
    assert xf.match("audio.ladder") == "a custom ladder"
    assert xf.match("audio.quality[clip-3kbps]") is None
    assert xf.unmatched() == ["never.used (xf.txt)"]


def test_a_file_is_parsed_with_comments_and_reasons(tmp_path):
    path = tmp_path / "xfails.txt"
    path.write_text("# known gaps\n\nimpl.stereo   our port is mono only  # for now\n"
                    "audio.quality[*-1.5kbps] too low a rate for this model\n")
    assert parse_xfails(path) == {"impl.stereo": "our port is mono only",
                                  "audio.quality[*-1.5kbps]": "too low a rate for this model"}


def test_an_entry_without_a_reason_is_refused_with_its_line(tmp_path):
    path = tmp_path / "xfails.txt"
    path.write_text("impl.codes  fine\nimpl.decode\n")
    with pytest.raises(InvalidArgument, match=r"xfails.txt:2: 'impl.decode' has no reason"):
        parse_xfails(path)


def test_an_unreadable_file_is_named(tmp_path):
    with pytest.raises(InvalidArgument, match="expected-failures file not readable"):
        parse_xfails(tmp_path / "missing.txt")
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(InvalidArgument, match="not readable"):
        parse_xfails(tmp_path / "bin.txt")
