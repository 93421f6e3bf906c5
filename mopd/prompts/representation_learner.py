"""MMRL's and MMRL++'s learned parts: shared representation tokens, their per-layer projections into each tower,
the projection of the image tower's representation feature.

Guo and Gu, "MMRL: Multi-Modal Representation Learning for Vision-Language Models", CVPR 2025,
arXiv:2503.08497. As the authors' `MultiModalRepresentationLearner` (yunncheng/MMRL, trainers/mmrl.py):
K tokens R (K, REP_DIM) ~ N(0, 0.02^2), and for each representation layer l a linear map into the
text width and one into the image width; every layer's map starts as a copy of one `nn.Linear`. The
text tower reads the dataset's hand-written template filled with each class name: there are no
learned words. `proj_rep` (W_vision, D) projects the image tower's representation tokens into the
joint space; the authors' CLIP draws it at random right after `proj` (`draw_proj_rep`), it is not
CLIP's `proj`. Names follow the authors', so their checkpoints map one to one.

MMRL++ (Guo and Gu, arXiv:2505.10088; the authors' `MultiModalRepresentationLearner_pp`, trainers/mmrlpp.py)
shares one weight per tower across the layers (SRRA): layer l maps with W + A_l B_l and its own bias
(A_l Kaiming-uniform, B_l zero, every bias a copy of one Linear's), composes the carried tokens at later
layers (BETA, `RepresentationTokens.beta`), and projects the representation feature with CLIP's `proj` +
A B (A drawn by the authors' CLIP right after `proj`, B zero) instead of a free `proj_rep`.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence

import torch
from clip.model import CLIP
from torch import Tensor, nn
from torch.nn import functional as F

from mopd.clip.backbones import ClipArchitecture
from mopd.clip.init_replay import replay_clip_initialisation
from mopd.clip.representation_tokens import RepresentationTokens, representation_layer_indices
from mopd.prompts.classnames import prompt_name
from mopd.prompts.prompt_learner import tokenize_prompts


def _drawn_after_proj(arch: ClipArchitecture, make: Callable[[], Tensor]) -> Tensor:
    """What `make()` draws right after `proj` in the first of the authors' two CLIP builds, the generator as left.

    Their trainers build the method's CLIP, then the frozen zero-shot CLIP of the same class (which draws
    the same, unused), before the learner.
    """
    drawn: list[Tensor] = []

    def draw(tower: str, layer: int) -> None:
        if tower == "vision" and layer == arch.vision_layers:
            drawn.append(make())

    replay_clip_initialisation(arch, draw)
    replay_clip_initialisation(arch, draw)
    return drawn[0]


def draw_proj_rep(arch: ClipArchitecture) -> Tensor:
    """MMRL's (W_vision, D) `proj_rep`: W^-1/2 * randn, drawn by its CLIP right after `proj`."""
    return _drawn_after_proj(arch, lambda: arch.vision_width ** -0.5 * torch.randn(arch.vision_width, arch.embed_dim))


def _kaiming(rows: int, columns: int) -> Tensor:
    """(rows, columns) from nn.Linear's weight initialisation: U(-1/sqrt(columns), 1/sqrt(columns))."""
    return nn.init.kaiming_uniform_(torch.empty(rows, columns), a=math.sqrt(5))


def draw_proj_lora(arch: ClipArchitecture, rank: int) -> Tensor:
    """MMRL++'s (W_vision, PROJ_LORA_DIM) factor A of `proj + A B`, drawn by its CLIP right after `proj`."""
    return _drawn_after_proj(arch, lambda: _kaiming(arch.vision_width, rank))


