"""Per-epoch lr schedulers reproducing Dassl 0.6.3's `build_lr_scheduler` exactly.

Used by both backends. Differences from Dassl's own code, both for current torch: no `verbose`
argument is passed to torch's schedulers, and every `state_dict()` holds only numbers, lists and
dicts (the warm-up scheduler nests its successor's state instead of pickling the successor), so
checkpoints load with `torch.load(weights_only=True)`.

Dassl's warm-up semantics: during epochs [0, WARMUP_EPOCH) the lr is WARMUP_CONS_LR (constant) or
WARMUP_MIN_LR then LR * e / WARMUP_EPOCH (linear); afterwards the wrapped schedule takes over,
starting from its epoch 0 (WARMUP_RECOUNT) or from epoch WARMUP_EPOCH.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from torch.optim import Optimizer
from torch.optim.lr_scheduler import CosineAnnealingLR, LRScheduler, MultiStepLR, StepLR
from yacs.config import CfgNode

AVAI_SCHEDS = ("single_step", "multi_step", "cosine")
AVAI_WARMUP_TYPES = ("constant", "linear")


class PlainMultiStepLR(MultiStepLR):
    """torch's MultiStepLR whose state keeps the milestones as a plain dict, not a Counter."""

    def state_dict(self) -> dict[str, Any]:
        """Return the scheduler state with `milestones` as a dict."""
        state = super().state_dict()
        state["milestones"] = dict(state["milestones"])
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state written by `state_dict`."""
        super().load_state_dict({**state_dict, "milestones": Counter(state_dict["milestones"])})


class WarmupScheduler(LRScheduler):
    """Runs a warm-up for `warmup_epoch` steps, then hands every step to `successor`."""

    def __init__(
        self,
        optimizer: Optimizer,
        successor: LRScheduler,
        warmup_epoch: int,
        warmup_type: Literal["constant", "linear"],
        warmup_lr: float,
    ) -> None:
        self.successor = successor
        self.warmup_epoch = warmup_epoch
        self.warmup_type = warmup_type
        self.warmup_lr = warmup_lr  # WARMUP_CONS_LR (constant) or WARMUP_MIN_LR (linear)
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        """Return the warm-up lrs for `last_epoch` (the successor's last lrs once warm-up ends)."""
        if self.last_epoch >= self.warmup_epoch:
            return list(self.successor.get_last_lr())
        if self.warmup_type == "constant" or self.last_epoch == 0:
            return [self.warmup_lr for _ in self.base_lrs]
        return [base_lr * self.last_epoch / self.warmup_epoch for base_lr in self.base_lrs]

    def step(self) -> None:  # type: ignore[override]
        """Advance one epoch: warm-up step, or a successor step once warm-up has ended."""
        if self.last_epoch >= self.warmup_epoch:
            self.successor.step()
            self._last_lr = list(self.successor.get_last_lr())
        else:
            super().step()

    def state_dict(self) -> dict[str, Any]:
        """Return plain state: own fields plus the successor's state under "successor"."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "successor")}
        state["successor"] = self.successor.state_dict()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state written by `state_dict`."""
        own = {k: v for k, v in state_dict.items() if k != "successor"}
        self.__dict__.update(own)
        self.successor.load_state_dict(state_dict["successor"])


def _single_step_size(stepsize: Any, max_epoch: int) -> int:
    if isinstance(stepsize, (list, tuple)):
        stepsize = stepsize[-1]
    if not isinstance(stepsize, int):
        raise ValueError(
            f"OPTIM.STEPSIZE for single_step must be an int or a list ending in one, got {stepsize!r}"
        )
    return max_epoch if stepsize <= 0 else stepsize


def build_lr_scheduler(optimizer: Optimizer, optim_cfg: CfgNode) -> LRScheduler:
    """Build the per-epoch scheduler described by `optim_cfg` (Dassl's OPTIM node)."""
    name = optim_cfg.LR_SCHEDULER
    max_epoch = optim_cfg.MAX_EPOCH
    if name not in AVAI_SCHEDS:
        raise ValueError(f"OPTIM.LR_SCHEDULER must be one of {list(AVAI_SCHEDS)}, got {name!r}")

    scheduler: LRScheduler
    if name == "single_step":
        step_size = _single_step_size(optim_cfg.STEPSIZE, max_epoch)
        scheduler = StepLR(optimizer, step_size=step_size, gamma=optim_cfg.GAMMA)
    elif name == "multi_step":
        if not isinstance(optim_cfg.STEPSIZE, (list, tuple)):
            raise ValueError(
                f"OPTIM.STEPSIZE for multi_step must be a list of epochs, got {optim_cfg.STEPSIZE!r}"
            )
        scheduler = PlainMultiStepLR(optimizer, milestones=list(optim_cfg.STEPSIZE), gamma=optim_cfg.GAMMA)
    else:
        scheduler = CosineAnnealingLR(optimizer, T_max=float(max_epoch))

    if optim_cfg.WARMUP_EPOCH > 0:
        warmup_type = optim_cfg.WARMUP_TYPE
        if warmup_type not in AVAI_WARMUP_TYPES:
            raise ValueError(
                f"OPTIM.WARMUP_TYPE must be one of {list(AVAI_WARMUP_TYPES)}, got {warmup_type!r}"
            )
        if not optim_cfg.WARMUP_RECOUNT:
            scheduler.last_epoch = optim_cfg.WARMUP_EPOCH
        warmup_lr = optim_cfg.WARMUP_CONS_LR if warmup_type == "constant" else optim_cfg.WARMUP_MIN_LR
        scheduler = WarmupScheduler(optimizer, scheduler, optim_cfg.WARMUP_EPOCH, warmup_type, warmup_lr)
    return scheduler
