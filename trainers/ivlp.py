"""IVLP trainer: CoOp with independent deep prompts in both towers of CLIP."""
from __future__ import annotations

from torch import nn

from mopd.backend import TRAINER_REGISTRY
from mopd.clip.loading import architecture_of
from mopd.config.checks import check_ivlp_cfg
from mopd.prompts.ivlp_prompt_learner import IndependentPromptLearner, draw_ivlp_prompts
from mopd.training.two_tower import TwoTowerPromptsMixin

from .coop import CoOp


@TRAINER_REGISTRY.register()
class IVLP(TwoTowerPromptsMixin, CoOp):
    """Independent Vision-Language Prompting, the deep-prompt baseline of MaPLe (arXiv:2210.03117) and
    PromptSRC (arXiv:2307.06948): unrelated deep prompts in the text and image towers, cross-entropy."""

    def check_cfg(self, cfg) -> None:
        super().check_cfg(cfg)
        check_ivlp_cfg(cfg)

    def build_prompt_learner(self, classnames: list[str], clip_model: nn.Module, **overrides) -> nn.Module:
        ivlp = self.cfg.TRAINER.IVLP
        drawn = draw_ivlp_prompts(architecture_of(clip_model), ivlp.N_CTX_TEXT, ivlp.N_CTX_VISION,
                                  ivlp.PROMPT_DEPTH_TEXT, ivlp.PROMPT_DEPTH_VISION)
        return IndependentPromptLearner(classnames, clip_model, ivlp.N_CTX_TEXT, ivlp.CTX_INIT, ivlp.PROMPT_DEPTH_TEXT,
                                        ivlp.PROMPT_DEPTH_VISION, drawn, ivlp.FP16_PROMPTS)
