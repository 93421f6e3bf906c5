"""PromptSRC trainer: IVLP's prompts, regulated towards frozen CLIP, averaged over epochs (GPA)."""
from __future__ import annotations

import logging

import torch

from mopd.backend import TRAINER_REGISTRY
from mopd.config.checks import check_promptsrc_cfg
from mopd.methods.class_text_features import template_mean_features
from mopd.methods.gpa import add_weighted, aggregate_constant, gaussian_epoch_weights
from mopd.methods.promptsrc_loss import promptsrc_loss
from mopd.prompts.prompted_clip import PromptedOutput
from mopd.prompts.templates import PROMPTSRC_TEMPLATES
from mopd.training.checkpoint_hooks import CLASS_NAME_BUFFERS
from mopd.training.two_tower import check_frozen_clip_weights, frozen_clip_image_features, our_frozen_key

from .ivlp import IVLP

logger = logging.getLogger(__name__)

# The authors' frozen copy of CLIP's image tower (the image teacher), saved inside their prompt learner.
_AUTHORS_TEACHER_PREFIX = "prompt_learner.ZS_image_encoder."


@TRAINER_REGISTRY.register()
class PromptSRC(IVLP):
    """Self-regulating prompts (Khattak, Naseer, Naeem, Khan, Yang, Khan, ICCV 2023, arXiv:2307.06948).

    IVLP's prompts trained with cross-entropy plus L1 pulls of the prompted text and image features
    towards frozen CLIP's (the text side: the unnormalised mean of 60 ImageNet templates' features,
    in fp32) and the KL of frozen CLIP's prediction to the prompted one. After each epoch the
    prompts join a Gaussian-weighted sum over epochs (GPA) that replaces them after the last.

    The authors' GPA averages every weight of the model, so frozen fp16 weights come out rounded
    (`mopd.methods.gpa`): by default that rounding is reproduced, at the end of training and when a
    checkpoint is evaluated; `GPA_ONLY_PROMPTS True` averages only the prompts. The authors' run folders
    evaluate as they are: their checkpoints hold those rounded frozen weights, which are checked to be
    this run's CLIP rounded the same way.
    """

    config_node = "PROMPTSRC"

    def check_cfg(self, cfg) -> None:
        super().check_cfg(cfg)
        check_promptsrc_cfg(cfg)

    def build_model(self) -> None:
        super().build_model()
        self.gpa_sum: dict[str, torch.Tensor] = {}  # the weighted sum of the prompts over the epochs so far
        self.gpa_applied = False
        self.authors_frozen_weights: dict[str, torch.Tensor] = {}  # an authors' checkpoint's GPA-rounded frozen weights

    def gpa_weights(self) -> list[float]:
        """The GPA weight of each epoch of training (`OPTIM.MAX_EPOCH` of them)."""
        src = self.method_cfg
        return gaussian_epoch_weights(src.GPA_MEAN, src.GPA_STD, self.cfg.OPTIM.MAX_EPOCH)

    def training_templates(self) -> dict[str, list[str]]:
        return {"PromptSRC's 60 ImageNet templates": list(PROMPTSRC_TEMPLATES)}

    def before_train_extra(self) -> None:
        """Frozen CLIP's class features (C, D), fp32: the unnormalised mean over the 60 templates, normalised."""
        self.teacher_text_features = template_mean_features(self.model.text_encoder, PROMPTSRC_TEMPLATES,
                                                            self.dm.dataset.classnames,
                                                            self.cfg.TRAINER.COOP.AUTHORS_NUMERICS)

    def parse_batch_train(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch, and frozen CLIP's normalised features of its images (the unprompted image tower)."""
        image, label = super().parse_batch_train(batch)
        self.teacher_image_features = frozen_clip_image_features(self.model, self.precision, image)
        return image, label

    def compute_losses(self, output: PromptedOutput, label: torch.Tensor) -> dict[str, torch.Tensor]:
        src, computed = self.method_cfg, self.loss_input
        teacher_image = self.teacher_image_features
        teacher_logits = output.logit_scale * teacher_image @ self.teacher_text_features.type(teacher_image.dtype).t()
        terms = promptsrc_loss(computed(output.logits), label, computed(output.text_features),
                               self.teacher_text_features, computed(output.image_features), computed(teacher_image),
                               computed(teacher_logits), src.TEXT_LOSS_WEIGHT, src.IMAGE_LOSS_WEIGHT)
        return terms._asdict()

    def after_epoch(self) -> None:
        """Add the epoch's prompts to the GPA sum; after the last epoch the sum replaces them (before the save)."""
        weight = self.gpa_weights()[self.epoch]
        for name, param in self.learned_parameters().items():
            self.gpa_sum[name] = add_weighted(self.gpa_sum.get(name), param, weight)
        if self.epoch + 1 == self.max_epoch:
            self.apply_gpa()
        super().after_epoch()

    def learned_parameters(self) -> dict[str, torch.nn.Parameter]:
        """The prompts GPA averages: every trained parameter, by name."""
        return {name: p for name, p in self.model.prompt_learner.named_parameters() if p.requires_grad}

    @torch.no_grad()
    def apply_gpa(self) -> None:
        """Replace the prompts with their GPA average and, as the authors, round the frozen weights likewise."""
        for name, param in self.learned_parameters().items():
            param.copy_(self.gpa_sum[name])
        self.gpa_applied = True
        logger.info("GPA: the prompts are now their Gaussian-weighted average over %d epochs", self.max_epoch)
        if not self.method_cfg.GPA_ONLY_PROMPTS:
            self.round_frozen_weights(self.gpa_weights(), with_class_name_buffers=True)

    @torch.no_grad()
    def round_frozen_weights(self, weights: list[float], with_class_name_buffers: bool) -> None:
        """Give every frozen weight of the model (not the token embedding) the value GPA gives it in the authors' code.

        The class-name buffers are rounded at the end of training only: the authors' evaluation of a
        checkpoint rebuilds them.
        """
        # The prompts are averaged, not rounded; the token embedding is not part of the authors' model.
        skipped = {id(p) for p in self.learned_parameters().values()} | {id(self.model.text_encoder.token_embedding.weight)}
        tensors = [*self.model.named_parameters(), *self.model.named_buffers()]
        rounded = 0
        for name, tensor in tensors:
            is_class_name_buffer = name.rsplit(".", 1)[-1] in CLASS_NAME_BUFFERS
            if (id(tensor) in skipped or not tensor.is_floating_point()
                    or (is_class_name_buffer and not with_class_name_buffers)):
                continue
            tensor.copy_(aggregate_constant(tensor, weights))
            rounded += 1
        logger.info("GPA: %d frozen tensors rounded as the authors' average of the whole model rounds them "
                    "(TRAINER.PROMPTSRC.GPA_ONLY_PROMPTS True keeps them)", rounded)

    def checkpoint_meta(self) -> dict:
        meta = super().checkpoint_meta()
        src = self.method_cfg
        meta["training_settings"] = {"text_loss_weight": src.TEXT_LOSS_WEIGHT, "image_loss_weight": src.IMAGE_LOSS_WEIGHT,
                                     "gpa_mean": src.GPA_MEAN, "gpa_std": src.GPA_STD, "gpa_only_prompts": src.GPA_ONLY_PROMPTS}
        if self.gpa_applied:  # not compared: what evaluation of this checkpoint must do to the frozen weights
            meta["gpa"] = {"mean": src.GPA_MEAN, "std": src.GPA_STD, "epochs": self.max_epoch,
                           "frozen_weights_rounded": not src.GPA_ONLY_PROMPTS, "precision": self.cfg.TRAINER.COOP.PREC}
        return meta

    def training_state(self) -> dict:
        return {"gpa_sum": dict(self.gpa_sum), "gpa_applied": self.gpa_applied}

    def restore_training_state(self, state: dict) -> None:
        self.gpa_sum = {name: tensor.to(self.device) for name, tensor in (state.get("gpa_sum") or {}).items()}
        if not self.gpa_sum:
            logger.warning("The checkpoint holds no GPA sum: the average will count only the epochs trained from now on")
        if state.get("gpa_applied"):  # resumed after the last epoch: the prompts are the average already
            self.gpa_applied = True
            if not self.method_cfg.GPA_ONLY_PROMPTS:
                self.round_frozen_weights(self.gpa_weights(), with_class_name_buffers=True)

    def loaded_for_evaluation(self, name: str, checkpoint: dict) -> None:
        """A GPA checkpoint whose training rounded the frozen weights is evaluated on frozen weights rounded the same."""
        gpa = (checkpoint.get("meta") or {}).get("gpa")
        if gpa and gpa["frozen_weights_rounded"]:
            if gpa.get("precision") != self.cfg.TRAINER.COOP.PREC:
                logger.warning("GPA rounded the frozen weights in %s precision during training; this evaluation runs "
                               "in %s and rounds them in it (they differ from the training's at round-off level)",
                               gpa.get("precision"), self.cfg.TRAINER.COOP.PREC)
            weights = gaussian_epoch_weights(gpa["mean"], gpa["std"], gpa["epochs"])
            self.round_frozen_weights(weights, with_class_name_buffers=False)
        elif self.authors_frozen_weights:  # evaluated as the authors' code does: on the checkpoint's frozen weights
            state = self.model.state_dict()
            with torch.no_grad():
                for key, value in self.authors_frozen_weights.items():
                    state[our_frozen_key(key)].copy_(value)
            logger.info("GPA: the %d frozen CLIP weights of the checkpoint (this run's, rounded by the authors' GPA) "
                        "replace this run's", len(self.authors_frozen_weights))
            self.authors_frozen_weights = {}

    def convert_foreign_state_dict(self, name: str, state_dict: dict) -> dict:
        """The authors' checkpoint: their image teacher, a copy of CLIP's image tower, is checked and dropped too."""
        teacher = {"image_encoder." + key[len(_AUTHORS_TEACHER_PREFIX):]: state_dict.pop(key)
                   for key in list(state_dict) if key.startswith(_AUTHORS_TEACHER_PREFIX)}
        if teacher:
            self.check_frozen_weights(teacher)
        return super().convert_foreign_state_dict(name, state_dict)

    def check_frozen_weights(self, weights: dict[str, torch.Tensor]) -> None:
        """The authors' frozen weights are this run's CLIP as their GPA rounds it (`OPTIM.MAX_EPOCH` epochs), or as is."""
        gpa_weights = self.gpa_weights()
        try:
            check_frozen_clip_weights(weights, self.model, lambda weight: aggregate_constant(weight, gpa_weights))
        except ValueError:
            check_frozen_clip_weights(weights, self.model)  # written before GPA (an epoch before the last)
            return
        self.authors_frozen_weights.update(weights)
