"""Helpers for end-to-end tests: run train.py and the bash scripts in a subprocess on a chosen backend."""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DASSL_AVAILABLE = importlib.util.find_spec("dassl") is not None
BACKENDS = [
    "builtin",
    pytest.param(
        "dassl",
        marks=pytest.mark.skipif(
            not DASSL_AVAILABLE,
            reason="real Dassl is not installed (fetch KaiyangZhou/Dassl.pytorch, `pip install --no-deps -e` it "
            "outside the repo, plus wilds==1.2.2) — the Dassl half of the end-to-end tests is skipped",
        ),
    ),
]
# Tiny CLIP (input 32x32), no worker processes, short schedules: seconds per run on 2 CPU cores.
TINY = ["MODEL.BACKBONE.NAME", "tiny", "INPUT.SIZE", "(32, 32)", "DATALOADER.NUM_WORKERS", "0"]


def _env(backend: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ, MOPD_BACKEND=backend, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    env.update(extra)
    return env


def run_train(args: list[str], backend: str, cwd: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run `python train.py ARGS` from `cwd`; fail with its output if it exits non-zero and `check`."""
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO_ROOT, "train.py"), *args],
        cwd=cwd, env=_env(backend), capture_output=True, text=True, timeout=600,
    )
    if check and proc.returncode != 0:
        pytest.fail(f"train.py exited {proc.returncode}\nSTDOUT:\n{proc.stdout[-4000:]}\nSTDERR:\n{proc.stderr[-4000:]}")
    return proc


def run_script(script: str, args: list[str], backend: str, cwd: str, **env: str) -> subprocess.CompletedProcess:
    """Run `bash scripts/SCRIPT ARGS` from `cwd` with extra environment variables."""
    proc = subprocess.run(
        ["bash", os.path.join(REPO_ROOT, "scripts", script), *args],
        cwd=cwd, env=_env(backend, PYTHON=sys.executable, **env), capture_output=True, text=True, timeout=600,
    )
    if proc.returncode != 0:
        pytest.fail(f"{script} exited {proc.returncode}\nSTDOUT:\n{proc.stdout[-4000:]}\nSTDERR:\n{proc.stderr[-4000:]}")
    return proc


def accuracy(text: str) -> float:
    """The accuracy of the last Dassl result block in `text`."""
    found = re.findall(r"^\* accuracy: ([\d.]+)%$", text, flags=re.M)
    assert found, f"no result block in output:\n{text[-3000:]}"
    return float(found[-1])


def config(*parts: str) -> str:
    """Absolute path of a file under configs/."""
    return os.path.join(REPO_ROOT, "configs", *parts)
