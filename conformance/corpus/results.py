"""The results file of a corpus run: JSON lines, written as each file finishes, resumable.

Line 1 is the run (`{"type": "run", ...}`: checkpoint, settings, shard, tool, environment);
then one `{"type": "file", ...}` object per audio file, in the order they finished; a
complete run ends with `{"type": "end", "files": N}`. Each line is written with one `write`
call, flushed and fsync'ed, so an interrupted run leaves at most one partial last line.

`ResultsFile.open(path, run, resume=...)`:

- without `resume`, an existing file is refused (pass --resume, or remove it);
- with `resume`, the file's run must be the same run (`same_run`: same weights, config,
  settings and shard; otherwise the differences are named and it is refused); a partial last
  line and any end line are dropped, so are records of files that changed (size or SHA-256) or
  left the listing, and the rest is rewritten atomically (temp + rename) before new records
  are appended. `done` maps each kept relative path to its record, so the run skips them.

`read_results(path)` reads a file back (used by resume and `merge-reports`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.errors import InvalidArgument
from conformance.fileio import atomic_write_text

__all__ = ["RESULTS_SCHEMA", "RESULTS_SCHEMA_VERSION", "RUN_IDENTITY", "ResultsFile",
           "Results", "read_results", "same_run"]

RESULTS_SCHEMA = "encodec-conformance/corpus-results"
RESULTS_SCHEMA_VERSION = 1
#: The parts of the run line that must agree for a resume (with the shard) and a merge.
RUN_IDENTITY = ("checkpoint.weights_sha256", "checkpoint.config", "settings")


@dataclass
class Results:
    """A results file read back."""

    path: Path
    run: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list)
    end: dict[str, Any] | None = None
    dropped_partial: bool = False

    @property
    def complete(self) -> bool:
        return self.end is not None and self.end.get("files") == len(self.records)


def _line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n"


def read_results(path: str | os.PathLike) -> Results:
    """Parse a results file; InvalidArgument when it is not one (the line is named)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidArgument(f"{path}: cannot read the results file "
                              f"({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise InvalidArgument(f"{path}: not a results file (not UTF-8 text)") from exc
    lines = text.split("\n")
    partial = False
    if lines and lines[-1] == "":
        lines.pop()
    elif lines:  # no newline at the end: the last write was interrupted
        lines.pop()
        partial = True
    objects = []
    for i, line in enumerate(lines, 1):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidArgument(f"{path}:{i}: not a JSON object ({exc.msg}); a results file "
                                  "holds one JSON object per line") from exc
        if not isinstance(obj, dict) or obj.get("type") not in ("run", "file", "end"):
            raise InvalidArgument(f"{path}:{i}: expected an object with type run, file or end")
        objects.append(obj)
    if not objects or objects[0]["type"] != "run" or objects[0].get("schema") != RESULTS_SCHEMA:
        raise InvalidArgument(f"{path}: not a corpus results file (its first line must be the "
                              f"run, schema {RESULTS_SCHEMA!r})")
    if objects[0].get("schema_version") != RESULTS_SCHEMA_VERSION:
        raise InvalidArgument(f"{path}: results schema version "
                              f"{objects[0].get('schema_version')!r}; this tool reads "
                              f"{RESULTS_SCHEMA_VERSION}")
    out = Results(path, objects[0], dropped_partial=partial)
    for i, obj in enumerate(objects[1:], 2):
        if obj["type"] == "run":
            raise InvalidArgument(f"{path}:{i}: a second run line")
        if obj["type"] == "end":
            out.end = obj
        elif out.end is not None:
            raise InvalidArgument(f"{path}:{i}: a file record after the end line")
        else:
            out.records.append(obj)
    return out


def _get(obj: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def same_run(a: dict[str, Any], b: dict[str, Any], *, shard: bool = True) -> list[str]:
    """The identity keys (and the shard, with `shard`) on which two run lines differ."""
    keys = list(RUN_IDENTITY) + (["shard"] if shard else [])
    return [k for k in keys if _get(a, k) != _get(b, k)]


class ResultsFile:
    """An open results file being appended to; see the module doc."""

    def __init__(self, path: Path, run: dict[str, Any], done: dict[str, dict[str, Any]],
                 dropped: list[str]) -> None:
        self.path = path
        self.run = run
        self.done = done
        self.dropped = dropped
        self.written = len(done)
        self._fd: int | None = None

    @classmethod
    def open(cls, path: str | os.PathLike, run: dict[str, Any], *, resume: bool,
             current: dict[str, tuple[int, str | None]]) -> ResultsFile:
        """`current` maps each relative path of the run's listing to (size, sha256 or None:
        not hashed yet); a kept record must match it."""
        path = Path(path)
        done: dict[str, dict[str, Any]] = {}
        dropped: list[str] = []
        if path.exists():
            if not resume:
                raise InvalidArgument(f"{path} exists: pass --resume to continue that run, or "
                                      "remove the file to start again")
            old = read_results(path)
            diff = same_run(old.run, run)
            if diff:
                raise InvalidArgument(
                    f"--resume {path}: that file belongs to a different run (it differs in "
                    f"{', '.join(diff)}); use another --jsonl path or the same options",
                    [f"{k}: file has {_get(old.run, k)!r}, this run {_get(run, k)!r}"
                     for k in diff])
            for rec in old.records:
                rel = rec.get("path")
                now = current.get(rel)
                if now is None or now[0] != rec.get("size") or (
                        now[1] is not None and now[1] != rec.get("sha256")):
                    dropped.append(str(rel))
                    continue
                done[rel] = rec
            run = old.run  # keep the original start time and environment
            atomic_write_text(path, "".join(_line(o) for o in [run, *done.values()]))
        else:
            atomic_write_text(path, _line(run))
        out = cls(path, run, done, dropped)
        out._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        return out

    def write(self, record: dict[str, Any]) -> None:
        """Append one record (one write, flushed to disk)."""
        if self._fd is None:
            raise InvalidArgument(f"{self.path}: the results file is closed")
        data = _line(record).encode("utf-8")
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        os.fsync(self._fd)
        self.written += 1

    def finish(self) -> None:
        """Write the end line and close: the run is complete."""
        self.write({"type": "end", "files": self.written})
        self.close()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
