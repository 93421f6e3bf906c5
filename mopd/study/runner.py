"""Run a step unless a finished run is already in its folder (a crashed one resumes from its checkpoint)."""
from __future__ import annotations

import logging
import sys

from mopd.study.steps import Step
from mopd.study.train_process import USER_ERROR_EXIT, TrainResult, run_train

logger = logging.getLogger(__name__)


def run_step(step: Step) -> TrainResult:
    """Run `step` with train.py in this process, or say that its finished run is there and skip it."""
    if step.finished():
        kind = "training run" if step.trains else "evaluation"
        logger.info("Skip: a finished %s is in %s", kind, step.path)
        return TrainResult(0)
    try:
        args = step.train_py_args()
    except FileNotFoundError as err:  # an evaluation whose model's training has not finished
        print(f"error: {err}", file=sys.stderr, flush=True)
        return TrainResult(USER_ERROR_EXIT, f"error: {err}")
    logger.info("%s into %s", "Train" if step.trains else "Evaluate", step.path)
    return run_train(args)
