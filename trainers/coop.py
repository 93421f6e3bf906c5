"""CoOp trainer, written to be subclassed by the other prompt-learning methods."""
from __future__ import annotations

import logging

import torch
from torch import nn

from mopd.backend import (
    TRAINER_REGISTRY,
    TrainerX,
    build_lr_scheduler,
    build_optimizer,
    compute_accuracy,
    load_pretrained_weights,
)
from mopd.config.checks import check_coop_cfg
from mopd.feature_cache.split_features import check_feature_cache_dir
from mopd.feature_cache.trainer_mixin import CachedEvaluationMixin
from mopd.methods.class_text_features import check_class_prompts_fit, encode_class_prompts
from mopd.prompts.prompt_learner import PromptLearner
from mopd.prompts.prompted_clip import PromptedCLIP, PromptedOutput
from mopd.prompts.templates import hand_crafted_template
from mopd.training.checkpoint_hooks import PromptCheckpointMixin
from mopd.training.precision_step import PrecisionStepMixin
from mopd.training.run_hooks import RunBookkeepingMixin

logger = logging.getLogger(__name__)


@TRAINER_REGISTRY.register()
class CoOp(RunBookkeepingMixin, PrecisionStepMixin, PromptCheckpointMixin, CachedEvaluationMixin, TrainerX):
    """CoOp: learnable context for CLIP's text prompt.

    Zhou et al., "Learning to Prompt for Vision-Language Models", IJCV 2022, arXiv:2109.01134.
    Methods extend it through narrow hooks: `build_prompt_learner`, `build_prompted_clip`,
    `build_extra_modules`, `before_train_extra`, `compute_losses` and `backward_and_update`; the step
    itself is here once, its precision mechanics in `mopd.training.precision_step`.
    """

    hand_crafted_in_training = False  # whether training encodes `hand_crafted_template` (KgCoOp, ProGrad)

    def check_cfg(self, cfg) -> None:
        check_coop_cfg(cfg)
        check_feature_cache_dir(cfg)

    def build_model(self) -> None:
        cfg = self.cfg
        classnames = self.dm.dataset.classnames
        clip_model = self.build_clip_in_precision()
        self.model = self.build_prompted_clip(clip_model, self.build_prompt_learner(classnames, clip_model))
        for name, module in self.build_extra_modules(clip_model).items():
            self.model.prompt_learner.add_module(name, module)
        for name, param in self.model.named_parameters():
            param.requires_grad_(name.startswith("prompt_learner."))
        if cfg.MODEL.INIT_WEIGHTS:
            load_pretrained_weights(self.model.prompt_learner, cfg.MODEL.INIT_WEIGHTS)
        self.model.text_encoder.truncate = not cfg.TRAINER.COOP.AUTHORS_NUMERICS
        self.model.to(self.device)
        trainable = {n: p.numel() for n, p in self.model.prompt_learner.named_parameters()}
        logger.info("Trainable parameters (%d in all): %s", sum(trainable.values()), trainable)
        self.optim = build_optimizer(self.model.prompt_learner, cfg.OPTIM)
        self.sched = build_lr_scheduler(self.optim, cfg.OPTIM)
        self.register_model("prompt_learner", self.model.prompt_learner, self.optim, self.sched)

    def build_prompt_learner(self, classnames: list[str], clip_model: nn.Module, **overrides) -> nn.Module:
        """The module holding the learnable prompt (saved as `prompt_learner`); `overrides` replace config values."""
        coop = self.cfg.TRAINER.COOP
        settings = {
            "n_ctx": coop.N_CTX,
            "ctx_init": coop.CTX_INIT,
            "csc": coop.CSC,
            "class_token_position": coop.CLASS_TOKEN_POSITION,
        }
        return PromptLearner(classnames, clip_model, **{**settings, **overrides})

    def build_prompted_clip(self, clip_model: nn.Module, prompt_learner: nn.Module) -> nn.Module:
        """The frozen CLIP around the prompt learner."""
        return PromptedCLIP(clip_model, prompt_learner)

    def build_extra_modules(self, clip_model: nn.Module) -> dict[str, nn.Module]:
        """Extra learnable modules, trained and saved with the prompt (none for CoOp)."""
        return {}

    def hand_crafted_template(self) -> str:
        """The method's hand-written template for this dataset (CoOp's table)."""
        return hand_crafted_template(self.cfg.DATASET.NAME)

    def encode_hand_crafted_classes(self, text_encoder: nn.Module) -> torch.Tensor:
        """Normalised (C, D) features of the hand-written template for this dataset, without gradient."""
        template = self.hand_crafted_template()
        logger.info("Hand-crafted template: %r", template)
        with torch.no_grad(), self.precision.autocast():
            return encode_class_prompts(text_encoder, [template], self.dm.dataset.classnames)[0]

    def training_templates(self) -> dict[str, list[str]]:
        """The hand-written templates training fills with the class names, by where they come from."""
        if not self.hand_crafted_in_training:
            return {}
        return {f"{type(self).__name__}'s template for {self.cfg.DATASET.NAME}": [self.hand_crafted_template()]}

    def check_training_prompts(self) -> None:
        """Refuse, before a training run writes anything, templates that some class name makes too long for CLIP."""
        for source, templates in self.training_templates().items():
            check_class_prompts_fit(templates, self.dm.dataset.classnames, source)

    def before_train(self) -> None:
        super().before_train()
        self.before_train_extra()

    def before_train_extra(self) -> None:
        """Training-only state (e.g. teacher features), built after resuming and never saved."""

    def parse_batch_train(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        return batch["img"].to(self.device), batch["label"].to(self.device)

    def forward_backward(self, batch: dict) -> dict[str, float]:
        image, label = self.parse_batch_train(batch)
        with self.precision.autocast():
            output = self.model(image)
            losses = self.compute_losses(output, label)
        self.backward_and_update(losses)
        summary = {name: value.item() for name, value in losses.items()}
        summary["acc"] = compute_accuracy(output.logits, label)[0].item()
        self.epoch_means.add(summary, n=label.shape[0])
        if (self.batch_idx + 1) == self.num_batches:
            self.update_lr()
        return summary

    def compute_losses(self, output: PromptedOutput, label: torch.Tensor) -> dict[str, torch.Tensor]:
        """Loss parts for one batch; key "loss" is the total that is back-propagated (CE in fp32, or as the authors)."""
        return {"loss": nn.functional.cross_entropy(self.loss_input(output.logits), label)}

    def loss_input(self, tensor: torch.Tensor) -> torch.Tensor:
        """`tensor` as the loss takes it: in fp32, or in its own dtype as the authors' code (AUTHORS_NUMERICS)."""
        return tensor if self.cfg.TRAINER.COOP.AUTHORS_NUMERICS else tensor.float()
