"""Learnable tokens inside CLIP's towers: which layer each enters and how it is cast on the way in.

Deep prompting (MaPLe, IVLP, PromptSRC) gives a tower n learnable tokens at its input (the shallow
prompt) and, at the input of each of the next layers up to a depth, replaces the outputs of the
previous layer's prompt tokens with new learnable tokens; layers beyond the depth carry them on.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class TowerPrompts:
    """The prompt tokens of one tower.

    `shallow` (n, W) enters at the input (the vision tower appends it; the text tower's shallow
    prompt is the context inside the prompt embeddings, so it leaves this None). `deep[j]` (n, W)
    replaces the prompt tokens at the input of layer j + 1. With `round_to_fp16` every token is cast
    to fp16 before it enters, whatever the tower's precision: the authors' code calls `.half()` on
    every prompt it inserts, so in fp32 their prompts take fp16 values (up to 2^-11 relative off).
    """

    shallow: Tensor | None = None
    deep: tuple[Tensor, ...] = ()
    round_to_fp16: bool = False

    def at_layer(self, layer: int) -> Tensor | None:
        """The deep tokens entering `layer` (0-based), or None where the previous layer's go on."""
        return self.deep[layer - 1] if 1 <= layer <= len(self.deep) else None

    def expanded(self, tokens: Tensor, batch: int, dtype: torch.dtype, batch_dim: int) -> Tensor:
        """(n, W) tokens repeated over a batch at `batch_dim` (0: (B, n, W); 1: CLIP's (n, B, W)), in `dtype`.

        Expanded before the cast, as the authors do: the gradient is summed over the batch in the
        tokens' own dtype, not in fp16.
        """
        shape = (batch, -1, -1) if batch_dim == 0 else (-1, batch, -1)
        expanded = tokens.unsqueeze(batch_dim).expand(*shape)
        return (expanded.half() if self.round_to_fp16 else expanded).to(dtype)


def check_depth(depth: int, layers: int, what: str, key: str) -> None:
    """A prompt depth must be between 1 and the tower's layer count (the authors' code silently ignores more)."""
    if not 1 <= depth <= layers:
        raise ValueError(f"{key}={depth}: the {what} has {layers} layers, so the prompt depth must be between 1 "
                         f"and {layers}")
