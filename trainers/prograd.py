"""ProGrad trainer: CoOp whose gradient is projected so it never conflicts with zero-shot CLIP's."""
from __future__ import annotations

import torch
from torch import nn

from mopd.backend import TRAINER_REGISTRY
from mopd.methods.prograd import prograd_backward, prograd_kl_loss
from mopd.prompts.prompted_clip import PromptedOutput
from mopd.prompts.templates import prograd_template, words_before_class

from .coop import CoOp


@TRAINER_REGISTRY.register()
class ProGrad(CoOp):
    """Prompt-aligned Gradient (Zhu, Niu, Han, Wu, Zhang, ICCV 2023, arXiv:2205.14865).

    The CE gradient of the context is projected against the gradient of a KL term to the
    hand-crafted (zero-shot) prediction whenever the two conflict. The hand-crafted prompt is
    ProGrad's own template; with `INIT_FROM_TEMPLATE` (its published configs) the N_CTX context
    vectors start as zeros followed by the template's words, as in the authors' code.
    """

    hand_crafted_in_training = True

    def check_cfg(self, cfg) -> None:
        super().check_cfg(cfg)
        if cfg.TRAINER.PROGRAD.T <= 0:
            raise ValueError(f"TRAINER.PROGRAD.T={cfg.TRAINER.PROGRAD.T} must be > 0")
        if cfg.TRAINER.PROGRAD.LAMBDA < 0:
            raise ValueError(f"TRAINER.PROGRAD.LAMBDA={cfg.TRAINER.PROGRAD.LAMBDA} must be >= 0")
        if cfg.TRAINER.PROGRAD.INIT_FROM_TEMPLATE and cfg.TRAINER.COOP.CTX_INIT:
            raise ValueError(
                f"TRAINER.PROGRAD.INIT_FROM_TEMPLATE True initialises the context from the dataset's template, "
                f"and TRAINER.COOP.CTX_INIT={cfg.TRAINER.COOP.CTX_INIT!r} asks for other words; set one of them"
            )

    def hand_crafted_template(self) -> str:
        return prograd_template(self.cfg.DATASET.NAME)

    def build_prompt_learner(self, classnames: list[str], clip_model: nn.Module, **overrides) -> nn.Module:
        if self.cfg.TRAINER.PROGRAD.INIT_FROM_TEMPLATE:
            overrides = {"ctx_init": words_before_class(self.hand_crafted_template()), "init_fit": "pad", **overrides}
        return super().build_prompt_learner(classnames, clip_model, **overrides)

    def before_train_extra(self) -> None:
        self.hand_crafted = self.encode_hand_crafted_classes(self.model.text_encoder)

    def compute_losses(self, output: PromptedOutput, label: torch.Tensor) -> dict[str, torch.Tensor]:
        ce = super().compute_losses(output, label)["loss"]
        zero_shot_logits = output.logit_scale * output.image_features @ self.hand_crafted.t()
        kl = prograd_kl_loss(output.logits, zero_shot_logits, self.cfg.TRAINER.PROGRAD.T)
        return {"loss": ce, "kl": kl}

    def backward_and_update(self, losses: dict[str, torch.Tensor]) -> None:
        """Back-propagate CE and KL separately and keep the non-conflicting part of the CE gradient."""
        if not self.loss_allows_update(losses["loss"] + losses["kl"]):
            return
        self.model_zero_grad()
        scale = self.precision.scale
        prograd_backward(
            scale(losses["loss"]), scale(losses["kl"]), self.model.prompt_learner.parameters(),
            self.cfg.TRAINER.PROGRAD.LAMBDA,
        )
        self.precision.step(self.optim)
