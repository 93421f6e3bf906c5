"""An exclusive lock on a run's output folder, held for the run's lifetime.

`run.lock` in the folder is locked with `fcntl.flock` and holds the pid of the process that took
it. The kernel drops the lock when that process ends, however it ends (a crash or SIGKILL
included), so a stale file never blocks the next run. The file itself is never deleted while
the folder is in use: a process that has it open must keep locking the same file as the others.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import time

LOCK_FILE = "run.lock"
_PID_WAIT_S = 2.0  # how long to wait for a holder that has just locked the file to write its pid

_held_fds: set[int] = set()


def _close_held_in_child() -> None:
    """In a forked child (a data-loader worker), drop the inherited lock descriptors.

    A child keeps a flock alive as long as it holds the descriptor; without this, the workers
    of a killed run would hold its folder until they notice their parent is gone.
    """
    for fd in _held_fds:
        os.close(fd)
    _held_fds.clear()


os.register_at_fork(after_in_child=_close_held_in_child)


class OutputDirBusy(BlockingIOError):
    """Another live process holds the output folder."""


class OutputDirLock:
    """The lock on one output folder; a context manager that releases it on exit."""

    def __init__(self, directory: str, fd: int, created: bool, file_created: bool) -> None:
        self.directory = directory
        self.created = created  # the folder did not exist before this lock was taken
        self._file_created = file_created  # nor did the lock file
        self._fd: int | None = fd
        self._used = False

    def mark_used(self) -> None:
        """The run has started in the folder: keep the lock file when the lock is released."""
        self._used = True

    def release(self) -> None:
        """Unlock and close the lock file.

        The file stays (see the module docstring), unless this lock created it and the run never
        started: a refused start leaves the folder as it was. Removing it under the lock is safe,
        since a process that opened the old file sees that it is no longer current.
        """
        if self._fd not in _held_fds:  # released already, or a forked child that closed its copy
            self._fd = None
            return
        if self._file_created and not self._used:
            with contextlib.suppress(FileNotFoundError):  # gone with a folder this run created
                os.remove(os.path.join(self.directory, LOCK_FILE))
        _held_fds.discard(self._fd)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> OutputDirLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _holder_pid(path: str) -> str:
    """The pid written in a held lock file ("unknown" if its holder has not written it yet)."""
    deadline = time.monotonic() + _PID_WAIT_S
    while True:
        try:
            with open(path, encoding="utf-8") as f:
                pid = f.read().strip()
        except FileNotFoundError:
            pid = ""
        if pid or time.monotonic() > deadline:
            return pid or "unknown"
        time.sleep(0.01)


def _is_current_file(fd: int, path: str) -> bool:
    """Whether `fd` is still the file at `path` (it was not removed and re-created meanwhile)."""
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def lock_output_dir(directory: str) -> OutputDirLock:
    """Create `directory` if needed and lock it for this process, or raise OutputDirBusy at once.

    A refused process writes nothing: it opens the existing lock file only to try the lock.
    """
    created = not os.path.isdir(directory)
    path = os.path.join(directory, LOCK_FILE)
    while True:
        os.makedirs(directory, exist_ok=True)
        file_created = not os.path.exists(path)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except PermissionError as err:
            raise PermissionError(f"cannot lock {path}: {err.strerror}; choose a writable --output-dir") from err
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputDirBusy(
                f"another run (pid {_holder_pid(path)}) is using {directory}; wait for it to end or stop it, "
                "or choose another --output-dir"
            ) from None
        if _is_current_file(fd, path):
            break
        os.close(fd)  # the holder removed the folder after a failed start: lock the new file
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    _held_fds.add(fd)
    return OutputDirLock(directory, fd, created, file_created)
