"""Store the whole pinned codes in golden manifests written before they held them.

    python scripts/pin_manifest_codes.py            # every bundled golden manifest
    python scripts/pin_manifest_codes.py --family encodec_48khz

For each clip x bandwidth the checkpoint is re-run on CPU; its codes are stored (`"codes"`,
`conformance.golden.manifest.pack_codes`) only when their sha256 equals the one the manifest
pinned, so the stored codes are exactly the pinned ones. Any other difference stops the script
without writing. Each manifest is rewritten atomically; entries that already hold codes are
checked against their sha256 and kept.
"""

from __future__ import annotations

import argparse
import sys

from conformance.checkpoints.load import load_checkpoint
from conformance.golden.bundle import FAMILIES, golden_checkpoints
from conformance.golden.manifest import (
    codes_sha256,
    pack_codes,
    read_manifest,
    unpack_codes,
    write_manifest,
)
from conformance.golden.runs import clip_audio


def pin(family: str) -> int:
    golden = {g.family: g for g in golden_checkpoints()}[family]
    manifest_path = golden.checkpoint.with_name(f"{family}.manifest.json")
    manifest = read_manifest(manifest_path)
    model = load_checkpoint(golden.checkpoint).model.eval()
    added = 0
    for clip, info in manifest["clips"].items():
        wav = clip_audio(clip, model, manifest["seconds"])
        for key, entry in info["bandwidths"].items():
            if "codes" in entry:
                stored = unpack_codes(entry["codes"], entry["codes_shape"])
                if codes_sha256(stored) != entry["codes_sha256"]:
                    sys.exit(f"{manifest_path.name}: {clip} @ {key} kbps: stored codes do not "
                             "match their sha256")
                continue
            codes = model.encode(wav[None], bandwidth=float(key)).codes
            if codes_sha256(codes) != entry["codes_sha256"]:
                sys.exit(f"{manifest_path.name}: {clip} @ {key} kbps: this machine's codes "
                         "differ from the pinned ones, so they cannot be stored as them")
            entry["codes"] = pack_codes(codes)
            added += 1
    write_manifest(manifest, manifest_path)
    print(f"{manifest_path.name}: {added} codes entries stored", file=sys.stderr)
    return added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", action="append", choices=FAMILIES,
                        help="only this family (repeatable; default: all)")
    args = parser.parse_args()
    for family in args.family or FAMILIES:
        pin(family)


if __name__ == "__main__":
    main()
