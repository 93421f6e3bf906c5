"""Train/val/test split files in CoOp's JSON format (`mopd.data.class_splits` makes new splits).

A split file is `{"train": [[impath, label, classname], ...], "val": [...], "test": [...]}` with
each `impath` relative to the dataset's image folder, so CoOp's published split files load as is.
A split that lists an image twice, or under two labels, is refused when read and before it is written.
"""
from __future__ import annotations

import logging
import os
from typing import Callable, Iterable, Sequence

from mopd.backend import Datum
from mopd.data.distinct import require_distinct_images
from mopd.files.atomic import create_once
from mopd.files.io import read_json, write_json_atomic

logger = logging.getLogger(__name__)

SPLIT_NAMES = ("train", "val", "test")
SplitTriple = tuple[list, list, list]
Record = tuple[str, int, str]  # (impath relative to the image folder, label, classname)

_DAMAGED_SPLIT_FIX = (
    "the file is damaged: download it again (CoOp's split files are linked in its DATASETS.md) or correct it"
)


def to_records(items: Iterable[Datum], image_dir: str) -> list[list]:
    """Turn Datum items into `[impath relative to image_dir, label, classname]` records."""
    records = []
    for item in items:
        rel_path = os.path.relpath(item.impath, image_dir).replace(os.sep, "/")
        records.append([rel_path, int(item.label), item.classname])
    return records


def parse_records(records: Sequence[Sequence], *, source: str) -> list[Record]:
    """`records` read from `source` as (impath, label, classname); ValueError unless each is such a triple."""
    malformed = [r for r in records if not (isinstance(r, (list, tuple)) and len(r) == 3)]
    if malformed:
        raise ValueError(
            f"{source} holds {malformed[0]!r}, expected [impath, label, classname]; "
            "delete the file so that it is rebuilt"
        )
    try:
        return [(str(path), int(label), str(classname)) for path, label, classname in records]
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{source} holds a label that is not an integer ({err}); delete the file so that it is rebuilt"
        ) from err


def from_records(records: Sequence[Sequence], image_dir: str, *, source: str) -> list[Datum]:
    """Turn `[impath, label, classname]` records read from `source` into Datum items.

    Raises FileNotFoundError naming the first image that `source` lists but that is not on disk.
    """
    parsed = parse_records(records, source=source)
    paths = [os.path.join(image_dir, rel_path) for rel_path, _, _ in parsed]
    missing = [path for path in paths if not os.path.isfile(path)]
    if missing:
        raise FileNotFoundError(
            f"{source} lists {len(missing)} image(s) missing from {image_dir}, the first is "
            f"{missing[0]}; the dataset there is incomplete: download and extract it again"
        )
    return [
        Datum(impath=path, label=label, classname=classname)
        for path, (_, label, classname) in zip(paths, parsed)
    ]


def load_split_records(path: str) -> dict[str, list[Record]]:
    """The records of each split of the CoOp-format split file at `path` (keys and record shapes checked)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"split file {path} does not exist; download or create it first")
    split = read_json(path)
    missing_keys = [name for name in SPLIT_NAMES if not isinstance(split, dict) or name not in split]
    if missing_keys:
        raise ValueError(f"split file {path} lacks {missing_keys}; expected keys {list(SPLIT_NAMES)}")
    return {name: parse_records(split[name], source=path) for name in SPLIT_NAMES}


def read_split(path: str, image_dir: str) -> SplitTriple:
    """Read a CoOp-format split file; image paths are resolved against `image_dir`.

    A file that lists an image twice, or under two labels, raises ValueError naming them.
    """
    logger.info("Reading split from %s", path)
    records = load_split_records(path)
    require_distinct_images(records, source=f"split file {path}", fix=_DAMAGED_SPLIT_FIX)
    train, val, test = (from_records(records[name], image_dir, source=path) for name in SPLIT_NAMES)
    return train, val, test


def save_split(
    train: Sequence[Datum], val: Sequence[Datum], test: Sequence[Datum], path: str, image_dir: str
) -> None:
    """Write a CoOp-format split file atomically, with image paths relative to `image_dir`.

    A split that lists an image twice, or under two labels, raises ValueError and nothing is written.
    """
    split = {name: to_records(items, image_dir) for name, items in zip(SPLIT_NAMES, (train, val, test))}
    require_distinct_images(
        split, source=f"the split made for {path}",
        fix="correct the raw annotations it was made from (nothing was written)",
    )
    write_json_atomic(path, split)
    logger.info("Saved split to %s", path)


_READ_ONLY_HINT = (
    "Download the dataset's split file there, or create it once with write access to that folder (run the same "
    "command as a user who may write there), or set DATASET.SPLIT_CACHE_DIR to a writable folder to keep "
    "created splits there"
)


def load_or_create_split(path: str, image_dir: str, create: Callable[[], SplitTriple]) -> SplitTriple:
    """Read the split file at `path`, or build it with `create()` and save it there first.

    Concurrent callers create it once (under a lock, atomically); the others read that file.
    """

    def create_and_save() -> SplitTriple:
        train, val, test = create()
        save_split(train, val, test, path, image_dir)
        return train, val, test

    return create_once(path, lambda: read_split(path, image_dir), create_and_save, read_only_hint=_READ_ONLY_HINT)
