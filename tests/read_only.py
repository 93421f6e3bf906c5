"""Run a command with a folder truly read-only, for the tests of a read-only data root.

A normal user gets the folder's write permissions removed (the command then meets EACCES).
Root ignores permissions, so for root the command runs in a private mount namespace where the
folder is a read-only bind mount (EROFS), through `unshare`; where that is not allowed, the test
is skipped with the reason.
"""
from __future__ import annotations

import contextlib
import functools
import os
import shutil
import stat
import subprocess
import tempfile
from typing import Callable, Iterator

import pytest

_REMOUNT = 'mount --bind -o ro "$0" "$0" && exec "$@"'


@functools.cache
def _unshare_problem() -> str:
    """Why a read-only bind mount in a user namespace is impossible here ("" when it works)."""
    if shutil.which("unshare") is None:
        return "the unshare command is missing"
    with tempfile.TemporaryDirectory() as folder:
        probe = subprocess.run(
            ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", _REMOUNT, folder, "true"],
            capture_output=True, text=True,
        )
    return "" if probe.returncode == 0 else f"unshare cannot make a read-only mount here: {probe.stderr.strip()}"


def _set_writable(folder: str, writable: bool) -> None:
    """Add or remove the write permission of `folder` and every folder under it."""
    for root, _, _ in os.walk(folder):
        mode = os.stat(root).st_mode
        os.chmod(root, mode | stat.S_IWUSR if writable else mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


@contextlib.contextmanager
def read_only(folder: str) -> Iterator[Callable[[list[str]], list[str]]]:
    """Yield a function that turns a command into one that sees `folder` (and all below it) read-only."""
    if os.geteuid() != 0:
        _set_writable(folder, False)
        try:
            yield lambda command: command
        finally:
            _set_writable(folder, True)
        return
    problem = _unshare_problem()
    if problem:
        pytest.skip(f"running as root, and {problem}: no way to make {folder} read-only")
    yield lambda command: ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", _REMOUNT, folder, *command]
