"""Train a small golden EnCodec: seeded, CPU by default (CUDA when present), resumable.

    python -m conformance.training.train --family encodec_24khz --out DIR --minutes 60
    python -m conformance.training.train --family encodec_24khz --out DIR --minutes 60 --resume

Losses: waveform L1, multi-scale log-mel L1+L2, commitment, and (from `adv_start` of the run
on) hinge adversarial + feature matching against a multi-scale STFT discriminator. AdamW with
linear warm-up and cosine decay over the planned steps: `--steps N`, or, with only
`--minutes`, N is estimated from the speed of the first steps and stored, so a resumed run
keeps its schedule (the log records N: `--steps N` repeats the run exactly).

Writes to DIR: `state.pt` (full training state, atomically, every --checkpoint-minutes),
`<family>.th` (the slim golden checkpoint, AudioCraft exported format, read back strictly
after writing) and `<family>.log.json` (losses over time, evaluations, wall time, steps,
command line, git commit), both every --export-minutes and at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from conformance._data import reference_audio_dir
from conformance.audio.io import convert_audio, load_audio
from conformance.checkpoints.load import load_checkpoint
from conformance.checkpoints.write import write_audiocraft
from conformance.errors import InvalidArgument
from conformance.fileio import atomic_write_bytes, sha256_file
from conformance.model.config import n_q_for_bandwidth
from conformance.model.encodec import EncodecModel
from conformance.training.configs import TrainRecipe, get_recipe
from conformance.training.corpus import DEFAULT_CORPUS_DIR, MANIFEST
from conformance.training.data import SegmentSampler, load_corpus
from conformance.training.discriminator import MultiScaleSTFTDiscriminator
from conformance.training.losses import (
    MultiResolutionSTFTLoss,
    MultiScaleMelLoss,
    feature_matching_loss,
    hinge_discriminator_loss,
    hinge_generator_loss,
    l1_loss,
)
from conformance.training.vq import TrainingRVQ

STATE_FORMAT = "encodec-conformance training state v1"
DEFAULT_EVAL_CLIPS = {
    "encodec_24khz": ("speech_female_16k_cmu_arctic_slt_a0009.wav",
                      "speech_male_16k_cmu_arctic_awb_a0007.wav"),
    "encodec_32khz": ("speech_female_16k_cmu_arctic_slt_a0009.wav",
                      "music_tabla_loop_44k_sonicpi.wav"),
    "encodec_48khz": ("speech_female_16k_cmu_arctic_slt_a0009.wav",
                      "music_guitar_em9_stereo_44k_sonicpi.wav"),
}


@dataclass
class TrainOptions:
    """One invocation. `recipe` overrides the family's golden recipe (tests use tiny ones)."""

    family: str
    out: Path
    corpus: Path = DEFAULT_CORPUS_DIR
    minutes: float | None = None
    steps: int | None = None
    stop_at_step: int | None = None  # stop this invocation early (the schedule is unchanged)
    resume: bool = False
    seed: int = 0
    device: str = "auto"
    threads: int | None = None
    adversarial: bool = True
    checkpoint_minutes: float = 10.0
    export_minutes: float = 30.0
    log_every: int = 25
    calib_steps: int = 12
    eval_clips: tuple[Path, ...] | None = None  # None: the family's default clips
    progress: bool = True
    recipe: TrainRecipe | None = None
    #: `field=value` recipe changes; on --resume they apply to the run's own recipe
    overrides: tuple[str, ...] = ()
    argv: list[str] = field(default_factory=list)


class TrainingError(InvalidArgument):
    """The run cannot start or continue as asked (the message says why and what to do)."""


# ------------------------------------------------------------------------------ helpers
def lr_factor(step: int, total: int, warmup: int, min_ratio: float) -> float:
    """Linear warm-up over `warmup` steps, then cosine from 1 to `min_ratio` at `total`."""
    if step < warmup:
        return (step + 1) / warmup
    span = max(1, total - warmup)
    p = min(1.0, (step - warmup) / span)
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * p))


def git_commit() -> str | None:
    """HEAD of the repository holding this file, '+dirty' when the tree has changes."""
    repo = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                              text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=repo, capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.TimeoutExpired):
        return None


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def ladder_n_q(recipe: TrainRecipe) -> list[int]:
    """Codebook counts of the bandwidth ladder (quantizer dropout draws from these)."""
    cfg = recipe.config
    return sorted({n_q_for_bandwidth(cfg, bw) for bw in cfg.bandwidths})


