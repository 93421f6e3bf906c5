"""Helpers for the study tests: run `python -m mopd.study`, read job records and run results."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from e2e import REPO_ROOT, TINY
from mopd.results.logs import read_run_log
from mopd.study.state import read_study, record_path
from mopd.files.io import read_json

# Tiny CLIP, 4 shots, 2 epochs: seconds per job on 2 CPU cores.
STUDY_OVERRIDES = [*TINY, "OPTIM.MAX_EPOCH", "2", "DATALOADER.TRAIN_X.BATCH_SIZE", "4"]


def study_env(**extra: str) -> dict[str, str]:
    """The environment of a study command: this checkout's mopd, the built-in backend, one thread per process."""
    path = os.environ.get("PYTHONPATH")
    return dict(os.environ, PYTHONPATH=REPO_ROOT + (os.pathsep + path if path else ""), MOPD_BACKEND="builtin",
                OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", **extra)


def study_argv(*args: str) -> list[str]:
    """`python -m mopd.study ARGS`."""
    return [sys.executable, "-m", "mopd.study", *args]


def study(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run `python -m mopd.study ARGS` to its end."""
    return subprocess.run(study_argv(*args), cwd=REPO_ROOT, env=study_env(), capture_output=True, text=True,
                          timeout=timeout)


def records(output: str) -> dict[str, dict]:
    """Every job record of the study in `output`, by job id."""
    jobs, _ = read_study(output)
    return {job.id: read_json(record_path(output, job.id)) for job in jobs
            if os.path.isfile(record_path(output, job.id))}


def correct_counts(output: str) -> dict[str, int]:
    """The `* correct:` count of every run folder's result under `output`, by path relative to it."""
    from mopd.results.layout import find_runs

    return {os.path.relpath(run.path, output): read_run_log(run.path).result.correct
            for run in find_runs(output).runs if run.result is not None}


def wait_for(condition, timeout: float, what: str, poll: float = 0.02):
    """Poll `condition()` until it returns something true; fail after `timeout` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = condition()
        if found:
            return found
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
