"""The Dassl API this repository uses: the installed Dassl when importable, else `mopd.engine`.

`MOPD_BACKEND` selects the backend: `auto` (default) uses Dassl if `import dassl` works,
`dassl` requires it, `builtin` forces the built-in runtime; a choice that cannot be had (an
unknown name, Dassl missing or broken) raises ValueError on import, which the command lines
report as one `error:` line. Trainers and datasets import only from this module, so the same
files register into whichever registry is active.

Dassl 0.6.3 has two traps on current torch: its `build_lr_scheduler` passes a `verbose`
argument that torch's schedulers no longer accept, and its checkpoints pickle objects that
`torch.load(weights_only=True)` rejects. Both backends therefore use this repository's own
scheduler builder and checkpoint I/O (`mopd.engine.lr_scheduler`, `mopd.engine.checkpoint`):
under Dassl, `TrainerX` here is Dassl's TrainerX with `mopd.engine.CheckpointMixin` in front.
"""
from __future__ import annotations

import importlib.util
import logging
import os

from mopd.engine.checkpoint import load_checkpoint, load_pretrained_weights, save_checkpoint
from mopd.engine.lr_scheduler import build_lr_scheduler

_CHOICES = ("auto", "dassl", "builtin")


def _select_backend() -> str:
    """The backend MOPD_BACKEND asks for; ValueError (a user error, one message) when it cannot be had."""
    choice = os.environ.get("MOPD_BACKEND", "auto").strip().lower() or "auto"
    if choice not in _CHOICES:
        raise ValueError(f"MOPD_BACKEND={choice!r} is not one of {', '.join(_CHOICES)}; set one of them or unset it")
    if choice == "builtin":
        return "builtin"
    if importlib.util.find_spec("dassl") is None:
        if choice == "dassl":
            raise ValueError(
                "MOPD_BACKEND=dassl but Dassl is not installed; install Dassl.pytorch "
                "(`pip install -e <Dassl.pytorch checkout>`) or unset MOPD_BACKEND to use the built-in runtime"
            )
        return "builtin"
    return "dassl"


BACKEND = _select_backend()

if BACKEND == "dassl":
    try:
        from dassl.config import get_cfg_default
        from dassl.data import DataManager
        from dassl.data.datasets import DATASET_REGISTRY, DatasetBase, Datum
        from dassl.engine import TRAINER_REGISTRY, build_trainer
        from dassl.engine import TrainerX as _DasslTrainerX
        from dassl.evaluation import build_evaluator
        from dassl.metrics import compute_accuracy
        from dassl.optim import build_optimizer
        from dassl.utils import collect_env_info, set_random_seed, setup_logger
    except ImportError as err:
        raise ValueError(
            f"Dassl is installed but cannot be imported ({err}). Dassl 0.6.3 needs "
            "`pip install wilds==1.2.2` beside it; or set MOPD_BACKEND=builtin to use the "
            "built-in runtime."
        ) from err

    # Dassl's WILDS datasets call logging.disable(WARNING) on import, which would silence every INFO
    # record of this repository (and of whoever imports it): undo it, once, here.
    logging.disable(logging.NOTSET)

    from mopd.engine import CheckpointMixin

    class TrainerX(CheckpointMixin, _DasslTrainerX):
        """Dassl's TrainerX with this repository's checkpoint I/O (weights_only-safe, atomic)."""

else:
    from mopd.engine import (
        DATASET_REGISTRY,
        TRAINER_REGISTRY,
        DataManager,
        DatasetBase,
        Datum,
        TrainerX,
        build_evaluator,
        build_optimizer,
        build_trainer,
        collect_env_info,
        compute_accuracy,
        get_cfg_default,
        set_random_seed,
        setup_logger,
    )

__all__ = [
    "BACKEND",
    "DATASET_REGISTRY",
    "TRAINER_REGISTRY",
    "DataManager",
    "DatasetBase",
    "Datum",
    "TrainerX",
    "build_evaluator",
    "build_lr_scheduler",
    "build_optimizer",
    "build_trainer",
    "collect_env_info",
    "compute_accuracy",
    "get_cfg_default",
    "load_checkpoint",
    "load_pretrained_weights",
    "save_checkpoint",
    "set_random_seed",
    "setup_logger",
]
