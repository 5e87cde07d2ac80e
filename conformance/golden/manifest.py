"""Golden-checkpoint manifests: what a trained checkpoint must keep producing.

`build_manifest` runs a checkpoint over reference clips at every bandwidth of its ladder and
records, per clip x bandwidth, the codes' sha256 (int64 little-endian bytes of
`Encoded.codes`) with per-chunk shapes, the first frames of every codebook in clear and the
whole codes packed (`pack_codes`: int16, zlib, base64), the
sha256 and RMS of the decoded float32 audio (trimmed to the input length), and metrics (each a
value or not_computed with its reason). `write_regression_decodes` stores each clip's
top-bandwidth decode as 16-bit FLAC next to the manifest (`<name>.<clip>.flac`), since the
float audio itself is only hashed. `verify_manifest` re-runs everything on CPU and returns one
`Finding` per check. Codes that differ from the pinned ones pass only where each pinned code is
a near-tie on this machine's latent (`conformance.model.near_ties`: float32 rounding of another
CPU can pick the other of two almost equally near codewords); the decode checks then decode the
pinned codes, so they judge the decoder alone.

    manifest = build_manifest(ckpt, seconds=4.0, training={"command": ..., "commit": ...})
    write_regression_decodes(ckpt, manifest, "out", "tiny24")
    write_manifest(manifest, "out/tiny24.manifest.json")
    findings = verify_manifest(ckpt, "out/tiny24.manifest.json")
"""

from __future__ import annotations

import base64
import json
import math
import sys
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch

from conformance.audio.clips import edge_clips, music_clips, reference_clip, speech_clips
from conformance.checkpoints.load import load_checkpoint
from conformance.errors import InvalidArgument
from conformance.fileio import atomic_write_bytes, atomic_write_text, sha256_bytes, sha256_file
from conformance.golden.runs import clip_audio, encode_decode
from conformance.model.encodec import EncodecModel, Encoded, EncodedChunk
from conformance.model.near_ties import NEAR_TIE_RTOL, CodeArbiter
from conformance.quality.metrics import compute_metrics, si_sdr
from conformance.status import Status

__all__ = ["DEFAULT_EDGE_SIGNALS", "DEFAULT_TOLERANCE", "FIRST_FRAMES", "MANIFEST_METRICS",
           "MANIFEST_VERSION", "Finding", "audio_sha256", "build_manifest", "codes_sha256",
           "default_clips", "format_findings", "pack_codes", "read_manifest", "unpack_codes",
           "verify_manifest", "write_manifest", "write_regression_decodes"]

MANIFEST_VERSION = 2
#: Metrics recorded per clip x bandwidth.
MANIFEST_METRICS: tuple[str, ...] = ("pesq_wb", "stoi", "si_sdr", "mel_distance")
#: Frames of every codebook stored in clear (to locate a codes mismatch).
FIRST_FRAMES = 4
#: Edge signals added to the default clip list (suffix chosen by the model's channel count).
DEFAULT_EDGE_SIGNALS: tuple[str, ...] = ("silence", "impulses", "log_sweep")
#: Allowed |observed - expected| per metric; `regression_si_sdr_db` is the minimum SI-SDR of a
#: new top-bandwidth decode against the stored FLAC; `decoded_rms_rel` the relative RMS band
#: used when a decode is not bitwise identical.
DEFAULT_TOLERANCE: dict[str, float] = {
    "pesq_wb": 0.05, "stoi": 0.01, "si_sdr": 0.5, "mel_distance": 0.05,
    "regression_si_sdr_db": 50.0, "decoded_rms_rel": 1e-3,
}
_PEAK = 0.99


@dataclass(frozen=True)
class Finding:
    """One verification check: `status` passed / failed / not_computed, what was observed and
    expected, and a message in "observed, but should be expected [call]" form."""

    check: str
    status: Status
    observed: Any
    expected: Any
    message: str
    clip: str | None = None
    bandwidth: float | None = None

    @property
    def failed(self) -> bool:
        return self.status is Status.FAILED


