"""Install a trained golden checkpoint: copy, manifest, regression decodes, thresholds, report.

    python scripts/install_golden.py --family encodec_24khz \\
        --run ~/.cache/encodec-conformance/runs/encodec_24khz

reads `<run>/<family>.th` (strictly) and its training log `<run>/<family>.log.json`, then
writes into the golden folder (default: the package's bundled one, which in a checkout is the
repository's `golden_checkpoints/`), each file atomically:

- `<family>.th`: the checkpoint, byte for byte;
- `<family>.manifest.json`: codes, decode hashes and metrics per clip x bandwidth
  (`conformance.golden.manifest.build_manifest`), with the training command, commit, steps and
  time;
- `<family>.<clip>.flac`: the top-bandwidth regression decode of each clip;
- `thresholds.json`: this family's measured thresholds replace its old ones
  (`conformance.golden.thresholds.measure_thresholds`);
- `<family>.report.md`: quality and sensitivity tables and the training summary.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from conformance._data import golden_dir
from conformance.checkpoints.load import load_checkpoint
from conformance.fileio import atomic_write_bytes, atomic_write_text
from conformance.golden.bundle import FAMILIES, THRESHOLDS_FILE
from conformance.golden.checks import (
    CODEWORD_MIN_DISTANCE,
    near_duplicate_codewords,
    not_applicable,
    quality_rows,
    sensitivity_rows,
)
from conformance.golden.manifest import build_manifest, write_manifest, write_regression_decodes
from conformance.golden.report import format_quality, format_sensitivity
from conformance.golden.thresholds import measure_thresholds, speech_clips_of, write_thresholds
from conformance.quality.thresholds import ThresholdSet

#: Clip length cap: the speech clips are 3-4 s; the 10 s music clips are cut to 6 s.
SECONDS = 6.0


def training_summary(log_path: Path) -> dict:
    """The parts of the trainer's JSON log a manifest keeps."""
    log = json.loads(log_path.read_text())
    last = log["evals"][-1] if log.get("evals") else {}
    return {
        "commands": [" ".join(s["argv"]) for s in log["sessions"]],
        "commit": log.get("git_commit"),
        "steps": log["steps"], "total_steps": log["total_steps"],
        "train_seconds": log["train_seconds"], "device": log["device"],
        "threads": log["threads"], "torch": log["torch"],
        "corpus_manifest_sha256": log.get("corpus_manifest_sha256"),
        "train_clips": log.get("train_clips"), "seed": log.get("seed"),
        "recipe": log.get("recipe"), "last_eval": last,
    }


def _training_table(info: dict) -> str:
    minutes = info["train_seconds"] / 60
    lines = ["| field | value |", "|---|---|",
             f"| steps | {info['steps']} (schedule {info['total_steps']}) |",
             f"| training time | {minutes:.1f} min on {info['device']} x {info['threads']} "
             f"thread(s), torch {info['torch']} |",
             f"| commit | {info['commit']} |",
             f"| corpus manifest sha256 | {info['corpus_manifest_sha256']} |"]
    lines += [f"| command {i + 1} | `{c}` |" for i, c in enumerate(info["commands"])]
    return "\n".join(lines)


def build(family: str, run: Path, out: Path, seconds: float = SECONDS,
          sensitivity: bool = True) -> Path:
    src = run / f"{family}.th"
    log = run / f"{family}.log.json"
    loaded = load_checkpoint(src)  # strict: refuses anything partial
    close = near_duplicate_codewords(loaded.model)
    if close:
        pairs = ", ".join(f"stage {k}: codes {i}/{j} {d:.1e} apart" for k, i, j, d in close[:5])
        raise SystemExit(f"{src}: {len(close)} pair(s) of near-duplicate codewords (closer than "
                         f"{CODEWORD_MIN_DISTANCE}): {pairs}. Inputs between them encode "
                         "differently from machine to machine, so its manifest could not pin "
                         "the codes; train on (or pick another export)")
    dst = out / f"{family}.th"
    atomic_write_bytes(dst, lambda tmp: shutil.copyfile(src, tmp))
    info = training_summary(log)
    t0 = time.time()
    manifest = build_manifest(dst, seconds=seconds, training=info)
    for old in out.glob(f"{family}.*.flac"):
        old.unlink()
    write_regression_decodes(dst, manifest, out, family)
    man_path = write_manifest(manifest, out / f"{family}.manifest.json")
    measured = measure_thresholds(family, manifest)
    write_thresholds(measured, out / THRESHOLDS_FILE, replace_families=[family])
    ts = ThresholdSet("golden", tuple(measured))
    parts = [f"# {family} golden checkpoint: report", "",
             f"`{dst.name}`: {dst.stat().st_size / 1e6:.2f} MB, sha256 "
             f"`{manifest['checkpoint']['sha256']}`. Built by `scripts/install_golden.py` "
             f"in {time.time() - t0:.0f} s.", "", "## Training", "", _training_table(info), "",
             "## Quality on the speech clips (thresholds: measured minus margin)", "",
             format_quality(family, quality_rows(family, manifest, ts)), ""]
    if sensitivity:
        model = loaded.model.eval()
        rows = sensitivity_rows(family, model, ts, speech_clips_of(manifest), seconds=seconds)
        parts += ["## Sensitivity: broken variants at the top bandwidth", "",
                  format_sensitivity(family, rows), ""]
        skipped = not_applicable(model)
        if skipped:
            parts += ["Not applicable to this config: "
                      + "; ".join(f"`{k}`: {v}" for k, v in skipped.items()), ""]
    parts += ["## All clips (metrics recorded in the manifest)", "", _all_clips(manifest), ""]
    text = "\n".join(parts)
    atomic_write_text(out / f"{family}.report.md", text)
    print(text)
    return man_path


def _all_clips(manifest: dict) -> str:
    names = list(manifest["metrics"])
    lines = ["| clip | kbps | " + " | ".join(names) + " |",
             "|---|---|" + "---|" * len(names)]
    for clip, info in manifest["clips"].items():
        for key, entry in info["bandwidths"].items():
            cells = []
            for n in names:
                m = entry["metrics"][n]
                cells.append(f"{m['value']:.3f}" if "value" in m else "n/a")
            lines.append(f"| {clip} | {float(key):g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--family", required=True, choices=FAMILIES)
    p.add_argument("--run", required=True, type=Path, help="training run directory")
    p.add_argument("--out", type=Path, default=None,
                   help="destination folder (default: the bundled golden folder)")
    p.add_argument("--seconds", type=float, default=SECONDS)
    p.add_argument("--no-sensitivity", dest="sensitivity", action="store_false")
    args = p.parse_args(argv)
    out = golden_dir() if args.out is None else args.out
    out.mkdir(parents=True, exist_ok=True)
    build(args.family, args.run.expanduser(), out, seconds=args.seconds,
          sensitivity=args.sensitivity)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
