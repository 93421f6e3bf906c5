"""MoPD losses: cross-entropy, mixture-of-prompts distillation (MPD) and selection (MPS), METHOD.md step 7.

Every term is computed in fp32, whatever the dtype of the logits. Teacher logits are constants:
the student gets gradient from CE and MPD, the gate (through its weights a) from MPD and MPS.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor


class MoPDLossTerms(NamedTuple):
    """The three scalar loss terms of one MoPD step."""

    ce: Tensor
    mpd: Tensor
    mps: Tensor


def _selected_teacher_logits(teacher_logits: Tensor, gate_indices: Tensor) -> Tensor:
    """Gather z_t[j[b, i]][b] for every image b and selected prompt i: (P, B, C) -> (B, k, C), detached, fp32."""
    batch = torch.arange(gate_indices.shape[0], device=gate_indices.device)
    return teacher_logits.detach()[gate_indices, batch[:, None]].float()


def mixture_distillation_loss(
    student_logits: Tensor,
    teacher_logits: Tensor,
    gate_weights: Tensor,
    gate_indices: Tensor,
    temperature: float,
) -> Tensor:
    """L_MPD = mean_b sum_i a[b, i] * tau^2 * KL(softmax(z_t[p][b] / tau) || softmax(z_s[b] / tau)).

    Args:
        student_logits: z_s, (B, C).
        teacher_logits: z_t, (P, B, C); detached here.
        gate_weights: a, (B, k).
        gate_indices: j, (B, k), the prompt p of each weight.
        temperature: tau > 0.
    """
    if temperature <= 0:
        raise ValueError(f"temperature={temperature} must be positive")
    log_p_teacher = F.log_softmax(_selected_teacher_logits(teacher_logits, gate_indices) / temperature, dim=-1)
    log_q_student = F.log_softmax(student_logits.float() / temperature, dim=-1)  # (B, C)
    kl = (log_p_teacher.exp() * (log_p_teacher - log_q_student[:, None, :])).sum(dim=-1)  # (B, k)
    return temperature**2 * (gate_weights.float() * kl).sum(dim=1).mean()


def mixture_selection_loss(
    teacher_logits: Tensor, labels: Tensor, gate_weights: Tensor, gate_indices: Tensor
) -> Tensor:
    """L_MPS = mean_b sum_i a[b, i] * CE(z_t[j[b, i]][b], y_b): rewards the gate for teachers that are right."""
    selected = _selected_teacher_logits(teacher_logits, gate_indices)  # (B, k, C)
    batch, top_k, num_classes = selected.shape
    ce = F.cross_entropy(
        selected.reshape(batch * top_k, num_classes), labels.repeat_interleave(top_k), reduction="none"
    ).view(batch, top_k)
    return (gate_weights.float() * ce).sum(dim=1).mean()


def mopd_loss_terms(
    student_logits: Tensor,
    teacher_logits: Tensor,
    labels: Tensor,
    gate_weights: Tensor,
    gate_indices: Tensor,
    temperature: float,
) -> MoPDLossTerms:
    """Compute L_CE, L_MPD and L_MPS from student logits (B, C), teacher logits (P, B, C) and the gate output (B, k)."""
    assert teacher_logits.dim() == 3 and teacher_logits.shape[1:] == student_logits.shape, (
        f"teacher logits {tuple(teacher_logits.shape)} do not match student logits {tuple(student_logits.shape)}"
    )
    assert gate_weights.shape == gate_indices.shape and gate_weights.shape[0] == student_logits.shape[0], (
        f"gate weights {tuple(gate_weights.shape)} / indices {tuple(gate_indices.shape)} do not match "
        f"batch size {student_logits.shape[0]}"
    )
    return MoPDLossTerms(
        ce=F.cross_entropy(student_logits.float(), labels),
        mpd=mixture_distillation_loss(student_logits, teacher_logits, gate_weights, gate_indices, temperature),
        mps=mixture_selection_loss(teacher_logits, labels, gate_weights, gate_indices),
    )


def mopd_total_loss(terms: MoPDLossTerms, w: float, w2: float) -> Tensor:
    """L = w * L_CE + (1 - w) * L_MPD + w2 * L_MPS."""
    return w * terms.ce + (1 - w) * terms.mpd + w2 * terms.mps


def prompt_selection_counts(gate_indices: Tensor, num_prompts: int) -> Tensor:
    """How often each of the P teacher prompts was selected in `gate_indices` (B, k): a (P,) long tensor."""
    return torch.bincount(gate_indices.flatten(), minlength=num_prompts)
