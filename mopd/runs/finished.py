"""The finished marker: `run_finished.json`, written last, says a run trained to its end and ran its final test."""
from __future__ import annotations

import os

from mopd.files.io import read_json, write_json_atomic
from mopd.runs.record import read_run_record

FINISHED_MARKER = "run_finished.json"


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

