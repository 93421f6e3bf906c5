"""User errors and Ctrl-C on the command line: one clear message, an exit code, nothing already written lost."""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
from typing import Callable, Iterator

# What a user can cause (bad paths, config values, checkpoints, a full disk, a diverging run);
# anything else is a bug and keeps its traceback.
USER_ERRORS = (OSError, ValueError, KeyError, FloatingPointError)


def _message(err: BaseException) -> str:
    text = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
    return f"error: {text}"


def _existing_entries(directory: str) -> set[str] | None:
    if not os.path.isdir(directory):
        return None
    return {os.path.join(root, name) for root, dirs, files in os.walk(directory) for name in dirs + files}


def _remove_new_entries(directory: str, before: set[str] | None) -> None:
    """Remove what appeared under `directory` since `before` (all of it when it did not exist)."""
    if before is None:
        shutil.rmtree(directory, ignore_errors=True)
        return
    for root, dirs, files in os.walk(directory, topdown=False):
        for name in files + dirs:
            path = os.path.join(root, name)
            if path not in before:
                with contextlib.suppress(OSError):
                    os.remove(path) if name in files else os.rmdir(path)


def check_output_dir(directory: str) -> None:
    """Reject an OUTPUT_DIR that is a file, or whose parent cannot hold it, before anything is written."""
    if not directory:
        raise ValueError("no output directory: pass --output-dir DIR (or set OUTPUT_DIR)")
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise NotADirectoryError(f"output directory {directory!r} is a file; choose another --output-dir")
    parent = os.path.dirname(os.path.abspath(directory))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK):
        raise PermissionError(f"cannot create output directory {directory!r}: {parent!r} is not a writable folder")


@contextlib.contextmanager
def exit_on_user_error(output_dir: str | None = None, created: bool = False) -> Iterator[None]:
    """Turn a user error into `error: <message>` on stderr and exit code 2.

    With `output_dir`, whatever the block created there is removed first (the run's setup wrote
    a log before finding the problem); files that existed before are never touched. `created`
    says this run made the folder itself (holding its lock), so all of it goes. Set MOPD_DEBUG=1
    to see the traceback instead.
    """
    before = _existing_entries(output_dir) if output_dir and not created else None
    try:
        yield
    except USER_ERRORS as err:
        if os.environ.get("MOPD_DEBUG"):
            raise
        if output_dir:
            _remove_new_entries(output_dir, before)
        print(_message(err), file=sys.stderr)
        sys.exit(2)


@contextlib.contextmanager
def exit_on_interrupt(message: Callable[[], str]) -> Iterator[None]:
    """Turn Ctrl-C (KeyboardInterrupt) into `message()` on stderr and exit code 130, without a traceback.

    Files already written stay: checkpoints and results are written to a temporary file and renamed.
    """
    try:
        yield
    except KeyboardInterrupt:
        if os.environ.get("MOPD_DEBUG"):
            raise
        print(message(), file=sys.stderr)
        sys.exit(130)
