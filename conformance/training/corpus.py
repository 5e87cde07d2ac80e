"""Build the training corpus: reproducible, documented, and free of the evaluation clips.

Sources (each file's source, license, duration and sha256 go into `manifest.json`):

- `espeak`: espeak-ng speech (Debian `espeak-ng`, GPL-3+; its output is ours to use): many
  languages and voice variants, pitch and speed varied, sentences from the built-in list below,
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

CLI: `python -m conformance.training.corpus [--out DIR] [--seed 0] [--speech-minutes 60] ...`
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from ..audio_io import atomic_write_bytes

#: The kinds a corpus file can be (the recipe's `data_mix` weighs them).
CORPUS_KINDS = ("speech", "music")

DEFAULT_CORPUS_DIR = Path(os.environ.get(
    "ENCODEC_CONFORMANCE_CORPUS", "~/.cache/encodec-conformance/corpus")).expanduser()
REPO_REFERENCE_AUDIO = Path(__file__).resolve().parents[2] / "reference_audio"
MANIFEST = "manifest.json"
ALL_SOURCES = ("espeak", "flite", "music", "codec2", "sonicpi", "alsa", "csound")

#: sha256 of the vendored evaluation clips (also read from reference_audio/SHA256SUMS).
EVAL_SHA256 = frozenset({
    "03391e78b21b82f999f6cd89b30e648b95c9afa68b1536a2825241d277af8b6f",
    "8ba451538fc24990448dce87e90d078c28a150b757dcc13165c784bee9172b35",
    "198d856649b370c483609bdc61558e515c6349210e6dd755e975ab1d2e468936",
})
#: Name fragments of evaluation material: the vendored clips' sources and CMU ARCTIC a0007.
EVAL_NAMES = ("arctic_a0009", "arctic_a0007", "guit_em9", "guit_e_slide", "loop_tabla")
#: Left out for their license, not because they are evaluation material.
LICENSE_EXCLUDED = ("loop_amen",)


class ExcludedClipError(ValueError):
    """A file that must not be in the training corpus (an evaluation clip or a copy of one)."""


# --------------------------------------------------------------------------- exclusion
def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_path(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def pcm_sha256(path: str | os.PathLike) -> str | None:
    """sha256 of the decoded 16-bit samples (frames x channels), or None if unreadable: the
    same audio in another container (WAV / FLAC / AIFF) hashes the same."""
    try:
        data, _ = sf.read(str(path), dtype="int16", always_2d=True)
    except (sf.LibsndfileError, RuntimeError):
        return None
    return sha256_bytes(np.ascontiguousarray(data).tobytes())


@dataclass
class EvalExclusion:
    """What the corpus must never contain: evaluation clips by name, file hash and PCM hash."""

    names: tuple[str, ...] = EVAL_NAMES
    file_sha256: frozenset[str] = EVAL_SHA256
    pcm_sha256: frozenset[str] = frozenset()

    @classmethod
    def from_reference_dir(cls, ref_dir: str | os.PathLike | None = None) -> EvalExclusion:
        """Built-in hashes plus `SHA256SUMS` and the decoded samples of every clip in ref_dir
        (default: the repository's reference_audio/, when present)."""
        ref = Path(ref_dir) if ref_dir is not None else REPO_REFERENCE_AUDIO
        sums, pcm = set(EVAL_SHA256), set()
        if (ref / "SHA256SUMS").is_file():
            for line in (ref / "SHA256SUMS").read_text().splitlines():
                if line.strip():
                    sums.add(line.split()[0].lower())
        if ref.is_dir():
            for clip in sorted(ref.iterdir()):
                if clip.suffix.lower() in (".wav", ".flac"):
                    sums.add(sha256_path(clip))
                    h = pcm_sha256(clip)
                    if h:
                        pcm.add(h)
        return cls(file_sha256=frozenset(sums), pcm_sha256=frozenset(pcm))

    def check_name(self, name: str) -> None:
        low = Path(name).name.lower()
        for frag in self.names:
            if frag in low:
                raise ExcludedClipError(f"{name}: evaluation material ('{frag}'), never "
                                        "part of the training corpus")

    def check_file(self, path: str | os.PathLike, name: str | None = None) -> None:
        """Raise ExcludedClipError when `path` is (a copy of) an evaluation clip."""
        self.check_name(name or str(path))
        digest = sha256_path(path)
        if digest in self.file_sha256:
            raise ExcludedClipError(f"{path}: sha256 {digest[:16]}... is an evaluation clip "
                                    "(reference_audio/SHA256SUMS)")
        if self.pcm_sha256:
            pcm = pcm_sha256(path)
            if pcm in self.pcm_sha256:
                raise ExcludedClipError(f"{path}: its samples equal an evaluation clip's")


# ----------------------------------------------------------------------------- DSP bits
def fft_convolve(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Linear convolution of x [..., T] with h [L], cut to T samples."""
    n = x.shape[-1] + h.shape[-1] - 1
    nfft = 1 << (n - 1).bit_length()
    y = np.fft.irfft(np.fft.rfft(x, nfft) * np.fft.rfft(h, nfft), nfft)
    return y[..., : x.shape[-1]]


def room_ir(rng: np.random.Generator, sr: int, rt60: float) -> np.ndarray:
    """A room-like impulse response: direct path, sparse early reflections, and a noise tail
    decaying 60 dB in rt60 seconds and darkening with time."""
    n = max(8, int(rt60 * sr))
    t = np.arange(n) / sr
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    # darker with time: mix in a smoothed copy progressively
    smooth = np.convolve(tail, np.ones(8) / 8, mode="same")
    w = np.clip(t / rt60, 0, 1)
    tail = (1 - w) * tail + w * smooth
    pre = int(rng.uniform(0.002, 0.02) * sr)
    tail[:pre] = 0.0
    for _ in range(int(rng.integers(2, 7))):
        tail[int(rng.uniform(0.001, 0.04) * sr) % n] += rng.uniform(-0.5, 0.5)
    tail /= np.sqrt((tail ** 2).sum()) + 1e-9
    ir = np.zeros(n)
    ir[0] = 1.0
    return ir + tail * rng.uniform(0.2, 0.9)


def colored_noise(rng: np.random.Generator, n: int, color: str) -> np.ndarray:
    """White, pink (1/f) or brown (1/f^2) noise of unit RMS."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.shape[0], dtype=float)
    f[0] = 1.0
    exponent = {"white": 0.0, "pink": 0.5, "brown": 1.0}[color]
    x = np.fft.irfft(spec / f ** exponent, n)
    return x / (np.sqrt((x ** 2).mean()) + 1e-12)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)) + 1e-20))


