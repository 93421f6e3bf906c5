"""MaPLe trainer: CoOp with coupled prompts in both towers of CLIP."""
from __future__ import annotations

from torch import nn

from mopd.backend import TRAINER_REGISTRY
from mopd.clip.init_replay import replay_clip_initialisation
from mopd.clip.loading import architecture_of
from mopd.config.checks import check_maple_cfg
from mopd.prompts.maple_prompt_learner import MultiModalPromptLearner
from mopd.training.two_tower import TwoTowerPromptsMixin

from .coop import CoOp


@TRAINER_REGISTRY.register()
class MaPLe(TwoTowerPromptsMixin, CoOp):
    """Multi-modal Prompt Learning (Khattak, Rasheed, Maaz, Khan, Khan, CVPR 2023, arXiv:2210.03117).

    A text context and deep text prompts up to PROMPT_DEPTH, whose linear projections are the image
    tower's prompts, trained with cross-entropy. Drawn from the generator as the authors' build
    leaves it, so a seed gives their initial prompts. The authors' run folders evaluate as they are
    (their prompt names are this learner's).
    """

    authors_model_folder = "MultiModalPromptLearner"
    config_node = "MAPLE"

    def check_cfg(self, cfg) -> None:
        super().check_cfg(cfg)
        check_maple_cfg(cfg)

    def build_prompt_learner(self, classnames: list[str], clip_model: nn.Module, **overrides) -> nn.Module:
        maple = self.method_cfg
        replay_clip_initialisation(architecture_of(clip_model))  # the authors draw after building a random CLIP
        return MultiModalPromptLearner(classnames, clip_model, maple.N_CTX, maple.CTX_INIT, maple.PROMPT_DEPTH,
                                       maple.FP16_PROMPTS)
