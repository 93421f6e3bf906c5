"""Cutting labelled items into train/val/test per class, for datasets whose raw data has no split.

Every cut shuffles each class with a local `random.Random(seed)`, so a split depends on the seed
only (not on, nor disturbing, the global random state), and rounds each share with `round`.
"""
from __future__ import annotations

import logging
import os
import random
from collections import defaultdict
from typing import Callable, Iterable, Mapping, Sequence

from mopd.backend import Datum
from mopd.data.layout import list_subfolders, read_class_folders
from mopd.data.splits import SplitTriple

logger = logging.getLogger(__name__)


def group_by_label(items: Iterable[Datum]) -> dict[int, list[Datum]]:
    """The items of each label, labels in first-appearance order."""
    groups: dict[int, list[Datum]] = defaultdict(list)
    for item in items:
        groups[item.label].append(item)
    return groups


def _cut_each_class(
    classes: Sequence[Sequence[Datum]], p_trn: float, p_val: float, *, seed: int,
    too_few: Callable[[int, int], str],
) -> SplitTriple:
    """Shuffle each class and cut it into round(n * p_trn) train, round(n * p_val) val, the rest test.

    A class without an item for each part raises ValueError(too_few(index of the class, n)).
    """
    rng = random.Random(seed)
    train: list[Datum] = []
    val: list[Datum] = []
    test: list[Datum] = []
    for index, members in enumerate(classes):
        n_train = round(len(members) * p_trn)
        n_val = round(len(members) * p_val)
        if n_train == 0 or n_val == 0 or len(members) - n_train - n_val <= 0:
            raise ValueError(too_few(index, len(members)))
        members = list(members)
        rng.shuffle(members)
        train.extend(members[:n_train])
        val.extend(members[n_train:n_train + n_val])
        test.extend(members[n_train + n_val:])
    return train, val, test


def _describe_shares(p_trn: float, p_val: float) -> str:
    return f"{p_trn:.0%} train / {p_val:.0%} val / rest test"


def split_per_class(
    items: Sequence[Datum], p_trn: float = 0.5, p_val: float = 0.2, *, seed: int = 0
) -> SplitTriple:
    """Shuffle each class of `items` and cut it into round(n * p_trn) train, round(n * p_val) val, rest test.

    Classes are visited in first-appearance order; `seed` drives a local RNG.
    """
    if not (0.0 < p_trn < 1.0 and 0.0 < p_val < 1.0 and p_trn + p_val < 1.0):
        raise ValueError(f"p_trn={p_trn}, p_val={p_val} must be fractions in (0, 1) with p_trn + p_val < 1")
    classes = list(group_by_label(items).values())

    def too_few(index: int, count: int) -> str:
        first = classes[index][0]
        return (
            f"class {first.label} ({first.classname!r}) has {count} item(s), too few to split into "
            f"{_describe_shares(p_trn, p_val)}"
        )

    return _cut_each_class(classes, p_trn, p_val, seed=seed, too_few=too_few)


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name}={value} must be a fraction strictly between 0 and 1")


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
    categories = [name for name in list_subfolders(image_dir) if name not in ignored]
    logger.info(
        "Splitting %s into %.0f%% train, %.0f%% val and %.0f%% test",
        image_dir, 100 * p_trn, 100 * p_val, 100 * (1 - p_trn - p_val),
    )
    items = read_class_folders(image_dir, categories, [new_cnames.get(name, name) for name in categories])
    classes: list[list[Datum]] = [[] for _ in categories]  # an empty folder stays, and is refused
    for item in items:
        classes[item.label].append(item)

    def too_few(index: int, count: int) -> str:
        category_dir = os.path.join(image_dir, categories[index])
        return (
            f"class folder {category_dir} has {count} image(s), too few to split into "
            f"{_describe_shares(p_trn, p_val)}; add images or add it to `ignored`"
        )

    return _cut_each_class(classes, p_trn, p_val, seed=seed, too_few=too_few)


def split_trainval(trainval: Sequence[Datum], p_val: float = 0.2, *, seed: int = 0) -> tuple[list, list]:
    """Split each class of `trainval` into train and val, round(n * p_val) images to val.

    Classes keep their first-appearance order; `seed` drives a local RNG, so the split does not
    depend on (or disturb) the global random state.
    """
    _check_fraction("p_val", p_val)
    logger.info("Splitting trainval into %.0f%% train and %.0f%% val", 100 * (1 - p_val), 100 * p_val)
    rng = random.Random(seed)
    train, val = [], []
    for label, members in group_by_label(trainval).items():
        n_val = round(len(members) * p_val)
        if n_val == 0:
            raise ValueError(
                f"class {label} ({members[0].classname!r}) has {len(members)} image(s), too few "
                f"for a {p_val:.0%} validation split; raise p_val or add images"
            )
        rng.shuffle(members)
        val.extend(members[:n_val])
        train.extend(members[n_val:])
    return train, val
