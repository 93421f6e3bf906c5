"""The run record: the effective settings of a training run, saved in its output folder.

`run_config.json` holds every config key with its value, a fingerprint of the keys that define
the run (all but `HARMLESS_KEYS` and the method nodes its trainer does not read), and the settings changes a user explicitly allowed on resume.
Anything that decides "done", "resume" or "refuse" compares the new settings with this record.
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from yacs.config import CfgNode as CN

from mopd.config.method_nodes import is_read_by
from mopd.files.io import read_json, write_json_atomic

RUN_RECORD = "run_config.json"

# Keys that say where files are, how often to print or save, and how the work is spread over
# processes and devices: changing them does not change what a run learns or reports, so a run
# may be resumed or skipped with other values. Every other key defines the run.
HARMLESS_KEYS = frozenset({
    "OUTPUT_DIR",  # the run folder itself
    "RESUME",  # the folder a run resumes from (its record is compared as well)
    "DATASET.ROOT",  # where the datasets are on this machine
    "DATASET.SPLIT_CACHE_DIR",  # where split files are cached when the data root is read-only
    "DATALOADER.NUM_WORKERS",  # loader processes (each image is augmented from its own seed)
    "DATALOADER.TEST.BATCH_SIZE",  # evaluation batching: the same predictions in any batch size
    "TRAINER.COOP.ACCEPT_CHECKPOINT_OF",  # which other trainer's checkpoints evaluation may load
    "TRAINER.COCOOP.IMAGES_PER_CALL",  # memory/speed trade-off of CoCoOp's text encoding
    "TRAIN.PRINT_FREQ",  # progress lines
    "TRAIN.CHECKPOINT_FREQ",  # how often a checkpoint is saved
    "TRAIN.DETERMINISTIC",  # deterministic algorithms only: repeatability, not a different run
    "TEST.PER_CLASS_RESULT",  # extra printed results
    "TEST.COMPUTE_CMAT",  # extra saved confusion matrix
    "TEST.FEATURE_CACHE.ENABLED",  # cached test-image features are bit for bit those computed anew
    "TEST.FEATURE_CACHE.DIR",  # where they are cached
    "TEST.FEATURE_CACHE.IMAGE_CHECK",  # how a hit checks the images: either way it needs the same bytes
    "USE_CUDA",  # the device
    "VERBOSE",  # log detail
})
# MODEL.BACKBONE.PATH defines the run: another file under the same backbone name is another model.


class SettingsChangedError(ValueError):
    """The settings of a new command differ from those recorded in the run folder."""


def flatten_cfg(cfg: CN, prefix: str = "") -> dict[str, Any]:
    """Every key of `cfg` as `A.B.C` with its value in JSON form (tuples become lists)."""
    flat: dict[str, Any] = {}
    for key, value in cfg.items():
        name = f"{prefix}{key}"
        if isinstance(value, CN):
            flat.update(flatten_cfg(value, name + "."))
        else:
            flat[name] = json.loads(json.dumps(value))
    return flat


def defining_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings that define a run: all of `settings` but the harmless keys and the nodes its trainer does not read."""
    trainer = settings.get("TRAINER.NAME", "")
    return {key: value for key, value in settings.items() if key not in HARMLESS_KEYS and is_read_by(key, trainer)}


def settings_fingerprint(cfg: CN) -> str:
    """A short hash of the defining settings of `cfg`: equal fingerprints, equal runs."""
    text = json.dumps(defining_settings(flatten_cfg(cfg)), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def read_run_record(output_dir: str) -> dict[str, Any] | None:
    """The run record in `output_dir`, or None when the folder has none."""
    path = os.path.join(output_dir, RUN_RECORD)
    return read_json(path) if os.path.isfile(path) else None


def write_run_record(output_dir: str, cfg: CN) -> None:
    """Record the settings of `cfg` in `output_dir`, atomically.

    Called once training has started or resumed (so a resume that fails leaves the record as it
    was). Defining settings that differ from the previous record, which the user allowed to change,
    are appended to the record's `settings_changed` list.
    """
    previous = read_run_record(output_dir) or {}
    changed = compare_with_record(previous, cfg)[0] if previous else {}
    history = list(previous.get("settings_changed", []))
    if changed:
        history.append({key: list(values) for key, values in sorted(changed.items())})
    record = {"fingerprint": settings_fingerprint(cfg), "settings": flatten_cfg(cfg), "settings_changed": history}
    write_json_atomic(os.path.join(output_dir, RUN_RECORD), record)


def compare_with_record(record: dict[str, Any], cfg: CN) -> tuple[dict[str, tuple[Any, Any]], list[str]]:
    """Compare the defining settings of `cfg` with a run record.

    Returns:
        (key -> (recorded, new) for each defining key whose value differs,
         the keys present on one side only: a config tree of another code version).
    """
    recorded = defining_settings(record["settings"])
    current = defining_settings(flatten_cfg(cfg))
    changed = {key: (recorded[key], current[key]) for key in sorted(recorded.keys() & current.keys())
               if recorded[key] != current[key]}
    return changed, sorted(recorded.keys() ^ current.keys())


def describe_changes(changed: dict[str, tuple[Any, Any]]) -> str:
    """`KEY OLD -> NEW` for each changed setting, separated by semicolons."""
    return "; ".join(f"{key} {json.dumps(old)} -> {json.dumps(new)}" for key, (old, new) in changed.items())