def normalize_level(x: np.ndarray, target_db: float, peak: float = 0.95) -> np.ndarray:
    """Scale to `target_db` dBFS RMS, then down further if the peak would exceed `peak`."""
    y = x * (10 ** (target_db / 20) / rms(x))
    top = float(np.abs(y).max()) if y.size else 0.0
    return y * (peak / top) if top > peak else y


def augment_speech(x: np.ndarray, sr: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Maybe reverb (p 0.5, RT60 0.1-0.7 s), maybe noise (p 0.5, SNR 10-40 dB); then -20
    dBFS RMS. Returns the audio and what was done."""
    info: dict = {}
    if rng.random() < 0.5:
        rt60 = float(rng.uniform(0.1, 0.7))
        x = fft_convolve(x, room_ir(rng, sr, rt60))
        info["reverb_rt60"] = round(rt60, 3)
    if rng.random() < 0.5:
        color = str(rng.choice(["white", "pink", "brown"]))
        snr = float(rng.uniform(10, 40))
        x = x + colored_noise(rng, x.shape[-1], color) * rms(x) * 10 ** (-snr / 20)
        info["noise"] = {"color": color, "snr_db": round(snr, 1)}
    return normalize_level(x, -20.0), info


# ------------------------------------------------------------------------------- texts
SENTENCES_EN = (
    "The quick brown fox jumps over the lazy dog near the riverbank.",
    "Please remember to close the window before you leave the office tonight.",
    "A gentle breeze carried the smell of fresh bread through the narrow street.",
    "How much wood would a woodchuck chuck if a woodchuck could chuck wood?",
    "Seven silver spoons were found beneath the old wooden floorboards.",
    "The committee will announce its decision early next Thursday morning.",
    "She sells sea shells by the sea shore, and the shells are surely real.",
    "Turn left at the second traffic light, then keep going for two miles.",
    "Our train was delayed by forty minutes because of a signal failure.",
    "Bright yellow tulips bloom in the garden every April without fail.",
    "Could you tell me the way to the nearest post office, please?",
    "The orchestra tuned their instruments while the audience found their seats.",
    "Thirty-three thousand people watched the final match in the rain.",
    "He whispered the answer so quietly that nobody else could hear it.",
    "Measure twice and cut once, my grandfather always used to say.",
    "The laboratory results should be ready by the end of the week.",
    "Heavy clouds rolled in from the west as the fishermen hurried home.",
    "I would like a cup of black coffee and a slice of apple pie.",
    "The museum opens at nine and closes at half past five on weekdays.",
    "Zebras, giraffes and elephants gathered around the shrinking water hole.",
    "Every morning she jogs along the beach before the sun comes up.",
    "The pilot announced that we would land about twenty minutes early.",
    "Children laughed and shouted as the kite climbed higher into the sky.",
    "This software update fixes several bugs and improves battery life.",
    "Which of these three roads leads back to the village square?",
    "The library book was returned six months late and slightly damp.",
    "Quarterly profits rose by eight percent despite the weaker economy.",
    "Footsteps echoed down the empty corridor long after midnight.",
    "Judge Harris postponed the hearing until the witnesses could attend.",
    "My neighbour's dog barks at every passing bicycle and delivery van.",
    "Snow fell softly on the mountains, covering the pines in white.",
    "Vivid purple flowers lined both sides of the winding country lane.",
    "The chef added a pinch of salt, some pepper, and a splash of wine.",
    "Why does the kettle always boil faster when nobody is watching?",
    "Engineers inspected the bridge for cracks after the earthquake.",
    "Sixty-five years ago this small town had neither roads nor electricity.",
    "Good evening, and welcome to the nine o'clock news.",
    "Just a moment, I think I left my keys in the other jacket.",
    "The violinist played a haunting melody that silenced the whole room.",
    "Rain or shine, the market sets up in the square every Saturday.",
    "Excuse me, is this seat taken, or may I sit here for a while?",
    "The thunderstorm knocked out power across the northern suburbs.",
    "Astronomers discovered a faint comet moving slowly past Jupiter.",
    "Oh no, the milk has gone sour again; we need to buy some more.",
    "Fresh oysters, crab cakes, and grilled salmon were on the menu.",
    "Listen carefully, because I will only explain the rules once.",
    "The ancient castle stood on a cliff high above the stormy sea.",
    "Nine hundred and ninety-nine red balloons drifted over the city.",
    "Would you rather travel by boat, by plane, or by overnight train?",
    "After a long pause, the professor smiled and nodded slowly.",
)
SENTENCES_OTHER = {
    "de": ("Der schnelle braune Fuchs springt über den faulen Hund.",
           "Morgen früh fahren wir mit dem Zug nach Hamburg.",
           "Könnten Sie mir bitte sagen, wie spät es ist?",
           "Im Sommer schwimmen die Kinder gern im kalten See."),
    "fr-fr": ("Le petit chat dort tranquillement sur le canapé rouge.",
              "Nous irons au marché samedi matin pour acheter des fruits.",
              "Pourriez-vous parler un peu plus lentement, s'il vous plaît?",
              "Il pleut depuis trois jours sur toute la région."),
    "es": ("El perro corre rápidamente por el parque cada mañana.",
           "Mañana vamos a visitar a mis abuelos en el campo.",
           "¿Dónde está la estación de tren más cercana?",
           "La comida estaba deliciosa y el servicio fue excelente."),
    "it": ("Il sole splende sulle colline della Toscana.",
           "Vorrei un caffè e un cornetto alla crema, per favore.",
           "Domani partiamo presto per evitare il traffico.",
           "La biblioteca resta aperta fino alle otto di sera."),
    "pt": ("O menino brincava com o cachorro no quintal.",
           "Amanhã vamos à praia se não chover.",
           "Você sabe onde fica a farmácia mais próxima?",
           "O concerto começou com meia hora de atraso."),
    "nl": ("De fietser reed langzaam langs het kanaal.",
           "Wij gaan morgen naar de markt in het centrum.",
           "Kunt u mij helpen met deze zware koffer?",
           "Het regent al de hele dag in Amsterdam."),
    "sv": ("Solen går ner sent på sommaren i norr.",
           "Vi ska äta middag hos mina föräldrar på söndag.",
           "Kan du stänga dörren när du går ut?",
           "Tåget till Göteborg är försenat i dag."),
    "pl": ("Pies szczeka głośno na listonosza każdego ranka.",
           "Jutro pojedziemy pociągiem do Krakowa.",
           "Czy możesz mi pomóc z tym zadaniem?",
           "W zimie często pada śnieg w górach."),
    "cs": ("Vlak do Prahy odjíždí za deset minut.",
           "Dnes večer půjdeme do kina s přáteli.",
           "Můžete mi prosím ukázat cestu na nádraží?",
           "Na zahradě kvetou červené růže."),
    "fi": ("Kissa nukkuu ikkunalaudalla auringossa.",
           "Huomenna menemme mökille järven rannalle.",
           "Voisitko auttaa minua kantamaan tämän laatikon?",
           "Talvella on pimeää ja kylmää."),
    "id": ("Saya suka minum teh hangat di pagi hari.",
           "Besok kami akan pergi ke pasar bersama ibu.",
           "Di mana letak stasiun kereta yang terdekat?",
           "Hujan turun deras sepanjang malam."),
    "tr": ("Kedi bahçede güneşin altında uyuyor.",
           "Yarın sabah erkenden yola çıkacağız.",
           "Bana en yakın eczanenin yerini söyler misiniz?",
           "Kışın dağlara çok kar yağar."),
}
ENGLISH_VOICES = ("en-us", "en-gb", "en-gb-x-rp", "en-gb-scotland", "en-029", "en-us-nyc",
                  "en-gb-x-gbclan")
ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
                   "klatt", "klatt2", "klatt3", "klatt4", "croak", "Andy", "Annie", "Alicia",
                   "Andrea", "Denis", "Gene", "Jacky", "Lee", "Linda", "Max", "Michael",
                   "Mr_Serious", "Paul", "Rob", "Steph", "Storm", "Tweaky", "Zac", "anika",
                   "grandma", "grandpa", "norbert", "shelby", "travis", "victor",
                   "female_whisper", "whisper")
FLITE_VOICES = ("kal16", "rms")  # not slt / awb: CMU ARCTIC speakers of evaluation clips


# --------------------------------------------------------------------------- the build
@dataclass
class CorpusSpec:
    """What to build. Minutes are targets for the synthesised sources (before augmentation)."""

    seed: int = 0
    sources: tuple[str, ...] = ALL_SOURCES
    espeak_minutes: float = 60.0
    flite_minutes: float = 10.0
    music_minutes: float = 20.0
    valid_percent: float = 2.0
    reference_dir: str | None = None  # evaluation clips to exclude (default: the repo's)
    #: more recordings of your own: every sound file under extra_dir (source "extra"), with
    #: the kind and license you state; checked against the evaluation clips like the rest
    extra_dir: str | None = None
    extra_kind: str = "speech"
    extra_license: str = "unspecified"


@dataclass
class Entry:
    """One corpus file as recorded in the manifest."""

    file: str
    kind: str  # one of CORPUS_KINDS
    source: str
    license: str
    origin: str
    duration: float
    sample_rate: int
    channels: int
    sha256: str
    split: str = "train"
    params: dict = field(default_factory=dict)


def _split(name: str, valid_percent: float) -> str:
    bucket = int(sha256_bytes(name.encode())[:8], 16) % 10000
    return "valid" if bucket < valid_percent * 100 else "train"


def _rng(seed: int, source: str, index: int) -> np.random.Generator:
    tag = int(sha256_bytes(source.encode())[:8], 16)
    return np.random.default_rng(np.random.SeedSequence([seed, tag, index]))


class _Writer:
    """Writes FLAC files under the corpus root, checks them, and collects manifest entries."""

    def __init__(self, root: Path, spec: CorpusSpec, exclusion: EvalExclusion,
                 log: Callable[[str], None]) -> None:
        self.root, self.spec, self.exclusion, self.log = root, spec, exclusion, log
        self.entries: list[Entry] = []
        self.skipped: list[dict] = []

    def add(self, rel: str, audio: np.ndarray, sr: int, *, kind: str, source: str,
            license: str, origin: str, params: dict | None = None) -> None:
        """audio: [T] or [T, C] float in [-1, 1]."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = np.clip(np.asarray(audio, dtype=np.float64), -1.0, 1.0)
        atomic_write_bytes(path, lambda tmp: sf.write(tmp, data, sr, format="FLAC",
                                                      subtype="PCM_16"))
        try:
            self.exclusion.check_file(path, name=origin)
        except ExcludedClipError:
            path.unlink()
            raise
        channels = 1 if data.ndim == 1 else data.shape[1]
        self.entries.append(Entry(
            file=rel, kind=kind, source=source, license=license, origin=origin,
            duration=round(data.shape[0] / sr, 4), sample_rate=sr, channels=channels,
            sha256=sha256_path(path), split=_split(rel, self.spec.valid_percent),
            params=params or {}))


def _tool_version(cmd: Sequence[str]) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else None


def _package_version(package: str, exe: str) -> str | None:
    """The installed Debian package's version, else the tool's own first line of --version."""
    if shutil.which("dpkg-query"):
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package],
                             capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            return f"{package} {out.stdout.strip()}"
    return _tool_version([exe, "--version"])


