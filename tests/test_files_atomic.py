"""mopd.files.atomic: the lock that makes a shared file be created once, and what a read-only folder gets."""
from __future__ import annotations

import errno
import os
import signal
import time

import pytest

from mopd.files import atomic
from mopd.files.atomic import create_once, file_lock, lock_path

HINT = "set SOME.KEY to a writable folder"


def _write(path: str, text: str) -> str:
    with atomic.atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write(text)
    return text


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _blocked_on_a_lock(pid: int) -> bool:
    """Whether process `pid` waits for a file lock (Linux lists waiters as `->` lines of /proc/locks)."""
    with open("/proc/locks") as f:
        return any(line.split()[1] == "->" and str(pid) in line.split() for line in f)


def _wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


def test_create_once_waits_for_the_lock_holder_and_loads_the_file_it_created(tmp_path):
    path = str(tmp_path / "shared.json")
    result = tmp_path / "child_saw"
    go_read, go_write = os.pipe()
    pid = os.fork()  # before the lock is taken: a forked child would share the holder's lock
    if pid == 0:  # a second job that arrives while the first one creates the file
        try:
            os.read(go_read, 1)
            saw = create_once(path, lambda: "loaded " + _read(path), lambda: _write(path, "child"), read_only_hint=HINT)
            result.write_text(saw)
        finally:
            os._exit(0)
    with file_lock(path):
        os.write(go_write, b"x")
        _wait_until(lambda: _blocked_on_a_lock(pid) or result.exists(), "the child to block on the lock")
        _write(path, "parent")
    os.waitpid(pid, 0)
    assert result.read_text() == "loaded parent"
    assert _read(path) == "parent"


def test_a_killed_lock_holder_leaves_no_stale_lock(tmp_path):
    path = str(tmp_path / "shared.json")
    ready = tmp_path / "holding"
    pid = os.fork()
    if pid == 0:
        try:
            with file_lock(path):
                ready.touch()
                signal.pause()
        finally:
            os._exit(0)
    _wait_until(ready.exists, "the child to hold the lock")
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert create_once(path, lambda: "loaded", lambda: _write(path, "created"), read_only_hint=HINT) == "created"


def test_an_existing_file_is_loaded_without_taking_the_lock(tmp_path):
    path = str(tmp_path / "shared.json")
    _write(path, "there")
    assert create_once(path, lambda: _read(path), lambda: pytest.fail("created again"), read_only_hint=HINT) == "there"
    assert not os.path.exists(lock_path(path))  # a read-only copy of the data never needs the lock


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES])
def test_a_folder_that_cannot_be_written_names_the_missing_file_and_the_way_forward(tmp_path, monkeypatch, code):
    folder = tmp_path / "split_fewshot"
    path = str(folder / "shot_4-seed_1.json")
    real_open = os.open

    def refusing_open(file, flags, *args):
        if flags & os.O_CREAT:
            raise OSError(code, os.strerror(code), file)
        return real_open(file, flags, *args)

    monkeypatch.setattr(os, "open", refusing_open)
    with pytest.raises(PermissionError) as info:
        create_once(path, lambda: None, lambda: pytest.fail("created"), read_only_hint=HINT)
    message = str(info.value)
    assert message.startswith(f"{path} does not exist and cannot be created: {folder} is not writable")
    assert os.strerror(code) in message and message.endswith(HINT)


def test_a_permission_error_elsewhere_in_create_is_not_disguised_as_a_read_only_folder(tmp_path):
    path = str(tmp_path / "cache" / "split.json")
    image = str(tmp_path / "images" / "a.png")

    def create():
        raise PermissionError(errno.EACCES, "Permission denied", image)

    with pytest.raises(PermissionError) as info:
        create_once(path, lambda: None, create, read_only_hint=HINT)
    assert info.value.filename == image and HINT not in str(info.value)
