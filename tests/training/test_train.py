"""The trainer: weight init, learning-rate schedule, and a tiny end-to-end run that
checkpoints, resumes and exports a strictly loadable checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from conformance.checkpoints.load import load_checkpoint
from conformance.training.configs import GOLDEN, TrainRecipe
from conformance.training.train import (
    TrainingError,
    TrainOptions,
    init_weights_,
    lr_factor,
    main,
    train,
)
from tests.configs import TRAINING_8K


def test_training_init_gives_a_resolvable_latent() -> None:
    from conformance.model.encodec import EncodecModel

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


TINY = TRAINING_8K
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

    with pytest.raises(TrainingError, match="--resume"):
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
    with pytest.raises(TrainingError, match="started without the adversarial stage"):
        train(_opts(run, tiny_corpus, resume=True, steps=7))
    with pytest.raises(TrainingError, match="no loss weight 'nope'"):
        train(_opts(run, tiny_corpus, resume=True, adversarial=False, steps=7,
                    overrides=("weights.nope=1",)))
    with pytest.raises(TrainingError, match="keeps its model architecture"):
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
