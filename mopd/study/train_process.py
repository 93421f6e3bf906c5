"""Run the checkout's train.py in this process, as `python train.py ARGS` would, and leave the process clean.

A study job runs its training and evaluations one after another in one process (torch, CLIP and the
datasets are imported once). Each run gets what a fresh process would: train.py seeds it, and what a
run installs globally (stdout teed into its log.txt, logging handlers, deterministic algorithms) is
put back afterwards, so the next run's log holds only its own lines.
"""
from __future__ import annotations

import contextlib
import io
import logging
import sys
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from mopd.cli.checkout import load_train_module
from mopd.runs.folder import check_run_folder

USER_ERROR_EXIT = 2  # train.py's exit status for a mistake it explained in one `error:` line

@dataclass(frozen=True)
class TrainResult:
    """How one train.py run ended."""

    status: int  # what `python train.py` would have exited with: 0, 2 (a user error) or 1 (a bug)
    error: str = ""  # the last `error:` line (or the exception) of a failed run

    @property
    def ok(self) -> bool:
        """Whether the run succeeded (or was skipped as finished)."""
        return self.status == 0


class _ErrorLineTee(io.TextIOBase):
    """Passes writes through to a stream and remembers the last line that starts with `error:`."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__()
        self.stream = stream
        self.last_error = ""
        self._line = ""

    def write(self, text: str) -> int:
        """Write `text` to the stream and scan it for `error:` lines."""
        self.stream.write(text)
        self._line += text
        *lines, self._line = self._line.split("\n")
        for line in lines:
            if line.startswith("error:"):
                self.last_error = line
        return len(text)

    def flush(self) -> None:
        """Flush the stream."""
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextlib.contextmanager
def _restored_globals() -> Iterator[None]:
    """Give a train.py run the logging of a fresh process; put back what it changes globally afterwards.

    That is stdout (teed into the run's log.txt), the root logger's handlers and level, and torch's
    deterministic-algorithms and cuDNN benchmark flags.
    """
    import torch

    stdout = sys.stdout
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    for handler in handlers:
        root.removeHandler(handler)
    deterministic = torch.are_deterministic_algorithms_enabled()
    benchmark = torch.backends.cudnn.benchmark
    try:
        yield
    finally:
        if sys.stdout is not stdout:
            log_file = getattr(sys.stdout, "file", None)  # the tee of Dassl's / the built-in setup_logger
            if log_file is not None and not log_file.closed:
                log_file.close()
            sys.stdout = stdout
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        torch.use_deterministic_algorithms(deterministic)
        torch.backends.cudnn.benchmark = benchmark


def run_train(args: Sequence[str]) -> TrainResult:
    """Run train.py with `args` in this process.

    A user error (train.py's exit status 2 after its `error:` line) or an exception ends the run as
    failed, with that line; any other exit (Ctrl-C, a scheduler's preemption signal) is passed on.
    """
    train = load_train_module()
    stderr = _ErrorLineTee(sys.stderr)
    with _restored_globals(), contextlib.redirect_stderr(stderr):
        try:
            train.main(train.parse_args(list(args)))
        except SystemExit as exit_:
            if exit_.code in (None, 0):
                return TrainResult(0)
            if exit_.code != USER_ERROR_EXIT:
                raise
            return TrainResult(USER_ERROR_EXIT, stderr.last_error or f"train.py exited with status {exit_.code}")
        except Exception as err:  # a bug: keep its traceback in the job's log, report its last line
            traceback.print_exc()
            return TrainResult(1, "".join(traceback.format_exception_only(err)).strip().splitlines()[-1])
    return TrainResult(0)


def finished_with_these_settings(args: Sequence[str]) -> bool:
    """Whether the training of train.py `args` finished in its folder with the same defining settings.

    A folder trained with other settings does not count as done: the study runs the step, and
    train.py stops it with the differing keys named.
    """
    train = load_train_module()
    try:
        parsed = train.parse_args(list(args))
        cfg = train.build_cfg(parsed)
        return check_run_folder(cfg.OUTPUT_DIR, cfg, parsed.allow_settings_change).state == "finished"
    except (ValueError, KeyError, OSError):  # settings that differ, or that train.py would refuse
        return False
