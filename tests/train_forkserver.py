"""Runs train.py for the end-to-end tests: imports it once, then forks a fresh child per run.

Importing torch, torchvision and CLIP takes most of a short run's seconds on 2 cores; a child
forked after the imports starts at `main` and shares nothing else with other runs. Protocol, one
JSON object per line: stdin {"argv": [...], "cwd": dir, "stdout": file, "stderr": file}, stdout
{"returncode": int}. The child's stdout and stderr go to the named files; it exits as
`python train.py ARGV` would (0, the code of SystemExit, or 1 with a traceback).
"""
from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import train  # noqa: E402


def _run_child(request: dict) -> None:
    """In the forked child: redirect the output, then run train.py's main as its command line would."""
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    os.chdir(request["cwd"])
    sys.argv = [train.__file__, *request["argv"]]
    train.main(train.parse_args(request["argv"]))


def serve() -> None:
    """Answer each request line with the return code of a child that ran it."""
    while line := sys.stdin.readline():
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _run_child(request)
            sys.exit(0)  # the child leaves through the interpreter's normal exit, flushing its files
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == "__main__":
    serve()