def _espeak(w: _Writer, minutes: float, seed: int) -> dict:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed: apt-get install espeak-ng (or leave "
                           "'espeak' out of --sources)")
    listed = subprocess.run([exe, "--voices=variant"], capture_output=True, text=True).stdout
    variants = [v for v in ESPEAK_VARIANTS if re.search(rf"\s!v/{re.escape(v)}\s", listed)]
    languages = list(SENTENCES_OTHER)
    total, i = 0.0, 0
    with tempfile.TemporaryDirectory() as tmp:
        while total < minutes * 60:
            rng = _rng(seed, "espeak", i)
            if rng.random() < 0.7:
                voice = str(rng.choice(ENGLISH_VOICES))
                pool = SENTENCES_EN
            else:
                voice = str(rng.choice(languages))
                pool = SENTENCES_OTHER[voice]
            n = int(rng.integers(2, 5))
            text = " ".join(str(s) for s in rng.choice(pool, size=n, replace=False))
            variant = str(rng.choice(variants)) if variants else ""
            pitch, speed = int(rng.integers(15, 86)), int(rng.integers(120, 221))
            gap = int(rng.integers(0, 4))
            out = Path(tmp) / "s.wav"
            args = [exe, "-v", f"{voice}+{variant}" if variant else voice, "-p", str(pitch),
                    "-s", str(speed), "-g", str(gap), "-w", str(out), text]
            subprocess.run(args, check=True, capture_output=True, timeout=120)
            x, sr = sf.read(out, dtype="float64")
            if x.ndim > 1:
                x = x.mean(axis=1)
            if rms(x) < 1e-4:
                i += 1
                continue
            x, aug = augment_speech(x, sr, rng)
            w.add(f"espeak/espeak_{i:05d}.flac", x, sr, kind="speech", source="espeak",
                  license="generated with espeak-ng (GPL-3+ program; output unrestricted)",
                  origin=f"espeak-ng voice {voice}+{variant}",
                  params={"voice": voice, "variant": variant, "pitch": pitch, "speed": speed,
                          "word_gap": gap, "text": text, **aug})
            total += x.shape[0] / sr
            i += 1
    return {"espeak-ng": _package_version("espeak-ng", exe), "files": i}


