"""MMRL's training loss and its choice of branch at evaluation (Guo and Gu, CVPR 2025, arXiv:2503.08497).

As the authors compute them (yunncheng/MMRL, trainers/mmrl.py, `MMRL_Loss` and `test`):

    loss = ALPHA * CE(class logits) + (1 - ALPHA) * CE(representation logits)
           + REG_WEIGHT * (1 - mean_b cos(f_b, z_b)) + REG_WEIGHT * (1 - mean_c cos(t_c, u_c))

with f the class-token image features, z frozen CLIP's image features, t the class features and u
frozen CLIP's features of the hand-written prompts; the sum is formed in the authors' order.
"""
from __future__ import annotations

from typing import Literal, NamedTuple

import torch.nn.functional as F
from torch import Tensor

Task = Literal["B2N", "FS", "CD"]
TASKS: tuple[str, ...] = ("B2N", "FS", "CD")
Branch = Literal["fusion", "class"]


class MMRLLoss(NamedTuple):
    """The total and its parts, each as it enters the total (weights applied)."""

    loss: Tensor
    ce_class: Tensor
    ce_rep: Tensor
    image_reg: Tensor
    text_reg: Tensor


def mmrl_loss(class_logits: Tensor, rep_logits: Tensor, label: Tensor, image_features: Tensor,
              frozen_image_features: Tensor, text_features: Tensor, frozen_text_features: Tensor,
              alpha: float, reg_weight: float) -> MMRLLoss:
    """MMRL's training loss for one batch.

    Args:
        class_logits, rep_logits: (B, C) logits of the class-token and representation branches.
        label: (B,) class indices.
        image_features, frozen_image_features: (B, D) class-token features and frozen CLIP's.
        text_features, frozen_text_features: (C, D) class features and frozen CLIP's hand-written ones.
        alpha: ALPHA, the class-token branch's weight; reg_weight: REG_WEIGHT.
    """
    ce_class = alpha * F.cross_entropy(class_logits, label)
    ce_rep = (1 - alpha) * F.cross_entropy(rep_logits, label)
    image_reg = reg_weight * (1 - F.cosine_similarity(image_features, frozen_image_features.detach(), dim=1).mean())
    text_reg = reg_weight * (1 - F.cosine_similarity(text_features, frozen_text_features.detach(), dim=1).mean())
    return MMRLLoss(ce_class + ce_rep + image_reg + text_reg, ce_class, ce_rep, image_reg, text_reg)


def evaluation_branch(task: Task, subsample: str, dataset_name: str) -> Branch:
    """Which logits MMRL evaluates with, as the authors' `test` chooses.

    Base-to-new (B2N): the fusion on the base classes, the class-token branch on the others; few-shot
    (FS): the fusion; cross-dataset and domain generalisation (CD): the fusion on ImageNet, the
    source, and the class-token branch on every other dataset.
    """
    if task == "B2N":
        return "fusion" if subsample == "base" else "class"
    if task == "FS":
        return "fusion"
    return "fusion" if dataset_name == "ImageNet" else "class"
