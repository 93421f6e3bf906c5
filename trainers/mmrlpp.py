"""MMRL++ trainer: MMRL with shared residual projections, composed representation tokens and a low-rank proj_rep."""
from __future__ import annotations

from torch import nn

from mopd.backend import TRAINER_REGISTRY
from mopd.clip.loading import architecture_of
from mopd.config.checks import check_mmrlpp_cfg
from mopd.prompts.representation_learner import ResidualRepresentationLearner, draw_proj_lora

from .mmrl import MMRL


@TRAINER_REGISTRY.register()
class MMRLpp(MMRL):
    """MMRL++ (Guo and Gu, arXiv:2505.10088): MMRL's towers, loss and evaluation branch per TASK, with

    one projection weight per tower shared by all representation layers plus a rank-RES_LORA_DIM residual
    and a bias per layer (SRRA); at each later representation layer the tokens become BETA * new +
    (1 - BETA) * carried; the representation feature is projected by CLIP's frozen `proj` + A B
    (rank PROJ_LORA_DIM). Settings in TRAINER.MMRLPP. BETA acts wherever the model runs: the authors
    choose it per target dataset when they evaluate the ImageNet model on other datasets. A seed gives
    the authors' initial values; their run folders (their CLIP's `A`, `B` included) evaluate as they are.
    """

    config_node = "MMRLPP"
    authors_clip_parameters = {"image_encoder.A": "proj_rep_A", "image_encoder.B": "proj_rep_B"}

    check_method_cfg = staticmethod(check_mmrlpp_cfg)

    def build_prompt_learner(self, classnames: list[str], clip_model: nn.Module, **overrides) -> nn.Module:
        node = self.method_cfg
        proj_lora_a = draw_proj_lora(architecture_of(clip_model), node.PROJ_LORA_DIM)  # drawn by both authors' CLIPs
        return ResidualRepresentationLearner(classnames, clip_model, self.hand_crafted_template(), node.N_REP_TOKENS,
                                             node.REP_DIM, node.REP_LAYERS, node.BETA, node.RES_LORA_DIM, proj_lora_a)

    def checkpoint_meta(self) -> dict:
        meta = super().checkpoint_meta()
        meta["training_settings"]["beta"] = self.method_cfg.BETA  # a resumed run trains with the same; tests may not
        return meta