# ------------------------------------------------------------------------------------ helpers
def codes_sha256(codes: torch.Tensor) -> str:
    """sha256 of the codes as int64 little-endian bytes (C order)."""
    data = codes.detach().cpu().to(torch.int64).contiguous().numpy().astype("<i8")
    return sha256_bytes(data.tobytes())


def pack_codes(codes: torch.Tensor) -> str:
    """Codes [B, K, T] as text: int16 little-endian (C order), zlib level 9, base64."""
    data = codes.detach().cpu().to(torch.int64).contiguous().numpy()
    if data.size and (data.min() < 0 or data.max() > np.iinfo(np.int16).max):
        raise InvalidArgument(f"codes in [{data.min()}, {data.max()}] do not fit int16")
    return base64.b64encode(zlib.compress(data.astype("<i2").tobytes(), 9)).decode("ascii")


def unpack_codes(text: str, shape: list[int]) -> torch.Tensor:
    """The int64 codes `pack_codes` packed, of `shape`; a damaged field is refused."""
    try:
        raw = zlib.decompress(base64.b64decode(text.encode("ascii"), validate=True))
    except (ValueError, zlib.error) as exc:
        raise InvalidArgument(f"packed codes are damaged ({exc})") from exc
    count = math.prod(shape)
    if len(raw) != 2 * count:
        raise InvalidArgument(f"packed codes hold {len(raw) // 2} values, shape {shape} needs "
                              f"{count}")
    return torch.from_numpy(np.frombuffer(raw, dtype="<i2").astype(np.int64).reshape(shape))


def audio_sha256(wav: torch.Tensor) -> str:
    """sha256 of the audio as float32 little-endian bytes (C order)."""
    return sha256_bytes(wav.detach().cpu().float().contiguous().numpy().astype("<f4").tobytes())


def _bw_key(bandwidth: float) -> str:
    return repr(float(bandwidth))


def default_clips(channels: int = 1) -> list[str]:
    """The speech and music recordings plus a few edge signals matching `channels`."""
    suffix = "24k_mono" if channels == 1 else "48k_stereo"
    edges = set(edge_clips())
    wanted = [f"{s}_{suffix}" for s in DEFAULT_EDGE_SIGNALS]
    return [*speech_clips(), *music_clips(), *(n for n in wanted if n in edges)]


def _call(ckpt: str, clip: str, sr: int, ch: int, n: int, bw: float) -> str:
    return (f"{ckpt}: encode(load_reference({clip!r}, {sr}, {ch})[..., :{n}], "
            f"bandwidth={bw:g})")


def _metric_entries(ref: torch.Tensor, out: torch.Tensor, sr: int) -> dict[str, dict[str, Any]]:
    results = compute_metrics(ref, out, sr, list(MANIFEST_METRICS))
    return {name: ({"status": Status.COMPUTED.value, "value": r.value} if r.ok
                   else {"status": Status.NOT_COMPUTED.value, "reason": r.reason})
            for name, r in results.items()}


def _load_model(checkpoint_path: str | Path) -> EncodecModel:
    model = load_checkpoint(checkpoint_path).model
    return model.to("cpu").eval()


