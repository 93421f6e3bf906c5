"""KgCoOp's knowledge-guided consistency loss (Yao, Zhang, Xu; CVPR 2023, arXiv 2303.13283).

KgCoOp keeps the learned class text features close to the frozen hand-crafted ones
("a photo of a {}.") by adding w * (1 - mean_c cos(g_c, t_c)) to the cross-entropy.
The reference implementation (htyao89/KgCoOp, `KgCoOp/trainers/kgcoop.py`) computes the
cosine form, not a squared L2 distance: lines 238-241 build
`nn.CosineSimilarity(dim=1, eps=1e-07)` on the normalised features and take
`1.0 - torch.mean(score)`; line 310 adds it as `cross_entropy + self.w * score`, with
`self.w` read from the TRAINER.COOP.W option (line 265) and W = 8.0 in every published
base-to-new run (`KgCoOp/scripts/run.sh`). For unit vectors 1 - cos = ||g - t||^2 / 2, so
the two forms differ by a factor of two in the weight. Computed in fp32 whatever the
feature dtype (the reference uses the CLIP dtype, fp16 by default).
"""
from __future__ import annotations

from torch import Tensor
from torch.nn import functional as F


def kgcoop_loss(learned_text_features: Tensor, hand_crafted_text_features: Tensor) -> Tensor:
    """Return 1 - mean over classes of cos(learned_c, hand_crafted_c), a scalar.

    Args:
        learned_text_features: (C, D) text features of the learnable prompts; normalised here.
        hand_crafted_text_features: (C, D) frozen hand-crafted prompt features; normalised
            here and treated as constants (no gradient flows into them).
    """
    if learned_text_features.shape != hand_crafted_text_features.shape:
        raise ValueError(
            f"kgcoop_loss needs features of the same shape (C, D), got learned "
            f"{tuple(learned_text_features.shape)} and hand-crafted "
            f"{tuple(hand_crafted_text_features.shape)}; encode both prompt sets for the "
            "same class list with the same CLIP"
        )
    learned = F.normalize(learned_text_features.float(), dim=-1)
    hand_crafted = F.normalize(hand_crafted_text_features.detach().float(), dim=-1)
    cosine = (learned * hand_crafted).sum(dim=-1)  # (C,)
    return 1.0 - cosine.mean()


def kgcoop_objective(ce_loss: Tensor, consistency_loss: Tensor, weight: float) -> Tensor:
    """Return KgCoOp's training loss ce_loss + weight * consistency_loss (published weight 8.0)."""
    if weight < 0:
        raise ValueError(
            f"KgCoOp weight must be >= 0, got {weight}; the published value is 8.0"
        )
    return ce_loss + weight * consistency_loss