class RepresentationPrompts(nn.Module):
    """What MMRL and MMRL++ share: the class prompts (fixed buffers), the shared tokens R, their layers and BETA.

    A subclass creates its projections after this (the authors' draw order: tokens first) and gives
    `project(index)` (layer `index`'s text and image tokens) and `rep_projection(proj)`.

    Args:
        classnames: the C class names ("_" read as a space).
        clip_model: the CLIP whose widths, depths, token embedding and dtype are used.
        template: the hand-written template with "{}" for the class name.
        n_tokens: K, the number of representation tokens.
        rep_dim: their width (REP_DIM).
        rep_layers: 1-based layers where they enter both towers (inserted at the first, replaced or composed after).
        node: the config node, named in errors ("TRAINER.MMRL").
        beta: the weight of a later layer's tokens against the carried ones (1: replaced, MMRL).
    """

    def __init__(self, classnames: Sequence[str], clip_model: CLIP, template: str, n_tokens: int, rep_dim: int,
                 rep_layers: Sequence[int], node: str, beta: float = 1.0) -> None:
        super().__init__()
        visual = clip_model.visual
        if not hasattr(visual, "transformer"):
            raise ValueError(f"{node.split('.')[-1]} needs a ViT backbone, not a {type(visual).__name__} (ResNet): its "
                             "representation tokens enter the image transformer; use ViT-B/16, ViT-B/32 or ViT-L/14")
        if not classnames:
            raise ValueError("RepresentationLearner needs at least one class name, got an empty list")
        self.layers = representation_layer_indices(
            rep_layers, {"image tower": len(visual.transformer.resblocks), "text tower": clip_model.transformer.layers},
            f"{node}.REP_LAYERS")
        self.dtype = clip_model.dtype
        self.beta = beta
        tokenized = tokenize_prompts([template.format(prompt_name(name)) for name in classnames],
                                     clip_model.context_length)  # (C, L)
        with torch.no_grad():
            embeddings = clip_model.token_embedding(tokenized).type(self.dtype)  # (C, L, W_text)
        self.register_buffer("tokenized_prompts", tokenized, persistent=False)
        self.register_buffer("prompt_embeddings", embeddings, persistent=False)
        self.compound_rep_tokens = nn.Parameter(nn.init.normal_(torch.empty(n_tokens, rep_dim), std=0.02))
        self.n_cls = len(classnames)

    def project(self, index: int) -> tuple[Tensor, Tensor]:
        """The tokens of the `index`-th representation layer in the text (K, W_text) and image (K, W_vision) towers."""
        raise NotImplementedError

    def rep_projection(self, proj: Tensor) -> Tensor:
        """(W_vision, D) projection of the representation feature, given CLIP's class-token projection `proj`."""
        raise NotImplementedError

    def representation_tokens(self) -> tuple[RepresentationTokens, RepresentationTokens]:
        """Each representation layer's tokens in the text tower (K, W_text) and the image tower (K, W_vision), in
        CLIP's dtype; made layer by layer, text then image, as the authors' learners make them (the order in which
        their gradients add up in the shared tokens)."""
        text, vision = [], []
        for index in range(len(self.layers)):
            to_text, to_vision = self.project(index)
            text.append(to_text.type(self.dtype))
            vision.append(to_vision.type(self.dtype))
        return (RepresentationTokens(self.layers, tuple(text), self.beta),
                RepresentationTokens(self.layers, tuple(vision), self.beta))

    def settings(self) -> dict[str, object]:
        """The shape of what is learned, recorded in and checked against checkpoints."""
        return {"n_rep_tokens": self.compound_rep_tokens.shape[0], "rep_dim": self.compound_rep_tokens.shape[1],
                "rep_layers": [layer + 1 for layer in self.layers]}


