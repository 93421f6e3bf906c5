"""`setup_logger`: Dassl's log.txt with stdout teed into it, plus a `logging` handler."""
from __future__ import annotations

import logging
import os
import os.path as osp
import sys
import time
from typing import IO, Any


class _StdoutTee:
    """File-like object that writes to the console and to a log file (flushed per write)."""

    def __init__(self, console: IO[str], file: IO[str]) -> None:
        self.console = console
        self.file = file

    def write(self, msg: str) -> int:
        """Write `msg` to both streams."""
        self.console.write(msg)
        if not self.file.closed:
            self.file.write(msg)
            self.file.flush()
        return len(msg)

    def flush(self) -> None:
        """Flush both streams."""
        self.console.flush()
        if not self.file.closed:
            self.file.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console, name)


class _CurrentStdoutHandler(logging.Handler):
    """Writes records to whatever `sys.stdout` is now, so they reach the tee in order with prints."""

    def emit(self, record: logging.LogRecord) -> None:
        """Write the formatted record and a newline to the current stdout."""
        try:
            sys.stdout.write(self.format(record) + "\n")
        except (OSError, ValueError):
            self.handleError(record)


def _log_file_path(output: str) -> str:
    fpath = output if output.endswith((".txt", ".log")) else osp.join(output, "log.txt")
    if osp.exists(fpath):
        fpath += time.strftime("-%Y-%m-%d-%H-%M-%S")  # never overwrite an earlier run's log
    return fpath


def setup_logger(output: str | None = None) -> str | None:
    """Tee stdout into `<output>/log.txt` (or the .txt/.log path given) and route `logging` there.

    An existing log file is kept: the new one gets a timestamp suffix, as in Dassl. Records of
    every logger at INFO and above are written as plain messages to stdout, hence to the file.

    Returns:
        The log file path, or None when `output` is None (then nothing changes).
    """
    if output is None:
        return None
    fpath = _log_file_path(output)
    os.makedirs(osp.dirname(fpath) or ".", exist_ok=True)

    console = sys.stdout
    if isinstance(console, _StdoutTee):
        console.file.close()
        console = console.console
    sys.stdout = _StdoutTee(console, open(fpath, "w", encoding="utf-8"))

    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _CurrentStdoutHandler)]:
        root.removeHandler(handler)
    handler = _CurrentStdoutHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return fpath
