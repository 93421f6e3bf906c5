"""Parameter counting, as Dassl's `count_num_param`."""
from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn


def count_num_param(
    model: nn.Module | None = None, params: Iterable[torch.Tensor | dict] | None = None
) -> int:
    """Return the number of elements in `model`'s parameters, or in `params` (tensors or groups)."""
    if model is not None:
        return sum(p.numel() for p in model.parameters())
    if params is not None:
        total = 0
        for item in params:
            if isinstance(item, dict):
                group = item["params"]
                tensors = [group] if isinstance(group, torch.Tensor) else list(group)
                total += sum(t.numel() for t in tensors)
            else:
                total += item.numel()
        return total
    raise ValueError("count_num_param() needs a model or params; both were None")
