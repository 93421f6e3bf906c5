"""CoCoOp trainer: CoOp's context shifted per image by a meta-network on the image feature."""
from __future__ import annotations

from torch import nn

from mopd.backend import TRAINER_REGISTRY
from mopd.prompts.cocoop_prompt_learner import CoCoOpPromptLearner
from mopd.prompts.prompted_clip import ConditionalPromptedCLIP

from .coop import CoOp


@TRAINER_REGISTRY.register()
class CoCoOp(CoOp):
    """Conditional Prompt Learning (Zhou, Yang, Loy, Liu, CVPR 2022, arXiv:2203.05557).

    Uses TRAINER.COOP.N_CTX / CTX_INIT / PREC (shared context, class token at the end) and
    TRAINER.COCOOP.IMAGES_PER_CALL; the meta-net is trained and saved with the context.
    """

    def check_cfg(self, cfg) -> None:
        super().check_cfg(cfg)
        if cfg.TRAINER.COOP.CSC or cfg.TRAINER.COOP.CLASS_TOKEN_POSITION != "end":
            raise ValueError("CoCoOp uses one shared context with the class token at the end: "
                             "set TRAINER.COOP.CSC False and TRAINER.COOP.CLASS_TOKEN_POSITION end")
        if cfg.TRAINER.COCOOP.IMAGES_PER_CALL < 1:
            raise ValueError(f"TRAINER.COCOOP.IMAGES_PER_CALL={cfg.TRAINER.COCOOP.IMAGES_PER_CALL} must be >= 1")

    def build_prompt_learner(self, classnames: list[str], clip_model: nn.Module) -> nn.Module:
        coop = self.cfg.TRAINER.COOP
        return CoCoOpPromptLearner(classnames, clip_model, n_ctx=coop.N_CTX, ctx_init=coop.CTX_INIT)

    def build_prompted_clip(self, clip_model: nn.Module, prompt_learner: nn.Module) -> nn.Module:
        return ConditionalPromptedCLIP(clip_model, prompt_learner, self.cfg.TRAINER.COCOOP.IMAGES_PER_CALL)
