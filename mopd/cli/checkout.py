"""The one place the library reaches the checkout's own code: the `datasets/` readers and `train.py`.

Both are used from the checkout, not installed (an installed top-level `datasets` package would
collide with other libraries; `train.py` is CoOp's command line). Two commands need them in-process:
`cache-features` builds a dataset's test loader (the readers must be registered), and a study job
runs train.py's `main` for each of its runs (torch, CLIP and the datasets are imported once).
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType

from mopd.files.repository import REPO_ROOT

_train_module: ModuleType | None = None


def register_checkout_datasets() -> None:
    """Import the checkout's `datasets/`, which registers every dataset reader."""
    package = os.path.join(REPO_ROOT, "datasets")
    if not os.path.isfile(os.path.join(package, "__init__.py")):
        raise FileNotFoundError(f"no dataset readers in {package}: this command runs from a checkout of the "
                                "repository (pip install -e .)")
    if REPO_ROOT not in sys.path:
        sys.path.insert(0, REPO_ROOT)
    module = importlib.import_module("datasets")
    if os.path.dirname(os.path.abspath(module.__file__)) != package:
        raise ImportError(f"`import datasets` found {module.__file__}, not the readers in {package}; "
                          "run from a checkout where no other `datasets` package shadows them")


def load_train_module() -> ModuleType:
    """The checkout's train.py as a module (loaded once per process)."""
    global _train_module
    if _train_module is None:
        path = os.path.join(REPO_ROOT, "train.py")
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"no train.py in {REPO_ROOT}: a study runs from a checkout of the repository (pip install -e .)"
            )
        spec = importlib.util.spec_from_file_location("train", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _train_module = module
    return _train_module
