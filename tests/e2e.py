"""Helpers for end-to-end tests: run train.py and the bash scripts in a subprocess on a chosen backend."""
from __future__ import annotations

import atexit
import hashlib
import importlib.util
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile

import pytest

from mopd.results.logs import parse_result_blocks

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# MOPD_TEST_DASSL names a Dassl checkout (the folder holding dassl/, e.g. KgCoOp's Dassl.ProGrad.pytorch):
# the "dassl" backend's subprocesses then run with it first on PYTHONPATH, whatever Dassl is installed.
DASSL_CHECKOUT = os.path.abspath(os.environ["MOPD_TEST_DASSL"]) if os.environ.get("MOPD_TEST_DASSL") else ""
if DASSL_CHECKOUT and not os.path.isfile(os.path.join(DASSL_CHECKOUT, "dassl", "__init__.py")):
    raise pytest.UsageError(f"MOPD_TEST_DASSL={DASSL_CHECKOUT!r} is not a Dassl checkout: it has no dassl/__init__.py")
DASSL_INSTALLED = importlib.util.find_spec("dassl") is not None  # importable without MOPD_TEST_DASSL
DASSL_AVAILABLE = bool(DASSL_CHECKOUT) or DASSL_INSTALLED
NEEDS_DASSL = pytest.mark.skipif(
    not DASSL_AVAILABLE,
    reason="no Dassl: set MOPD_TEST_DASSL to a Dassl checkout (KaiyangZhou/Dassl.pytorch 0.6.x, or the "
    "Dassl.ProGrad.pytorch of KgCoOp/ProGrad) or install one, plus `pip install wilds==1.2.2 tabulate "
    "scikit-learn` — the Dassl half of the end-to-end tests is skipped",
)
BACKENDS = ["builtin", pytest.param("dassl", marks=NEEDS_DASSL)]
# Tiny CLIP (input 32x32), no worker processes, short schedules: seconds per run on 2 CPU cores.
TINY = ["MODEL.BACKBONE.NAME", "tiny", "INPUT.SIZE", "(32, 32)", "DATALOADER.NUM_WORKERS", "0"]


def backend_env(backend: str, **extra: str) -> dict[str, str]:
    """The environment of a subprocess on `backend` ("dassl": MOPD_TEST_DASSL's checkout first on PYTHONPATH)."""
    env = dict(os.environ, MOPD_BACKEND=backend, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    if backend == "dassl" and DASSL_CHECKOUT:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (DASSL_CHECKOUT, os.environ.get("PYTHONPATH"))))
    env.update(extra)
    return env


def backend_pattern(backend: str) -> re.Pattern:
    """The line train.py logs to name its backend (with MOPD_TEST_DASSL: that checkout's dassl/)."""
    if backend == "builtin":
        return re.compile(r"Backend: the built-in runtime")
    folder = re.escape(os.path.join(DASSL_CHECKOUT, "dassl")) if DASSL_CHECKOUT else ".+"
    return re.compile(rf"Backend: Dassl 0\.[56]\.\d+ \({folder}\)")


class _TrainForkServer:
    """A `tests/train_forkserver.py` process of one backend: train.py imported once, a forked child per run."""

    def __init__(self, backend: str) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="train_forkserver-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(REPO_ROOT, "tests", "train_forkserver.py")],
            env=backend_env(backend), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
            start_new_session=True,
        )
        atexit.register(self.close)

    def run(self, args: list[str], cwd: str, timeout: float) -> subprocess.CompletedProcess:
        """Run train.py ARGS from `cwd` in a fresh child; its output as a CompletedProcess."""
        with tempfile.TemporaryDirectory(prefix="train_run-") as tmp:
            out, err = os.path.join(tmp, "stdout"), os.path.join(tmp, "stderr")
            request = {"argv": args, "cwd": cwd, "stdout": out, "stderr": err}
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            ready, _, _ = select.select([self.process.stdout], [], [], timeout)
            reply = self.process.stdout.readline() if ready else ""
            if not reply:
                self.stop()
                with open(self.log.name) as log:
                    raise RuntimeError(f"train.py did not answer within {timeout} s or the fork server died:\n"
                                       f"{log.read()[-4000:]}")
            code = json.loads(reply)["returncode"]
            with open(out) as stdout, open(err) as stderr:
                return subprocess.CompletedProcess(["train.py", *args], code, stdout.read(), stderr.read())

    def alive(self) -> bool:
        """Whether the server process still runs."""
        return self.process.poll() is None

    def stop(self) -> None:
        """Stop the server and any child it is waiting for."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def close(self) -> None:
        """Stop the server and remove its log (at the end of the test session)."""
        self.stop()
        self.log.close()
        os.unlink(self.log.name)


_SERVERS: dict[str, _TrainForkServer] = {}


def run_train(args: list[str], backend: str, cwd: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run train.py ARGS from `cwd` as `python train.py` would; fail with its output if it exits non-zero and `check`.

    Each run is a child forked from a server that has imported train.py once per backend (the
    imports are most of a tiny run's time); the scripts and the kill test still start `python`.
    """
    server = _SERVERS.get(backend)
    if server is None or not server.alive():
        server = _SERVERS[backend] = _TrainForkServer(backend)
    proc = server.run(args, cwd, timeout=600)
    if check and proc.returncode != 0:
        pytest.fail(f"train.py exited {proc.returncode}\nSTDOUT:\n{proc.stdout[-4000:]}\nSTDERR:\n{proc.stderr[-4000:]}")
    return proc


def run_script(
    script: str, args: list[str], backend: str, cwd: str, check: bool = True, **env: str
) -> subprocess.CompletedProcess:
    """Run `bash scripts/SCRIPT ARGS` from `cwd` with extra environment variables (failing the test on an error when `check`)."""
    proc = subprocess.run(
        ["bash", os.path.join(REPO_ROOT, "scripts", script), *args],
        cwd=cwd, env=backend_env(backend, PYTHON=sys.executable, **env), capture_output=True, text=True, timeout=600,
    )
    if check and proc.returncode != 0:
        pytest.fail(f"{script} exited {proc.returncode}\nSTDOUT:\n{proc.stdout[-4000:]}\nSTDERR:\n{proc.stderr[-4000:]}")
    return proc


def accuracy(text: str) -> float:
    """The accuracy of the last test result block in `text`: 100 * correct / total, whatever decimals Dassl prints."""
    blocks = parse_result_blocks(text)
    assert blocks, f"no result block in output:\n{text[-3000:]}"
    return blocks[-1].accuracy


def snapshot(directory: str) -> dict[str, str]:
    """The sha256 of every file under `directory`, by path relative to it."""
    result = {}
    for root, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                result[os.path.relpath(path, directory)] = hashlib.sha256(f.read()).hexdigest()
    return result


def config(*parts: str) -> str:
    """Absolute path of a file under configs/."""
    return os.path.join(REPO_ROOT, "configs", *parts)