# ------------------------------------------------------------------------------------- build
def build_manifest(checkpoint_path: str | Path, clips: list[str] | None = None, *,
                   seconds: float | None = None, training: dict | None = None) -> dict:
    """Run the checkpoint (strictly loaded, CPU) over `clips` x every ladder bandwidth and
    return the JSON-able manifest. `training` (command, commit, wall time...) is stored as is."""
    path = Path(checkpoint_path)
    loaded = load_checkpoint(path)
    model = loaded.model.to("cpu").eval()
    cfg = loaded.config
    names = default_clips(model.channels) if clips is None else list(clips)
    sr, ch = model.sample_rate, model.channels
    entries: dict[str, Any] = {}
    for clip in names:
        wav = clip_audio(clip, model, seconds)
        per_bw: dict[str, Any] = {}
        for bw in model.bandwidths:
            enc, out = encode_decode(model, wav, bw)
            codes = enc.codes
            entry = {
                "n_q": int(enc.n_q),
                "codes_sha256": codes_sha256(codes),
                "codes_shape": list(codes.shape),
                "chunk_shapes": [list(c.codes.shape) for c in enc.chunks],
                "first_frames": codes[0, :, :FIRST_FRAMES].tolist(),
                "codes": pack_codes(codes),
                "decoded_sha256": audio_sha256(out),
                "decoded_rms": float(out.double().pow(2).mean().sqrt()),
                "metrics": _metric_entries(wav, out, sr),
            }
            per_bw[_bw_key(bw)] = entry
            shown = ", ".join(f"{k}={v['value']:.3f}" if "value" in v else f"{k}=n/a"
                              for k, v in entry["metrics"].items())
            print(f"[golden] {clip} @ {bw:g} kbps: codes {entry['codes_sha256'][:12]} "
                  f"rms {entry['decoded_rms']:.4g} {shown}", file=sys.stderr, flush=True)
        entries[clip] = {"kind": reference_clip(clip).kind, "samples": int(wav.shape[-1]),
                         "input_sha256": audio_sha256(wav), "bandwidths": per_bw}
    return {
        "manifest_version": MANIFEST_VERSION,
        "checkpoint": {"file": path.name, "sha256": sha256_file(path),
                       "size_bytes": path.stat().st_size, "format": loaded.format},
        "config": cfg.to_dict(),
        "training": dict(training or {}),
        "seconds": seconds,
        "sample_rate": sr,
        "channels": ch,
        "bandwidths": [float(b) for b in model.bandwidths],
        "metrics": list(MANIFEST_METRICS),
        "torch_version": torch.__version__,
        "clips": entries,
    }


def write_manifest(manifest: Mapping[str, Any], path: str | Path) -> Path:
    """Write `manifest` atomically as pretty JSON with sorted keys."""
    text = json.dumps(manifest, indent=2, sort_keys=True, allow_nan=False) + "\n"
    return atomic_write_text(path, text)


def read_manifest(path: str | Path) -> dict:
    """A manifest written by `write_manifest` (InvalidArgument on an unknown version)."""
    manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    if manifest.get("manifest_version") != MANIFEST_VERSION:
        raise InvalidArgument(f"{path}: manifest_version={manifest.get('manifest_version')!r}, "
                         f"but this code reads version {MANIFEST_VERSION}")
    return manifest


# ------------------------------------------------------------------------ regression decodes
def _to_int16(out: torch.Tensor, gain: float) -> np.ndarray:
    """[C, T] float -> [T, C] int16 = round(x * gain * 32768) clipped."""
    x = np.round(out.detach().cpu().double().numpy() * gain * 32768.0)
    return np.clip(x, -32768, 32767).astype("<i2").T.copy()


def write_regression_decodes(checkpoint_path: str | Path, manifest: dict, directory: str | Path,
                             name: str) -> list[Path]:
    """Write each clip's top-bandwidth decode as `<directory>/<name>.<clip>.flac` (16-bit,
    peak-normalised to 0.99 with the gain recorded) and record them in
    `manifest["regression_decodes"]`. Raises RuntimeError if a decode no longer matches the
    manifest's hash (the manifest was built from another checkpoint or machine)."""
    model = _load_model(checkpoint_path)
    directory = Path(directory)
    top = float(manifest["bandwidths"][-1])
    files: dict[str, Any] = {}
    paths = []
    for clip, info in manifest["clips"].items():
        wav = clip_audio(clip, model, manifest["seconds"])
        _, out = encode_decode(model, wav, top)
        expected = info["bandwidths"][_bw_key(top)]["decoded_sha256"]
        if audio_sha256(out) != expected:
            raise RuntimeError(f"{clip} @ {top:g} kbps: decoded sha256 {audio_sha256(out)}, "
                               f"but the manifest says {expected}")
        peak = float(out.abs().max())
        gain = _PEAK / peak if peak > 0 else 1.0
        pcm = _to_int16(out, gain)
        fname = f"{name}.{clip}.flac"
        path = atomic_write_bytes(directory / fname, lambda tmp, pcm=pcm: sf.write(
            tmp, pcm, model.sample_rate, format="FLAC", subtype="PCM_16"))
        files[clip] = {"file": fname, "gain": gain, "samples_sha256": sha256_bytes(pcm.tobytes())}
        paths.append(path)
    manifest["regression_decodes"] = {"bandwidth": top, "clips": files,
                                      "encoding": "int16 = round(x * gain * 32768) clipped, "
                                                  "[T, C] little-endian; FLAC PCM_16"}
    return paths