class _Progress:
    """tqdm on stderr when available, else a line every few seconds."""

    def __init__(self, enabled: bool, initial: int, total: int | None) -> None:
        self.bar = None
        self.enabled = enabled
        self.last_print = 0.0
        self.step, self.total = initial, total
        if enabled:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, initial=initial, file=sys.stderr, unit="step",
                                dynamic_ncols=True, mininterval=2.0)
            except ImportError:
                self.bar = None

    def set_total(self, total: int) -> None:
        self.total = total
        if self.bar is not None:
            self.bar.total = total
            self.bar.refresh()

    def update(self, step: int, info: dict[str, float]) -> None:
        self.step = step
        if not self.enabled:
            return
        text = " ".join(f"{k}={v:.3g}" for k, v in info.items())
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(text, refresh=False)
        elif time.time() - self.last_print > 10:
            self.last_print = time.time()
            print(f"step {step}/{self.total or '?'} {text}", file=sys.stderr, flush=True)

    def write(self, msg: str) -> None:
        if self.bar is not None:
            self.bar.write(msg, file=sys.stderr)
        else:
            print(msg, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@torch.no_grad()
def init_weights_(model: torch.nn.Module, gain: float = 1.0) -> None:
    """Variance-preserving start: every conv's weight ~ N(0, gain^2 / fan_in), biases 0.

    PyTorch's default init shrinks the signal at each layer, so a fresh encoder emits a nearly
    constant latent (per-dimension std ~0.002 for a 0.1 RMS input) that the codebooks cannot
    resolve; this start gives ~0.2. A transposed conv's fan-in is in_channels x kernel / stride.
    """
    from torch import nn

    from conformance.model.conv import WeightNormConv1d

    for m in model.modules():
        if isinstance(m, WeightNormConv1d):
            v = m.weight_v
            fan = v.shape[0] * v.shape[2] / m.stride[0] if m.transposed else v.shape[1] * v.shape[2]
            v.normal_(0.0, gain / math.sqrt(fan))
            m.weight_g.copy_(torch.norm_except_dim(v, 2, 0))
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, (nn.Conv1d, nn.ConvTranspose1d)):
            w = m.weight
            transposed = isinstance(m, nn.ConvTranspose1d)
            fan = w.shape[0] * w.shape[2] / m.stride[0] if transposed else w.shape[1] * w.shape[2]
            w.normal_(0.0, gain / math.sqrt(fan))
            if m.bias is not None:
                m.bias.zero_()


