"""The package ships its run-time data: a wheel built from this checkout holds every data file
the code opens (the golden checkpoints, manifests, regression decodes, thresholds, reference
audio and its licences), found through importlib.resources from any directory."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from conformance._data import golden_dir, reference_audio_dir
from conformance.audio.clips import reference_clips
from conformance.golden.bundle import THRESHOLDS_FILE, golden_checkpoints

ROOT = Path(__file__).resolve().parents[1]


def _opened_by_the_code() -> set[str]:
    """Every data file the package's catalogues point to, relative to conformance/_data."""
    files = {golden_dir() / THRESHOLDS_FILE, reference_audio_dir() / "generated" / "MANIFEST.json"}
    for g in golden_checkpoints():
        files |= {g.checkpoint, g.manifest_path}
        files |= {g.directory / e["file"]
                  for e in g.manifest["regression_decodes"]["clips"].values()}
    files |= {clip.path for clip in reference_clips().values()}
    base = Path(str(golden_dir())).parent
    return {str(Path(f).relative_to(base)) for f in files}


def _build_wheel(out: Path) -> zipfile.ZipFile:
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps",
                    "--no-build-isolation", "--quiet", "-w", str(out)], check=True,
                   capture_output=True, timeout=300)
    (path,) = out.glob("encodec_conformance-*.whl")
    return zipfile.ZipFile(path)


def test_the_wheel_holds_every_data_file_the_code_opens_and_no_script(tmp_path):
    """One test builds the wheel (two builds of one tree at once would share its build/)."""
    names = set(_build_wheel(tmp_path).namelist())
    opened = _opened_by_the_code()
    assert len(opened) > 40  # 3 checkpoints + manifests + decodes + clips + generated signals
    missing = sorted(f for f in opened if f"conformance/_data/{f}" not in names)
    assert not missing, f"not in the wheel: {missing}"
    tracked = subprocess.run(["git", "ls-files", "golden_checkpoints", "reference_audio"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert tracked
    assert sorted(f for f in tracked if f"conformance/_data/{f}" not in names) == []
    assert not [n for n in names if n.startswith("conformance/_data/") and n.endswith(".py")
                and not n.endswith("_data/__init__.py")]
    assert "conformance/cli/main.py" in names


def test_the_data_folders_are_found_through_importlib_resources():
    from importlib import resources

    assert Path(str(resources.files("conformance._data") / "golden_checkpoints")) == golden_dir()
    assert (golden_dir() / THRESHOLDS_FILE).is_file()
    assert (reference_audio_dir() / "NOTICE.md").is_file()
