"""Peak memory and wall time of evaluating one audio file, in a fresh process.

    python -m conformance.corpus.peak CKPT AUDIO [--bandwidth KBPS] [--metric NAME]
        [--segment-seconds S] [--window-seconds W] [--device cpu|cuda] [--threads N]

loads the checkpoint, evaluates the file exactly as `validate CKPT --audio DIR` does
(`conformance.corpus.runner.evaluate_file`) and prints one JSON object: `peak_rss_bytes` (the
process's resident-set high-water mark, `getrusage(RUSAGE_SELF).ru_maxrss`, absolute: the
interpreter, torch, the model and the evaluation together), `wall_seconds` (the evaluation
only), the file's duration and status. `measure(...)` runs it in a subprocess and returns that
object, so nothing the caller allocated is counted.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["main", "measure"]


def _evaluate(args: argparse.Namespace) -> dict[str, Any]:
    from conformance.checkpoints.load import load_checkpoint
    from conformance.corpus.discover import CorpusFile
    from conformance.corpus.runner import CorpusSettings, evaluate_file, resolve_device
    from conformance.corpus.windows import DEFAULT_METRICS

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    model = load_checkpoint(args.checkpoint).model
    settings = CorpusSettings(bandwidths=tuple(args.bandwidth) if args.bandwidth else None,
                              metrics=tuple(args.metric) if args.metric else DEFAULT_METRICS,
                              segment_seconds=args.segment_seconds,
                              window_seconds=args.window_seconds, device=args.device)
    resolved = settings.for_model(model)
    model.to(resolve_device(args.device)).eval()
    audio = Path(args.audio)
    file = CorpusFile(audio.parent, audio.name, audio.stat().st_size)
    t0 = time.perf_counter()
    record = evaluate_file(model, file, resolved)
    wall = time.perf_counter() - t0
    return {"peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "wall_seconds": wall, "duration": record["duration"], "status": record["status"],
            "reason": record["reason"], "windows": record["windows"],
            "coding": record["coding"], "bandwidths": record["bandwidths"],
            "settings": resolved, "threads": _threads()}


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def _parser() -> argparse.ArgumentParser:
    from conformance.corpus.segments import DEFAULT_SEGMENT_SECONDS
    from conformance.corpus.windows import DEFAULT_WINDOW_SECONDS

    p = argparse.ArgumentParser(prog="python -m conformance.corpus.peak",
                                description="peak RSS and wall time of evaluating one file")
    p.add_argument("checkpoint")
    p.add_argument("audio")
    p.add_argument("--bandwidth", action="append", type=float)
    p.add_argument("--metric", action="append")
    p.add_argument("--segment-seconds", type=float, default=DEFAULT_SEGMENT_SECONDS)
    p.add_argument("--window-seconds", type=float, default=DEFAULT_WINDOW_SECONDS)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    return p


def main(argv: list[str] | None = None) -> int:
    print(json.dumps(_evaluate(_parser().parse_args(argv))))
    return 0


def measure(checkpoint: str | Path, audio: str | Path, *options: str,
            timeout: float | None = None) -> dict[str, Any]:
    """Run this module on (checkpoint, audio, *options) in a fresh Python; its JSON."""
    run = subprocess.run([sys.executable, "-m", "conformance.corpus.peak", str(checkpoint),
                          str(audio), *options], capture_output=True, text=True,
                         timeout=timeout, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"the measurement failed (exit {run.returncode}): "
                           f"{run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    sys.exit(main())
