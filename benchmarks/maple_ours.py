"""This repository's MaPLe, built as `trainers/maple.py` builds it and stepped as `CoOp.forward_backward` steps it.

CLIP comes from the shared weights file (`load_clip(..., path=...)`), cast to the run's precision;
the generator replays CLIP's random build before the prompt learner draws (as the trainer does), so
the same seed gives the authors' initial prompts. Only the prompt learner is trained, with Dassl's
SGD defaults (momentum 0.9, weight decay 5e-4); evaluation encodes the class prompts once
(`CoOp.test`).
"""
from __future__ import annotations

import torch
from torch import Tensor

from maple_worker import Job
from mopd.clip.init_replay import replay_clip_initialisation
from mopd.clip.loading import architecture_of, load_clip
from mopd.clip.precision import PrecisionPolicy
from mopd.prompts.maple_prompt_learner import MultiModalPromptLearner
from mopd.prompts.prompted_clip import TwoTowerPromptedCLIP
from setups import MethodSetup, cross_entropy_loss, evaluate, train_step


class OurMaPLe:
    """The model, optimizer and precision of our MaPLe trainer."""

    def __init__(self, setup: MethodSetup) -> None:
        self.setup = setup

    def step(self, images: Tensor, labels: Tensor) -> float:
        """Our trainer's step: forward under the precision policy, cross-entropy, backward, SGD step."""
        self.setup.model.train()
        return train_step(self.setup, images, labels)

    def logits(self, batches: list[Tensor]) -> Tensor:
        """`CoOp.test`: class features encoded once, then one product per test batch."""
        self.setup.model.eval()
        return evaluate(self.setup, batches)

    def prompt_parameters(self) -> dict[str, Tensor]:
        """The prompt learner's parameters (the authors' names)."""
        return dict(self.setup.model.prompt_learner.named_parameters())


def build_our_maple(job: Job) -> OurMaPLe:
    """Build MaPLe on the job's weights at its precision, with only the prompt learner trainable."""
    precision = PrecisionPolicy(job.precision, torch.device("cpu"))
    clip_model = precision.prepare(load_clip(job.backbone, path=job.weights_file))
    replay_clip_initialisation(architecture_of(clip_model))
    learner = MultiModalPromptLearner(list(job.classnames), clip_model, job.n_ctx, job.ctx_init, job.depth,
                                      round_to_fp16=True)
    model = TwoTowerPromptedCLIP(clip_model, learner)
    for name, param in model.named_parameters():
        param.requires_grad_(name.startswith("prompt_learner."))
    optimizer = torch.optim.SGD(learner.parameters(), lr=job.lr, momentum=0.9, weight_decay=5e-4)
    return OurMaPLe(MethodSetup("MaPLe", "ours", model, precision, optimizer, cross_entropy_loss, None, None))