def _flite(w: _Writer, minutes: float, seed: int) -> dict:
    exe = shutil.which("flite")
    if exe is None:
        raise RuntimeError("flite is not installed: apt-get install flite (or leave 'flite' "
                           "out of --sources)")
    total, i = 0.0, 0
    with tempfile.TemporaryDirectory() as tmp:
        while total < minutes * 60:
            rng = _rng(seed, "flite", i)
            voice = str(rng.choice(FLITE_VOICES))
            text = " ".join(str(s) for s in rng.choice(SENTENCES_EN, size=int(
                rng.integers(2, 5)), replace=False))
            stretch = round(float(rng.uniform(0.8, 1.3)), 3)
            f0 = int(rng.integers(85, 200))
            out = Path(tmp) / "s.wav"
            subprocess.run([exe, "-voice", voice, "--setf", f"duration_stretch={stretch}",
                            "--setf", f"int_f0_target_mean={f0}", "-t", text, "-o", str(out)],
                           check=True, capture_output=True, timeout=120)
            x, sr = sf.read(out, dtype="float64")
            x, aug = augment_speech(x, sr, rng)
            w.add(f"flite/flite_{i:05d}.flac", x, sr, kind="speech", source="flite",
                  license="generated with flite (BSD-like program; output unrestricted)",
                  origin=f"flite voice {voice}",
                  params={"voice": voice, "duration_stretch": stretch, "f0_mean": f0,
                          "text": text, **aug})
            total += x.shape[0] / sr
            i += 1
    return {"flite": _package_version("flite", exe), "files": i}


