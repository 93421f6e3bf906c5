"""`build_optimizer`: Dassl's optimizer factory (adam, amsgrad, sgd, rmsprop, adamw)."""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn
from yacs.config import CfgNode

logger = logging.getLogger(__name__)

AVAI_OPTIMS = ("adam", "amsgrad", "sgd", "rmsprop", "adamw")


def _staged_param_groups(model: nn.Module | Any, optim_cfg: CfgNode) -> list[dict[str, Any]]:
    """Split child modules into NEW_LAYERS (full lr) and the rest (lr * BASE_LR_MULT)."""
    if not isinstance(model, nn.Module):
        raise ValueError("OPTIM.STAGED_LR=True needs build_optimizer() to receive an nn.Module, not parameters")
    if isinstance(model, nn.DataParallel):
        model = model.module
    new_layers = optim_cfg.NEW_LAYERS
    new_layers = [new_layers] if isinstance(new_layers, str) else list(new_layers)
    base_params: list[nn.Parameter] = []
    new_params: list[nn.Parameter] = []
    for name, module in model.named_children():
        (new_params if name in new_layers else base_params).extend(module.parameters())
    return [{"params": base_params, "lr": optim_cfg.LR * optim_cfg.BASE_LR_MULT}, {"params": new_params}]


def build_optimizer(
    model: nn.Module | Iterable[Any],
    optim_cfg: CfgNode,
    param_groups: Iterable[Any] | None = None,
) -> torch.optim.Optimizer:
    """Build the optimizer named by OPTIM.NAME over `param_groups`, else over `model`'s parameters.

    Args:
        model: a module, or an iterable of parameters / param-group dicts.
        optim_cfg: Dassl's OPTIM config node.
        param_groups: explicit parameter groups; when given, `model` and STAGED_LR are ignored.
    """
    name = optim_cfg.NAME
    if name not in AVAI_OPTIMS:
        raise ValueError(f"OPTIM.NAME must be one of {list(AVAI_OPTIMS)}, got {name!r}")
    if param_groups is not None and optim_cfg.STAGED_LR:
        logger.warning("OPTIM.STAGED_LR is ignored because param_groups were given explicitly")
    if param_groups is None:
        if optim_cfg.STAGED_LR:
            param_groups = _staged_param_groups(model, optim_cfg)
        else:
            param_groups = model.parameters() if isinstance(model, nn.Module) else model

    lr, wd = optim_cfg.LR, optim_cfg.WEIGHT_DECAY
    betas = (optim_cfg.ADAM_BETA1, optim_cfg.ADAM_BETA2)
    if name in ("adam", "amsgrad"):
        return torch.optim.Adam(param_groups, lr=lr, weight_decay=wd, betas=betas, amsgrad=name == "amsgrad")
    if name == "sgd":
        return torch.optim.SGD(
            param_groups,
            lr=lr,
            momentum=optim_cfg.MOMENTUM,
            weight_decay=wd,
            dampening=optim_cfg.SGD_DAMPNING,
            nesterov=optim_cfg.SGD_NESTEROV,
        )
    if name == "rmsprop":
        return torch.optim.RMSprop(
            param_groups, lr=lr, momentum=optim_cfg.MOMENTUM, weight_decay=wd, alpha=optim_cfg.RMSPROP_ALPHA
        )
    return torch.optim.AdamW(param_groups, lr=lr, weight_decay=wd, betas=betas)
