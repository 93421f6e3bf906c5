"""Independent vision-language prompts (IVLP): a text context and deep prompts in each tower, unrelated.

The baseline of MaPLe's and PromptSRC's papers (muzairkhattak/multimodal-prompt-learning and
muzairkhattak/PromptSRC, trainers/independentVL.py). The authors create the prompts inside their
CLIP: the image tower's input prompt right after the patch embedding, and each deep prompt of layer
i (1 <= i < depth) right after that layer's block, while the towers are built under the run's seed.
`draw_ivlp_prompts` replays that build (`mopd.clip.init_replay`), so the same seed gives the same
prompts; the text context comes after, as in their prompt learner.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from clip.model import CLIP
from torch import Tensor, nn

from mopd.clip.backbones import ClipArchitecture
from mopd.clip.deep_prompts import TowerPrompts, check_depth
from mopd.clip.init_replay import replay_clip_initialisation
from mopd.prompts.maple_prompt_learner import context_init
from mopd.prompts.prompt_learner import PromptLearner


@dataclass
class DrawnPrompts:
    """IVLP's prompt tokens as the authors' CLIP build draws them (N(0, 0.02^2), fp32)."""

    vision_shallow: Tensor | None = None  # (n_vision, W_vision); None at vision depth 0
    vision_deep: list[Tensor] = field(default_factory=list)  # depth_vision - 1 of (n_vision, W_vision)
    text_deep: list[Tensor] = field(default_factory=list)  # depth_text - 1 of (n_text, W_text)


def draw_ivlp_prompts(arch: ClipArchitecture, n_ctx_text: int, n_ctx_vision: int, depth_text: int,
                      depth_vision: int) -> DrawnPrompts:
    """Replay the authors' CLIP build and keep the prompts it draws, in their order."""
    drawn = DrawnPrompts()

    def draw(tower: str, layer: int) -> None:
        if tower == "vision" and layer == -1 and depth_vision > 0:
            drawn.vision_shallow = _normal(n_ctx_vision, arch.vision_width)
        elif tower == "vision" and 1 <= layer < depth_vision:
            drawn.vision_deep.append(_normal(n_ctx_vision, arch.vision_width))
        elif tower == "text" and 1 <= layer < depth_text:
            drawn.text_deep.append(_normal(n_ctx_text, arch.transformer_width))

    replay_clip_initialisation(arch, draw)
    return drawn


def _normal(n: int, width: int) -> Tensor:
    return nn.init.normal_(torch.empty(n, width), std=0.02)


class IndependentPromptLearner(PromptLearner):
    """IVLP's prompts: `ctx` and deep text prompts for the text tower, an input and deep prompts for the image tower.

    Depths count the layers that get prompts, the input included: text depth 1 is the context alone,
    vision depth 0 leaves the image tower as CLIP's.
    """

    def __init__(self, classnames: list[str], clip_model: CLIP, n_ctx_text: int, ctx_init: str, depth_text: int,
                 depth_vision: int, drawn: DrawnPrompts, round_to_fp16: bool) -> None:
        check_depth(depth_text, clip_model.transformer.layers, "text tower", "PROMPT_DEPTH_TEXT")
        if depth_vision:
            check_depth(depth_vision, len(clip_model.visual.transformer.resblocks), "image tower", "PROMPT_DEPTH_VISION")
        super().__init__(classnames, clip_model, n_ctx_text, context_init(ctx_init, n_ctx_text), init_fit="leading")
        self.visual_prompt = None if drawn.vision_shallow is None else nn.Parameter(drawn.vision_shallow)
        self.visual_deep_prompts = nn.ParameterList([nn.Parameter(p) for p in drawn.vision_deep])
        self.text_deep_prompts = nn.ParameterList([nn.Parameter(p) for p in drawn.text_deep])
        self.depth_text, self.depth_vision = depth_text, depth_vision
        self.n_ctx_vision = 0 if drawn.vision_shallow is None else drawn.vision_shallow.shape[0]
        self.round_to_fp16 = round_to_fp16

    def text_prompts(self) -> TowerPrompts:
        """The deep text prompts (the text context is in `forward()`'s prompt embeddings)."""
        return TowerPrompts(deep=tuple(self.text_deep_prompts), round_to_fp16=self.round_to_fp16)

    def vision_prompts(self) -> TowerPrompts:
        """The image tower's input prompt and deep prompts (none at vision depth 0)."""
        return TowerPrompts(shallow=self.visual_prompt, deep=tuple(self.visual_deep_prompts),
                            round_to_fp16=self.round_to_fp16)

    def settings(self) -> dict[str, object]:
        """The prompt's shape, recorded in and checked against checkpoints."""
        return {**super().settings(), "n_ctx_vision": self.n_ctx_vision, "depth_text": self.depth_text,
                "depth_vision": self.depth_vision}