# -------------------------------------------------------------------------- music synth
_SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10),
           "dorian": (0, 2, 3, 5, 7, 9, 10), "pentatonic": (0, 2, 4, 7, 9),
           "blues": (0, 3, 5, 6, 7, 10)}


def _midi_hz(m: float) -> float:
    return 440.0 * 2 ** ((m - 69) / 12)


def _adsr(n: int, sr: int, a: float, d: float, s: float, r: float) -> np.ndarray:
    """Attack/decay/sustain/release envelope of n samples (release inside the note)."""
    t = np.arange(n) / sr
    dur = n / sr
    env = np.where(t < a, t / max(a, 1e-4),
                   np.maximum(s, 1 - (1 - s) * (t - a) / max(d, 1e-4)))
    rel_start = max(dur - r, a)
    env = np.where(t > rel_start, env * np.clip(1 - (t - rel_start) / max(r, 1e-4), 0, 1), env)
    return env


def _tone(rng: np.random.Generator, inst: str, f0: float, dur: float, sr: int) -> np.ndarray:
    """One note of an instrument (mono)."""
    n = max(1, int(dur * sr))
    t = np.arange(n) / sr
    nyq = sr / 2
    if inst == "bell":  # FM
        ratio = float(rng.choice([1.4, 2.0, 3.5, 2.76]))
        index = float(rng.uniform(1, 5)) * np.exp(-t * rng.uniform(1, 4))
        y = np.sin(2 * np.pi * f0 * t + index * np.sin(2 * np.pi * f0 * ratio * t))
        return y * np.exp(-t * rng.uniform(1.5, 4))
    vib = 1 + (0.004 * np.sin(2 * np.pi * rng.uniform(4, 6.5) * t)
               if inst in ("lead", "strings", "pad") else 0)
    spec = {"pluck": (16, 1.1, 0.0), "piano": (20, 1.3, 0.0004), "organ": (8, 0.6, 0.0),
            "bass": (10, 1.0, 0.0), "lead": (14, 1.0, 0.0), "strings": (18, 1.0, 0.0),
            "pad": (10, 1.6, 0.0)}[inst]
    n_harm, tilt, inharm = spec
    y = np.zeros(n)
    decay_base = float(rng.uniform(1.0, 3.0))
    for k in range(1, n_harm + 1):
        fk = f0 * k * np.sqrt(1 + inharm * k * k)
        if fk >= nyq * 0.95:
            break
        amp = 1.0 / k ** tilt
        if inst == "lead" and k % 2 == 0:
            amp *= 0.15
        phase = rng.uniform(0, 2 * np.pi)
        partial = amp * np.sin(2 * np.pi * fk * t * vib + phase)
        if inst in ("pluck", "piano", "bass"):
            partial *= np.exp(-t * decay_base * (1 + 0.35 * (k - 1)))
        if inst == "strings":  # detuned unison
            partial += amp * 0.6 * np.sin(2 * np.pi * fk * 1.004 * t * vib + phase + 1.0)
        y += partial
    if inst == "pluck":  # a little pick noise
        y[: int(0.005 * sr)] += rng.standard_normal(min(n, int(0.005 * sr))) * 0.3
    env = {"pluck": (0.003, 0.1, 0.9, 0.05), "piano": (0.004, 0.2, 0.8, 0.08),
           "organ": (0.02, 0.05, 0.9, 0.05), "bass": (0.005, 0.15, 0.7, 0.05),
           "lead": (0.03, 0.1, 0.75, 0.08), "strings": (0.25, 0.2, 0.85, 0.3),
           "pad": (0.4, 0.3, 0.8, 0.5)}[inst]
    return y * _adsr(n, sr, *env)


