"""Gaussian prompt aggregation: epoch weights, the running sum and the rounding of constant (frozen) weights."""
import math

import numpy as np
import pytest
import torch

from mopd.methods.gpa import add_weighted, aggregate_constant, gaussian_epoch_weights


def test_weights_are_the_normalised_normal_density_at_each_epoch():
    weights = gaussian_epoch_weights(15, 1, 20)
    density = [math.exp(-((k - 15) ** 2) / 2) for k in range(1, 21)]  # the constant factor cancels
    assert weights == pytest.approx([d / sum(density) for d in density], rel=1e-12)
    assert max(range(20), key=weights.__getitem__) == 14  # epoch 15 (1-based) weighs most
    # The authors' published base-to-new weights (muzairkhattak/PromptSRC, mean 15, std 1), to their printed digits.
    assert weights[14] == pytest.approx(0.398942, abs=1e-6) and weights[13] == pytest.approx(0.241971, abs=1e-6)


def test_a_flat_gaussian_weighs_epochs_almost_equally_and_bad_values_are_refused():
    weights = gaussian_epoch_weights(6, 10, 20)
    assert sum(weights) == pytest.approx(1.0, abs=1e-15)
    assert weights[0] == pytest.approx(0.055402, abs=1e-6) and weights[5] == pytest.approx(0.0627787, abs=1e-7)
    with pytest.raises(ValueError, match="> 0"):
        gaussian_epoch_weights(15, 0, 20)
    with pytest.raises(ValueError, match="weight 0"):
        gaussian_epoch_weights(10_000, 1, 20)


def test_running_sum_is_the_weighted_sum_over_epochs():
    g = torch.Generator().manual_seed(0)
    values = [torch.randn(3, 4, generator=g, dtype=torch.float64) for _ in range(4)]
    weights = gaussian_epoch_weights(2, 1, 4)
    running = None
    for value, weight in zip(values, weights):
        running = add_weighted(running, value, weight)
    expected = sum(w * v for w, v in zip(weights, values))
    torch.testing.assert_close(running, expected, rtol=1e-14, atol=0)
    assert values[0].grad_fn is None and running is not values[0]  # the first epoch's tensor is copied, not kept


def test_constant_fp16_weights_come_out_as_fp16_arithmetic_leaves_them():
    weights = gaussian_epoch_weights(15, 1, 20)
    frozen = (torch.randn(4000, generator=torch.Generator().manual_seed(2)) * 0.02).half()
    # Independent emulation: each product in fp32 rounded to fp16, each sum in fp32 rounded to fp16.
    values = frozen.numpy().astype(np.float32)
    running = (np.float32(weights[0]) * values).astype(np.float16)
    for weight in weights[1:]:
        running = (running.astype(np.float32) + (np.float32(weight) * values).astype(np.float16).astype(np.float32)
                   ).astype(np.float16)
    rounded = aggregate_constant(frozen, weights)
    assert rounded.dtype == torch.float16
    np.testing.assert_array_equal(rounded.numpy(), running)
    changed = (rounded != frozen).float().mean().item()
    assert 0.05 < changed < 0.9  # the authors' averaging of the whole model does move frozen fp16 weights
    # In float64 the same sum returns the weights themselves (the weights sum to one).
    torch.testing.assert_close(aggregate_constant(frozen.double(), weights), frozen.double(), rtol=1e-14, atol=0)
