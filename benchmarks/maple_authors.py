"""The authors' MaPLe, run from the user's clones: their config, `MaPLe.build_model` and `forward_backward`.

Imported only in a worker process for the authors' side (`maple_worker.py`), after their clone and
Dassl's are put first on sys.path. Nothing of theirs is copied here; their code runs unmodified
except for these run-time replacements (benchmarks/README.md says why):

- `clip._download` returns the benchmark's weights file instead of downloading ViT-B/16; their
  `load_clip_to_cpu` then builds CLIP from it as from OpenAI's file (random init, then the weights).
- The trainer object is made without `SimpleTrainer.__init__`, which would build data loaders; its
  `build_model` gets the class names through a stand-in data manager and runs as written.
- PREC fp32 (the CPU preset's precision): their `MultiModalPromptLearner` casts `proj` to fp16 in
  every precision, so fp32 fails at the first forward; `proj` is cast back to fp32 after their
  `__init__` (its initial values stay the fp16-rounded draws).
- `OPTIM.WARMUP_EPOCH 0`: Dassl's warm-up scheduler does not construct on torch >= 2 (a positional
  `verbose`); the scheduler steps only at the end of an epoch, so no measured step depends on it, and
  the steps run at the published lr of the epochs after the warm-up (0.0035).
"""
from __future__ import annotations

import argparse
import os
import sys
from types import SimpleNamespace

import torch
from torch import Tensor

from maple_worker import Job

# The published base-to-new setting (N_CTX 2, depth 9, batch 4, fp16, lr 0.0035), in their repository.
CONFIG_FILE = os.path.join("configs", "trainers", "MaPLe", "vit_b16_c2_ep5_batch4_2ctx.yaml")


class AuthorsMaPLe:
    """Their MaPLe trainer, built by their `build_model`, stepped by their `forward_backward`."""

    def __init__(self, trainer) -> None:
        self.trainer = trainer

    def step(self, images: Tensor, labels: Tensor) -> float:
        """Their step: loss = model(image, label), zero_grad, backward, optimizer step."""
        self.trainer.set_model_mode("train")  # as Dassl's run_epoch does
        return self.trainer.forward_backward({"img": images, "label": labels})["loss"]

    @torch.no_grad()
    def logits(self, batches: list[Tensor]) -> Tensor:
        """Dassl's test(): the model in eval mode, `model_inference` per batch (text re-encoded per batch)."""
        self.trainer.set_model_mode("eval")
        return torch.cat([self.trainer.model_inference(batch).float() for batch in batches])

    def prompt_parameters(self) -> dict[str, Tensor]:
        """Their prompt learner's parameters (ctx, proj, compound prompts and projections)."""
        return dict(self.trainer.model.prompt_learner.named_parameters())


def build_authors_maple(job: Job) -> AuthorsMaPLe:
    """Import their code from `job.authors` and `job.dassl`, configure it and build their trainer's model."""
    sys.dont_write_bytecode = True  # nothing may be written into the clones
    sys.path[:0] = [job.authors, job.dassl]
    from clip import clip
    from dassl.engine.trainer import TrainerBase

    import train as authors_train
    from trainers import maple

    clip._download = lambda url, root=None: job.weights_file
    if job.precision == "fp32":
        _keep_proj_in_fp32(maple.MultiModalPromptLearner)
    cfg = authors_train.setup_cfg(argparse.Namespace(
        config_file=os.path.join(job.authors, CONFIG_FILE), dataset_config_file="", root="", output_dir="",
        resume="", seed=0, source_domains=None, target_domains=None, transforms=None, trainer="MaPLe",
        backbone="", head="",
        opts=["TRAINER.MAPLE.PREC", job.precision, "USE_CUDA", "False", "OPTIM.WARMUP_EPOCH", "0"],
    ))
    _check_setting(cfg, job)
    trainer = maple.MaPLe.__new__(maple.MaPLe)
    TrainerBase.__init__(trainer)
    trainer.cfg, trainer.device = cfg, torch.device("cpu")
    trainer.dm = SimpleNamespace(dataset=SimpleNamespace(classnames=list(job.classnames)))
    trainer.check_cfg(cfg)
    trainer.build_model()
    trainer.batch_idx, trainer.num_batches = 0, sys.maxsize  # mid-epoch: no lr update after a step
    return AuthorsMaPLe(trainer)


def _keep_proj_in_fp32(learner_class: type) -> None:
    """After their `__init__`, cast `proj` back to CLIP's fp32 (their `.half()` breaks PREC fp32)."""
    original_init = learner_class.__init__

    def init(self, cfg, classnames, clip_model) -> None:
        original_init(self, cfg, classnames, clip_model)
        if clip_model.dtype == torch.float32:
            self.proj.float()

    learner_class.__init__ = init


def _check_setting(cfg, job: Job) -> None:
    """Their published config must be the setting our side runs; a difference is a benchmark bug."""
    theirs = (cfg.TRAINER.MAPLE.N_CTX, cfg.TRAINER.MAPLE.CTX_INIT, cfg.TRAINER.MAPLE.PROMPT_DEPTH, cfg.OPTIM.LR,
              cfg.MODEL.BACKBONE.NAME)
    ours = (job.n_ctx, job.ctx_init, job.depth, job.lr, job.backbone)
    assert theirs == ours, f"the authors' config {theirs} differs from the benchmark's setting {ours}"
