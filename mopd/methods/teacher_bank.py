"""MoPD teacher bank: frozen text features of every teacher prompt for every class (METHOD.md step 4-5)."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from mopd.methods.class_text_features import DEFAULT_CHUNK_SIZE, TokenTextEncoder, encode_class_prompts


class TeacherBank(nn.Module):
    """Holds t, the (P, C, D) unit-norm teacher text features, and turns image features into teacher logits.

    The features depend only on the class names, so they are a non-persistent buffer: they follow
    `.to()` but are never written to a checkpoint; rebuild the bank when the class list changes.
    """

    features: Tensor

    def __init__(self, features: Tensor) -> None:
        super().__init__()
        if features.dim() != 3:
            raise ValueError(f"Teacher features must have shape (P, C, D), got {tuple(features.shape)}")
        self.register_buffer("features", features.detach(), persistent=False)

    @classmethod
    def from_text_encoder(
        cls,
        text_encoder: TokenTextEncoder,
        templates: Sequence[str],
        classnames: Sequence[str],
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> TeacherBank:
        """Encode every template x class name with the (frozen) text encoder, in its device and dtype."""
        return cls(encode_class_prompts(text_encoder, templates, classnames, chunk_size))

    @property
    def num_prompts(self) -> int:
        """P, the number of teacher prompts."""
        return self.features.shape[0]

    @property
    def num_classes(self) -> int:
        """C, the number of classes the bank was built for."""
        return self.features.shape[1]

    @torch.no_grad()
    def logits(self, image_features: Tensor, logit_scale: Tensor | float) -> Tensor:
        """Teacher logits z_t[p] = s * f @ t[p]^T, shape (P, B, C), without gradient.

        Args:
            image_features: f, (B, D) unit-norm image features.
            logit_scale: s, the multiplier already exponentiated (CLIP's `logit_scale.exp()`).
        """
        f = image_features.to(self.features.dtype)
        # (B, D) @ (P, D, C) broadcasts to (P, B, C)
        return logit_scale * (f @ self.features.transpose(1, 2))

    def extra_repr(self) -> str:
        """Show P, C and D."""
        return "num_prompts={}, num_classes={}, embed_dim={}".format(*self.features.shape)
