"""This repository's MaPLe or PromptSRC, built as their trainers build them and stepped as `CoOp.forward_backward` steps.

CLIP comes from the shared weights file (`load_clip(..., path=...)`), cast to the run's precision;
the prompts are drawn as the trainers draw them (replaying CLIP's random build first), so the same
seed gives the authors' initial prompts. Only the prompts are trained, with Dassl's SGD defaults
(momentum 0.9, weight decay 5e-4); evaluation encodes the class prompts once (`CoOp.test`).
PromptSRC's frozen-CLIP class features (60 templates) are built with the model, as the trainer
builds them before training, so they count in the build time.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from authors_worker import Job
from mopd.clip.init_replay import replay_clip_initialisation
from mopd.clip.loading import architecture_of, load_clip
from mopd.clip.precision import PrecisionPolicy
from mopd.methods.class_text_features import template_mean_features
from mopd.methods.promptsrc_loss import promptsrc_loss
from mopd.prompts.ivlp_prompt_learner import IndependentPromptLearner, draw_ivlp_prompts
from mopd.prompts.maple_prompt_learner import MultiModalPromptLearner
from mopd.prompts.prompted_clip import PromptedOutput, TwoTowerPromptedCLIP
from mopd.prompts.templates import PROMPTSRC_TEMPLATES
from setups import MethodSetup, cross_entropy_loss, evaluate, train_step

# PromptSRC's published TEXT_LOSS_WEIGHT and IMAGE_LOSS_WEIGHT
TEXT_WEIGHT, IMAGE_WEIGHT = 25, 10


class OurTrainer:
    """The model, optimizer and precision of our trainer; `batch_teacher` holds PromptSRC's frozen view of a batch."""

    def __init__(self, setup: MethodSetup, batch_teacher: dict[str, Tensor] | None = None) -> None:
        self.setup, self.batch_teacher = setup, batch_teacher

    def step(self, images: Tensor, labels: Tensor) -> float:
        """Our trainer's step: forward under the precision policy, the method's loss, backward, SGD step."""
        model = self.setup.model
        model.train()
        if self.batch_teacher is not None:  # PromptSRC reads frozen CLIP's features of the batch first
            with torch.no_grad(), self.setup.precision.autocast():
                self.batch_teacher["image"] = F.normalize(model.image_encoder(images.type(model.dtype)), dim=-1)
        return train_step(self.setup, images, labels)

    def logits(self, batches: list[Tensor]) -> Tensor:
        """`CoOp.test`: class features encoded once, then one product per test batch."""
        self.setup.model.eval()
        return evaluate(self.setup, batches)

    def prompt_parameters(self) -> dict[str, Tensor]:
        """The prompt learner's parameters."""
        return dict(self.setup.model.prompt_learner.named_parameters())


def _promptsrc_loss(teacher_text: Tensor, batch_teacher: dict[str, Tensor]) -> Callable[[PromptedOutput, Tensor], Tensor]:
    def loss(output: PromptedOutput, labels: Tensor) -> Tensor:
        teacher_image = batch_teacher["image"]
        teacher_logits = output.logit_scale * teacher_image @ teacher_text.type(teacher_image.dtype).t()
        return promptsrc_loss(output.logits.float(), labels, output.text_features.float(), teacher_text,
                              output.image_features.float(), teacher_image.float(), teacher_logits.float(),
                              TEXT_WEIGHT, IMAGE_WEIGHT).loss

    return loss


def build_our_trainer(job: Job) -> OurTrainer:
    """Build the job's method on its weights at its precision, with only the prompts trainable."""
    precision = PrecisionPolicy(job.precision, torch.device("cpu"))
    clip_model = precision.prepare(load_clip(job.backbone, path=job.weights_file))
    classnames = list(job.classnames)
    if job.method == "MaPLe":
        replay_clip_initialisation(architecture_of(clip_model))
        learner = MultiModalPromptLearner(classnames, clip_model, job.n_ctx, job.ctx_init, job.depth,
                                          round_to_fp16=True)
    else:
        drawn = draw_ivlp_prompts(architecture_of(clip_model), job.n_ctx, job.n_ctx, job.depth, job.depth)
        learner = IndependentPromptLearner(classnames, clip_model, job.n_ctx, job.ctx_init, job.depth, job.depth,
                                           drawn, round_to_fp16=True)
    model = TwoTowerPromptedCLIP(clip_model, learner)
    for name, param in model.named_parameters():
        param.requires_grad_(name.startswith("prompt_learner."))
    optimizer = torch.optim.SGD(learner.parameters(), lr=job.lr, momentum=0.9, weight_decay=5e-4)
    if job.method == "MaPLe":
        return OurTrainer(MethodSetup(job.method, "ours", model, precision, optimizer, cross_entropy_loss, None, None))
    teacher_text = template_mean_features(model.text_encoder, PROMPTSRC_TEMPLATES, classnames)
    batch_teacher: dict[str, Tensor] = {}
    loss = _promptsrc_loss(teacher_text, batch_teacher)
    return OurTrainer(MethodSetup(job.method, "ours", model, precision, optimizer, loss, None, None), batch_teacher)
