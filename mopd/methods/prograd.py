"""ProGrad: prompt-aligned gradient (Zhu, Niu, Han, Wu, Zhang; ICCV 2023, arXiv 2205.14865).

ProGrad trains a CoOp prompt with cross-entropy but only along directions that do not
contradict the zero-shot CLIP prediction. Two losses are differentiated separately:
the cross-entropy (gradient g_ce) and a distillation loss towards the zero-shot logits
(gradient g_kl). Behaviour follows the reference code (BeierZhu/Prompt-align):

- `ProGrad.public/trainers/prograd.py` lines 285-293 (`ProGradLoss.forward`): the
  "KL" term is the soft-target cross-entropy
  -sum_c softmax(z_zs / T)_c * log_softmax(z / T)_c * T^2, averaged over the batch. It
  equals KL(p_zs || p) * T^2 plus the zero-shot entropy (a constant), so its gradient
  is exactly the KL gradient while its logged value is larger by that entropy. It is
  computed here in fp32 whatever the logits' dtype.
- `engine/trainer.py` of the forked Dassl.ProGrad.pytorch, lines 311-350
  (`prograd_backward_and_update`): for each parameter tensor separately (not one global
  vector) the flattened gradients are compared; if g_ce . g_kl < 0 the update is
  g_ce - lambda * (g_ce . g_kl / ||g_kl||^2) * g_kl, otherwise g_ce unchanged. A zero
  g_ce or g_kl leaves g_ce unchanged (the reference's NaN cosine fails the `< 0` test).
  lambda = 1 removes the conflicting component completely (LOSS.LAMBDA, 1.0 by default;
  0.8 for 8/16 shots on Flowers102, DTD and EuroSAT per the ProGrad README).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor
from torch.nn import functional as F


def prograd_kl_loss(student_logits: Tensor, zero_shot_logits: Tensor, temperature: float = 1.0) -> Tensor:
    """Return ProGrad's distillation loss towards the zero-shot logits, a scalar.

    Computes mean_b -sum_c softmax(z_zs[b] / T)_c * log_softmax(z[b] / T)_c * T^2, as the
    reference code does (KL plus the constant zero-shot entropy, same gradient as KL).

    Args:
        student_logits: (B, C) logits of the learnable prompt.
        zero_shot_logits: (B, C) logits of zero-shot CLIP; treated as constants.
        temperature: T > 0 (published 1.0).
    """
    if temperature <= 0:
        raise ValueError(f"ProGrad temperature must be > 0, got {temperature}; the published value is 1.0")
    if student_logits.shape != zero_shot_logits.shape:
        raise ValueError(
            f"prograd_kl_loss needs logits of the same shape (B, C), got student "
            f"{tuple(student_logits.shape)} and zero-shot {tuple(zero_shot_logits.shape)}"
        )
    target = F.softmax(zero_shot_logits.detach().float() / temperature, dim=-1)
    log_prob = F.log_softmax(student_logits.float() / temperature, dim=-1)
    return -(target * log_prob).sum(dim=-1).mean() * temperature**2


def project_gradient(g_ce: Tensor, g_kl: Tensor, lambda_: float = 1.0) -> Tensor:
    """Return g_ce with lambda times its component against g_kl removed when they conflict.

    Both tensors are one parameter's gradients (any shape, treated as flat vectors). If
    g_ce . g_kl >= 0 the result is g_ce; otherwise g_ce - lambda * (g_ce . g_kl / ||g_kl||^2) g_kl.
    The rule is linear in g_ce and invariant to the scale of g_kl, so gradients of losses
    scaled by one common factor (an AMP GradScaler) project to the same scaled result.
    """
    if lambda_ < 0:
        raise ValueError(f"ProGrad lambda must be >= 0, got {lambda_}; the published values are 1.0 and 0.8")
    if g_ce.shape != g_kl.shape:
        raise ValueError(
            f"project_gradient needs gradients of one parameter, got shapes "
            f"{tuple(g_ce.shape)} and {tuple(g_kl.shape)}"
        )
    # fp32 reductions: fp16 dot products over a whole context tensor can overflow.
    ce = g_ce.float().flatten()
    kl = g_kl.float().flatten()
    dot = torch.dot(ce, kl)
    # torch.where instead of `if dot < 0` keeps the step free of a host-device sync.
    coefficient = torch.where(dot < 0, lambda_ * dot / kl.square().sum().clamp_min(1e-30), 0.0)
    return (ce - coefficient * kl).view_as(g_ce).to(g_ce.dtype)


def project_gradients(
    ce_grads: Sequence[Tensor], kl_grads: Sequence[Tensor], lambda_: float = 1.0
) -> list[Tensor]:
    """Apply `project_gradient` to each parameter's pair of gradients separately."""
    if len(ce_grads) != len(kl_grads):
        raise ValueError(
            f"project_gradients needs one g_kl per g_ce, got {len(ce_grads)} and {len(kl_grads)}"
        )
    return [project_gradient(ce, kl, lambda_) for ce, kl in zip(ce_grads, kl_grads)]


def prograd_backward(
    ce_loss: Tensor, kl_loss: Tensor, parameters: Iterable[Tensor], lambda_: float = 1.0
) -> None:
    """Differentiate both losses and accumulate the projected g_ce into each parameter's .grad.

    A drop-in for `ce_loss.backward()` in a training step: zero the gradients before and
    step the optimizer after, as usual. Parameters with requires_grad=False are skipped; a
    parameter one loss does not reach gets a zero gradient for that loss. The losses may
    be scaled by the same factor (AMP), see `project_gradient`.
    """
    params = [p for p in parameters if p.requires_grad]
    if not params:
        raise ValueError("prograd_backward got no parameter with requires_grad=True; pass the prompt learner's parameters")
    kl_grads = torch.autograd.grad(kl_loss, params, retain_graph=True, allow_unused=True)
    ce_grads = torch.autograd.grad(ce_loss, params, allow_unused=True)
    for param, g_ce, g_kl in zip(params, ce_grads, kl_grads):
        if g_ce is None:
            continue  # projecting a zero g_ce gives zero: nothing to add
        update = g_ce if g_kl is None else project_gradient(g_ce, g_kl, lambda_)
        if param.grad is None:
            param.grad = update
        else:
            param.grad += update
