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
    set_random_seed,
)
from mopd.clip.loading import build_clip
from mopd.config_checks import check_coop_cfg
from mopd.feature_cache.split_features import check_feature_cache_dir
from mopd.feature_cache.trainer_mixin import CachedEvaluationMixin
from mopd.methods.class_text_features import encode_class_prompts
from mopd.precision import NonFiniteGuard, PrecisionPolicy
from mopd.prompts.prompt_learner import PromptLearner
from mopd.prompts.prompted_clip import PromptedCLIP, PromptedOutput
from mopd.prompts.templates import hand_crafted_template
from mopd.run_record import write_run_record
from mopd.run_state import RunningMeans, epoch_seed, write_finished_marker

logger = logging.getLogger(__name__)

_CLASS_NAME_BUFFERS = ("token_prefix", "token_suffix", "token_midfix")


@TRAINER_REGISTRY.register()
class CoOp(CachedEvaluationMixin, TrainerX):
    """CoOp: learnable context for CLIP's text prompt.

    Zhou et al., "Learning to Prompt for Vision-Language Models", IJCV 2022, arXiv:2109.01134.
    Methods extend it through narrow hooks: `build_prompt_learner`, `build_extra_modules`,
    `before_train_extra`, `compute_losses` and `backward_and_update`; the step itself
    (precision, scaler, lr update, loss summary) lives here once.
    """

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
        self.model.to(self.device)
        trainable = {n: p.numel() for n, p in self.model.prompt_learner.named_parameters()}
        logger.info("Trainable parameters (%d in all): %s", sum(trainable.values()), trainable)
        self.optim = build_optimizer(self.model.prompt_learner, cfg.OPTIM)
        self.sched = build_lr_scheduler(self.optim, cfg.OPTIM)
        self.register_model("prompt_learner", self.model.prompt_learner, self.optim, self.sched)
        self.nonfinite_guard = NonFiniteGuard(cfg.TRAINER.COOP.MAX_NONFINITE_STEPS)

    def build_clip_in_precision(self) -> nn.Module:
        """Set the run's precision policy (`self.precision`) and return CLIP, on the CPU, cast to it."""
        coop = self.cfg.TRAINER.COOP
        self.precision = PrecisionPolicy(coop.PREC, self.device, coop.AMP_DTYPE)
        return self.precision.prepare(build_clip(self.cfg))

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

    def before_train(self) -> None:
        super().before_train()
        write_run_record(self.output_dir, self.cfg)  # after the resume, which may still refuse the checkpoint
        self.before_train_extra()

    def before_epoch(self) -> None:
        """Reseed from (SEED, epoch): data order and augmentation of an epoch repeat exactly after a resume."""
        super().before_epoch()
        if self.cfg.SEED >= 0:
            set_random_seed(epoch_seed(self.cfg.SEED, self.epoch))
        self.epoch_means = RunningMeans()

    def after_epoch(self) -> None:
        """Log the epoch's mean of every loss part (and accuracy), to log.txt and tensorboard."""
        means = self.epoch_means.means()
        logger.info("epoch %d means: %s", self.epoch + 1, " ".join(f"{k} {v:.4f}" for k, v in means.items()))
        for name, value in means.items():
            self.write_scalar(f"train_epoch/{name}", value, self.epoch + 1)
        super().after_epoch()

    def after_train(self) -> None:
        super().after_train()
        write_finished_marker(self.output_dir, epoch=self.max_epoch, result=self._last_test_result)

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
        """Loss parts for one batch; key "loss" is the total that is back-propagated."""
        return {"loss": nn.functional.cross_entropy(output.logits.float(), label)}

    def backward_and_update(self, losses: dict[str, torch.Tensor]) -> None:
        """Back-propagate the total loss and step the optimizer under the precision policy."""
        if not self.loss_allows_update(losses["loss"]):
            return
        self.model_zero_grad()
        self.precision.scale(losses["loss"]).backward()
        self.precision.step(self.optim)

    def loss_allows_update(self, loss: torch.Tensor) -> bool:
        """False for a NaN/inf loss: the step is skipped with a warning (and the run stops if it persists)."""
        where = f"epoch {self.epoch + 1} batch {self.batch_idx + 1}"
        return self.nonfinite_guard.allows_update(loss, where)

    def checkpoint_meta(self) -> dict:
        """Trainer, backbone, classes and the prompt's shape settings, saved in and checked against checkpoints."""
        learner = self.model.prompt_learner
        return {
            "trainer": type(self).__name__,
            "backbone": self.cfg.MODEL.BACKBONE.NAME,
            "num_classes": learner.n_cls,
            "model_settings": {
                "n_ctx": learner.n_ctx,
                "csc": learner.csc,
                "class_token_position": learner.class_token_position,
            },
            "training_settings": {},
        }

    def accepted_checkpoint_trainers(self) -> tuple[str, ...]:
        accepted = self.cfg.TRAINER.COOP.ACCEPT_CHECKPOINT_OF
        return (accepted,) if accepted else ()

    def convert_foreign_state_dict(self, name: str, state_dict: dict) -> dict:
        """Drop the class-name buffers that the original repositories save; they are rebuilt from the classes."""
        stale = [key for key in state_dict if key in _CLASS_NAME_BUFFERS]
        if stale:
            logger.info("Ignoring class-name buffers %s of %s (rebuilt for the current classes)", stale, name)
        return {key: value for key, value in state_dict.items() if key not in _CLASS_NAME_BUFFERS}
