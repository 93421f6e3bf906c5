"""Run-time patches that let the authors' unchanged code run here (CPU, fp32); each changes no number of theirs.

Shared by the fidelity harness (`authors_side.py`) and the speed benchmark against the authors
(`../authors_maple.py`, `../authors_promptsrc.py`). Import only in a process that runs the authors' code.
"""
from __future__ import annotations

import torch


def run_cuda_calls_on_the_cpu() -> None:
    """`.cuda()` of tensors and modules returns them unmoved (PromptSRC calls it unconditionally)."""
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    torch.nn.Module.cuda = lambda self, *args, **kwargs: self


def keep_maple_projection_fp32(learner_class: type) -> None:
    """MaPLe in fp32: `proj` back to CLIP's fp32 after their `__init__` casts it to fp16 in every precision.

    A deviation (their MaPLe crashes in fp32 without it); the initial values stay the fp16-rounded draws.
    """
    original_init = learner_class.__init__

    def init(self, cfg, classnames, clip_model) -> None:
        original_init(self, cfg, classnames, clip_model)
        if clip_model.dtype == torch.float32:
            self.proj.float()

    learner_class.__init__ = init


class _Fp32Features(torch.Tensor):
    """A tensor whose `.half()` keeps fp32."""

    def half(self, *args, **kwargs):
        return self.float()


def keep_promptsrc_teacher_fp32(learner_class: type) -> None:
    """PromptSRC in fp32: their image teacher (a separate fp16 CLIP image tower) cast to fp32, and their teacher
    class features kept fp32 where their forward casts them to fp16 (fp32 images against fp16 features fail).

    A deviation (their PromptSRC crashes in fp32 otherwise); in fp32 the teacher computes what it would in fp16
    up to the precision.
    """
    original_init = learner_class.__init__

    def init(self, cfg, classnames, clip_model) -> None:
        original_init(self, cfg, classnames, clip_model)
        if clip_model.dtype == torch.float32:
            self.ZS_image_encoder.float()
            self.fixed_embeddings = self.fixed_embeddings.as_subclass(_Fp32Features)

    learner_class.__init__ = init
