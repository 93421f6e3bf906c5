"""Tests for mopd.engine.optimizer.build_optimizer and the meters."""
import pytest
import torch
from torch import nn

from mopd.engine import AverageMeter, MetricMeter, count_num_param
from mopd.engine.defaults import get_cfg_default
from mopd.engine.optimizer import build_optimizer


def _optim_cfg(**overrides):
    cfg = get_cfg_default().OPTIM
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return cfg


def test_sgd_gets_dassl_hyperparameters():
    cfg = _optim_cfg(NAME="sgd", LR=0.1, MOMENTUM=0.8, WEIGHT_DECAY=1e-3, SGD_NESTEROV=True)
    optim = build_optimizer(nn.Linear(2, 2), cfg)
    group = optim.param_groups[0]
    assert isinstance(optim, torch.optim.SGD)
    assert (group["lr"], group["momentum"], group["weight_decay"], group["nesterov"]) == (0.1, 0.8, 1e-3, True)


@pytest.mark.parametrize(("name", "cls"), [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW),
                                           ("rmsprop", torch.optim.RMSprop)])
def test_adaptive_optimizers_use_configured_betas_or_alpha(name, cls):
    optim = build_optimizer(nn.Linear(2, 2), _optim_cfg(NAME=name, ADAM_BETA1=0.8, RMSPROP_ALPHA=0.9))
    assert isinstance(optim, cls)
    group = optim.param_groups[0]
    assert group["alpha"] == 0.9 if name == "rmsprop" else group["betas"] == (0.8, 0.999)


def test_param_groups_override_the_model_and_staged_lr_splits_layers():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 3))
    optim = build_optimizer(None, _optim_cfg(NAME="sgd"), param_groups=[{"params": model[1].parameters()}])
    assert count_num_param(params=optim.param_groups[0]["params"]) == 9
    staged = build_optimizer(model, _optim_cfg(NAME="sgd", LR=0.1, STAGED_LR=True, NEW_LAYERS=("1",)))
    assert [g["lr"] for g in staged.param_groups] == pytest.approx([0.01, 0.1])
    assert staged.param_groups[1]["params"][0] is model[1].weight


def test_unknown_optimizer_name_lists_valid_names():
    with pytest.raises(ValueError, match="adamw"):
        build_optimizer(nn.Linear(2, 2), _optim_cfg(NAME="adamm"))


def test_metric_meter_formats_latest_and_average():
    meter = MetricMeter()
    meter.update({"loss": torch.tensor(1.0), "acc": 50.0})
    meter.update({"loss": 3.0, "acc": 100.0})
    assert str(meter) == "loss 3.0000 (2.0000) acc 100.0000 (75.0000)"
    avg = AverageMeter()
    avg.update(2.0, n=3)
    avg.update(6.0)
    assert (avg.val, avg.avg, avg.count) == (6.0, 3.0, 4)
    with pytest.raises(TypeError, match="dict"):
        meter.update(1.0)
