"""Evaluating a checkpoint on a directory of audio, file by file, in bounded memory.

`evaluate_file(model, file, settings)` reads one file block by block (`reader`), converts it
to the model's rate and channels (recorded), codes it at every bandwidth (`segments`), scores
each bandwidth window by window (`windows`) and returns its record: path relative to the
corpus, size, SHA-256, duration, input format, conversion, coding strategy, per-bandwidth
metrics, status and seconds. Nothing in it raises for a bad file: an unreadable file is
`not_computed` (`skipped: "unreadable"`), a file the model cannot code (too short for a
GroupNorm model) `not_computed` (`skipped: "not_codable"`), a file at another rate with
conversion off `not_applicable` (`skipped: "not_converted"`), and any other exception while
coding a readable file `error`.

`run_corpus(...)` lists the directory (`discover`), keeps this shard's files, skips those a
resumed results file already holds, evaluates the rest in path order with a progress bar,
appends each record to the results file as it finishes (`results`), and returns the run line
and every record.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import math
import platform
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from conformance import __version__
from conformance.corpus.discover import CorpusFile, Listing, list_corpus, select_shard
from conformance.corpus.reader import AudioStream
from conformance.corpus.results import RESULTS_SCHEMA, RESULTS_SCHEMA_VERSION, ResultsFile
from conformance.corpus.segments import (
    DEFAULT_CONTEXT_SECONDS,
    DEFAULT_SEGMENT_SECONDS,
    SegmentCoder,
)
from conformance.corpus.windows import DEFAULT_METRICS, DEFAULT_WINDOW_SECONDS, WindowedMetrics
from conformance.errors import AudioFileError, ConformanceError, InvalidArgument, ModelInputError
from conformance.model.encodec import EncodecModel
from conformance.status import Status

__all__ = ["CorpusRun", "CorpusSettings", "evaluate_file", "resolve_device", "run_corpus",
           "run_line", "threshold_family", "weights_sha256"]


def resolve_device(text: str | None) -> torch.device:
    """`cpu` (the default), `cuda` or `cuda:N`; InvalidArgument when CUDA is asked for and
    torch has none, or the index does not exist."""
    text = (text or "cpu").strip()
    try:
        device = torch.device(text)
    except RuntimeError as exc:
        raise InvalidArgument(f"--device {text!r}: expected cpu, cuda or cuda:N") from exc
    if device.type == "cpu":
        return device
    if device.type != "cuda":
        raise InvalidArgument(f"--device {text!r}: expected cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise InvalidArgument(f"--device {text}: torch sees no CUDA device here "
                              "(torch.cuda.is_available() is False); use --device cpu")
    count = torch.cuda.device_count()
    if device.index is not None and device.index >= count:
        raise InvalidArgument(f"--device {text}: there are {count} CUDA device(s), "
                              f"cuda:0..cuda:{count - 1}")
    return device


@dataclass(frozen=True)
class CorpusSettings:
    """How files are evaluated; every field is recorded in the run line (a resumed run and
    the shards of a merge must agree on all of them)."""

    bandwidths: tuple[float, ...] | None = None  #: None: every bandwidth of the model
    metrics: tuple[str, ...] = DEFAULT_METRICS
    window_seconds: float = DEFAULT_WINDOW_SECONDS
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS
    context_seconds: float = DEFAULT_CONTEXT_SECONDS
    convert: bool = True
    device: str = "cpu"

    def for_model(self, model: EncodecModel) -> dict[str, Any]:
        """The settings as recorded, with the bandwidths resolved and checked."""
        bws = list(self.bandwidths) if self.bandwidths else list(model.bandwidths)
        for bw in bws:
            model.n_q_for_bandwidth(bw)  # ConfigError naming the supported ones
        return {"bandwidths": sorted(float(b) for b in bws), "metrics": list(self.metrics),
                "window_seconds": float(self.window_seconds),
                "segment_seconds": float(self.segment_seconds),
                "context_seconds": float(self.context_seconds), "convert": bool(self.convert),
                "device": str(resolve_device(self.device).type)}


def weights_sha256(model: EncodecModel) -> str:
    """SHA-256 of the model's state dict (names, dtypes, shapes and values, in key order):
    the same weights give the same digest in any checkpoint format."""
    h = hashlib.sha256()
    for key, tensor in model.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        h.update(f"{key}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else
                 t.view(torch.int16).numpy().tobytes())
    return h.hexdigest()


def threshold_family(config: Any, family: str | None = None) -> tuple[str | None, str]:
    """(family, "golden" | "released" | "none"): whose per-clip thresholds the corpus
    defaults derive from. `family` (--family) wins and uses that family's golden thresholds
    (its released floors when the config is that released model's); else a config equal to a
    bundled golden checkpoint's is that golden family; else a released preset's config is
    that released family; else none."""
    from conformance.checks.checkpoint.context import released_family

    released = released_family(config)
    if family is not None:
        return family, "released" if released == family else "golden"
    golden = _golden_family(config)
    if golden is not None:
        return golden, "golden"
    if released is not None:
        return released, "released"
    return None, "none"


def _golden_family(config: Any) -> str | None:
    from conformance.golden.bundle import golden_checkpoints

    mine = {k: v for k, v in config.to_dict().items() if k != "name"}
    for g in golden_checkpoints():
        theirs = {k: v for k, v in (g.manifest.get("config") or {}).items() if k != "name"}
        theirs = {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in theirs.items()}
        if theirs == mine:
            return g.family
    return None


def _environment(device: torch.device) -> dict[str, Any]:
    env = {"python": platform.python_version(), "platform": platform.platform(),
           "torch": torch.__version__, "threads": torch.get_num_threads(),
           "device": str(device)}
    if device.type == "cuda":
        env["device_name"] = torch.cuda.get_device_name(device)
    return env


def run_line(model: EncodecModel, checkpoint: dict[str, Any], settings: dict[str, Any], *,
             root: Path, shard: tuple[int, int] | None, family: str | None, how: str,
             listing: Listing, files: int) -> dict[str, Any]:
    """The first line of a results file."""
    device = resolve_device(settings["device"])
    return {"type": "run", "schema": RESULTS_SCHEMA, "schema_version": RESULTS_SCHEMA_VERSION,
            "tool": {"name": "encodec-conformance", "version": __version__},
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "checkpoint": {**checkpoint, "weights_sha256": weights_sha256(model),
                           "config": model.cfg.to_dict()},
            "family": family, "thresholds_base": how, "settings": settings,
            "shard": None if shard is None else {"index": shard[0], "count": shard[1]},
            "root": str(root), "files_listed": len(listing.files), "shard_files": files,
            "ignored_files": len(listing.ignored), "environment": _environment(device)}


def _skipped(rec: dict[str, Any], status: Status, kind: str, reason: str) -> dict[str, Any]:
    rec.update(status=status.value, skipped=kind, reason=reason, bandwidths=None)
    return rec


def _relative(message: str, file: CorpusFile) -> str:
    """`message` naming the file by its relative path, so records do not depend on where the
    corpus is mounted."""
    return message.replace(str(file.path), file.relative)


def evaluate_file(model: EncodecModel, file: CorpusFile, settings: dict[str, Any], *,
                  sha256: str | None = None) -> dict[str, Any]:
    """One file's record (module doc). `model` must already be on `settings["device"]`."""
    t0 = time.perf_counter()
    rec: dict[str, Any] = {"type": "file", "path": file.relative, "size": file.size,
                           "sha256": sha256 or file.sha256(), "status": None, "skipped": None,
                           "reason": None, "input": None, "duration": None,
                           "conversion": None, "coding": None, "windows": None,
                           "window_seconds": None, "bandwidths": None}
    try:
        stream = AudioStream(file.path, model.sample_rate, model.channels,
                             settings["segment_seconds"], convert=settings["convert"])
    except AudioFileError as exc:
        kind, status = ("not_converted", Status.NOT_APPLICABLE) if "conversion is off" in \
            exc.message else ("unreadable", Status.NOT_COMPUTED)
        _skipped(rec, status, kind, _relative(exc.message, file))
        rec["seconds"] = time.perf_counter() - t0
        return rec
    rec["input"] = stream.info.to_dict()
    rec["conversion"] = stream.conversion
    bws = settings["bandwidths"]
    coder = SegmentCoder(model, bws, segment_seconds=settings["segment_seconds"],
                         context_seconds=settings["context_seconds"],
                         device=resolve_device(settings["device"]))
    scores = WindowedMetrics(model.sample_rate, bws, settings["metrics"],
                             settings["window_seconds"])
    rec["coding"] = coder.describe()
    try:
        for block in stream:
            for piece in coder.feed(block):
                scores.feed(piece)
        for piece in coder.finish():
            scores.feed(piece)
        result = scores.finish()
    except AudioFileError as exc:
        _skipped(rec, Status.NOT_COMPUTED, "unreadable", _relative(exc.message, file))
    except ModelInputError as exc:
        _skipped(rec, Status.NOT_COMPUTED, "not_codable", f"the model cannot code this file: "
                 f"{exc.message}")
    except (ConformanceError, RuntimeError, ValueError) as exc:
        msg = exc.message if isinstance(exc, ConformanceError) else str(exc)
        rec.update(status=Status.ERROR.value, reason=f"{type(exc).__name__}: {msg}",
                   traceback=traceback.format_exc(limit=6))
    else:
        rec.update(status=Status.COMPUTED.value, windows=result["windows"],
                   window_seconds=result["window_seconds"], bandwidths=result["bandwidths"])
    rec["duration"] = stream.duration
    rec["seconds"] = time.perf_counter() - t0
    return rec


@dataclass
class CorpusRun:
    """What `run_corpus` did."""

    run: dict[str, Any]
    records: list[dict[str, Any]]
    listing: Listing
    resumed: int = 0
    dropped: list[str] = field(default_factory=list)
    evaluated: int = 0


def _bar(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="file", dynamic_ncols=True, file=sys.stderr,
                smoothing=0.1, desc="corpus")


def run_corpus(root: str | Path, model: EncodecModel, *, checkpoint: dict[str, Any],
               settings: CorpusSettings | None = None, jsonl: str | Path | None = None,
               resume: bool = False, shard: tuple[int, int] | None = None,
               family: str | None = None, progress: bool = False,
               on_record: Callable[[dict[str, Any]], None] | None = None) -> CorpusRun:
    """Evaluate every audio file below `root` (this `shard`'s), see the module doc.

    `checkpoint` describes the checkpoint for the run line (source, format, file sha256);
    `on_record` is called with each new record once it is written.
    """
    settings = settings or CorpusSettings()
    resolved = settings.for_model(model)
    device = resolve_device(resolved["device"])
    model.to(device).eval()
    root = Path(root)
    listing = list_corpus(root)
    files = select_shard(listing.files, *shard) if shard else list(listing.files)
    fam, how = threshold_family(model.cfg, family)
    run = run_line(model, checkpoint, resolved, root=root, shard=shard, family=fam, how=how,
                   listing=listing, files=len(files))
    out: ResultsFile | None = None
    done: dict[str, dict[str, Any]] = {}
    hashes: dict[str, str] = {}
    if jsonl is not None:
        current: dict[str, tuple[int, str | None]] = {f.relative: (f.size, None) for f in files}
        if resume and Path(jsonl).exists():  # a kept record must still match its file
            for f in files:
                hashes[f.relative] = f.sha256()
                current[f.relative] = (f.size, hashes[f.relative])
        out = ResultsFile.open(jsonl, run, resume=resume, current=current)
        run, done = out.run, dict(out.done)
    todo = [f for f in files if f.relative not in done]
    records = list(done.values())
    result = CorpusRun(run, records, listing, resumed=len(done),
                       dropped=list(out.dropped) if out else [])
    bar = _bar(len(files), progress)
    audio = 0.0
    started = time.perf_counter()
    try:
        if bar is not None and done:
            bar.update(len(done))
        for f in todo:
            if bar is not None:
                bar.set_postfix_str(f.relative[-40:], refresh=False)
            rec = evaluate_file(model, f, resolved, sha256=hashes.get(f.relative))
            if out is not None:
                out.write(rec)
            records.append(rec)
            result.evaluated += 1
            audio += float(rec.get("duration") or 0.0)
            if bar is not None:
                wall = time.perf_counter() - started
                bar.set_postfix_str(f"{audio / wall if wall > 0 else math.nan:.1f} audio-s/s",
                                    refresh=False)
                bar.update(1)
            if on_record is not None:
                on_record(rec)
        if out is not None:
            out.finish()
    finally:
        if bar is not None:
            bar.close()
        if out is not None:
            out.close()
    return result
