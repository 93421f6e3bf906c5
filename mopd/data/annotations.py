"""Reading the raw annotation files that datasets ship: text lists and MATLAB `.mat` files.

Readers only parse these when CoOp's split file is missing and has to be created. scipy, needed
for `.mat` files, is optional: without it, `load_mat` says to download the split file instead.
"""
from __future__ import annotations

from typing import Any


def read_text_lines(path: str) -> list[str]:
    """The lines of a text annotation file, stripped, with blank lines dropped."""
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def load_mat(path: str, *, split_path: str) -> dict[str, Any]:
    """Load a MATLAB `.mat` file with scipy, read only to create the split file `split_path`.

    Raises FileNotFoundError (the split file is what is missing) when scipy is not installed.
    """
    try:
        from scipy.io import loadmat
    except ImportError as err:
        raise FileNotFoundError(
            f"the split file {split_path} does not exist, and creating it from {path} needs scipy, "
            f"which is not installed ({err}); download the split file (link in CoOp's DATASETS.md) "
            "into that folder, or `pip install scipy`"
        ) from err
    return loadmat(path)
