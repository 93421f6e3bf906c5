"""Tests for mopd.methods.gate: the MoPD prompt gate (scores, top-k, softmax weights)."""
import math

import pytest
import torch

from mopd.methods.gate import PromptGate


@pytest.mark.parametrize("embed_dim", [512, 768, 1024])
def test_gate_shapes_follow_embed_dim_pool_size_and_top_k(embed_dim):
    gate = PromptGate(embed_dim, num_prompts=12, top_k=3)
    weights, indices = gate(torch.randn(5, embed_dim))
    assert gate.weight.shape == (embed_dim, 12)
    assert weights.shape == indices.shape == (5, 3)
    assert weights.dtype == torch.float32
    assert indices.dtype == torch.long
    assert gate.num_prompts == 12


@pytest.mark.parametrize("top_k", [1, 2, 5])
def test_zero_initialised_gate_gives_uniform_weights(top_k):
    gate = PromptGate(16, num_prompts=5, top_k=top_k)
    assert torch.count_nonzero(gate.weight) == 0
    weights, indices = gate(torch.randn(4, 16))
    torch.testing.assert_close(weights, torch.full((4, top_k), 1.0 / top_k))
    assert all(len(set(row.tolist())) == top_k for row in indices)


def test_gate_matches_a_naive_per_image_top_k_and_softmax():
    torch.manual_seed(0)
    embed_dim, num_prompts, top_k = 8, 6, 3
    gate = PromptGate(embed_dim, num_prompts, top_k)
    with torch.no_grad():
        gate.weight.copy_(torch.randn(embed_dim, num_prompts))
    features = torch.randn(7, embed_dim)
    weights, indices = gate(features)
    for b in range(features.shape[0]):
        scores = [float(sum(features[b, d] * gate.weight[d, p] for d in range(embed_dim))) for p in range(num_prompts)]
        best = sorted(range(num_prompts), key=lambda p: scores[p], reverse=True)[:top_k]
        assert indices[b].tolist() == best
        exps = [math.exp(scores[p] - scores[best[0]]) for p in best]
        expected = torch.tensor([e / sum(exps) for e in exps])
        torch.testing.assert_close(weights[b], expected, rtol=1e-5, atol=1e-6)


def test_gate_weights_sum_to_one_over_top_k():
    gate = PromptGate(8, num_prompts=6, top_k=4)
    with torch.no_grad():
        gate.weight.normal_()
    weights, _ = gate(torch.randn(9, 8))
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(9))


def test_gate_with_top_k_equal_to_pool_size_selects_every_prompt():
    gate = PromptGate(8, num_prompts=4, top_k=4)
    with torch.no_grad():
        gate.weight.normal_()
    _, indices = gate(torch.randn(3, 8))
    assert [sorted(row.tolist()) for row in indices] == [[0, 1, 2, 3]] * 3


def test_gate_gets_gradient_through_its_weights():
    gate = PromptGate(8, num_prompts=4, top_k=2)
    with torch.no_grad():
        gate.weight.normal_()
    weights, _ = gate(torch.randn(3, 8))
    (weights[:, 0] * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert gate.weight.grad is not None and torch.count_nonzero(gate.weight.grad) > 0


def test_gate_state_dict_holds_only_its_weight():
    gate = PromptGate(8, num_prompts=4, top_k=2)
    assert list(gate.state_dict()) == ["weight"]


def test_half_precision_gate_keeps_fp16_weight_and_returns_fp32_weights():
    gate = PromptGate(8, num_prompts=4, top_k=2, dtype=torch.float16)
    weights, _ = gate(torch.randn(3, 8))
    assert gate.weight.dtype == torch.float16
    assert weights.dtype == torch.float32


@pytest.mark.parametrize("top_k", [0, 5])
def test_gate_rejects_top_k_outside_one_to_pool_size(top_k):
    with pytest.raises(ValueError) as info:
        PromptGate(8, num_prompts=4, top_k=top_k)
    assert f"top_k={top_k}" in str(info.value)
    assert "4" in str(info.value)
