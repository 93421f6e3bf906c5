"""Where a training run stands in its output folder: new, to resume, finished, or refused.

The one place that decides it, from the folder alone (run record, checkpoints, finished marker),
so train.py, the scripts and a study launcher agree on what is done and what is left.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

from yacs.config import CfgNode as CN

from mopd.engine.checkpoint import EPOCH_FILE_PREFIX, LATEST_FILE
from mopd.runs.record import SettingsChangedError, compare_with_record, describe_changes, read_run_record
from mopd.runs.finished import read_finished_marker

RunState = Literal["new", "resume", "finished"]

ALLOW_FLAG = "--allow-settings-change"


@dataclass(frozen=True)
class RunFolder:
    """What a training run will do in its folder."""

    state: RunState  # new: train from scratch; resume: from the last checkpoint; finished: nothing to do
    changed: dict[str, tuple[Any, Any]]  # defining settings changed with the user's leave: key -> (recorded, new)
    notes: tuple[str, ...]  # warnings for the run's log, one line each


def has_checkpoint(directory: str) -> bool:
    """Whether a model folder under `directory` holds a checkpoint or a `checkpoint` pointer file."""
    if not os.path.isdir(directory):
        return False
    for entry in os.scandir(directory):
        if entry.is_dir() and any(
            name == LATEST_FILE or name.startswith(EPOCH_FILE_PREFIX) for name in os.listdir(entry.path)
        ):
            return True
    return False


def _compare_folder(directory: str, cfg: CN) -> tuple[dict[str, tuple[Any, Any]], list[str]]:
    """The defining settings of `cfg` that differ from `directory`'s record, and warnings."""
    record = read_run_record(directory)
    if record is None:
        return {}, [f"{directory} was written before runs recorded their settings, so they cannot be "
                    "compared with this command's"]
    changed, one_sided = compare_with_record(record, cfg)
    notes = [f"settings not compared with the record of {directory} (a config of another code version): "
             f"{', '.join(one_sided)}"] if one_sided else []
    return changed, notes


def _refusal(state: RunState, directory: str, changed: dict[str, tuple[Any, Any]]) -> str:
    if state == "finished":
        what, allowed = f"the finished run in {directory}", "to accept the finished run as it is"
    else:
        what, allowed = f"the run in {directory}", "to resume it with the new settings"
    return (f"{what} was trained with other settings: {describe_changes(changed)}. For the new settings, train "
            f"into another folder (train.py: another --output-dir; a protocol script or a study: another OUTPUT), "
            f"or pass {ALLOW_FLAG} {allowed} (a protocol script: ALLOW_SETTINGS_CHANGE=1; a study: "
            f"`python -m mopd.study run ... {ALLOW_FLAG}`)")


def check_run_folder(output_dir: str, cfg: CN, allow_settings_change: bool = False) -> RunFolder:
    """Decide whether training into `output_dir` with `cfg` starts, resumes, or has nothing to do.

    Reads only, so a launcher may call it too. A folder whose checkpoints or finished marker the
    run would take over must hold a record of the same defining settings (all but
    `mopd.runs.record.HARMLESS_KEYS`); with cfg.RESUME the folder resumed from is checked as well.

    Raises:
        SettingsChangedError: a defining setting differs (naming each key, its recorded and new
            value), unless `allow_settings_change`.
    """
    marker = read_finished_marker(output_dir)
    source = cfg.RESUME or output_dir
    if marker is not None and marker["epochs"] == cfg.OPTIM.MAX_EPOCH:
        state: RunState = "finished"
    else:
        state = "resume" if has_checkpoint(source) else "new"
    changed: dict[str, tuple[Any, Any]] = {}
    notes: list[str] = []
    folders = {os.path.realpath(source): source, os.path.realpath(output_dir): output_dir}  # one entry if equal
    for directory in folders.values():
        if not has_checkpoint(directory) and read_finished_marker(directory) is None:
            continue  # nothing in it is taken over
        folder_changed, folder_notes = _compare_folder(directory, cfg)
        if folder_changed and not allow_settings_change:
            raise SettingsChangedError(_refusal(state, directory, folder_changed))
        changed.update(folder_changed)
        notes.extend(folder_notes)
    return RunFolder(state, changed, tuple(notes))
