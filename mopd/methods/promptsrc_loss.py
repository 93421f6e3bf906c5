"""PromptSRC's self-regulating loss (Khattak et al., ICCV 2023, arXiv:2307.06948, eq. 3-5).

As the authors compute it (muzairkhattak/PromptSRC, trainers/promptsrc.py, `forward_backward`):

    loss = CE(logits, y) + ((KL + TEXT_W * L1_text) + IMAGE_W * L1_image)

- L1_text: mean absolute difference of the normalised prompted class features and the normalised
  frozen-CLIP class features of the template ensemble (every element of C x D);
- L1_image: the same between the normalised prompted and frozen-CLIP image features (B x D);
- KL: KL(p_zs || p) with temperature 1, summed and divided by B * C (not by B), where p_zs are the
  softmaxed logits of frozen CLIP's image features against the ensemble's class features.

The sum is formed in the authors' order (it changes the last bit of an fp16/fp32 sum).
"""
from __future__ import annotations

from typing import NamedTuple

import torch.nn.functional as F
from torch import Tensor


class PromptSRCLoss(NamedTuple):
    """The total and its parts, each as it enters the total (weights applied)."""

    loss: Tensor
    ce: Tensor
    kl: Tensor
    text_l1: Tensor
    image_l1: Tensor


def promptsrc_loss(
    logits: Tensor,
    label: Tensor,
    text_features: Tensor,
    teacher_text_features: Tensor,
    image_features: Tensor,
    teacher_image_features: Tensor,
    teacher_logits: Tensor,
    text_weight: float,
    image_weight: float,
) -> PromptSRCLoss:
    """PromptSRC's training loss for one batch.

    Args:
        logits: (B, C) prompted logits (scale * image @ text^T).
        label: (B,) class indices.
        text_features, teacher_text_features: (C, D) normalised prompted / frozen ensemble class features.
        image_features, teacher_image_features: (B, D) normalised prompted / frozen image features.
        teacher_logits: (B, C) frozen CLIP's logits (scale * frozen image @ ensemble^T).
        text_weight, image_weight: TEXT_LOSS_WEIGHT (25) and IMAGE_LOSS_WEIGHT (10).
    """
    ce = F.cross_entropy(logits, label)
    text_l1 = F.l1_loss(text_features, teacher_text_features.detach()) * text_weight
    image_l1 = F.l1_loss(image_features, teacher_image_features.detach()) * image_weight
    kl = F.kl_div(F.log_softmax(logits, dim=1), F.log_softmax(teacher_logits.detach(), dim=1),
                  reduction="sum", log_target=True) / logits.numel()
    return PromptSRCLoss(ce + ((kl + text_l1) + image_l1), ce, kl, text_l1, image_l1)