class RepresentationLearner(RepresentationPrompts):
    """MMRL: one Linear per layer and tower (all starting as one), and a free `proj_rep` (W_vision, D).

    Args: those of `RepresentationPrompts` (node TRAINER.MMRL), and `proj_rep`, the initial projection.
    """

    def __init__(self, classnames: Sequence[str], clip_model: CLIP, template: str, n_tokens: int, rep_dim: int,
                 rep_layers: Sequence[int], proj_rep: Tensor) -> None:
        super().__init__(classnames, clip_model, template, n_tokens, rep_dim, rep_layers, "TRAINER.MMRL")
        to_vision = nn.Linear(rep_dim, clip_model.visual.conv1.weight.shape[0])
        to_text = nn.Linear(rep_dim, clip_model.ln_final.weight.shape[0])
        self.compound_rep_tokens_r2vproj = nn.ModuleList([copy.deepcopy(to_vision) for _ in self.layers])
        self.compound_rep_tokens_r2tproj = nn.ModuleList([copy.deepcopy(to_text) for _ in self.layers])
        self.proj_rep = nn.Parameter(proj_rep)

    def project(self, index: int) -> tuple[Tensor, Tensor]:
        tokens = self.compound_rep_tokens
        return self.compound_rep_tokens_r2tproj[index](tokens), self.compound_rep_tokens_r2vproj[index](tokens)

    def rep_projection(self, proj: Tensor) -> Tensor:
        return self.proj_rep


class ResidualAligner(nn.Module):
    """One layer's residual on a shared weight: A (out, rank) Kaiming-uniform, B (rank, in) zero, its own bias."""

    def __init__(self, out_features: int, in_features: int, rank: int, bias: Tensor) -> None:
        super().__init__()
        self.A = nn.Parameter(_kaiming(out_features, rank))
        self.B = nn.Parameter(torch.zeros(rank, in_features))
        self.bias = nn.Parameter(bias.detach().clone())


class SharedResidualAligner(nn.Module):
    """MMRL++'s SRRA for one tower: the weight of `base` shared by every layer, layer l mapping with W + A_l B_l."""

    def __init__(self, base: nn.Linear, n_layers: int, rank: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(base.weight.detach().clone())
        out_features, in_features = base.weight.shape
        self.srra = nn.ModuleList([ResidualAligner(out_features, in_features, rank, base.bias)
                                   for _ in range(n_layers)])

    def forward(self, x: Tensor, index: int) -> Tensor:
        aligner = self.srra[index]
        return F.linear(x, self.weight + aligner.A @ aligner.B, aligner.bias)


class ResidualRepresentationLearner(RepresentationPrompts):
    """MMRL++: SRRA projections into each tower, composition with BETA, and `proj + A B` for the representation feature.

    Args: those of `RepresentationPrompts` (node TRAINER.MMRLPP), `res_rank` (RES_LORA_DIM, the rank of each
    layer's residual), `proj_lora_a` (W_vision, PROJ_LORA_DIM), the initial A of `proj + A B`.
    """

    def __init__(self, classnames: Sequence[str], clip_model: CLIP, template: str, n_tokens: int, rep_dim: int,
                 rep_layers: Sequence[int], beta: float, res_rank: int, proj_lora_a: Tensor) -> None:
        super().__init__(classnames, clip_model, template, n_tokens, rep_dim, rep_layers, "TRAINER.MMRLPP", beta)
        # The authors' draw order: both Linears, then every image layer's A, then every text layer's A.
        to_vision = nn.Linear(rep_dim, clip_model.visual.conv1.weight.shape[0])
        to_text = nn.Linear(rep_dim, clip_model.ln_final.weight.shape[0])
        self.srra_r2vproj = SharedResidualAligner(to_vision, len(self.layers), res_rank)
        self.srra_r2tproj = SharedResidualAligner(to_text, len(self.layers), res_rank)
        self.proj_rep_A = nn.Parameter(proj_lora_a)
        self.proj_rep_B = nn.Parameter(torch.zeros(proj_lora_a.shape[1], clip_model.visual.proj.shape[1]))

    def project(self, index: int) -> tuple[Tensor, Tensor]:
        tokens = self.compound_rep_tokens
        return self.srra_r2tproj(tokens, index), self.srra_r2vproj(tokens, index)

    def settings(self) -> dict[str, object]:
        return {**super().settings(), "res_lora_dim": self.srra_r2vproj.srra[0].A.shape[1],
                "proj_lora_dim": self.proj_rep_A.shape[1]}

    def rep_projection(self, proj: Tensor) -> Tensor:
        """CLIP's frozen `proj` plus the learned A B (their sum in the wider dtype, as the authors' amp runs)."""
        return proj + self.proj_rep_A @ self.proj_rep_B
