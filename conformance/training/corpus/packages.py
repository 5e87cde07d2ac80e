"""Real recordings: Debian packages fetched and unpacked into a cache, the files taken from
them (codec2-examples, sonic-pi-samples, alsa-utils, csound-doc) and from a directory of your
own, each checked against the evaluation clips before it is copied."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from conformance.training.corpus.dsp import normalize_level, rms
from conformance.training.corpus.exclusion import LICENSE_EXCLUDED, ExcludedClipError
from conformance.training.corpus.spec import CorpusSpec
from conformance.training.corpus.writer import CorpusWriter

__all__ = [
    "AUDIO_SUFFIXES",
    "CODEC2_SPEECH",
    "CSOUND_FILES",
    "add_alsa",
    "add_codec2",
    "add_csound",
    "add_extra",
    "add_sonicpi",
    "fetch_deb",
    "sonic_pi_cc0",
]


def fetch_deb(package: str, cache: Path, log: Callable[[str], None]) -> tuple[Path, str]:
    """Download (once) and unpack a Debian package into cache; returns (root, version)."""
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{package}_*.deb"))
    if not found:
        if shutil.which("apt-get") is None:
            raise RuntimeError(f"{package}: apt-get is not available to download it")
        log(f"apt-get download {package}")
        subprocess.run(["apt-get", "download", package], cwd=debs, check=True,
                       capture_output=True, timeout=600)
        found = sorted(debs.glob(f"{package}_*.deb"))
    deb = found[-1]
    root = cache / "unpacked" / deb.stem
    if not root.is_dir():
        tmp = Path(tempfile.mkdtemp(dir=cache, prefix=".unpack."))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], check=True, timeout=600)
        root.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, root)
    version = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], capture_output=True,
                             text=True, check=True).stdout.strip()
    return root, version


CODEC2_SPEECH = {  # real speech in codec2-examples (codec outputs and modem/test signals out)
    "usr/share/codec2/raw/speech_orig_16k.wav": 16000, "usr/share/codec2/wav/wia_16kHz.wav": 0,
    "usr/share/codec2/wav/big_dog.wav": 0, "usr/share/codec2/wav/cross.wav": 0,
    "usr/share/codec2/wav/david4.wav": 0, "usr/share/codec2/wav/forig.wav": 0,
    "usr/share/codec2/wav/hts1a.wav": 0, "usr/share/codec2/wav/hts2a.wav": 0,
    "usr/share/codec2/wav/mmt1.wav": 0, "usr/share/codec2/wav/morig.wav": 0,
    "usr/share/codec2/wav/ve9qrp.wav": 0, "usr/share/codec2/wav/vk2tpm_004.wav": 0,
    "usr/share/codec2/wav/vk5qi.wav": 0, "usr/share/codec2/raw/kristoff.raw": 8000,
    "usr/share/codec2/raw/cq_ref.raw": 8000, "usr/share/codec2/raw/hts.raw": 8000,
}


def _read_any(path: Path, raw_rate: int = 0) -> tuple[np.ndarray, int]:
    """Audio as float64 [T] or [T, C]: sound files, gzip'd AIFF, or raw s16le at raw_rate."""
    if path.suffix == ".raw":
        data = np.frombuffer(path.read_bytes(), dtype="<i2").astype(np.float64) / 32768
        return data, raw_rate
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as f, tempfile.NamedTemporaryFile(
                suffix=Path(path.stem).suffix) as tmp:
            tmp.write(f.read())
            tmp.flush()
            return sf.read(tmp.name, dtype="float64")
    return sf.read(str(path), dtype="float64")


def _real_file(w: CorpusWriter, src: Path, rel: str, *, kind: str, source: str, license: str,
               origin: str, raw_rate: int = 0, level_db: float = -20.0) -> None:
    try:
        w.exclusion.check_name(origin)
        if src.suffix != ".raw":
            w.exclusion.check_file(src, name=origin)
    except ExcludedClipError as exc:
        w.skipped.append({"origin": origin, "reason": str(exc)})
        w.log(f"skipped {origin}: {exc}")
        return
    x, sr = _read_any(src, raw_rate)
    if x.size == 0 or rms(x) < 1e-5:
        w.skipped.append({"origin": origin, "reason": "silent or empty"})
        return
    w.add(rel, normalize_level(x, level_db), sr, kind=kind, source=source, license=license,
          origin=origin)


