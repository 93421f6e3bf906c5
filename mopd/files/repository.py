"""Where the checkout is: the library is installed in development mode (`pip install -e .`) and run beside
its `configs/`, `scripts/`, `trainers/`, `datasets/` and `train.py`, as CoOp-style repositories are."""
from __future__ import annotations

import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def default_output_root() -> str:
    """`$OUTPUT`, as the scripts read it; unset: the checkout's `output/`."""
    return os.path.abspath(os.environ.get("OUTPUT") or os.path.join(REPO_ROOT, "output"))
