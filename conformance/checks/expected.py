"""Expected failures as data: `check-id-pattern  reason` lines (a file given with
`--encodec-xfails` / `validate --xfails`) and an adapter's own `expected_failures`.

A pattern is matched against the full outcome id with two wildcards, `*` (any run of
characters) and `?` (one character); brackets are literal, since every case id has them: e.g.
`impl.codes[encodec_48khz-chunk_overrun-*]` or `audio.quality[*-1.5kbps]`. A pattern that is
a bare check id, or an area followed by `.*`, also matches every case of its checks. An
entry that matches nothing is reported, so stale entries are noticed.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from conformance.errors import InvalidArgument

__all__ = ["ExpectedFailures", "id_matches", "parse_xfails", "unmatched_entries"]


def id_matches(pattern: str, outcome_id: str) -> bool:
    """Whether `outcome_id` matches `pattern` (`*` and `?` are wildcards, brackets literal;
    a bare check id matches every case of that check)."""
    if pattern == outcome_id.split("[", 1)[0]:
        return True
    literal = "".join({"[": "[[]", "]": "[]]"}.get(ch, ch) for ch in pattern)
    return fnmatch.fnmatchcase(outcome_id, literal)


@dataclass
class ExpectedFailures:
    """Patterns with their reasons, and which of them matched something."""

    entries: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

    def add(self, entries: Mapping[str, str], source: str) -> None:
        for pattern, reason in entries.items():
            self.entries[pattern] = str(reason)
            self.sources[pattern] = source

    def match(self, outcome_id: str) -> str | None:
        """The reason of the first entry matching `outcome_id`, or None."""
        for pattern, reason in self.entries.items():
            if id_matches(pattern, outcome_id):
                self.used.add(pattern)
                return reason
        return None

    def unmatched(self) -> list[str]:
        """`pattern (source)` for every entry that matched no outcome."""
        return [f"{p} ({self.sources.get(p, '?')})" for p in self.entries if p not in self.used]


def unmatched_entries(tables: list[ExpectedFailures]) -> list[str]:
    """`pattern (source)` for every entry that matched no outcome in any of `tables` (one
    xfails file applies to every subject: an entry is stale only if no subject used it)."""
    used = {p for t in tables for p in t.used}
    return sorted({f"{p} ({t.sources.get(p, '?')})" for t in tables for p in t.entries
                   if p not in used})


def parse_xfails(path: str | Path) -> dict[str, str]:
    """`pattern  reason` per line; `#` starts a comment; a reason is required."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"{path}: expected-failures file not readable ({exc})") from exc
    out: dict[str, str] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        pattern, _, reason = line.partition(" ")
        if not reason.strip():
            raise InvalidArgument(f"{path}:{n}: {pattern!r} has no reason; expected "
                                  "'check-id-pattern  reason'")
        out[pattern] = reason.strip()
    return out
