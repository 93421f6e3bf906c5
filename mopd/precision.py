"""Numeric precision of a training step: fp16 (CLIP's weights), fp32, or amp (autocast)."""
from __future__ import annotations

import contextlib
from typing import ContextManager, Literal

import torch
from torch import nn

Precision = Literal["fp16", "fp32", "amp"]
PRECISIONS: tuple[str, ...] = ("fp16", "fp32", "amp")


class PrecisionPolicy:
    """One place for the precision branches every trainer shares.

    amp keeps fp32 master weights and autocasts the forward pass: fp16 with a gradient scaler on
    CUDA, bf16 (no scaler needed) on the CPU.
    """

    def __init__(self, prec: Precision, device: torch.device) -> None:
        assert prec in PRECISIONS, prec  # validated by check_coop_cfg
        self.prec = prec
        self.device = device
        self.autocast_dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
        use_scaler = prec == "amp" and self.autocast_dtype == torch.float16
        self.scaler = torch.amp.GradScaler(device.type) if use_scaler else None

    def prepare(self, clip_model: nn.Module) -> nn.Module:
        """Cast CLIP to the precision of the run (its released weights are fp16)."""
        return clip_model.float() if self.prec in ("fp32", "amp") else clip_model

    def autocast(self) -> ContextManager:
        """Autocast context for amp, a no-op otherwise."""
        if self.prec != "amp":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def scale(self, loss: torch.Tensor) -> torch.Tensor:
        """The loss to back-propagate: multiplied by the gradient scaler's factor when there is one."""
        return loss if self.scaler is None else self.scaler.scale(loss)

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """Step `optimizer` on the (possibly scaled) gradients."""
        if self.scaler is None:
            optimizer.step()
            return
        self.scaler.step(optimizer)
        self.scaler.update()
