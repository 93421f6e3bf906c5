"""Run bookkeeping: the finished marker, per-epoch seeds and per-epoch means of the logged values."""
from __future__ import annotations

import os

from mopd.data.io import read_json, write_json_atomic
from mopd.run_record import read_run_record

FINISHED_MARKER = "run_finished.json"
_EPOCH_SEED_STRIDE = 100_003  # a prime, so (seed, epoch) pairs of nearby seeds do not collide


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of epoch `epoch` (0-based) of a run seeded with `seed`."""
    return seed + _EPOCH_SEED_STRIDE * (epoch + 1)


def write_finished_marker(output_dir: str, epoch: int, result: float | None) -> None:
    """Record, atomically, that the run in `output_dir` trained `epoch` epochs and ran its final test.

    The marker repeats the settings fingerprint of the folder's run record (None without one), so a
    launcher can tell which settings finished without reading the record.
    """
    record = read_run_record(output_dir)
    fingerprint = record["fingerprint"] if record else None
    marker = {"epochs": epoch, "final_test": result, "fingerprint": fingerprint}
    write_json_atomic(os.path.join(output_dir, FINISHED_MARKER), marker)


def read_finished_marker(output_dir: str) -> dict | None:
    """The marker of a finished run in `output_dir`, or None when there is none."""
    path = os.path.join(output_dir, FINISHED_MARKER)
    if not os.path.isfile(path):
        return None
    return read_json(path)


class RunningMeans:
    """Sample-weighted means of named values over an epoch."""

    def __init__(self) -> None:
        self._sums: dict[str, float] = {}
        self._count = 0

    def add(self, values: dict[str, float], n: int) -> None:
        """Add the values of one batch of `n` samples."""
        for name, value in values.items():
            self._sums[name] = self._sums.get(name, 0.0) + value * n
        self._count += n

    def means(self) -> dict[str, float]:
        """The mean of each value so far (empty before the first batch)."""
        return {name: total / self._count for name, total in self._sums.items()} if self._count else {}
