"""CLIP in the run's precision and the optimizer step under it, for every trainer (`TRAINER.COOP.PREC`)."""
from __future__ import annotations

from functools import cached_property

import torch
from torch import nn

from mopd.clip.loading import build_clip
from mopd.clip.precision import NonFiniteGuard, PrecisionPolicy


class PrecisionStepMixin:
    """`build_clip_in_precision` sets `self.precision`; `backward_and_update` steps under it, skipping non-finite losses."""

    def build_clip_in_precision(self) -> nn.Module:
        """Set the run's precision policy (`self.precision`) and return CLIP, on the CPU, cast to it."""
        coop = self.cfg.TRAINER.COOP
        self.precision = PrecisionPolicy(coop.PREC, self.device, coop.AMP_DTYPE)
        return self.precision.prepare(build_clip(self.cfg))

    @cached_property
    def nonfinite_guard(self) -> NonFiniteGuard:
        """Counts NaN/inf losses in a row; the run stops after `TRAINER.COOP.MAX_NONFINITE_STEPS`."""
        return NonFiniteGuard(self.cfg.TRAINER.COOP.MAX_NONFINITE_STEPS)

    def backward_and_update(self, losses: dict[str, torch.Tensor]) -> None:
        """Back-propagate the total loss and step the optimizer under the precision policy."""
        if not self.loss_allows_update(losses["loss"]):
            return
        self.model_zero_grad()
        self.precision.scale(losses["loss"]).backward()
        self.precision.step(self.optim)

    def loss_allows_update(self, loss: torch.Tensor) -> bool:
        """False for a NaN/inf loss: the step is skipped with a warning (and the run stops if it persists)."""
        where = f"epoch {self.epoch + 1} batch {self.batch_idx + 1}"
        return self.nonfinite_guard.allows_update(loss, where)
