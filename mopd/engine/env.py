"""Seeding and environment report, as Dassl's `set_random_seed` and `collect_env_info`."""
from __future__ import annotations

import platform
import random
import sys

import numpy as np
import PIL
import torch
import torchvision


def set_random_seed(seed: int) -> None:
    """Seed Python's `random`, NumPy and torch (CPU and every GPU)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def collect_env_info() -> str:
    """Return a short multi-line description of the software and devices."""
    lines = [
        f"Python: {sys.version.split()[0]} ({platform.platform()})",
        f"PyTorch: {torch.__version__} (CUDA build {torch.version.cuda})",
        f"torchvision: {torchvision.__version__}",
        f"NumPy: {np.__version__}",
        f"Pillow: {PIL.__version__}",
        f"CUDA available: {torch.cuda.is_available()}",
    ]
    if torch.cuda.is_available():
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        lines.append(f"GPUs: {', '.join(names)}")
    lines.append(f"CPU threads: {torch.get_num_threads()}")
    return "\n".join(lines)