def _drum(rng: np.random.Generator, kind: str, sr: int) -> np.ndarray:
    n = int({"kick": 0.45, "snare": 0.3, "hat": 0.12, "open_hat": 0.4, "tom": 0.5,
             "clap": 0.25}[kind] * sr)
    t = np.arange(n) / sr
    if kind in ("kick", "tom"):
        f_hi, f_lo = (160, 45) if kind == "kick" else (260, 110)
        freq = f_lo + (f_hi - f_lo) * np.exp(-t * 30)
        y = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t * (9 if kind == "kick" else 7))
        y[: int(0.002 * sr)] += rng.standard_normal(int(0.002 * sr)) * 0.5
        return y
    noise = rng.standard_normal(n)
    if kind in ("hat", "open_hat"):
        noise = np.diff(np.diff(noise, prepend=0), prepend=0)  # bright
        return noise / 3 * np.exp(-t * (45 if kind == "hat" else 9))
    if kind == "snare":
        body = np.sin(2 * np.pi * 185 * t) * np.exp(-t * 25)
        return 0.7 * noise * np.exp(-t * 18) + body
    env = sum(np.exp(-np.clip(t - d, 0, None) * 60) * (t >= d) for d in (0, 0.011, 0.023))
    return noise * env * 0.6  # clap


def _pan(x: np.ndarray, pos: float) -> np.ndarray:
    """Equal-power pan of mono x to [T, 2]; pos in [-1, 1]."""
    a = (pos + 1) * np.pi / 4
    return np.stack([x * np.cos(a), x * np.sin(a)], axis=1)


