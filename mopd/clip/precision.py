"""Numeric precision of a training step: fp16 (CLIP's weights), fp32, or amp (autocast)."""
from __future__ import annotations

import contextlib
import logging
from typing import ContextManager, Literal

import torch
from torch import nn

logger = logging.getLogger(__name__)

Precision = Literal["fp16", "fp32", "amp"]
PRECISIONS: tuple[str, ...] = ("fp16", "fp32", "amp")
AmpDtype = Literal["auto", "fp16", "bf16"]
AMP_DTYPES: tuple[str, ...] = ("auto", "fp16", "bf16")
_AUTOCAST_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}
_ADVICE = "lower OPTIM.LR, or train with TRAINER.COOP.PREC fp32 or amp"


class PrecisionPolicy:
    """One place for the precision branches every trainer shares.

    amp keeps fp32 master weights and autocasts the forward pass to `amp_dtype`: fp16 (with a
    gradient scaler) or bf16 (no scaler needed); "auto" is fp16 on CUDA and bf16 on the CPU.
    """

    def __init__(self, prec: Precision, device: torch.device, amp_dtype: AmpDtype = "auto") -> None:
        assert prec in PRECISIONS and amp_dtype in AMP_DTYPES, (prec, amp_dtype)  # validated by check_coop_cfg
        self.prec = prec
        self.device = device
        if amp_dtype == "auto":
            amp_dtype = "fp16" if device.type == "cuda" else "bf16"
        self.autocast_dtype = _AUTOCAST_DTYPES[amp_dtype]
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


class NonFiniteGuard:
    """Skips the update of a step whose loss is NaN or infinite; stops when that persists.

    A single bad batch (an fp16 overflow, say) then costs one step instead of corrupting the prompt.
    It persists when `max_consecutive` steps in a row are bad, or when a whole epoch has no finite
    step (so a run of one batch per epoch stops too).
    """

    def __init__(self, max_consecutive: int) -> None:
        self.max_consecutive = max_consecutive
        self.consecutive = 0
        self.epoch_steps = 0
        self.epoch_updates = 0

    def allows_update(self, loss: torch.Tensor, where: str) -> bool:
        """True when `loss` is finite; else warn (and raise after `max_consecutive` bad steps in a row)."""
        self.epoch_steps += 1
        if bool(torch.isfinite(loss).all()):
            self.consecutive = 0
            self.epoch_updates += 1
            return True
        self.consecutive += 1
        logger.warning("Non-finite loss (%s) at %s: update skipped", loss.item(), where)
        if self.consecutive >= self.max_consecutive:
            raise FloatingPointError(
                f"the loss was NaN or infinite for {self.consecutive} steps in a row (last at {where}); "
                f"{_ADVICE}"
            )
        return False

    def end_epoch(self, where: str) -> None:
        """Raise when no step of the epoch that ends had a finite loss; start counting the next epoch."""
        steps, updates = self.epoch_steps, self.epoch_updates
        self.epoch_steps = self.epoch_updates = 0
        if steps and not updates:
            raise FloatingPointError(
                f"every one of the {steps} steps of {where} had a NaN or infinite loss, so nothing was learned; {_ADVICE}"
            )
