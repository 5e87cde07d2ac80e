"""Print a Markdown summary of the installed golden checkpoints, read from their manifests.

    python golden_checkpoints/summary.py [--dir golden_checkpoints]

One row per family x bandwidth: file size, training steps and CPU time, and STOI / PESQ-WB /
mel distance on each speech clip (the numbers the READMEs quote).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

from conformance.golden_checks import FAMILIES, golden_checkpoints, speech_clips_of  # noqa: E402


def _value(metrics: dict, name: str) -> str:
    entry = metrics.get(name, {})
    if entry.get("status") != "ok":
        return "n/c"
    return f"{entry['value']:.3f}"


def summary_table(directory: Path) -> str:
    """The Markdown table of every installed family (missing families are listed as such)."""
    found = {g.family: g for g in golden_checkpoints(directory)}
    lines = ["| family | file | trained | kbps | clip | STOI | PESQ-WB | mel distance |",
             "|---|---|---|---|---|---|---|---|"]
    for family in FAMILIES:
        if family not in found:
            lines.append(f"| {family} | not installed | | | | | | |")
            continue
        manifest = found[family].manifest
        size = manifest["checkpoint"]["size_bytes"] / 1e6
        training = manifest.get("training", {})
        trained = (f"{training.get('steps', '?')} steps, "
                   f"{training.get('train_seconds', 0) / 60:.0f} CPU-min")
        first = True
        for bandwidth in manifest["bandwidths"]:
            for name in sorted(speech_clips_of(manifest)):
                metrics = manifest["clips"][name]["bandwidths"][str(bandwidth)]["metrics"]
                who = "female" if "female" in name else "male" if "male" in name else name
                head = (f"{family} | {size:.1f} MB | {trained}" if first else " | | ")
                first = False
                lines.append(f"| {head} | {bandwidth:g} | {who} | {_value(metrics, 'stoi')} | "
                             f"{_value(metrics, 'pesq_wb')} | {_value(metrics, 'mel_distance')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=HERE)
    args = parser.parse_args(argv)
    print(summary_table(args.dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
