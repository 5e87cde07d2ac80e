"""Regenerate the generated edge-case signals (16-bit FLAC) and their MANIFEST.json.

    python scripts/make_reference_signals.py [--out-dir DIR] [--sample-rate 24000]
        [--stereo-sample-rate 48000]

Default folder: `generated/` of the package's reference audio (in a checkout, the repository's
`reference_audio/generated/`). See `conformance.audio.generated`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from conformance._data import reference_audio_dir
from conformance.audio.generated import make_reference_signals


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out-dir", type=Path, default=None)
    parser.add_argument("--sample-rate", type=int, default=24000)
    parser.add_argument("--stereo-sample-rate", type=int, default=48000,
                        help="rate of the stereo variants; 0 writes none")
    args = parser.parse_args(argv)
    out_dir = args.out_dir or reference_audio_dir() / "generated"
    manifest = make_reference_signals(out_dir, args.sample_rate,
                                      args.stereo_sample_rate or None)
    total = 0
    for entry in manifest["signals"]:
        size = (out_dir / entry["file"]).stat().st_size
        total += size
        print(f"{entry['file']:40s} {entry['sample_rate']:6d} Hz {entry['channels']} ch "
              f"{entry['samples']:8d} samples {size / 1024:8.1f} KiB")
    print(f"{len(manifest['signals'])} files, {total / 1024:.1f} KiB, in {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
