"""MoPD gate: picks, for every image, the k teacher prompts to distil and their weights (METHOD.md step 6)."""
from __future__ import annotations

import torch
from torch import Tensor, nn


class PromptGate(nn.Module):
    """Scores h = f @ W_g (W_g of shape (D, P), zero-initialised), keeps the top k and softmaxes them.

    At initialisation all scores tie; which k prompts `torch.topk` returns is then left to it, as in
    the reference implementation.
    """

    def __init__(self, embed_dim: int, num_prompts: int, top_k: int, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        if embed_dim < 1 or num_prompts < 1:
            raise ValueError(f"embed_dim={embed_dim} and num_prompts={num_prompts} must both be at least 1")
        if not 1 <= top_k <= num_prompts:
            raise ValueError(
                f"top_k={top_k} must be between 1 and the number of teacher prompts {num_prompts}; "
                f"choose a top_k of at most {num_prompts} or use a larger pool"
            )
        self.top_k = top_k
        self.weight = nn.Parameter(torch.zeros(embed_dim, num_prompts, dtype=dtype))

    @property
    def num_prompts(self) -> int:
        """P, the number of teacher prompts the gate scores."""
        return self.weight.shape[1]

    def forward(self, image_features: Tensor) -> tuple[Tensor, Tensor]:
        """Select teacher prompts per image.

        Args:
            image_features: f, (B, D).

        Returns:
            weights a, (B, k) in fp32, a softmax over the k selected scores; indices j, (B, k) long,
            the selected prompts in decreasing score order.
        """
        scores = image_features.to(self.weight.dtype) @ self.weight  # (B, P)
        values, indices = torch.topk(scores, self.top_k, dim=1)
        return torch.softmax(values, dim=1, dtype=torch.float32), indices

    def extra_repr(self) -> str:
        """Show D, P and k."""
        return f"embed_dim={self.weight.shape[0]}, num_prompts={self.num_prompts}, top_k={self.top_k}"
