"""Top-k accuracy, as Dassl's `compute_accuracy`."""
from __future__ import annotations

from collections.abc import Sequence

import torch


def compute_accuracy(
    output: torch.Tensor | Sequence[torch.Tensor], target: torch.Tensor, topk: Sequence[int] = (1,)
) -> list[torch.Tensor]:
    """Return top-k accuracies in percent, one 1-element tensor per k.

    Args:
        output: logits (B, C), or a tuple/list whose first element is the logits.
        target: labels (B,).
        topk: the k values.
    """
    if isinstance(output, (tuple, list)):
        output = output[0]
    maxk = max(topk)
    batch_size = target.size(0)
    _, pred = output.topk(maxk, dim=1, largest=True, sorted=True)
    correct = pred.t().eq(target.view(1, -1).expand(maxk, -1))  # (maxk, B)
    return [correct[:k].reshape(-1).float().sum(0, keepdim=True).mul_(100.0 / batch_size) for k in topk]
