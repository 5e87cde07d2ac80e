"""Expected failures as data: `check-id-pattern  reason` lines (a file given with
`--encodec-xfails` / `validate --xfails`) and an adapter's own `expected_failures`.

A pattern is matched with `fnmatch` against the full outcome id, e.g.
`impl.codes[encodec_48khz-chunk_overrun-*]` or `audio.quality[*-1.5kbps]`; a pattern that is a
bare check id also matches every case of that check. An entry that matches nothing is
reported, so stale entries are noticed.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from conformance.errors import InvalidArgument

__all__ = ["ExpectedFailures", "parse_xfails"]


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
        check = outcome_id.split("[", 1)[0]
        for pattern, reason in self.entries.items():
            if fnmatch.fnmatchcase(outcome_id, pattern) or pattern == check:
                self.used.add(pattern)
                return reason
        return None

    def unmatched(self) -> list[str]:
        """`pattern (source)` for every entry that matched no outcome."""
        return [f"{p} ({self.sources.get(p, '?')})" for p in self.entries if p not in self.used]


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