def add_codec2(w: CorpusWriter, cache: Path) -> dict:
    """The real speech files of codec2-examples (`CODEC2_SPEECH`)."""
    root, version = fetch_deb("codec2-examples", cache, w.log)
    for rel, raw_rate in CODEC2_SPEECH.items():
        src = root / rel
        if src.is_file():
            _real_file(w, src, f"codec2/{src.stem}.flac", kind="speech", source="codec2",
                       license="LGPL-2.1 (debian/copyright of codec2-examples)",
                       origin=f"codec2-examples {version}: /{rel}", raw_rate=raw_rate)
    return {"codec2-examples": version}


def sonic_pi_cc0(copyright_text: str) -> dict[str, str]:
    """{sample file name: copyright line} for every sample the copyright file lists as CC0."""
    out = {}
    for para in copyright_text.split("\n\n"):
        m = re.search(r"^Files:\s*(.*?)\n(?=\S)", para + "\nX", re.M | re.S)
        lic = re.search(r"^License:\s*(\S+)", para, re.M)
        if not (m and lic and lic.group(1).upper() == "CC0"):
            continue
        holder = re.search(r"^Copyright:\s*(.*)$", para, re.M)
        for f in m.group(1).split():
            if f.startswith("etc/samples/"):
                out[f.rsplit("/", 1)[1]] = holder.group(1).strip() if holder else ""
    return out


def add_sonicpi(w: CorpusWriter, cache: Path) -> dict:
    """The CC0 Sonic Pi samples, less the evaluation clips and `LICENSE_EXCLUDED`."""
    root, version = fetch_deb("sonic-pi-samples", cache, w.log)
    text = (root / "usr/share/doc/sonic-pi-samples/copyright").read_text()
    cc0 = sonic_pi_cc0(text)
    for name in sorted(cc0):
        src = root / "usr/share/sonic-pi/samples" / name
        if not src.is_file():
            continue
        if any(frag in name for frag in LICENSE_EXCLUDED):
            w.skipped.append({"origin": name, "reason": "license (commercial recording)"})
            continue
        _real_file(w, src, f"sonicpi/{src.stem}.flac", kind="music", source="sonicpi",
                   license=f"CC0 1.0 ({cc0[name]}; debian/copyright of sonic-pi-samples)",
                   origin=f"sonic-pi-samples {version}: {name}", level_db=-18.0)
    return {"sonic-pi-samples": version}


def add_alsa(w: CorpusWriter, cache: Path) -> dict:
    """The spoken channel names of alsa-utils (not its noise file)."""
    root, version = fetch_deb("alsa-utils", cache, w.log)
    for src in sorted((root / "usr/share/sounds/alsa").glob("*.wav")):
        if src.stem == "Noise":
            continue
        _real_file(w, src, f"alsa/{src.stem}.flac", kind="speech", source="alsa",
                   license="GPL-2 (debian/copyright of alsa-utils)",
                   origin=f"alsa-utils {version}: {src.name}")
    return {"alsa-utils": version}


CSOUND_FILES = ("flute.aiff.gz", "oboe.aiff.gz", "marimba.aif.gz", "singFemale.aif.gz",
                "mandpluk.aiff.gz")


def add_csound(w: CorpusWriter, cache: Path) -> dict:
    """The instrument recordings `CSOUND_FILES` of the csound manual's examples."""
    root, version = fetch_deb("csound-doc", cache, w.log)
    base = root / "usr/share/doc/csound-doc/html/examples"
    for name in CSOUND_FILES:
        src = base / name
        if src.is_file():
            _real_file(w, src, f"csound/{name.split('.')[0]}.flac", kind="music",
                       source="csound", license="GFDL-1.2+ (debian/copyright of csound-doc)",
                       origin=f"csound-doc {version}: {name}", level_db=-18.0)
    return {"csound-doc": version}


AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aif", ".aiff", ".mp3")


def add_extra(w: CorpusWriter, spec: CorpusSpec) -> dict:
    """Every sound file under `spec.extra_dir`, with the kind and license of the spec."""
    base = Path(spec.extra_dir).expanduser()
    files = sorted(p for p in base.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    for i, src in enumerate(files):
        _real_file(w, src, f"extra/{i:05d}_{src.stem}.flac", kind=spec.extra_kind,
                   source="extra", license=spec.extra_license,
                   origin=str(src.relative_to(base)))
    return {"extra_dir": str(base), "files": len(files)}
