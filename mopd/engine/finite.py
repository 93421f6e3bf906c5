"""Learned parameters that are NaN or infinite: found in a state dict or a model, and the last checkpoint without them.

A prompt with a non-finite value gives chance-level predictions that look like a result; wherever a
checkpoint is loaded or a result is about to be recorded, such a model stops the command instead.
"""
from __future__ import annotations

import os.path as osp
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from mopd.engine.checkpoint import BEST_FILE, LATEST_FILE, available_checkpoints, load_checkpoint
from mopd.engine.checkpoint_meta import Purpose


def nonfinite_entries(state_dict: Mapping[str, Any]) -> dict[str, int]:
    """Floating-point entries of `state_dict` holding NaN or inf values, with how many values are non-finite."""
    counts = {}
    for name, value in state_dict.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            bad = int((~torch.isfinite(value)).sum())
            if bad:
                counts[name] = bad
    return counts


def nonfinite_parameters(model: nn.Module) -> dict[str, int]:
    """The parameters and buffers of `model` holding NaN or inf values (see `nonfinite_entries`)."""
    with torch.no_grad():
        return nonfinite_entries(model.state_dict())


def describe_entries(counts: Mapping[str, int]) -> str:
    """`ctx (3 values), gate.weight (1 value)`."""
    return ", ".join(f"{name} ({n} value{'s' if n > 1 else ''})" for name, n in counts.items())


def last_finite_checkpoint(model_dir: str, before: str = "") -> str | None:
    """The latest epoch checkpoint in `model_dir` (earlier than the file `before`, if given) whose entries are all finite."""
    names = [name for name in available_checkpoints(model_dir) if name != BEST_FILE]
    if before in names:
        names = names[: names.index(before)]
    for name in reversed(names):
        try:
            checkpoint = load_checkpoint(osp.join(model_dir, name))
        except ValueError:  # unreadable: not a checkpoint to go back to
            continue
        if not nonfinite_entries(checkpoint.get("state_dict", {})):
            return osp.join(model_dir, name)
    return None


def way_back(model_dir: str, purpose: Purpose, before: str = "") -> str:
    """What to do about a non-finite model in `model_dir`: the checkpoint to resume or evaluate instead, if any."""
    good = last_finite_checkpoint(model_dir, before)
    if good is None:
        return ("no earlier checkpoint there has finite parameters: train again in a new --output-dir, with a lower "
                "OPTIM.LR or TRAINER.COOP.PREC fp32 or amp")
    name = osp.basename(good)
    if purpose == "evaluate":
        return f"the last checkpoint with finite parameters is {good}: evaluate it with --load-epoch {name.rsplit('-', 1)[-1]}"
    return (f"the last checkpoint with finite parameters is {good}: to resume from it, write {name} into "
            f"{osp.join(model_dir, LATEST_FILE)} and run the same command again")


def check_finite_state_dict(state_dict: Mapping[str, Any], fpath: str, purpose: Purpose) -> None:
    """Raise FloatingPointError naming `fpath` and the way back when `state_dict` holds NaN or inf."""
    counts = nonfinite_entries(state_dict)
    if counts:
        raise FloatingPointError(
            f"the checkpoint {fpath} holds non-finite learned parameters: {describe_entries(counts)}; "
            f"{way_back(osp.dirname(fpath), purpose, before=osp.basename(fpath))}"
        )