def synth_piece(rng: np.random.Generator, sr: int = 48000,
                seconds: float = 12.0) -> tuple[np.ndarray, dict]:
    """A short piece [T, 2]: chords, bass, melody and drums in a random key, scale, tempo and
    instrumentation (any part may be absent); panned, with stereo reverb."""
    bpm = float(rng.uniform(70, 160))
    beat = 60 / bpm
    scale_name = str(rng.choice(list(_SCALES)))
    scale = _SCALES[scale_name]
    root = int(rng.integers(40, 56))
    n = int(seconds * sr)
    mix = np.zeros((n, 2))
    parts = {"chords": rng.random() < 0.8, "bass": rng.random() < 0.7,
             "melody": rng.random() < 0.85, "drums": rng.random() < 0.6}
    if not any(parts.values()):
        parts["melody"] = True
    insts = {"chords": str(rng.choice(["piano", "pad", "organ", "strings", "pluck"])),
             "melody": str(rng.choice(["lead", "pluck", "piano", "bell", "strings"])),
             "bass": "bass"}

    def deg(d: int) -> int:
        return root + 12 * (d // len(scale)) + scale[d % len(scale)]

    def place(y: np.ndarray, start: float, pos: float, gain: float) -> None:
        i = int(start * sr)
        if i >= n:
            return
        seg = _pan(y[: n - i] * gain, pos)
        mix[i: i + seg.shape[0]] += seg

    bar = 4 * beat
    progression = [int(d) for d in rng.choice([0, 3, 4, 5, 1, 2], size=4)]
    pans = {k: float(rng.uniform(-0.7, 0.7)) for k in ("chords", "melody", "bass")}
    n_bars = int(np.ceil(seconds / bar))
    for b in range(n_bars):
        t0 = b * bar
        chord_deg = progression[b % 4]
        if parts["chords"]:
            strum = insts["chords"] in ("pluck", "piano") and rng.random() < 0.5
            hits = [0.0, 2 * beat] if strum else [0.0]
            for h in hits:
                for j, d in enumerate((0, 2, 4)):
                    f = _midi_hz(deg(chord_deg + d) + 12)
                    y = _tone(rng, insts["chords"], f, bar / len(hits), sr)
                    place(y, t0 + h + (0.015 * j if strum else 0), pans["chords"], 0.12)
        if parts["bass"]:
            for k in range(4):
                if rng.random() < 0.8:
                    f = _midi_hz(deg(chord_deg + (0 if k % 2 == 0 else 4)) - 12)
                    place(_tone(rng, "bass", f, beat * 0.9, sr), t0 + k * beat, pans["bass"] * 0.3,
                          0.3)
        if parts["melody"]:
            pos_deg = int(rng.integers(7, 12))
            t = 0.0
            while t < bar - 1e-6:
                dur = float(rng.choice([0.5, 0.5, 1.0, 1.0, 2.0, 0.25])) * beat
                pos_deg = int(np.clip(pos_deg + rng.integers(-2, 3), 3, 16))
                if rng.random() < 0.85:
                    y = _tone(rng, insts["melody"], _midi_hz(deg(pos_deg) + 12), dur * 0.95, sr)
                    place(y, t0 + t, pans["melody"], 0.2)
                t += dur
        if parts["drums"]:
            for k in range(8):
                at = t0 + k * beat / 2
                if k in (0, 4) or (k == 6 and rng.random() < 0.3):
                    place(_drum(rng, "kick", sr), at, 0.0, 0.5)
                if k in (2, 6):
                    place(_drum(rng, "snare" if rng.random() < 0.8 else "clap", sr), at, 0.1,
                          0.3)
                place(_drum(rng, "hat" if rng.random() < 0.85 else "open_hat", sr), at, -0.3,
                      0.12)
                if rng.random() < 0.05:
                    place(_drum(rng, "tom", sr), at, 0.4, 0.3)
    rt60 = float(rng.uniform(0.3, 1.8))
    wet = float(rng.uniform(0.05, 0.35))
    out = np.stack([mix[:, c] + wet * fft_convolve(mix[:, c], room_ir(rng, sr, rt60)[1:])
                    for c in range(2)], axis=1)
    info = {"bpm": round(bpm, 1), "scale": scale_name, "root": root,
            "parts": [k for k, v in parts.items() if v], "instruments": insts,
            "reverb_rt60": round(rt60, 2), "wet": round(wet, 2)}
    return normalize_level(out, -18.0), info


def _music(w: _Writer, minutes: float, seed: int) -> dict:
    total, i = 0.0, 0
    while total < minutes * 60:
        rng = _rng(seed, "music", i)
        seconds = float(rng.uniform(8, 20))
        y, info = synth_piece(rng, 48000, seconds)
        w.add(f"music/synth_{i:05d}.flac", y, 48000, kind="music", source="music",
              license="synthesised by this project (MIT)", origin="conformance synth_piece",
              params=info)
        total += seconds
        i += 1
    return {"files": i}


# --------------------------------------------------------------------- Debian packages
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


def _real_file(w: _Writer, src: Path, rel: str, *, kind: str, source: str, license: str,
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


def _codec2(w: _Writer, cache: Path) -> dict:
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


def _sonicpi(w: _Writer, cache: Path) -> dict:
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


def _alsa(w: _Writer, cache: Path) -> dict:
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


def _csound(w: _Writer, cache: Path) -> dict:
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


def _extra(w: _Writer, spec: CorpusSpec) -> dict:
    base = Path(spec.extra_dir).expanduser()
    files = sorted(p for p in base.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    for i, src in enumerate(files):
        _real_file(w, src, f"extra/{i:05d}_{src.stem}.flac", kind=spec.extra_kind,
                   source="extra", license=spec.extra_license,
                   origin=str(src.relative_to(base)))
    return {"extra_dir": str(base), "files": len(files)}


def build_corpus(out_dir: str | os.PathLike, spec: CorpusSpec | None = None, *,
                 cache_dir: str | os.PathLike | None = None,
                 log: Callable[[str], None] = print) -> dict:
    """Build the corpus into out_dir (its previous manifest and files are replaced) and write
    `manifest.json`; returns the manifest. `cache_dir` keeps downloaded packages (default:
    out_dir/../debian-cache)."""
    spec = spec or CorpusSpec()
    unknown = sorted(set(spec.sources) - set(ALL_SOURCES))
    if unknown:
        raise ValueError(f"unknown source(s) {unknown}; known: {', '.join(ALL_SOURCES)}")
    root = Path(out_dir).expanduser().resolve()
    if REPO_REFERENCE_AUDIO.resolve() in (root, *root.parents):
        raise ExcludedClipError(f"{root}: the corpus may not live in reference_audio/")
    cache = Path(cache_dir).expanduser() if cache_dir else root.parent / "debian-cache"
    root.mkdir(parents=True, exist_ok=True)
    for source in (*ALL_SOURCES, "extra"):  # a rebuild starts clean
        if (root / source).is_dir():
            shutil.rmtree(root / source)
    exclusion = EvalExclusion.from_reference_dir(spec.reference_dir)
    w = _Writer(root, spec, exclusion, log)
    versions: dict[str, object] = {}
    steps: dict[str, Callable[[], dict]] = {
        "espeak": lambda: _espeak(w, spec.espeak_minutes, spec.seed),
        "flite": lambda: _flite(w, spec.flite_minutes, spec.seed),
        "music": lambda: _music(w, spec.music_minutes, spec.seed),
        "codec2": lambda: _codec2(w, cache),
        "sonicpi": lambda: _sonicpi(w, cache),
        "alsa": lambda: _alsa(w, cache),
        "csound": lambda: _csound(w, cache),
        "extra": lambda: _extra(w, spec),
    }
    sources = list(spec.sources) + (["extra"] if spec.extra_dir else [])
    for source in sources:
        t0 = time.time()
        n0 = len(w.entries)
        versions[source] = steps[source]()
        dur = sum(e.duration for e in w.entries[n0:])
        log(f"{source}: {len(w.entries) - n0} files, {dur / 60:.1f} min "
            f"({time.time() - t0:.0f} s)")
    manifest = {
        "format": "encodec-conformance corpus v1",
        "spec": asdict(spec),
        "versions": versions,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "totals": _totals(w.entries),
        "excluded_eval_sha256": sorted(exclusion.file_sha256),
        "skipped": w.skipped,
        "files": [asdict(e) for e in w.entries],
    }
    text = json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"
    atomic_write_bytes(root / MANIFEST, lambda tmp: Path(tmp).write_text(text))
    return manifest


def _totals(entries: Iterable[Entry]) -> dict[str, float]:
    out: dict[str, float] = {}
    for e in entries:
        key = f"{e.kind}_{e.split}_minutes"
        out[key] = round(out.get(key, 0.0) + e.duration / 60, 2)
    return out


def read_manifest(corpus_dir: str | os.PathLike) -> dict:
    path = Path(corpus_dir).expanduser() / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no corpus manifest; build one with "
                                "`python golden_checkpoints/build_corpus.py`")
    return json.loads(path.read_text())


def verify_corpus(corpus_dir: str | os.PathLike, exclusion: EvalExclusion | None = None) -> int:
    """Check every manifest file's sha256 and that none is an evaluation clip; returns the
    number of files checked."""
    root = Path(corpus_dir).expanduser()
    manifest = read_manifest(root)
    exclusion = exclusion or EvalExclusion.from_reference_dir()
    for e in manifest["files"]:
        path = root / e["file"]
        if sha256_path(path) != e["sha256"]:
            raise ValueError(f"{path}: sha256 differs from the manifest")
        exclusion.check_file(path, name=e.get("origin"))
    return len(manifest["files"])


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(DEFAULT_CORPUS_DIR), help="corpus directory "
                   "(default %(default)s; env ENCODEC_CONFORMANCE_CORPUS)")
    p.add_argument("--cache", default=None, help="where Debian packages are kept "
                   "(default: OUT/../debian-cache)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sources", default=",".join(ALL_SOURCES),
                   help="comma-separated subset of: %(default)s")
    p.add_argument("--espeak-minutes", type=float, default=60.0)
    p.add_argument("--flite-minutes", type=float, default=10.0)
    p.add_argument("--music-minutes", type=float, default=20.0)
    p.add_argument("--valid-percent", type=float, default=2.0)
    p.add_argument("--extra-dir", default=None, help="add every sound file under this "
                   "directory (your own recordings; never the evaluation clips)")
    p.add_argument("--extra-kind", default="speech", choices=CORPUS_KINDS)
    p.add_argument("--extra-license", default="unspecified",
                   help="license recorded for the --extra-dir files")
    p.add_argument("--verify", action="store_true", help="only re-check an existing corpus")
    args = p.parse_args(argv)
    if args.verify:
        print(f"{verify_corpus(args.out)} files verified in {args.out}")
        return 0
    spec = CorpusSpec(seed=args.seed, sources=tuple(s for s in args.sources.split(",") if s),
                      espeak_minutes=args.espeak_minutes, flite_minutes=args.flite_minutes,
                      music_minutes=args.music_minutes, valid_percent=args.valid_percent,
                      extra_dir=args.extra_dir, extra_kind=args.extra_kind,
                      extra_license=args.extra_license)
    manifest = build_corpus(args.out, spec, cache_dir=args.cache)
    print(json.dumps(manifest["totals"], indent=1))
    print(f"manifest: {Path(args.out).expanduser() / MANIFEST}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
