"""Train/val/test split files in CoOp's JSON format, and producing a split when a dataset has none.

A split file is `{"train": [[impath, label, classname], ...], "val": [...], "test": [...]}` with
each `impath` relative to the dataset's image folder, so CoOp's published split files load as is.
"""
from __future__ import annotations

import logging
import os
import random
from collections import defaultdict
from typing import Callable, Iterable, Mapping, Sequence

from mopd.backend import Datum
from mopd.data.io import read_json, write_json_atomic

logger = logging.getLogger(__name__)

SPLIT_NAMES = ("train", "val", "test")
SplitTriple = tuple[list, list, list]


def to_records(items: Iterable[Datum], image_dir: str) -> list[list]:
    """Turn Datum items into `[impath relative to image_dir, label, classname]` records."""
    records = []
    for item in items:
        rel_path = os.path.relpath(item.impath, image_dir).replace(os.sep, "/")
        records.append([rel_path, int(item.label), item.classname])
    return records


def from_records(records: Sequence[Sequence], image_dir: str, *, source: str) -> list[Datum]:
    """Turn `[impath, label, classname]` records read from `source` into Datum items.

    Raises FileNotFoundError naming the first image that `source` lists but that is not on disk.
    """
    malformed = [r for r in records if not (isinstance(r, (list, tuple)) and len(r) == 3)]
    if malformed:
        raise ValueError(
            f"{source} holds {malformed[0]!r}, expected [impath, label, classname]; "
            "delete the file so that it is rebuilt"
        )
    paths = [os.path.join(image_dir, rel_path) for rel_path, _, _ in records]
    missing = [path for path in paths if not os.path.isfile(path)]
    if missing:
        raise FileNotFoundError(
            f"{source} lists {len(missing)} image(s) missing from {image_dir}, the first is "
            f"{missing[0]}; the dataset there is incomplete: download and extract it again"
        )
    return [
        Datum(impath=path, label=int(label), classname=classname)
        for path, (_, label, classname) in zip(paths, records)
    ]


def read_split(path: str, image_dir: str) -> SplitTriple:
    """Read a CoOp-format split file; image paths are resolved against `image_dir`."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"split file {path} does not exist; download or create it first")
    logger.info("Reading split from %s", path)
    split = read_json(path)
    missing_keys = [name for name in SPLIT_NAMES if name not in split]
    if missing_keys:
        raise ValueError(f"split file {path} lacks {missing_keys}; expected keys {list(SPLIT_NAMES)}")
    train, val, test = (from_records(split[name], image_dir, source=path) for name in SPLIT_NAMES)
    return train, val, test


def save_split(
    train: Sequence[Datum], val: Sequence[Datum], test: Sequence[Datum], path: str, image_dir: str
) -> None:
    """Write a CoOp-format split file atomically, with image paths relative to `image_dir`."""
    split = {name: to_records(items, image_dir) for name, items in zip(SPLIT_NAMES, (train, val, test))}
    write_json_atomic(path, split)
    logger.info("Saved split to %s", path)


def load_or_create_split(path: str, image_dir: str, create: Callable[[], SplitTriple]) -> SplitTriple:
    """Read the split file at `path`, or build it with `create()` and save it there first."""
    if os.path.isfile(path):
        return read_split(path, image_dir)
    train, val, test = create()
    save_split(train, val, test, path, image_dir)
    return train, val, test


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name}={value} must be a fraction strictly between 0 and 1")


def split_trainval(trainval: Sequence[Datum], p_val: float = 0.2, *, seed: int = 0) -> tuple[list, list]:
    """Split each class of `trainval` into train and val, round(n * p_val) images to val.

    Classes keep their first-appearance order; `seed` drives a local RNG, so the split does not
    depend on (or disturb) the global random state.
    """
    _check_fraction("p_val", p_val)
    logger.info("Splitting trainval into %.0f%% train and %.0f%% val", 100 * (1 - p_val), 100 * p_val)
    by_label: dict[int, list[int]] = defaultdict(list)
    for index, item in enumerate(trainval):
        by_label[item.label].append(index)

    rng = random.Random(seed)
    train, val = [], []
    for label, indices in by_label.items():
        n_val = round(len(indices) * p_val)
        if n_val == 0:
            raise ValueError(
                f"class {label} ({trainval[indices[0]].classname!r}) has {len(indices)} image(s), too few "
                f"for a {p_val:.0%} validation split; raise p_val or add images"
            )
        rng.shuffle(indices)
        val.extend(trainval[i] for i in indices[:n_val])
        train.extend(trainval[i] for i in indices[n_val:])
    return train, val


def _list_visible(folder: str, want_dirs: bool) -> list[str]:
    return sorted(
        entry.name
        for entry in os.scandir(folder)
        if not entry.name.startswith(".") and entry.is_dir() == want_dirs
    )


def split_class_folders(
    image_dir: str,
    p_trn: float = 0.5,
    p_val: float = 0.2,
    *,
    ignored: Iterable[str] = (),
    new_cnames: Mapping[str, str] | None = None,
    seed: int = 0,
) -> SplitTriple:
    """Split an `image_dir/<class folder>/<image>` tree into train/val/test per class.

    Labels follow the sorted folder names; each class gets round(n * p_trn) train and
    round(n * p_val) val images, the rest test. `new_cnames` renames folders to class names.
    """
    _check_fraction("p_trn", p_trn)
    _check_fraction("p_val", p_val)
    if not os.path.isdir(image_dir):
        raise FileNotFoundError(f"image folder {image_dir} does not exist; download and extract the dataset")
    ignored = set(ignored)
    new_cnames = dict(new_cnames or {})
    categories = [name for name in _list_visible(image_dir, want_dirs=True) if name not in ignored]
    logger.info(
        "Splitting %s into %.0f%% train, %.0f%% val and %.0f%% test",
        image_dir, 100 * p_trn, 100 * p_val, 100 * (1 - p_trn - p_val),
    )
    rng = random.Random(seed)
    train, val, test = [], [], []
    for label, category in enumerate(categories):
        category_dir = os.path.join(image_dir, category)
        images = [os.path.join(category_dir, name) for name in _list_visible(category_dir, want_dirs=False)]
        rng.shuffle(images)
        n_train = round(len(images) * p_trn)
        n_val = round(len(images) * p_val)
        if n_train == 0 or n_val == 0 or len(images) - n_train - n_val <= 0:
            raise ValueError(
                f"class folder {category_dir} has {len(images)} image(s), too few to split into "
                f"{p_trn:.0%} train / {p_val:.0%} val / rest test; add images or add it to `ignored`"
            )
        classname = new_cnames.get(category, category)
        chunks = (images[:n_train], images[n_train:n_train + n_val], images[n_train + n_val:])
        for target, chunk in zip((train, val, test), chunks):
            target.extend(Datum(impath=path, label=label, classname=classname) for path in chunk)
    return train, val, test
