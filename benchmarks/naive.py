"""The naive reference path the benchmark compares against: CoOp's full-length text encoding.

This is how the CoOp-family repositories compute text features: every prompt runs through all of
CLIP's context-length tokens (CoOp's `TextEncoder`, `CLIP.encode_text`), the teacher prompts are
encoded one template at a time, and evaluation re-encodes the class prompts for every test batch.
"""
from __future__ import annotations

from typing import Sequence

import clip
import torch
import torch.nn.functional as F
from clip.model import CLIP
from torch import Tensor, nn


class FullLengthTextEncoder(nn.Module):
    """CoOp's text encoder: CLIP's transformer over all context-length tokens, read at the EOT token."""

    def __init__(self, clip_model: CLIP) -> None:
        super().__init__()
        self.transformer = clip_model.transformer
        self.positional_embedding = clip_model.positional_embedding
        self.ln_final = clip_model.ln_final
        self.text_projection = clip_model.text_projection
        self.token_embedding = clip_model.token_embedding

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of the CLIP weights."""
        return self.text_projection.dtype

    def forward(self, prompts: Tensor, tokenized: Tensor) -> Tensor:
        """Features (N, D) of prompt embeddings (N, L, W), the full causal pass over L tokens."""
        x = prompts.type(self.dtype) + self.positional_embedding.type(self.dtype)
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)  # (N, L, W) <-> (L, N, W)
        x = self.ln_final(x).type(self.dtype)
        return x[torch.arange(x.shape[0], device=x.device), tokenized.argmax(dim=-1)] @ self.text_projection

    def encode_tokens(self, tokenized: Tensor) -> Tensor:
        """Features (N, D) of token ids (N, L), like `CLIP.encode_text`."""
        tokenized = tokenized.to(self.positional_embedding.device)
        return self(self.token_embedding(tokenized).type(self.dtype), tokenized)


@torch.no_grad()
def per_template_class_features(
    text_encoder: FullLengthTextEncoder, templates: Sequence[str], classnames: Sequence[str]
) -> Tensor:
    """Unit-norm (P, C, D) features, one full-length call per template (as KgCoOp and MoPD-TMM build them)."""
    names = [name.replace("_", " ") for name in classnames]
    features = []
    for template in templates:
        tokens = clip.tokenize([template.format(name) for name in names])  # (C, L)
        encoded = text_encoder.encode_tokens(tokens)
        features.append(F.normalize(encoded.float(), dim=-1).to(encoded.dtype))
    return torch.stack(features)
