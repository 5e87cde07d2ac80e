"""Synthesised music source: short 48 kHz stereo pieces (chords, bass, melody, drums) made from
the seed, with additive and FM instruments, panning and stereo reverb."""

from __future__ import annotations

import numpy as np

from conformance.training.corpus.dsp import fft_convolve, normalize_level, room_ir
from conformance.training.corpus.writer import CorpusWriter, source_rng

__all__ = ["add_music", "synth_piece"]

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


def add_music(w: CorpusWriter, minutes: float, seed: int) -> dict:
    """About `minutes` of `synth_piece` pieces, one seed per piece."""
    total, i = 0.0, 0
    while total < minutes * 60:
        rng = source_rng(seed, "music", i)
        seconds = float(rng.uniform(8, 20))
        y, info = synth_piece(rng, 48000, seconds)
        w.add(f"music/synth_{i:05d}.flac", y, 48000, kind="music", source="music",
              license="synthesised by this project (MIT)", origin="conformance synth_piece",
              params=info)
        total += seconds
        i += 1
    return {"files": i}
