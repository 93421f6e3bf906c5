"""Few-shot sampling (Dassl's per-class semantics) and its JSON cache in `split_fewshot/`."""
from __future__ import annotations

import logging
import os
import random
from typing import Sequence

from mopd.backend import Datum
from mopd.data.class_splits import group_by_label
from mopd.data.io import read_json, write_json_atomic
from mopd.data.splits import from_records, to_records

logger = logging.getLogger(__name__)

MAX_VAL_SHOTS = 4  # CoOp samples min(num_shots, 4) validation images per class


def generate_fewshot(data: Sequence[Datum], num_shots: int, rng: random.Random) -> list[Datum]:
    """Sample `num_shots` items per label without replacement (all items when num_shots < 1).

    Labels are visited in first-appearance order and a class with fewer items keeps all of
    them (logged as a warning), as Dassl's `generate_fewshot_dataset` does.
    """
    if num_shots < 1:
        return list(data)
    sampled: list[Datum] = []
    short: list[str] = []
    for label, items in group_by_label(data).items():
        if len(items) >= num_shots:
            sampled.extend(rng.sample(items, num_shots))
        else:
            sampled.extend(items)
            short.append(f"{label} ({items[0].classname!r}: {len(items)})")
    if short:
        logger.warning(
            "%d class(es) have fewer than %d items and keep all they have: %s",
            len(short), num_shots, ", ".join(short),
        )
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


def load_fewshot_cache(path: str, image_dir: str) -> tuple[list[Datum], list[Datum] | None]:
    """Read a few-shot split written by `save_fewshot_cache`; every listed image must exist."""
    logger.info("Loading few-shot split from %s", path)
    cache = read_json(path)
    if not isinstance(cache, dict) or "train" not in cache or "val" not in cache:
        raise ValueError(f"few-shot cache {path} lacks 'train'/'val'; delete it so that it is resampled")
    train = from_records(cache["train"], image_dir, source=path)
    val = None if cache["val"] is None else from_records(cache["val"], image_dir, source=path)
    return train, val


def _check_cache_matches(cached: Sequence[Datum], current: Sequence[Datum], path: str, name: str) -> None:
    """Raise ValueError when the cache lists an item the current split lacks (a stale cache)."""
    known = {(os.path.normpath(d.impath), d.label, d.classname) for d in current}
    for item in cached:
        if (os.path.normpath(item.impath), item.label, item.classname) not in known:
            raise ValueError(
                f"few-shot cache {path} lists {item.impath} (label {item.label}, {item.classname!r}), "
                f"which is not in the current {name} split; the split changed since the cache was "
                f"written: delete {path} so that it is resampled"
            )


def _check_enough_shots(train: Sequence[Datum], num_shots: int) -> None:
    """Raise ValueError when a training class has fewer than `num_shots` images."""
    smallest = min(group_by_label(train).values(), key=len)
    if len(smallest) < num_shots:
        raise ValueError(
            f"DATASET.NUM_SHOTS={num_shots} is more than the training split holds for class "
            f"{smallest[0].classname!r} ({len(smallest)} images); set DATASET.NUM_SHOTS to at most {len(smallest)}"
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
    in `fewshot_dir`; later calls load the cache. `val=None` samples train only.
    """
    path = fewshot_cache_path(fewshot_dir, num_shots, seed)
    if os.path.isfile(path):
        cached_train, cached_val = load_fewshot_cache(path, image_dir)
        _check_cache_matches(cached_train, train, path, "train")
        if (cached_val is None) != (val is None):
            state = "no val split" if cached_val is None else "a val split"
            raise ValueError(
                f"few-shot cache {path} holds {state}, unlike this dataset; "
                f"delete {path} so that it is resampled"
            )
        if val is not None:
            _check_cache_matches(cached_val, val, path, "val")
        return cached_train, cached_val

    _check_enough_shots(train, num_shots)
    logger.info("Creating a %d-shot dataset (seed %d)", num_shots, seed)
    rng = random.Random(seed)
    fewshot_train = generate_fewshot(train, num_shots, rng)
    fewshot_val = None if val is None else generate_fewshot(val, min(num_shots, MAX_VAL_SHOTS), rng)
    save_fewshot_cache(path, fewshot_train, fewshot_val, image_dir)
    return fewshot_train, fewshot_val
