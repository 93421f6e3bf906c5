"""The authors' MaPLe or PromptSRC, run from the user's clones: their config, `build_model` and `forward_backward`.

Imported only in a worker process for the authors' side (`authors_worker.py`), after their clone and
Dassl's are put first on sys.path. Nothing of theirs is copied here; their code runs unmodified
except for these run-time replacements:

- `clip._download` returns the benchmark's weights file instead of downloading ViT-B/16; their
  `load_clip_to_cpu` then builds CLIP from it as from OpenAI's file (random init, then the weights).
- The trainer object is made without `SimpleTrainer.__init__`, which would build data loaders; its
  `build_model` gets the class names through a stand-in data manager and runs as written.
- PREC fp32 (the CPU preset's precision) needs one fix per method (`fidelity/authors_patches.py`):
  MaPLe casts `proj` to fp16 in every precision; PromptSRC feeds fp32 images to an fp16 image teacher.
- PromptSRC: `.cuda()` returns its tensor or module unmoved (their code has no CPU path).
- `OPTIM.WARMUP_EPOCH 0`: Dassl's warm-up scheduler does not construct on torch >= 2 (a positional
  `verbose`); the scheduler steps only at the end of an epoch, so no measured step depends on it, and
  the steps run at the published lr of the epochs after the warm-up.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from types import SimpleNamespace

import torch
from torch import Tensor

from authors_worker import Job

HERE = os.path.dirname(os.path.abspath(__file__))
# The published base-to-new configs, in their repositories.
CONFIG_FILES = {"MaPLe": os.path.join("configs", "trainers", "MaPLe", "vit_b16_c2_ep5_batch4_2ctx.yaml"),
                "PromptSRC": os.path.join("configs", "trainers", "PromptSRC", "vit_b16_c2_ep20_batch4_4+4ctx.yaml")}
# Their PromptSRC keeps its prompts inside CLIP's towers; this repository's names for them (as trainers/ivlp.py maps).
_VPT = re.compile(r"(?P<tower>image|text)_encoder\.(?:VPT|transformer\.resblocks\.(?P<layer>\d+)\.VPT_shallow)")


class AuthorsTrainer:
    """Their trainer, built by their `build_model`, stepped by their `forward_backward`."""

    def __init__(self, trainer, method: str) -> None:
        self.trainer, self.method = trainer, method

    def step(self, images: Tensor, labels: Tensor) -> float:
        """Their step (forward, their loss, zero_grad, backward, optimizer step)."""
        self.trainer.set_model_mode("train")  # as Dassl's run_epoch does
        return self.trainer.forward_backward({"img": images, "label": labels})["loss"]

    @torch.no_grad()
    def logits(self, batches: list[Tensor]) -> Tensor:
        """Dassl's test(): the model in eval mode, `model_inference` per batch (text re-encoded per batch)."""
        self.trainer.set_model_mode("eval")
        return torch.cat([self.trainer.model_inference(batch).float() for batch in batches])

    def prompt_parameters(self) -> dict[str, Tensor]:
        """The learned parameters, under this repository's names."""
        if self.method == "MaPLe":  # their prompt learner's names are ours
            return dict(self.trainer.model.prompt_learner.named_parameters())
        learned = {name: p for name, p in self.trainer.model.named_parameters() if p.requires_grad}
        return {_our_name(name): p for name, p in learned.items()}


def _our_name(name: str) -> str:
    if name == "prompt_learner.ctx":
        return "ctx"
    match = _VPT.fullmatch(name)
    assert match is not None, name
    tower = "visual" if match["tower"] == "image" else "text"
    return "visual_prompt" if match["layer"] is None else f"{tower}_deep_prompts.{int(match['layer']) - 1}"


def build_authors_trainer(job: Job) -> AuthorsTrainer:
    """Import their code from `job.authors` and `job.dassl`, configure it and build their trainer's model."""
    sys.dont_write_bytecode = True  # nothing may be written into the clones
    sys.path[:0] = [job.authors, job.dassl, os.path.join(HERE, "fidelity")]
    from authors_patches import keep_maple_projection_fp32, keep_promptsrc_teacher_fp32, run_cuda_calls_on_the_cpu
    from clip import clip
    from dassl.engine.trainer import TrainerBase

    import train as authors_train

    clip._download = lambda url, root=None: job.weights_file
    node = job.method.upper()
    if job.method == "MaPLe":
        from trainers import maple as module

        trainer_class = module.MaPLe
        if job.precision == "fp32":
            keep_maple_projection_fp32(module.MultiModalPromptLearner)
    else:
        run_cuda_calls_on_the_cpu()
        from trainers import promptsrc as module

        trainer_class = module.PromptSRC
        if job.precision == "fp32":
            keep_promptsrc_teacher_fp32(module.VLPromptLearner)
    cfg = authors_train.setup_cfg(argparse.Namespace(
        config_file=os.path.join(job.authors, CONFIG_FILES[job.method]), dataset_config_file="", root="",
        output_dir="", resume="", seed=0, source_domains=None, target_domains=None, transforms=None,
        trainer=job.method, backbone="", head="",
        opts=[f"TRAINER.{node}.PREC", job.precision, "USE_CUDA", "False", "OPTIM.WARMUP_EPOCH", "0"],
    ))
    _check_setting(cfg, job)
    trainer = trainer_class.__new__(trainer_class)
    TrainerBase.__init__(trainer)
    trainer.cfg, trainer.device = cfg, torch.device("cpu")
    trainer.dm = SimpleNamespace(dataset=SimpleNamespace(classnames=list(job.classnames)))
    trainer.check_cfg(cfg)
    trainer.build_model()
    trainer.batch_idx, trainer.num_batches = 0, sys.maxsize  # mid-epoch: no lr update (nor GPA) after a step
    return AuthorsTrainer(trainer, job.method)


def _check_setting(cfg, job: Job) -> None:
    """Their published config must be the setting our side runs; a difference is a benchmark bug."""
    if job.method == "MaPLe":
        node = cfg.TRAINER.MAPLE
        theirs = (node.N_CTX, node.CTX_INIT, node.PROMPT_DEPTH)
    else:
        node = cfg.TRAINER.PROMPTSRC
        assert (node.N_CTX_VISION, node.PROMPT_DEPTH_VISION) == (node.N_CTX_TEXT, node.PROMPT_DEPTH_TEXT), node
        theirs = (node.N_CTX_TEXT, node.CTX_INIT, node.PROMPT_DEPTH_TEXT)
    theirs += (cfg.OPTIM.LR, cfg.MODEL.BACKBONE.NAME)
    ours = (job.n_ctx, job.ctx_init, job.depth, job.lr, job.backbone)
    assert theirs == ours, f"the authors' config {theirs} differs from the benchmark's setting {ours}"
