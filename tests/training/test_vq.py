"""The training VQ rules: k-means init, EMA updates, dead-code replacement, straight-through
gradient, commitment loss and quantizer dropout."""

from __future__ import annotations

import pytest
import torch

from conformance.model.quantizer import ResidualVectorQuantizer
from conformance.training.vq import TrainingRVQ, kmeans, laplace_smoothing


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