# ------------------------------------------------------------------------------------ verify
def _finding(check: str, status: Status, observed: Any, expected: Any, what: str, call: str,
             clip: str | None = None, bw: float | None = None, note: str = "") -> Finding:
    if status is Status.FAILED:
        msg = f"{what}={observed}, but should be {expected}{note} [{call}]"
    elif status is Status.NOT_COMPUTED:
        msg = f"{what} not computed: {observed}{note} [{call}]"
        observed = None
    else:
        msg = f"{what}={observed} as expected{note} [{call}]"
    return Finding(check, status, observed, expected, msg, clip, bw)


def _near_ties(model: EncodecModel, wav: torch.Tensor, enc: Encoded,
               old: Mapping[str, Any]) -> tuple[int, Encoded] | None:
    """When the pinned codes are stored and every difference from `enc`'s is a near-tie on
    this machine's latents: (how many codes differ, the pinned codes as an Encoded); else
    None (a real difference, or nothing stored to judge it by)."""
    if "codes" not in old or list(enc.codes.shape) != old["codes_shape"] or \
            [list(c.codes.shape) for c in enc.chunks] != old["chunk_shapes"]:
        return None
    try:
        pinned = unpack_codes(old["codes"], old["codes_shape"])
    except InvalidArgument:
        return None  # damaged: the codes finding fails as without stored codes
    if codes_sha256(pinned) != old["codes_sha256"]:
        return None
    arbiter = CodeArbiter(model, wav[None], NEAR_TIE_RTOL)
    chunks, start = [], 0
    for i, chunk in enumerate(enc.chunks):
        stop = start + chunk.codes.shape[-1]
        mine = pinned[..., start:stop]
        if arbiter(i, mine, chunk.codes) is not None:
            return None
        chunks.append(EncodedChunk(mine, chunk.scale, chunk.length))
        start = stop
    return arbiter.accepted, Encoded(chunks, enc.length, enc.n_q, enc.bandwidth,
                                     enc.sample_rate)


def _first_difference(got: list[list[int]], want: list[list[int]]) -> str:
    for k, (g_row, w_row) in enumerate(zip(got, want)):
        for t, (g, w) in enumerate(zip(g_row, w_row)):
            if g != w:
                return f" (first difference at frame {t}, codebook {k}: got {g}, expected {w})"
    if len(got) != len(want):
        return f" ({len(got)} codebooks, expected {len(want)})"
    return f" (the first {FIRST_FRAMES} frames of every codebook agree; the difference is later)"


def _check_metric(name: str, new: dict[str, Any], old: dict[str, Any], tol: float, tag: str,
                  call: str, clip: str, bw: float) -> Finding:
    what = f"{name}[{tag}]"
    if old["status"] == Status.NOT_COMPUTED and new["status"] == Status.NOT_COMPUTED:
        return _finding(f"metric:{name}", Status.NOT_COMPUTED, new["reason"], None, what, call,
                        clip, bw)
    if old["status"] != new["status"]:
        obs = new.get("value") if "value" in new else f"not_computed ({new['reason']})"
        exp = old.get("value") if "value" in old else f"not_computed ({old['reason']})"
        return _finding(f"metric:{name}", Status.FAILED, obs, exp, what, call, clip, bw)
    obs, exp = float(new["value"]), float(old["value"])
    ok = abs(obs - exp) <= tol
    return _finding(f"metric:{name}", Status.PASSED if ok else Status.FAILED, round(obs, 4),
                    f"{exp:.4f} ± {tol:g}" if not ok else round(exp, 4), what, call, clip, bw)


