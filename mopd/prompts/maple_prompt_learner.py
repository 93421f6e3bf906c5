"""MaPLe's coupled prompts: text context and deep text prompts, whose projections are the vision prompts.

Khattak et al., "MaPLe: Multi-modal Prompt Learning", CVPR 2023, arXiv:2210.03117. As the authors'
`MultiModalPromptLearner` (muzairkhattak/multimodal-prompt-learning, trainers/maple.py): the text
context `ctx` (n, W_text) gives the vision tower's input prompt through `proj` (W_text -> W_vision);
each deep text prompt j (n, W_text) enters text layer j + 1 and, through its own projection, vision
layer j + 1. Parameters are created, and drawn, in the authors' order: `ctx` (random only without
init words), `proj`, the deep text prompts, then one projection copied for every layer (so all
start equal). Widths come from the model (the authors hard-code 512 and 768: ViT-B only).
"""
from __future__ import annotations

import copy

import torch
from clip.model import CLIP
from torch import nn

from mopd.clip.deep_prompts import TowerPrompts, check_depth
from mopd.prompts.prompt_learner import PromptLearner

# The authors learn the first n_ctx tokens of CTX_INIT only when n_ctx <= 4; with more they draw a random
# context and the prompt reads "X X ... X {class}."
MAX_INIT_WORDS_CTX = 4


def context_init(ctx_init: str, n_ctx: int) -> str:
    """The init words the authors' prompt learners use: `ctx_init` when n_ctx <= 4, else none (random)."""
    return ctx_init if ctx_init and n_ctx <= MAX_INIT_WORDS_CTX else ""


class MultiModalPromptLearner(PromptLearner):
    """MaPLe's prompts for both towers, from `ctx` and depth - 1 deep text prompts."""

    def __init__(
        self, classnames: list[str], clip_model: CLIP, n_ctx: int, ctx_init: str, depth: int, round_to_fp16: bool
    ) -> None:
        check_depth(depth, clip_model.transformer.layers, "text tower", "TRAINER.MAPLE.PROMPT_DEPTH")
        check_depth(depth, len(clip_model.visual.transformer.resblocks), "image tower", "TRAINER.MAPLE.PROMPT_DEPTH")
        super().__init__(classnames, clip_model, n_ctx, context_init(ctx_init, n_ctx), init_fit="leading")
        text_width = clip_model.ln_final.weight.shape[0]
        vision_width = clip_model.visual.conv1.weight.shape[0]
        # the authors cast `proj` to fp16 in every precision, which breaks fp32 and amp: here it takes CLIP's dtype,
        # its initial values rounded to fp16 as theirs are in every precision when prompts are (`round_to_fp16`)
        proj = nn.Linear(text_width, vision_width)
        self.proj = (proj.half() if round_to_fp16 else proj).to(clip_model.dtype)
        self.compound_prompts_text = nn.ParameterList(
            [nn.Parameter(torch.empty(self.n_ctx, text_width)) for _ in range(depth - 1)]
        )
        for prompt in self.compound_prompts_text:
            nn.init.normal_(prompt, std=0.02)
        single_layer = nn.Linear(text_width, vision_width)
        self.compound_prompt_projections = nn.ModuleList([copy.deepcopy(single_layer) for _ in range(depth - 1)])
        self.depth = depth
        self.round_to_fp16 = round_to_fp16

    def text_prompts(self) -> TowerPrompts:
        """The deep text prompts (the text context is in `forward()`'s prompt embeddings)."""
        return TowerPrompts(deep=tuple(self.compound_prompts_text), round_to_fp16=self.round_to_fp16)

    def vision_prompts(self) -> TowerPrompts:
        """proj(ctx) at the image tower's input, and each deep text prompt's projection at the deeper layers."""
        deep = tuple(project(prompt) for project, prompt in zip(self.compound_prompt_projections, self.compound_prompts_text))
        return TowerPrompts(shallow=self.proj(self.ctx), deep=deep, round_to_fp16=self.round_to_fp16)

    def settings(self) -> dict[str, object]:
        """The prompt's shape, recorded in and checked against checkpoints."""
        return {**super().settings(), "depth": self.depth}
