"""Precision policy and the non-finite loss guard."""
from __future__ import annotations

import logging

import pytest
import torch

from mopd.clip.precision import NonFiniteGuard, PrecisionPolicy


def test_guard_skips_non_finite_losses_and_stops_when_they_persist(caplog):
    guard = NonFiniteGuard(max_consecutive=3)
    with caplog.at_level(logging.WARNING):
        assert guard.allows_update(torch.tensor(1.0), "epoch 1 batch 1")
        assert not guard.allows_update(torch.tensor(float("nan")), "epoch 1 batch 2")
        assert guard.allows_update(torch.tensor(0.5), "epoch 1 batch 3")  # a good step resets the count
        assert not guard.allows_update(torch.tensor(float("inf")), "epoch 1 batch 4")
        assert not guard.allows_update(torch.tensor(float("nan")), "epoch 1 batch 5")
    assert "Non-finite loss (nan) at epoch 1 batch 2: update skipped" in caplog.text
    with pytest.raises(FloatingPointError, match="3 steps in a row.*epoch 1 batch 6"):
        guard.allows_update(torch.tensor(float("nan")), "epoch 1 batch 6")


def test_guard_stops_after_an_epoch_without_one_finite_step_but_not_after_a_partly_bad_one():
    guard = NonFiniteGuard(max_consecutive=10)
    assert not guard.allows_update(torch.tensor(float("nan")), "epoch 1 batch 1")
    assert guard.allows_update(torch.tensor(1.0), "epoch 1 batch 2")
    guard.end_epoch("epoch 1")
    assert not guard.allows_update(torch.tensor(float("nan")), "epoch 2 batch 1")
    with pytest.raises(FloatingPointError, match="every one of the 1 steps of epoch 2"):
        guard.end_epoch("epoch 2")
    guard.end_epoch("epoch 3")  # an epoch that ran no step at all is no evidence either way


@pytest.mark.parametrize(("amp_dtype", "expected"), [("auto", torch.bfloat16), ("bf16", torch.bfloat16), ("fp16", torch.float16)])
def test_amp_autocasts_to_the_chosen_dtype_with_fp32_master_weights(amp_dtype, expected):
    policy = PrecisionPolicy("amp", torch.device("cpu"), amp_dtype)
    layer = policy.prepare(torch.nn.Linear(4, 4).half())
    assert layer.weight.dtype == torch.float32
    with policy.autocast():
        assert layer(torch.ones(2, 4)).dtype == expected
    assert (policy.scaler is not None) == (expected == torch.float16)


def test_fp16_and_fp32_policies_do_not_autocast():
    for prec in ("fp16", "fp32"):
        policy = PrecisionPolicy(prec, torch.device("cpu"))
        with policy.autocast():
            assert torch.ones(2, 2, dtype=torch.float32).matmul(torch.ones(2, 2)).dtype == torch.float32
        assert policy.scale(torch.tensor(2.0)).item() == 2.0
