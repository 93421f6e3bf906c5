"""Few-shot sampling (Dassl's per-class semantics) and its JSON cache in `split_fewshot/`."""
from __future__ import annotations

import logging
import os
import random
from typing import Sequence

from mopd.files.atomic import create_once
from mopd.backend import Datum
from mopd.data.class_splits import group_by_label
from mopd.data.distinct import require_distinct_images
from mopd.files.io import read_json, write_json_atomic
from mopd.data.splits import Record, from_records, parse_records, to_records

logger = logging.getLogger(__name__)

MAX_VAL_SHOTS = 4  # CoOp samples min(num_shots, 4) validation images per class


def generate_fewshot(data: Sequence[Datum], num_shots: int, rng: random.Random) -> list[Datum]:
    """Sample `num_shots` items per label without replacement (all items when num_shots < 1).

    Labels are visited in first-appearance order and a class with fewer items keeps all of
    them, as Dassl's `generate_fewshot_dataset` does (`sample_fewshot_splits` says which).
    """
    if num_shots < 1:
        return list(data)
    sampled: list[Datum] = []
    for items in group_by_label(data).values():
        sampled.extend(rng.sample(items, num_shots) if len(items) >= num_shots else items)
    return sampled


def fewshot_cache_path(fewshot_dir: str, num_shots: int, seed: int) -> str:
    """Path of the cached few-shot split for (num_shots, seed), named as CoOp names it."""
    return os.path.join(fewshot_dir, f"shot_{num_shots}-seed_{seed}.json")


def save_fewshot_cache(
    path: str, train: Sequence[Datum], val: Sequence[Datum] | None, image_dir: str
) -> None:
    """Write a few-shot split as JSON records relative to `image_dir` (atomically)."""
    cache = {
        "train": to_records(train, image_dir),
        "val": None if val is None else to_records(val, image_dir),
    }
    write_json_atomic(path, cache)
    logger.info("Saved few-shot split to %s", path)


def load_fewshot_records(path: str) -> dict[str, list[Record]]:
    """The records of the few-shot cache at `path`: "train", and "val" unless the cache has none."""
    cache = read_json(path)
    if not isinstance(cache, dict) or "train" not in cache or "val" not in cache:
        raise ValueError(f"few-shot cache {path} lacks 'train'/'val'; delete it so that it is resampled")
    return {name: parse_records(cache[name], source=path) for name in ("train", "val") if cache[name] is not None}


def load_fewshot_cache(path: str, image_dir: str) -> tuple[list[Datum], list[Datum] | None]:
    """Read a few-shot split written by `save_fewshot_cache`; every listed image must exist, once.

    A cache that lists an image twice, or under two labels, raises ValueError naming them.
    """
    logger.info("Loading few-shot split from %s", path)
    records = load_fewshot_records(path)
    require_distinct_images(records, source=f"few-shot cache {path}", fix=f"delete {path} so that it is resampled")
    train = from_records(records["train"], image_dir, source=path)
    val = from_records(records["val"], image_dir, source=path) if "val" in records else None
    return train, val


def _check_cache_matches(cached: Sequence[Datum], current: Sequence[Datum], shots: int, path: str, name: str) -> None:
    """Raise ValueError unless the cache is a `shots`-shot sample of the current split `name`.

    Each cached item must be in the current split (else the split changed since the cache was
    written) and each class must have min(shots, its images) items (else the file is damaged).
    """
    fix = f"delete {path} so that it is resampled"
    known = {(os.path.normpath(d.impath), d.label, d.classname) for d in current}
    for item in cached:
        if (os.path.normpath(item.impath), item.label, item.classname) not in known:
            raise ValueError(
                f"few-shot cache {path} lists {item.impath} (label {item.label}, {item.classname!r}), "
                f"which is not in the current {name} split; the split changed since the cache was written: {fix}"
            )
    if current and not cached:
        raise ValueError(f"few-shot cache {path} holds an empty {name} split; the file is damaged: {fix}")
    cached_counts = {label: len(items) for label, items in group_by_label(cached).items()}
    for label, items in group_by_label(current).items():
        expected = min(shots, len(items))
        if cached_counts.get(label, 0) != expected:
            raise ValueError(
                f"few-shot cache {path} holds {cached_counts.get(label, 0)} {name} images of class {label} "
                f"({items[0].classname!r}) instead of {expected}; the file is damaged: {fix}"
            )


def _short_classes(items: Sequence[Datum], shots: int) -> list[str]:
    """`'name' (n)` for each class of `items` with fewer than `shots` items."""
    return [
        f"{group[0].classname!r} ({len(group)})" for group in group_by_label(items).values() if len(group) < shots
    ]


def _warn_short_classes(train: Sequence[Datum], val: Sequence[Datum] | None, num_shots: int) -> None:
    """Log one warning naming the classes that have fewer images than asked (they keep them all)."""
    asked = {"train": (train, num_shots)}
    if val is not None:
        asked["val"] = (val, min(num_shots, MAX_VAL_SHOTS))
    parts = [
        f"{name} (asked {shots}): {', '.join(short)}"
        for name, (items, shots) in asked.items()
        if (short := _short_classes(items, shots))
    ]
    if parts:
        logger.warning(
            "Classes with fewer images than DATASET.NUM_SHOTS asks keep all they have (as in Dassl): %s",
            "; ".join(parts),
        )


_READ_ONLY_HINT = (
    "Create it once with write access to that folder (run the same command as a user who may write there), "
    "or set DATASET.SPLIT_CACHE_DIR to a writable folder to keep the few-shot splits there"
)


def sample_fewshot_splits(
    train: Sequence[Datum],
    val: Sequence[Datum] | None,
    *,
    num_shots: int,
    seed: int,
    fewshot_dir: str,
    image_dir: str,
) -> tuple[list[Datum], list[Datum] | None]:
    """Return the `num_shots`-shot train and min(num_shots, 4)-shot val split for `seed`.

    The first call samples with `random.Random(seed)` (train, then val) and caches the result
    in `fewshot_dir`; later calls load the cache. Concurrent first calls sample once (the cache
    is created under a lock, atomically). `val=None` samples train only. A class with fewer
    images than asked keeps all of them, with one warning naming such classes.
    """
    path = fewshot_cache_path(fewshot_dir, num_shots, seed)
    val_shots = min(num_shots, MAX_VAL_SHOTS)

    def load() -> tuple[list[Datum], list[Datum] | None]:
        cached_train, cached_val = load_fewshot_cache(path, image_dir)
        _check_cache_matches(cached_train, train, num_shots, path, "train")
        if (cached_val is None) != (val is None):
            state = "no val split" if cached_val is None else "a val split"
            raise ValueError(
                f"few-shot cache {path} holds {state}, unlike this dataset; delete {path} so that it is resampled"
            )
        if val is not None:
            _check_cache_matches(cached_val, val, val_shots, path, "val")
        return cached_train, cached_val

    def create() -> tuple[list[Datum], list[Datum] | None]:
        logger.info("Creating a %d-shot dataset (seed %d)", num_shots, seed)
        rng = random.Random(seed)
        fewshot_train = generate_fewshot(train, num_shots, rng)
        fewshot_val = None if val is None else generate_fewshot(val, val_shots, rng)
        save_fewshot_cache(path, fewshot_train, fewshot_val, image_dir)
        return fewshot_train, fewshot_val

    _warn_short_classes(train, val, num_shots)
    return create_once(path, load, create, read_only_hint=_READ_ONLY_HINT)
