"""MMRL's learned parts: shared representation tokens, their per-layer projections into each tower, proj_rep.

Guo and Gu, "MMRL: Multi-Modal Representation Learning for Vision-Language Models", CVPR 2025,
arXiv:2503.08497. As the authors' `MultiModalRepresentationLearner` (yunncheng/MMRL, trainers/mmrl.py):
K tokens R (K, REP_DIM) ~ N(0, 0.02^2), and for each representation layer l a linear map into the
text width and one into the image width; every layer's map starts as a copy of one `nn.Linear`. The
text tower reads the dataset's hand-written template filled with each class name: there are no
learned words. `proj_rep` (W_vision, D) projects the image tower's representation tokens into the
joint space; the authors' CLIP draws it at random right after `proj` (`draw_proj_rep`), it is not
CLIP's `proj`. Names follow the authors', so their checkpoints map one to one.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from clip.model import CLIP
from torch import Tensor, nn

from mopd.clip.backbones import ClipArchitecture
from mopd.clip.init_replay import replay_clip_initialisation
from mopd.clip.representation_tokens import RepresentationTokens, representation_layer_indices
from mopd.prompts.classnames import prompt_name
from mopd.prompts.prompt_learner import tokenize_prompts


def draw_proj_rep(arch: ClipArchitecture) -> Tensor:
    """(W_vision, D) `proj_rep` as the authors' two CLIP builds leave it, and the generator as they leave it.

    Their trainer builds MMRL's CLIP (which draws `proj_rep` = W^-1/2 * randn right after `proj`), then
    the frozen zero-shot CLIP of the same class (which draws another, unused), before the learner.
    """
    drawn: list[Tensor] = []

    def draw(tower: str, layer: int) -> None:
        if tower == "vision" and layer == arch.vision_layers:
            drawn.append(arch.vision_width ** -0.5 * torch.randn(arch.vision_width, arch.embed_dim))

    replay_clip_initialisation(arch, draw)
    replay_clip_initialisation(arch, draw)
    return drawn[0]


class RepresentationLearner(nn.Module):
    """The representation tokens and their projections (trained and saved), the class prompts (fixed buffers).

    Args:
        classnames: the C class names ("_" read as a space).
        clip_model: the CLIP whose widths, depths, token embedding and dtype are used.
        template: the hand-written template with "{}" for the class name.
        n_tokens: K, the number of representation tokens.
        rep_dim: their width (REP_DIM).
        rep_layers: 1-based layers where they enter both towers (inserted at the first, replaced after).
        proj_rep: (W_vision, D) initial value of the representation feature's projection.
    """

    def __init__(self, classnames: Sequence[str], clip_model: CLIP, template: str, n_tokens: int, rep_dim: int,
                 rep_layers: Sequence[int], proj_rep: Tensor) -> None:
        super().__init__()
        visual = clip_model.visual
        if not hasattr(visual, "transformer"):
            raise ValueError(f"MMRL needs a ViT backbone, not a {type(visual).__name__} (ResNet): its representation "
                             "tokens enter the image transformer; use ViT-B/16, ViT-B/32 or ViT-L/14")
        if not classnames:
            raise ValueError("RepresentationLearner needs at least one class name, got an empty list")
        self.layers = representation_layer_indices(
            rep_layers, {"image tower": len(visual.transformer.resblocks), "text tower": clip_model.transformer.layers},
            "TRAINER.MMRL.REP_LAYERS")
        self.dtype = clip_model.dtype
        tokenized = tokenize_prompts([template.format(prompt_name(name)) for name in classnames],
                                     clip_model.context_length)  # (C, L)
        with torch.no_grad():
            embeddings = clip_model.token_embedding(tokenized).type(self.dtype)  # (C, L, W_text)
        self.register_buffer("tokenized_prompts", tokenized, persistent=False)
        self.register_buffer("prompt_embeddings", embeddings, persistent=False)
        # Created, and drawn, in the authors' order: tokens, then one Linear per tower copied to every layer.
        self.compound_rep_tokens = nn.Parameter(nn.init.normal_(torch.empty(n_tokens, rep_dim), std=0.02))
        to_vision = nn.Linear(rep_dim, visual.conv1.weight.shape[0])
        to_text = nn.Linear(rep_dim, clip_model.ln_final.weight.shape[0])
        self.compound_rep_tokens_r2vproj = nn.ModuleList([copy.deepcopy(to_vision) for _ in self.layers])
        self.compound_rep_tokens_r2tproj = nn.ModuleList([copy.deepcopy(to_text) for _ in self.layers])
        self.proj_rep = nn.Parameter(proj_rep)
        self.n_cls = len(classnames)

    def representation_tokens(self) -> tuple[RepresentationTokens, RepresentationTokens]:
        """Each representation layer's tokens in the text tower (K, W_text) and the image tower (K, W_vision), in
        CLIP's dtype; made layer by layer, text then image, as the authors' learner makes them (the order in which
        their gradients add up in the shared tokens)."""
        text, vision = [], []
        for to_text, to_vision in zip(self.compound_rep_tokens_r2tproj, self.compound_rep_tokens_r2vproj):
            text.append(to_text(self.compound_rep_tokens).type(self.dtype))
            vision.append(to_vision(self.compound_rep_tokens).type(self.dtype))
        return RepresentationTokens(self.layers, tuple(text)), RepresentationTokens(self.layers, tuple(vision))

    def settings(self) -> dict[str, object]:
        """The shape of what is learned, recorded in and checked against checkpoints."""
        return {"n_rep_tokens": self.compound_rep_tokens.shape[0], "rep_dim": self.compound_rep_tokens.shape[1],
                "rep_layers": [layer + 1 for layer in self.layers]}
