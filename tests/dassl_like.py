"""Checkpoints as the CoOp-family repositories write them with Dassl: pickled scheduler and optimizer objects.

Dassl's `save_checkpoint` stores `scheduler.state_dict()` of its warm-up scheduler, which holds the
successor `CosineAnnealingLR` object (and through it the SGD optimizer) as pickled objects. The
warm-up class is a stand-in with Dassl's module and class name, importable only while saving.
"""
from __future__ import annotations

import contextlib
import sys
import types
from typing import Iterator

import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, LRScheduler

DASSL_SCHEDULER_MODULE = "dassl.optim.lr_scheduler"


class ConstantWarmupScheduler(LRScheduler):
    """Stand-in for Dassl's warm-up scheduler: a constant lr for `warmup_epoch` epochs, then `successor`."""

    def __init__(self, optimizer, successor, warmup_epoch, cons_lr, last_epoch=-1):
        self.successor = successor
        self.warmup_epoch = warmup_epoch
        self.cons_lr = cons_lr
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch >= self.warmup_epoch:
            return self.successor.get_last_lr()
        return [self.cons_lr for _ in self.base_lrs]

    def step(self, epoch=None):
        if self.last_epoch >= self.warmup_epoch:
            self.successor.step(epoch)
            self._last_lr = self.successor.get_last_lr()
        else:
            super().step(epoch)


ConstantWarmupScheduler.__module__ = DASSL_SCHEDULER_MODULE


@contextlib.contextmanager
def dassl_scheduler_module() -> Iterator[None]:
    """Make `dassl.optim.lr_scheduler.ConstantWarmupScheduler` importable (pickle checks it), then restore."""
    names = ["dassl", "dassl.optim", DASSL_SCHEDULER_MODULE]
    saved = {name: sys.modules.get(name) for name in names}
    fakes = {name: types.ModuleType(name) for name in names}
    fakes[DASSL_SCHEDULER_MODULE].ConstantWarmupScheduler = ConstantWarmupScheduler
    sys.modules.update(fakes)
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                del sys.modules[name]
            else:
                sys.modules[name] = module


def dassl_checkpoint(state_dict: dict[str, torch.Tensor], epoch: int, max_epoch: int = 10) -> dict:
    """The dict Dassl saves after `epoch` epochs of SGD with a constant warm-up before a cosine schedule."""
    params = [torch.nn.Parameter(value.detach().clone().float()) for value in state_dict.values()]
    optimizer = torch.optim.SGD(params, lr=0.002, momentum=0.9)
    scheduler = ConstantWarmupScheduler(optimizer, CosineAnnealingLR(optimizer, float(max_epoch)), 1, 1e-5)
    for _ in range(epoch):
        sum(p.sum() for p in params).backward()
        optimizer.step()
        scheduler.step()
    return {
        "state_dict": dict(state_dict),
        "epoch": epoch,
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "val_result": None,
    }


def save_dassl_checkpoint(path: str, state_dict: dict[str, torch.Tensor], epoch: int) -> None:
    """Write `dassl_checkpoint(state_dict, epoch)` to `path` as torch.save does under Dassl."""
    with dassl_scheduler_module():
        torch.save(dassl_checkpoint(state_dict, epoch), path)