def _check_regression(model: EncodecModel, out: torch.Tensor, reg: Mapping[str, Any],
                      directory: Path | None, min_db: float, tag: str, call: str, clip: str,
                      bw: float) -> Finding:
    what = f"regression_decode SI-SDR[{tag}]"
    entry = (reg.get("clips") or {}).get(clip)
    if entry is None or directory is None:
        why = "no regression decode recorded" if entry is None else "no regression_dir given"
        return _finding("regression_decode", Status.NOT_COMPUTED, why, f">= {min_db:g} dB", what,
                        call, clip, bw)
    path = directory / entry["file"]
    if not path.is_file():
        return _finding("regression_decode", Status.FAILED, "missing file", str(path), what, call,
                        clip, bw)
    stored, _ = sf.read(path, dtype="int16", always_2d=True)
    if sha256_bytes(stored.astype("<i2").tobytes()) != entry["samples_sha256"]:
        return _finding("regression_decode", Status.FAILED, f"{path.name} samples changed",
                        entry["samples_sha256"], what, call, clip, bw)
    new = _to_int16(out, float(entry["gain"]))
    if new.shape == stored.shape and np.array_equal(new, stored):
        return _finding("regression_decode", Status.PASSED, "bitwise identical int16",
                        f">= {min_db:g} dB", what, call, clip, bw)
    r = si_sdr(stored.T.astype(np.float64) / 32768.0, new.T.astype(np.float64) / 32768.0,
               model.sample_rate)
    if not r.ok:
        return _finding("regression_decode", Status.NOT_COMPUTED, r.reason, f">= {min_db:g} dB",
                        what, call, clip, bw)
    status: Status = Status.PASSED if r.value >= min_db else Status.FAILED
    return _finding("regression_decode", status, f"{r.value:.2f} dB", f">= {min_db:g} dB",
                    what, call, clip, bw)