# ------------------------------------------------------------------------------ trainer
class Trainer:
    """Model, discriminator, optimisers, data and schedule of one run, and its state file."""

    def __init__(self, opts: TrainOptions) -> None:
        self.opts = opts
        self.out = Path(opts.out)
        self.state_path = self.out / "state.pt"
        if opts.resume and not self.state_path.is_file():
            raise TrainingError(f"--resume: {self.state_path} does not exist")
        if not opts.resume and self.state_path.exists():
            raise TrainingError(f"{self.state_path} exists: pass --resume to continue that "
                                "run, or choose another --out")
        saved = None
        if opts.resume:
            saved = torch.load(self.state_path, map_location="cpu", weights_only=True)
            if saved.get("format") != STATE_FORMAT:
                raise TrainingError(f"{self.state_path}: not a training state of this version")
            if saved["family"] != opts.family:
                raise TrainingError(f"{self.state_path} trains {saved['family']}, not "
                                    f"{opts.family}")
            recipe = TrainRecipe.from_dict(saved["recipe"])
            if opts.overrides:
                try:
                    changed = recipe.with_overrides(opts.overrides)
                except (ValueError, TypeError) as exc:
                    raise TrainingError(f"--set: {exc}") from exc
                if changed.config != recipe.config:
                    raise TrainingError("--set config.*: a resumed run keeps its model "
                                        "architecture; start a new run (another --out)")
                recipe = changed
                warnings.warn(f"--set {' '.join(opts.overrides)}: the run's recipe changes "
                              f"from step {saved['step']} on", RuntimeWarning, stacklevel=2)
            else:
                current = opts.recipe or get_recipe(opts.family)
                if current.to_dict() != recipe.to_dict():
                    warnings.warn("the family's recipe changed since this run started; "
                                  "resuming with the run's own recipe", RuntimeWarning,
                                  stacklevel=2)
        else:
            recipe = opts.recipe or get_recipe(opts.family)
        self.recipe = recipe
        self.cfg = cfg = recipe.config
        self.device = pick_device(opts.device)
        cores = os.cpu_count() or 1
        torch.set_num_threads(opts.threads or cores)
        if opts.threads is None and self.device.type == "cpu" and hasattr(os, "getloadavg") \
                and os.getloadavg()[0] > 0.5 * cores:
            print(f"note: the machine is busy (load {os.getloadavg()[0]:.1f} on {cores} "
                  "cores); --threads 1 is often faster then", file=sys.stderr)
        torch.manual_seed(opts.seed)

        self.model = EncodecModel(cfg)
        init_weights_(self.model)
        self.model.to(self.device).train()
        self.tvq = TrainingRVQ(
            self.model.quantizer, decay=recipe.ema_decay, epsilon=recipe.laplace_eps,
            dead_code_threshold=recipe.dead_code_threshold,
            dead_code_ref_vectors=recipe.dead_code_ref_vectors,
            kmeans_iters=recipe.kmeans_iters, q_dropout=recipe.q_dropout,
            n_q_choices=ladder_n_q(recipe), seed=opts.seed + 1)
        self.tvq.reset_()
        self.adversarial = opts.adversarial and recipe.adv_start < 1.0
        self.disc = (MultiScaleSTFTDiscriminator(cfg.channels, recipe.disc_filters,
                                                 recipe.disc_n_ffts).to(self.device)
                     if self.adversarial else None)
        self.opt_g = torch.optim.AdamW(self.model.parameters(), lr=recipe.lr,
                                       betas=recipe.betas, weight_decay=recipe.weight_decay)
        self.opt_d = (torch.optim.AdamW(self.disc.parameters(), lr=recipe.disc_lr,
                                        betas=recipe.betas, weight_decay=recipe.weight_decay)
                      if self.disc is not None else None)
        self.mel = MultiScaleMelLoss(cfg.sample_rate, recipe.mel_scales, recipe.n_mels,
                                     floor=recipe.mel_floor).to(self.device)
        self.stft = (MultiResolutionSTFTLoss().to(self.device) if recipe.weights.stft > 0
                     else None)
        self.segment_length = int(round(recipe.segment_seconds * cfg.sample_rate))
        if cfg.segment_length is not None and self.segment_length > cfg.segment_length:
            raise TrainingError(f"segment_seconds={recipe.segment_seconds} is longer than the "
                                f"model's chunk ({cfg.segment} s)")
        kinds = [k for k, w in recipe.data_mix.items() if w > 0]
        clips = load_corpus(opts.corpus, cfg.sample_rate, cfg.channels, kinds=kinds)
        self.n_clips = len(clips)
        self.sampler = SegmentSampler(clips, self.segment_length, recipe.batch_size,
                                      channels=cfg.channels, seed=opts.seed + 2,
                                      mix=recipe.data_mix, gain_db=recipe.gain_db)
        self.valid = self._valid_batch(opts)

        self.step = 0
        self.total_steps: int | None = opts.steps
        self.train_seconds = 0.0
        self.history: list[dict[str, Any]] = []
        self.evals: list[dict[str, Any]] = []
        self.sessions: list[dict[str, Any]] = []
        if saved is not None:
            self._restore(saved)
        if self.total_steps is None and opts.minutes is None:
            raise TrainingError("give --steps, --minutes, or both")
        self.sessions.append({"argv": list(opts.argv), "start_step": self.step,
                              "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")})

    # ------------------------------------------------------------------------- state
    def _valid_batch(self, opts: TrainOptions) -> torch.Tensor | None:
        kinds = [k for k, w in self.recipe.data_mix.items() if w > 0]
        clips = load_corpus(opts.corpus, self.cfg.sample_rate, self.cfg.channels,
                            split="valid", kinds=kinds)
        if not clips:
            return None
        sampler = SegmentSampler(clips, self.segment_length, 8, channels=self.cfg.channels,
                                 seed=12345, mix=None, gain_db=(0.0, 0.0))
        return sampler.next_batch()

    def state_dict(self) -> dict[str, Any]:
        rng = {"torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return {
            "format": STATE_FORMAT,
            "family": self.opts.family,
            "recipe": self.recipe.to_dict(),
            "seed": self.opts.seed,
            "adversarial": self.adversarial,
            "step": self.step,
            "total_steps": self.total_steps,
            "train_seconds": self.train_seconds,
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "disc": None if self.disc is None else self.disc.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": None if self.opt_d is None else self.opt_d.state_dict(),
            "tvq": self.tvq.state_dict(),
            "sampler": self.sampler.state_dict(),
            "rng": rng,
            "history": self.history,
            "evals": self.evals,
            "sessions": self.sessions,
        }

    def _restore(self, saved: dict[str, Any]) -> None:
        self.model.load_state_dict(saved["model"], strict=True)
        if self.adversarial and not saved["adversarial"]:
            raise TrainingError("this run was started without the adversarial stage: resume "
                                "it with --no-adversarial (a discriminator cannot join late)")
        if saved["adversarial"] and not self.adversarial:
            warnings.warn(f"--no-adversarial: the run's discriminator is dropped from step "
                          f"{saved['step']} on", RuntimeWarning, stacklevel=3)
        elif self.disc is not None:
            self.disc.load_state_dict(saved["disc"])
            self.opt_d.load_state_dict(saved["opt_d"])
        self.opt_g.load_state_dict(saved["opt_g"])
        self.tvq.load_state_dict(saved["tvq"])
        self.sampler.load_state_dict(saved["sampler"])
        torch.set_rng_state(saved["rng"]["torch"])
        if "cuda" in saved["rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state_all(saved["rng"]["cuda"])
        self.step = int(saved["step"])
        self.train_seconds = float(saved["train_seconds"])
        self.history = list(saved["history"])
        self.evals = list(saved["evals"])
        self.sessions = list(saved["sessions"])
        saved_total = saved["total_steps"]
        if self.opts.steps is not None and saved_total is not None \
                and self.opts.steps != saved_total:
            warnings.warn(f"--steps {self.opts.steps} replaces the run's planned "
                          f"{saved_total}: the learning-rate schedule changes from here on",
                          RuntimeWarning, stacklevel=3)
        else:
            self.total_steps = saved_total

    def save_state(self) -> Path:
        state = self.state_dict()
        return atomic_write_bytes(self.state_path, lambda tmp: torch.save(state, tmp))

    # ------------------------------------------------------------------------- steps
    @property
    def adv_start_step(self) -> int | None:
        if not self.adversarial or self.total_steps is None:
            return None
        return int(self.recipe.adv_start * self.total_steps)

    def adv_active(self) -> bool:
        start = self.adv_start_step
        return (start is not None and self.step >= start
                and (self.step - start) % self.recipe.adv_every == 0)

    def set_lr(self) -> float:
        total = self.total_steps or max(self.step + 1, self.recipe.warmup_steps)
        f = lr_factor(self.step, total, self.recipe.warmup_steps, self.recipe.min_lr_ratio)
        for g in self.opt_g.param_groups:
            g["lr"] = self.recipe.lr * f
        if self.opt_d is not None:
            for g in self.opt_d.param_groups:
                g["lr"] = self.recipe.disc_lr * f
        return self.recipe.lr * f

    def generate(self, x: torch.Tensor, n_q: int | None = None, update: bool = True):
        """Encode, quantize (training VQ) and decode x [B, C, T]; renormalises like the model."""
        scale = None
        xin = x
        if self.cfg.renormalize:
            scale = 1e-8 + x.mean(dim=1, keepdim=True).pow(2).mean(dim=2, keepdim=True).sqrt()
            xin = x / scale
        z = self.model.encoder(xin)
        q = self.tvq(z, n_q, update=update)
        y = self.model.decoder(q.quantized)[..., : x.shape[-1]]
        if scale is not None:
            y = y * scale
        return y, q

    def train_step(self) -> dict[str, float]:
        r, w = self.recipe, self.recipe.weights
        lr = self.set_lr()
        x = self.sampler.next_batch().to(self.device)
        y, q = self.generate(x)
        info: dict[str, float] = {"lr": lr, "n_q": float(q.n_q)}
        adv = self.adv_active()
        feats_real = None
        xa, ya = x[: r.adv_items], y[: r.adv_items]
        if adv:
            logits_real, feats_real = self.disc(xa)
            logits_fake, _ = self.disc(ya.detach())
            d_loss = hinge_discriminator_loss(logits_real, logits_fake)
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            torch.nn.utils.clip_grad_norm_(self.disc.parameters(), r.grad_clip)
            self.opt_d.step()
            info["d_loss"] = float(d_loss.detach())
            feats_real = [[f.detach() for f in fs] for fs in feats_real]
        l1 = l1_loss(y, x)
        mel = self.mel(y, x)
        total = w.l1 * l1 + w.mel * mel + w.commit * q.commit_loss
        info.update(l1=float(l1.detach()), mel=float(mel.detach()),
                    commit=float(q.commit_loss.detach()))
        if self.stft is not None:
            stft = self.stft(y, x)
            total = total + w.stft * stft
            info["stft"] = float(stft.detach())
        if adv:
            self.disc.requires_grad_(False)
            logits_fake, feats_fake = self.disc(ya)
            g_adv = hinge_generator_loss(logits_fake)
            feat = feature_matching_loss(feats_real, feats_fake)
            self.disc.requires_grad_(True)
            total = total + w.adv * g_adv + w.feat * feat
            info.update(adv=float(g_adv.detach()), feat=float(feat.detach()))
        self.opt_g.zero_grad(set_to_none=True)
        total.backward()
        info["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(),
                                                                 r.grad_clip))
        self.opt_g.step()
        info["loss"] = float(total.detach())
        info["replaced"] = float(q.replaced)
        info["perplexity"] = sum(q.perplexity) / len(q.perplexity)
        if not math.isfinite(info["loss"]):
            raise TrainingError(f"step {self.step}: the loss is {info['loss']}; the last "
                                f"saved state is {self.state_path}")
        return info

    def _time_discriminator(self) -> float:
        """Seconds per step that the discriminator adds once on (its update and the
        generator's pass through it, averaged over adv_every steps)."""
        if self.disc is None:
            return 0.0
        gen = torch.Generator().manual_seed(0)  # the run's own generators stay untouched
        items = min(self.recipe.adv_items, self.recipe.batch_size)
        probe = 0.05 * torch.randn(items, self.cfg.channels,
                                   self.segment_length, generator=gen).to(self.device)
        t0 = time.perf_counter()
        logits, _ = self.disc(probe)
        logits2, _ = self.disc(probe.flip(-1))
        hinge_discriminator_loss(logits, logits2).backward()
        self.disc.zero_grad(set_to_none=True)
        return (time.perf_counter() - t0) * 1.5 / self.recipe.adv_every

    def plan_steps(self, seconds_per_step: float) -> int:
        """Planned total steps that fit --minutes at the measured speed."""
        budget = self.opts.minutes * 60 - self.train_seconds
        t_adv = seconds_per_step + self._time_discriminator() if self.adversarial else 0.0
        a = self.recipe.adv_start if self.adversarial else 1.0
        per_step = a * seconds_per_step + (1 - a) * t_adv
        return self.step + max(1, int(budget / per_step))

    # ----------------------------------------------------------------------- outputs
    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        if self.valid is None:
            return {}
        self.model.eval()
        x = self.valid.to(self.device)
        out = {}
        for n_q in ladder_n_q(self.recipe):
            y, _ = self.generate(x, n_q=n_q, update=False)
            out[f"valid_mel@{n_q}"] = float(self.mel(y, x))
            out[f"valid_l1@{n_q}"] = float(l1_loss(y, x))
        self.model.train()
        return out

    def eval_clips(self) -> list[Path]:
        if self.opts.eval_clips is not None:
            return [Path(p) for p in self.opts.eval_clips]
        names = DEFAULT_EVAL_CLIPS.get(self.opts.family, ())
        ref = reference_audio_dir()
        return [ref / n for n in names if (ref / n).is_file()]

    def export(self) -> Path:
        """Write the golden checkpoint and the JSON log; read the checkpoint back strictly."""
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / f"{self.opts.family}.th"
        sd = {k: v.detach().cpu() for k, v in self.model.state_dict().items()}
        write_audiocraft(path, self.cfg, sd)
        loaded = load_checkpoint(path)
        entry = {"step": self.step, "train_seconds": round(self.train_seconds, 1),
                 **self.validate()}
        for clip in self.eval_clips():
            entry.update(evaluate_clip(loaded.model, clip))
        self.evals.append(entry)
        self.write_log()
        return path

    def write_log(self) -> Path:
        path = self.out / f"{self.opts.family}.log.json"
        log = {
            "family": self.opts.family,
            "config": self.cfg.to_dict(),
            "recipe": self.recipe.to_dict(),
            "seed": self.opts.seed,
            "steps": self.step,
            "total_steps": self.total_steps,
            "adv_start_step": self.adv_start_step,
            "train_seconds": round(self.train_seconds, 1),
            "steps_per_second": round(self.step / self.train_seconds, 4)
            if self.train_seconds else None,
            "device": str(self.device),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "git_commit": git_commit(),
            "corpus": str(self.opts.corpus),
            "corpus_manifest_sha256": _manifest_sha(self.opts.corpus),
            "train_clips": self.n_clips,
            "sessions": self.sessions,
            "evals": self.evals,
            "history": self.history,
        }
        text = json.dumps(log, indent=1) + "\n"
        return atomic_write_bytes(path, lambda tmp: Path(tmp).write_text(text))

    # --------------------------------------------------------------------------- run
    def run(self) -> dict[str, Any]:
        opts = self.opts
        progress = _Progress(opts.progress, self.step, self.total_steps)
        wall0 = time.time()
        last_ckpt = last_export = time.time()
        acc: dict[str, list[float]] = {}
        calib: tuple[int, float] | None = None  # (step, seconds) where timing starts
        try:
            while True:
                if self.total_steps is not None and self.step >= self.total_steps:
                    break
                if opts.stop_at_step is not None and self.step >= opts.stop_at_step:
                    break
                if opts.minutes is not None and self.train_seconds >= opts.minutes * 60:
                    progress.write(f"time budget of {opts.minutes} min reached at step "
                                   f"{self.step} of {self.total_steps}")
                    break
                t0 = time.perf_counter()
                info = self.train_step()
                dt = time.perf_counter() - t0
                self.train_seconds += dt
                self.step += 1
                for k, v in info.items():
                    acc.setdefault(k, []).append(v)
                if self.total_steps is None:  # skip the first steps (k-means, warm caches)
                    if calib is None and self.step >= 2:
                        calib = (self.step, self.train_seconds)
                    elif calib is not None and self.step - calib[0] >= opts.calib_steps:
                        sps = (self.train_seconds - calib[1]) / (self.step - calib[0])
                        self.total_steps = self.plan_steps(sps)
                        progress.set_total(self.total_steps)
                        progress.write(f"{sps:.3f} s/step: planning {self.total_steps} steps "
                                       f"(adversarial from step {self.adv_start_step}); "
                                       f"repeat with --steps {self.total_steps}")
                progress.update(self.step, {k: info[k] for k in ("loss", "mel", "l1")
                                            if k in info})
                if self.step % opts.log_every == 0:
                    self.history.append(_summarise(acc, self.step, self.train_seconds))
                    acc = {}
                now = time.time()
                if now - last_export >= opts.export_minutes * 60:
                    self.export()
                    last_export = now
                if now - last_ckpt >= opts.checkpoint_minutes * 60:
                    self.save_state()
                    last_ckpt = now
        finally:
            progress.close()
        if acc:
            self.history.append(_summarise(acc, self.step, self.train_seconds))
        self.save_state()
        path = self.export()
        return {"checkpoint": str(path), "state": str(self.state_path), "steps": self.step,
                "total_steps": self.total_steps, "train_seconds": self.train_seconds,
                "wall_seconds": time.time() - wall0, "eval": self.evals[-1]}


