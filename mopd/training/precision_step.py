"""CLIP in the run's precision and the optimizer step under it, for every trainer (`TRAINER.COOP.PREC`)."""
from __future__ import annotations

import os.path as osp
from functools import cached_property

import torch
from torch import nn

from mopd.clip.loading import build_clip
from mopd.clip.precision import NonFiniteGuard, PrecisionPolicy
from mopd.engine.finite import describe_entries, nonfinite_parameters, way_back


class PrecisionStepMixin:
    """`build_clip_in_precision` sets `self.precision`; `backward_and_update` steps under it.

    A NaN/inf loss skips its update; the run stops when that persists, and at once when the learned
    parameters themselves are no longer finite (nothing can recover them), naming the checkpoint to
    resume from. Before the final test, the learned parameters are checked again.
    """

    def build_clip_in_precision(self) -> nn.Module:
        """Set the run's precision policy (`self.precision`) and return CLIP, on the CPU, cast to it."""
        coop = self.cfg.TRAINER.COOP
        self.precision = PrecisionPolicy(coop.PREC, self.device, coop.AMP_DTYPE)
        return self.precision.prepare(build_clip(self.cfg))

    @cached_property
    def nonfinite_guard(self) -> NonFiniteGuard:
        """Counts NaN/inf losses in a row and per epoch (`TRAINER.COOP.MAX_NONFINITE_STEPS`)."""
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
        if not bool(torch.isfinite(loss).all()):
            self.check_learned_parameters(f"at {where}")
        return self.nonfinite_guard.allows_update(loss, where)

    def after_epoch(self) -> None:
        self.nonfinite_guard.end_epoch(f"epoch {self.epoch + 1}")
        super().after_epoch()

    def after_train(self) -> None:
        """Check the learned parameters before the final test prints a result and the run is recorded finished."""
        self.check_learned_parameters("at the end of training")
        super().after_train()

    def check_learned_parameters(self, when: str) -> None:
        """Raise FloatingPointError when a registered model holds NaN or inf, naming the checkpoint to go back to."""
        for name in self.get_model_names():
            counts = nonfinite_parameters(self._models[name])
            if counts:
                raise FloatingPointError(
                    f"the learned parameters of {name} are NaN or infinite {when}: {describe_entries(counts)}; "
                    f"{way_back(osp.join(self.output_dir, name), 'resume')}"
                )
