"""IVLP trainer: CoOp with independent deep prompts in both towers of CLIP."""
from __future__ import annotations

import re

from torch import nn

from mopd.backend import TRAINER_REGISTRY
from mopd.clip.loading import architecture_of
from mopd.config.checks import check_ivlp_cfg
from mopd.prompts.ivlp_prompt_learner import IndependentPromptLearner, draw_ivlp_prompts
from mopd.training.two_tower import TwoTowerPromptsMixin

from .coop import CoOp

# Where the authors' CLIP keeps IVLP's prompts: the image tower's input prompt, and each block's deep prompt.
_AUTHORS_VPT = re.compile(r"(?P<tower>image|text)_encoder\.(?:VPT|transformer\.resblocks\.(?P<layer>\d+)\.VPT_shallow)")


@TRAINER_REGISTRY.register()
class IVLP(TwoTowerPromptsMixin, CoOp):
    """Independent Vision-Language Prompting, the deep-prompt baseline of MaPLe (arXiv:2210.03117) and
    PromptSRC (arXiv:2307.06948): unrelated deep prompts in the text and image towers, cross-entropy.

    The authors' run folders evaluate as they are: their prompts live inside CLIP's towers (`VPT`,
    `VPT_shallow` of block k) and are renamed to this learner's.
    """

    authors_model_folder = "VLPromptLearner"
    config_node = "IVLP"  # PromptSRC reads the same prompt settings from its own node

    def check_cfg(self, cfg) -> None:
        super().check_cfg(cfg)
        check_ivlp_cfg(cfg, self.config_node)

    def authors_prompt_key(self, key: str) -> str | None:
        """`image_encoder.VPT` -> visual_prompt; `<tower>_encoder.transformer.resblocks.k.VPT_shallow` -> its deep k - 1."""
        match = _AUTHORS_VPT.fullmatch(key)
        if match is None:
            return super().authors_prompt_key(key)
        tower = "visual" if match["tower"] == "image" else "text"
        if match["layer"] is None:
            return "visual_prompt" if tower == "visual" else None
        return f"{tower}_deep_prompts.{int(match['layer']) - 1}"

    def build_prompt_learner(self, classnames: list[str], clip_model: nn.Module, **overrides) -> nn.Module:
        ivlp = self.method_cfg
        drawn = draw_ivlp_prompts(architecture_of(clip_model), ivlp.N_CTX_TEXT, ivlp.N_CTX_VISION,
                                  ivlp.PROMPT_DEPTH_TEXT, ivlp.PROMPT_DEPTH_VISION)
        return IndependentPromptLearner(classnames, clip_model, ivlp.N_CTX_TEXT, ivlp.CTX_INIT, ivlp.PROMPT_DEPTH_TEXT,
                                        ivlp.PROMPT_DEPTH_VISION, drawn, ivlp.FP16_PROMPTS)