def _summarise(acc: dict[str, list[float]], step: int, seconds: float) -> dict[str, float]:
    out: dict[str, float] = {"step": step, "train_seconds": round(seconds, 2)}
    for k, v in acc.items():
        out[k] = round(sum(v) / len(v), 6)
    return out


def _manifest_sha(corpus: Path) -> str | None:
    path = Path(corpus).expanduser() / MANIFEST
    return sha256_file(path) if path.is_file() else None


# ------------------------------------------------------------------------------ metrics
@torch.no_grad()
def evaluate_clip(model: EncodecModel, path: str | os.PathLike) -> dict[str, float]:
    """Top-bandwidth round trip of one clip: mel distance and SNR, plus STOI and PESQ-WB
    (at 16 kHz, pinned resampler) for speech clips when pystoi / pesq are installed."""
    name = Path(path).stem
    wav, _ = load_audio(path, model.sample_rate, model.channels)
    model.eval()
    y = model(wav[None], "all")[0]
    err = (y - wav).pow(2).mean()
    out = {f"{name}/snr_db": round(float(10 * torch.log10(wav.pow(2).mean() / err)), 3)}
    mel = MultiScaleMelLoss(model.sample_rate)
    out[f"{name}/mel"] = round(float(mel(y[None], wav[None])), 4)
    if "speech" in name:
        ref16 = convert_audio(wav, model.sample_rate, 16000, 1)[0].numpy()
        deg16 = convert_audio(y, model.sample_rate, 16000, 1)[0].numpy()
        try:
            from pystoi import stoi

            out[f"{name}/stoi"] = round(float(stoi(ref16, deg16, 16000)), 4)
        except ImportError:
            pass
        try:
            from pesq import pesq

            out[f"{name}/pesq_wb"] = round(float(pesq(16000, ref16, deg16, "wb")), 4)
        except ImportError:
            pass
        except Exception as exc:  # a failed metric is reported as such, never as a score
            out[f"{name}/pesq_wb_error"] = str(exc)[:200]
    return out


