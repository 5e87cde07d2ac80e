"""The training code: training VQ rules, losses, discriminator, data, corpus exclusion, and a
tiny end-to-end run that checkpoints, resumes and exports a strictly loadable checkpoint."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from conformance.checkpoint import load_checkpoint
from conformance.config import EncodecConfig
from conformance.quantizer import ResidualVectorQuantizer
from conformance.training.configs import GOLDEN, TrainRecipe, get_recipe, model_size
from conformance.training.corpus import (
    CorpusSpec,
    EvalExclusion,
    ExcludedClipError,
    build_corpus,
    sonic_pi_cc0,
    verify_corpus,
)
from conformance.training.data import SegmentSampler, active_rms, load_corpus, make_clip
from conformance.training.discriminator import MultiScaleSTFTDiscriminator
from conformance.training.losses import (
    MultiResolutionSTFTLoss,
    MultiScaleMelLoss,
    feature_matching_loss,
    hinge_discriminator_loss,
    hinge_generator_loss,
    l1_loss,
)
from conformance.training.train import TrainOptions, init_weights_, lr_factor, main, train
from conformance.training.vq import TrainingRVQ, kmeans, laplace_smoothing

REF = Path(__file__).resolve().parents[1] / "reference_audio"
SPEECH = REF / "speech_female_16k_cmu_arctic_slt_a0009.wav"


# ------------------------------------------------------------------------- training VQ
def _rvq(dim: int = 4, bins: int = 8, n_q: int = 3, **kw) -> TrainingRVQ:
    torch.manual_seed(0)
    return TrainingRVQ(ResidualVectorQuantizer(dim, bins, n_q), **kw)


def test_kmeans_init_on_first_batch_sets_inited() -> None:
    tvq = _rvq(kmeans_iters=5)
    tvq.reset_()
    assert all(float(cb.inited) == 0 for cb in tvq.codebooks)
    z = torch.randn(2, 4, 50)
    out = tvq(z, n_q=2)
    assert [float(cb.inited) for cb in tvq.codebooks] == [1.0, 1.0, 0.0]
    cb = tvq.codebooks[0]
    assert float(cb.cluster_size.sum()) == pytest.approx(100 * 0.99 + 100 * 0.01, rel=1e-5)
    assert out.codes.shape == (2, 2, 50)


def test_kmeans_finds_separated_clusters() -> None:
    gen = torch.Generator().manual_seed(0)
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    x = torch.cat([c + 0.1 * torch.randn(50, 2, generator=gen) for c in centers])
    means, counts = kmeans(x, 3, 20, gen)
    assert sorted(counts.tolist()) == [50, 50, 50]
    for c in centers:
        assert float((means - c).norm(dim=1).min()) < 0.1


def test_ema_update_moves_code_toward_its_vectors() -> None:
    tvq = _rvq(n_q=1, dead_code_threshold=0.0)
    cb = tvq.codebooks[0]
    with torch.no_grad():
        cb.embed.copy_(torch.eye(8, 4) * 5)
        cb.embed_avg.copy_(cb.embed)
        cb.cluster_size.fill_(1.0)
    target = torch.tensor([4.0, 1.0, 0.0, 0.0])  # nearest to code 0 = (5, 0, 0, 0)
    z = target.view(1, 4, 1).repeat(1, 1, 30)
    before = float((cb.embed[0] - target).norm())
    others = cb.embed[1:].clone()
    out = tvq(z, n_q=1)
    assert out.codes.unique().tolist() == [0]
    assert float((cb.embed[0] - target).norm()) < before
    assert float(cb.cluster_size[0]) == pytest.approx(0.99 + 0.3)
    assert float(cb.cluster_size[1]) == pytest.approx(0.99)
    # unused codes keep embed_avg / cluster_size (up to the laplace smoothing)
    assert torch.allclose(cb.embed[1:], others, rtol=1e-3)


def test_laplace_smoothing_keeps_total_and_lifts_zeros() -> None:
    counts = torch.tensor([0.0, 3.0, 7.0])
    smoothed = laplace_smoothing(counts, 1e-5)
    assert float(smoothed.sum()) == pytest.approx(10.0)
    assert float(smoothed[0]) > 0


def test_dead_codes_are_replaced_by_batch_vectors() -> None:
    tvq = _rvq(n_q=1, dead_code_threshold=2.0)
    cb = tvq.codebooks[0]
    with torch.no_grad():
        cb.embed.copy_(torch.randn(8, 4) * 100)  # far from the data: unused, and dead
        cb.embed[0] = 0.0
        cb.embed_avg.copy_(cb.embed * 10)
        cb.cluster_size.fill_(0.5)
        cb.cluster_size[0] = 10.0
    z = torch.randn(1, 4, 64)
    out = tvq(z, n_q=1)
    assert out.replaced == 7
    batch = z[0].t()
    for k in range(1, 8):
        assert float((batch - cb.embed[k]).norm(dim=1).min()) < 1e-5  # a batch vector
        assert float(cb.cluster_size[k]) == pytest.approx(2.0)
    assert float(cb.cluster_size[0]) > 2.0  # the live code stays


def test_dead_code_threshold_scales_with_batch_vectors() -> None:
    tvq = _rvq(dead_code_threshold=2.0, dead_code_ref_vectors=4800)
    assert tvq.threshold_for(4800) == pytest.approx(2.0)
    assert tvq.threshold_for(600) == pytest.approx(0.25)
    assert _rvq(dead_code_threshold=2.0).threshold_for(600) == 2.0


def test_straight_through_gradient_reaches_the_latent() -> None:
    tvq = _rvq()
    z = torch.randn(2, 4, 10, requires_grad=True)
    out = tvq(z, n_q=3)
    out.quantized.sum().backward()
    assert torch.equal(z.grad, torch.ones_like(z))  # d quantized / dz = identity
    # the forward value is the sum of the stages' codewords (and the inference codes)
    out = tvq(z, n_q=3, update=False)
    decoded = tvq.quantizer.decode(out.codes)
    assert torch.allclose(out.quantized.detach(), decoded, atol=1e-6)
    assert torch.equal(out.codes, tvq.quantizer.encode(z.detach(), 3))


def test_commitment_loss_non_negative_with_gradient() -> None:
    tvq = _rvq()
    z = torch.randn(2, 4, 10, requires_grad=True)
    out = tvq(z, n_q=2, update=False)
    assert float(out.commit_loss.detach()) >= 0
    out.commit_loss.backward()
    assert float(z.grad.abs().sum()) > 0
    # a latent that is exactly a codeword commits nothing at stage 1
    cb = tvq.codebooks[0]
    exact = cb.embed[3].view(1, 4, 1).repeat(1, 1, 5)
    assert float(tvq(exact, n_q=1, update=False).commit_loss) == pytest.approx(0.0, abs=1e-10)


def test_update_false_leaves_buffers_alone() -> None:
    tvq = _rvq()
    before = {k: v.clone() for k, v in tvq.quantizer.state_dict().items()}
    tvq(torch.randn(2, 4, 10), update=False)
    after = tvq.quantizer.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_quantizer_dropout_picks_n_q_from_the_ladder() -> None:
    tvq = _rvq(n_q=8, q_dropout=1.0, n_q_choices=[2, 4, 8])
    picks = {tvq.pick_n_q() for _ in range(200)}
    assert picks == {2, 4, 8}
    half = _rvq(n_q=8, q_dropout=0.5, n_q_choices=[2, 4])
    picks = [half.pick_n_q() for _ in range(400)]
    assert set(picks) == {2, 4, 8} and 120 < picks.count(8) < 280
    assert {_rvq(n_q=8).pick_n_q() for _ in range(50)} == {8}
    with pytest.raises(ValueError, match="n_q_choices"):
        _rvq(n_q=4, n_q_choices=[5])
    with pytest.raises(ValueError, match="n_q=9"):
        _rvq(n_q=8)(torch.randn(1, 4, 3), n_q=9)


def test_dropout_generator_state_round_trips() -> None:
    tvq = _rvq(n_q=8, q_dropout=1.0, n_q_choices=[1, 2, 3, 4, 5, 6, 7, 8])
    state = tvq.state_dict()
    first = [tvq.pick_n_q() for _ in range(20)]
    tvq.load_state_dict(state)
    assert [tvq.pick_n_q() for _ in range(20)] == first


# ----------------------------------------------------------------------------- losses
def test_losses_zero_for_identical_and_positive_otherwise() -> None:
    gen = torch.Generator().manual_seed(0)
    x = 0.1 * torch.randn(2, 2, 4000, generator=gen)
    y = x + 0.01 * torch.randn(2, 2, 4000, generator=gen)
    mel = MultiScaleMelLoss(16000, scales=(6, 7, 8, 9))
    assert float(l1_loss(x, x)) == 0.0
    assert float(mel(x, x)) == 0.0
    assert float(l1_loss(y, x)) > 0
    assert float(mel(y, x)) > 0
    assert float(mel(0.5 * x, x)) > float(mel(y, x))  # a gain error is audible in log-mel


def test_stft_loss_sees_harmonics_a_mel_loss_blurs() -> None:
    """A 1 kHz tone against a 1.03 kHz tone: the full-resolution STFT loss separates them
    clearly more than the 64-band mel loss does (both share mel bands at 2 kHz and up)."""
    t = torch.arange(16000) / 16000
    x = 0.1 * torch.sin(2 * torch.pi * 1000 * t)[None, None]
    y = 0.1 * torch.sin(2 * torch.pi * 1030 * t)[None, None]
    stft = MultiResolutionSTFTLoss()
    assert float(stft(x, x)) == 0.0
    assert float(stft(y, x)) > 0.5
    yy = y.clone().requires_grad_(True)
    stft(yy, x).backward()
    assert torch.isfinite(yy.grad).all() and float(yy.grad.abs().sum()) > 0


def test_mel_loss_has_gradient() -> None:
    x = 0.1 * torch.randn(1, 1, 2000)
    y = (0.9 * x).requires_grad_(True)
    MultiScaleMelLoss(8000, scales=(6, 7))(y, x).backward()
    assert torch.isfinite(y.grad).all() and float(y.grad.abs().sum()) > 0


def test_adversarial_losses() -> None:
    real, fake = [torch.full((2, 1, 3, 3), 2.0)], [torch.full((2, 1, 3, 3), -2.0)]
    assert float(hinge_discriminator_loss(real, fake)) == 0.0  # confident and right
    assert float(hinge_discriminator_loss(fake, real)) == pytest.approx(6.0)
    assert float(hinge_generator_loss(real)) == 0.0
    assert float(hinge_generator_loss(fake)) == pytest.approx(3.0)
    feats = [[torch.randn(2, 4, 5, 6), torch.randn(2, 4, 5, 3)]]
    assert float(feature_matching_loss(feats, feats)) == 0.0
    other = [[f + 1 for f in feats[0]]]
    assert float(feature_matching_loss(feats, other)) > 0


def test_discriminator_output_shapes() -> None:
    disc = MultiScaleSTFTDiscriminator(channels=2, filters=4, n_ffts=(256, 128))
    x = torch.randn(3, 2, 4000)
    logits, feats = disc(x)
    assert len(logits) == len(feats) == 2
    for n_fft, lg, fs in zip((256, 128), logits, feats):
        frames, freqs = 4000 // (n_fft // 4) + 1, n_fft // 2 + 1
        assert lg.shape[:3] == (3, 1, frames)
        assert lg.shape[3] == -(-freqs // 8)  # three stride-2 layers along frequency
        assert len(fs) == 5 and all(f.shape[:2] == (3, 4) for f in fs)
    hinge_generator_loss(logits).backward()
    assert all(p.grad is not None for p in disc.parameters())


# ------------------------------------------------------------------------------- data
def _clips(sr: int = 8000, channels: int = 1):
    gen = torch.Generator().manual_seed(1)
    tone = torch.sin(torch.arange(3 * sr) / sr * 2 * np.pi * 220)[None]
    clips = [make_clip("a", "speech", 0.3 * tone.repeat(channels, 1), mono_origin=True),
             make_clip("b", "music", torch.randn(channels, 500, generator=gen),
                       mono_origin=False)]
    assert make_clip("silent", "speech", torch.zeros(1, 100), True) is None
    return clips


def test_segment_sampler_shapes_gain_and_state() -> None:
    s = SegmentSampler(_clips(channels=2), 1000, 4, channels=2, seed=3,
                       mix={"speech": 1.0, "music": 1.0}, gain_db=(-6.0, 6.0))
    state = s.state_dict()
    a = s.next_batch()
    assert a.shape == (4, 2, 1000) and a.dtype == torch.float32
    assert float(a.abs().max()) <= 0.99 + 1e-6
    s.load_state_dict(state)
    assert torch.equal(s.next_batch(), a)
    other = SegmentSampler(_clips(channels=2), 1000, 4, channels=2, seed=4)
    assert not torch.equal(other.next_batch(), a)
    with pytest.raises(ValueError, match="selects none"):
        SegmentSampler(_clips(), 100, 2, channels=1, mix={"noise": 1.0})


# ----------------------------------------------------------------------------- corpus
def test_exclusion_refuses_evaluation_clips(tmp_path: Path) -> None:
    ex = EvalExclusion.from_reference_dir(REF)
    with pytest.raises(ExcludedClipError, match="evaluation"):
        ex.check_file(SPEECH)
    renamed = tmp_path / "innocent.wav"  # same bytes, other name: caught by file sha256
    shutil.copy(SPEECH, renamed)
    with pytest.raises(ExcludedClipError, match="sha256"):
        ex.check_file(renamed)
    data, sr = sf.read(SPEECH, dtype="int16")  # same samples in FLAC: caught by PCM hash
    sf.write(tmp_path / "innocent.flac", data, sr, subtype="PCM_16")
    with pytest.raises(ExcludedClipError, match="samples"):
        ex.check_file(tmp_path / "innocent.flac")
    for name in ("arctic_a0007.wav", "guit_em9.flac", "x/loop_tabla.flac"):
        with pytest.raises(ExcludedClipError):
            ex.check_name(name)
    sf.write(tmp_path / "fine.flac", data[::-1].copy(), sr, subtype="PCM_16")
    ex.check_file(tmp_path / "fine.flac")  # other audio passes


def test_builtin_hashes_match_sha256sums() -> None:
    sums = {line.split()[0] for line in (REF / "SHA256SUMS").read_text().splitlines() if line}
    assert EvalExclusion().file_sha256 <= sums | EvalExclusion().file_sha256
    assert SPEECH.is_file()
    assert EvalExclusion.from_reference_dir(REF).file_sha256 >= sums


def test_sonic_pi_license_parser() -> None:
    text = ("Files: *\nCopyright: 2016 X\nLicense: MIT\n\n"
            "Files: etc/samples/a.flac\nCopyright: 2013 Someone\nSource: http://x\n"
            "License: CC0\n\nFiles: etc/samples/b.flac\nCopyright: 2014 Other\n"
            "License: CC-BY-SA-4.0\n")
    assert sonic_pi_cc0(text) == {"a.flac": "2013 Someone"}


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    build_corpus(root, CorpusSpec(sources=("music",), music_minutes=0.05, valid_percent=0.0),
                 log=lambda msg: None)
    return root


def test_corpus_build_is_seeded_and_documented(tiny_corpus: Path, tmp_path: Path) -> None:
    manifest = json.loads((tiny_corpus / "manifest.json").read_text())
    assert manifest["files"] and manifest["spec"]["seed"] == 0
    entry = manifest["files"][0]
    for key in ("file", "source", "license", "duration", "sha256", "kind", "split"):
        assert key in entry
    assert entry["channels"] == 2 and entry["sample_rate"] == 48000
    assert verify_corpus(tiny_corpus) == len(manifest["files"])
    again = build_corpus(tmp_path / "again", CorpusSpec(sources=("music",), music_minutes=0.05,
                                                        valid_percent=0.0), log=lambda m: None)
    assert [e["sha256"] for e in again["files"]] == [e["sha256"] for e in manifest["files"]]


def test_load_corpus_resamples_and_levels(tiny_corpus: Path) -> None:
    manifest = json.loads((tiny_corpus / "manifest.json").read_text())
    clips = load_corpus(tiny_corpus, 16000, 1)
    assert len(clips) == len(manifest["files"])
    clip = clips[0]
    assert clip.samples.dtype == torch.int16 and clip.samples.shape[0] == 1
    assert clip.length == pytest.approx(manifest["files"][0]["duration"] * 16000, abs=2)
    assert active_rms(clip.samples.float() * clip.scale) == pytest.approx(0.1, rel=0.05)
    assert load_corpus(tiny_corpus, 16000, 1, split="valid") == []


def test_corpus_builder_refuses_to_write_an_evaluation_clip(tmp_path: Path) -> None:
    from conformance.training.corpus import _Writer

    w = _Writer(tmp_path, CorpusSpec(), EvalExclusion.from_reference_dir(REF), lambda m: None)
    data, sr = sf.read(SPEECH, dtype="float64")
    with pytest.raises(ExcludedClipError):
        w.add("speech/copy.flac", data, sr, kind="speech", source="test", license="-",
              origin="copy")
    assert not (tmp_path / "speech/copy.flac").exists() and not w.entries


# ------------------------------------------------------------------------ configs / lr
def test_golden_configs_are_valid_and_small() -> None:
    for family, recipe in GOLDEN.items():
        assert get_recipe(family) is recipe
        assert TrainRecipe.from_dict(recipe.to_dict()) == recipe
        assert model_size(recipe.config)["bytes_float32"] < 12e6
    assert GOLDEN["encodec_48khz"].config.renormalize
    assert GOLDEN["encodec_24khz"].config.causal
    with pytest.raises(KeyError, match="known"):
        get_recipe("nope")


def test_recipe_overrides() -> None:
    r = get_recipe("encodec_24khz").with_overrides(
        ["batch_size=32", "disc_n_ffts=2048,1024", "weights.adv=4", "lr=1e-3",
         "dead_code_ref_vectors=2400"])
    assert (r.batch_size, r.disc_n_ffts, r.weights.adv, r.lr) == (32, (2048, 1024), 4.0, 1e-3)
    assert r.dead_code_ref_vectors == 2400
    for bad in (["config=1"], ["nope=1"], ["weights.x=1"], ["batch_size"], ["config.nope=1"],
                ["config.n_filters=0"], ["config.pad_mode=wrap"]):
        with pytest.raises(ValueError):
            get_recipe("encodec_24khz").with_overrides(bad)


def test_recipe_config_overrides() -> None:
    base = get_recipe("encodec_32khz")
    r = base.with_overrides(["config.n_filters=12", "config.ratios=8,5,4,4",
                             "config.pad_mode=constant"])
    assert (r.config.n_filters, r.config.ratios, r.config.pad_mode) == (12, (8, 5, 4, 4),
                                                                          "constant")
    assert r.config.bins == base.config.bins and r.q_dropout == base.q_dropout
    assert base.config.n_filters == 8  # the golden recipe itself is unchanged


def test_recipe_data_mix_overrides() -> None:
    base = get_recipe("encodec_32khz")
    r = base.with_overrides(["data_mix.music=0.5", "data_mix.speech=2"])
    assert r.data_mix == {"music": 0.5, "speech": 2.0}
    assert base.data_mix == {"music": 0.25, "speech": 1.0}  # unchanged
    for bad in (["data_mix.noise=1"], ["data_mix.music=-1"], ["data_mix.music=lots"],
                ["data_mix.music=0", "data_mix.speech=0"], ["data_mix=1"]):
        with pytest.raises(ValueError):
            base.with_overrides(bad)


def test_corpus_extra_dir_is_checked(tmp_path: Path) -> None:
    extra = tmp_path / "mine"
    extra.mkdir()
    data, sr = sf.read(SPEECH, dtype="int16")
    sf.write(extra / "ok.wav", data[::-1].copy(), sr)
    shutil.copy(SPEECH, extra / "sneaky.wav")
    manifest = build_corpus(tmp_path / "c", CorpusSpec(sources=(), extra_dir=str(extra),
                                                       extra_license="CC0"), log=lambda m: None)
    assert [e["origin"] for e in manifest["files"]] == ["ok.wav"]
    assert manifest["files"][0]["license"] == "CC0"
    assert manifest["skipped"][0]["origin"] == "sneaky.wav"


def test_training_init_gives_a_resolvable_latent() -> None:
    from conformance.model import EncodecModel

    torch.manual_seed(0)
    model = EncodecModel(GOLDEN["encodec_24khz"].config)
    x = 0.1 * torch.randn(1, 1, 8000)
    with torch.no_grad():
        before = model.encoder(x).std(dim=2).mean()
        init_weights_(model)
        after = model.encoder(x).std(dim=2).mean()
    assert float(before) < 0.01 < 0.05 < float(after) < 2.0


def test_lr_schedule_warmup_then_cosine() -> None:
    assert lr_factor(0, 100, 10, 0.1) == pytest.approx(0.1)
    assert lr_factor(9, 100, 10, 0.1) == pytest.approx(1.0)
    assert lr_factor(10, 100, 10, 0.1) == pytest.approx(1.0)
    assert lr_factor(55, 100, 10, 0.1) == pytest.approx(0.55)
    assert lr_factor(100, 100, 10, 0.1) == pytest.approx(0.1)
    assert lr_factor(500, 100, 10, 0.1) == pytest.approx(0.1)


# ------------------------------------------------------------------------- smoke train
TINY = EncodecConfig(sample_rate=8000, channels=1, n_filters=4, dimension=8, ratios=(4, 2),
                     lstm=1, bins=16, n_q=4, target_bandwidths=(), causal=True,
                     norm="weight_norm", name="tiny")
TINY_RECIPE = TrainRecipe(
    family="encodec_24khz", config=TINY, segment_seconds=0.1, batch_size=2, warmup_steps=2,
    mel_scales=(5, 6, 7), n_mels=16, adv_start=0.4, disc_filters=2, disc_n_ffts=(128, 64),
    kmeans_iters=2, q_dropout=0.5, dead_code_ref_vectors=None,
    data_mix={"music": 1.0})


def _opts(out: Path, corpus: Path, **kw) -> TrainOptions:
    base = dict(family="encodec_24khz", out=out, corpus=corpus, steps=5, threads=1,
                progress=False, recipe=TINY_RECIPE, eval_clips=(), log_every=2)
    return TrainOptions(**{**base, **kw})


def test_smoke_train_checkpoint_resume_export(tiny_corpus: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    first = train(_opts(run, tiny_corpus, stop_at_step=3))
    assert first["steps"] == 3
    state = torch.load(run / "state.pt", weights_only=True)
    assert state["step"] == 3 and state["total_steps"] == 5

    with pytest.raises(RuntimeError, match="--resume"):
        train(_opts(run, tiny_corpus))
    done = train(_opts(run, tiny_corpus, resume=True))
    assert done["steps"] == 5
    state = torch.load(run / "state.pt", weights_only=True)
    assert state["step"] == 5 and len(state["sessions"]) == 2
    assert [h["step"] for h in state["history"]] == [2, 3, 4, 5]

    straight = tmp_path / "straight"  # the same run without interruption: same weights
    train(_opts(straight, tiny_corpus))
    a = torch.load(run / "state.pt", weights_only=True)["model"]
    b = torch.load(straight / "state.pt", weights_only=True)["model"]
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)

    loaded = load_checkpoint(run / "encodec_24khz.th")  # strict load of the golden file
    assert loaded.config.n_q == 4 and loaded.config.n_filters == 4
    assert all(float(layer._codebook.inited) == 1.0
               for layer in loaded.model.quantizer.vq.layers)
    wav = 0.1 * torch.randn(1, 1, 800)
    with torch.no_grad():
        enc = loaded.model.encode(wav, "all")
    assert enc.codes.shape == (1, 4, 100)
    log = json.loads((run / "encodec_24khz.log.json").read_text())
    assert log["steps"] == 5 and log["history"] and "git_commit" in log
    assert log["adv_start_step"] == 2 and "d_loss" in log["history"][-1]


def test_resume_can_change_the_recipe_and_drop_the_discriminator(tiny_corpus: Path,
                                                                  tmp_path: Path) -> None:
    run = tmp_path / "run"
    train(_opts(run, tiny_corpus, stop_at_step=3))  # adversarial from step 2
    with pytest.warns(RuntimeWarning) as record:
        out = train(_opts(run, tiny_corpus, resume=True, adversarial=False,
                          overrides=("weights.stft=1.0", "weights.l1=0.5")))
    messages = " ".join(str(w.message) for w in record)
    assert "discriminator is dropped from step 3" in messages
    assert "recipe changes from step 3" in messages
    assert out["steps"] == 5
    state = torch.load(run / "state.pt", weights_only=True)
    assert state["recipe"]["weights"]["stft"] == 1.0 and state["recipe"]["weights"]["l1"] == 0.5
    assert state["disc"] is None and "stft" in state["history"][-1]
    assert "d_loss" not in state["history"][-1]
    with pytest.raises(RuntimeError, match="started without the adversarial stage"):
        train(_opts(run, tiny_corpus, resume=True, steps=7))
    with pytest.raises(RuntimeError, match="no loss weight 'nope'"):
        train(_opts(run, tiny_corpus, resume=True, adversarial=False, steps=7,
                    overrides=("weights.nope=1",)))
    with pytest.raises(RuntimeError, match="keeps its model architecture"):
        train(_opts(run, tiny_corpus, resume=True, adversarial=False, steps=7,
                    overrides=("config.n_filters=6",)))


def test_time_budget_plans_steps(tiny_corpus: Path, tmp_path: Path) -> None:
    out = train(_opts(tmp_path / "timed", tiny_corpus, steps=None, minutes=0.02,
                      calib_steps=2, adversarial=False))
    assert out["total_steps"] is not None and out["steps"] >= 4


def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--family", "encodec_24khz", "--out", str(tmp_path / "none"),
                 "--resume", "--steps", "1"]) == 2
    assert "does not exist" in capsys.readouterr().err
