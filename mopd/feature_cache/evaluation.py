"""Dassl's evaluation loop, on image features instead of images: one product with the class features per batch."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import torch


def evaluation_loader(split: str, val_loader: Any, test_loader: Any) -> tuple[str, Any]:
    """The split that Dassl's `test(split)` evaluates and its loader: val when asked for and present, else test."""
    if split == "val" and val_loader is not None:
        return "val", val_loader
    return "test", test_loader


def evaluate_features(
    features: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    classify: Callable[[torch.Tensor], torch.Tensor],
    evaluator: Any,
) -> OrderedDict[str, float]:
    """The evaluator's results over (N, D) `features` with (N,) `labels`, fed `batch_size` rows at a time.

    The batches are the rows an uncached evaluation's sequential loader yields, so `classify`
    (rows -> (B, C) logits) sees exactly the tensors it would have computed from the images.
    """
    evaluator.reset()
    for start in range(0, labels.shape[0], batch_size):
        rows = slice(start, start + batch_size)
        evaluator.process(classify(features[rows]), labels[rows])
    return evaluator.evaluate()
