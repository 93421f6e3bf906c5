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

Dassl versions: the CoOp-family repositories install KaiyangZhou/Dassl.pytorch 0.6.x (CoOp, CoCoOp,
MaPLe, PromptSRC) or the 0.5.0 fork that KgCoOp and ProGrad ship (`Dassl.ProGrad.pytorch`); both
work. Before 0.5.0 Dassl's test transform had no center crop (the published numbers use it), so an
older Dassl, or one of a version never tested, is refused on import, naming what to install. What
differs is handled where it is used: Dassl before 0.6.3 (the fork too) yields batches without
"index" (the feature cache fills a split in the order of its sequential test loader, see
`mopd.feature_cache.split_features.split_order_problem`), and before 0.6.1 prints "Do evaluation
on <split> set" for "Evaluate on the *<split>* set" (`mopd.results.logs` reads both).
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
                "MOPD_BACKEND=dassl but Dassl is not installed; put a Dassl checkout on PYTHONPATH or "
                "`pip install --no-build-isolation --no-deps -e <checkout>` (its setup.py imports numpy), "
                "or unset MOPD_BACKEND to use the built-in runtime"
            )
        return "builtin"
    return "dassl"


# `dassl.__version__` prefixes that work (see the module docstring).
_SUPPORTED_DASSL_VERSIONS = ("0.5.", "0.6.")
_INSTALL_DASSL = (
    "install KaiyangZhou/Dassl.pytorch 0.6.3 (https://github.com/KaiyangZhou/Dassl.pytorch) or the "
    "Dassl.ProGrad.pytorch 0.5.0 that KgCoOp and ProGrad ship"
)
_OR_BUILTIN = "or set MOPD_BACKEND=builtin to use the built-in runtime"
# pip arguments for the modules Dassl imports that this repository does not install itself.
_DASSL_REQUIREMENTS = {"wilds": "wilds==1.2.2 tabulate", "tabulate": "tabulate", "sklearn": "scikit-learn"}


def _dassl_version() -> tuple[str, str]:
    """(version, folder) of the importable Dassl; ValueError for a version this repository does not run on."""
    import dassl

    version = getattr(dassl, "__version__", "unknown")
    folder = os.path.dirname(os.path.abspath(dassl.__file__))
    if not version.startswith(_SUPPORTED_DASSL_VERSIONS):
        raise ValueError(
            f"Dassl {version} ({folder}) is not supported: this repository runs on Dassl 0.6.x and 0.5.x "
            f"(older ones evaluate without the center crop of the published numbers); {_INSTALL_DASSL}, {_OR_BUILTIN}"
        )
    return version, folder


def _import_error_message(err: ImportError, version: str, folder: str) -> str:
    """One line saying why Dassl does not import and what to install."""
    module = (err.name or "").split(".")[0]
    if module in _DASSL_REQUIREMENTS:
        fix = f"`pip install {_DASSL_REQUIREMENTS[module]}` beside it"
    elif module:
        fix = f"install what provides {module!r} (`pip install -r requirements.txt` in the Dassl checkout)"
    else:
        fix = _INSTALL_DASSL
    return f"Dassl {version} ({folder}) is installed but cannot be imported ({err}); {fix}, {_OR_BUILTIN}"


BACKEND = _select_backend()

if BACKEND == "dassl":
    DASSL_VERSION, _DASSL_FOLDER = _dassl_version()
    BACKEND_DESCRIPTION = f"Dassl {DASSL_VERSION} ({_DASSL_FOLDER})"
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
        raise ValueError(_import_error_message(err, DASSL_VERSION, _DASSL_FOLDER)) from err

    # Dassl's WILDS datasets call logging.disable(WARNING) on import, which would silence every INFO
    # record of this repository (and of whoever imports it): undo it, once, here.
    logging.disable(logging.NOTSET)

    from mopd.engine import CheckpointMixin

    class TrainerX(CheckpointMixin, _DasslTrainerX):
        """Dassl's TrainerX with this repository's checkpoint I/O (weights_only-safe, atomic)."""

else:
    DASSL_VERSION = ""
    BACKEND_DESCRIPTION = "the built-in runtime (mopd.engine)"
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
    "BACKEND_DESCRIPTION",
    "DASSL_VERSION",
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
