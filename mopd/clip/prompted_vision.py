"""CLIP's vision transformer with learnable prompt tokens: appended after the patches, replaced layer by layer.

The shallow prompt (n tokens) is appended after the class token and the patch tokens, after the
positional embedding (the prompts get none) and before `ln_pre`; at the input of each deeper layer up
to the depth, the last n tokens are replaced by that layer's prompt. The image feature is read at the
class token, as in CLIP. This is the vision side of MaPLe, IVLP and PromptSRC, written once; MMRL's
representation tokens enter after the class token (`mopd.clip.representation_tokens`).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from mopd.clip.deep_prompts import TowerPrompts
from mopd.clip.representation_tokens import RepresentationTokens


class PromptedVisionTransformer(nn.Module):
    """Shares the modules of a CLIP `VisionTransformer` (nothing copied) and runs them with prompt tokens."""

    def __init__(self, visual: nn.Module) -> None:
        super().__init__()
        if not hasattr(visual, "transformer"):
            raise ValueError(f"prompting the image tower needs a ViT backbone, not a {type(visual).__name__} (ResNet); "
                             "use ViT-B/16, ViT-B/32 or ViT-L/14 (MaPLe, IVLP and PromptSRC support only ViTs)")
        self.visual = visual

    @property
    def layers(self) -> int:
        """Depth of the vision transformer."""
        return len(self.visual.transformer.resblocks)

    @property
    def width(self) -> int:
        """Token width of the vision transformer."""
        return self.visual.conv1.weight.shape[0]

    def forward(self, images: Tensor, prompts: TowerPrompts | None = None) -> Tensor:
        """(B, D) image features (not normalised) of images (B, 3, H, W) in the tower's dtype.

        `prompts.shallow` (n, W) is appended at the input; `prompts.deep` replaces the last n tokens at
        the input of layers 1, 2, ...; None (or no shallow prompt) is CLIP's own forward.
        """
        return self.class_feature(self.encode_tokens(images, prompts))

    def class_feature(self, tokens: Tensor) -> Tensor:
        """(B, D) CLIP's image feature from the last layer's tokens (L, B, W): the class token's, projected."""
        return self.visual.ln_post(tokens[0]) @ self.visual.proj

    def encode_tokens(self, images: Tensor, prompts: TowerPrompts | None = None,
                      representation: RepresentationTokens | None = None) -> Tensor:
        """The last layer's output tokens (L, B, W) (CLIP's layout), under prompts and/or representation tokens."""
        visual = self.visual
        x = visual.conv1(images)  # (B, W, grid, grid)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)  # (B, grid^2, W)
        cls = visual.class_embedding.to(x.dtype) + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype, device=x.device)
        x = torch.cat([cls, x], dim=1) + visual.positional_embedding.to(x.dtype)  # (B, 1 + grid^2, W)
        if prompts is not None and prompts.shallow is not None:  # (B, 1 + grid^2 + n, W)
            x = torch.cat([x, prompts.expanded(prompts.shallow, x.shape[0], x.dtype, batch_dim=0)], dim=1)
        x = visual.ln_pre(x).permute(1, 0, 2)  # (L, B, W), CLIP's layout
        for layer, block in enumerate(visual.transformer.resblocks):
            tokens = prompts.at_layer(layer) if prompts else None
            if tokens is not None:  # the previous layer's prompt outputs make way for this layer's prompt
                x = torch.cat([x[: x.shape[0] - tokens.shape[0]], prompts.expanded(tokens, x.shape[1], x.dtype, 1)])
            if representation is not None:  # (1 + K + grid^2, B, W) from the first representation layer on
                x = representation.enter(x, layer)
            x = block(x)
        return x


class RepresentationVisionTransformer(PromptedVisionTransformer):
    """MMRL's image tower: a class-token and a representation feature per image, under representation tokens."""

    def forward(self, images: Tensor, representation: RepresentationTokens, proj_rep: Tensor) -> Tensor:
        """(B, 2, D) features (not normalised): CLIP's class-token feature, then the representation feature.

        The representation feature is the mean over the K representation tokens of `ln_post(token)`,
        times `proj_rep` (W, D) (the authors normalise each token, then average).
        """
        tokens = self.encode_tokens(images, representation=representation)  # (L, B, W)
        rep = self.visual.ln_post(tokens[1:1 + representation.count]).mean(dim=0)  # (B, W)
        rep = rep @ proj_rep.type(rep.dtype)
        return torch.stack([self.class_feature(tokens), rep], dim=1)
