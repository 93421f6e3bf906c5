"""Tests for mopd.runs.lock: one process per output folder, released however the holder ends."""
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from mopd.runs.lock import LOCK_FILE, OutputDirBusy, lock_output_dir

from e2e import REPO_ROOT

# A holder in its own process: locks the folder, optionally forks a child that lives on (as a
# data-loader worker does) and waits until the child runs, prints the pids, then waits to be killed.
_HOLDER = textwrap.dedent("""
    import os, sys, time
    from mopd.runs.lock import lock_output_dir
    lock = lock_output_dir(sys.argv[1])
    fork = sys.argv[2] == "fork"
    started_r, started_w = os.pipe()
    child = os.fork() if fork else 0
    if fork and child == 0:
        os.write(started_w, b"x")  # the fork handlers have run in this child by now
        time.sleep(600)
        os._exit(0)
    if fork:
        os.read(started_r, 1)
    print(os.getpid(), child, flush=True)
    time.sleep(600)
""")


def _start_holder(directory: str, fork: bool) -> tuple[subprocess.Popen, int]:
    """A process holding `directory` (and the pid of its forked child, 0 without one); returns once it holds it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, directory, "fork" if fork else "nofork"],
        stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=REPO_ROOT),
    )
    pid, child = (int(value) for value in proc.stdout.readline().split())
    assert pid == proc.pid
    return proc, child


def test_second_lock_on_a_held_folder_fails_at_once_naming_the_holder_and_changes_nothing(tmp_path):
    out = str(tmp_path / "run")
    with lock_output_dir(out) as lock:
        assert lock.created
        content = (tmp_path / "run" / LOCK_FILE).read_bytes()
        assert content == f"{os.getpid()}\n".encode()
        with pytest.raises(OutputDirBusy) as err:
            lock_output_dir(out)
        assert str(err.value).startswith(f"another run (pid {os.getpid()}) is using {out};")
        assert "--output-dir" in str(err.value)
        assert (tmp_path / "run" / LOCK_FILE).read_bytes() == content
    with lock_output_dir(out) as again:
        assert not again.created


def test_lock_of_a_killed_holder_is_free_at_once(tmp_path):
    out = str(tmp_path / "run")
    proc, _ = _start_holder(out, fork=False)
    with pytest.raises(OutputDirBusy, match=f"pid {proc.pid}"):
        lock_output_dir(out)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with lock_output_dir(out):
        assert (tmp_path / "run" / LOCK_FILE).read_text() == f"{os.getpid()}\n"


def test_a_forked_child_of_a_killed_holder_does_not_keep_the_folder(tmp_path):
    out = str(tmp_path / "run")
    proc, child = _start_holder(out, fork=True)
    try:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        os.kill(child, 0)  # the child still runs
        with lock_output_dir(out):
            pass
    finally:
        os.kill(child, signal.SIGKILL)
