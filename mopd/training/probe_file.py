"""A linear probe in its run folder, as plain data: `linear_probe.json` (C, the search) and `linear_probe.npz`.

The weights are numpy arrays in an `.npz` written and read with `allow_pickle=False`: no pickled
object, so a probe file can be read without trusting whoever wrote it.
"""
from __future__ import annotations

import logging
import os
import zipfile

import numpy as np

from mopd.files.atomic import atomic_path
from mopd.files.io import read_json, write_json_atomic
from mopd.methods.linear_probe import Candidate, LinearProbe, ProbeSearch

logger = logging.getLogger(__name__)

PROBE_FILE = "linear_probe.json"
WEIGHTS_FILE = "linear_probe.npz"
_ARRAYS = ("coef", "intercept", "classes")


def save_probe(output_dir: str, search: ProbeSearch, train_images: int) -> None:
    """Write the probe's weights, then its C and search, to `output_dir` (each file atomically)."""
    probe = search.probe
    with atomic_path(os.path.join(output_dir, WEIGHTS_FILE)) as tmp, open(tmp, "wb") as f:
        np.savez(f, **{name: getattr(probe, name) for name in _ARRAYS})
    summary = {
        "C": probe.c,
        "val_accuracy": search.val_accuracy,
        "val_correct": search.val_correct,
        "val_images": search.val_total,
        "train_images": train_images,
        "num_classes": len(probe.classes),
        "feature_dim": int(probe.coef.shape[1]),
        "search": {
            "grid": [_candidate(tried) for tried in search.grid],
            "steps": [{"left": _candidate(step.left), "right": _candidate(step.right), "kept": step.kept}
                      for step in search.steps],
        },
        "not_converged": list(search.not_converged),
        "weights": WEIGHTS_FILE,
    }
    write_json_atomic(os.path.join(output_dir, PROBE_FILE), summary)
    logger.info("Wrote the linear probe (C=%g) to %s", probe.c, os.path.join(output_dir, PROBE_FILE))


def _candidate(tried: Candidate) -> dict[str, float | int]:
    return {"C": tried.c, "val_correct": tried.correct}


def log_search(search: ProbeSearch) -> None:
    """Log every C the search fitted with its validation result, then the chosen C."""
    total = search.val_total
    grid = ", ".join(f"{tried.c:g} {tried.correct}/{total}" for tried in search.grid)
    logger.info("Linear probe: validation images right per C of the grid: %s", grid)
    for index, step in enumerate(search.steps, 1):
        logger.info("Linear probe, step %d: C %.6g %d/%d, C %.6g %d/%d: keeps %.6g", index, step.left.c,
                    step.left.correct, total, step.right.c, step.right.correct, total, step.kept)
    logger.info("Linear probe: C = %r, validation accuracy %.2f%% (%d/%d)", search.probe.c, search.val_accuracy,
                search.val_correct, total)
    if search.not_converged:
        logger.info("L-BFGS stopped at its iteration limit for C = %s (its last iterate is used, as in CoOp's lpclip)",
                    ", ".join(f"{c:g}" for c in search.not_converged))


def load_probe(directory: str) -> LinearProbe:
    """The probe saved in `directory`; FileNotFoundError without one, ValueError when its files are damaged."""
    path = os.path.join(directory, PROBE_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no linear probe in {directory} ({PROBE_FILE} is missing): give the folder of a "
                                "finished LinearProbeCLIP run")
    fix = "run the LinearProbeCLIP training into that folder again"
    summary = read_json(path, fix=fix)
    try:
        c, weights, dim = float(summary["C"]), os.path.join(directory, summary["weights"]), int(summary["feature_dim"])
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path} does not record a probe's C, weights file and feature size ({err!r}); {fix}") from err
    try:
        with np.load(weights, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in _ARRAYS}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as err:
        raise ValueError(f"the linear probe weights {weights} cannot be read ({err}); {fix}") from err
    probe = LinearProbe(c, **arrays)
    rows = 1 if len(probe.classes) == 2 else len(probe.classes)
    if probe.coef.shape != (rows, dim) or probe.intercept.shape != (rows,):
        raise ValueError(f"the linear probe weights {weights} have shapes {probe.coef.shape} and "
                         f"{probe.intercept.shape}, not those {path} records; {fix}")
    return probe