# ---------------------------------------------------------------------------------- CLI
def train(opts: TrainOptions) -> dict[str, Any]:
    """Run (or resume) training as `opts` says; returns a summary."""
    return Trainer(opts).run()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from conformance.training.configs import GOLDEN

    p = argparse.ArgumentParser(prog="python -m conformance.training.train",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--family", required=True, choices=sorted(GOLDEN))
    p.add_argument("--out", required=True, type=Path, help="run directory")
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS_DIR,
                   help="corpus directory with manifest.json (default %(default)s)")
    p.add_argument("--minutes", type=float, default=None, help="training-time budget")
    p.add_argument("--steps", type=int, default=None, help="planned steps (the schedule)")
    p.add_argument("--stop-at-step", type=int, default=None,
                   help="stop this invocation at this step, keeping the schedule")
    p.add_argument("--resume", action="store_true", help="continue from OUT/state.pt")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda:0")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: cores)")
    p.add_argument("--no-adversarial", dest="adversarial", action="store_false")
    p.add_argument("--checkpoint-minutes", type=float, default=10.0)
    p.add_argument("--export-minutes", type=float, default=30.0)
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--eval-clip", action="append", type=Path, default=None,
                   help="clip to evaluate at each export (default: the family's reference "
                        "clips); repeat for more")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="FIELD=VALUE", help="change a recipe field, e.g. --set "
                   "batch_size=32 --set disc_n_ffts=2048,1024,512,256,128 --set weights.adv=4 "
                   "--set config.n_filters=16 (model fields: new runs only)")
    args = p.parse_args(argv)
    recipe = None
    if args.overrides:
        try:
            recipe = get_recipe(args.family).with_overrides(args.overrides)
        except (ValueError, TypeError) as exc:
            p.error(str(exc))
    opts = TrainOptions(
        family=args.family, out=args.out, corpus=args.corpus, minutes=args.minutes,
        steps=args.steps, stop_at_step=args.stop_at_step, resume=args.resume, seed=args.seed,
        device=args.device, threads=args.threads, adversarial=args.adversarial,
        checkpoint_minutes=args.checkpoint_minutes, export_minutes=args.export_minutes,
        log_every=args.log_every,
        eval_clips=tuple(args.eval_clip) if args.eval_clip else None,
        progress=args.progress, recipe=recipe, overrides=tuple(args.overrides),
        argv=["python", "-m", "conformance.training.train", *argv])
    try:
        summary = train(opts)
    except TrainingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["TrainOptions", "Trainer", "TrainingError", "evaluate_clip", "lr_factor", "main",
           "train"]
