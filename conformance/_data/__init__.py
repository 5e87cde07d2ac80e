"""The data the package needs at run time: golden checkpoints and reference audio.

In the repository the two folders live at the top level (`golden_checkpoints/`,
`reference_audio/`) and are linked in here; a built wheel holds copies under
`conformance/_data/`. Either way they are found through `importlib.resources`, so an installed
package works from any directory.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["golden_dir", "reference_audio_dir"]


def _folder(name: str) -> Path:
    folder = resources.files(__name__) / name
    path = Path(str(folder))
    if not path.is_dir():
        raise FileNotFoundError(
            f"{path}: the package data folder {name!r} is missing; the installation is "
            "incomplete (reinstall encodec-conformance)")
    return path


def golden_dir() -> Path:
    """The folder of the bundled golden checkpoints, manifests and regression decodes."""
    return _folder("golden_checkpoints")


def reference_audio_dir() -> Path:
    """The folder of the reference recordings and generated edge signals."""
    return _folder("reference_audio")
