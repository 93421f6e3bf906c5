"""PromptSRC's Gaussian prompt aggregation (GPA): a Gaussian-weighted average of the model over epochs.

Khattak et al., "Self-regulating Prompts", ICCV 2023, arXiv:2307.06948, eq. 6. The authors'
code (muzairkhattak/PromptSRC, trainers/promptsrc.py) weights epoch k = 1..N by the normal density
at k with mean GPA_MEAN and deviation GPA_STD, normalised to sum to one, and after the last step of
each epoch adds the weighted copy of the whole model's state to a running sum, in each tensor's own
dtype (an fp16 product and sum stay fp16). After epoch N the sum replaces the model.

Averaging the frozen CLIP weights too does not leave them as they were: sum_k fl(w_k * W) is not W
in fp16. That happens identically in every run, so `aggregate_constant` recomputes it from W alone
and a checkpoint need only hold the prompts.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor


def gaussian_epoch_weights(mean: float, std: float, epochs: int) -> list[float]:
    """The weight of each epoch k = 1..`epochs` (in order): N(k; mean, std^2), normalised to sum to 1."""
    if std <= 0:
        raise ValueError(f"the GPA standard deviation must be > 0, got {std}")
    if epochs < 1:
        raise ValueError(f"GPA needs at least one epoch, got {epochs}")
    # The authors' float64 expression, operation for operation.
    density = [(1 / (std * math.sqrt(2 * math.pi))) * math.exp(-0.5 * ((k - mean) / std) ** 2)
               for k in range(1, epochs + 1)]
    total = sum(density)
    if total == 0:
        raise ValueError(f"every epoch 1..{epochs} has GPA weight 0 in float64 (mean {mean}, std {std}): "
                         "choose a mean within or near the epochs, or a larger std")
    return [value / total for value in density]


@torch.no_grad()
def add_weighted(running: Tensor | None, value: Tensor, weight: float) -> Tensor:
    """`running + weight * value` in `value`'s dtype, as the authors accumulate; the first epoch starts the sum."""
    weighted = value.detach() * weight
    return weighted.clone() if running is None else running + weighted


@torch.no_grad()
def aggregate_constant(value: Tensor, weights: list[float]) -> Tensor:
    """What GPA makes of a tensor that stayed `value` through every epoch (a frozen weight)."""
    running = None
    for weight in weights:
        running = add_weighted(running, value, weight)
    return running
