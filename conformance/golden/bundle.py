"""The bundled golden checkpoints: which families ship, and where their files are.

Each family has `<family>.th` (an AudioCraft exported checkpoint), `<family>.manifest.json`
(what it must keep producing) and `<family>.<clip>.flac` regression decodes; the folder also
holds `thresholds.json` (their measured quality thresholds). The folder is the package's
`golden_checkpoints` data folder (`conformance._data.golden_dir()`), or any folder laid out the
same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from conformance._data import golden_dir

__all__ = ["FAMILIES", "THRESHOLDS_FILE", "GoldenCheckpoint", "golden_checkpoints"]

#: The families with a golden checkpoint, in report order.
FAMILIES: tuple[str, ...] = ("encodec_24khz", "encodec_32khz", "encodec_48khz")
#: The name of the measured thresholds file in a golden folder.
THRESHOLDS_FILE = "thresholds.json"


@dataclass(frozen=True)
class GoldenCheckpoint:
    """One golden checkpoint: its family, file and manifest."""

    family: str
    checkpoint: Path
    manifest_path: Path

    @property
    def directory(self) -> Path:
        return self.checkpoint.parent

    @property
    def manifest(self) -> dict:
        from conformance.golden.manifest import read_manifest

        return read_manifest(self.manifest_path)


def golden_checkpoints(directory: str | Path | None = None) -> list[GoldenCheckpoint]:
    """The golden checkpoints present in `directory` (default: the bundled ones), in
    `FAMILIES` order; a family needs both `<family>.th` and its manifest."""
    d = golden_dir() if directory is None else Path(directory)
    out = []
    for family in FAMILIES:
        ckpt, man = d / f"{family}.th", d / f"{family}.manifest.json"
        if ckpt.is_file() and man.is_file():
            out.append(GoldenCheckpoint(family, ckpt, man))
    return out