def verify_manifest(checkpoint_path: str | Path, manifest: Mapping[str, Any] | str | Path, *,
                    tolerance: dict | None = None,
                    regression_dir: str | Path | None = None) -> list[Finding]:
    """Re-run the checkpoint on CPU and compare with `manifest` (a dict or a manifest path,
    whose folder then holds the regression FLACs unless `regression_dir` says otherwise).

    Checks: checkpoint sha256, config, per clip x bandwidth `codes` (sha256 equal; a mismatch
    names the first differing frame/codebook), `decoded` (bitwise, else RMS within
    `decoded_rms_rel`), `metric:<name>` (within the tolerance band; not_computed stays
    not_computed), and per clip `regression_decode` (SI-SDR >= `regression_si_sdr_db`)."""
    if isinstance(manifest, (str, Path)):
        regression_dir = Path(manifest).parent if regression_dir is None else regression_dir
        manifest = read_manifest(manifest)
    elif manifest.get("manifest_version") != MANIFEST_VERSION:
        raise ValueError(f"manifest_version={manifest.get('manifest_version')!r}, but this "
                         f"code reads version {MANIFEST_VERSION}")
    unknown = set(tolerance or {}) - set(DEFAULT_TOLERANCE)
    if unknown:
        raise ValueError(f"unknown tolerance key(s) {sorted(unknown)}; known: "
                         f"{sorted(DEFAULT_TOLERANCE)}")
    tol = {**DEFAULT_TOLERANCE, **(tolerance or {})}
    reg_dir = Path(regression_dir) if regression_dir is not None else None
    path = Path(checkpoint_path)
    ckpt_call = f"load_checkpoint({path.name!r})"
    findings: list[Finding] = []
    sha = sha256_file(path)
    want_sha = manifest["checkpoint"]["sha256"]
    findings.append(_finding("checkpoint_sha256",
                             Status.PASSED if sha == want_sha else Status.FAILED, sha,
                             want_sha, "checkpoint sha256", ckpt_call))
    loaded = load_checkpoint(path)
    model = loaded.model.to("cpu").eval()
    cfg = {k: v for k, v in loaded.config.to_dict().items() if k != "name"}
    want = {k: v for k, v in manifest["config"].items() if k != "name"}  # name: not a setting
    findings.append(_finding("config", Status.PASSED if cfg == want else Status.FAILED,
                             {k: v for k, v in cfg.items() if want.get(k) != v},
                             {k: v for k, v in want.items() if cfg.get(k) != v},
                             "config (differing fields)", ckpt_call))
    reg = manifest.get("regression_decodes") or {}
    top = float(manifest["bandwidths"][-1])
    sr, ch = model.sample_rate, model.channels
    for clip, info in manifest["clips"].items():
        wav = clip_audio(clip, model, manifest["seconds"])
        for key, old in info["bandwidths"].items():
            bw = float(key)
            tag = f"{clip} @ {bw:g} kbps"
            call = _call(path.name, clip, sr, ch, wav.shape[-1], bw)
            enc, out = encode_decode(model, wav, bw)
            codes = enc.codes
            got = codes_sha256(codes)
            ties = _near_ties(model, wav, enc, old) if got != old["codes_sha256"] else None
            if got == old["codes_sha256"]:
                findings.append(_finding("codes", Status.PASSED, got[:16], old["codes_sha256"][:16],
                                         f"codes_sha256[{tag}]", call, clip, bw))
            elif ties is not None:
                count, pinned = ties
                findings.append(_finding(
                    "codes", Status.PASSED, f"{count} near-tie code(s)",
                    old["codes_sha256"][:16], f"codes_sha256[{tag}]", call, clip, bw,
                    f" ({count} code(s) differ from the pinned ones, each a near-tie that float32 "
                    "rounding on this machine decides; the decode checks use the pinned codes)"))
                with torch.inference_mode():
                    out = model.decode(pinned)[0, :, : wav.shape[-1]].float().contiguous()
            else:
                note = _first_difference(codes[0, :, :FIRST_FRAMES].tolist(),
                                         old["first_frames"])
                if list(codes.shape) != old["codes_shape"]:
                    note += f" (codes.shape={list(codes.shape)}, expected {old['codes_shape']})"
                findings.append(_finding("codes", Status.FAILED, got[:16], old["codes_sha256"][:16],
                                         f"codes_sha256[{tag}]", call, clip, bw, note))
            rms = float(out.double().pow(2).mean().sqrt())
            if audio_sha256(out) == old["decoded_sha256"]:
                findings.append(_finding("decoded", Status.PASSED, "bitwise identical",
                                         old["decoded_sha256"][:16], f"decoded[{tag}]", call,
                                         clip, bw))
            else:
                band = tol["decoded_rms_rel"] * abs(old["decoded_rms"]) + 1e-12
                ok = abs(rms - old["decoded_rms"]) <= band
                findings.append(_finding(
                    "decoded", Status.PASSED if ok else Status.FAILED, f"{rms:.6g}",
                    f"{old['decoded_rms']:.6g} ± {band:.2g}", f"decoded_rms[{tag}]", call, clip,
                    bw, " (decoded audio not bitwise identical)"))
            new_metrics = _metric_entries(wav, out, sr)
            for name, old_m in old["metrics"].items():
                findings.append(_check_metric(name, new_metrics[name], old_m,
                                              tol.get(name, math.inf), tag, call, clip, bw))
            if bw == top:
                findings.append(_check_regression(model, out, reg, reg_dir,
                                                  tol["regression_si_sdr_db"], tag, call, clip,
                                                  bw))
    return findings


def format_findings(findings: list[Finding], *, failures_only: bool = False) -> str:
    """One line per finding: status, then its message."""
    return "\n".join(f"{f.status.value:<12} {f.message}" for f in findings
                     if not failures_only or f.status is Status.FAILED)
