"""Files shared between concurrent jobs: atomic writes, and files created once under a lock.

Many jobs start at once on the same data root and CLIP cache. A shared file is therefore only
ever created by writing a temporary file beside it and renaming it into place (`atomic_path`),
so a reader sees no file or the complete one; and its creation runs under an exclusive lock on
a sidecar file (`create_once`), so it happens once whatever the number of jobs.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import uuid
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")

# errno values meaning "this folder cannot be written": permissions, or a read-only file system.
NOT_WRITABLE_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS)


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temporary path to write; on success it replaces `path`, on failure it is removed.

    Readers see the old file or the complete new one, never a truncated file. The temporary name
    is fresh (not mkstemp), so the file gets the usual umask permissions.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{uuid.uuid4().hex}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


def lock_path(path: str) -> str:
    """The sidecar lock file of `path`: `.<name>.lock` in the same folder (it stays after use)."""
    directory, name = os.path.split(os.path.abspath(path))
    return os.path.join(directory, f".{name}.lock")


@contextlib.contextmanager
def file_lock(path: str, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock for `path` while the block runs (blocking until it is free).

    The lock is `fcntl.flock` on `lock_path(path)`, so the kernel releases it when the holder
    exits, however it ends (a killed job never leaves a stale lock behind). `on_wait` is called
    once when another process holds the lock, before waiting for it.
    """
    lock_file = lock_path(path)
    os.makedirs(os.path.dirname(lock_file), exist_ok=True)
    try:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o666)
    except PermissionError:
        if not os.path.isfile(lock_file):
            raise
        fd = os.open(lock_file, os.O_RDONLY)  # another user's lock file: a read-only descriptor locks it too
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the only descriptor of this open file releases the lock


def create_once(path: str, load: Callable[[], T], create: Callable[[], T], *, read_only_hint: str) -> T:
    """`load()` the shared file `path`, or `create()` it first when no other process has.

    `create` must write `path` atomically (through `atomic_path`). Without the file, the lock of
    `path` is taken and the file looked for again, so among concurrent callers exactly one
    creates it and the others load that one. When the folder of `path` cannot be written,
    PermissionError says which file is missing, then `read_only_hint` (the way forward).
    """
    if os.path.isfile(path):
        return load()
    try:
        with file_lock(path):
            if os.path.isfile(path):
                return load()
            return create()
    except OSError as err:
        folder = os.path.dirname(os.path.abspath(path))
        if err.errno not in NOT_WRITABLE_ERRNOS or not _is_in_or_above(err.filename, folder):
            raise
        raise PermissionError(
            f"{path} does not exist and cannot be created: {folder} is not writable "
            f"({err.strerror}: {err.filename}). {read_only_hint}"
        ) from err


def _is_in_or_above(filename: object, folder: str) -> bool:
    """Whether an OSError's `filename` is `folder`, one of its parents, or an entry of it (the lock, a temporary)."""
    if not isinstance(filename, str):
        return False
    filename = os.path.abspath(filename)
    return os.path.dirname(filename) == folder or folder == filename or folder.startswith(filename.rstrip(os.sep) + os.sep)
