"""CoCoOp's conditional context: CoOp's context shifted per image by a small meta-network.

Zhou, Yang, Loy, Liu, "Conditional Prompt Learning for Vision-Language Models", CVPR 2022,
arXiv:2203.05557. Each image b gets the context ctx + pi(f_b), where pi is a two-layer
bottleneck MLP (D -> D // 16 -> W) on the normalised image feature f_b, so every image has
its own C prompts and its own class text features.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from clip.model import CLIP
from torch import Tensor, nn

from mopd.clip.text_encoder import TextEncoder
from mopd.prompts.prompt_learner import PromptLearner

# The meta-network's hidden width is D // META_NET_REDUCTION (CoCoOp's setting).
META_NET_REDUCTION = 16


class CoCoOpPromptLearner(PromptLearner):
    """CoOp's shared context plus a meta-network that shifts it by a per-image bias.

    Args:
        classnames: the C class names; "_" is read as a space.
        clip_model: the CLIP whose image embedding size D (`visual.output_dim`), text width W
            (`ln_final`), token embedding and dtype are used.
        n_ctx: number M of context vectors when `ctx_init` is empty (then N(0, 0.02^2)).
        ctx_init: words that initialise the context (published: "a photo of a"); when
            given, M is their token count.

    The class token is at the end and the context is shared by all classes, as in CoCoOp.
    Learned and saved: `ctx` (M, W) and `meta_net` (keys as in CoCoOp's checkpoints);
    prefix, suffix and token ids are non-persistent buffers.
    """

    def __init__(self, classnames: list[str], clip_model: CLIP, n_ctx: int, ctx_init: str = "") -> None:
        super().__init__(classnames, clip_model, n_ctx, ctx_init, csc=False, class_token_position="end")
        embed_dim = clip_model.visual.output_dim  # D
        width = clip_model.ln_final.weight.shape[0]  # W
        hidden = embed_dim // META_NET_REDUCTION
        if hidden < 1:
            raise ValueError(
                f"CoCoOp's meta-network needs an image embedding size D >= {META_NET_REDUCTION} "
                f"(hidden width D // {META_NET_REDUCTION}), got D = {embed_dim}; use another CLIP backbone"
            )
        self.meta_net = nn.Sequential(
            OrderedDict(
                [
                    ("linear1", nn.Linear(embed_dim, hidden)),
                    ("relu", nn.ReLU(inplace=True)),
                    ("linear2", nn.Linear(hidden, width)),
                ]
            )
        ).to(clip_model.dtype)

    def forward(self, image_features: Tensor) -> Tensor:
        """Return per-image prompt embeddings (B, C, L, W) for image features (B, D).

        Read them with `tokenized_prompts` (C, L), the same token ids for every image.
        """
        bias = self.meta_net(image_features.to(self.ctx.dtype))  # (B, W)
        ctx_shifted = self.ctx.unsqueeze(0) + bias.unsqueeze(1)  # (1, M, W) + (B, 1, W) -> (B, M, W)
        return self._assemble(ctx_shifted)

    def _assemble(self, ctx_shifted: Tensor) -> Tensor:
        """Concatenate SOS, each image's context and the class-name suffix: (B, M, W) -> (B, C, L, W)."""
        n_images = ctx_shifted.shape[0]
        ctx = ctx_shifted.unsqueeze(1).expand(-1, self.n_cls, -1, -1)  # (B, C, M, W)
        prefix = self.token_prefix.unsqueeze(0).expand(n_images, -1, -1, -1)  # (B, C, 1, W)
        suffix = self.token_suffix.unsqueeze(0).expand(n_images, -1, -1, -1)  # (B, C, L-1-M, W)
        return torch.cat([prefix, ctx, suffix], dim=2)  # (B, C, L, W)


def cocoop_logits(
    image_features: Tensor,
    prompt_learner: CoCoOpPromptLearner,
    text_encoder: TextEncoder,
    logit_scale: Tensor | float,
    images_per_call: int = 1,
) -> Tensor:
    """Return CoCoOp's logits (B, C): s * f_b . g_{b,c} with each image's own class features.

    Args:
        image_features: (B, D) image features; normalised here, then fed to the meta-network.
        prompt_learner: builds each image's C prompts.
        text_encoder: encodes prompt embeddings with their token ids.
        logit_scale: s = exp(CLIP's logit_scale).
        images_per_call: images whose C prompts are encoded in one text-encoder call; 1 is
            CoCoOp's per-image loop, larger values trade memory (n * C prompts) for speed.
    """
    if images_per_call < 1:
        raise ValueError(f"images_per_call must be >= 1, got {images_per_call}")
    features = F.normalize(image_features, dim=-1)
    tokenized = prompt_learner.tokenized_prompts  # (C, L)
    n_cls = tokenized.shape[0]
    logits = []
    for chunk in features.split(images_per_call):
        n_images = chunk.shape[0]
        prompts = prompt_learner(chunk)  # (n, C, L, W)
        text = text_encoder(prompts.flatten(0, 1), tokenized.repeat(n_images, 1))  # (n * C, D), image-major
        text = F.normalize(text, dim=-1).view(n_images, n_cls, -1)  # (n, C, D)
        logits.append(logit_scale * torch.einsum("nd,ncd->nc", chunk.to(text.dtype), text))
    return torch.cat(logits)  # (B, C)
