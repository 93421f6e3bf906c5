"""Drive a Dassl-style trainer with saved batches and record what it does (shared by both sides; plain torch).

The trainer's own `train()` runs: its epochs, its `forward_backward`, its lr schedule, its checkpoints and
its final test. Only the loaders are replaced, by the saved batches of each epoch and the saved test batches,
because the two code bases draw their batches differently (loader seeds, per-epoch reseeding).
"""
from __future__ import annotations

import json
import sys

import torch


class EpochBatches:
    """A train loader giving the saved batches of the trainer's current epoch."""

    def __init__(self, epochs: list[list[dict]], trainer) -> None:
        self.epochs, self.trainer = epochs, trainer

    def __len__(self) -> int:
        return len(self.epochs[self.trainer.epoch])

    def __iter__(self):
        return iter(self.epochs[self.trainer.epoch])


class TestBatches(list):
    """A test loader: the saved test batches (`batch_size` is read by some evaluators)."""

    batch_size = 100


def read_spec() -> dict:
    """The run's settings, a JSON file named by the first command-line argument."""
    with open(sys.argv[1], encoding="utf-8") as f:
        return json.load(f)


def trainable(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Copies of the parameters that train (requires_grad), by name."""
    return {name: p.detach().clone().cpu() for name, p in model.named_parameters() if p.requires_grad}


LOSS_PARTS = ("ce", "kl", "text_l1", "image_l1")  # PromptSRC's, each as it enters the total


def record_steps(trainer, parts=None) -> list[dict]:
    """Wrap the trainer's `forward_backward` to log each step's epoch, batch, lr (before the step), loss and its parts.

    `parts(summary)` gives the step's loss parts; by default the `LOSS_PARTS` of the trainer's own summary.
    """
    steps: list[dict] = []
    step = trainer.forward_backward

    def recorded(batch):
        lr = trainer.get_current_lr()
        summary = step(batch)
        step_parts = parts(summary) if parts else {name: summary[name] for name in LOSS_PARTS if name in summary}
        steps.append({"epoch": trainer.epoch, "batch": trainer.batch_idx, "lr": lr, "loss": summary["loss"],
                      "parts": step_parts})
        return summary

    trainer.forward_backward = recorded
    return steps


def test_on(trainer, batches: list[dict]) -> float:
    """The trainer's own `test()` on the saved test batches; returns its accuracy (%)."""
    trainer.test_loader = TestBatches(batches)
    trainer.val_loader = None
    return float(trainer.test())


def train_on(trainer, batches: dict, model: torch.nn.Module, parts=None) -> dict:
    """Run `trainer.train()` on the saved batches; return steps, trainable parameters before and after, base accuracy."""
    trainer.train_loader_x = EpochBatches(batches["train"], trainer)
    trainer.test_loader = TestBatches(batches["test_base"])
    trainer.val_loader = None
    accuracies: list[float] = []
    test = trainer.test

    def recorded_test(*args, **kwargs):
        accuracies.append(float(test(*args, **kwargs)))
        return accuracies[-1]

    trainer.test = recorded_test
    initial = trainable(model)
    steps = record_steps(trainer, parts)
    trainer.train()
    return {"steps": steps, "initial": initial, "final": trainable(model), "acc_base": accuracies[-1]}
