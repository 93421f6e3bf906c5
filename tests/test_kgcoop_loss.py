"""Tests for mopd.methods.kgcoop_loss against a plain per-class loop."""
import pytest
import torch
from torch.nn import functional as F

from mopd.methods.kgcoop_loss import kgcoop_loss, kgcoop_objective


def _loop_reference(learned: torch.Tensor, hand_crafted: torch.Tensor) -> torch.Tensor:
    sims = [F.cosine_similarity(learned[c], hand_crafted[c], dim=0) for c in range(learned.shape[0])]
    return 1.0 - sum(sims) / len(sims)


def test_kgcoop_loss_equals_one_minus_mean_cosine_over_classes():
    torch.manual_seed(0)
    learned, hand_crafted = torch.randn(7, 16), torch.randn(7, 16)
    torch.testing.assert_close(kgcoop_loss(learned, hand_crafted), _loop_reference(learned, hand_crafted))


def test_kgcoop_loss_ignores_feature_norms():
    torch.manual_seed(1)
    learned, hand_crafted = torch.randn(5, 8), torch.randn(5, 8)
    scales = torch.rand(5, 1) * 10 + 0.1
    torch.testing.assert_close(kgcoop_loss(learned * scales, hand_crafted * 3.0), kgcoop_loss(learned, hand_crafted))


def test_kgcoop_loss_is_zero_for_identical_directions_and_two_for_opposite():
    feats = torch.randn(4, 6)
    torch.testing.assert_close(kgcoop_loss(2 * feats, feats), torch.tensor(0.0), atol=1e-6, rtol=0)
    torch.testing.assert_close(kgcoop_loss(-feats, feats), torch.tensor(2.0))


def test_kgcoop_loss_gradient_reaches_learned_features_only():
    torch.manual_seed(2)
    learned = torch.randn(3, 8, requires_grad=True)
    hand_crafted = torch.randn(3, 8, requires_grad=True)
    kgcoop_loss(learned, hand_crafted).backward()
    reference = learned.detach().clone().requires_grad_(True)
    _loop_reference(reference, hand_crafted.detach()).backward()
    torch.testing.assert_close(learned.grad, reference.grad)
    assert hand_crafted.grad is None


def test_kgcoop_loss_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        kgcoop_loss(torch.randn(3, 8), torch.randn(4, 8))


def test_kgcoop_objective_adds_weighted_consistency_to_cross_entropy():
    ce, kg = torch.tensor(1.25), torch.tensor(0.5)
    torch.testing.assert_close(kgcoop_objective(ce, kg, 8.0), torch.tensor(1.25 + 8.0 * 0.5))
    with pytest.raises(ValueError, match="8.0"):
        kgcoop_objective(ce, kg, -1.0)


def test_kgcoop_loss_of_half_precision_features_is_computed_in_fp32():
    torch.manual_seed(3)
    learned, hand_crafted = torch.randn(5, 32), torch.randn(5, 32)
    half = learned.half().requires_grad_(True)
    loss = kgcoop_loss(half, hand_crafted.half())
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, _loop_reference(half.detach().float(), hand_crafted.half().float()))
    loss.backward()
    assert half.grad.dtype == torch.float16
