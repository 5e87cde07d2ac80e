"""Build the training corpus: reproducible, documented, and free of the evaluation clips.

Sources (each file's source, license, duration and sha256 go into `manifest.json`):

- `espeak`: espeak-ng speech (Debian `espeak-ng`, GPL-3+; its output is ours to use): many
  languages and voice variants, pitch and speed varied, sentences from a built-in list,
  with room-like reverb and noise added to some files;
- `flite`: flite speech (Debian `flite`, BSD-like), voices kal16 and rms only (slt and awb are
  CMU ARCTIC speakers whose recordings are evaluation material), same augmentation;
- `music`: synthesised music at 48 kHz stereo (harmonic notes with envelopes, FM bells, bass,
  pads, percussion, panning and stereo reverb), made here from the seed;
- `codec2`: real speech from Debian `codec2-examples` (LGPL-2.1, per debian/copyright), mostly
  8 kHz;
- `sonicpi`: the Sonic Pi samples that `debian/copyright` lists one by one as CC0, except the
  evaluation clips (guit_em9, loop_tabla) and the amen break (a commercial recording);
- `alsa`: the 48 kHz spoken channel names of Debian `alsa-utils` (GPL-2);
- `csound`: instrument recordings among the csound manual's examples (Debian `csound-doc`,
  GFDL-1.2+).

Debian packages are fetched with `apt-get download` and unpacked with `dpkg-deb -x` into the
cache (no root needed, nothing installed); espeak-ng and flite must be installed
(`apt-get install espeak-ng flite`). Every real file is checked against the evaluation clips
(`EvalExclusion`): by name, by file sha256 and by the sha256 of its decoded samples.
Same seed + same package versions => same corpus (the manifest records the versions).

Modules: `exclusion` (the evaluation clips kept out), `dsp` (signal helpers and speech
augmentation), `sentences` (texts and voices), `tts` (espeak-ng / flite sources), `synth`
(music source), `packages` (Debian packages and the real-file sources), `spec` (corpus
constants, build spec, manifest entry), `writer` (writes and records each file), `build`
(build / read / verify a corpus), `cli` (the command line).

CLI: `python -m conformance.training.corpus [--out DIR] [--seed 0] [--espeak-minutes 60] ...`
"""

from __future__ import annotations

from conformance.training.corpus.build import build_corpus, read_corpus_manifest, verify_corpus
from conformance.training.corpus.cli import main
from conformance.training.corpus.exclusion import EvalExclusion, ExcludedClipError
from conformance.training.corpus.spec import (
    ALL_SOURCES,
    CORPUS_KINDS,
    DEFAULT_CORPUS_DIR,
    MANIFEST,
    CorpusSpec,
    Entry,
)

__all__ = [
    "ALL_SOURCES",
    "CORPUS_KINDS",
    "DEFAULT_CORPUS_DIR",
    "MANIFEST",
    "CorpusSpec",
    "Entry",
    "EvalExclusion",
    "ExcludedClipError",
    "build_corpus",
    "main",
    "read_corpus_manifest",
    "verify_corpus",
]
