"""Non-finite learned parameters in state dicts and checkpoint folders, against a plain loop over the values."""
import math
import os

import pytest
import torch

from mopd.engine.checkpoint import save_checkpoint
from mopd.engine.finite import check_finite_state_dict, last_finite_checkpoint, nonfinite_entries


def _count_by_loop(tensor: torch.Tensor) -> int:
    return sum(1 for v in tensor.flatten().tolist() if math.isnan(v) or math.isinf(v))


def test_nonfinite_entries_counts_nan_and_inf_per_floating_entry_and_ignores_integers():
    ctx = torch.randn(4, 8)
    ctx[1, 2], ctx[3, 0], ctx[3, 7] = float("nan"), float("inf"), -float("inf")
    state = {"ctx": ctx, "gate.weight": torch.zeros(8, 3), "steps": torch.tensor([7]), "half": ctx.half()}
    assert nonfinite_entries(state) == {"ctx": _count_by_loop(ctx), "half": _count_by_loop(ctx.half().float())}


def _save(directory: str, epoch: int, value: float) -> None:
    state = {"state_dict": {"ctx": torch.full((2, 3), value)}, "epoch": epoch, "optimizer": None, "scheduler": None}
    save_checkpoint(state, directory, model_name=f"model.pth.tar-{epoch}")


def test_last_finite_checkpoint_goes_back_past_every_poisoned_epoch(tmp_path):
    directory = str(tmp_path / "prompt_learner")
    for epoch, value in ((1, 0.5), (2, 1.5), (3, float("nan")), (4, float("inf"))):
        _save(directory, epoch, value)
    assert last_finite_checkpoint(directory) == os.path.join(directory, "model.pth.tar-2")
    assert last_finite_checkpoint(directory, before="model.pth.tar-2") == os.path.join(directory, "model.pth.tar-1")
    with pytest.raises(FloatingPointError, match=r"model.pth.tar-4 holds non-finite learned parameters: ctx \(6 values\)"):
        check_finite_state_dict({"ctx": torch.full((2, 3), float("inf"))}, os.path.join(directory, "model.pth.tar-4"),
                                "resume")
