"""Tests for mopd.engine.lr_scheduler: Dassl's per-epoch lr sequences and weights_only-safe state."""
import math

import pytest
import torch

from mopd.engine.defaults import get_cfg_default
from mopd.engine.lr_scheduler import build_lr_scheduler

LR = 0.002


def _optim_cfg(**overrides):
    cfg = get_cfg_default().OPTIM
    cfg.LR = LR
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return cfg


def _make(optim_cfg):
    param = torch.nn.Parameter(torch.zeros(2))
    optimizer = torch.optim.SGD([param], lr=optim_cfg.LR, momentum=0.9)
    return optimizer, build_lr_scheduler(optimizer, optim_cfg)


def _run_epochs(optimizer, scheduler, n):
    """Return the lr used in each of `n` epochs, stepping the scheduler at each epoch end."""
    lrs = []
    for _ in range(n):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return lrs


def _cos(e, t):
    return LR * (1 + math.cos(math.pi * e / t)) / 2


def test_cosine_with_constant_warmup_follows_dassl_sequence():
    cfg = _optim_cfg(LR_SCHEDULER="cosine", MAX_EPOCH=5, WARMUP_EPOCH=1, WARMUP_TYPE="constant", WARMUP_CONS_LR=1e-5)
    lrs = _run_epochs(*_make(cfg), 5)
    # Dassl: warm-up epoch at the constant lr, then the cosine restarts at its epoch 0 (period MAX_EPOCH).
    expected = [1e-5, LR, _cos(1, 5), _cos(2, 5), _cos(3, 5)]
    assert lrs == pytest.approx(expected, rel=1e-12)


def test_cosine_with_linear_warmup_ramps_from_min_lr():
    cfg = _optim_cfg(LR_SCHEDULER="cosine", MAX_EPOCH=6, WARMUP_EPOCH=2, WARMUP_TYPE="linear", WARMUP_MIN_LR=1e-5)
    lrs = _run_epochs(*_make(cfg), 6)
    expected = [1e-5, LR * 1 / 2, LR, _cos(1, 6), _cos(2, 6), _cos(3, 6)]
    assert lrs == pytest.approx(expected, rel=1e-12)


def test_warmup_without_recount_continues_cosine_from_the_warmup_epoch():
    cfg = _optim_cfg(
        LR_SCHEDULER="cosine", MAX_EPOCH=5, WARMUP_EPOCH=1, WARMUP_TYPE="constant", WARMUP_RECOUNT=False
    )
    lrs = _run_epochs(*_make(cfg), 5)
    # torch's recursive cosine restarted from LR at epoch 1 gives LR * (1+cos(e*pi/T)) / (1+cos(pi/T)).
    ratio = [(1 + math.cos(math.pi * e / 5)) / (1 + math.cos(math.pi / 5)) for e in (2, 3, 4)]
    assert lrs == pytest.approx([1e-5, LR] + [LR * r for r in ratio], rel=1e-12)


def test_single_step_decays_once_at_stepsize():
    cfg = _optim_cfg(LR_SCHEDULER="single_step", MAX_EPOCH=5, STEPSIZE=(2,), GAMMA=0.1)
    lrs = _run_epochs(*_make(cfg), 5)
    assert lrs == pytest.approx([LR, LR, LR * 0.1, LR * 0.1, LR * 0.01], rel=1e-12)


def test_single_step_with_nonpositive_stepsize_decays_after_max_epoch():
    cfg = _optim_cfg(LR_SCHEDULER="single_step", MAX_EPOCH=3, STEPSIZE=(-1,), GAMMA=0.5)
    assert _run_epochs(*_make(cfg), 4) == pytest.approx([LR, LR, LR, LR * 0.5], rel=1e-12)


def test_multi_step_decays_at_each_milestone():
    cfg = _optim_cfg(LR_SCHEDULER="multi_step", MAX_EPOCH=5, STEPSIZE=(1, 3), GAMMA=0.1)
    lrs = _run_epochs(*_make(cfg), 5)
    assert lrs == pytest.approx([LR, LR * 0.1, LR * 0.1, LR * 0.01, LR * 0.01], rel=1e-12)


def _assert_plain(value, path="state"):
    if isinstance(value, dict):
        for key, item in value.items():
            _assert_plain(item, f"{path}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _assert_plain(item, f"{path}[{i}]")
    else:
        assert value is None or isinstance(value, (bool, int, float, str, torch.Tensor)), (path, type(value))


@pytest.mark.parametrize(
    "overrides",
    [
        dict(LR_SCHEDULER="cosine", MAX_EPOCH=6, WARMUP_EPOCH=2, WARMUP_TYPE="linear"),
        dict(LR_SCHEDULER="cosine", MAX_EPOCH=6, WARMUP_EPOCH=1, WARMUP_TYPE="constant"),
        dict(LR_SCHEDULER="multi_step", MAX_EPOCH=6, STEPSIZE=(2, 4)),
    ],
)
def test_state_round_trips_through_weights_only_load_and_continues_sequence(tmp_path, overrides):
    cfg = _optim_cfg(**overrides)
    reference = _run_epochs(*_make(cfg), 6)

    optimizer, scheduler = _make(cfg)
    first = _run_epochs(optimizer, scheduler, 3)
    _assert_plain(scheduler.state_dict())
    path = tmp_path / "state.pth"
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, path)

    state = torch.load(path, weights_only=True)
    optimizer2, scheduler2 = _make(cfg)
    optimizer2.load_state_dict(state["optimizer"])
    scheduler2.load_state_dict(state["scheduler"])
    rest = _run_epochs(optimizer2, scheduler2, 3)
    assert first + rest == pytest.approx(reference, rel=1e-12)


def test_unknown_scheduler_name_lists_valid_names():
    with pytest.raises(ValueError, match="cosine") as info:
        _make(_optim_cfg(LR_SCHEDULER="cosin"))
    assert "single_step" in str(info.value) and "'cosin'" in str(info.value)


def test_unknown_warmup_type_raises_value_error():
    with pytest.raises(ValueError, match="WARMUP_TYPE"):
        _make(_optim_cfg(LR_SCHEDULER="cosine", WARMUP_EPOCH=1, WARMUP_TYPE="exp"))
