"""MMRL's representation tokens inside CLIP's towers: inserted after the first token at one layer, replaced after.

Guo and Gu, "MMRL: Multi-Modal Representation Learning for Vision-Language Models", CVPR 2025,
arXiv:2503.08497. At the input of the first representation layer the K tokens are inserted right
after the first token of the sequence (the class token of the image tower, SOS of the text tower),
so the sequence grows by K; at the input of each later representation layer those K slots are
replaced by that layer's tokens; layers in between carry them on. The tokens get no positional
embedding. In the causal text tower they come before every EOT token, which moves by K.

MMRL++ (Guo and Gu, arXiv:2505.10088) composes instead of replacing: at each later layer the K slots
become BETA * that layer's tokens + (1 - BETA) * what the previous block made of them (BETA = 1 is MMRL).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class RepresentationTokens:
    """The representation tokens of one tower: `tokens[j]` (K, W) enters block `layers[j]` (0-based, increasing)."""

    layers: tuple[int, ...]
    tokens: tuple[Tensor, ...]
    beta: float = 1.0  # weight of a later layer's tokens against the carried ones (MMRL++); 1 replaces them (MMRL)

    def __post_init__(self) -> None:
        assert self.layers and len(self.layers) == len(self.tokens), (self.layers, len(self.tokens))
        assert list(self.layers) == sorted(set(self.layers)), self.layers

    @property
    def count(self) -> int:
        """K, the number of representation tokens."""
        return self.tokens[0].shape[0]

    def enter(self, x: Tensor, layer: int) -> Tensor:
        """The sequence (L, N, W) (CLIP's layout) at the input of block `layer`: tokens inserted, replaced (or composed
        with the carried ones, BETA < 1) or as is.

        The tokens are not cast: where they are wider than the stream (fp32 tokens in an autocast fp16
        tower, as in the authors' amp runs), the concatenation promotes the stream to their dtype.
        """
        if layer not in self.layers:
            return x
        tokens = self.tokens[self.layers.index(layer)]
        expanded = tokens.unsqueeze(1).expand(-1, x.shape[1], -1)  # (K, N, W)
        if layer == self.layers[0]:
            return torch.cat([x[:1], expanded, x[1:]])
        if self.beta != 1.0:  # the authors' order: beta * new + (1 - beta) * carried
            expanded = self.beta * expanded + (1 - self.beta) * x[1:1 + self.count]
        return torch.cat([x[:1], expanded, x[1 + self.count:]])


def causal_mask(length: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """CLIP's additive causal mask (length, length): -inf above the diagonal, 0 elsewhere."""
    return torch.full((length, length), float("-inf"), dtype=dtype, device=device).triu(1)


def representation_layer_indices(layers: Sequence[int], tower_layers: dict[str, int], key: str) -> tuple[int, ...]:
    """0-based block indices of 1-based representation layers, checked against every tower's depth.

    Raises ValueError for an empty, unsorted or repeated list, or a layer a tower does not have (the
    authors' code then silently reads patch tokens as representation features).
    """
    layers = list(layers)
    if not layers or layers != sorted(set(layers)):
        raise ValueError(f"{key}={layers} must be a non-empty increasing list of layers (1-based), e.g. "
                         "[6, 7, 8, 9, 10, 11, 12]")
    for tower, depth in tower_layers.items():
        if layers[0] < 1 or layers[-1] > depth:
            raise ValueError(f"{key}={layers}: the {tower} has {depth} layers, so representation layers must be "
                             f"between 1 and {depth}; choose layers this backbone has")
    return tuple(layer - 1 for layer in layers)
